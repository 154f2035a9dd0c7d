//! The Anthropic Messages API adapter (`flavor = "anthropic"`): `POST
//! {base_url}/messages` with `x-api-key` and `anthropic-version`. A client that
//! speaks Anthropic too has its body sent with only the model swapped; any
//! other is written by the Anthropic egress translator, with the catalog's max
//! output as `max_tokens` when the client set none (the API requires it).

use axum::http::Uri;

use super::client::UriTemplate;
use super::{
    Adapter, Base, BuildError, KeyHeader, UpstreamBody, UpstreamRequest, UpstreamResponse,
};
use crate::config::{Endpoint, ProviderConfig};
use crate::error::GatewayError;
use crate::formats::anthropic::egress::API_VERSION;
use crate::formats::codec::EgressFormat;

pub struct Anthropic {
    base: Base,
    messages_uri: Uri,
}

impl Anthropic {
    pub fn new(config: &ProviderConfig) -> Result<Anthropic, BuildError> {
        let text = format!("{}/messages", config.base_url);
        let messages_uri = UriTemplate::parse(&text, &config.query)?
            .with_tail("")
            .ok_or(BuildError::Url(text))?;
        Ok(Anthropic {
            base: Base::new(
                config,
                KeyHeader::Named("x-api-key"),
                &[("anthropic-version", API_VERSION)],
            )?,
            messages_uri,
        })
    }
}

/// The body for one attempt: the client's own Anthropic body with the model
/// swapped, or the gateway's request written as a Messages request.
pub fn upstream_body(request: &UpstreamRequest<'_, '_>) -> Result<Vec<u8>, GatewayError> {
    match request.body {
        UpstreamBody::Same(body) => Ok(body.write_with(&[("model", request.upstream_model_json)])),
        UpstreamBody::Translated(chat) => {
            EgressFormat::Anthropic.encode_request(chat, request.upstream_model, request.max_output)
        }
    }
}

impl Adapter for Anthropic {
    fn base(&self) -> &Base {
        &self.base
    }

    fn format(&self) -> EgressFormat {
        EgressFormat::Anthropic
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> Result<UpstreamResponse, GatewayError> {
        if request.endpoint != Endpoint::Chat {
            return Err(GatewayError::ProviderUnavailable {
                provider: self.base.name().to_string(),
                reason: "Anthropic's API serves no embeddings".to_owned(),
            });
        }
        let beta = match (request.body, request.anthropic_beta) {
            (UpstreamBody::Same(_), Some(beta)) => Some(("anthropic-beta", beta.clone())),
            _ => None,
        };
        let body = upstream_body(&request)?;
        self.base.send(self.messages_uri.clone(), beta, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ChatRequest, Message, Part, Role};
    use crate::openai::request::RawObject;

    fn request<'a, 'b>(body: UpstreamBody<'a, 'b>) -> UpstreamRequest<'a, 'b> {
        UpstreamRequest {
            endpoint: Endpoint::Chat,
            body,
            upstream_model_json: "\"claude-up\"",
            upstream_model: "claude-up",
            max_output: 64000,
            force_stream_usage: true,
            egress: EgressFormat::Anthropic,
            anthropic_beta: None,
        }
    }

    fn chat(max_tokens: Option<u64>) -> ChatRequest {
        ChatRequest {
            model: "alias".into(),
            system: vec![Part::text("be brief")],
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::text("hi")],
            }],
            max_tokens,
            stream: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_translated_request_defaults_max_tokens_from_the_catalog() {
        let request = chat(None);
        let body = upstream_body(&request_for(&request)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["model"], "claude-up");
        assert_eq!(body["max_tokens"], 64000);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["stream"], true);
        // OpenAI's stream option is not Anthropic's: the usage comes anyway.
        assert!(body.get("stream_options").is_none());

        let request = chat(Some(12));
        let body = upstream_body(&request_for(&request)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["max_tokens"], 12);
    }

    fn request_for(chat: &ChatRequest) -> UpstreamRequest<'static, '_> {
        request(UpstreamBody::Translated(chat))
    }

    #[test]
    fn an_anthropic_body_is_sent_with_only_the_model_swapped() {
        let raw = br#"{"model":"alias","max_tokens":5,"messages":[{"role":"user","content":"x"}],"stream":true}"#;
        let object = RawObject::parse(raw).unwrap();
        let body = upstream_body(&request(UpstreamBody::Same(&object))).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":"x"}],"stream":true}"#
        );
    }

    #[test]
    fn a_request_anthropic_refuses_is_a_client_error() {
        let mut hot = chat(Some(10));
        hot.temperature = Some(1.5);
        let error = upstream_body(&request_for(&hot)).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains("temperature"), "{error}");
    }
}
