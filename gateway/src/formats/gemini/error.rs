//! Google's error envelope (`{"error":{"code","message","status","details"}}`)
//! as a classification the proxy acts on: retry or fail over (rate limits,
//! overload, internal errors, timeouts), or answer the client (bad requests,
//! auth, unknown models). The canonical status name decides where it is
//! known, the HTTP status otherwise; a 400 whose `ErrorInfo` says the key is
//! invalid is an auth error, as Gemini reports bad keys that way.
//!
//! The message is Google's and may quote the request (an invalid value is
//! echoed back): it may go to the client, never to logs or metric labels; use
//! [`ErrorKind::label`] there.

use std::time::Duration;

use serde_json::Value;

use super::wire::{ErrorEnvelope, RpcStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 429 `RESOURCE_EXHAUSTED`: quota or rate limit.
    RateLimited,
    /// 503 `UNAVAILABLE`: the model is overloaded.
    Overloaded,
    /// 500 `INTERNAL` (and other 5xx).
    Internal,
    /// 504 `DEADLINE_EXCEEDED`.
    Timeout,
    /// 400 `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE`.
    InvalidRequest,
    /// 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, or an invalid API key.
    Auth,
    /// 404 `NOT_FOUND`: usually an unknown model.
    NotFound,
    Other,
}

impl ErrorKind {
    /// Whether another attempt (here or at another candidate) may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Internal
                | ErrorKind::Timeout
        )
    }

    /// A low-cardinality name for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Internal => "internal",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Other => "other",
        }
    }
}

/// One upstream error, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Gemini answered {http_status} ({})", .kind.label())]
pub struct UpstreamError {
    pub kind: ErrorKind,
    pub http_status: u16,
    /// The canonical status name, when the body had one.
    pub status: Option<String>,
    /// Google's message (may quote the request: not for logs).
    pub message: Option<String>,
    /// `RetryInfo.retryDelay`, when given.
    pub retry_after: Option<Duration>,
}

impl UpstreamError {
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }
}

/// Classifies an error answer: its HTTP status and body (any bytes).
pub fn classify(http_status: u16, body: &[u8]) -> UpstreamError {
    let status = serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|e| e.error)
        .unwrap_or_default();
    from_status(http_status, status)
}

/// Classifies an envelope already parsed (e.g. an error inside a stream,
/// which came with HTTP 200: its own `code` is the status then).
pub(crate) fn from_status(http_status: u16, status: RpcStatus) -> UpstreamError {
    let http_status = match (http_status, status.code) {
        (200, Some(code)) => code,
        (http, _) => http,
    };
    let key_invalid = status.details.iter().any(|d| {
        matches!(
            d.get("reason").and_then(Value::as_str),
            Some("API_KEY_INVALID" | "API_KEY_EXPIRED" | "API_KEY_SERVICE_BLOCKED")
        )
    });
    let by_name = match status.status.as_deref() {
        _ if key_invalid => Some(ErrorKind::Auth),
        Some("RESOURCE_EXHAUSTED") => Some(ErrorKind::RateLimited),
        Some("UNAVAILABLE") => Some(ErrorKind::Overloaded),
        Some("INTERNAL" | "UNKNOWN" | "DATA_LOSS") => Some(ErrorKind::Internal),
        Some("DEADLINE_EXCEEDED") => Some(ErrorKind::Timeout),
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => {
            Some(ErrorKind::InvalidRequest)
        }
        Some("UNAUTHENTICATED" | "PERMISSION_DENIED") => Some(ErrorKind::Auth),
        Some("NOT_FOUND") => Some(ErrorKind::NotFound),
        _ => None,
    };
    let kind = by_name.unwrap_or(match http_status {
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::Overloaded,
        504 => ErrorKind::Timeout,
        500..=599 => ErrorKind::Internal,
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        400 | 413 | 422 => ErrorKind::InvalidRequest,
        _ => ErrorKind::Other,
    });
    let retry_after = status.details.iter().find_map(|d| {
        d.get("retryDelay")
            .and_then(Value::as_str)
            .and_then(parse_duration)
    });
    UpstreamError {
        kind,
        http_status,
        status: status.status,
        message: status.message,
        retry_after,
    }
}

/// A protobuf JSON duration: decimal seconds with an `s` suffix (`"1.5s"`).
fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && (0.0..=86_400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_names_classify() {
        let cases = [
            (
                429,
                r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#,
                ErrorKind::RateLimited,
                true,
            ),
            (
                503,
                r#"{"error":{"code":503,"status":"UNAVAILABLE"}}"#,
                ErrorKind::Overloaded,
                true,
            ),
            (
                500,
                r#"{"error":{"code":500,"status":"INTERNAL"}}"#,
                ErrorKind::Internal,
                true,
            ),
            (
                504,
                r#"{"error":{"code":504,"status":"DEADLINE_EXCEEDED"}}"#,
                ErrorKind::Timeout,
                true,
            ),
            (
                400,
                r#"{"error":{"code":400,"status":"INVALID_ARGUMENT"}}"#,
                ErrorKind::InvalidRequest,
                false,
            ),
            (
                400,
                r#"{"error":{"code":400,"status":"FAILED_PRECONDITION"}}"#,
                ErrorKind::InvalidRequest,
                false,
            ),
            (
                401,
                r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#,
                ErrorKind::Auth,
                false,
            ),
            (
                403,
                r#"{"error":{"code":403,"status":"PERMISSION_DENIED"}}"#,
                ErrorKind::Auth,
                false,
            ),
            (
                404,
                r#"{"error":{"code":404,"status":"NOT_FOUND"}}"#,
                ErrorKind::NotFound,
                false,
            ),
            (
                400,
                r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#,
                ErrorKind::Auth,
                false,
            ),
            // Bodies that are not Google's: the HTTP status decides.
            (429, "", ErrorKind::RateLimited, true),
            (502, "<html>bad gateway</html>", ErrorKind::Internal, true),
            (503, "{}", ErrorKind::Overloaded, true),
            (504, "null", ErrorKind::Timeout, true),
            (403, "[1,2]", ErrorKind::Auth, false),
            (413, "too big", ErrorKind::InvalidRequest, false),
            (418, "", ErrorKind::Other, false),
            // A name we do not know: the HTTP status decides.
            (
                500,
                r#"{"error":{"status":"NEW_THING"}}"#,
                ErrorKind::Internal,
                true,
            ),
        ];
        for (http, body, kind, retryable) in cases {
            let error = classify(http, body.as_bytes());
            assert_eq!(
                (error.kind, error.retryable()),
                (kind, retryable),
                "{http} {body}"
            );
            assert_eq!(error.http_status, http);
        }
    }

    #[test]
    fn retry_delay_and_message_are_read() {
        let body = r#"{"error":{"code":429,"message":"Resource has been exhausted.","status":"RESOURCE_EXHAUSTED",
            "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
        let error = classify(429, body.as_bytes());
        assert_eq!(error.retry_after, Some(Duration::from_millis(1500)));
        assert_eq!(
            error.message.as_deref(),
            Some("Resource has been exhausted.")
        );
        assert_eq!(error.status.as_deref(), Some("RESOURCE_EXHAUSTED"));
        for bad in ["-1s", "1", "NaNs", "1e300s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_error_inside_a_200_stream_takes_its_own_code() {
        let status = RpcStatus {
            code: Some(503),
            status: Some("UNAVAILABLE".into()),
            ..RpcStatus::default()
        };
        let error = from_status(200, status);
        assert_eq!(
            (error.http_status, error.kind),
            (503, ErrorKind::Overloaded)
        );
    }
}
