//! Gateway configuration: one TOML file, overridable from the environment, turned
//! into typed values once at start. Reading (`raw`), overriding (`env`) and checking
//! (`validate`) are separate steps so each error can name the key at fault.

mod env;
mod raw;
mod validate;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use crate::keys::KeyHash;
use crate::secret::Secret;

/// A configuration that passed validation: no `Option`s left where a default exists.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub providers: Vec<ProviderConfig>,
    pub models: Vec<ModelConfig>,
    pub keys: Vec<KeyConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    /// Upper bound on a whole request, streams included.
    pub request_timeout: Duration,
    /// How long open requests and streams may run on after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// `tracing` filter directive, e.g. `info` or `gateway=debug`.
    pub log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `POST {base_url}/chat/completions` with `Authorization: Bearer`.
    OpenAi,
    /// `POST {base_url}/openai/deployments/{model}/chat/completions` with `api-key`.
    Azure,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    /// The catalog provider whose models this endpoint serves.
    pub catalog: String,
    pub flavor: Flavor,
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: ProviderKey,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub query: Vec<(String, String)>,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone)]
pub enum ProviderKey {
    /// Local servers (vLLM, Ollama) that take no key.
    None,
    Present(Secret),
    /// The named variable was not set at start; requests to this provider fail
    /// with a 503 that names it, instead of the whole gateway refusing to run.
    Missing {
        env: String,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub idle: Duration,
    pub total: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
}

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub name: String,
    /// Index into [`Config::providers`].
    pub provider: usize,
    pub upstream_model: String,
    pub endpoint: Endpoint,
    /// Catalog entry (`provider/id`) whose prices and limits apply.
    pub price_as: Option<String>,
}

#[derive(Debug, Clone)]
pub struct KeyConfig {
    pub id: String,
    pub hash: KeyHash,
    pub tenant: String,
    pub team: Option<String>,
    pub models: ModelAccess,
    /// Requests per minute, `None` for unlimited.
    pub rpm: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelAccess {
    All,
    Only(Vec<String>),
}

impl ModelAccess {
    pub fn allows(&self, model: &str) -> bool {
        match self {
            ModelAccess::All => true,
            ModelAccess::Only(names) => names.iter().any(|name| name == model),
        }
    }
}

/// A configuration that could not be loaded; `Display` names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file is not valid TOML: {0}")]
    Syntax(String),
    #[error("environment override {0}")]
    Env(String),
    #[error("config key `{path}`: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// Reads `path`, applies `GATEWAY__*` overrides from the process environment and
    /// validates the result. Provider API keys are read from the environment here.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text, std::env::vars(), |name| std::env::var(name).ok())
    }

    /// The pure core of [`Config::load`]: `vars` are the override candidates and
    /// `lookup` resolves provider key variables.
    pub fn from_toml<I>(
        text: &str,
        vars: I,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.message().to_owned()))?;
        let mut doc = toml::Value::Table(table);
        env::apply(&mut doc, vars).map_err(ConfigError::Env)?;
        let raw: raw::RawConfig =
            serde_path_to_error::deserialize(doc).map_err(|e| ConfigError::Invalid {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        validate::validate(raw, &lookup)
    }
}
