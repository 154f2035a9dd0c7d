//! A whole (non-streamed) answer: read under the size limit, billed from its
//! usage (or an estimate), and relayed untouched or translated into the
//! client's format.

use std::time::Instant;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::upstream::{read_upstream_body, UpstreamRead};
use super::Job;
use crate::billing::Billing;
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::providers::{body_error, Adapter, UpstreamResponse};
use crate::routing::table::Deployment;
use crate::usage_event::Outcome;

/// Reads a whole answer and relays it, unchanged or (`translate`: the format
/// the provider spoke) in the client's format, with its bill.
pub(super) async fn relay(
    job: &Job<'_, '_>,
    deployment: &Deployment,
    response: UpstreamResponse,
    billing: Billing,
    sent_at: Instant,
    translate: Option<EgressFormat>,
    outcome: &mut Outcome,
) -> Result<Response, GatewayError> {
    let metrics = &job.state.metrics;
    let provider = &deployment.labels.provider;
    let status = response.status();
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
                UpstreamRead::Body(error) => body_error(provider, error),
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
    let (body, reported) = match translate {
        None => {
            let reported = job.snapshot.providers[deployment.provider]
                .format_for(job.ingress)
                .passed_usage(&body);
            (body, reported)
        }
        Some(egress) => {
            let answer =
                egress
                    .decode_response(&body, job.translated()?)
                    .map_err(|undecodable| {
                        let error = undecodable.into_error(provider);
                        if error.is_upstream() {
                            metrics.record_upstream_error(provider, error.kind());
                        }
                        error
                    })?;
            let now = chrono::Utc::now().timestamp();
            let written = job.ingress.encode_response(&answer, now, &job.echo);
            (bytes::Bytes::from(written), answer.usage)
        }
    };
    let (usage, estimated) = match reported {
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
    outcome.bill = Some(bill);
    let content_type = match translate {
        None => content_type,
        Some(_) => HeaderValue::from_static("application/json"),
    };
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    deployment.explain(answer.headers_mut());
    Ok(answer)
}
