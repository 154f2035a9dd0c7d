//! What every adapter has alike, kept once: the provider's name, its HTTP
//! client (no redirects, the configured headers and timeouts), its key and
//! extra query, whether it can be called at all, and the send that turns a
//! first-byte timeout and transport failures into the gateway's errors.
//!
//! Not here: where a request goes, how the key is sent (a bearer token,
//! `api-key`, `x-api-key`, `x-goog-api-key`) and what the body is; those are
//! each adapter's own.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};

use super::transport_error;
use crate::config::{ProviderConfig, ProviderKey, Timeouts};
use crate::error::GatewayError;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("`{0}` is not a valid URL")]
    Url(String),
}

/// One provider's connection settings and identity.
pub struct Base {
    name: Arc<String>,
    client: reqwest::Client,
    key: ProviderKey,
    query: Vec<(String, String)>,
    timeouts: Timeouts,
}

impl Base {
    pub fn new(config: &ProviderConfig) -> Result<Base, BuildError> {
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
        Ok(Base {
            name: Arc::new(config.name.clone()),
            client,
            key: config.api_key.clone(),
            query: config.query.clone(),
            timeouts: config.timeouts,
        })
    }

    pub fn name(&self) -> &Arc<String> {
        &self.name
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Why the provider cannot be called (its key is missing), if so.
    pub fn unusable(&self) -> Option<GatewayError> {
        self.key
            .unavailable()
            .map(|reason| GatewayError::ProviderUnavailable {
                provider: self.name.to_string(),
                reason,
            })
    }

    /// The key to send: `None` for a provider that takes none; an error when
    /// one is configured but could not be had.
    pub fn key(&self) -> Result<Option<&Secret>, GatewayError> {
        match &self.key {
            ProviderKey::None => Ok(None),
            ProviderKey::Present(key) => Ok(Some(key)),
            ProviderKey::Missing(_) | ProviderKey::FromFile(_) => Err(self
                .unusable()
                .unwrap_or_else(|| GatewayError::ProviderUnavailable {
                    provider: self.name.to_string(),
                    reason: "it has no API key".to_owned(),
                })),
        }
    }

    /// A JSON `POST` to `url` under the total timeout, with the configured
    /// query parameters added.
    pub fn post(&self, url: reqwest::Url) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.timeouts.total);
        if self.query.is_empty() {
            builder
        } else {
            builder.query(&self.query)
        }
    }

    /// Sends `builder` with `body`; resolves when the response headers arrive,
    /// or fails when they take longer than the first-byte timeout.
    pub async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, GatewayError> {
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
