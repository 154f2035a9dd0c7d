//! Relaying a provider's SSE stream to the client event by event, each event
//! passed through or translated by the [`Transcoder`].
//!
//! The first event is read before the gateway answers 200, so a provider that
//! fails at once becomes a clean error instead of a broken stream. After that every
//! event is forwarded as soon as it is complete; nothing is buffered beyond one
//! partial event, and no event larger than `server.max_upstream_event_bytes`. A
//! stream that stops before `[DONE]` ends with an explicit error event, never as a
//! silent success. Dropping the body (client gone) drops the
//! upstream response, which closes the provider connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};

use std::sync::Arc;

use super::transcode::{Transcoder, Unreadable};
use crate::billing::{Bill, Billing};
use crate::error::{GatewayError, Interruption};
use crate::formats::IngressFormat;
use crate::metrics::UpstreamLabels;
use crate::providers::{Adapter, BodyError, UpstreamResponse};
use crate::routing::Requirements;
use crate::sse::{single_data, EventSplitter};
use crate::state::{AppState, Snapshot};
use crate::usage_event::{Outcome, StreamEnd, StreamReport};

/// A comment line SSE clients ignore, sent during long upstream silences so
/// proxies and clients do not time the connection out.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);
/// The usage-event and metric label of a passed-through stream that the
/// provider ended with its own error event.
const PROVIDER_ERROR_EVENT: &str = "stream_provider_error";

enum Pull {
    Chunk(Bytes),
    End,
    Failed(Interruption),
    Silent,
}

/// What a stream needs from the request that started it.
pub struct StreamJob {
    pub state: AppState,
    pub snapshot: Arc<Snapshot>,
    /// Index of the deployment serving the stream.
    pub deployment: usize,
    pub transcoder: Transcoder,
    /// The client's format, for the error event of a failed stream.
    pub ingress: IngressFormat,
    pub billing: Billing,
    pub requirements: Requirements,
    pub started: Instant,
    pub sent_at: Instant,
}

struct Relay {
    state: AppState,
    labels: UpstreamLabels,
    billing: Billing,
    requirements: Requirements,
    /// Data events with content seen so far, to estimate completion tokens when
    /// the provider reports no usage.
    data_events: u64,
    billed: bool,
    /// Where the stream's bill and early end are reported when it is over.
    end: StreamEnd,
    report: StreamReport,
    upstream: UpstreamResponse,
    splitter: EventSplitter,
    /// `server.max_upstream_event_bytes`.
    max_event: usize,
    transcoder: Transcoder,
    ingress: IngressFormat,
    ready: VecDeque<Bytes>,
    idle: Duration,
    last_activity: Instant,
    finished: bool,
}

impl Relay {
    async fn pull(&mut self) -> Pull {
        let wait = self
            .idle
            .saturating_sub(self.last_activity.elapsed())
            .min(KEEP_ALIVE_EVERY);
        match tokio::time::timeout(wait, self.upstream.chunk()).await {
            Ok(Some(Ok(chunk))) => {
                self.last_activity = Instant::now();
                Pull::Chunk(chunk)
            }
            // The attempt's total timeout passed mid-stream.
            Ok(Some(Err(BodyError::Timeout))) => Pull::Failed(Interruption::IdleTimeout),
            Ok(Some(Err(BodyError::Transport))) => Pull::Failed(Interruption::Transport),
            Ok(None) => Pull::End,
            Err(_) if self.last_activity.elapsed() >= self.idle => {
                Pull::Failed(Interruption::IdleTimeout)
            }
            Err(_) => Pull::Silent,
        }
    }

    /// Adds a chunk and moves the complete events on; `Err` when an event,
    /// complete or still arriving, is over the size limit or unreadable and the
    /// stream must stop.
    fn absorb(&mut self, chunk: &[u8]) -> Result<(), Interruption> {
        self.splitter.push(chunk);
        self.take_events()?;
        if self.splitter.pending().len() > self.max_event {
            return Err(Interruption::EventTooLarge);
        }
        Ok(())
    }

    /// Ends the stream after what is ready with the error event for `why`,
    /// billing what was streamed.
    fn stop(&mut self, why: Interruption) {
        self.bill();
        let event = self.interrupt(why);
        self.ready.push_back(event);
    }

    /// Moves every complete event of the buffer through the transcoder (the bill
    /// goes out as a comment just before the closing events); `Err` at an
    /// oversized or unreadable one.
    fn take_events(&mut self) -> Result<(), Interruption> {
        while let Some(event) = self.splitter.next_event() {
            if event.len() > self.max_event {
                return Err(Interruption::EventTooLarge);
            }
            if single_data(&event).is_some_and(|d| d.starts_with(b"{")) {
                self.data_events += 1;
            }
            let out = self
                .transcoder
                .on_event(event)
                .map_err(|Unreadable| Interruption::Cut)?;
            if let Some(body) = out.body {
                self.ready.push_back(body);
            }
            if let Some(closing) = out.closing {
                if self.transcoder.provider_failed() && self.data_events <= 1 {
                    // An error event first of all: nothing was sent, so this
                    // is a failed attempt another candidate may take over.
                    return Err(Interruption::Cut);
                }
                if self.transcoder.provider_failed() {
                    // The provider's error event ends the stream as it sent
                    // it; the stream is still recorded as failed.
                    self.report.error_kind = Some(PROVIDER_ERROR_EVENT);
                    self.state
                        .metrics
                        .record_upstream_error(&self.labels.provider, PROVIDER_ERROR_EVENT);
                }
                let comment = self.bill().sse_comment();
                self.ready.push_back(comment);
                self.ready.push_back(closing);
            }
        }
        Ok(())
    }

    /// Bills the stream once, from reported usage or an estimate, and counts the
    /// tokens in the metrics.
    fn bill(&mut self) -> Bill {
        let (usage, estimated) = match self.transcoder.usage() {
            Some(usage) => (usage, false),
            // Providers send about one token per content chunk.
            None => (
                self.requirements
                    .estimated_usage(self.data_events.saturating_sub(2)),
                true,
            ),
        };
        let bill = self.billing.bill(usage, estimated);
        if !self.billed {
            self.billed = true;
            self.state.metrics.record_tokens(&self.labels, &usage);
            self.report.bill = Some(bill.clone());
        }
        bill
    }

    /// All ready events as one frame.
    fn drain_ready(&mut self) -> Option<Bytes> {
        match self.ready.len() {
            0 => None,
            1 => self.ready.pop_front(),
            _ => {
                let mut out = BytesMut::with_capacity(self.ready.iter().map(Bytes::len).sum());
                for event in self.ready.drain(..) {
                    out.extend_from_slice(&event);
                }
                Some(out.freeze())
            }
        }
    }

    fn interrupt(&mut self, why: Interruption) -> Bytes {
        self.finished = true;
        self.report.error_kind = Some(why.kind());
        self.splitter.clear();
        self.state
            .metrics
            .record_upstream_error(&self.labels.provider, why.kind());
        let error = GatewayError::StreamInterrupted(why);
        self.transcoder
            .fail(&error)
            .unwrap_or_else(|| self.ingress.error_event(&error))
    }

    /// The next frame for the client, or `None` when the stream is over.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.drain_ready() {
                return Some(frame);
            }
            if self.finished {
                self.end.report(std::mem::take(&mut self.report));
                return None;
            }
            match self.pull().await {
                Pull::Chunk(chunk) => {
                    if let Err(why) = self.absorb(&chunk) {
                        self.stop(why);
                    }
                }
                Pull::End if self.transcoder.done() => {
                    self.finished = true;
                }
                Pull::End => {
                    self.bill();
                    return Some(self.interrupt(Interruption::Cut));
                }
                Pull::Failed(why) => {
                    self.bill();
                    return Some(self.interrupt(why));
                }
                Pull::Silent => return Some(Bytes::from_static(KEEP_ALIVE)),
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.finished {
            // The client went away mid-stream; dropping `upstream` closes the
            // provider connection so the provider stops generating (and billing).
            // What was streamed is still billed.
            self.bill();
            self.report.error_kind = Some("client_cancelled");
            tracing::debug!(provider = %self.labels.provider, model = %self.labels.model, "client left during stream");
        }
        // Once only: a stream that ended reported already.
        self.end.report(std::mem::take(&mut self.report));
    }
}

/// Peeks the first event, then answers 200 and relays the rest. A failure before
/// the first event is returned as an error, so the caller may fail over.
pub async fn forward(
    job: StreamJob,
    response: UpstreamResponse,
    outcome: &mut Outcome,
) -> Result<Response, GatewayError> {
    let deployment = job.snapshot.table.get(job.deployment);
    let timeouts = *job.snapshot.providers[deployment.provider].timeouts();
    let state = job.state;
    let labels = deployment.labels.clone();
    let mut relay = Relay {
        state: state.clone(),
        labels: labels.clone(),
        billing: job.billing,
        requirements: job.requirements,
        data_events: 0,
        billed: false,
        end: StreamEnd::default(),
        report: StreamReport::default(),
        upstream: response,
        splitter: EventSplitter::default(),
        max_event: job.snapshot.upstream_limits.max_event_bytes,
        transcoder: job.transcoder,
        ingress: job.ingress,
        ready: VecDeque::new(),
        idle: timeouts.first_byte,
        last_activity: Instant::now(),
        finished: false,
    };
    state
        .metrics
        .upstream_duration
        .get_or_create(&labels)
        .observe(job.sent_at.elapsed().as_secs_f64());

    // Peek: nothing reaches the client until the provider has sent one whole event.
    while relay.ready.is_empty() {
        let failure = match relay.pull().await {
            Pull::Chunk(chunk) => {
                let Err(why) = relay.absorb(&chunk) else {
                    continue;
                };
                if !relay.ready.is_empty() {
                    // Whole events came first: send them, then the error event.
                    relay.stop(why);
                    continue;
                }
                // The first event is already bad: a clean error, maybe a failover.
                relay.splitter.clear();
                match why {
                    Interruption::EventTooLarge => GatewayError::UpstreamTooLarge {
                        provider: labels.provider.to_string(),
                        what: "a stream event",
                        limit: relay.max_event,
                    },
                    _ => match relay.transcoder.refusal() {
                        Some(refusal) => refusal.clone().into_error(&labels.provider),
                        None => GatewayError::UpstreamProtocol {
                            provider: labels.provider.to_string(),
                        },
                    },
                }
            }
            Pull::Silent => continue,
            Pull::End => GatewayError::UpstreamProtocol {
                provider: labels.provider.to_string(),
            },
            Pull::Failed(Interruption::IdleTimeout) => GatewayError::UpstreamTimeout {
                provider: labels.provider.to_string(),
                phase: "first event",
            },
            Pull::Failed(_) => GatewayError::UpstreamConnect {
                provider: labels.provider.to_string(),
            },
        };
        // Nothing was sent: this attempt is not billed and may be retried elsewhere.
        relay.finished = true;
        relay.billed = true;
        if failure.is_upstream() {
            state
                .metrics
                .record_upstream_error(&labels.provider, failure.kind());
        }
        return Err(failure);
    }
    relay.idle = timeouts.idle;
    let ttft = job.started.elapsed();
    state
        .metrics
        .time_to_first_token
        .get_or_create(&labels)
        .observe(ttft.as_secs_f64());
    outcome.ttft_ms = u32::try_from(ttft.as_millis()).ok();
    outcome.stream_end = Some(relay.end.clone());

    let frames = futures_util::stream::unfold(relay, |mut relay| async move {
        let frame = relay.next_frame().await?;
        Some((Ok::<Bytes, std::convert::Infallible>(frame), relay))
    });
    let mut answer = (StatusCode::OK, Body::from_stream(frames)).into_response();
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    deployment.explain(headers);
    Ok(answer)
}
