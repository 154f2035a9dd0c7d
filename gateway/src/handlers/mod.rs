//! HTTP handlers: thin functions that read the request, ask routing for a
//! decision, hand it to `dispatch` (which tries the candidates in order), and
//! shape the answer. The pieces every proxying handler shares live here.

pub mod analytics_api;
pub mod chat;
pub mod dashboard;
pub mod dispatch;
pub mod embeddings;
pub mod models;
pub mod ops;
pub mod roi;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::config::Endpoint;
pub use crate::error::echo;
use crate::error::GatewayError;
use crate::metrics::UpstreamLabels;
use crate::providers::{Adapter, UpstreamRequest};
use crate::routing::table::Deployment;
use crate::routing::RouteError;
use crate::state::{AppState, Snapshot};

/// Largest upstream error body the gateway relays; longer ones are replaced by a
/// gateway error saying so.
const MAX_UPSTREAM_ERROR_BYTES: usize = 256 * 1024;

/// Longest wait for a request body: a client that declares more than it sends
/// must not hold a connection and a task until the request deadline.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await;
    let Ok(read) = read else {
        return Err(GatewayError::invalid(
            "The request body did not arrive in time.",
            None,
        ));
    };
    read.map_err(|error| {
        let over_limit = std::error::Error::source(&error)
            .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
        if over_limit {
            GatewayError::PayloadTooLarge { limit }
        } else {
            GatewayError::invalid("The request body could not be read.", None)
        }
    })
}

/// The client-facing error for a routing failure on `model`.
pub fn route_error(model: &str, endpoint: Endpoint, error: RouteError) -> GatewayError {
    match error {
        RouteError::UnknownModel => GatewayError::ModelNotFound(echo(model)),
        RouteError::WrongEndpoint => GatewayError::WrongEndpoint {
            model: echo(model),
            endpoint: match endpoint {
                Endpoint::Chat => "chat completions",
                Endpoint::Embeddings => "embeddings",
            },
        },
        RouteError::Unsuitable { missing } => GatewayError::Unsuitable {
            model: echo(model),
            missing: missing.join(" and "),
        },
        RouteError::ContextTooLong {
            needed, largest, ..
        } => GatewayError::ContextTooLong { needed, largest },
        RouteError::AllUnavailable => GatewayError::NoProviderAvailable { model: echo(model) },
    }
}

/// Sends one request to `deployment`'s provider. Transport failures are counted
/// as upstream errors; a non-2xx answer becomes a relayed [`GatewayError::Upstream`].
pub async fn send_upstream(
    state: &AppState,
    snapshot: &Snapshot,
    deployment: &Deployment,
    request: UpstreamRequest<'_, '_>,
) -> Result<reqwest::Response, GatewayError> {
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
        Err(upstream_error(state, deployment, response).await)
    }
}

/// Turns a provider's non-2xx answer into a forwarded error, reading at most
/// [`MAX_UPSTREAM_ERROR_BYTES`] of its body.
async fn upstream_error(
    state: &AppState,
    deployment: &Deployment,
    response: reqwest::Response,
) -> GatewayError {
    let provider = &deployment.labels.provider;
    state.metrics.record_upstream_error(provider, "status");
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = relayed_error_headers(response.headers());
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    // One byte more than the limit tells a body that fits from one that was cut.
    while let Some(chunk) = chunks.next().await {
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
        body = crate::formats::IngressFormat::OpenAiChat
            .error_body(&error)
            .to_vec();
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

/// Why a bounded read of a provider's body stopped short.
#[derive(Debug)]
pub(crate) enum UpstreamRead {
    /// The body (declared or read so far) is over the limit; reading stopped.
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a provider's whole body into memory, never more than `limit` bytes: a
/// declared length over it is refused before reading, and an undeclared one is
/// cut off as soon as it passes it (a provider that sends without end cannot
/// exhaust the gateway's memory).
pub(crate) async fn read_upstream_body(
    response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, UpstreamRead> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(UpstreamRead::TooLarge);
    }
    let capacity = declared.map_or(8 * 1024, |len| len as usize);
    let mut body = bytes::BytesMut::with_capacity(capacity);
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(UpstreamRead::Transport)?;
        if body.len() + chunk.len() > limit {
            return Err(UpstreamRead::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
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
    use axum::http::HeaderValue;

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
