//! Anthropic's error envelope, `{"type":"error","error":{"type","message"},
//! "request_id"}`, as an HTTP answer and as a stream event, with the error type
//! the real API gives each status.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error type Anthropic names for an HTTP status.
pub(crate) fn kind_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

fn envelope(kind: &str, message: &str) -> serde_json::Value {
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": super::request_id(),
    })
}

/// An error answer with `status`, its error type and `message`.
pub(crate) fn response(status: StatusCode, message: &str) -> Response {
    let body = envelope(kind_for(status), message).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 529 {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// A 400 `invalid_request_error`.
pub(crate) fn invalid(message: &str) -> Response {
    response(StatusCode::BAD_REQUEST, message)
}

/// The answer a `status=` directive asks for.
pub(crate) fn injected(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status.as_u16() {
        429 => "This request would exceed your organization's rate limit (simulated).",
        529 => "Overloaded",
        500..=599 => "Internal server error (simulated).",
        _ => "Simulated provider failure.",
    };
    response(status, message)
}

/// The `error` event that ends a stream the API can no longer serve.
pub(crate) fn overloaded_event() -> Bytes {
    let data = envelope("overloaded_error", "Overloaded");
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_their_error_types() {
        let table = [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (503, "api_error"),
            (504, "timeout_error"),
            (529, "overloaded_error"),
        ];
        for (status, kind) in table {
            assert_eq!(
                kind_for(StatusCode::from_u16(status).unwrap()),
                kind,
                "{status}"
            );
        }
    }

    #[tokio::test]
    async fn an_injected_overload_is_a_529_envelope() {
        let answer = injected(529);
        assert_eq!(answer.status().as_u16(), 529);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["error"]["type"], "overloaded_error");
        assert!(value["request_id"].as_str().unwrap().starts_with("req_"));
    }
}
