//! HTTP handlers: thin functions that read the request, ask routing for a
//! decision, hand it to [`crate::proxy`] (which tries the candidates in order
//! and relays the answer), and shape the answer. The pieces every proxying
//! handler shares live here; the request path of every translated ingress
//! format (Anthropic Messages, OpenAI Responses) is `translated`, which
//! their handlers call.

pub mod admin;
pub mod alerts_api;
pub mod analytics_api;
pub mod chat;
pub mod completions;
pub mod dashboard;
pub mod embeddings;
pub mod fields;
pub mod messages;
pub mod models;
pub mod openapi;
pub mod operator;
mod operator_doc;
pub mod ops;
pub mod reports_openapi;
pub mod responses;
pub mod roi;
pub mod roi_promises;
pub mod share;
pub mod translated;

use std::future::Future;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use bytes::Bytes;

use crate::clock;
use crate::config::Endpoint;
pub use crate::error::echo;
use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::metrics::{TokenCountLabels, UpstreamLabels};
use crate::middleware::observe::RequestStarted;
use crate::routing::counting::{CountBudget, Skipped};
use crate::routing::{decide, Decision, Requirements, RouteError};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;

/// Longest wait for a request body: a client that declares more than it sends
/// must not hold a connection and a task until the request deadline.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads the whole request body, refusing more than `limit` bytes. A body
/// left unread is drained after the answer (`middleware::close_unread`).
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
    match tokio::time::timeout(BODY_READ_TIMEOUT, collect(body, limit)).await {
        Err(_) => Err(GatewayError::invalid(
            "The request body did not arrive in time.",
            None,
        )),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(Unread::TooLarge)) => Err(GatewayError::PayloadTooLarge { limit }),
        Ok(Err(Unread::Failed)) => Err(GatewayError::invalid(
            "The request body could not be read.",
            None,
        )),
    }
}

/// Why [`collect`] stopped before the end of a body.
enum Unread {
    TooLarge,
    Failed,
}

/// The body's bytes up to `limit`; one frame (the usual case) without a copy,
/// more joined in a buffer sized once from the declared length.
async fn collect(mut body: Body, limit: usize) -> Result<Bytes, Unread> {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    let expected = usize::try_from(body.size_hint().lower()).map_or(limit, |n| n.min(limit));
    let mut first = Bytes::new();
    let mut joined = bytes::BytesMut::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| Unread::Failed)?.into_data() else {
            continue; // trailers carry nothing we read
        };
        len += data.len();
        if len > limit {
            return Err(Unread::TooLarge);
        }
        if first.is_empty() && joined.is_empty() {
            first = data;
        } else {
            if !first.is_empty() {
                joined.reserve(expected.max(len));
                joined.extend_from_slice(&std::mem::take(&mut first));
            }
            joined.extend_from_slice(&data);
        }
    }
    Ok(if joined.is_empty() {
        first
    } else {
        joined.freeze()
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
                Endpoint::Completions => "completions",
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

/// Attaches what the observe layer reads (the upstream labels of the metrics
/// and the request's [`Outcome`] for its usage event), to answers and errors
/// alike.
pub fn labelled(
    result: Result<Response, GatewayError>,
    labels: Option<UpstreamLabels>,
    outcome: Outcome,
) -> Response {
    labelled_as(IngressFormat::OpenAiChat, result, labels, outcome)
}

/// [`labelled`] for a client of `format`: an error is written in its shape.
pub fn labelled_as(
    format: IngressFormat,
    result: Result<Response, GatewayError>,
    labels: Option<UpstreamLabels>,
    outcome: Outcome,
) -> Response {
    let mut response = result.unwrap_or_else(|error| error.render(format));
    if let Some(labels) = labels {
        response.extensions_mut().insert(labels);
    }
    response.extensions_mut().insert(outcome);
    response
}

/// Routes `model` with `requirements`. The byte bound is free; tokens are
/// counted (by `count`, given the prompt's text bytes) only when it shut out a
/// model whose window an exact count might still fit, and only within the
/// counting budget: over it, the byte bound's decision stands.
pub(crate) async fn route_counted<F, Fut>(
    snapshot: &Snapshot,
    key: &ApiKey,
    model: &str,
    requirements: &mut Requirements,
    endpoint: Endpoint,
    count: F,
) -> Result<Decision, GatewayError>
where
    F: FnOnce(u64) -> Fut,
    Fut: Future<Output = Option<u64>>,
{
    let route = |requirements: &Requirements| {
        decide(
            model,
            requirements,
            &snapshot.table,
            &key.policy,
            &snapshot.health,
            clock::today(),
        )
    };
    let first = route(requirements);
    let needs_count = match &first {
        Ok(decision) => decision.near_context_limit,
        Err(RouteError::ContextTooLong { near, .. }) => *near,
        Err(_) => false,
    };
    let count = if needs_count {
        count(requirements.prompt.text_bytes).await
    } else {
        None
    };
    match count {
        Some(count) => {
            requirements.set_counted(count);
            route(requirements)
        }
        None => first,
    }
    .map_err(|error| route_error(model, endpoint, error))
}

/// Runs `count` on a counting thread within the configured budget (see
/// `routing::counting`) and counts the outcome in the metrics; `None` when it
/// was not counted.
pub(crate) async fn count_in_budget(
    state: &AppState,
    snapshot: &Snapshot,
    text_bytes: u64,
    count: impl FnOnce(&mut dyn FnMut() -> bool) -> Option<Option<u64>> + Send + 'static,
) -> Option<u64> {
    let config = &snapshot.routing.token_count;
    let budget = CountBudget {
        max_bytes: config.max_bytes,
        timeout: config.timeout,
    };
    let asked = Instant::now();
    let outcome = state
        .counter
        .run(text_bytes, budget, count)
        .await
        .and_then(|count| count.ok_or(Skipped::Failed));
    let metrics = &state.metrics;
    metrics
        .token_counts
        .get_or_create(&TokenCountLabels {
            outcome: Skipped::label(outcome.map(|_| ())),
        })
        .inc();
    metrics
        .token_count_duration
        .observe(asked.elapsed().as_secs_f64());
    outcome.ok()
}

/// When the request began, as the observe layer set it (its deadline counts
/// from then, and so do the proxy's, so the proxy's timeout answers first, with
/// its outcome).
pub fn started(request: &axum::extract::Request) -> std::time::Instant {
    request
        .extensions()
        .get::<RequestStarted>()
        .map_or_else(std::time::Instant::now, |started| started.0)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, StatusCode};

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
    async fn a_body_in_many_frames_is_joined_in_order() {
        let parts = ["{\"a\":", "1", "}"].map(|p| Ok::<_, std::io::Error>(Bytes::from(p)));
        let body = Body::from_stream(futures_util::stream::iter(parts));
        let bytes = read_body(body, &HeaderMap::new(), 5000).await.unwrap();
        assert_eq!(&bytes[..], b"{\"a\":1}");
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
