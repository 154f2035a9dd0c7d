//! What can be wrong with a Responses request, and how the Responses API says
//! that something went wrong: OpenAI's `{"error": {...}}` body over HTTP, and in
//! a stream an `error` event (before the Response began) or `response.failed`
//! (after; built by the stream encoder with [`failure_code`]).
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
    /// `conversation`, `store: true`, `background`, stored prompts or item
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

/// OpenAI's error object, the `error` of `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

#[derive(Serialize, Deserialize)]
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

    /// From any gateway error: its OpenAI body when it has one, else (a
    /// provider's error in another shape) a generic one with the same meaning.
    pub fn from_gateway(error: &crate::error::GatewayError) -> ErrorObject {
        ErrorObject::from_body(&error.body()).unwrap_or_else(|| ErrorObject {
            message: error.to_string(),
            kind: "server_error".to_owned(),
            param: None,
            code: None,
        })
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

    /// The stream's `error` event, for a failure before `response.created`.
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

/// The `ResponseErrorCode` of a failed Response for this error (the spec's
/// enum has no room for ours, so anything that is not a rate limit or a bad
/// prompt is a `server_error`).
pub fn failure_code(error: &ErrorObject) -> &'static str {
    let code = error.code.as_deref().unwrap_or_default();
    if code == "rate_limit_exceeded" || error.kind == "requests" {
        "rate_limit_exceeded"
    } else if error.kind == "invalid_request_error" {
        "invalid_prompt"
    } else {
        "server_error"
    }
}
