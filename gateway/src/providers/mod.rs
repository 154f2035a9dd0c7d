//! Provider adapters: one module per wire protocol behind the [`Adapter`] trait,
//! dispatched through the [`Provider`] enum (no trait objects on the hot path).
//!
//! An adapter knows where and how to send a request to its provider, and which
//! wire format the provider speaks ([`EgressFormat`]). It is handed either the
//! client's own body, when the client speaks that format too (sent with only its
//! model swapped: the fast path), or the request in the gateway's terms, which it
//! writes in its format; the proxy reads the answer back through the same
//! format's translators. It returns as soon as the provider's response headers
//! arrive, so the caller decides whether to buffer or stream. Every
//! OpenAI-compatible vendor (OpenAI, Azure OpenAI, Groq, Together, DeepSeek,
//! Mistral, Fireworks, OpenRouter, vLLM, Ollama) shares the one adapter in
//! `openai_compat`; a provider with its own format (Anthropic, Gemini) is one
//! module here, one [`Provider`] variant and one [`EgressFormat`] variant.

pub mod anthropic;
pub mod base;
pub mod client;
pub mod gemini;
pub mod openai_compat;
pub mod response;

use std::future::Future;
use std::sync::Arc;

pub use base::{Base, BuildError, KeyHeader};
pub use response::{BodyError, UpstreamResponse};

use crate::config::{Endpoint, Flavor, ProviderConfig, Timeouts};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::formats::IngressFormat;
use crate::llm::ChatRequest;
use crate::openai::request::RawObject;

/// The body of one attempt.
#[derive(Clone, Copy)]
pub enum UpstreamBody<'a, 'b> {
    /// The client's own body, already in the provider's format.
    Same(&'b RawObject<'a>),
    /// The request in the gateway's terms, to be written in the provider's format.
    Translated(&'b ChatRequest),
}

/// What the router hands an adapter for one attempt.
pub struct UpstreamRequest<'a, 'b> {
    pub endpoint: Endpoint,
    pub body: UpstreamBody<'a, 'b>,
    /// The provider's model id, already escaped as a JSON string literal.
    pub upstream_model_json: &'b str,
    pub upstream_model: &'b str,
    /// The model's largest output (the catalog's): `max_tokens` for a provider
    /// that needs one when the client gave none.
    pub max_output: u64,
    /// Ask the provider for a final usage chunk (`stream_options.include_usage`).
    pub force_stream_usage: bool,
    /// The format the body is sent in ([`Adapter::format_for`] the client's).
    pub egress: EgressFormat,
    /// An Anthropic client's `anthropic-beta` header: sent with its own body
    /// (`UpstreamBody::Same`) to an Anthropic provider, never elsewhere.
    pub anthropic_beta: Option<&'b axum::http::HeaderValue>,
}

pub trait Adapter {
    /// The name, client, key and timeouts every adapter has alike.
    fn base(&self) -> &Base;

    fn name(&self) -> &Arc<String> {
        self.base().name()
    }

    fn timeouts(&self) -> &Timeouts {
        self.base().timeouts()
    }

    /// The wire format the provider speaks.
    fn format(&self) -> EgressFormat;

    /// The format a request from a client speaking `ingress` is sent in: the
    /// provider's own, unless it also speaks the client's (an OpenAI provider
    /// with `responses_api` serves Responses clients untranslated).
    fn format_for(&self, ingress: IngressFormat) -> EgressFormat {
        let _ = ingress;
        self.format()
    }

    /// Why this provider cannot be called at all (no API key), if so. Checked
    /// before an attempt, so a keyless provider never uses one up.
    fn unusable(&self) -> Option<GatewayError> {
        self.base().unusable()
    }

    /// Sends the request; resolves when the provider's response headers arrive.
    fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> impl Future<Output = Result<UpstreamResponse, GatewayError>> + Send;
}

pub enum Provider {
    OpenAiCompatible(openai_compat::OpenAiCompatible),
    Anthropic(anthropic::Anthropic),
    Gemini(gemini::Gemini),
}

impl Provider {
    pub fn from_config(config: &ProviderConfig) -> Result<Provider, BuildError> {
        Ok(match config.flavor {
            Flavor::Anthropic => Provider::Anthropic(anthropic::Anthropic::new(config)?),
            Flavor::Gemini => Provider::Gemini(gemini::Gemini::new(config)?),
            Flavor::OpenAi | Flavor::Azure => {
                Provider::OpenAiCompatible(openai_compat::OpenAiCompatible::new(config)?)
            }
        })
    }
}

impl Adapter for Provider {
    fn base(&self) -> &Base {
        match self {
            Provider::OpenAiCompatible(p) => p.base(),
            Provider::Anthropic(p) => p.base(),
            Provider::Gemini(p) => p.base(),
        }
    }

    fn format(&self) -> EgressFormat {
        match self {
            Provider::OpenAiCompatible(p) => p.format(),
            Provider::Anthropic(p) => p.format(),
            Provider::Gemini(p) => p.format(),
        }
    }

    fn format_for(&self, ingress: IngressFormat) -> EgressFormat {
        match self {
            Provider::OpenAiCompatible(p) => p.format_for(ingress),
            Provider::Anthropic(p) => p.format_for(ingress),
            Provider::Gemini(p) => p.format_for(ingress),
        }
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> Result<UpstreamResponse, GatewayError> {
        match self {
            Provider::OpenAiCompatible(p) => p.send(request).await,
            Provider::Anthropic(p) => p.send(request).await,
            Provider::Gemini(p) => p.send(request).await,
        }
    }
}

/// Maps a failed send onto the gateway's error kinds: the provider could not
/// be reached, or it broke the exchange. (Timeouts are the caller's own.)
pub fn transport_error(provider: &str, error: &hyper_util::client::legacy::Error) -> GatewayError {
    let provider = provider.to_owned();
    if error.is_connect() {
        GatewayError::UpstreamConnect { provider }
    } else {
        GatewayError::UpstreamProtocol { provider }
    }
}

/// Maps a failed read of an answer's body onto the gateway's error kinds.
pub fn body_error(provider: &str, error: BodyError) -> GatewayError {
    let provider = provider.to_owned();
    match error {
        BodyError::Timeout => GatewayError::UpstreamTimeout {
            provider,
            phase: "total",
        },
        BodyError::Transport => GatewayError::UpstreamProtocol { provider },
    }
}
