//! HTTP handlers: thin functions that read the request, call into routing and the
//! providers, and shape the answer. The pieces every proxying handler shares
//! (body limits, forwarding a buffered answer, explanation headers) live here.

pub mod chat;
pub mod embeddings;
pub mod models;
pub mod ops;

use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::GatewayError;
use crate::metrics::UpstreamLabels;
use crate::openai::usage;
use crate::providers::{transport_error, Adapter, UpstreamRequest};
use crate::state::{AppState, ModelRoute};

/// Largest upstream error body the gateway relays; longer ones are cut.
const MAX_UPSTREAM_ERROR_BYTES: usize = 256 * 1024;

/// Reads the whole request body, refusing more than `limit` bytes.
pub async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let over_limit = std::error::Error::source(&error)
            .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
        if over_limit {
            GatewayError::PayloadTooLarge { limit }
        } else {
            GatewayError::invalid("The request body could not be read.", None)
        }
    })
}

/// Adds the headers that say where a request went.
pub fn explain(headers: &mut HeaderMap, route: &ModelRoute) {
    if let Some(provider) = &route.provider_header {
        headers.insert("x-gateway-provider", provider.clone());
    }
    if let Some(model) = &route.model_header {
        headers.insert("x-gateway-model", model.clone());
    }
}

/// Sends one request to the route's provider. Transport failures are counted as
/// upstream errors; a non-2xx answer becomes a relayed [`GatewayError::Upstream`].
pub async fn send_upstream(
    state: &AppState,
    route: &ModelRoute,
    request: UpstreamRequest<'_, '_>,
) -> Result<reqwest::Response, GatewayError> {
    let provider = &state.snapshot.providers[route.provider];
    let response = provider.send(request).await.inspect_err(|error| {
        if error.is_upstream() {
            state
                .metrics
                .record_upstream_error(provider.name(), error.kind());
        }
    })?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(upstream_error(state, route, response).await)
    }
}

/// Turns a provider's non-2xx answer into a forwarded error, reading at most
/// [`MAX_UPSTREAM_ERROR_BYTES`] of its body.
async fn upstream_error(
    state: &AppState,
    route: &ModelRoute,
    response: reqwest::Response,
) -> GatewayError {
    let provider = &route.labels.provider;
    state.metrics.record_upstream_error(provider, "status");
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = relayed_error_headers(response.headers());
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else { break };
        let room = MAX_UPSTREAM_ERROR_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_UPSTREAM_ERROR_BYTES {
            break;
        }
    }
    GatewayError::Upstream {
        provider: provider.to_string(),
        status,
        headers: Box::new(headers),
        body: Bytes::from(body),
    }
}

/// The headers of a provider's error answer that clients act on.
fn relayed_error_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
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

/// Reads a whole (non-streaming) provider answer and relays it unchanged.
pub async fn forward_buffered(
    state: &AppState,
    route: &ModelRoute,
    response: reqwest::Response,
    upstream_started: Instant,
) -> Result<Response, GatewayError> {
    let provider = state.snapshot.providers[route.provider].name();
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    let body = response.bytes().await.map_err(|error| {
        let error = transport_error(provider, &error);
        state.metrics.record_upstream_error(provider, error.kind());
        error
    })?;
    state
        .metrics
        .upstream_duration
        .get_or_create(&route.labels)
        .observe(upstream_started.elapsed().as_secs_f64());
    if let Some(usage) = usage::from_response(&body) {
        state.metrics.record_tokens(&route.labels, &usage);
        tracing::debug!(
            provider = %provider,
            model = %route.name,
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            "usage"
        );
    }
    let mut answer = (status, body).into_response();
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    explain(answer.headers_mut(), route);
    Ok(answer)
}

/// Attaches the upstream labels the metrics layer reads, to answers and errors alike.
pub fn labelled(
    result: Result<Response, GatewayError>,
    labels: Option<UpstreamLabels>,
) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if let Some(labels) = labels {
        response.extensions_mut().insert(labels);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: usize, size: usize) -> Body {
        let chunks =
            (0..parts).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; size])));
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_limit_is_413_without_content_length() {
        let error = read_body(chunked(10, 1000), &HeaderMap::new(), 5000)
            .await
            .unwrap_err();
        assert!(
            matches!(error, GatewayError::PayloadTooLarge { limit: 5000 }),
            "{error:?}"
        );
        let body = read_body(chunked(5, 1000), &HeaderMap::new(), 5000)
            .await
            .unwrap();
        assert_eq!(body.len(), 5000);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999999"));
        let error = read_body(chunked(1, 1), &headers, 5000).await.unwrap_err();
        assert!(matches!(error, GatewayError::PayloadTooLarge { .. }));
    }

    #[tokio::test]
    async fn a_failing_body_is_a_400() {
        let parts = vec![
            Ok(Bytes::from_static(b"{")),
            Err(std::io::Error::other("reset")),
        ];
        let error = read_body(
            Body::from_stream(futures_util::stream::iter(parts)),
            &HeaderMap::new(),
            5000,
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
