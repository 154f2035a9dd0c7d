//! Every error the gateway answers with, and the one place that decides each
//! error's HTTP status, type and code, metric label and headers.
//!
//! How an error is written is the client's format's business
//! (`crate::formats`, which depends on this module, never the reverse): OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` for OpenAI clients, so SDKs
//! raise their usual exception types. The `type` and `code` here are OpenAI's
//! names, which other formats map from. Errors from a provider are passed
//! through as the provider sent them (`Upstream`).

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::limits::Refusal;

/// What an overloaded gateway asks clients to wait: a slot frees as soon as any
/// request ends, so a short wait (OpenAI's SDKs honour it) is enough.
const OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The error kind a response carries (set by `GatewayError::into_response`),
/// for the metrics layer and the usage event.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);

/// Why a stream stopped after the client had its first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// The provider closed the stream before its end.
    Cut,
    IdleTimeout,
    Transport,
    /// One event over `server.max_upstream_event_bytes`.
    EventTooLarge,
}

impl Interruption {
    /// The metric and usage-event label.
    pub fn kind(self) -> &'static str {
        match self {
            Interruption::Cut => "stream_cut",
            Interruption::IdleTimeout => "stream_idle_timeout",
            Interruption::Transport => "stream_transport",
            Interruption::EventTooLarge => "stream_event_too_large",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Interruption::Cut | Interruption::Transport => "stream_interrupted",
            Interruption::IdleTimeout => "stream_idle_timeout",
            Interruption::EventTooLarge => "upstream_too_large",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Interruption::Cut => "The provider ended the stream before it was complete.",
            Interruption::IdleTimeout => {
                "The provider sent nothing for longer than the idle timeout."
            }
            Interruption::Transport => "The connection to the provider failed during the stream.",
            Interruption::EventTooLarge => {
                "The provider sent a stream event larger than the gateway's limit; the stream was stopped."
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("We could not parse the JSON body of your request: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<&'static str>,
    },
    /// A request a format's reader refused, naming the parameter at fault as
    /// the client wrote it (`input[2].call_id`) and OpenAI's `code` for why.
    #[error("{message}")]
    InvalidParameter {
        message: String,
        param: Option<String>,
        code: Option<&'static str>,
    },
    #[error(
        "You didn't provide an API key. Send it in the Authorization header as `Bearer YOUR_KEY`."
    )]
    MissingKey,
    #[error("Incorrect API key provided.")]
    InvalidKey,
    #[error("This key may not use {0}.")]
    Forbidden(&'static str),
    #[error("The model `{0}` does not exist or you do not have access to it.")]
    ModelNotFound(String),
    #[error("The model `{model}` is not served on the {endpoint} endpoint.")]
    WrongEndpoint {
        model: String,
        endpoint: &'static str,
    },
    #[error(
        "The model `{model}` cannot serve this request: no deployment of it supports {missing}."
    )]
    Unsuitable { model: String, missing: String },
    #[error("This model's maximum context length is {largest} tokens. However, this request needs up to {needed} tokens (prompt plus requested output).")]
    ContextTooLong { needed: u64, largest: u64 },
    #[error("Every provider that serves `{model}` is unavailable right now; try again shortly.")]
    NoProviderAvailable { model: String },
    #[error("Request body is larger than the limit of {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("Rate limit reached for this API key. Try again in {}ms.", retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// Refused by a limit or budget of the key, its team or its tenant
    /// (`crate::limits`): 429 with the refusal's headers.
    #[error("{}", .0.message())]
    Limited(Box<Refusal>),
    #[error("Invalid URL ({method} {path}).")]
    UnknownRoute { method: String, path: String },
    /// `GET /v1/responses/{id}` and its kin: the gateway keeps no Responses.
    #[error("No response with id '{0}' is stored here: this gateway keeps no responses (send the whole conversation in 'input' with 'store': false).")]
    ResponseNotStored(String),
    #[error("Method not allowed.")]
    MethodNotAllowed,
    #[error("Provider `{provider}` is unavailable: {reason}.")]
    ProviderUnavailable { provider: String, reason: String },
    #[error("Could not reach provider `{provider}`.")]
    UpstreamConnect { provider: String },
    #[error("Provider `{provider}` did not answer in time ({phase}).")]
    UpstreamTimeout {
        provider: String,
        phase: &'static str,
    },
    #[error("Provider `{provider}` sent a response the gateway could not read.")]
    UpstreamProtocol { provider: String },
    #[error("The request took longer than the gateway's request timeout.")]
    RequestTimeout,
    #[error("The gateway is shutting down.")]
    ShuttingDown,
    /// Over `server.max_concurrent_requests` or `server.max_connections`.
    #[error("The gateway is serving as many {0} as it allows; retry shortly.")]
    Overloaded(&'static str),
    /// `/metrics` asks for the configured bearer token.
    #[error("This endpoint needs a valid bearer token in the Authorization header.")]
    MetricsUnauthorized,
    #[error("Provider `{provider}` sent {what} larger than the gateway's limit of {limit} bytes.")]
    UpstreamTooLarge {
        provider: String,
        /// `a response` or `a stream event`.
        what: &'static str,
        limit: usize,
    },
    #[error("Provider `{provider}` answered with a redirect ({status}); the gateway follows none. Check its base_url.")]
    UpstreamRedirect { provider: String, status: u16 },
    /// The analytics store could not answer a read: unreachable (`transient`,
    /// 503) or failing the query (500). The cause is logged, never sent.
    #[error("{}", if *transient { "The analytics store is unavailable right now; try again shortly." } else { "The analytics store could not answer this query." })]
    AnalyticsStore { transient: bool },
    /// The admin API's store (tenants, teams, keys) could not answer; as
    /// [`GatewayError::AnalyticsStore`], the cause is logged, never sent.
    #[error("{}", if *transient { "The key store is unavailable right now; try again shortly." } else { "The key store could not complete this change." })]
    ControlStore { transient: bool },
    /// An admin API record that does not exist (or is not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// An admin API record that exists already, or a change it cannot take.
    #[error("{0}")]
    Conflict(String),
    /// A share link past its expiry, or revoked (410); says which.
    #[error("This share link {0}.")]
    LinkGone(&'static str),
    /// A share link with a password, read without it or with a wrong one.
    #[error("{}", if *wrong { "The password is not correct for this share link." } else { "This share link needs its password." })]
    LinkPassword { wrong: bool },
    /// Over a share route's rate limit, per client address or per link.
    #[error("Too many requests for share links; try again in {}ms.", retry_after.as_millis())]
    LinkRateLimited { retry_after: Duration },
    /// A provider's safety filters refused the prompt itself (Gemini's
    /// `promptFeedback.blockReason`). The client's to change, so a 400 with
    /// OpenAI's `content_filter` code, and not tried at another candidate: a
    /// refusal is about the prompt, not the provider, and routing around a
    /// safety filter is not the gateway's call. (A refused *answer* is not an
    /// error: it ends with `finish_reason: "content_filter"`, as OpenAI's do.)
    #[error("The prompt was blocked by the safety filters of provider `{provider}` ({reason}); change the request and try again.")]
    ContentBlocked { provider: String, reason: String },
    /// A provider's error answer too large to relay (over `limit` bytes).
    #[error("Provider `{provider}` answered {} with an error body over {limit} bytes; it was not relayed.", status.as_u16())]
    UpstreamErrorTooLarge {
        provider: String,
        status: StatusCode,
        limit: usize,
    },
    /// A stream that stopped after its first event; sent as the stream's last event.
    #[error("{}", .0.message())]
    StreamInterrupted(Interruption),
    /// A provider's own error answer, forwarded with its status and body.
    #[error("Provider `{provider}` answered {status}.")]
    Upstream {
        provider: String,
        status: StatusCode,
        /// The provider's headers a client acts on: content type, `retry-after`,
        /// `retry-after-ms` and `x-ratelimit-*`.
        headers: Box<HeaderMap>,
        body: Bytes,
    },
}

impl GatewayError {
    pub fn invalid(message: impl Into<String>, param: Option<&'static str>) -> Self {
        GatewayError::InvalidRequest {
            message: message.into(),
            param,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::InvalidJson(_)
            | GatewayError::InvalidRequest { .. }
            | GatewayError::InvalidParameter { .. }
            | GatewayError::WrongEndpoint { .. }
            | GatewayError::Unsuitable { .. }
            | GatewayError::ContextTooLong { .. }
            | GatewayError::ContentBlocked { .. } => StatusCode::BAD_REQUEST,
            GatewayError::MissingKey
            | GatewayError::InvalidKey
            | GatewayError::MetricsUnauthorized => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::ModelNotFound(_)
            | GatewayError::UnknownRoute { .. }
            | GatewayError::ResponseNotStored(_) => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RateLimited { .. } | GatewayError::Limited(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::UpstreamConnect { .. }
            | GatewayError::UpstreamProtocol { .. }
            | GatewayError::UpstreamTooLarge { .. }
            | GatewayError::UpstreamRedirect { .. }
            | GatewayError::StreamInterrupted(_) => StatusCode::BAD_GATEWAY,
            GatewayError::ProviderUnavailable { .. }
            | GatewayError::NoProviderAvailable { .. }
            | GatewayError::ShuttingDown
            | GatewayError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::UpstreamTimeout { .. } | GatewayError::RequestTimeout => {
                StatusCode::GATEWAY_TIMEOUT
            }
            GatewayError::AnalyticsStore { transient: true }
            | GatewayError::ControlStore { transient: true } => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::AnalyticsStore { transient: false }
            | GatewayError::ControlStore { transient: false } => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::LinkGone(_) => StatusCode::GONE,
            GatewayError::LinkPassword { .. } => StatusCode::UNAUTHORIZED,
            GatewayError::LinkRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::Upstream { status, .. }
            | GatewayError::UpstreamErrorTooLarge { status, .. } => *status,
        }
    }

    /// Low-cardinality label for metrics and logs; never contains request data.
    pub fn kind(&self) -> &'static str {
        match self {
            GatewayError::InvalidJson(_) => "invalid_json",
            GatewayError::InvalidRequest { .. } | GatewayError::InvalidParameter { .. } => {
                "invalid_request"
            }
            GatewayError::MissingKey => "missing_key",
            GatewayError::InvalidKey => "invalid_key",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::ModelNotFound(_) => "model_not_found",
            GatewayError::WrongEndpoint { .. } => "wrong_endpoint",
            GatewayError::Unsuitable { .. } => "model_not_suitable",
            GatewayError::ContextTooLong { .. } => "context_length_exceeded",
            GatewayError::ContentBlocked { .. } => "content_filter",
            GatewayError::NoProviderAvailable { .. } => "no_provider_available",
            GatewayError::PayloadTooLarge { .. } => "payload_too_large",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::Limited(refusal) => refusal.kind(),
            GatewayError::UnknownRoute { .. } => "unknown_route",
            GatewayError::ResponseNotStored(_) => "response_not_stored",
            GatewayError::MethodNotAllowed => "method_not_allowed",
            GatewayError::ProviderUnavailable { .. } => "provider_unavailable",
            GatewayError::UpstreamConnect { .. } => "upstream_connect",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
            GatewayError::UpstreamProtocol { .. } => "upstream_protocol",
            GatewayError::RequestTimeout => "request_timeout",
            GatewayError::ShuttingDown => "shutting_down",
            GatewayError::Overloaded(_) => "overloaded",
            GatewayError::MetricsUnauthorized => "metrics_unauthorized",
            GatewayError::UpstreamTooLarge { .. } => "upstream_too_large",
            GatewayError::UpstreamRedirect { .. } => "upstream_redirect",
            GatewayError::AnalyticsStore { .. } => "analytics_store",
            GatewayError::ControlStore { .. } => "control_store",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::Conflict(_) => "conflict",
            GatewayError::LinkGone(_) => "link_gone",
            GatewayError::LinkPassword { .. } => "link_password",
            GatewayError::LinkRateLimited { .. } => "link_rate_limited",
            GatewayError::Upstream { .. } | GatewayError::UpstreamErrorTooLarge { .. } => {
                "upstream_status"
            }
            GatewayError::StreamInterrupted(why) => why.kind(),
        }
    }

    /// Whether another provider might succeed where this attempt failed: transport
    /// failures, timeouts, 429 and 5xx answers, a provider without its key.
    pub fn is_retryable(&self) -> bool {
        match self {
            GatewayError::UpstreamConnect { .. }
            | GatewayError::UpstreamTimeout { .. }
            | GatewayError::UpstreamProtocol { .. }
            | GatewayError::UpstreamRedirect { .. }
            | GatewayError::ProviderUnavailable { .. } => true,
            GatewayError::Upstream { status, .. }
            | GatewayError::UpstreamErrorTooLarge { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            _ => false,
        }
    }

    /// Whether the fault lies upstream (counted as an upstream error) rather than
    /// with the client or the gateway.
    pub fn is_upstream(&self) -> bool {
        matches!(
            self,
            GatewayError::UpstreamConnect { .. }
                | GatewayError::UpstreamTimeout { .. }
                | GatewayError::UpstreamProtocol { .. }
                | GatewayError::UpstreamTooLarge { .. }
                | GatewayError::UpstreamRedirect { .. }
                | GatewayError::Upstream { .. }
                | GatewayError::UpstreamErrorTooLarge { .. }
                | GatewayError::StreamInterrupted(_)
        )
    }

    /// OpenAI's error `type` and `code` for this error.
    pub fn type_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            GatewayError::InvalidJson(_)
            | GatewayError::InvalidRequest { .. }
            | GatewayError::MissingKey
            | GatewayError::UnknownRoute { .. }
            | GatewayError::MethodNotAllowed => ("invalid_request_error", None),
            GatewayError::InvalidParameter { code, .. } => ("invalid_request_error", *code),
            GatewayError::InvalidKey | GatewayError::MetricsUnauthorized => {
                ("invalid_request_error", Some("invalid_api_key"))
            }
            GatewayError::Forbidden(_) => {
                ("invalid_request_error", Some("insufficient_permissions"))
            }
            GatewayError::ModelNotFound(_) | GatewayError::WrongEndpoint { .. } => {
                ("invalid_request_error", Some("model_not_found"))
            }
            GatewayError::ResponseNotStored(_) => {
                ("invalid_request_error", Some("response_not_found"))
            }
            GatewayError::PayloadTooLarge { .. } => {
                ("invalid_request_error", Some("request_too_large"))
            }
            GatewayError::Unsuitable { .. } => {
                ("invalid_request_error", Some("model_not_suitable"))
            }
            GatewayError::ContextTooLong { .. } => {
                ("invalid_request_error", Some("context_length_exceeded"))
            }
            GatewayError::ContentBlocked { .. } => {
                ("invalid_request_error", Some("content_filter"))
            }
            GatewayError::RateLimited { .. } => ("requests", Some("rate_limit_exceeded")),
            GatewayError::Limited(refusal) => {
                let (kind, code) = refusal.type_and_code();
                (kind, Some(code))
            }
            GatewayError::ProviderUnavailable { .. }
            | GatewayError::NoProviderAvailable { .. }
            | GatewayError::ShuttingDown => ("service_unavailable", Some("service_unavailable")),
            GatewayError::Overloaded(_) => ("service_unavailable", Some("overloaded")),
            GatewayError::UpstreamTooLarge { .. } => ("upstream_error", Some("upstream_too_large")),
            GatewayError::UpstreamRedirect { .. } => ("upstream_error", Some("upstream_redirect")),
            GatewayError::UpstreamConnect { .. }
            | GatewayError::UpstreamProtocol { .. }
            | GatewayError::Upstream { .. }
            | GatewayError::UpstreamErrorTooLarge { .. } => ("upstream_error", Some("bad_gateway")),
            GatewayError::StreamInterrupted(why) => ("upstream_error", Some(why.code())),
            GatewayError::UpstreamTimeout { .. } | GatewayError::RequestTimeout => {
                ("timeout", Some("gateway_timeout"))
            }
            GatewayError::AnalyticsStore { transient: true }
            | GatewayError::ControlStore { transient: true } => {
                ("service_unavailable", Some("service_unavailable"))
            }
            GatewayError::AnalyticsStore { transient: false }
            | GatewayError::ControlStore { transient: false } => ("server_error", None),
            GatewayError::NotFound(_) => ("invalid_request_error", Some("not_found")),
            GatewayError::Conflict(_) => ("invalid_request_error", Some("conflict")),
            GatewayError::LinkGone(_) => ("invalid_request_error", Some("link_gone")),
            GatewayError::LinkPassword { wrong: false } => {
                ("invalid_request_error", Some("password_required"))
            }
            GatewayError::LinkPassword { wrong: true } => {
                ("invalid_request_error", Some("wrong_password"))
            }
            GatewayError::LinkRateLimited { .. } => ("requests", Some("rate_limit_exceeded")),
        }
    }

    /// The request field at fault, if one is.
    pub fn param(&self) -> Option<&str> {
        match self {
            GatewayError::InvalidRequest { param, .. } => *param,
            GatewayError::InvalidParameter { param, .. } => param.as_deref(),
            GatewayError::ModelNotFound(_)
            | GatewayError::WrongEndpoint { .. }
            | GatewayError::Unsuitable { .. } => Some("model"),
            GatewayError::ContextTooLong { .. } | GatewayError::ContentBlocked { .. } => {
                Some("messages")
            }
            _ => None,
        }
    }
}

impl GatewayError {
    /// The answer to a client, its status and headers decided here and its
    /// body (unless a provider's own answer is relayed) written by `write_body`, the
    /// client's format's renderer (`crate::formats`, which calls this: the
    /// error does not know the formats).
    pub fn respond(self, write_body: impl FnOnce(&GatewayError) -> Bytes) -> Response {
        let status = self.status();
        let kind = self.kind();
        let origin = match self {
            GatewayError::Upstream { .. } => "upstream",
            _ => "gateway",
        };
        let mut response = match self {
            GatewayError::Upstream { headers, body, .. } => {
                let mut response = (status, body).into_response();
                response.headers_mut().extend(*headers);
                response
            }
            ref other => {
                let mut response = (status, write_body(other)).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                let retry_after = match other {
                    GatewayError::RateLimited { retry_after }
                    | GatewayError::LinkRateLimited { retry_after } => Some(*retry_after),
                    GatewayError::Limited(refusal) => Some(refusal.retry_after),
                    GatewayError::Overloaded(_) => Some(OVERLOAD_RETRY_AFTER),
                    _ => None,
                };
                if let Some(retry_after) = retry_after {
                    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                if let GatewayError::Limited(refusal) = other {
                    for (name, value) in refusal.headers() {
                        if let Ok(value) = HeaderValue::from_str(&value) {
                            response.headers_mut().insert(name, value);
                        }
                    }
                }
                if let GatewayError::MetricsUnauthorized = other {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                response
            }
        };
        response
            .headers_mut()
            .insert("x-gateway-error-origin", HeaderValue::from_static(origin));
        response.extensions_mut().insert(ErrorKind(kind));
        response
    }
}

/// A client-supplied name as repeated in an error message: at most 256 bytes.
pub fn echo(name: &str) -> String {
    let mut end = name.len().min(256);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_openai() {
        assert_eq!(GatewayError::InvalidKey.status(), 401);
        assert_eq!(GatewayError::ModelNotFound("m".into()).status(), 404);
        assert_eq!(GatewayError::PayloadTooLarge { limit: 1 }.status(), 413);
        let limited = GatewayError::RateLimited {
            retry_after: Duration::from_millis(1),
        };
        assert_eq!(limited.status(), 429);
        let response = limited.respond(|_| Bytes::new());
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
