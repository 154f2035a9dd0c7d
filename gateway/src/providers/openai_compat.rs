//! The OpenAI-compatible adapter. The body is the client's own, with only the
//! model id swapped for the provider's and, for streams, `include_usage` turned on
//! so the gateway learns token counts (the usage chunk is hidden again on the way
//! back if the client did not ask for it; see `sse.rs`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};

use super::{transport_error, Adapter, UpstreamBody, UpstreamRequest};
use crate::config::{Endpoint, Flavor, ProviderConfig, ProviderKey, Timeouts};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::openai::request::RawObject;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("`{0}` is not a valid URL")]
    Url(String),
}

pub struct OpenAiCompatible {
    name: Arc<String>,
    client: reqwest::Client,
    flavor: Flavor,
    /// Parsed once: reqwest would otherwise parse a URL string on every request.
    chat_url: reqwest::Url,
    embeddings_url: reqwest::Url,
    key: ProviderKey,
    query: Vec<(String, String)>,
    timeouts: Timeouts,
}

impl OpenAiCompatible {
    pub fn new(config: &ProviderConfig) -> Result<OpenAiCompatible, BuildError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            headers.insert(name.clone(), value.clone());
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .tcp_nodelay(true)
            // A redirect would carry the provider key and the prompt to wherever a
            // provider (or whoever controls its DNS) points; a 3xx is an error.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1024)
            .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let parse = |path: &str| -> Result<reqwest::Url, BuildError> {
            let text = format!("{}/{path}", config.base_url);
            reqwest::Url::parse(&text).map_err(|_| BuildError::Url(text))
        };
        Ok(OpenAiCompatible {
            name: Arc::new(config.name.clone()),
            client,
            flavor: config.flavor,
            chat_url: parse("chat/completions")?,
            embeddings_url: parse("embeddings")?,
            key: config.api_key.clone(),
            query: config.query.clone(),
            timeouts: config.timeouts,
        })
    }

    fn url(&self, endpoint: Endpoint, upstream_model: &str) -> Result<reqwest::Url, GatewayError> {
        match (self.flavor, endpoint) {
            // An `anthropic` provider has its own adapter and never gets here.
            (Flavor::OpenAi | Flavor::Anthropic, Endpoint::Chat) => Ok(self.chat_url.clone()),
            (Flavor::OpenAi | Flavor::Anthropic, Endpoint::Embeddings) => {
                Ok(self.embeddings_url.clone())
            }
            (Flavor::Azure, _) => {
                let tail: &[&str] = match endpoint {
                    Endpoint::Chat => &["chat", "completions"],
                    Endpoint::Embeddings => &["embeddings"],
                };
                // chat_url is `{base}/chat/completions`: drop those two segments.
                let mut url = self.chat_url.clone();
                url.path_segments_mut()
                    .map_err(|()| GatewayError::ProviderUnavailable {
                        provider: self.name.to_string(),
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
/// another format, written as chat completions.
pub fn upstream_body(request: &UpstreamRequest<'_, '_>) -> Result<Vec<u8>, GatewayError> {
    let body = match request.body {
        UpstreamBody::Same(body) => body,
        UpstreamBody::Translated(chat) => {
            return EgressFormat::OpenAiChat.encode_request(
                chat,
                request.upstream_model,
                request.max_output,
            )
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
    fn name(&self) -> &Arc<String> {
        &self.name
    }

    fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    fn format(&self) -> EgressFormat {
        EgressFormat::OpenAiChat
    }

    fn unusable(&self) -> Option<GatewayError> {
        self.key
            .unavailable()
            .map(|reason| GatewayError::ProviderUnavailable {
                provider: self.name.to_string(),
                reason,
            })
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> Result<reqwest::Response, GatewayError> {
        let mut builder = self
            .client
            .post(self.url(request.endpoint, request.upstream_model)?)
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.timeouts.total);
        if !self.query.is_empty() {
            builder = builder.query(&self.query);
        }
        builder = match (&self.key, self.flavor) {
            (ProviderKey::None, _) => builder,
            (ProviderKey::Present(key), Flavor::OpenAi | Flavor::Anthropic) => {
                builder.bearer_auth(key.expose())
            }
            (ProviderKey::Present(key), Flavor::Azure) => builder.header("api-key", key.expose()),
            (ProviderKey::Missing(_) | ProviderKey::FromFile(_), _) => {
                return Err(self
                    .unusable()
                    .unwrap_or_else(|| GatewayError::ProviderUnavailable {
                        provider: self.name.to_string(),
                        reason: "it has no API key".to_owned(),
                    }))
            }
        };
        let body = upstream_body(&request)?;
        let sent = tokio::time::timeout(self.timeouts.first_byte, builder.body(body).send()).await;
        match sent {
            Err(_) => Err(GatewayError::UpstreamTimeout {
                provider: self.name.to_string(),
                phase: "first byte",
            }),
            Ok(Err(error)) => Err(transport_error(&self.name, &error)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::request::RawObject;

    fn body_for(client_body: &[u8], force: bool) -> serde_json::Value {
        let object = RawObject::parse(client_body).unwrap();
        let request = UpstreamRequest {
            endpoint: Endpoint::Chat,
            body: UpstreamBody::Same(&object),
            upstream_model_json: "\"up-model\"",
            upstream_model: "up-model",
            max_output: 1000,
            force_stream_usage: force,
            anthropic_beta: None,
        };
        serde_json::from_slice(&upstream_body(&request).unwrap()).unwrap()
    }

    fn provider(flavor: Flavor, base_url: &str) -> OpenAiCompatible {
        OpenAiCompatible::new(&ProviderConfig {
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
        })
        .unwrap()
    }

    #[test]
    fn builds_openai_and_azure_urls() {
        let openai = provider(Flavor::OpenAi, "http://h:1/v1");
        assert_eq!(
            openai.url(Endpoint::Chat, "m").unwrap().as_str(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            openai.url(Endpoint::Embeddings, "m").unwrap().as_str(),
            "http://h:1/v1/embeddings"
        );
        let azure = provider(Flavor::Azure, "https://res.openai.azure.com");
        assert_eq!(
            azure.url(Endpoint::Chat, "my deploy").unwrap().as_str(),
            "https://res.openai.azure.com/openai/deployments/my%20deploy/chat/completions"
        );
        assert_eq!(
            azure.url(Endpoint::Embeddings, "e").unwrap().as_str(),
            "https://res.openai.azure.com/openai/deployments/e/embeddings"
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
