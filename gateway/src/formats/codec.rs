//! Where each wire format plugs its translators into the request path: which
//! format a provider speaks, and for each direction the one function or
//! stateful coder the proxy calls. The proxy never names a format itself; a new
//! format adds a variant and one match arm per function here.
//!
//! When the client and the provider speak the same format none of this runs:
//! the body and the stream pass through untouched (`crate::proxy`).

use bytes::Bytes;

use super::openai_chat;
use super::IngressFormat;
use crate::error::GatewayError;
use crate::llm::{ChatRequest, ChatResponse, StreamEvent};

/// The format a provider is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EgressFormat {
    /// OpenAI chat completions: OpenAI, Azure and every compatible vendor.
    OpenAiChat,
}

impl EgressFormat {
    /// Whether a request in `ingress` reaches this provider untranslated.
    pub fn passes(self, ingress: IngressFormat) -> bool {
        matches!(
            (self, ingress),
            (EgressFormat::OpenAiChat, IngressFormat::OpenAiChat)
        )
    }

    /// The label of the usage event's upstream format.
    pub fn label(self) -> &'static str {
        match self {
            EgressFormat::OpenAiChat => "openai_chat",
        }
    }

    /// The body that asks the provider for `request`, as `upstream_model`.
    pub fn encode_request(self, request: &ChatRequest, upstream_model: &str) -> Vec<u8> {
        match self {
            EgressFormat::OpenAiChat => openai_chat::request::encode(request, upstream_model),
        }
    }

    /// The provider's whole answer in the gateway's terms.
    pub fn decode_response(self, body: &[u8]) -> Option<ChatResponse> {
        match self {
            EgressFormat::OpenAiChat => openai_chat::response::decode(body).ok(),
        }
    }

    pub fn stream_decoder(self) -> StreamDecoder {
        match self {
            EgressFormat::OpenAiChat => StreamDecoder::OpenAiChat(Default::default()),
        }
    }
}

impl IngressFormat {
    /// The label of the usage event's ingress format.
    pub fn label(self) -> &'static str {
        match self {
            IngressFormat::OpenAiChat => "openai_chat",
            IngressFormat::Anthropic => "anthropic",
            IngressFormat::Responses => "responses",
        }
    }

    /// The client's request in the gateway's terms.
    pub fn decode_request(self, body: &[u8]) -> Result<ChatRequest, GatewayError> {
        match self {
            IngressFormat::OpenAiChat => openai_chat::request::decode(body),
            IngressFormat::Anthropic | IngressFormat::Responses => Err(self.untranslated()),
        }
    }

    /// A whole answer as the client expects it; `created` stands in when the
    /// provider gave no time.
    pub fn encode_response(self, response: &ChatResponse, created: i64) -> Vec<u8> {
        match self {
            IngressFormat::OpenAiChat | IngressFormat::Anthropic | IngressFormat::Responses => {
                openai_chat::response::encode(response, created)
            }
        }
    }

    /// The client-side coder of a translated stream.
    pub fn stream_encoder(self, created: i64, include_usage: bool) -> StreamEncoder {
        match self {
            IngressFormat::OpenAiChat | IngressFormat::Anthropic | IngressFormat::Responses => {
                StreamEncoder::OpenAiChat(openai_chat::stream::Encoder::new(created, include_usage))
            }
        }
    }

    fn untranslated(self) -> GatewayError {
        GatewayError::invalid(
            format!(
                "Requests in the {} format cannot be served by this provider yet.",
                self.label()
            ),
            None,
        )
    }
}

/// Reads a provider's stream events (the `data:` payload of each SSE event).
#[derive(Debug)]
pub enum StreamDecoder {
    OpenAiChat(openai_chat::stream::Decoder),
}

impl StreamDecoder {
    /// The gateway events in one upstream event; `None` when the provider sent
    /// an error or something unreadable.
    pub fn decode(&mut self, data: &[u8]) -> Option<Vec<StreamEvent>> {
        match self {
            StreamDecoder::OpenAiChat(decoder) => decoder.decode(data).ok(),
        }
    }

    /// Whether the provider marked the end of its stream.
    pub fn done(&self) -> bool {
        match self {
            StreamDecoder::OpenAiChat(decoder) => decoder.done(),
        }
    }
}

/// Writes gateway events in the client's stream format.
#[derive(Debug)]
pub enum StreamEncoder {
    OpenAiChat(openai_chat::stream::Encoder),
}

impl StreamEncoder {
    pub fn encode(&mut self, event: &StreamEvent) -> Option<Bytes> {
        match self {
            StreamEncoder::OpenAiChat(encoder) => encoder.encode(event),
        }
    }

    /// The stream's closing events.
    pub fn finish(&mut self) -> Bytes {
        match self {
            StreamEncoder::OpenAiChat(encoder) => encoder.finish(),
        }
    }
}
