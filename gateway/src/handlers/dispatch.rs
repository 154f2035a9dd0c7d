//! Carrying out a routing decision: try each candidate in order until one answers.
//!
//! A retryable failure (connect error, timeout, 429, 5xx, a stream that dies
//! before its first event) moves on to the next candidate, as long as nothing
//! has reached the client, the request's deadline has not passed, the attempt
//! limit allows it and the retry budget has a retry left. Each provider's circuit
//! breaker is consulted before and told after every attempt. Once an answer is
//! chosen it is final: a stream cut later is reported in the stream, not retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{read_upstream_body, send_upstream, UpstreamRead};
use crate::billing::Billing;
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::metrics::UpstreamLabels;
use crate::openai::request::RawObject;
use crate::openai::usage;
use crate::providers::{transport_error, Adapter, UpstreamRequest};
use crate::routing::health::Admission;
use crate::routing::table::Deployment;
use crate::routing::{Decision, Requirements};
use crate::sse::UsageFilter;
use crate::state::{AppState, Snapshot};
use crate::stream;
use crate::usage_event::DraftSlot;

/// How a successful answer is relayed.
#[derive(Debug, Clone, Copy)]
pub enum Finish {
    Buffered,
    Stream { client_wants_usage: bool },
}

/// Everything one request's attempts share.
pub struct Job<'a, 'b> {
    pub state: &'a AppState,
    pub snapshot: &'a Arc<Snapshot>,
    pub body: &'a RawObject<'b>,
    pub endpoint: Endpoint,
    pub finish: Finish,
    pub started: Instant,
    pub requirements: Requirements,
    /// Baseline and shadow rates; the served rate is set per attempt.
    pub billing: Billing,
    /// The requested model's own deployments (none for a virtual name): served
    /// by one of them, a request is billed as asked.
    pub requested: &'a [usize],
    /// The request's usage event, filled in as attempts happen.
    pub draft: Option<DraftSlot>,
}

/// Tries `decision.attempts` in order; returns the answer and the labels of the
/// last deployment tried.
pub async fn run(
    job: &Job<'_, '_>,
    decision: &Decision,
) -> (Result<Response, GatewayError>, Option<UpstreamLabels>) {
    let snapshot = job.snapshot;
    let metrics = &job.state.metrics;
    snapshot.budget.deposit();
    let deadline = job.started + snapshot.request_timeout;
    let mut tried = 0usize;
    let mut upstream_wait = Duration::ZERO;
    let mut last_error: Option<GatewayError> = None;
    let mut labels = None;

    for &index in &decision.attempts {
        if tried >= snapshot.routing.max_attempts {
            break;
        }
        let deployment = snapshot.table.get(index);
        if let Some(error) = snapshot.providers[deployment.provider].unusable() {
            last_error.get_or_insert(error);
            continue;
        }
        let breaker = &snapshot.health.breakers[deployment.provider];
        let admission = breaker.admit();
        if admission == Admission::Rejected {
            continue;
        }
        if tried > 0 {
            if Instant::now() >= deadline || !snapshot.budget.try_withdraw() {
                breaker.release(admission);
                if Instant::now() < deadline {
                    metrics.retry_budget_exhausted.inc();
                }
                break;
            }
            if let Some(previous) = &labels {
                metrics.record_failover(previous);
            }
        }
        tried += 1;
        labels = Some(deployment.labels.clone());
        if let Some(draft) = &job.draft {
            draft.update(|d| {
                d.routed_provider = Some(deployment.labels.provider.clone());
                d.routed_model = Some(deployment.labels.model.clone());
                d.reason = Some(decision.reason.as_str());
                d.attempts = u16::try_from(tried).unwrap_or(u16::MAX);
            });
        }
        let attempt_started = Instant::now();
        let outcome = tokio::time::timeout_at(deadline.into(), attempt(job, deployment))
            .await
            .unwrap_or(Err(GatewayError::RequestTimeout));
        let waited = attempt_started.elapsed();
        upstream_wait += waited;
        if let Some(draft) = &job.draft {
            draft.update(|d| d.upstream_ms = u32::try_from(waited.as_millis()).ok());
        }
        match outcome {
            Ok(mut response) => {
                breaker.record_success();
                snapshot.health.latency[deployment.index].observe(waited);
                let headers = response.headers_mut();
                headers.insert(
                    "x-gateway-route-reason",
                    HeaderValue::from_static(decision.reason.as_str()),
                );
                headers.insert("x-gateway-attempts", HeaderValue::from(tried));
                let overhead = job.started.elapsed().saturating_sub(upstream_wait);
                if let Ok(value) =
                    HeaderValue::from_str(&format!("{:.3}", overhead.as_secs_f64() * 1000.0))
                {
                    headers.insert("x-gateway-overhead-ms", value);
                }
                return (Ok(response), labels);
            }
            Err(error) if error.is_retryable() => {
                match &error {
                    // The provider was never reached: its health is unknown.
                    GatewayError::ProviderUnavailable { .. } => breaker.release(admission),
                    _ => breaker.record_failure(admission),
                }
                last_error = Some(error);
            }
            Err(error) => {
                // The provider answered (a 4xx about the request): it is healthy.
                if matches!(error, GatewayError::Upstream { .. }) {
                    breaker.record_success();
                } else {
                    breaker.release(admission);
                }
                return (Err(with_attempts(error, tried)), labels);
            }
        }
    }
    let error = last_error.unwrap_or_else(|| GatewayError::NoProviderAvailable {
        model: decision
            .attempts
            .first()
            .map(|&i| snapshot.table.get(i).name.to_string())
            .unwrap_or_default(),
    });
    (Err(with_attempts(error, tried)), labels)
}

/// Errors carry the attempt count too; only relayed upstream errors have room
/// for extra headers, the rest are rendered by `GatewayError` itself.
fn with_attempts(error: GatewayError, tried: usize) -> GatewayError {
    match error {
        GatewayError::Upstream {
            provider,
            status,
            mut headers,
            body,
        } => {
            headers.insert("x-gateway-attempts", HeaderValue::from(tried));
            GatewayError::Upstream {
                provider,
                status,
                headers,
                body,
            }
        }
        other => other,
    }
}

/// One attempt at one deployment, through to a complete buffered answer or the
/// first event of a stream.
async fn attempt(job: &Job<'_, '_>, deployment: &Deployment) -> Result<Response, GatewayError> {
    let request = UpstreamRequest {
        endpoint: job.endpoint,
        body: job.body,
        upstream_model_json: &deployment.upstream_model_json,
        upstream_model: &deployment.upstream_model,
        force_stream_usage: matches!(
            job.finish,
            Finish::Stream {
                client_wants_usage: false
            }
        ),
    };
    let sent_at = Instant::now();
    let response = send_upstream(job.state, job.snapshot, deployment, request).await?;
    let billing = job
        .billing
        .serving(deployment, job.requested.contains(&deployment.index));
    match job.finish {
        Finish::Buffered => buffered(job, deployment, response, billing, sent_at).await,
        Finish::Stream { client_wants_usage } => {
            if is_event_stream(response.headers()) {
                let relay = stream::StreamJob {
                    state: job.state.clone(),
                    snapshot: job.snapshot.clone(),
                    deployment: deployment.index,
                    filter: UsageFilter::new(client_wants_usage),
                    billing,
                    requirements: job.requirements,
                    started: job.started,
                    sent_at,
                    draft: job.draft.clone(),
                };
                stream::forward(relay, response).await
            } else {
                // Asked for a stream, got a whole answer: relay it as it is.
                buffered(job, deployment, response, billing, sent_at).await
            }
        }
    }
}

fn is_event_stream(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// Reads a whole (non-streaming) answer and relays it unchanged, with its bill.
async fn buffered(
    job: &Job<'_, '_>,
    deployment: &Deployment,
    response: reqwest::Response,
    billing: Billing,
    sent_at: Instant,
) -> Result<Response, GatewayError> {
    let metrics = &job.state.metrics;
    let provider = &deployment.labels.provider;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    let limit = job.snapshot.upstream_limits.max_response_bytes;
    let body = read_upstream_body(response, limit)
        .await
        .map_err(|failure| {
            let error = match failure {
                UpstreamRead::Transport(error) => transport_error(provider, &error),
                UpstreamRead::TooLarge => GatewayError::UpstreamTooLarge {
                    provider: provider.to_string(),
                    what: "a response",
                    limit,
                },
            };
            metrics.record_upstream_error(provider, error.kind());
            error
        })?;
    metrics
        .upstream_duration
        .get_or_create(&deployment.labels)
        .observe(sent_at.elapsed().as_secs_f64());
    let (usage, estimated) = match usage::from_response(&body) {
        Some(usage) => (usage, false),
        None => (
            job.requirements.estimated_usage(body.len() as u64 / 4),
            true,
        ),
    };
    metrics.record_tokens(&deployment.labels, &usage);
    let bill = billing.bill(usage, estimated);
    let mut answer = (status, body).into_response();
    bill.write_headers(answer.headers_mut());
    if let Some(draft) = &job.draft {
        draft.update(|d| d.bill = Some(bill));
    }
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    deployment.explain(answer.headers_mut());
    Ok(answer)
}
