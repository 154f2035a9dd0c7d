//! What every adapter has alike, kept once: the provider's name, its HTTP
//! client (see `client`), its key, every header a request carries (built once:
//! content type, user agent, the configured headers, the key in the adapter's
//! header), whether it can be called at all, and the send that turns the
//! first-byte and total timeouts and transport failures into the gateway's
//! errors.
//!
//! Not here: where a request goes and what the body is; those are each
//! adapter's own.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use tokio::time::Instant;

use super::client::{basic_auth, http_client, HttpClient};
use super::response::UpstreamResponse;
use super::transport_error;
use crate::config::{ProviderConfig, ProviderKey, Timeouts};
use crate::error::GatewayError;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot set up TLS for the HTTP client: {0}")]
    Tls(String),
    #[error("`{0}` is not a valid URL")]
    Url(String),
}

/// How a provider is sent its key.
#[derive(Clone, Copy)]
pub enum KeyHeader {
    /// `Authorization: Bearer {key}`.
    Bearer,
    /// The key as it is, in this header (`api-key`, `x-api-key`, `x-goog-api-key`).
    Named(&'static str),
}

/// A deadline far enough away to mean none, for a timeout too large to add.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One provider's connection settings and identity.
pub struct Base {
    name: Arc<String>,
    client: HttpClient,
    key: ProviderKey,
    /// Every request's headers, the key's included when it is present.
    headers: HeaderMap,
    /// The key is present but no header can carry it.
    key_unsendable: bool,
    timeouts: Timeouts,
}

impl Base {
    /// `fixed`: headers of the provider's API that every request carries
    /// (e.g. `anthropic-version`); they win over configured ones of that name.
    pub fn new(
        config: &ProviderConfig,
        key_header: KeyHeader,
        fixed: &[(&'static str, &'static str)],
    ) -> Result<Base, BuildError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        for (name, value) in &config.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("llm-gateway/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(credentials) = basic_auth(&config.base_url) {
            headers.insert(AUTHORIZATION, credentials);
        }
        for &(name, value) in fixed {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let mut key_unsendable = false;
        if let ProviderKey::Present(key) = &config.api_key {
            match key_value(key, key_header) {
                Some((name, value)) => {
                    headers.insert(name, value);
                }
                None => key_unsendable = true,
            }
        }
        Ok(Base {
            name: Arc::new(config.name.clone()),
            client: http_client(config.timeouts.connect)?,
            key: config.api_key.clone(),
            headers,
            key_unsendable,
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

    /// `Ok` when the key is not needed or can be sent; an error when one is
    /// configured but could not be had.
    fn check_key(&self) -> Result<(), GatewayError> {
        match &self.key {
            ProviderKey::None => Ok(()),
            ProviderKey::Present(_) if self.key_unsendable => {
                Err(GatewayError::ProviderUnavailable {
                    provider: self.name.to_string(),
                    reason: "its API key cannot be sent in an HTTP header".to_owned(),
                })
            }
            ProviderKey::Present(_) => Ok(()),
            ProviderKey::Missing(_) | ProviderKey::FromFile(_) => Err(self
                .unusable()
                .unwrap_or_else(|| GatewayError::ProviderUnavailable {
                    provider: self.name.to_string(),
                    reason: "it has no API key".to_owned(),
                })),
        }
    }

    /// Sends a JSON `POST` of `body` to `uri` with the provider's headers and
    /// `extra`; resolves when the response headers arrive, or fails when they
    /// take longer than the first-byte timeout (or the total one, if shorter).
    /// The answer's body is read under the total timeout, counted from now.
    pub async fn send(
        &self,
        uri: Uri,
        extra: Option<(&'static str, HeaderValue)>,
        body: Vec<u8>,
    ) -> Result<UpstreamResponse, GatewayError> {
        self.check_key()?;
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        if let Some((name, value)) = extra {
            request
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
        let now = Instant::now();
        let deadline = after(now, self.timeouts.total);
        let first_byte = after(now, self.timeouts.first_byte);
        let (wait, phase) = if first_byte <= deadline {
            (first_byte, "first byte")
        } else {
            (deadline, "total")
        };
        match tokio::time::timeout_at(wait, self.client.request(request)).await {
            Err(_) => Err(GatewayError::UpstreamTimeout {
                provider: self.name.to_string(),
                phase,
            }),
            Ok(Err(error)) => Err(transport_error(&self.name, &error)),
            Ok(Ok(response)) => Ok(UpstreamResponse::new(response, deadline)),
        }
    }
}

fn after(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout)
        .or_else(|| now.checked_add(FOREVER))
        .unwrap_or(now)
}

/// The header that carries `key`, marked sensitive (never printed by hyper's
/// own debug output); `None` when the key holds bytes no header can.
fn key_value(key: &Secret, how: KeyHeader) -> Option<(HeaderName, HeaderValue)> {
    let (name, value) = match how {
        KeyHeader::Bearer => (
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", key.expose())).ok()?,
        ),
        KeyHeader::Named(name) => (
            HeaderName::from_static(name),
            HeaderValue::from_str(key.expose()).ok()?,
        ),
    };
    let mut value = value;
    value.set_sensitive(true);
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::config::Flavor;
    use crate::providers::BodyError;

    fn base(first_byte: Duration, total: Duration) -> Base {
        let config = ProviderConfig {
            name: "p".into(),
            catalog: "p".into(),
            flavor: Flavor::OpenAi,
            base_url: "http://127.0.0.1:9/v1".into(),
            api_key: ProviderKey::Present(Secret::new("sk-test".to_owned())),
            headers: Vec::new(),
            query: Vec::new(),
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                first_byte,
                idle: Duration::from_secs(5),
                total,
            },
            responses_api: false,
        };
        Base::new(&config, KeyHeader::Bearer, &[("x-fixed", "1")]).unwrap()
    }

    /// A provider on a local port that reads one request and answers with
    /// `parts`, waiting `pause` before each; returns the request it read.
    async fn provider(
        parts: Vec<&'static [u8]>,
        pause: Duration,
    ) -> (Uri, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}/v1/chat", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 64 * 1024];
            let read = socket.read(&mut request).await.unwrap();
            for part in parts {
                tokio::time::sleep(pause).await;
                if socket.write_all(part).await.is_err() {
                    break;
                }
            }
            // Hold the connection open a little, as a slow provider would.
            tokio::time::sleep(pause * 4).await;
            String::from_utf8_lossy(&request[..read]).into_owned()
        });
        (uri, task)
    }

    async fn body(response: &mut UpstreamResponse) -> Result<Vec<u8>, BodyError> {
        let mut all = Vec::new();
        while let Some(chunk) = response.chunk().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn sends_the_headers_built_once_and_reads_the_answer() {
        let (uri, task) = provider(
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}",
            ],
            Duration::ZERO,
        )
        .await;
        let value = HeaderValue::from_static("beta-1");
        let mut response = base(LONG, LONG)
            .send(uri, Some(("anthropic-beta", value)), b"{\"a\":1}".to_vec())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.content_length(), Some(2));
        assert_eq!(body(&mut response).await.unwrap(), b"{}");
        let request = task.await.unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("post /v1/chat http/1.1\r\n"),
            "{request}"
        );
        for line in [
            "authorization: bearer sk-test\r\n",
            "content-type: application/json\r\n",
            "user-agent: llm-gateway/",
            "x-fixed: 1\r\n",
            "anthropic-beta: beta-1\r\n",
            "content-length: 7\r\n",
        ] {
            assert!(request.contains(line), "{line:?} missing in {request}");
        }
        assert!(request.ends_with("{\"a\":1}"), "{request}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        // A port just freed: nothing listens there.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let uri: Uri = format!("http://{address}/v1").parse().unwrap();
        let error = base(LONG, LONG)
            .send(uri, None, Vec::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, GatewayError::UpstreamConnect { .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn late_headers_are_a_first_byte_timeout() {
        let (uri, _task) = provider(
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"],
            Duration::from_millis(1500),
        )
        .await;
        let error = base(Duration::from_millis(200), LONG)
            .send(uri, None, Vec::new())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                GatewayError::UpstreamTimeout {
                    phase: "first byte",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_body_still_arriving_at_the_total_deadline_times_out() {
        let (uri, _task) = provider(
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n",
                b"ab",
                b"cd",
                b"ef",
            ],
            Duration::from_millis(300),
        )
        .await;
        let mut response = base(LONG, Duration::from_millis(700))
            .send(uri, None, Vec::new())
            .await
            .unwrap();
        assert_eq!(body(&mut response).await, Err(BodyError::Timeout));
    }

    #[tokio::test]
    async fn a_body_cut_before_its_end_is_a_transport_error() {
        let (uri, task) = provider(
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"],
            Duration::ZERO,
        )
        .await;
        let mut response = base(LONG, LONG).send(uri, None, Vec::new()).await.unwrap();
        // The provider goes away after the first part.
        task.abort();
        assert_eq!(body(&mut response).await, Err(BodyError::Transport));
    }
}
