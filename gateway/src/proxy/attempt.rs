//! Trying each candidate of a routing decision in order until one answers.
//!
//! A retryable failure (connect error, timeout, 429, 5xx, a stream that dies
//! before its first event) moves on to the next candidate, as long as nothing
//! has reached the client, the request's deadline has not passed, the attempt
//! limit allows it and the retry budget has a retry left. Each provider's circuit
//! breaker is consulted before and told after every attempt. Once an answer is
//! chosen it is final: a stream cut later is reported in the stream, not retried.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::relay::{self, StreamJob};
use super::transcode::Transcoder;
use super::{upstream, whole, Finish, Job};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::formats::IngressFormat;
use crate::metrics::UpstreamLabels;
use crate::providers::{Adapter, UpstreamBody, UpstreamRequest};
use crate::routing::health::Admission;
use crate::routing::table::Deployment;
use crate::routing::Decision;
use crate::usage_event::Outcome;

/// `max_tokens` for a model the catalog does not know, where a provider's
/// format needs one and the client gave none.
const DEFAULT_MAX_OUTPUT: u64 = 4096;

/// Tries `decision.attempts` in order; returns the answer and the labels of the
/// last deployment tried, and writes what happened into `outcome`.
pub async fn run(
    job: &Job<'_, '_>,
    decision: &Decision,
    outcome: &mut Outcome,
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
        outcome.routed_provider = Some(deployment.labels.provider.clone());
        outcome.routed_model = Some(deployment.labels.model.clone());
        outcome.reason = Some(decision.reason.as_str());
        outcome.attempts = u16::try_from(tried).unwrap_or(u16::MAX);
        let provider = &snapshot.providers[deployment.provider];
        outcome.upstream_format = Some(provider.format_for(job.ingress).label());
        let attempt_started = Instant::now();
        let answer = tokio::time::timeout_at(deadline.into(), attempt(job, deployment, outcome))
            .await
            .unwrap_or(Err(GatewayError::RequestTimeout));
        let waited = attempt_started.elapsed();
        upstream_wait += waited;
        outcome.upstream_ms = u32::try_from(waited.as_millis()).ok();
        match answer {
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
async fn attempt(
    job: &Job<'_, '_>,
    deployment: &Deployment,
    outcome: &mut Outcome,
) -> Result<Response, GatewayError> {
    let provider = &job.snapshot.providers[deployment.provider];
    // `None`: the provider speaks the client's format.
    let egress = provider.format_for(job.ingress);
    let translate = (!egress.passes(job.ingress)).then_some(egress);
    let body = match translate {
        None => UpstreamBody::Same(job.body),
        Some(_) => UpstreamBody::Translated(job.translated()?),
    };
    let request = UpstreamRequest {
        endpoint: job.endpoint,
        body,
        upstream_model_json: &deployment.upstream_model_json,
        upstream_model: &deployment.upstream_model,
        max_output: deployment
            .entry
            .as_ref()
            .map_or(DEFAULT_MAX_OUTPUT, |entry| entry.max_output),
        // Only chat completions need asking; the other formats always say.
        force_stream_usage: egress == EgressFormat::OpenAiChat
            && matches!(
                job.finish,
                Finish::Stream {
                    client_wants_usage: false
                }
            ),
        egress,
        anthropic_beta: job.anthropic_beta.as_ref(),
    };
    let sent_at = Instant::now();
    // The gateway's own words about a provider's error go straight to a client
    // of the provider's format; for any other they are written in OpenAI's
    // shape, which `relay_error` reads and rewrites for the client.
    let own_errors = match translate {
        None => job.ingress,
        Some(_) => IngressFormat::OpenAiChat,
    };
    let response = upstream::send(job.state, job.snapshot, deployment, request, own_errors)
        .await
        .map_err(|error| match translate {
            Some(egress) => egress.relay_error(job.ingress, error),
            None => error,
        })?;
    let billing = job
        .billing
        .serving(deployment, job.requested.contains(&deployment.index));
    match job.finish {
        Finish::Buffered => {
            whole::relay(
                job, deployment, response, billing, sent_at, translate, outcome,
            )
            .await
        }
        Finish::Stream { client_wants_usage } => {
            if is_event_stream(response.headers()) {
                let relay = StreamJob {
                    state: job.state.clone(),
                    snapshot: job.snapshot.clone(),
                    deployment: deployment.index,
                    transcoder: transcoder(job, egress, translate, client_wants_usage)?,
                    ingress: job.ingress,
                    billing,
                    requirements: job.requirements,
                    started: job.started,
                    sent_at,
                };
                relay::forward(relay, response, outcome).await
            } else {
                // Asked for a stream, got a whole answer: relay it as it is.
                whole::relay(
                    job, deployment, response, billing, sent_at, translate, outcome,
                )
                .await
            }
        }
    }
}

fn is_event_stream(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

fn transcoder(
    job: &Job<'_, '_>,
    egress: EgressFormat,
    translate: Option<EgressFormat>,
    client_wants_usage: bool,
) -> Result<Transcoder, GatewayError> {
    Ok(match translate {
        None => Transcoder::Same(egress.pass_watch(client_wants_usage)),
        Some(egress) => Transcoder::translate(
            egress.stream_decoder(job.translated()?),
            job.ingress.stream_encoder(
                chrono::Utc::now().timestamp(),
                client_wants_usage,
                &job.echo,
            ),
        ),
    })
}
