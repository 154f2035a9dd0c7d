//! Anthropic's error types, in both directions: rendering a gateway error for
//! an Anthropic client (an HTTP body, or an SSE `event: error` once a stream
//! has begun), and classifying an error Anthropic returned to us so the proxy
//! knows whether to fail over. The status <-> type table is the API's own.

use bytes::Bytes;

use super::wire::{ErrorBody, ErrorEnvelope};

/// The `error.type` values of the Messages API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Billing,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Timeout,
    Overloaded,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Billing => "billing_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Api => "api_error",
            ErrorKind::Timeout => "timeout_error",
            ErrorKind::Overloaded => "overloaded_error",
        }
    }

    /// The HTTP status Anthropic answers this type with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Billing => 402,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimit => 429,
            ErrorKind::Api => 500,
            ErrorKind::Timeout => 504,
            ErrorKind::Overloaded => 529,
        }
    }

    /// The type Anthropic gives a status.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Authentication,
            402 => ErrorKind::Billing,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimit,
            504 => ErrorKind::Timeout,
            529 => ErrorKind::Overloaded,
            500..=599 => ErrorKind::Api,
            _ => ErrorKind::InvalidRequest,
        }
    }

    /// The kind named by an `error.type`, if it is one of the API's.
    pub fn parse(kind: &str) -> Option<ErrorKind> {
        Some(match kind {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "authentication_error" => ErrorKind::Authentication,
            "billing_error" => ErrorKind::Billing,
            "permission_error" => ErrorKind::Permission,
            "not_found_error" => ErrorKind::NotFound,
            "request_too_large" => ErrorKind::RequestTooLarge,
            "rate_limit_error" => ErrorKind::RateLimit,
            "api_error" => ErrorKind::Api,
            "timeout_error" => ErrorKind::Timeout,
            "overloaded_error" => ErrorKind::Overloaded,
            _ => return None,
        })
    }
}

fn envelope(kind: ErrorKind, message: &str, request_id: Option<&str>) -> ErrorEnvelope {
    ErrorEnvelope {
        kind: "error".into(),
        error: ErrorBody {
            kind: kind.as_str().into(),
            message: message.into(),
        },
        request_id: request_id.map(str::to_owned),
    }
}

/// The JSON body of an error answer (send it with `kind.status()`).
pub fn error_body(kind: ErrorKind, message: &str, request_id: Option<&str>) -> Bytes {
    // Serializing strings into a JSON object cannot fail.
    Bytes::from(serde_json::to_vec(&envelope(kind, message, request_id)).unwrap_or_default())
}

/// The `event: error` frame that ends a stream that can no longer be served.
pub fn error_event(kind: ErrorKind, message: &str, request_id: Option<&str>) -> Bytes {
    let data = serde_json::to_string(&envelope(kind, message, request_id)).unwrap_or_default();
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

/// What an error from Anthropic means for the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// 429: try another candidate.
    RateLimited,
    /// 529: Anthropic is overloaded; try another candidate.
    Overloaded,
    /// 500-599 other than 529 (and 504 timeouts): try another candidate.
    Server,
    /// 400, 404, 413: the request itself is wrong; another candidate of the
    /// same format would refuse it too.
    Invalid,
    /// 401, 403: our key for this provider is wrong or lacks access.
    Auth,
    /// 402: the provider account cannot pay.
    Billing,
    /// Any other status.
    Other,
}

impl UpstreamFailure {
    /// Whether the request may be retried on another candidate (before the
    /// first byte reached the client).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            UpstreamFailure::RateLimited | UpstreamFailure::Overloaded | UpstreamFailure::Server
        )
    }
}

/// Classifies an error answer by its status and, when the body had one, its
/// `error.type` (which wins: a 200 stream can still end in `overloaded_error`).
pub fn classify(status: u16, error_type: Option<&str>) -> UpstreamFailure {
    let kind = error_type
        .and_then(ErrorKind::parse)
        .unwrap_or_else(|| ErrorKind::from_status(status));
    match kind {
        ErrorKind::RateLimit => UpstreamFailure::RateLimited,
        ErrorKind::Overloaded => UpstreamFailure::Overloaded,
        ErrorKind::Api | ErrorKind::Timeout => UpstreamFailure::Server,
        ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::RequestTooLarge => {
            if (500..=599).contains(&status) {
                UpstreamFailure::Server
            } else if matches!(status, 400 | 404 | 413 | 422) || status < 400 {
                UpstreamFailure::Invalid
            } else {
                UpstreamFailure::Other
            }
        }
        ErrorKind::Authentication | ErrorKind::Permission => UpstreamFailure::Auth,
        ErrorKind::Billing => UpstreamFailure::Billing,
    }
}

/// The type and message of an error body from Anthropic, if it is an envelope.
pub fn parse_error(body: &[u8]) -> Option<(Option<ErrorKind>, String)> {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).ok()?;
    (envelope.kind == "error").then(|| {
        (
            ErrorKind::parse(&envelope.error.kind),
            envelope.error.message,
        )
    })
}
