//! The Gemini API adapter (`flavor = "gemini"`): `POST
//! {base_url}/v1beta/models/{model}:generateContent`, or
//! `:streamGenerateContent?alt=sse` for a stream, with the key in
//! `x-goog-api-key` (never `?key=`, which would land in access logs). The base
//! URL defaults to Google's endpoint (see `config`); one that already ends in
//! an API version (`/v1beta`, `/v1`, `/v1alpha`) is used as given.
//!
//! No client speaks Gemini to the gateway, so every body is written by the
//! Gemini egress translator (`formats::gemini`); the answer is read back by
//! the same module through `formats::codec`.

use axum::http::Uri;

use super::client::UriTemplate;
use super::{
    Adapter, Base, BuildError, KeyHeader, UpstreamBody, UpstreamRequest, UpstreamResponse,
};
use crate::config::{Endpoint, ProviderConfig};
use crate::error::GatewayError;
use crate::formats::codec::EgressFormat;
use crate::formats::gemini::{self, Outgoing, API_KEY_HEADER};

/// The API version the gateway speaks when the base URL names none: the one
/// with every feature the translator uses (thinking config, JSON schemas).
const DEFAULT_VERSION: &str = "v1beta";

pub struct Gemini {
    base: Base,
    /// `{base_url}/v1beta/` (with its trailing slash, so a method path joins
    /// under it) and the configured query.
    api: UriTemplate,
}

impl Gemini {
    pub fn new(config: &ProviderConfig) -> Result<Gemini, BuildError> {
        let api = UriTemplate::parse(&api_root(&config.base_url), &config.query)?;
        Ok(Gemini {
            base: Base::new(config, KeyHeader::Named(API_KEY_HEADER), &[])?,
            api,
        })
    }

    /// Where `outgoing` goes: its method path under the API root (a path
    /// `gemini::outgoing` made of URL-safe characters only).
    fn url(&self, outgoing: &Outgoing) -> Result<Uri, GatewayError> {
        self.api
            .with_tail(&outgoing.path)
            .ok_or_else(|| GatewayError::ProviderUnavailable {
                provider: self.base.name().to_string(),
                reason: "its base URL and the model name make no valid URL".to_owned(),
            })
    }
}

/// The API root for `base_url` (no trailing slash), with a trailing slash.
fn api_root(base_url: &str) -> String {
    let last = base_url.rsplit('/').next().unwrap_or_default();
    if matches!(last, "v1beta" | "v1" | "v1alpha") {
        format!("{base_url}/")
    } else {
        format!("{base_url}/{DEFAULT_VERSION}/")
    }
}

/// The path and body of one attempt. A request Gemini cannot carry as asked
/// is the client's to fix (400); a model name no URL can hold is the
/// configuration's, so another candidate is tried instead.
pub fn outgoing(
    request: &UpstreamRequest<'_, '_>,
    provider: &str,
) -> Result<Outgoing, GatewayError> {
    let UpstreamBody::Translated(chat) = request.body else {
        return Err(GatewayError::ProviderUnavailable {
            provider: provider.to_owned(),
            reason: "Gemini takes only requests the gateway translates".to_owned(),
        });
    };
    gemini::outgoing(chat, request.upstream_model).map_err(|error| {
        if error.is_client_error() {
            GatewayError::invalid(error.to_string(), error.param())
        } else {
            GatewayError::ProviderUnavailable {
                provider: provider.to_owned(),
                reason: error.to_string(),
            }
        }
    })
}

impl Adapter for Gemini {
    fn base(&self) -> &Base {
        &self.base
    }

    fn format(&self) -> EgressFormat {
        EgressFormat::Gemini
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_, '_>,
    ) -> Result<UpstreamResponse, GatewayError> {
        if request.endpoint != Endpoint::Chat {
            return Err(GatewayError::ProviderUnavailable {
                provider: self.base.name().to_string(),
                reason: "the gateway sends Gemini chat requests only".to_owned(),
            });
        }
        let outgoing = outgoing(&request, self.base.name())?;
        let uri = self.url(&outgoing)?;
        self.base.send(uri, None, outgoing.body).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Flavor, ProviderKey, Timeouts};
    use crate::llm::{ChatRequest, Message, Part, Role};
    use crate::openai::request::RawObject;

    fn provider(base_url: &str) -> Gemini {
        Gemini::new(&ProviderConfig {
            name: "g".into(),
            catalog: "gemini".into(),
            flavor: Flavor::Gemini,
            base_url: base_url.into(),
            api_key: ProviderKey::None,
            headers: Vec::new(),
            query: Vec::new(),
            timeouts: Timeouts {
                connect: Duration::from_secs(1),
                first_byte: Duration::from_secs(1),
                idle: Duration::from_secs(1),
                total: Duration::from_secs(1),
            },
            responses_api: false,
        })
        .unwrap()
    }

    fn chat(stream: bool) -> ChatRequest {
        ChatRequest {
            model: "alias".into(),
            system: vec![Part::text("be brief")],
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::text("hi")],
            }],
            stream,
            ..Default::default()
        }
    }

    fn attempt<'b>(chat: &'b ChatRequest, model: &'b str) -> UpstreamRequest<'static, 'b> {
        UpstreamRequest {
            endpoint: Endpoint::Chat,
            body: UpstreamBody::Translated(chat),
            upstream_model_json: "\"unused\"",
            upstream_model: model,
            max_output: 65536,
            force_stream_usage: true,
            egress: EgressFormat::Gemini,
            anthropic_beta: None,
        }
    }

    #[test]
    fn urls_name_the_version_model_and_method() {
        let cases = [
            (
                "https://generativelanguage.googleapis.com",
                false,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            ),
            (
                "https://generativelanguage.googleapis.com",
                true,
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            ),
            (
                "http://127.0.0.1:9/v1",
                false,
                "http://127.0.0.1:9/v1/models/gemini-2.5-flash:generateContent",
            ),
            (
                "https://proxy.example/google/v1beta",
                true,
                "https://proxy.example/google/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            ),
        ];
        for (base_url, stream, expected) in cases {
            let gemini = provider(base_url);
            let request = chat(stream);
            let outgoing = outgoing(&attempt(&request, "gemini-2.5-flash"), "g").unwrap();
            assert_eq!(gemini.url(&outgoing).unwrap().to_string(), expected);
        }
    }

    #[test]
    fn the_body_is_gemini_s_and_names_no_model() {
        let request = chat(false);
        let outgoing = outgoing(&attempt(&request, "gemini-2.5-flash"), "g").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&outgoing.body).unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(body["contents"][0]["role"], "user");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
        assert!(body.get("model").is_none());
        assert!(body.get("messages").is_none());
    }

    #[test]
    fn refusals_are_the_client_s_or_the_configuration_s() {
        let mut two = chat(false);
        two.n = Some(2);
        let error = outgoing(&attempt(&two, "gemini-2.5-flash"), "g").unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(!error.is_retryable());
        assert_eq!(error.param(), Some("n"));

        let request = chat(false);
        let error = outgoing(&attempt(&request, "bad/model?key=1"), "g").unwrap_err();
        assert!(
            matches!(error, GatewayError::ProviderUnavailable { .. }),
            "{error:?}"
        );
        assert!(error.is_retryable());

        let raw = RawObject::parse(br#"{"model":"m","messages":[]}"#).unwrap();
        let same = UpstreamRequest {
            body: UpstreamBody::Same(&raw),
            ..attempt(&request, "gemini-2.5-flash")
        };
        assert!(outgoing(&same, "g").unwrap_err().is_retryable());
    }
}
