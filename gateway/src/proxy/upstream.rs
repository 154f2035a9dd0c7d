//! Talking to a provider: one request out, and its answer's status sorted into
//! success or a relayed error, with every body read under a size limit.

use axum::http::{header, HeaderMap, HeaderValue};
use bytes::Bytes;

use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::providers::{Adapter, BodyError, UpstreamRequest, UpstreamResponse};
use crate::routing::table::Deployment;
use crate::state::{AppState, Snapshot};

/// Largest upstream error body the gateway relays; longer ones are replaced by a
/// gateway error saying so.
const MAX_UPSTREAM_ERROR_BYTES: usize = 256 * 1024;

/// Sends one request to `deployment`'s provider. Transport failures are counted
/// as upstream errors; a non-2xx answer becomes a relayed [`GatewayError::Upstream`]
/// (an error of the gateway's own about it written for a client of `ingress`).
pub async fn send(
    state: &AppState,
    snapshot: &Snapshot,
    deployment: &Deployment,
    request: UpstreamRequest<'_, '_>,
    ingress: IngressFormat,
) -> Result<UpstreamResponse, GatewayError> {
    let provider = &snapshot.providers[deployment.provider];
    let response = provider.send(request).await.inspect_err(|error| {
        if error.is_upstream() {
            state
                .metrics
                .record_upstream_error(provider.name(), error.kind());
        }
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else if status.is_redirection() {
        let provider = &deployment.labels.provider;
        let error = GatewayError::UpstreamRedirect {
            provider: provider.to_string(),
            status: status.as_u16(),
        };
        state.metrics.record_upstream_error(provider, error.kind());
        Err(error)
    } else {
        Err(upstream_error(state, deployment, response, ingress).await)
    }
}

/// Turns a provider's non-2xx answer into a forwarded error, reading at most
/// [`MAX_UPSTREAM_ERROR_BYTES`] of its body.
async fn upstream_error(
    state: &AppState,
    deployment: &Deployment,
    mut response: UpstreamResponse,
    ingress: IngressFormat,
) -> GatewayError {
    let provider = &deployment.labels.provider;
    state.metrics.record_upstream_error(provider, "status");
    let status = response.status();
    let mut headers = relayed_error_headers(response.headers());
    let mut body = Vec::new();
    // One byte more than the limit tells a body that fits from one that was cut.
    while let Some(chunk) = response.chunk().await {
        let Ok(chunk) = chunk else { break };
        let room = MAX_UPSTREAM_ERROR_BYTES + 1 - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() > MAX_UPSTREAM_ERROR_BYTES {
            break;
        }
    }
    if body.len() > MAX_UPSTREAM_ERROR_BYTES {
        // A cut body is no longer what the provider sent (cut JSON is not JSON):
        // say so in the gateway's own words instead, keeping the status and rate
        // headers.
        let error = GatewayError::UpstreamErrorTooLarge {
            provider: provider.to_string(),
            status,
            limit: MAX_UPSTREAM_ERROR_BYTES,
        };
        body = ingress.error_body(&error).to_vec();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    GatewayError::Upstream {
        provider: provider.to_string(),
        status,
        headers: Box::new(headers),
        body: Bytes::from(body),
    }
}

/// The headers of a provider's error answer that clients act on.
fn relayed_error_headers(upstream: &HeaderMap) -> HeaderMap {
    upstream
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "content-type"
                || name == "retry-after"
                || name == "retry-after-ms"
                || name.starts_with("x-ratelimit-")
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Why a bounded read of a provider's body stopped short.
#[derive(Debug)]
pub(crate) enum UpstreamRead {
    /// The body (declared or read so far) is over the limit; reading stopped.
    TooLarge,
    Body(BodyError),
}

/// Reads a provider's whole body into memory, never more than `limit` bytes: a
/// declared length over it is refused before reading, and an undeclared one is
/// cut off as soon as it passes it (a provider that sends without end cannot
/// exhaust the gateway's memory).
pub(crate) async fn read_upstream_body(
    mut response: UpstreamResponse,
    limit: usize,
) -> Result<Bytes, UpstreamRead> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(UpstreamRead::TooLarge);
    }
    let capacity = declared.map_or(8 * 1024, |len| len as usize);
    let mut body = bytes::BytesMut::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await {
        let chunk = chunk.map_err(UpstreamRead::Body)?;
        if body.len() + chunk.len() > limit {
            return Err(UpstreamRead::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
