//! A provider's answer as the proxy sees it: status, headers and a body read
//! chunk by chunk under the attempt's total deadline.
//!
//! The total timeout covers the whole answer, its body or stream included: a
//! chunk asked for after the deadline, or still awaited when it passes, is a
//! [`BodyError::Timeout`]. A connection that breaks before the body's declared
//! end (a stream cut mid-way) is a [`BodyError::Transport`], never a clean end.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::{HeaderMap, Response, StatusCode};
use bytes::Bytes;
use http_body::Body as _;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// Why the next chunk of an answer could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The attempt's total timeout passed.
    Timeout,
    /// The connection broke or the provider sent a malformed body.
    Transport,
}

#[derive(Debug)]
pub struct UpstreamResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Incoming,
    deadline: Instant,
    /// Armed the first time the body makes the reader wait, then reused.
    timer: Option<Pin<Box<Sleep>>>,
}

impl UpstreamResponse {
    pub fn new(response: Response<Incoming>, deadline: Instant) -> UpstreamResponse {
        let (head, body) = response.into_parts();
        UpstreamResponse {
            status: head.status,
            headers: head.headers,
            body,
            deadline,
            timer: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body's length, when the provider declared it.
    pub fn content_length(&self) -> Option<u64> {
        self.body.size_hint().exact()
    }

    /// The next chunk of the body; `None` at its end.
    pub fn chunk(&mut self) -> impl Future<Output = Option<Result<Bytes, BodyError>>> + '_ {
        std::future::poll_fn(move |cx| self.poll_chunk(cx))
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(Some(Err(BodyError::Timeout)));
        }
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => return Poll::Ready(Some(Ok(data))),
                    // Trailers carry nothing the gateway relays.
                    Err(_) => continue,
                },
                Poll::Ready(Some(Err(_))) => return Poll::Ready(Some(Err(BodyError::Transport))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(BodyError::Timeout)))
    }
}
