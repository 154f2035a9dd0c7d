//! The configuration file exactly as written: every field optional where a default
//! exists, unknown keys refused. Nothing here is validated; see `validate.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    #[serde(default)]
    pub models: Vec<RawModel>,
    #[serde(default)]
    pub keys: Vec<RawKey>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    pub shutdown_grace_ms: Option<u64>,
    pub log: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub name: String,
    /// `openai` (default) or `azure`.
    pub flavor: Option<String>,
    /// The catalog provider whose models this endpoint serves (default: `name`).
    pub catalog: Option<String>,
    pub base_url: String,
    /// Name of the environment variable that holds the provider's API key.
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub connect_timeout_ms: Option<u64>,
    pub first_byte_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub total_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub name: String,
    pub provider: String,
    pub upstream_model: Option<String>,
    /// `chat` (default) or `embeddings`.
    pub endpoint: Option<String>,
    /// Catalog entry (`provider/id`) whose prices and limits apply.
    pub price_as: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub id: String,
    /// `sha256:<64 hex digits>`, as printed by `gateway keys create`.
    pub hash: String,
    pub tenant: String,
    pub team: Option<String>,
    /// Models this key may use; absent or `["*"]` means all.
    pub models: Option<Vec<String>>,
    /// Requests per minute; absent or 0 means unlimited.
    pub rpm: Option<u32>,
}
