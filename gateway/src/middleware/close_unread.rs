//! Answers sent before the request body was read to its end (a 401 before a
//! large body, a 413, a 404/405): `Connection: close` on them, and the rest of
//! the body read and dropped after them.
//!
//! hyper closes such an HTTP/1.1 connection after the answer rather than read
//! the rest; without the header a keep-alive client reuses the connection and
//! its next request fails. (hyper drops the header on HTTP/2, where streams end
//! on their own.) And a client still uploading when the connection closes gets
//! a reset instead of the answer, since most HTTP clients write the whole body
//! before they read; so the unread rest is drained in a task of its own while
//! hyper keeps the connection open for it, as nginx's lingering close does,
//! within [`DRAIN_MAX_BYTES`], [`DRAIN_WITHIN`] and [`DRAIN_IDLE`] between
//! reads. Not for a client waiting for `100 Continue`: it has sent nothing.
//!
//! Not a layer of its own: `observe` calls [`watch`] and [`mark`], one layer
//! fewer on every request.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// Most of an unread body drained after the answer; a larger declared body is
/// not drained at all.
pub const DRAIN_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Longest drain in all, and longest wait for the next part of the body.
pub const DRAIN_WITHIN: Duration = Duration::from_secs(5);
pub const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// Whether a request's body has been read to its end, as [`watch`] tells it.
pub struct Watch(Option<Arc<AtomicBool>>);

/// Watches `request`'s body, unless it has none (then there is nothing to
/// watch and nothing to allocate).
pub fn watch(request: Request) -> (Request, Watch) {
    if request.body().is_end_stream() {
        return (request, Watch(None));
    }
    let drain = drainable(request.headers());
    let finished = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(WatchedBody {
            inner,
            finished: finished.clone(),
            drain,
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

/// Notes when the request body has been read to its end; dropped before it,
/// drains the rest if `drain`.
struct WatchedBody {
    inner: Body,
    finished: Arc<AtomicBool>,
    drain: bool,
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        if !self.drain || self.finished.load(Ordering::Acquire) || self.inner.is_end_stream() {
            return;
        }
        // The inner body, not this one: `finished` keeps saying what the
        // handler read, so `mark` still closes the connection.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(std::mem::take(&mut self.inner)));
        }
    }
}

/// Whether an unread rest of this request's body is drained: not when the
/// client waits for `100 Continue`, nor beyond [`DRAIN_MAX_BYTES`] declared.
fn drainable(headers: &HeaderMap) -> bool {
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    !expects_continue && declared.is_none_or(|len| len <= DRAIN_MAX_BYTES)
}

/// Reads and drops what is left of a body, within the drain bounds; the
/// connection stays open while it runs (hyper reads on for a live body).
async fn drain(mut body: Body) {
    use http_body_util::BodyExt;
    let discard = async {
        let mut read = 0u64;
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(DRAIN_IDLE, body.frame()).await {
            read += frame.data_ref().map_or(0, |d| d.len() as u64);
            if read > DRAIN_MAX_BYTES {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_WITHIN, discard).await;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use axum::http::HeaderValue;

    use super::*;

    /// A request whose body is `parts` chunks of `size` bytes, counting the
    /// chunks read, with `headers`.
    fn request(parts: usize, size: usize, headers: &[(&str, &str)]) -> (Request, Arc<AtomicUsize>) {
        let read = Arc::new(AtomicUsize::new(0));
        let seen = read.clone();
        let chunk = Bytes::from(vec![b' '; size]);
        let chunks = (0..parts).map(move |_| {
            seen.fetch_add(1, Ordering::Relaxed);
            Ok::<_, std::io::Error>(chunk.clone())
        });
        let mut request = Request::new(Body::from_stream(futures_util::stream::iter(chunks)));
        for (name, value) in headers {
            let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            request
                .headers_mut()
                .insert(name, HeaderValue::from_str(value).unwrap());
        }
        (request, read)
    }

    /// Waits (a bounded while) until `read` reaches `chunks`; what it reached.
    async fn drained(read: &AtomicUsize, chunks: usize) -> usize {
        for _ in 0..200 {
            if read.load(Ordering::Relaxed) >= chunks {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        read.load(Ordering::Relaxed)
    }

    /// `watch`, the body dropped unread, and the answer `mark`ed.
    fn answered_unread(request: Request) -> Response {
        let (request, watch) = watch(request);
        drop(request);
        let mut response = Response::new(Body::empty());
        mark(&mut response, &watch);
        response
    }

    #[tokio::test]
    async fn an_answer_before_the_body_closes_the_connection_and_drains_the_rest() {
        for headers in [&[("content-length", "20000")][..], &[]] {
            let (request, read) = request(20, 1000, headers);
            let response = answered_unread(request);
            assert_eq!(response.headers()[header::CONNECTION], "close");
            assert_eq!(drained(&read, 20).await, 20, "{headers:?}");
        }
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_keeps_the_connection() {
        use http_body_util::BodyExt;
        let (request, _) = request(3, 10, &[]);
        let (request, watch) = watch(request);
        let bytes = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 30);
        let mut response = Response::new(Body::empty());
        mark(&mut response, &watch);
        assert!(!response.headers().contains_key(header::CONNECTION));
    }

    #[tokio::test]
    async fn no_drain_for_a_client_waiting_for_100_continue_or_a_body_past_the_bound() {
        let beyond = (DRAIN_MAX_BYTES + 1).to_string();
        for headers in [
            &[("content-length", "20000"), ("expect", "100-Continue")][..],
            &[("content-length", beyond.as_str())],
        ] {
            let (request, read) = request(20, 1000, headers);
            let response = answered_unread(request);
            assert_eq!(response.headers()[header::CONNECTION], "close");
            assert_eq!(drained(&read, 1).await, 0, "{headers:?}");
        }
    }

    #[tokio::test]
    async fn the_drain_stops_at_its_byte_bound() {
        let (request, read) = request(usize::MAX, 1 << 20, &[]);
        drain(request.into_body()).await;
        let chunks = read.load(Ordering::Relaxed) as u64;
        assert!(
            (DRAIN_MAX_BYTES >> 20..=(DRAIN_MAX_BYTES >> 20) + 2).contains(&chunks),
            "{chunks} chunks of 1 MiB"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_drain_stops_when_the_client_pauses_or_takes_too_long() {
        // One chunk, then nothing: given up after the idle bound.
        let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]);
        let stalled = Body::from_stream(futures_util::StreamExt::chain(
            first,
            futures_util::stream::pending(),
        ));
        let started = tokio::time::Instant::now();
        drain(stalled).await;
        assert_eq!(started.elapsed(), DRAIN_IDLE);
        // A chunk every half second, for ever: given up at the total bound.
        let trickle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(DRAIN_IDLE / 2).await;
            Some((Ok::<_, std::io::Error>(Bytes::from("x")), ()))
        });
        let started = tokio::time::Instant::now();
        drain(Body::from_stream(trickle)).await;
        assert_eq!(started.elapsed(), DRAIN_WITHIN);
    }
}
