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
    /// Anthropic Messages. Until its own error module lands it answers in
    /// OpenAI's shape.
    Anthropic,
    /// OpenAI Responses: OpenAI's error body; its stream events are its own.
    Responses,
}

impl IngressFormat {
    /// The body of an error answer.
    pub fn error_body(self, error: &GatewayError) -> Bytes {
        match self {
            IngressFormat::OpenAiChat | IngressFormat::Anthropic | IngressFormat::Responses => {
                super::openai_chat::error::body(error)
            }
        }
    }

    /// The event that ends a stream that failed after it began.
    pub fn error_event(self, error: &GatewayError) -> Bytes {
        match self {
            IngressFormat::OpenAiChat | IngressFormat::Anthropic | IngressFormat::Responses => {
                super::openai_chat::error::event(error)
            }
        }
    }
}
