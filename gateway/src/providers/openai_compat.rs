//! The OpenAI-compatible adapter. The body is the client's own, with only the
//! model id swapped for the provider's and, for streams, `include_usage` turned on
//! so the gateway learns token counts (the usage chunk is hidden again on the way
//! back if the client did not ask for it; see `sse.rs`).

use super::{Adapter, Base, UpstreamBody, UpstreamRequest};
use crate::config::{Endpoint, Flavor, ProviderConfig};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::formats::IngressFormat;
use crate::openai::request::RawObject;

/// Where the build errors of every adapter were first declared.
pub use super::base::BuildError;

/// The URL of each API the provider serves.
struct Urls {
    chat: reqwest::Url,
    embeddings: reqwest::Url,
    completions: reqwest::Url,
    responses: reqwest::Url,
}

pub struct OpenAiCompatible {
    base: Base,
    flavor: Flavor,
    /// Parsed once: reqwest would otherwise parse a URL string on every
    /// request. Boxed: four URLs would make every `Provider` much larger.
    urls: Box<Urls>,
    /// Serves the Responses API too (`responses_api`).
    responses_api: bool,
}

impl OpenAiCompatible {
    pub fn new(config: &ProviderConfig) -> Result<OpenAiCompatible, BuildError> {
        let parse = |path: &str| -> Result<reqwest::Url, BuildError> {
            let text = format!("{}/{path}", config.base_url);
            reqwest::Url::parse(&text).map_err(|_| BuildError::Url(text))
        };
        Ok(OpenAiCompatible {
            base: Base::new(config)?,
            flavor: config.flavor,
            urls: Box::new(Urls {
                chat: parse("chat/completions")?,
                embeddings: parse("embeddings")?,
                completions: parse("completions")?,
                responses: parse("responses")?,
            }),
            responses_api: config.responses_api,
        })
    }

    fn url(
        &self,
        endpoint: Endpoint,
        egress: EgressFormat,
        upstream_model: &str,
    ) -> Result<reqwest::Url, GatewayError> {
        match (self.flavor, endpoint) {
            // Only an `openai` provider is configured with `responses_api`.
            (_, Endpoint::Chat) if egress == EgressFormat::Responses => {
                Ok(self.urls.responses.clone())
            }
            // `anthropic` and `gemini` providers have their own adapters and never get here.
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Chat) => {
                Ok(self.urls.chat.clone())
            }
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Embeddings) => {
                Ok(self.urls.embeddings.clone())
            }
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Completions) => {
                Ok(self.urls.completions.clone())
            }
            (Flavor::Azure, _) => {
                let tail: &[&str] = match endpoint {
                    Endpoint::Chat => &["chat", "completions"],
                    Endpoint::Embeddings => &["embeddings"],
                    Endpoint::Completions => &["completions"],
                };
                // chat_url is `{base}/chat/completions`: drop those two segments.
                let mut url = self.urls.chat.clone();
                url.path_segments_mut()
                    .map_err(|()| GatewayError::ProviderUnavailable {
                        provider: self.base.name().to_string(),
                        reason: "its base URL cannot take a path".to_owned(),
                    })?
                    .pop()
                    .pop()
                    .extend(["openai", "deployments", upstream_model])
                    .extend(tail);
                Ok(url)
            }
        }
    }
}

/// The upstream body: the client's fields verbatim except `model` and, when the
/// gateway needs usage from a stream, `stream_options`; or a request from
/// another format, written in the provider's (chat completions, or Responses
/// for a `responses_api` provider).
pub fn upstream_body(request: &UpstreamRequest<'_, '_>) -> Result<Vec<u8>, GatewayError> {
    let body = match request.body {
        UpstreamBody::Same(body) => body,
        UpstreamBody::Translated(chat) => {
            return request
                .egress
                .encode_request(chat, request.upstream_model, request.max_output)
        }
    };
    let stream_options;
    // Azure names the deployment in the URL and ignores the body's model; it is
    // rewritten the same way for every flavor.
    let mut replace: Vec<(&str, &str)> = vec![("model", request.upstream_model_json)];
    if request.force_stream_usage {
        stream_options = merged_stream_options(body);
        replace.push(("stream_options", &stream_options));
    }
    Ok(body.write_with(&replace))
}

fn merged_stream_options(body: &RawObject<'_>) -> String {
    let existing = body.get("stream_options").and_then(|raw| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get()).ok()
    });
    match existing {
        Some(mut options) => {
            options.insert("include_usage".to_owned(), serde_json::Value::Bool(true));
            serde_json::to_string(&options)
                .unwrap_or_else(|_| r#"{"include_usage":true}"#.to_owned())
        }
        None => r#"{"include_usage":true}"#.to_owned(),
    }
}

impl Adapter for OpenAiCompatible {
    fn base(&self) -> &Base {
        &self.base
    }

    fn format(&self) -> EgressFormat {
        EgressFormat::OpenAiChat
    }

    fn format_for(&self, ingress: IngressFormat) -> EgressFormat {
        if self.responses_api && ingress == IngressFormat::Responses {
            EgressFormat::Responses
        } else {
            EgressFormat::OpenAiChat
        }
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> Result<reqwest::Response, GatewayError> {
        let mut builder =
            self.base
                .post(self.url(request.endpoint, request.egress, request.upstream_model)?);
        builder = match (self.base.key()?, self.flavor) {
            (None, _) => builder,
            (Some(key), Flavor::Azure) => builder.header("api-key", key.expose()),
            (Some(key), _) => builder.bearer_auth(key.expose()),
        };
        let body = upstream_body(&request)?;
        self.base.send(builder, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProviderKey, Timeouts};

    fn body_for(client_body: &[u8], force: bool) -> serde_json::Value {
        let object = RawObject::parse(client_body).unwrap();
        let request = UpstreamRequest {
            endpoint: Endpoint::Chat,
            body: UpstreamBody::Same(&object),
            upstream_model_json: "\"up-model\"",
            upstream_model: "up-model",
            max_output: 1000,
            force_stream_usage: force,
            egress: EgressFormat::OpenAiChat,
            anthropic_beta: None,
        };
        serde_json::from_slice(&upstream_body(&request).unwrap()).unwrap()
    }

    fn provider(flavor: Flavor, base_url: &str) -> OpenAiCompatible {
        OpenAiCompatible::new(&config(flavor, base_url)).unwrap()
    }

    fn config(flavor: Flavor, base_url: &str) -> ProviderConfig {
        ProviderConfig {
            name: "p".into(),
            catalog: "p".into(),
            flavor,
            base_url: base_url.into(),
            api_key: ProviderKey::None,
            headers: Vec::new(),
            query: Vec::new(),
            timeouts: Timeouts {
                connect: std::time::Duration::from_secs(1),
                first_byte: std::time::Duration::from_secs(1),
                idle: std::time::Duration::from_secs(1),
                total: std::time::Duration::from_secs(1),
            },
            responses_api: false,
        }
    }

    #[test]
    fn builds_openai_and_azure_urls() {
        let openai = provider(Flavor::OpenAi, "http://h:1/v1");
        assert_eq!(
            openai
                .url(Endpoint::Chat, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .as_str(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            openai
                .url(Endpoint::Embeddings, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .as_str(),
            "http://h:1/v1/embeddings"
        );
        let azure = provider(Flavor::Azure, "https://res.openai.azure.com");
        assert_eq!(
            azure
                .url(Endpoint::Chat, EgressFormat::OpenAiChat, "my deploy")
                .unwrap()
                .as_str(),
            "https://res.openai.azure.com/openai/deployments/my%20deploy/chat/completions"
        );
        assert_eq!(
            azure
                .url(Endpoint::Embeddings, EgressFormat::OpenAiChat, "e")
                .unwrap()
                .as_str(),
            "https://res.openai.azure.com/openai/deployments/e/embeddings"
        );
        assert_eq!(
            azure
                .url(Endpoint::Completions, EgressFormat::OpenAiChat, "i")
                .unwrap()
                .as_str(),
            "https://res.openai.azure.com/openai/deployments/i/completions"
        );
    }

    #[test]
    fn legacy_completions_and_responses_have_their_own_paths() {
        let openai = provider(Flavor::OpenAi, "http://h:1/v1");
        assert_eq!(
            openai
                .url(Endpoint::Completions, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .as_str(),
            "http://h:1/v1/completions"
        );
        assert_eq!(
            openai
                .url(Endpoint::Chat, EgressFormat::Responses, "m")
                .unwrap()
                .as_str(),
            "http://h:1/v1/responses"
        );
        assert_eq!(
            openai.format_for(IngressFormat::Responses),
            EgressFormat::OpenAiChat,
            "only a provider configured with responses_api is sent Responses"
        );
        let mut config = config(Flavor::OpenAi, "http://h:1/v1");
        config.responses_api = true;
        let responses = OpenAiCompatible::new(&config).unwrap();
        assert_eq!(
            responses.format_for(IngressFormat::Responses),
            EgressFormat::Responses
        );
        assert_eq!(
            responses.format_for(IngressFormat::OpenAiChat),
            EgressFormat::OpenAiChat
        );
        assert_eq!(
            responses.format_for(IngressFormat::Anthropic),
            EgressFormat::OpenAiChat
        );
    }

    #[test]
    fn swaps_the_model_and_keeps_the_rest() {
        let body = body_for(
            br#"{"model":"alias","messages":[],"temperature":0.2,"n":2}"#,
            false,
        );
        assert_eq!(body["model"], "up-model");
        assert_eq!(body["temperature"], 0.2);
        assert_eq!(body["n"], 2);
        assert!(body.get("stream_options").is_none());
    }

    #[test]
    fn writes_a_translated_request_as_chat_completions() {
        let chat = crate::llm::ChatRequest {
            model: "claude-x".into(),
            system: vec![crate::llm::Part::text("be brief")],
            messages: vec![crate::llm::Message {
                role: crate::llm::Role::User,
                content: vec![crate::llm::Part::text("hi")],
            }],
            max_tokens: Some(10),
            stream: true,
            ..Default::default()
        };
        let request = UpstreamRequest {
            endpoint: Endpoint::Chat,
            body: UpstreamBody::Translated(&chat),
            upstream_model_json: "\"up-model\"",
            upstream_model: "up-model",
            max_output: 1000,
            force_stream_usage: false,
            egress: EgressFormat::OpenAiChat,
            anthropic_beta: None,
        };
        let body: serde_json::Value =
            serde_json::from_slice(&upstream_body(&request).unwrap()).unwrap();
        assert_eq!(body["model"], "up-model");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "hi");
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }

    #[test]
    fn turns_on_usage_and_keeps_other_stream_options() {
        let body = body_for(
            br#"{"model":"a","stream":true,"stream_options":{"include_usage":false,"x":1}}"#,
            true,
        );
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["stream_options"]["x"], 1);
        let body = body_for(br#"{"model":"a","stream":true}"#, true);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}
