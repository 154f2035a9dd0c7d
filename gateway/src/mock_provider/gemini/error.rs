//! Google's error shape, `{"error":{"code","message","status","details"?}}`,
//! with the canonical status name the real API gives each HTTP status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The canonical status name for an HTTP status.
pub(crate) fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402..=498 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// The error body for `status` with `message` and optional `details`.
pub(crate) fn body(status: StatusCode, message: &str, details: Option<Value>) -> Value {
    let mut error = json!({
        "code": status.as_u16(),
        "message": message,
        "status": status_name(status),
    });
    if let Some(details) = details {
        error["details"] = details;
    }
    json!({ "error": error })
}

pub(crate) fn response(status: StatusCode, message: &str, details: Option<Value>) -> Response {
    let mut response = (status, body(status, message, details).to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// A 400 `INVALID_ARGUMENT`; a message about the JSON payload gets the
/// `BadRequest` field violation the real API attaches to those.
pub(crate) fn invalid(message: &str) -> Response {
    let details = message.starts_with("Invalid JSON payload").then(|| {
        json!([{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"description": message}],
        }])
    });
    response(StatusCode::BAD_REQUEST, message, details)
}

/// The answer a `status=` directive asks for.
pub(crate) fn injected(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (message, details) = match status.as_u16() {
        429 => (
            "Resource has been exhausted (simulated quota).",
            Some(json!([{
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": "1s",
            }])),
        ),
        503 => ("The model is overloaded. Please try again later.", None),
        500..=599 => ("An internal error has occurred (simulated).", None),
        _ => ("Simulated provider failure.", None),
    };
    response(status, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_their_names() {
        for (code, name) in [
            (400, "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_name(status), name);
            assert_eq!(body(status, "m", None)["error"]["code"], code);
        }
    }
}
