//! The OpenAI-compatible adapter. The body is the client's own, with only the
//! model id swapped for the provider's and, for streams, `include_usage` turned on
//! so the gateway learns token counts (the usage chunk is hidden again on the way
//! back if the client did not ask for it; see `sse.rs`).

use axum::http::Uri;

use super::client::{push_segment, UriTemplate};
use super::{Adapter, Base, KeyHeader, UpstreamBody, UpstreamRequest, UpstreamResponse};
use crate::config::{Endpoint, Flavor, ProviderConfig};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::formats::IngressFormat;
use crate::openai::request::RawObject;

/// Where the build errors of every adapter were first declared.
pub use super::base::BuildError;

/// The URI of each API the provider serves, the configured query included.
struct Uris {
    chat: Uri,
    embeddings: Uri,
    completions: Uri,
    responses: Uri,
    /// Azure's: `{base}/openai/deployments/`, the deployment and the API's
    /// path added per request.
    deployments: UriTemplate,
}

pub struct OpenAiCompatible {
    base: Base,
    flavor: Flavor,
    /// Built once, so a request parses no URL. Boxed: the URIs would make
    /// every `Provider` much larger.
    uris: Box<Uris>,
    /// Serves the Responses API too (`responses_api`).
    responses_api: bool,
}

impl OpenAiCompatible {
    pub fn new(config: &ProviderConfig) -> Result<OpenAiCompatible, BuildError> {
        let uri = |path: &str| -> Result<Uri, BuildError> {
            let text = format!("{}/{path}", config.base_url);
            UriTemplate::parse(&text, &config.query)?
                .with_tail("")
                .ok_or(BuildError::Url(text))
        };
        let key_header = match config.flavor {
            Flavor::Azure => KeyHeader::Named("api-key"),
            _ => KeyHeader::Bearer,
        };
        Ok(OpenAiCompatible {
            base: Base::new(config, key_header, &[])?,
            flavor: config.flavor,
            uris: Box::new(Uris {
                chat: uri("chat/completions")?,
                embeddings: uri("embeddings")?,
                completions: uri("completions")?,
                responses: uri("responses")?,
                deployments: deployments(config)?,
            }),
            responses_api: config.responses_api,
        })
    }

    fn url(
        &self,
        endpoint: Endpoint,
        egress: EgressFormat,
        upstream_model: &str,
    ) -> Result<Uri, GatewayError> {
        match (self.flavor, endpoint) {
            // Only an `openai` provider is configured with `responses_api`.
            (_, Endpoint::Chat) if egress == EgressFormat::Responses => {
                Ok(self.uris.responses.clone())
            }
            // `anthropic` and `gemini` providers have their own adapters and never get here.
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Chat) => {
                Ok(self.uris.chat.clone())
            }
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Embeddings) => {
                Ok(self.uris.embeddings.clone())
            }
            (Flavor::OpenAi | Flavor::Anthropic | Flavor::Gemini, Endpoint::Completions) => {
                Ok(self.uris.completions.clone())
            }
            (Flavor::Azure, _) => {
                let api = match endpoint {
                    Endpoint::Chat => "/chat/completions",
                    Endpoint::Embeddings => "/embeddings",
                    Endpoint::Completions => "/completions",
                };
                let mut tail = String::with_capacity(upstream_model.len() + api.len() + 8);
                push_segment(&mut tail, upstream_model);
                tail.push_str(api);
                self.uris.deployments.with_tail(&tail).ok_or_else(|| {
                    GatewayError::ProviderUnavailable {
                        provider: self.base.name().to_string(),
                        reason: "its base URL and the deployment make no valid URL".to_owned(),
                    }
                })
            }
        }
    }
}

/// `{base_url}/openai/deployments/` (Azure's deployments sit beside its
/// `chat/completions`, not under it).
fn deployments(config: &ProviderConfig) -> Result<UriTemplate, BuildError> {
    let text = format!("{}/chat/completions", config.base_url);
    let bad = || BuildError::Url(text.clone());
    let mut url = reqwest::Url::parse(&text).map_err(|_| bad())?;
    url.path_segments_mut()
        .map_err(|()| bad())?
        .pop()
        .pop()
        .extend(["openai", "deployments", ""]);
    UriTemplate::from_url(&url, &config.query).ok_or_else(bad)
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
    ) -> Result<UpstreamResponse, GatewayError> {
        let uri = self.url(request.endpoint, request.egress, request.upstream_model)?;
        let body = upstream_body(&request)?;
        self.base.send(uri, None, body).await
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
                .to_string(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            openai
                .url(Endpoint::Embeddings, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .to_string(),
            "http://h:1/v1/embeddings"
        );
        let azure = provider(Flavor::Azure, "https://res.openai.azure.com");
        assert_eq!(
            azure
                .url(Endpoint::Chat, EgressFormat::OpenAiChat, "my deploy")
                .unwrap()
                .to_string(),
            "https://res.openai.azure.com/openai/deployments/my%20deploy/chat/completions"
        );
        assert_eq!(
            azure
                .url(Endpoint::Embeddings, EgressFormat::OpenAiChat, "e")
                .unwrap()
                .to_string(),
            "https://res.openai.azure.com/openai/deployments/e/embeddings"
        );
        assert_eq!(
            azure
                .url(Endpoint::Completions, EgressFormat::OpenAiChat, "i")
                .unwrap()
                .to_string(),
            "https://res.openai.azure.com/openai/deployments/i/completions"
        );
    }

    #[test]
    fn the_configured_query_is_in_every_uri() {
        let mut with_query = config(Flavor::Azure, "https://res.openai.azure.com");
        with_query.query = vec![("api-version".into(), "2024-10-21".into())];
        let azure = OpenAiCompatible::new(&with_query).unwrap();
        assert_eq!(
            azure
                .url(Endpoint::Chat, EgressFormat::OpenAiChat, "dep/1")
                .unwrap()
                .to_string(),
            "https://res.openai.azure.com/openai/deployments/dep%2F1/chat/completions?api-version=2024-10-21"
        );
        with_query.flavor = Flavor::OpenAi;
        let openai = OpenAiCompatible::new(&with_query).unwrap();
        assert_eq!(
            openai
                .url(Endpoint::Embeddings, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .to_string(),
            "https://res.openai.azure.com/embeddings?api-version=2024-10-21"
        );
    }

    #[test]
    fn legacy_completions_and_responses_have_their_own_paths() {
        let openai = provider(Flavor::OpenAi, "http://h:1/v1");
        assert_eq!(
            openai
                .url(Endpoint::Completions, EgressFormat::OpenAiChat, "m")
                .unwrap()
                .to_string(),
            "http://h:1/v1/completions"
        );
        assert_eq!(
            openai
                .url(Endpoint::Chat, EgressFormat::Responses, "m")
                .unwrap()
                .to_string(),
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
