//! Gateway configuration: one TOML file, overridable from the environment, turned
//! into typed values once at start. Reading (`raw`), overriding (`env`) and checking
//! (`validate`) are separate steps so each error can name the key at fault.

pub mod alerts;
mod env;
pub mod policy;
mod raw;
pub mod reports;
pub mod shares;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pricing::{Catalog, Price};

use reqwest::header::{HeaderName, HeaderValue};

use crate::allowance::Allowance;
use crate::key_hash::KeyHash;
use crate::secret::Secret;

pub use policy::{Mode, Policy};

/// A configuration that passed validation: no `Option`s left where a default exists.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub providers: Vec<ProviderConfig>,
    pub models: Vec<ModelConfig>,
    pub keys: Vec<KeyConfig>,
    pub tenants: Vec<TenantConfig>,
    pub teams: Vec<TeamConfig>,
    pub routing: RoutingConfig,
    /// The embedded catalog with the configured files layered over it.
    pub catalog: Arc<Catalog>,
    pub catalog_files: CatalogFiles,
    pub analytics: AnalyticsConfig,
    /// `[alerts]`: channels, rules, evaluation interval.
    pub alerts: alerts::AlertsConfig,
    /// `[reports]`: scheduled reports (channels from `alerts`).
    pub reports: reports::ReportsConfig,
    /// `[limits]`: how limits and budgets are shared across replicas.
    pub limits: crate::limits::Settings,
    /// `[shares]`: read-only share links' rate limits and framing.
    pub shares: shares::SharesConfig,
}

#[derive(Debug, Clone)]
pub enum EventStoreConfig {
    Postgres(PostgresLogins),
    Sqlite { path: PathBuf },
}

/// The Postgres URLs, one per job (README, "Postgres roles").
#[derive(Debug, Clone)]
pub struct PostgresLogins {
    /// The serving login: event writes, rollups, partitions.
    pub url: Secret,
    /// The tables' owner: migrations. `None`: `url` migrates when it is the
    /// only URL, otherwise the gateway only checks the schema.
    pub owner_url: Option<Secret>,
    /// Tenant reads. `None`: the serving login reads, switched to
    /// `gateway_reader` (not least privilege).
    pub reader_url: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct AnalyticsConfig {
    pub store: EventStoreConfig,
    /// `None`: in-process counters.
    pub redis_url: Option<Secret>,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub queue_capacity: usize,
    pub memory_backlog: usize,
    pub spill_path: PathBuf,
    /// Where events the store refuses are kept (never removed by the gateway).
    pub dead_letter_path: PathBuf,
    /// Longest one event-batch write may take (Postgres: the writer's
    /// `statement_timeout`); beyond it the store counts as unavailable.
    pub write_timeout: Duration,
    pub raw_retention_days: u32,
    pub aggregate_retention_days: u32,
    pub partitions_ahead_days: u32,
    pub rollup_interval: Duration,
    /// What the `user` field's tags are keyed with.
    pub user_tag_secret: UserTagSecret,
}

/// Where the secret that keys `user` tags (HMAC-SHA256) comes from.
#[derive(Debug, Clone)]
pub enum UserTagSecret {
    /// The value of the variable `analytics.user_tag_secret_env` names.
    Env { name: String, value: Secret },
    /// A file holding it, created with a random secret if it does not exist.
    /// `configured`: named by `analytics.user_tag_secret_file`, rather than the
    /// default next to the embedded store (or the spill file, with Postgres).
    File { path: PathBuf, configured: bool },
}

#[derive(Debug, Clone, Default)]
pub struct CatalogFiles {
    pub file: Option<PathBuf>,
    pub litellm_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RoutingConfig {
    pub policy: PolicySettings,
    pub baseline_model: Option<String>,
    pub max_attempts: usize,
    pub retry_budget_percent: u32,
    pub retry_budget_reserve: u32,
    pub circuit_failures: u32,
    pub circuit_open: Duration,
    pub token_count: TokenCountConfig,
}

/// Exact token counting near a context limit (see `routing::counting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCountConfig {
    /// Counting threads; read at start only.
    pub threads: usize,
    /// Counts that may wait for a thread; read at start only.
    pub queue: usize,
    /// How much nicer than the gateway's other threads they run (0-19); read at
    /// start only.
    pub nice: u8,
    /// Prompts with more text bytes are not counted (they keep the byte bound).
    pub max_bytes: u64,
    /// Longest wait for a count, queueing included.
    pub timeout: Duration,
}

/// Policy settings at one level; `None` inherits from the level above.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySettings {
    pub mode: Option<Mode>,
    pub allow_providers: Option<Vec<String>>,
    pub deny_providers: Option<Vec<String>>,
    pub allow_models: Option<Vec<String>>,
    pub deny_models: Option<Vec<String>>,
}

impl PolicySettings {
    /// `self` over `base`.
    pub fn over(&self, base: &Policy) -> Policy {
        Policy {
            mode: self.mode.unwrap_or(base.mode),
            allow_providers: self
                .allow_providers
                .clone()
                .or_else(|| base.allow_providers.clone()),
            deny_providers: self
                .deny_providers
                .clone()
                .unwrap_or_else(|| base.deny_providers.clone()),
            allow_models: match &self.allow_models {
                Some(models) if models.iter().any(|m| m == "*") => None,
                Some(models) => Some(models.clone()),
                None => base.allow_models.clone(),
            },
            deny_models: self
                .deny_models
                .clone()
                .unwrap_or_else(|| base.deny_models.clone()),
        }
    }
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The OpenAI-compatible API, and its own team's (or own) analytics.
    Api,
    /// Read-only: its own tenant's analytics and the ROI calculator.
    Dashboard,
    /// The analytics of any tenant (`?tenant=`) and the admin API for every
    /// tenant; not the OpenAI API.
    Admin,
    /// A tenant's owner: the admin API for its own tenant (keys, teams,
    /// budgets) and its tenant's analytics; not the OpenAI API.
    Owner,
}

impl KeyRole {
    /// The role's name in config files, the store and the admin API.
    pub fn name(self) -> &'static str {
        match self {
            KeyRole::Api => "api",
            KeyRole::Dashboard => "dashboard",
            KeyRole::Admin => "admin",
            KeyRole::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Option<KeyRole> {
        [
            KeyRole::Api,
            KeyRole::Dashboard,
            KeyRole::Admin,
            KeyRole::Owner,
        ]
        .into_iter()
        .find(|role| role.name() == name)
    }
}

/// Which of its tenant's analytics a key reads (`analytics` in `[[keys]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticsScope {
    /// Every team and key of the tenant: dashboard and admin keys, and API
    /// keys granted `analytics = "tenant"`.
    Tenant,
    /// Its own team's requests: an API key with a team, by default.
    Team,
    /// Its own requests: an API key without a team, by default.
    Key,
}

#[derive(Debug, Clone)]
pub struct TenantConfig {
    pub id: String,
    pub policy: PolicySettings,
    pub allowance: Allowance,
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
    pub limits: ConnectionLimits,
    pub upstream_limits: UpstreamLimits,
    pub metrics: MetricsAccess,
    /// Threads of the runtime `gateway serve` builds; `None`: one per CPU the
    /// process may use (tokio's default, which also reads `TOKIO_WORKER_THREADS`).
    /// Fixed at start.
    pub worker_threads: Option<usize>,
}

/// How many clients may connect and be served at once, and how long an idle
/// connection may stay. Fixed at start (a reload does not change them).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_concurrent_requests: usize,
    /// Longest time a connection may stay open with no request in progress
    /// (and, on HTTP/1, the longest wait for a request's headers).
    pub idle_timeout: Duration,
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
}

/// Bounds on what the gateway reads from a provider into memory.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamLimits {
    /// A whole non-streaming answer.
    pub max_response_bytes: usize,
    /// One SSE event of a stream.
    pub max_event_bytes: usize,
}

/// Where `/metrics` is served and what it asks of a scraper.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// `None`: on the main listener.
    pub listen: Option<SocketAddr>,
    /// `None`: no token needed.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `POST {base_url}/chat/completions` with `Authorization: Bearer`.
    OpenAi,
    /// `POST {base_url}/openai/deployments/{model}/chat/completions` with `api-key`.
    Azure,
    /// Anthropic's Messages API: `POST {base_url}/messages` with `x-api-key`.
    Anthropic,
    /// Google's Gemini API: `POST {base_url}/v1beta/models/{model}:generateContent`
    /// (or `:streamGenerateContent?alt=sse`) with `x-goog-api-key`.
    Gemini,
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
    /// `responses_api = true`: the provider serves OpenAI's Responses API at
    /// `{base_url}/responses`, so `/v1/responses` requests routed to it pass
    /// through untouched (stored state included) instead of being translated
    /// to chat completions. Only for the `openai` flavor.
    pub responses_api: bool,
}

#[derive(Debug, Clone)]
pub enum ProviderKey {
    /// Local servers (vLLM, Ollama) that take no key.
    None,
    Present(Secret),
    /// `api_key_file`, not read yet: [`Config::load`] reads it (at start and on
    /// every reload); [`Config::from_toml`] does no file IO and leaves it here.
    FromFile(PathBuf),
    /// No key could be had; requests to this provider fail with a 503 that says
    /// why, instead of the whole gateway refusing to run.
    Missing(MissingKey),
}

/// Why a provider has no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingKey {
    /// `api_key_env` names a variable that was not set (or empty) when the
    /// gateway started. The environment of a running process does not change:
    /// only a restart can bring it.
    Env { name: String },
    /// `api_key_file` could not be read or is empty; a reload reads it again.
    File { path: PathBuf, problem: String },
}

impl MissingKey {
    /// Why the provider is unavailable, as said in its 503 and the logs.
    pub fn reason(&self) -> String {
        match self {
            MissingKey::Env { name } => format!("its API key variable {name} is not set"),
            MissingKey::File { path, problem } => {
                format!("its API key file {} {problem}", path.display())
            }
        }
    }
}

impl ProviderKey {
    /// Why this key cannot be used, if it cannot.
    pub fn unavailable(&self) -> Option<String> {
        match self {
            ProviderKey::None | ProviderKey::Present(_) => None,
            ProviderKey::FromFile(path) => {
                Some(format!("its API key file {} was not read", path.display()))
            }
            ProviderKey::Missing(missing) => Some(missing.reason()),
        }
    }

    /// The key in `path`: its content without surrounding whitespace.
    pub fn read_file(path: &Path) -> ProviderKey {
        let missing = |problem: String| {
            ProviderKey::Missing(MissingKey::File {
                path: path.to_owned(),
                problem,
            })
        };
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => missing("is empty".to_owned()),
            Ok(text) => ProviderKey::Present(Secret::new(text.trim().to_owned())),
            Err(error) => missing(format!("cannot be read: {error}")),
        }
    }
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
    /// OpenAI's legacy text completions (`POST /v1/completions`), served only
    /// by models configured with `endpoint = "completions"`.
    Completions,
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
    /// Explicit prices; they take precedence over `price_as`'s.
    pub price: Option<ModelPrice>,
    /// Catalog entry (`provider/id`) whose list price is the baseline of requests
    /// served by this model as asked; `None`: its own price (no saving claimed).
    pub baseline: Option<String>,
}

/// A model's explicit prices, per million tokens (zero allowed: self-hosted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    pub input: Price,
    pub output: Price,
    pub cached_input: Option<Price>,
}

#[derive(Debug, Clone)]
pub struct KeyConfig {
    pub id: String,
    pub hash: KeyHash,
    pub tenant: String,
    pub team: Option<String>,
    pub role: KeyRole,
    pub analytics: AnalyticsScope,
    pub policy: PolicySettings,
    pub allowance: Allowance,
}

/// A team's limits and budget (`[[teams]]`), shared by its keys.
#[derive(Debug, Clone)]
pub struct TeamConfig {
    pub tenant: String,
    pub id: String,
    pub allowance: Allowance,
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
    #[error("config key `{path}`: {source}")]
    Catalog {
        path: &'static str,
        source: pricing::catalog::CatalogError,
    },
}

impl Config {
    /// Reads `path`, applies `GATEWAY__*` overrides from the process environment and
    /// validates the result. Provider API keys are read here: from the environment
    /// (`api_key_env`) or from their files (`api_key_file`, relative to the config
    /// file's directory), so a reload re-reads the files.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config =
            Config::from_toml(&text, std::env::vars(), |name| std::env::var(name).ok())?;
        // Relative catalog paths are relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        let read = |file: &PathBuf| {
            std::fs::read_to_string(base.join(file)).map_err(|source| ConfigError::Read {
                path: base.join(file).display().to_string(),
                source,
            })
        };
        let mut catalog = (*config.catalog).clone();
        if let Some(file) = &config.catalog_files.litellm_file {
            let import = pricing::catalog::litellm::import(&read(file)?, crate::clock::today())
                .map_err(|e| ConfigError::Invalid {
                    path: "catalog.litellm_file".to_owned(),
                    message: e.to_string(),
                })?;
            catalog = catalog.extended_with(import.catalog);
        }
        if let Some(file) = &config.catalog_files.file {
            let overlay =
                pricing::catalog::parse(&read(file)?).map_err(|source| ConfigError::Catalog {
                    path: "catalog.file",
                    source,
                })?;
            catalog = catalog.extended_with(overlay);
        }
        config.catalog = Arc::new(catalog);
        for provider in &mut config.providers {
            if let ProviderKey::FromFile(file) = &provider.api_key {
                provider.api_key = ProviderKey::read_file(&base.join(file));
            }
        }
        Ok(config)
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
