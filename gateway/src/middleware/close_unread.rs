//! `Connection: close` on an answer sent before the request body was read to its
//! end (a 401 before a large body, a 413 from the declared length, a 404/405).
//! hyper closes such an HTTP/1.1 connection after the answer rather than read the
//! rest; without the header a keep-alive client reuses the connection and its next
//! request fails. (hyper drops the header on HTTP/2, where streams end on their own.)
//! Not a layer of its own: `observe` calls [`watch`] and [`mark`], one layer
//! fewer on every request.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;

/// Whether a request's body has been read to its end, as [`watch`] tells it.
pub struct Watch(Option<Arc<AtomicBool>>);

/// Watches `request`'s body, unless it has none (then there is nothing to
/// watch and nothing to allocate).
pub fn watch(request: Request) -> (Request, Watch) {
    if request.body().is_end_stream() {
        return (request, Watch(None));
    }
    let finished = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(WatchedBody {
            inner,
            finished: finished.clone(),
        })
    });
    (request, Watch(Some(finished)))
}

/// Adds `Connection: close` to `response` when the watched body was not read
/// to its end.
pub fn mark(response: &mut Response, watch: &Watch) {
    let unread = watch
        .0
        .as_ref()
        .is_some_and(|finished| !finished.load(Ordering::Acquire));
    if unread {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Notes when the request body has been read to its end.
struct WatchedBody {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
