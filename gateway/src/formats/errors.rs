//! The wire format a client speaks, as far as errors go: each format writes a
//! [`GatewayError`] its own way, as a whole body and as a stream event. Which
//! status, type and code an error has is decided once, in `crate::error`; a
//! format only spells it. A new ingress format adds its variant here and an
//! `error` module of its own.

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
}

/// Anthropic's error type for the status the gateway answers with.
fn anthropic_kind(error: &GatewayError) -> super::anthropic::ErrorKind {
    super::anthropic::ErrorKind::from_status(error.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

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
