//! Request metrics, the concurrency limit and the overall deadline. The response
//! body is wrapped so the total latency and the in-flight gauge cover a stream
//! until its last byte (or until the client goes away), not just until the
//! headers; the gauge is also what `server.max_concurrent_requests` is checked
//! against, so a stream holds its slot until it ends.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ErrorKind, GatewayError};
use crate::keys::ApiKey;
use crate::metrics::{none_label, RequestLabels, UpstreamLabels};
use crate::middleware::close_unread;
use crate::middleware::request_id::{self, RequestId};
use crate::route::Route;
use crate::state::AppState;
use crate::usage_event::{self, Ending, Outcome};
use analytics::event::client_family;
use axum::http::{header, HeaderValue};
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut request = request;
    let id = request_id::assign(&mut request);
    let mut response = observed(state, request, next).await;
    request_id::answer_with(&mut response, id);
    response
}

/// Layer 2 proper, with layer 3 (`close_unread`) inside it.
async fn observed(state: AppState, request: Request, next: Next) -> Response {
    // Set by `app.rs` on every route it serves.
    let tag = request
        .extensions()
        .get::<Route>()
        .copied()
        .unwrap_or(Route::Other);
    let route = tag.label();
    let started = Instant::now();
    let before = state.metrics.in_flight.inc();
    if usize::try_from(before).is_ok_and(|n| n >= state.max_concurrent_requests)
        && !tag.always_served()
    {
        state.metrics.in_flight.dec();
        state.metrics.record_overload("requests");
        let mut response = GatewayError::Overloaded("requests").render(tag.ingress());
        if !request.body().is_end_stream() {
            // Answered unread: hyper closes the connection, so say so (see
            // `close_unread`, which this early answer does not pass through).
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels {
                route,
                status: response.status().as_u16(),
                provider: none_label(),
                model: none_label(),
            })
            .inc();
        return response;
    }
    // API calls leave a usage event; health checks and metrics scrapes do not.
    let family = tag.records_usage().then(|| {
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        client_family(user_agent)
    });
    let mut request = request;
    request.extensions_mut().insert(RequestStarted(started));
    let (request, watch) = close_unread::watch(request);
    let mut recorder = EndRecorder {
        state: state.clone(),
        route,
        tag,
        started,
        at: Utc::now(),
        request_id: request.extensions().get::<RequestId>().cloned(),
        status: 0,
        labels: None,
        usage: None,
        error_kind: None,
    };
    // The same deadline as the proxy's (see `RequestStarted`); this one answers
    // only a request still in its handler before the proxy.
    let deadline = started + state.snapshot().request_timeout;
    let mut response = match tokio::time::timeout_at(deadline.into(), next.run(request)).await {
        Ok(response) => response,
        Err(_) => GatewayError::RequestTimeout.render(tag.ingress()),
    };
    close_unread::mark(&mut response, &watch);
    let labels = response.extensions().get::<UpstreamLabels>().cloned();
    let (provider, model) = match &labels {
        Some(labels) => (labels.provider.clone(), labels.model.clone()),
        None => (none_label(), none_label()),
    };
    recorder.status = response.status().as_u16();
    recorder.labels = labels;
    recorder.error_kind = response.extensions().get::<ErrorKind>().map(|k| k.0);
    // A request whose caller is known is some tenant's usage; an unknown key
    // is counted in metrics only.
    if let (Some(family), Some(key)) = (family, response.extensions().get::<Arc<ApiKey>>()) {
        let key = key.clone();
        let outcome = response
            .extensions_mut()
            .remove::<Outcome>()
            .unwrap_or_default();
        recorder.usage = Some((key, outcome, family));
    }
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
            provider,
            model,
        })
        .inc();
    response.map(|inner| {
        Body::new(TrackedBody {
            inner,
            recorder: Some(recorder),
        })
    })
}

/// Records the end of a request exactly once: when the body ends or is dropped.
struct EndRecorder {
    state: AppState,
    route: &'static str,
    tag: Route,
    started: Instant,
    at: DateTime<Utc>,
    request_id: Option<RequestId>,
    status: u16,
    labels: Option<UpstreamLabels>,
    /// The caller, what the request came to and its client family, for the
    /// usage event.
    usage: Option<(Arc<ApiKey>, Outcome, &'static str)>,
    error_kind: Option<&'static str>,
}

/// When the observe layer first saw the request: the start of its deadline.
#[derive(Debug, Clone, Copy)]
pub struct RequestStarted(pub Instant);

impl Drop for EndRecorder {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        if let Some((key, mut outcome, client_family)) = self.usage.take() {
            let ticket = outcome.ticket.take();
            let ending = Ending {
                key: &key,
                endpoint: self.route,
                client_family,
                at: self.at,
                status: self.status,
                error_kind: self.error_kind,
                latency: elapsed,
            };
            let routed = outcome
                .routed_provider
                .clone()
                .zip(outcome.routed_model.clone());
            let event = usage_event::fold(ending, outcome);
            if let (Some((provider, model)), Some((cost, baseline))) = (routed, event.priced()) {
                self.state.metrics.money.record(
                    &event.tenant_id,
                    &provider,
                    &model,
                    cost,
                    baseline,
                );
            }
            // Limits and budgets settle to what the event records.
            if let Some(ticket) = ticket {
                let tokens = event.prompt_tokens.saturating_add(event.completion_tokens);
                ticket.settle(event.cost_usd, tokens);
            }
            self.state.events.emit(event);
        }
        let metrics = &self.state.metrics;
        metrics.in_flight.dec();
        metrics.observe_request_duration(self.tag, elapsed.as_secs_f64());
        // The access log: metadata only. Server errors at warn, the rest at debug
        // (enable with `gateway::access=debug`).
        let request_id = self
            .request_id
            .as_ref()
            .and_then(|id| id.0.to_str().ok())
            .unwrap_or("");
        let (provider, model) = self
            .labels
            .as_ref()
            .map_or(("", ""), |l| (l.provider.as_str(), l.model.as_str()));
        let ms = elapsed.as_secs_f64() * 1000.0;
        if self.status >= 500 {
            tracing::warn!(target: "gateway::access", request_id, route = self.route, status = self.status, provider, model, ms, "request");
        } else {
            tracing::debug!(target: "gateway::access", request_id, route = self.route, status = self.status, provider, model, ms, "request");
        }
    }
}

struct TrackedBody {
    inner: Body,
    recorder: Option<EndRecorder>,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.recorder.take();
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
