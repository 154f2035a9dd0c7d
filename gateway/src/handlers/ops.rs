//! Operational endpoints (health, readiness, metrics) and the answers for paths and
//! methods the gateway does not serve.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::GatewayError;
use crate::state::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: config loaded and not shutting down, so a load balancer may send traffic.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else {
        "ready".into_response()
    }
}

/// The Prometheus exposition. With `server.metrics_token_env` set it needs
/// `Authorization: Bearer <token>`; the token is compared by digest, so the time
/// a wrong guess takes says nothing about the right one.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let presented = bearer(&headers).unwrap_or("");
        if Sha256::digest(presented.as_bytes()) != Sha256::digest(token.expose().as_bytes()) {
            return GatewayError::MetricsUnauthorized.into_response();
        }
    }
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub async fn unknown_route(request: Request) -> GatewayError {
    GatewayError::UnknownRoute {
        method: request.method().to_string(),
        path: request.uri().path().chars().take(200).collect(),
    }
}

pub async fn method_not_allowed() -> GatewayError {
    GatewayError::MethodNotAllowed
}
