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
    #[serde(default)]
    pub tenants: Vec<RawTenant>,
    #[serde(default)]
    pub teams: Vec<RawTeam>,
    #[serde(default)]
    pub routing: RawRouting,
    #[serde(default)]
    pub catalog: RawCatalog,
    #[serde(default)]
    pub analytics: RawAnalytics,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub reports: RawReports,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub shares: super::shares::RawShares,
}

/// How limits and budgets are shared and when budget periods begin
/// (`crate::limits`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Replicas sharing the limits: with Redis down each allows limit / N.
    pub replicas: Option<u32>,
    /// `UTC` (default) or a fixed offset such as `+05:30`.
    pub time_zone: Option<String>,
    /// Prefix of the limits' Redis keys (default `gw:lim`).
    pub redis_prefix: Option<String>,
    /// Longest wait for Redis on admission (default 500).
    pub redis_timeout_ms: Option<u64>,
}

/// Where usage events and counters go, and how they are batched and kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalytics {
    /// Postgres URL the gateway serves with (events, rollups); `DATABASE_URL`
    /// when absent; neither: the embedded SQLite store.
    pub database_url: Option<String>,
    /// Postgres URL of the tables' owner, for migrations; `DATABASE_OWNER_URL`
    /// when absent; neither: `database_url` migrates (a single-URL setup).
    pub owner_database_url: Option<String>,
    /// Postgres URL tenant reads log in with (a member of `gateway_reader`
    /// only); `DATABASE_READER_URL` when absent.
    pub reader_database_url: Option<String>,
    pub sqlite_path: Option<String>,
    /// Redis URL; `REDIS_URL` when absent; neither: in-process counters.
    pub redis_url: Option<String>,
    pub batch_size: Option<usize>,
    pub flush_interval_ms: Option<u64>,
    pub queue_capacity: Option<usize>,
    pub memory_backlog: Option<usize>,
    pub spill_path: Option<String>,
    /// Events the store refuses; default: the spill path with `.dead-letter`.
    pub dead_letter_path: Option<String>,
    pub write_timeout_ms: Option<u64>,
    pub raw_retention_days: Option<u32>,
    pub aggregate_retention_days: Option<u32>,
    pub partitions_ahead_days: Option<u32>,
    pub rollup_interval_ms: Option<u64>,
    /// Name of the environment variable holding the secret `user` tags are keyed with.
    pub user_tag_secret_env: Option<String>,
    /// Where the generated `user` tag secret is kept when no variable is named.
    pub user_tag_secret_file: Option<String>,
}

/// Routing defaults for every key, and failover limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    #[serde(flatten)]
    pub policy: RawPolicy,
    /// The model whose list price is the baseline for virtual names (`auto`).
    pub baseline_model: Option<String>,
    pub max_attempts: Option<u32>,
    pub retry_budget_percent: Option<u32>,
    pub retry_budget_reserve: Option<u32>,
    pub circuit_failures: Option<u32>,
    pub circuit_open_ms: Option<u64>,
    pub token_count_threads: Option<u32>,
    pub token_count_queue: Option<u32>,
    pub token_count_nice: Option<u8>,
    pub token_count_max_bytes: Option<u64>,
    pub token_count_timeout_ms: Option<u64>,
}

/// Routing policy settings; each one absent inherits from the level above
/// (key, then tenant, then `[routing]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// `strict`, `equivalent` or `shadow`.
    pub policy: Option<String>,
    pub allow_providers: Option<Vec<String>>,
    pub deny_providers: Option<Vec<String>>,
    /// Models that may be requested and routed to; `["*"]` means all.
    pub models: Option<Vec<String>>,
    pub deny_models: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub id: String,
    #[serde(flatten)]
    pub policy: RawPolicy,
    #[serde(flatten)]
    pub allowance: RawAllowance,
}

/// A team of a tenant: its keys name it in `team`; its limits and budget bind
/// all of them together.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    pub tenant: String,
    pub id: String,
    #[serde(flatten)]
    pub allowance: RawAllowance,
}

/// Limits and budgets of a key, team or tenant; absent (or 0 for the rates)
/// means unlimited.
#[derive(Debug, Default, Deserialize)]
pub struct RawAllowance {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens (prompt and completion) per minute.
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    pub max_concurrent: Option<u32>,
    /// USD per calendar day, as exact decimal text (`"25.00"`) or a whole number.
    pub budget_daily_usd: Option<RawAmount>,
    /// USD per calendar month.
    pub budget_monthly_usd: Option<RawAmount>,
}

/// Price catalog files layered over the embedded catalog.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    /// A catalog TOML file (the format of `pricing/catalog/default.toml`).
    pub file: Option<String>,
    /// A LiteLLM `model_prices_and_context_window.json`.
    pub litellm_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    pub shutdown_grace_ms: Option<u64>,
    pub log: Option<String>,
    /// Open client connections; beyond it idle ones are closed to make room, or
    /// the newcomer is answered 503.
    pub max_connections: Option<u64>,
    /// Requests being served at once; beyond it 503 with `Retry-After`.
    pub max_concurrent_requests: Option<u64>,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout_ms: Option<u64>,
    pub http2_keep_alive_interval_ms: Option<u64>,
    pub http2_keep_alive_timeout_ms: Option<u64>,
    /// Largest non-streaming upstream answer read into memory.
    pub max_upstream_response_bytes: Option<u64>,
    /// Largest single SSE event of an upstream stream.
    pub max_upstream_event_bytes: Option<u64>,
    /// Threads of the async runtime that serves requests.
    pub worker_threads: Option<u64>,
    /// Serve `/metrics` on this address only (not on `listen`).
    pub metrics_listen: Option<String>,
    /// Name of the environment variable holding the bearer token `/metrics` requires.
    pub metrics_token_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub name: String,
    /// `openai` (default), `azure`, `anthropic` or `gemini`.
    pub flavor: Option<String>,
    /// The catalog provider whose models this endpoint serves (default: `name`).
    pub catalog: Option<String>,
    /// Required, except for `gemini` (default: Google's public endpoint).
    pub base_url: Option<String>,
    /// Name of the environment variable that holds the provider's API key.
    pub api_key_env: Option<String>,
    /// A file that holds the provider's API key (re-read on reload).
    pub api_key_file: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub connect_timeout_ms: Option<u64>,
    pub first_byte_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub total_timeout_ms: Option<u64>,
    /// Allow a plain `http://` base URL that is not a loopback address.
    pub allow_insecure_http: Option<bool>,
    /// The provider serves OpenAI's Responses API (`{base_url}/responses`):
    /// `/v1/responses` requests pass through to it untranslated.
    pub responses_api: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub name: String,
    pub provider: String,
    pub upstream_model: Option<String>,
    /// `chat` (default), `embeddings` or `completions` (legacy text completions).
    pub endpoint: Option<String>,
    /// Catalog entry (`provider/id`) whose prices and limits apply.
    pub price_as: Option<String>,
    /// Explicit prices (they replace `price_as`'s prices, not its limits).
    pub price: Option<RawModelPrice>,
    /// Catalog entry (`provider/id`) whose list price is this model's baseline
    /// when it is requested by name (by default its own price: no saving).
    pub baseline: Option<String>,
}

/// USD per million tokens, as exact decimal text (`"0.15"`) or a whole number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelPrice {
    pub input: RawAmount,
    /// Required for chat models; embeddings bill input only.
    pub output: Option<RawAmount>,
    pub cached_input: Option<RawAmount>,
}

/// A price as written: text or an integer are exact; a float is refused in
/// validation (it could not be exact).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawAmount {
    Text(String),
    Integer(i64),
    Float(f64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub id: String,
    /// `sha256:<64 hex digits>`, as printed by `gateway keys create`.
    pub hash: String,
    pub tenant: String,
    pub team: Option<String>,
    /// `api` (default): the OpenAI API and its own team's analytics;
    /// `dashboard`: read-only analytics of its tenant; `admin`: the analytics of
    /// any tenant, not the OpenAI API.
    pub role: Option<String>,
    /// Which analytics of its tenant the key reads: `tenant`, `team` or `key`
    /// (default: `tenant` for dashboard and admin keys; for API keys `team`,
    /// or `key` when it has no team).
    pub analytics: Option<String>,
    #[serde(flatten)]
    pub policy: RawPolicy,
    #[serde(flatten)]
    pub allowance: RawAllowance,
}

/// `[reports]` (validated in `reports.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReports {
    /// How often schedules and pending deliveries are checked.
    pub interval_ms: Option<u64>,
    #[serde(default)]
    pub schedules: Vec<RawSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub tenant: String,
    /// `weekly` or `monthly`.
    pub period: String,
    /// weekly: the day it goes out (`mon` .. `sun`, default `mon`).
    pub weekday: Option<String>,
    /// monthly: the day of the month it goes out (1 to 28, default 1).
    pub day: Option<u32>,
    /// Local time, `HH:MM` (default `08:00`).
    pub at: Option<String>,
    /// IANA name or `UTC` (default `UTC`).
    pub time_zone: Option<String>,
    /// Names of `[[alerts.channels]]`.
    pub channels: Vec<String>,
}

/// `[alerts]` (validated in `alerts.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// How often the rules are evaluated.
    pub interval_ms: Option<u64>,
    /// Attempts per notice and channel (the first included).
    pub max_attempts: Option<u32>,
    /// Wait before the second attempt; doubled for each next one.
    pub backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    /// Longest one attempt may take.
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub name: String,
    /// `webhook`, `slack` or `email`.
    pub kind: String,
    /// Webhook or Slack URL (a Slack URL is a secret: prefer `url_env`).
    pub url: Option<String>,
    /// Variable holding the URL.
    pub url_env: Option<String>,
    /// Webhook: variable holding the HMAC-SHA256 signing secret.
    pub secret_env: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub username: Option<String>,
    /// Variable holding the SMTP password.
    pub password_env: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    /// `budget`, `spend_spike`, `provider_circuit` or `event_drops`.
    pub kind: String,
    /// Channel names.
    pub channels: Vec<String>,
    /// Only these tenants (budget, spend_spike); default: all.
    pub tenants: Option<Vec<String>>,
    /// budget: percentages of a budget (default 50, 80, 100).
    pub thresholds: Option<Vec<u32>>,
    /// budget: `daily`, `monthly` (default both).
    pub periods: Option<Vec<String>>,
    /// spend_spike: today's spend must exceed this many times the average.
    pub factor: Option<RawAmount>,
    /// spend_spike: weeks of the same weekday averaged.
    pub weeks: Option<u32>,
    /// spend_spike: below this spend today nothing fires (USD).
    pub min_usd: Option<RawAmount>,
    /// provider_circuit: how long a circuit must stay open.
    pub open_for_ms: Option<u64>,
    /// provider_circuit: only these providers; default: all.
    pub providers: Option<Vec<String>>,
}
