//! One gateway in front of one mock provider spoken to in one wire format
//! (Anthropic, OpenAI-compatible or Gemini), serving `claude-x` at Anthropic's
//! prices: for the tests of clients that speak Anthropic's Messages API to the
//! gateway whatever the provider speaks (`messages_ingress.rs`,
//! `anthropic_sdk.rs`). Fault models (`FAULTS`) make the mock fail on purpose.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed setup must stop the test"
)]

use std::sync::atomic::Ordering;

use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use serde_json::Value;

use crate::common::analytics_toml;

pub const PROVIDER_KEY: &str = "sk-upstream-secret";

/// How the mock serving `claude-x` is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Anthropic,
    OpenAi,
    Gemini,
}

pub const UPSTREAMS: [Upstream; 3] = [Upstream::Anthropic, Upstream::OpenAi, Upstream::Gemini];

impl Upstream {
    pub fn flavor(self) -> &'static str {
        match self {
            Upstream::Anthropic => "anthropic",
            Upstream::OpenAi => "openai",
            Upstream::Gemini => "gemini",
        }
    }

    /// The provider's `base_url` for a mock.
    pub fn base_url(self, mock: &RunningMock) -> String {
        match self {
            Upstream::Gemini => format!("http://{}", mock.addr),
            Upstream::Anthropic | Upstream::OpenAi => mock.base_url(),
        }
    }
}

/// `claude-x` at one provider, with Anthropic's prices (cache reads and
/// writes priced apart); `plain-x` lacks the capabilities a rich request needs.
fn catalog(provider: &str) -> String {
    format!(
        r#"
source = "messages ingress test"
retrieved = "2026-01-01"

[[models]]
provider = "{provider}"
id = "claude-x"
context_window = 200000
max_output = 64000
capabilities = ["tools", "vision", "streaming", "json_schema"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "3"
output = "15"
cached_input = "0.3"
cache_write = "3.75"

[[models]]
provider = "{provider}"
id = "plain-x"
context_window = 200000
max_output = 8000
capabilities = ["streaming"]
tier = 2
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "2"
"#
    )
}

pub struct Setup {
    pub gateway: RunningGateway,
    pub mock: RunningMock,
    pub key: String,
    pub client: reqwest::Client,
}

pub async fn setup(upstream: Upstream) -> Setup {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    mock.state.require_api_key(Some(PROVIDER_KEY));
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-messages-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let provider = upstream.flavor();
    let catalog_path = dir.join("catalog.toml");
    std::fs::write(&catalog_path, catalog(provider)).unwrap();
    let key_file = dir.join("provider-key");
    std::fs::write(&key_file, PROVIDER_KEY).unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 5000

[catalog]
file = "{}"

[[providers]]
name = "{provider}"
flavor = "{provider}"
base_url = "{}"
api_key_file = "{}"

{faults}
[[keys]]
id = "claude-code"
hash = "{}"
tenant = "acme"
"#,
        catalog_path.display(),
        upstream.base_url(&mock),
        key_file.display(),
        KeyHash::of(&key),
        faults = faults(upstream),
    ) + &analytics_toml();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let gateway = server::start(&config).await.unwrap();
    Setup {
        gateway,
        mock,
        key,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    /// `POST /v1/messages` as the Anthropic SDKs send it: `x-api-key`.
    pub async fn messages(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/messages"))
            .header("x-api-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub fn upstream_requests(&self) -> u64 {
        self.mock.state.requests.load(Ordering::Relaxed)
    }

    pub fn last_upstream_body(&self) -> Value {
        self.mock.state.last_body_json().unwrap()
    }
}

/// Models that make the mock fail: (name, directives). `claude-overloaded` is
/// each provider's own "overloaded" (Anthropic's 529, the others' 503).
pub const FAULTS: &[(&str, &str)] = &[
    ("claude-rate-limited", "status=429"),
    ("claude-overloaded", "status=529"),
    ("claude-broken", "status=500"),
    ("claude-cut", "stream_error=2"),
];

fn faults(upstream: Upstream) -> String {
    let provider = upstream.flavor();
    FAULTS
        .iter()
        .map(|(name, directives)| {
            let directives = match (upstream, *directives) {
                (Upstream::Anthropic, d) => d,
                (_, "status=529") => "status=503",
                (_, d) => d,
            };
            format!(
                "\n[[models]]\nname = \"{name}\"\nprovider = \"{provider}\"\n\
                 upstream_model = \"claude-x+{directives}\"\nendpoint = \"chat\"\n"
            )
        })
        .collect()
}
