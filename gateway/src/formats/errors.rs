//! The wire format a client speaks, as far as errors go: each format writes a
//! [`GatewayError`] its own way, as a whole body and as a stream event. Which
//! status, type and code an error has is decided once, in `crate::error`; a
//! format only spells it. A new ingress format adds its variant here and an
//! `error` module of its own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::GatewayError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IngressFormat {
    /// OpenAI chat completions (and the OpenAI-shaped routes around it:
    /// embeddings, models, legacy completions).
    OpenAiChat,
    /// Anthropic Messages: `{"type":"error","error":{"type","message"}}`, the
    /// error type chosen by the status.
    Anthropic,
    /// OpenAI Responses: OpenAI's error body. A stream the gateway encodes
    /// ends in `response.failed` (its encoder writes it) and a passed-through
    /// one in an `error` event numbered on from the provider's (its watcher
    /// writes it); the event here is the `error` event of a stream that has
    /// no such state.
    Responses,
}

impl IngressFormat {
    /// The body of an error answer.
    pub fn error_body(self, error: &GatewayError) -> Bytes {
        match self {
            IngressFormat::OpenAiChat => super::openai_chat::error::body(error),
            IngressFormat::Anthropic => {
                super::anthropic::error_body(anthropic_kind(error), &error.to_string(), None)
            }
            IngressFormat::Responses => {
                super::responses::error::ErrorObject::from_gateway(error).body()
            }
        }
    }

    /// The event that ends a stream that failed after it began.
    pub fn error_event(self, error: &GatewayError) -> Bytes {
        match self {
            IngressFormat::OpenAiChat => super::openai_chat::error::event(error),
            IngressFormat::Responses => super::responses::error::event(error, 0),
            IngressFormat::Anthropic => {
                super::anthropic::error_event(anthropic_kind(error), &error.to_string(), None)
            }
        }
    }

    /// A provider's error, as `message` and `status`, in this format's error
    /// shape and with the status this format's clients expect (Anthropic's 529
    /// is a 503 for OpenAI's SDKs).
    pub fn upstream_error(self, status: StatusCode, message: &str) -> (StatusCode, Bytes) {
        let openai_status = if status.as_u16() == 529 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            status
        };
        match self {
            IngressFormat::Anthropic => {
                let kind = super::anthropic::ErrorKind::from_status(status.as_u16());
                (status, super::anthropic::error_body(kind, message, None))
            }
            IngressFormat::OpenAiChat => (
                openai_status,
                super::openai_chat::error::upstream_body(openai_status.as_u16(), message),
            ),
            IngressFormat::Responses => {
                let kind = super::openai_chat::error::type_for_status(openai_status.as_u16());
                let object = super::responses::error::ErrorObject {
                    message: message.to_owned(),
                    kind: kind.to_owned(),
                    param: None,
                    code: None,
                };
                (openai_status, object.body())
            }
        }
    }
}

impl GatewayError {
    /// The OpenAI-shaped JSON body for this error, as OpenAI clients get it.
    pub fn body(&self) -> Bytes {
        super::openai_chat::error::body(self)
    }

    /// The answer to a client that speaks `format`: status and headers as
    /// `crate::error` decides them, the body in `format`'s shape.
    pub fn render(self, format: IngressFormat) -> Response {
        self.respond(|error| format.error_body(error))
    }
}

/// OpenAI's shape: what every route but the other formats' own answers with.
impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        self.render(IngressFormat::OpenAiChat)
    }
}

/// Anthropic's error type for the status the gateway answers with.
fn anthropic_kind(error: &GatewayError) -> super::anthropic::ErrorKind {
    super::anthropic::ErrorKind::from_status(error.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gateway_error_has_the_openai_shape() {
        let errors = [
            GatewayError::InvalidJson("x".into()),
            GatewayError::invalid("bad", Some("messages")),
            GatewayError::MissingKey,
            GatewayError::InvalidKey,
            GatewayError::ModelNotFound("m".into()),
            GatewayError::PayloadTooLarge { limit: 1 },
            GatewayError::RateLimited {
                retry_after: std::time::Duration::from_millis(1500),
            },
            GatewayError::UpstreamTimeout {
                provider: "p".into(),
                phase: "first byte",
            },
        ];
        for error in errors {
            let body = IngressFormat::OpenAiChat.error_body(&error);
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let detail = &value["error"];
            assert!(detail["message"].is_string(), "{value}");
            assert!(detail["type"].is_string(), "{value}");
            assert!(detail.get("param").is_some() && detail.get("code").is_some());
        }
    }

    #[test]
    fn a_safety_block_is_the_client_s_to_change_and_not_retried() {
        let blocked = GatewayError::ContentBlocked {
            provider: "gemini".into(),
            reason: "SAFETY".into(),
        };
        assert_eq!(blocked.status(), StatusCode::BAD_REQUEST);
        assert!(!blocked.is_retryable() && !blocked.is_upstream());
        let body: serde_json::Value =
            serde_json::from_slice(&IngressFormat::OpenAiChat.error_body(&blocked)).unwrap();
        assert_eq!(body["error"]["code"], "content_filter");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "messages");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SAFETY"));
        let body: serde_json::Value =
            serde_json::from_slice(&IngressFormat::Anthropic.error_body(&blocked)).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn a_provider_error_is_relayed_in_each_formats_own_shape() {
        let overloaded = StatusCode::from_u16(529).unwrap();
        let (status, body) = IngressFormat::OpenAiChat.upstream_error(overloaded, "busy");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": {
                "message": "busy", "type": "server_error", "param": null, "code": null
            }})
        );
        // Responses clients get the Responses renderer's body, byte for byte.
        let (status, body) = IngressFormat::Responses.upstream_error(overloaded, "busy");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let object = crate::formats::responses::error::ErrorObject::from_body(&body).unwrap();
        assert_eq!(
            (object.kind.as_str(), object.message.as_str()),
            ("server_error", "busy")
        );
        assert_eq!(body, object.body());
        let (status, body) =
            IngressFormat::Responses.upstream_error(StatusCode::TOO_MANY_REQUESTS, "slow");
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let object = crate::formats::responses::error::ErrorObject::from_body(&body).unwrap();
        assert_eq!(object.kind, "rate_limit_error");
        // Anthropic's clients know 529 as overloaded.
        let (status, body) = IngressFormat::Anthropic.upstream_error(overloaded, "busy");
        assert_eq!(status.as_u16(), 529);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["error"]["type"], "overloaded_error");
        assert_eq!(value["error"]["message"], "busy");
    }

    #[test]
    fn each_format_writes_the_same_error_its_own_way() {
        let error = GatewayError::ModelNotFound("m".into());
        let openai: serde_json::Value =
            serde_json::from_slice(&IngressFormat::OpenAiChat.error_body(&error)).unwrap();
        assert_eq!(openai["error"]["code"], "model_not_found");
        let anthropic: serde_json::Value =
            serde_json::from_slice(&IngressFormat::Anthropic.error_body(&error)).unwrap();
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "not_found_error");
        assert_eq!(anthropic["error"]["message"], error.to_string());
        let responses: serde_json::Value =
            serde_json::from_slice(&IngressFormat::Responses.error_body(&error)).unwrap();
        assert_eq!(responses["error"]["code"], "model_not_found");
        let event = IngressFormat::Anthropic.error_event(&GatewayError::Overloaded("requests"));
        let event = std::str::from_utf8(&event).unwrap();
        assert!(event.starts_with("event: error\ndata: "), "{event}");
        assert!(
            event.contains("\"overloaded_error\"") || event.contains("\"api_error\""),
            "{event}"
        );
    }
}
