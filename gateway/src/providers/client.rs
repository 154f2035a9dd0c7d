//! The HTTP client each provider owns (its own pool), and the URIs it sends
//! to, built when the configuration is loaded so a request parses no URL.
//!
//! hyper's pooled client directly, not reqwest: the redirect policy, proxy
//! matching, URL re-parsing and header copies reqwest does on every request are
//! work the gateway never needs (a 3xx is an error, there is no proxy, every
//! header is known in advance). TLS is rustls with the system's roots, HTTP/2
//! when the provider offers it through ALPN, HTTP/1.1 otherwise and for
//! plain `http`.
//!
//! Not here: timeouts of a request or its body (`base`, `response`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::uri::{Authority, Parts, PathAndQuery, Scheme};
use axum::http::{HeaderValue, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::BuildError;

/// One provider's pool of connections.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long an unused connection stays in the pool.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle connections kept per host: enough for the gateway's concurrency.
const POOL_MAX_IDLE_PER_HOST: usize = 1024;
/// TCP keepalive probes (reqwest's defaults, kept): a provider connection
/// that died without a word is found out in about a minute.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 3;

/// A client with TCP_NODELAY, TCP keepalive, the connect timeout and the pool
/// limits.
pub fn http_client(connect_timeout: Duration) -> Result<HttpClient, BuildError> {
    let mut http = HttpConnector::new();
    // `https` URIs are handed on to rustls by the connector around this one.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(KEEPALIVE));
    http.set_keepalive_interval(Some(KEEPALIVE));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config()?)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(https))
}

/// The TLS settings every provider shares: the system's root certificates are
/// read once per process, not once per provider and reload.
fn tls_config() -> Result<rustls::ClientConfig, BuildError> {
    static SHARED: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            // Certificates the system has but rustls cannot read are skipped,
            // as reqwest did: one bad file must not stop every provider.
            let (_added, _skipped) =
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
            .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(BuildError::Tls)
}

/// A provider URI whose path ends differently per request (a model name in it):
/// scheme, authority, the fixed start of the path and the configured query are
/// ready, so a request only joins strings.
#[derive(Clone)]
pub struct UriTemplate {
    scheme: Scheme,
    authority: Authority,
    /// The path up to where a request's own part goes.
    path: String,
    /// The configured query parameters, encoded, without `?`.
    query: Option<String>,
}

impl UriTemplate {
    /// The template for `url` (a full URL, checked and normalized here) with
    /// the configured `query` added to every URI made from it.
    pub fn parse(url: &str, query: &[(String, String)]) -> Result<UriTemplate, BuildError> {
        let bad = || BuildError::Url(url.to_owned());
        let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
        UriTemplate::from_url(&parsed, query).ok_or_else(bad)
    }

    /// The template for an already parsed URL.
    pub fn from_url(url: &reqwest::Url, query: &[(String, String)]) -> Option<UriTemplate> {
        let scheme = Scheme::try_from(url.scheme()).ok()?;
        let host = url.host_str()?;
        let authority = match url.port() {
            Some(port) => Authority::try_from(format!("{host}:{port}")).ok()?,
            None => Authority::try_from(host).ok()?,
        };
        let query = (!query.is_empty())
            .then(|| {
                let mut encoded = url.clone();
                encoded.set_query(None);
                encoded.query_pairs_mut().extend_pairs(query);
                encoded.query().map(str::to_owned)
            })
            .flatten();
        Some(UriTemplate {
            scheme,
            authority,
            path: url.path().to_owned(),
            query,
        })
    }

    /// The URI of the template's path followed by `tail` (which may hold a
    /// query of its own: the configured one is added after it).
    pub fn with_tail(&self, tail: &str) -> Option<Uri> {
        let query_len = self.query.as_ref().map_or(0, |query| query.len() + 1);
        let mut text = String::with_capacity(self.path.len() + tail.len() + query_len);
        text.push_str(&self.path);
        text.push_str(tail);
        if let Some(query) = &self.query {
            text.push(if tail.contains('?') { '&' } else { '?' });
            text.push_str(query);
        }
        let mut parts = Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(PathAndQuery::try_from(text).ok()?);
        Uri::from_parts(parts).ok()
    }
}

/// Appends `segment` to `out` as one URL path segment: every byte outside the
/// unreserved and sub-delimiter characters is percent-encoded, so a name with
/// `/`, `?`, `#` or spaces stays one segment.
pub fn push_segment(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in segment.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// `Authorization: Basic ...` for credentials written into the base URL
/// (`https://user:pass@host/...`), which the URIs sent never carry, as reqwest
/// sent them; `None` when the URL has none.
pub fn basic_auth(base_url: &str) -> Option<HeaderValue> {
    let url = reqwest::Url::parse(base_url).ok()?;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut credentials = percent_decoded(url.username());
    credentials.push(b':');
    credentials.extend(percent_decoded(url.password().unwrap_or_default()));
    let mut value =
        HeaderValue::try_from(format!("Basic {}", crate::base64::encode(&credentials))).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_query_follows_the_path_and_any_query_of_its_own() {
        let query = vec![
            ("api-version".to_owned(), "2024-10-21".to_owned()),
            ("x".to_owned(), "a b&c".to_owned()),
        ];
        let template = UriTemplate::parse("https://h.example:8443/v1/", &query).unwrap();
        assert_eq!(
            template.with_tail("chat/completions").unwrap().to_string(),
            "https://h.example:8443/v1/chat/completions?api-version=2024-10-21&x=a+b%26c"
        );
        assert_eq!(
            template.with_tail("m:stream?alt=sse").unwrap().to_string(),
            "https://h.example:8443/v1/m:stream?alt=sse&api-version=2024-10-21&x=a+b%26c"
        );
        let bare = UriTemplate::parse("http://127.0.0.1:9/v1/", &[]).unwrap();
        assert_eq!(
            bare.with_tail("embeddings").unwrap().to_string(),
            "http://127.0.0.1:9/v1/embeddings"
        );
        assert!(UriTemplate::parse("not a url", &[]).is_err());
        assert!(bare.with_tail("bad path\n").is_none());
    }

    #[test]
    fn credentials_in_the_base_url_become_basic_auth() {
        assert!(basic_auth("https://h.example/v1").is_none());
        let value = basic_auth("https://al%40x:p%3Ass@h.example/v1").unwrap();
        // base64("al@x:p:ss")
        assert_eq!(value.to_str().unwrap(), "Basic YWxAeDpwOnNz");
        assert!(value.is_sensitive());
        let value = basic_auth("http://user@127.0.0.1:9").unwrap();
        assert_eq!(value.to_str().unwrap(), "Basic dXNlcjo=");
        // The URIs sent never carry them.
        let template = UriTemplate::parse("https://u:p@h.example/v1/", &[]).unwrap();
        assert_eq!(
            template.with_tail("x").unwrap().to_string(),
            "https://h.example/v1/x"
        );
    }

    #[test]
    fn a_segment_stays_one_segment() {
        let mut out = String::new();
        push_segment(&mut out, "my deploy/x?y#z%");
        assert_eq!(out, "my%20deploy%2Fx%3Fy%23z%25");
        let mut out = String::new();
        push_segment(&mut out, "gpt-4o.mini_2");
        assert_eq!(out, "gpt-4o.mini_2");
    }
}
