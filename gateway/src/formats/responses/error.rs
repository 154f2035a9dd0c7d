//! What can be wrong with a Responses request, and how the Responses API says
//! that something went wrong: OpenAI's `{"error": {...}}` body over HTTP, and in
//! a stream `response.failed` (built by the stream encoder with
//! [`failure_code`]) or an `error` event.
//!
//! Which HTTP status a gateway error gets is decided once, in
//! [`crate::error::GatewayError`]; this module only chooses the words.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::wire::events::{Event, EventBody};

/// Why a Responses request cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON at all.
    #[error("We could not parse the JSON body of your request. ({0})")]
    InvalidJson(String),
    /// JSON, but not a valid `CreateResponse`: answered 400.
    #[error("{message}")]
    Invalid {
        message: String,
        param: Option<String>,
        code: Option<&'static str>,
    },
    /// Valid for OpenAI, but a feature no translation can carry (a hosted tool,
    /// a file input): answered 400, naming it.
    #[error("{message}")]
    Unsupported { message: String, param: String },
    /// Needs state kept by the provider (`previous_response_id`,
    /// `conversation`, `background`, stored prompts or item
    /// references). A route whose upstream speaks the Responses API itself may
    /// pass the request through instead of answering 400.
    #[error("{message}")]
    NeedsState { message: String, param: String },
}

impl RequestError {
    pub(crate) fn invalid(message: impl Into<String>, param: impl Into<String>) -> RequestError {
        RequestError::Invalid {
            message: message.into(),
            param: Some(param.into()),
            code: Some("invalid_value"),
        }
    }

    pub(crate) fn missing(param: impl Into<String>) -> RequestError {
        let param = param.into();
        RequestError::Invalid {
            message: format!("Missing required parameter: '{param}'."),
            param: Some(param),
            code: Some("missing_required_parameter"),
        }
    }

    pub(crate) fn unsupported(
        message: impl Into<String>,
        param: impl Into<String>,
    ) -> RequestError {
        RequestError::Unsupported {
            message: message.into(),
            param: param.into(),
        }
    }

    /// The parameter at fault, as OpenAI names it (`input[2].call_id`).
    pub fn param(&self) -> Option<&str> {
        match self {
            RequestError::InvalidJson(_) => None,
            RequestError::Invalid { param, .. } => param.as_deref(),
            RequestError::Unsupported { param, .. } | RequestError::NeedsState { param, .. } => {
                Some(param)
            }
        }
    }

    /// OpenAI's `code` for it.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            RequestError::InvalidJson(_) => None,
            RequestError::Invalid { code, .. } => *code,
            RequestError::Unsupported { .. } => Some("unsupported_parameter"),
            RequestError::NeedsState { .. } => Some("unsupported_stateful_request"),
        }
    }

    /// Every request error is the client's: 400.
    pub fn status(&self) -> u16 {
        400
    }

    /// The HTTP body, OpenAI's shape.
    pub fn body(&self) -> Bytes {
        ErrorObject {
            message: self.to_string(),
            kind: "invalid_request_error".to_owned(),
            param: self.param().map(str::to_owned),
            code: self.code().map(str::to_owned),
        }
        .body()
    }
}

impl From<RequestError> for crate::error::GatewayError {
    /// The gateway's error for a refused request, keeping the parameter and
    /// code the Responses reader named, so the client's body says the same.
    fn from(error: RequestError) -> crate::error::GatewayError {
        let code = error.code();
        match error {
            RequestError::InvalidJson(detail) => crate::error::GatewayError::InvalidJson(detail),
            RequestError::Invalid { message, param, .. } => {
                crate::error::GatewayError::InvalidParameter {
                    message,
                    param,
                    code,
                }
            }
            RequestError::Unsupported { message, param }
            | RequestError::NeedsState { message, param } => {
                crate::error::GatewayError::InvalidParameter {
                    message,
                    param: Some(param),
                    code,
                }
            }
        }
    }
}

/// OpenAI's error object, the `error` of `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

/// Closed: an Anthropic error (`{"type": "error", "error": {...}}`) is not one.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    error: ErrorObject,
}

impl ErrorObject {
    /// Reads an OpenAI-shaped error body (the gateway's own, or an OpenAI-style
    /// provider's); `None` for any other shape.
    pub fn from_body(body: &[u8]) -> Option<ErrorObject> {
        serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|e| e.error)
    }

    /// From any gateway error: a provider's own OpenAI-shaped error as it
    /// sent it, else the gateway's words for it (type and code decided in
    /// [`crate::error::GatewayError::type_and_code`]).
    pub fn from_gateway(error: &crate::error::GatewayError) -> ErrorObject {
        if let crate::error::GatewayError::Upstream { body, .. } = error {
            if let Some(object) = ErrorObject::from_body(body) {
                return object;
            }
        }
        let (kind, code) = error.type_and_code();
        ErrorObject {
            message: error.to_string(),
            kind: kind.to_owned(),
            param: error.param().map(str::to_owned),
            code: code.map(str::to_owned),
        }
    }

    /// `{"error": {...}}` as bytes.
    pub fn body(&self) -> Bytes {
        let envelope = Envelope {
            error: self.clone(),
        };
        serde_json::to_vec(&envelope)
            .map(Bytes::from)
            .unwrap_or_else(|_| {
                Bytes::from_static(
                    br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#,
                )
            })
    }

    /// The stream's `error` event. The stream encoder ends failed answers with
    /// `response.failed` instead; this is for a route that must end a stream
    /// it did not encode. Send it after `response.created`: the `openai` SDK's
    /// stream helper refuses any event before that one.
    pub fn event(&self, sequence_number: u64) -> Event {
        Event {
            body: EventBody::Error {
                code: self.code.clone().or_else(|| Some(self.kind.clone())),
                message: self.message.clone(),
                param: self.param.clone(),
            },
            sequence_number,
        }
    }
}

/// The `ResponseErrorCode` of a failed Response for this error. The spec's
/// enum has no room for the gateway's kinds (its other codes are about prompts
/// and images), so anything but a rate limit is a `server_error`.
pub fn failure_code(error: &ErrorObject) -> &'static str {
    if error.code.as_deref() == Some("rate_limit_exceeded") || error.kind == "requests" {
        "rate_limit_exceeded"
    } else {
        "server_error"
    }
}

/// The HTTP body of a gateway error for a Responses client.
pub fn body(error: &crate::error::GatewayError) -> Bytes {
    ErrorObject::from_gateway(error).body()
}

/// A gateway error as the `error` event of a Responses stream numbered
/// `sequence_number`, for a stream the encoder did not make (a passthrough
/// cut short). Streams the encoder makes end with [`super::stream::Encoder::fail`].
pub fn event(error: &crate::error::GatewayError, sequence_number: u64) -> Bytes {
    super::stream::frame(&ErrorObject::from_gateway(error).event(sequence_number))
}
