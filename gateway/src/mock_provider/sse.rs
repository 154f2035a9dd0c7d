//! Sending a prepared list of stream events with the stream faults a test asked
//! for: silence, an abort before the first event, a cut connection, an error event
//! in place of the rest, and pauses between events. Every wire format builds its
//! events (complete frames, bytes ready for the wire) and hands them here; what the
//! events say belongs to the format's own module.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::MockState;

/// How a stream misbehaves.
#[derive(Debug, Default)]
pub(crate) struct StreamFaults {
    /// The connection drops instead of sending the event at this index.
    pub cut_at: Option<usize>,
    /// This frame is sent instead of the event at its index, and ends the stream.
    pub error_at: Option<(usize, Bytes)>,
    /// Headers, then nothing.
    pub silent: bool,
    /// The body fails before the first event.
    pub abort: bool,
    /// Pause before every event but the first.
    pub delay: Duration,
}

/// Counts a stream as cancelled unless it reached its end.
struct StreamGuard {
    state: Arc<MockState>,
    completed: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let counter = if self.completed {
            &self.state.streams_completed
        } else {
            &self.state.streams_cancelled
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A `text/event-stream` answer sending `events` one by one under `faults`.
pub(crate) fn send(state: Arc<MockState>, events: Vec<Bytes>, faults: StreamFaults) -> Response {
    let guard = StreamGuard {
        state,
        completed: false,
    };
    let StreamFaults {
        cut_at,
        error_at,
        silent,
        abort,
        delay,
    } = faults;
    let frames = futures_util::stream::unfold(
        (events.into_iter().enumerate(), guard, error_at, false),
        move |(mut events, mut guard, mut error_at, ended)| async move {
            if silent {
                std::future::pending::<()>().await;
            }
            if abort {
                return Some((
                    Err(std::io::Error::other("simulated abort")),
                    (events, guard, error_at, ended),
                ));
            }
            if ended {
                return None;
            }
            let (index, event) = events.next()?;
            if cut_at == Some(index) {
                // Let what was sent reach the wire before the connection drops.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Some((
                    Err(std::io::Error::other("simulated cut")),
                    (events, guard, error_at, ended),
                ));
            }
            if index > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if error_at.as_ref().is_some_and(|(at, _)| *at == index) {
                let frame = error_at.take().map(|(_, frame)| frame).unwrap_or_default();
                guard.completed = true;
                return Some((Ok(frame), (events, guard, error_at, true)));
            }
            if events.len() == 0 {
                guard.completed = true;
            }
            Some((Ok(event), (events, guard, error_at, ended)))
        },
    );
    event_stream(Body::from_stream(frames))
}

/// `body` as a `text/event-stream` answer.
pub(crate) fn event_stream(body: Body) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response
}
