//! Turns a [`RawConfig`] into a [`Config`], refusing anything that would fail later
//! at request time. Each error names the key at fault, e.g. `models[2].provider`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use pricing::{Cost, Price};

use super::raw::{
    RawAllowance, RawAmount, RawAnalytics, RawConfig, RawKey, RawLimits, RawModel, RawModelPrice,
    RawPolicy, RawProvider, RawRouting, RawServer,
};
use super::{
    AnalyticsConfig, AnalyticsScope, CatalogFiles, Config, ConfigError, ConnectionLimits, Endpoint,
    EventStoreConfig, Flavor, KeyConfig, KeyRole, MetricsAccess, MissingKey, ModelConfig,
    ModelPrice, PolicySettings, PostgresLogins, ProviderConfig, ProviderKey, RoutingConfig,
    ServerConfig, TeamConfig, TenantConfig, Timeouts, TokenCountConfig, UpstreamLimits,
    UserTagSecret,
};
use crate::allowance::Allowance;
use crate::config::Mode;
use crate::key_hash::KeyHash;
use crate::secret::Secret;

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;
/// More runtime threads than this is a typo, not a machine.
const MAX_WORKER_THREADS: u64 = 1024;
const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10 * 60 * 1000;
const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 30 * 1000;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 120_000;
const DEFAULT_IDLE_TIMEOUT_MS: u64 = 120_000;
const DEFAULT_TOTAL_TIMEOUT_MS: u64 = 10 * 60 * 1000;
const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;
const DEFAULT_MAX_CONCURRENT_REQUESTS: u64 = 1_024;
/// Google's Gemini API, the default `base_url` of a `gemini` provider.
const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// Above common load balancers' 60 s, so the balancer, not the gateway, closes
/// a pooled connection first.
const DEFAULT_CLIENT_IDLE_TIMEOUT_MS: u64 = 75_000;
const DEFAULT_H2_KEEP_ALIVE_INTERVAL_MS: u64 = 20_000;
const DEFAULT_H2_KEEP_ALIVE_TIMEOUT_MS: u64 = 20_000;
/// Room for OpenAI's largest embeddings answer (2,048 inputs of 3,072 floats as
/// JSON, about 126 MB).
const DEFAULT_MAX_UPSTREAM_RESPONSE_BYTES: u64 = 128 * 1024 * 1024;
/// Far above any chat chunk; room for an image or audio part in one event.
const DEFAULT_MAX_UPSTREAM_EVENT_BYTES: u64 = 16 * 1024 * 1024;

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

pub fn validate(
    raw: RawConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let server = validate_server(raw.server, lookup)?;

    let mut providers = Vec::with_capacity(raw.providers.len());
    for (i, provider) in raw.providers.into_iter().enumerate() {
        let path = format!("providers[{i}]");
        if providers
            .iter()
            .any(|p: &ProviderConfig| p.name == provider.name)
        {
            return Err(invalid(
                format!("{path}.name"),
                format!("duplicate provider `{}`", provider.name),
            ));
        }
        providers.push(validate_provider(&path, provider, lookup)?);
    }

    let mut models: Vec<ModelConfig> = Vec::with_capacity(raw.models.len());
    for (i, model) in raw.models.into_iter().enumerate() {
        let path = format!("models[{i}]");
        if models.iter().any(|m| m.name == model.name) {
            return Err(invalid(
                format!("{path}.name"),
                format!("duplicate model `{}`", model.name),
            ));
        }
        models.push(validate_model(&path, model, &providers)?);
    }

    let mut tenants: Vec<TenantConfig> = Vec::with_capacity(raw.tenants.len());
    for (i, tenant) in raw.tenants.into_iter().enumerate() {
        let path = format!("tenants[{i}]");
        if tenant.id.is_empty() || tenants.iter().any(|t| t.id == tenant.id) {
            return Err(invalid(
                format!("{path}.id"),
                format!("tenant id `{}` is empty or repeated", tenant.id),
            ));
        }
        tenants.push(TenantConfig {
            policy: validate_policy(&path, tenant.policy, &providers)?,
            allowance: validate_allowance(&path, tenant.allowance)?,
            id: tenant.id,
        });
    }

    let mut teams: Vec<TeamConfig> = Vec::with_capacity(raw.teams.len());
    for (i, team) in raw.teams.into_iter().enumerate() {
        let path = format!("teams[{i}]");
        if team.tenant.is_empty() {
            return Err(invalid(format!("{path}.tenant"), "must not be empty"));
        }
        if team.id.is_empty()
            || teams
                .iter()
                .any(|t| t.tenant == team.tenant && t.id == team.id)
        {
            return Err(invalid(
                format!("{path}.id"),
                format!(
                    "team id `{}` is empty or repeated in tenant `{}`",
                    team.id, team.tenant
                ),
            ));
        }
        teams.push(TeamConfig {
            allowance: validate_allowance(&path, team.allowance)?,
            tenant: team.tenant,
            id: team.id,
        });
    }

    let mut keys: Vec<KeyConfig> = Vec::with_capacity(raw.keys.len());
    let mut seen_hashes = HashSet::new();
    for (i, key) in raw.keys.into_iter().enumerate() {
        let path = format!("keys[{i}]");
        let key = validate_key(&path, key, &providers)?;
        if keys.iter().any(|k| k.id == key.id) {
            return Err(invalid(
                format!("{path}.id"),
                format!("duplicate key id `{}`", key.id),
            ));
        }
        if !seen_hashes.insert(key.hash) {
            return Err(invalid(
                format!("{path}.hash"),
                "the same key hash appears twice",
            ));
        }
        keys.push(key);
    }

    let routing = validate_routing(raw.routing, &providers)?;
    let analytics = validate_analytics(raw.analytics, lookup)?;
    let alerts = super::alerts::validate_alerts(raw.alerts, lookup)?;
    let reports = super::reports::validate_reports(raw.reports, &alerts.channels)?;
    let limits = validate_limits(raw.limits)?;
    let shares = super::shares::validate_shares(raw.shares)?;
    let catalog = pricing::Catalog::embedded().map_err(|source| ConfigError::Catalog {
        path: "(embedded catalog)",
        source,
    })?;
    Ok(Config {
        server,
        providers,
        models,
        keys,
        tenants,
        teams,
        routing,
        catalog: std::sync::Arc::new(catalog),
        analytics,
        alerts,
        reports,
        limits,
        shares,
        catalog_files: CatalogFiles {
            file: raw.catalog.file.map(Into::into),
            litellm_file: raw.catalog.litellm_file.map(Into::into),
        },
    })
}

fn validate_policy(
    path: &str,
    raw: RawPolicy,
    providers: &[ProviderConfig],
) -> Result<PolicySettings, ConfigError> {
    let mode = raw
        .policy
        .map(|text| {
            Mode::parse(&text).ok_or_else(|| {
                invalid(
                    format!("{path}.policy"),
                    format!("unknown policy `{text}` (strict, equivalent or shadow)"),
                )
            })
        })
        .transpose()?;
    for (field, list) in [
        ("allow_providers", &raw.allow_providers),
        ("deny_providers", &raw.deny_providers),
    ] {
        for (j, name) in list.iter().flatten().enumerate() {
            if !providers.iter().any(|p| &p.name == name) {
                return Err(invalid(
                    format!("{path}.{field}[{j}]"),
                    format!("unknown provider `{name}`"),
                ));
            }
        }
    }
    Ok(PolicySettings {
        mode,
        allow_providers: raw.allow_providers,
        deny_providers: raw.deny_providers,
        allow_models: raw.models,
        deny_models: raw.deny_models,
    })
}

fn validate_analytics(
    raw: RawAnalytics,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<AnalyticsConfig, ConfigError> {
    let postgres_url = |path: &str, value: Option<String>, env: &str| match value
        .or_else(|| lookup(env))
        .filter(|u| !u.is_empty())
    {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Some(Secret::new(url)))
        }
        Some(_) => Err(invalid(
            path,
            "expected a postgres:// URL (leave it unset for the embedded SQLite store)",
        )),
        None => Ok(None),
    };
    let database_url = postgres_url("analytics.database_url", raw.database_url, "DATABASE_URL")?;
    let owner_url = postgres_url(
        "analytics.owner_database_url",
        raw.owner_database_url,
        "DATABASE_OWNER_URL",
    )?;
    let reader_url = postgres_url(
        "analytics.reader_database_url",
        raw.reader_database_url,
        "DATABASE_READER_URL",
    )?;
    let store = match database_url {
        Some(url) => EventStoreConfig::Postgres(PostgresLogins {
            url,
            owner_url,
            reader_url,
        }),
        None => {
            if owner_url.is_some() || reader_url.is_some() {
                let path = if owner_url.is_some() {
                    "analytics.owner_database_url"
                } else {
                    "analytics.reader_database_url"
                };
                return Err(invalid(
                    path,
                    "needs analytics.database_url (or DATABASE_URL): the serving login",
                ));
            }
            EventStoreConfig::Sqlite {
                path: raw
                    .sqlite_path
                    .unwrap_or_else(|| "gateway-analytics.sqlite".to_owned())
                    .into(),
            }
        }
    };
    let redis_url = raw
        .redis_url
        .or_else(|| lookup("REDIS_URL"))
        .filter(|u| !u.is_empty());
    if let Some(url) = &redis_url {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(invalid("analytics.redis_url", "expected a redis:// URL"));
        }
    }
    let positive = |path: &str, value: Option<usize>, default: usize| match value.unwrap_or(default)
    {
        0 => Err(invalid(path, "must be greater than 0")),
        n => Ok(n),
    };
    let days = |path: &str, value: Option<u32>, default: u32| match value.unwrap_or(default) {
        0 => Err(invalid(path, "must be at least 1 day")),
        n => Ok(n),
    };
    let raw_retention_days = days("analytics.raw_retention_days", raw.raw_retention_days, 90)?;
    let aggregate_retention_days = days(
        "analytics.aggregate_retention_days",
        raw.aggregate_retention_days,
        730,
    )?;
    if aggregate_retention_days < raw_retention_days {
        return Err(invalid(
            "analytics.aggregate_retention_days",
            "must not be shorter than raw_retention_days",
        ));
    }
    let spill_path = PathBuf::from(
        raw.spill_path
            .unwrap_or_else(|| "gateway-events.spill".to_owned()),
    );
    let dead_letter_path = raw
        .dead_letter_path
        .map_or_else(|| spill_path.with_extension("dead-letter"), PathBuf::from);
    let user_tag_secret = user_tag_secret(
        raw.user_tag_secret_env.as_deref(),
        raw.user_tag_secret_file.as_deref(),
        &store,
        &spill_path,
        lookup,
    )?;
    if dead_letter_path == spill_path {
        return Err(invalid(
            "analytics.dead_letter_path",
            "must differ from spill_path (the spill file is removed once replayed)",
        ));
    }
    Ok(AnalyticsConfig {
        store,
        redis_url: redis_url.map(Secret::new),
        batch_size: positive("analytics.batch_size", raw.batch_size, 2_000)?,
        flush_interval: millis("analytics.flush_interval_ms", raw.flush_interval_ms, 200)?,
        queue_capacity: positive("analytics.queue_capacity", raw.queue_capacity, 100_000)?,
        memory_backlog: positive("analytics.memory_backlog", raw.memory_backlog, 200_000)?,
        spill_path,
        dead_letter_path,
        write_timeout: millis("analytics.write_timeout_ms", raw.write_timeout_ms, 10_000)?,
        raw_retention_days,
        aggregate_retention_days,
        partitions_ahead_days: days(
            "analytics.partitions_ahead_days",
            raw.partitions_ahead_days,
            7,
        )?,
        rollup_interval: millis(
            "analytics.rollup_interval_ms",
            raw.rollup_interval_ms,
            300_000,
        )?,
        user_tag_secret,
    })
}

/// Shortest `user` tag secret accepted (bytes): a guessable key would make the
/// tags as reversible as plain hashes.
const MIN_USER_TAG_SECRET_BYTES: usize = 16;

/// The file the generated `user` tag secret is kept in by default: next to the
/// embedded store, or, with Postgres, next to the spill file (this machine's
/// own data).
const DEFAULT_USER_TAG_SECRET_FILE: &str = "gateway-user-tag.key";

/// Where the `user` tag secret comes from. A variable that is named must be set
/// (and long enough): an operator who configured a shared secret must not get a
/// generated one silently.
fn user_tag_secret(
    env: Option<&str>,
    file: Option<&str>,
    store: &EventStoreConfig,
    spill_path: &std::path::Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<UserTagSecret, ConfigError> {
    const KEY: &str = "analytics.user_tag_secret_env";
    if let Some(name) = env {
        if name.is_empty() {
            return Err(invalid(KEY, "must not be empty"));
        }
        let value = lookup(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        if value.is_empty() {
            return Err(invalid(
                KEY,
                format!("environment variable {name} is not set (or empty)"),
            ));
        }
        if value.len() < MIN_USER_TAG_SECRET_BYTES {
            return Err(invalid(
                KEY,
                format!(
                    "the secret in {name} is shorter than {MIN_USER_TAG_SECRET_BYTES} bytes \
                     (generate one with `openssl rand -hex 32`)"
                ),
            ));
        }
        return Ok(UserTagSecret::Env {
            name: name.to_owned(),
            value: Secret::new(value),
        });
    }
    if let Some(file) = file {
        if file.is_empty() {
            return Err(invalid(
                "analytics.user_tag_secret_file",
                "must not be empty",
            ));
        }
        return Ok(UserTagSecret::File {
            path: PathBuf::from(file),
            configured: true,
        });
    }
    let beside = match store {
        EventStoreConfig::Sqlite { path } => path.as_path(),
        EventStoreConfig::Postgres { .. } => spill_path,
    };
    Ok(UserTagSecret::File {
        path: beside.with_file_name(DEFAULT_USER_TAG_SECRET_FILE),
        configured: false,
    })
}

fn validate_routing(
    raw: RawRouting,
    providers: &[ProviderConfig],
) -> Result<RoutingConfig, ConfigError> {
    let max_attempts = raw.max_attempts.unwrap_or(3);
    if max_attempts == 0 {
        return Err(invalid("routing.max_attempts", "must be at least 1"));
    }
    let circuit_failures = raw.circuit_failures.unwrap_or(5);
    if circuit_failures == 0 {
        return Err(invalid("routing.circuit_failures", "must be at least 1"));
    }
    let threads = raw.token_count_threads.unwrap_or(1) as usize;
    if threads == 0 {
        return Err(invalid("routing.token_count_threads", "must be at least 1"));
    }
    let nice = raw.token_count_nice.unwrap_or(19);
    if nice > 19 {
        return Err(invalid(
            "routing.token_count_nice",
            "must be between 0 and 19",
        ));
    }
    Ok(RoutingConfig {
        policy: validate_policy("routing", raw.policy, providers)?,
        baseline_model: raw.baseline_model,
        max_attempts: max_attempts as usize,
        retry_budget_percent: raw.retry_budget_percent.unwrap_or(20),
        retry_budget_reserve: raw.retry_budget_reserve.unwrap_or(10),
        circuit_failures,
        circuit_open: millis("routing.circuit_open_ms", raw.circuit_open_ms, 30_000)?,
        token_count: TokenCountConfig {
            threads,
            queue: raw.token_count_queue.unwrap_or(64) as usize,
            nice,
            max_bytes: raw.token_count_max_bytes.unwrap_or(4 * 1024 * 1024),
            timeout: millis(
                "routing.token_count_timeout_ms",
                raw.token_count_timeout_ms,
                500,
            )?,
        },
    })
}

fn validate_limits(raw: RawLimits) -> Result<crate::limits::Settings, ConfigError> {
    let defaults = crate::limits::Settings::default();
    let replicas = raw.replicas.unwrap_or(1);
    if replicas == 0 {
        return Err(invalid("limits.replicas", "must be at least 1"));
    }
    let zone = match raw.time_zone {
        None => defaults.zone,
        Some(text) => crate::limits::period::parse_zone(&text).ok_or_else(|| {
            invalid(
                "limits.time_zone",
                format!("`{text}` is not `UTC` or a fixed offset such as `+05:30` or `-08:00`"),
            )
        })?,
    };
    let redis_prefix = raw.redis_prefix.unwrap_or(defaults.redis_prefix);
    if redis_prefix.is_empty() || redis_prefix.chars().any(char::is_whitespace) {
        return Err(invalid(
            "limits.redis_prefix",
            "must be non-empty, without spaces",
        ));
    }
    Ok(crate::limits::Settings {
        replicas,
        zone,
        redis_prefix,
        redis_timeout: millis("limits.redis_timeout_ms", raw.redis_timeout_ms, 500)?,
    })
}

fn millis(path: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(path, "must be greater than 0")),
        ms => Ok(Duration::from_millis(ms)),
    }
}

/// A byte size that must be positive and fit this machine's `usize`.
fn bytes(path: &str, value: Option<u64>, default: u64) -> Result<usize, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(path, "must be greater than 0")),
        n => usize::try_from(n).map_err(|_| invalid(path, "too large for this machine")),
    }
}

fn validate_server(
    raw: RawServer,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerConfig, ConfigError> {
    let listen_text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "server.listen",
            format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
        )
    })?;
    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if max_body_bytes == 0 {
        return Err(invalid("server.max_body_bytes", "must be greater than 0"));
    }
    let max_body_bytes = usize::try_from(max_body_bytes)
        .map_err(|_| invalid("server.max_body_bytes", "too large for this machine"))?;
    let log = raw.log.unwrap_or_else(|| "info".to_owned());
    if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
        return Err(invalid(
            "server.log",
            format!("`{log}` is not a log filter"),
        ));
    }
    let metrics_listen = raw
        .metrics_listen
        .map(|text| {
            text.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "server.metrics_listen",
                    format!("`{text}` is not an address like 127.0.0.1:9090"),
                )
            })
        })
        .transpose()?;
    if metrics_listen.is_some_and(|addr| addr == listen && addr.port() != 0) {
        return Err(invalid(
            "server.metrics_listen",
            "must differ from server.listen",
        ));
    }
    let metrics_token = metrics_token(raw.metrics_token_env, lookup)?;
    let worker_threads = match raw.worker_threads {
        None => None,
        Some(n @ 1..=MAX_WORKER_THREADS) => Some(n as usize),
        Some(_) => {
            return Err(invalid(
                "server.worker_threads",
                format!("must be from 1 to {MAX_WORKER_THREADS}"),
            ))
        }
    };
    Ok(ServerConfig {
        listen,
        max_body_bytes,
        worker_threads,
        request_timeout: millis(
            "server.request_timeout_ms",
            raw.request_timeout_ms,
            DEFAULT_REQUEST_TIMEOUT_MS,
        )?,
        shutdown_grace: millis(
            "server.shutdown_grace_ms",
            raw.shutdown_grace_ms,
            DEFAULT_SHUTDOWN_GRACE_MS,
        )?,
        log,
        limits: ConnectionLimits {
            max_connections: bytes(
                "server.max_connections",
                raw.max_connections,
                DEFAULT_MAX_CONNECTIONS,
            )?,
            max_concurrent_requests: bytes(
                "server.max_concurrent_requests",
                raw.max_concurrent_requests,
                DEFAULT_MAX_CONCURRENT_REQUESTS,
            )?,
            idle_timeout: millis(
                "server.idle_timeout_ms",
                raw.idle_timeout_ms,
                DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
            )?,
            http2_keep_alive_interval: millis(
                "server.http2_keep_alive_interval_ms",
                raw.http2_keep_alive_interval_ms,
                DEFAULT_H2_KEEP_ALIVE_INTERVAL_MS,
            )?,
            http2_keep_alive_timeout: millis(
                "server.http2_keep_alive_timeout_ms",
                raw.http2_keep_alive_timeout_ms,
                DEFAULT_H2_KEEP_ALIVE_TIMEOUT_MS,
            )?,
        },
        upstream_limits: UpstreamLimits {
            max_response_bytes: bytes(
                "server.max_upstream_response_bytes",
                raw.max_upstream_response_bytes,
                DEFAULT_MAX_UPSTREAM_RESPONSE_BYTES,
            )?,
            max_event_bytes: bytes(
                "server.max_upstream_event_bytes",
                raw.max_upstream_event_bytes,
                DEFAULT_MAX_UPSTREAM_EVENT_BYTES,
            )?,
        },
        metrics: MetricsAccess {
            listen: metrics_listen,
            token: metrics_token,
        },
    })
}

/// The `/metrics` token named by `server.metrics_token_env`. A named variable
/// that is unset or empty is an error: an operator who asked for a token must
/// not get an open endpoint, nor one nobody can scrape.
fn metrics_token(
    env: Option<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(env) = env else { return Ok(None) };
    if env.is_empty() {
        return Err(invalid("server.metrics_token_env", "must not be empty"));
    }
    match lookup(&env) {
        Some(token) if !token.trim().is_empty() => Ok(Some(Secret::new(token.trim().to_owned()))),
        _ => Err(invalid(
            "server.metrics_token_env",
            format!("environment variable {env} is not set (or empty)"),
        )),
    }
}

/// Whether `url` points at this machine (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn validate_provider(
    path: &str,
    raw: RawProvider,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, ConfigError> {
    if raw.name.is_empty() {
        return Err(invalid(format!("{path}.name"), "must not be empty"));
    }
    let flavor = match raw.flavor.as_deref() {
        None | Some("openai") => Flavor::OpenAi,
        Some("azure") => Flavor::Azure,
        Some("anthropic") => Flavor::Anthropic,
        Some("gemini") => Flavor::Gemini,
        Some(other) => {
            return Err(invalid(
                format!("{path}.flavor"),
                format!(
                    "unknown flavor `{other}` (expected `openai`, `azure`, `anthropic` or `gemini`)"
                ),
            ))
        }
    };
    let responses_api = raw.responses_api.unwrap_or(false);
    if responses_api && flavor != Flavor::OpenAi {
        return Err(invalid(
            format!("{path}.responses_api"),
            "only an `openai`-flavored provider can serve the Responses API",
        ));
    }
    let raw_base_url = match (raw.base_url, flavor) {
        (Some(url), _) => url,
        (None, Flavor::Gemini) => GEMINI_BASE_URL.to_owned(),
        (None, _) => {
            return Err(invalid(
                format!("{path}.base_url"),
                "is required for this flavor (only `gemini` has a default)",
            ))
        }
    };
    let base_url = raw_base_url.trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&base_url) {
        Ok(url) if url.scheme() == "https" => {}
        Ok(url) if url.scheme() == "http" => {
            // The provider key and every prompt would cross the network in clear.
            if !is_loopback(&url) && raw.allow_insecure_http != Some(true) {
                return Err(invalid(
                    format!("{path}.base_url"),
                    format!(
                        "`{}` is plain http to a host that is not this machine; use https, \
                         or set `{path}.allow_insecure_http = true` if the network is trusted",
                        raw_base_url
                    ),
                ));
            }
        }
        _ => {
            return Err(invalid(
                format!("{path}.base_url"),
                format!("`{}` is not an http(s) URL", raw_base_url),
            ))
        }
    }
    let api_key = match (raw.api_key_env, raw.api_key_file) {
        (None, None) => ProviderKey::None,
        (Some(_), Some(_)) => {
            return Err(invalid(
                format!("{path}.api_key_file"),
                "set api_key_env or api_key_file, not both",
            ))
        }
        (Some(env), None) if env.is_empty() => {
            return Err(invalid(format!("{path}.api_key_env"), "must not be empty"))
        }
        (Some(env), None) => match lookup(&env) {
            Some(value) if !value.is_empty() => ProviderKey::Present(Secret::new(value)),
            _ => ProviderKey::Missing(MissingKey::Env { name: env }),
        },
        (None, Some(file)) if file.is_empty() => {
            return Err(invalid(format!("{path}.api_key_file"), "must not be empty"))
        }
        (None, Some(file)) => ProviderKey::FromFile(PathBuf::from(file)),
    };
    let mut headers = Vec::with_capacity(raw.headers.len());
    for (name, value) in raw.headers {
        let header_path = format!("{path}.headers.{name}");
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(&header_path, "not a valid header name"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| invalid(&header_path, "not a valid header value"))?;
        headers.push((name, value));
    }
    let timeouts = Timeouts {
        connect: millis(
            &format!("{path}.connect_timeout_ms"),
            raw.connect_timeout_ms,
            DEFAULT_CONNECT_TIMEOUT_MS,
        )?,
        first_byte: millis(
            &format!("{path}.first_byte_timeout_ms"),
            raw.first_byte_timeout_ms,
            DEFAULT_FIRST_BYTE_TIMEOUT_MS,
        )?,
        idle: millis(
            &format!("{path}.idle_timeout_ms"),
            raw.idle_timeout_ms,
            DEFAULT_IDLE_TIMEOUT_MS,
        )?,
        total: millis(
            &format!("{path}.total_timeout_ms"),
            raw.total_timeout_ms,
            DEFAULT_TOTAL_TIMEOUT_MS,
        )?,
    };
    Ok(ProviderConfig {
        catalog: raw.catalog.unwrap_or_else(|| raw.name.clone()),
        name: raw.name,
        flavor,
        base_url,
        api_key,
        headers,
        query: raw.query.into_iter().collect(),
        timeouts,
        responses_api,
    })
}

fn validate_model(
    path: &str,
    raw: RawModel,
    providers: &[ProviderConfig],
) -> Result<ModelConfig, ConfigError> {
    if raw.name.is_empty() {
        return Err(invalid(format!("{path}.name"), "must not be empty"));
    }
    let provider = providers
        .iter()
        .position(|p| p.name == raw.provider)
        .ok_or_else(|| {
            invalid(
                format!("{path}.provider"),
                format!("unknown provider `{}`", raw.provider),
            )
        })?;
    let endpoint = match raw.endpoint.as_deref() {
        None | Some("chat") => Endpoint::Chat,
        Some("embeddings") => Endpoint::Embeddings,
        Some("completions") => Endpoint::Completions,
        Some(other) => {
            return Err(invalid(
                format!("{path}.endpoint"),
                format!(
                    "unknown endpoint `{other}` (expected `chat`, `embeddings` or `completions`)"
                ),
            ))
        }
    };
    let price = raw
        .price
        .map(|price| validate_price(&format!("{path}.price"), price, endpoint))
        .transpose()?;
    Ok(ModelConfig {
        upstream_model: raw.upstream_model.unwrap_or_else(|| raw.name.clone()),
        name: raw.name,
        provider,
        endpoint,
        price_as: raw.price_as,
        price,
        baseline: raw.baseline,
    })
}

/// Explicit prices: exact decimal text or whole numbers, never negative; a chat
/// model must price its output too.
fn validate_price(
    path: &str,
    raw: RawModelPrice,
    endpoint: Endpoint,
) -> Result<ModelPrice, ConfigError> {
    let amount = |field: &str, raw: RawAmount| -> Result<Price, ConfigError> {
        let text = match raw {
            RawAmount::Text(text) => text,
            RawAmount::Integer(n) => n.to_string(),
            RawAmount::Float(value) => {
                return Err(invalid(
                    format!("{path}.{field}"),
                    format!(
                    "write prices as decimal text (\"{value}\", not {value}), so they stay exact"
                ),
                ))
            }
        };
        Price::from_usd_per_mtok(&text).map_err(|error| {
            invalid(
                format!("{path}.{field}"),
                format!("{error} (USD per million tokens)"),
            )
        })
    };
    let output = match (raw.output, endpoint) {
        (Some(output), _) => amount("output", output)?,
        (None, Endpoint::Embeddings) => Price(0),
        (None, Endpoint::Chat | Endpoint::Completions) => {
            return Err(invalid(
                format!("{path}.output"),
                "a chat or completions model needs an output price (USD per million tokens)",
            ))
        }
    };
    Ok(ModelPrice {
        input: amount("input", raw.input)?,
        output,
        cached_input: raw
            .cached_input
            .map(|cached| amount("cached_input", cached))
            .transpose()?,
    })
}

fn validate_key(
    path: &str,
    raw: RawKey,
    providers: &[ProviderConfig],
) -> Result<KeyConfig, ConfigError> {
    if raw.id.is_empty() {
        return Err(invalid(format!("{path}.id"), "must not be empty"));
    }
    if raw.tenant.is_empty() {
        return Err(invalid(format!("{path}.tenant"), "must not be empty"));
    }
    let hash = KeyHash::parse(&raw.hash).ok_or_else(|| {
        invalid(
            format!("{path}.hash"),
            "expected `sha256:` followed by 64 hex digits (see `gateway keys create`)",
        )
    })?;
    let role = match raw.role.as_deref() {
        None => KeyRole::Api,
        Some(name) => KeyRole::parse(name).ok_or_else(|| {
            invalid(
                format!("{path}.role"),
                format!("unknown role `{name}` (api, dashboard, owner or admin)"),
            )
        })?,
    };
    let analytics = match (raw.analytics.as_deref(), role) {
        (None, KeyRole::Api) if raw.team.is_some() => AnalyticsScope::Team,
        (None, KeyRole::Api) => AnalyticsScope::Key,
        (None | Some("tenant"), _) => AnalyticsScope::Tenant,
        (Some("team" | "key"), KeyRole::Admin) => {
            return Err(invalid(
                format!("{path}.analytics"),
                "admin keys read every tenant's analytics; leave `analytics` unset",
            ))
        }
        (Some("team"), _) if raw.team.is_none() => {
            return Err(invalid(
                format!("{path}.analytics"),
                "`team` needs the key's own `team`",
            ))
        }
        (Some("team"), _) => AnalyticsScope::Team,
        (Some("key"), _) => AnalyticsScope::Key,
        (Some(other), _) => {
            return Err(invalid(
                format!("{path}.analytics"),
                format!("unknown scope `{other}` (tenant, team or key)"),
            ))
        }
    };
    Ok(KeyConfig {
        role,
        analytics,
        policy: validate_policy(path, raw.policy, providers)?,
        id: raw.id,
        hash,
        tenant: raw.tenant,
        team: raw.team,
        allowance: validate_allowance(path, raw.allowance)?,
    })
}

/// Rates of 0 mean unlimited (as they always have for `rpm`); budgets must be
/// exact decimal text or whole numbers, and positive.
fn validate_allowance(path: &str, raw: RawAllowance) -> Result<Allowance, ConfigError> {
    let usd = |field: &str, amount: Option<RawAmount>| -> Result<Option<Cost>, ConfigError> {
        let text = match amount {
            None => return Ok(None),
            Some(RawAmount::Text(text)) => text,
            Some(RawAmount::Integer(n)) => n.to_string(),
            Some(RawAmount::Float(value)) => {
                return Err(invalid(
                    format!("{path}.{field}"),
                    format!(
                    "write budgets as decimal text (\"{value}\", not {value}), so they stay exact"
                ),
                ))
            }
        };
        match Cost::parse_usd(&text) {
            Ok(cost) if cost.0 > 0 => Ok(Some(cost)),
            Ok(_) => Err(invalid(
                format!("{path}.{field}"),
                "must be more than 0 USD (leave it out for no budget)",
            )),
            Err(error) => Err(invalid(format!("{path}.{field}"), format!("{error} (USD)"))),
        }
    };
    Ok(Allowance {
        rpm: raw.rpm.filter(|&n| n > 0),
        tpm: raw.tpm.filter(|&n| n > 0),
        max_concurrent: raw.max_concurrent.filter(|&n| n > 0),
        daily_usd: usd("budget_daily_usd", raw.budget_daily_usd)?,
        monthly_usd: usd("budget_monthly_usd", raw.budget_monthly_usd)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{Config, ConfigError, Flavor, ProviderKey, TokenCountConfig};

    const HASH: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Vec::new(), |name| {
            (name == "SET_KEY").then(|| "sk-set".to_owned())
        })
    }

    fn error_of(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    fn base() -> String {
        format!(
            "[[providers]]\nname = \"p\"\nbase_url = \"http://127.0.0.1:1/v1/\"\napi_key_env = \"SET_KEY\"\n\
             [[models]]\nname = \"m\"\nprovider = \"p\"\n\
             [[keys]]\nid = \"k\"\nhash = \"{HASH}\"\ntenant = \"t\"\n"
        )
    }

    #[test]
    fn a_gemini_provider_defaults_to_googles_endpoint() {
        let text = base().replace(
            "name = \"p\"\nbase_url = \"http://127.0.0.1:1/v1/\"\n",
            "name = \"p\"\nflavor = \"gemini\"\n",
        );
        let config = load(&text).unwrap();
        assert_eq!(config.providers[0].flavor, Flavor::Gemini);
        assert_eq!(
            config.providers[0].base_url,
            "https://generativelanguage.googleapis.com"
        );
        let text = base().replace("name = \"p\"", "name = \"p\"\nflavor = \"gemini\"");
        let config = load(&text).unwrap();
        assert_eq!(config.providers[0].base_url, "http://127.0.0.1:1/v1");
    }

    #[test]
    fn a_good_file_loads_with_defaults() {
        let config = load(&base()).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.server.worker_threads, None);
        let config = load(&(base() + "[server]\nworker_threads = 3\n")).unwrap();
        assert_eq!(config.server.worker_threads, Some(3));
        assert_eq!(config.providers[0].base_url, "http://127.0.0.1:1/v1");
        assert!(matches!(
            config.providers[0].api_key,
            ProviderKey::Present(_)
        ));
        assert_eq!(config.models[0].upstream_model, "m");
        assert_eq!(
            config.routing.token_count,
            TokenCountConfig {
                threads: 1,
                queue: 64,
                nice: 19,
                max_bytes: 4 * 1024 * 1024,
                timeout: Duration::from_millis(500),
            }
        );
    }

    #[test]
    fn token_counting_is_configurable() {
        let config = load(
            &(base()
                + "[routing]\ntoken_count_threads = 2\ntoken_count_queue = 0\ntoken_count_nice = 0\n\
               token_count_max_bytes = 100\ntoken_count_timeout_ms = 20\n"),
        )
        .unwrap();
        assert_eq!(
            config.routing.token_count,
            TokenCountConfig {
                threads: 2,
                queue: 0,
                nice: 0,
                max_bytes: 100,
                timeout: Duration::from_millis(20),
            }
        );
        for (setting, path) in [
            ("token_count_threads = 0", "routing.token_count_threads"),
            (
                "token_count_timeout_ms = 0",
                "routing.token_count_timeout_ms",
            ),
        ] {
            let message = error_of(&(base() + "[routing]\n" + setting + "\n"));
            assert!(message.contains(path), "{setting}: {message}");
        }
    }

    #[test]
    fn a_missing_key_variable_disables_only_that_provider() {
        let text = base().replace("SET_KEY", "UNSET_KEY");
        let config = load(&text).unwrap();
        assert!(matches!(
            &config.providers[0].api_key,
            ProviderKey::Missing(crate::config::MissingKey::Env { name }) if name == "UNSET_KEY"
        ));
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let cases = [
            (base() + "[server]\nlisten = \"nowhere\"\n", "server.listen"),
            (
                base() + "[server]\nmax_body_bytes = 0\n",
                "server.max_body_bytes",
            ),
            (
                base() + "[server]\nworker_threads = 0\n",
                "server.worker_threads",
            ),
            (
                base() + "[server]\nworker_threads = 100000\n",
                "server.worker_threads",
            ),
            (base() + "[server]\nbogus = 1\n", "server"),
            (
                base() + "[[models]]\nname = \"m2\"\nprovider = \"nope\"\n",
                "models[1].provider",
            ),
            (
                base() + "[[models]]\nname = \"m\"\nprovider = \"p\"\n",
                "models[1].name",
            ),
            (
                base() + "[[keys]]\nid = \"k2\"\nhash = \"md5:x\"\ntenant = \"t\"\n",
                "keys[1].hash",
            ),
            (
                base() + &format!("[[keys]]\nid = \"k2\"\nhash = \"{HASH}\"\ntenant = \"t\"\n"),
                "keys[1].hash",
            ),
            (
                base().replace("tenant = \"t\"", "tenant = \"t\"\npolicy = \"cheapest\""),
                "keys[0].policy",
            ),
            (
                base().replace(
                    "tenant = \"t\"",
                    "tenant = \"t\"\ndeny_providers = [\"nope\"]",
                ),
                "keys[0].deny_providers[0]",
            ),
            (
                base() + "[routing]\nmax_attempts = 0\n",
                "routing.max_attempts",
            ),
            (
                base() + "[[tenants]]\nid = \"t\"\npolicy = \"x\"\n",
                "tenants[0].policy",
            ),
            (
                base().replace("http://127.0.0.1:1/v1/", "ftp://x"),
                "providers[0].base_url",
            ),
            (
                base().replace("name = \"p\"", "name = \"p\"\nflavor = \"grpc\""),
                "providers[0].flavor",
            ),
            (
                base().replace("base_url = \"http://127.0.0.1:1/v1/\"\n", ""),
                "providers[0].base_url",
            ),
            (
                base().replace("name = \"p\"", "name = \"p\"\nidle_timeout_ms = 0"),
                "providers[0].idle_timeout_ms",
            ),
            (
                base().replace(
                    "name = \"p\"",
                    "name = \"p\"\nheaders = { \"bad header\" = \"v\" }",
                ),
                "providers[0].headers.bad header",
            ),
        ];
        for (text, key) in cases {
            let message = error_of(&text);
            assert!(
                message.contains(&format!("`{key}`")),
                "expected `{key}` in: {message}"
            );
        }
    }

    /// The dead-letter file sits next to the spill file unless named, and is
    /// never the spill file itself (which is removed once replayed).
    #[test]
    fn dead_letter_path_and_write_timeout() {
        let config = load(&base()).unwrap();
        let analytics = &config.analytics;
        assert_eq!(
            analytics.dead_letter_path,
            std::path::Path::new("gateway-events.dead-letter")
        );
        assert_eq!(analytics.write_timeout, std::time::Duration::from_secs(10));
        let text =
            base() + "[analytics]\nspill_path = \"/var/lib/gw/events\"\nwrite_timeout_ms = 2500\n";
        let analytics = load(&text).unwrap().analytics;
        assert_eq!(
            analytics.dead_letter_path,
            std::path::Path::new("/var/lib/gw/events.dead-letter")
        );
        assert_eq!(
            analytics.write_timeout,
            std::time::Duration::from_millis(2_500)
        );
        for (extra, key) in [
            (
                "spill_path = \"x.spill\"\ndead_letter_path = \"x.spill\"\n",
                "analytics.dead_letter_path",
            ),
            ("write_timeout_ms = 0\n", "analytics.write_timeout_ms"),
        ] {
            let message = error_of(&(base() + "[analytics]\n" + extra));
            assert!(message.contains(&format!("`{key}`")), "{message}");
        }
    }

    /// Three Postgres URLs, each from the file or its variable; the owner's
    /// and the reader's need the serving one; secrets never print.
    #[test]
    fn postgres_logins_come_from_the_file_or_the_environment() {
        use crate::config::EventStoreConfig;
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let logins = |config: Config| match config.analytics.store {
            EventStoreConfig::Postgres(logins) => logins,
            EventStoreConfig::Sqlite { .. } => panic!("not postgres"),
        };
        let config = Config::from_toml(
            &base(),
            Vec::new(),
            env(&[
                ("DATABASE_URL", "postgres://serve:pw1@db/gw"),
                ("DATABASE_OWNER_URL", "postgres://owner:pw2@db/gw"),
                ("DATABASE_READER_URL", "postgresql://reader:pw3@db/gw"),
            ]),
        )
        .unwrap();
        let printed = format!("{:?}", config.analytics);
        assert!(!printed.contains("pw"), "{printed}");
        let found = logins(config);
        assert_eq!(found.url.expose(), "postgres://serve:pw1@db/gw");
        assert_eq!(
            found.owner_url.as_ref().map(|u| u.expose()),
            Some("postgres://owner:pw2@db/gw")
        );
        assert_eq!(
            found.reader_url.as_ref().map(|u| u.expose()),
            Some("postgresql://reader:pw3@db/gw")
        );

        // The file wins over the environment; one URL alone is the trial setup.
        let text = base() + "[analytics]\ndatabase_url = \"postgres://file@db/gw\"\n";
        let found = logins(
            Config::from_toml(
                &text,
                Vec::new(),
                env(&[("DATABASE_URL", "postgres://env@db/gw")]),
            )
            .unwrap(),
        );
        assert_eq!(found.url.expose(), "postgres://file@db/gw");
        assert!(found.owner_url.is_none() && found.reader_url.is_none());

        for (extra, key) in [
            (
                "owner_database_url = \"postgres://o@db/gw\"\n",
                "analytics.owner_database_url",
            ),
            (
                "reader_database_url = \"postgres://r@db/gw\"\n",
                "analytics.reader_database_url",
            ),
            (
                "database_url = \"postgres://s@db/gw\"\nreader_database_url = \"mysql://r@db/gw\"\n",
                "analytics.reader_database_url",
            ),
        ] {
            let message = error_of(&(base() + "[analytics]\n" + extra));
            assert!(message.contains(&format!("`{key}`")), "{message}");
        }
    }

    #[test]
    fn plain_http_is_only_for_this_machine_unless_allowed() {
        let with_url = |url: &str, extra: &str| {
            base().replace(
                "base_url = \"http://127.0.0.1:1/v1/\"",
                &format!("base_url = \"{url}\"\n{extra}"),
            )
        };
        let accepted = [
            ("https://api.openai.com/v1", ""),
            ("http://127.0.0.1:9000/v1", ""),
            ("http://127.8.9.10:9000/v1", ""),
            ("http://localhost:11434/v1", ""),
            ("http://LOCALHOST.:11434/v1", ""),
            ("http://vllm.localhost/v1", ""),
            ("http://[::1]:8000/v1", ""),
            ("http://10.0.0.5:8000/v1", "allow_insecure_http = true"),
            ("http://vllm:8000/v1", "allow_insecure_http = true"),
        ];
        for (url, extra) in accepted {
            let loaded = load(&with_url(url, extra));
            assert!(loaded.is_ok(), "{url}: {:?}", loaded.err());
        }
        let refused = [
            ("http://10.0.0.5:8000/v1", ""),
            ("http://api.openai.com/v1", ""),
            ("http://localhost.example.com/v1", ""),
            ("http://127.0.0.1.nip.io/v1", ""),
            ("http://[::ffff:10.0.0.1]/v1", ""),
            ("http://vllm:8000/v1", "allow_insecure_http = false"),
        ];
        for (url, extra) in refused {
            let message = error_of(&with_url(url, extra));
            assert!(
                message.contains("`providers[0].base_url`")
                    && message.contains("providers[0].allow_insecure_http = true"),
                "{url}: {message}"
            );
        }
    }

    #[test]
    fn server_limits_have_defaults_and_refuse_zero() {
        let config = load(&base()).unwrap();
        let limits = config.server.limits;
        assert_eq!(limits.max_connections, 10_000);
        assert_eq!(limits.max_concurrent_requests, 1_024);
        assert_eq!(limits.idle_timeout.as_secs(), 75);
        assert_eq!(config.server.upstream_limits.max_response_bytes, 128 << 20);
        assert_eq!(config.server.upstream_limits.max_event_bytes, 16 << 20);
        assert!(config.server.metrics.listen.is_none() && config.server.metrics.token.is_none());
        for key in [
            "max_connections",
            "max_concurrent_requests",
            "idle_timeout_ms",
            "http2_keep_alive_interval_ms",
            "http2_keep_alive_timeout_ms",
            "max_upstream_response_bytes",
            "max_upstream_event_bytes",
        ] {
            let message = error_of(&(base() + &format!("[server]\n{key} = 0\n")));
            assert!(message.contains(&format!("`server.{key}`")), "{message}");
        }
    }

    #[test]
    fn the_metrics_token_comes_from_the_named_variable_and_never_prints() {
        let text = base()
            + "[server]\nmetrics_token_env = \"SET_KEY\"\nmetrics_listen = \"127.0.0.1:9090\"\n";
        let config = load(&text).unwrap();
        let token = config.server.metrics.token.as_ref().unwrap();
        assert_eq!(token.expose(), "sk-set");
        assert_eq!(config.server.metrics.listen.unwrap().port(), 9090);
        let printed = format!("{:?}", config.server);
        assert!(
            !printed.contains("sk-set") && printed.contains("***"),
            "{printed}"
        );
        // Asked for but not set: refused, never an open endpoint.
        let message = error_of(&(base() + "[server]\nmetrics_token_env = \"UNSET_TOKEN\"\n"));
        assert!(
            message.contains("`server.metrics_token_env`") && message.contains("UNSET_TOKEN"),
            "{message}"
        );
        let message = error_of(&(base() + "[server]\nmetrics_listen = \"nowhere\"\n"));
        assert!(message.contains("`server.metrics_listen`"), "{message}");
        let message = error_of(
            &(base() + "[server]\nlisten = \"127.0.0.1:9\"\nmetrics_listen = \"127.0.0.1:9\"\n"),
        );
        assert!(message.contains("`server.metrics_listen`"), "{message}");
    }

    /// API keys read their team's analytics (their own without a team) unless
    /// granted the tenant's; dashboard and admin keys read the tenant's.
    #[test]
    fn analytics_scopes_default_by_role_and_team() {
        use crate::config::{AnalyticsScope, KeyRole};
        let key =
            |extra: &str| base().replace("tenant = \"t\"", &format!("tenant = \"t\"\n{extra}"));
        let cases = [
            ("", KeyRole::Api, AnalyticsScope::Key),
            ("team = \"web\"", KeyRole::Api, AnalyticsScope::Team),
            (
                "team = \"web\"\nanalytics = \"tenant\"",
                KeyRole::Api,
                AnalyticsScope::Tenant,
            ),
            (
                "team = \"web\"\nanalytics = \"key\"",
                KeyRole::Api,
                AnalyticsScope::Key,
            ),
            (
                "role = \"dashboard\"",
                KeyRole::Dashboard,
                AnalyticsScope::Tenant,
            ),
            (
                "role = \"dashboard\"\nteam = \"web\"\nanalytics = \"team\"",
                KeyRole::Dashboard,
                AnalyticsScope::Team,
            ),
            ("role = \"admin\"", KeyRole::Admin, AnalyticsScope::Tenant),
            (
                "role = \"admin\"\nanalytics = \"tenant\"",
                KeyRole::Admin,
                AnalyticsScope::Tenant,
            ),
        ];
        for (extra, role, scope) in cases {
            let config = load(&key(extra)).unwrap();
            assert_eq!(
                (config.keys[0].role, config.keys[0].analytics),
                (role, scope),
                "{extra}"
            );
        }
        for extra in [
            "analytics = \"team\"",
            "analytics = \"everything\"",
            "role = \"admin\"\nanalytics = \"key\"",
        ] {
            let message = error_of(&key(extra));
            assert!(
                message.contains("`keys[0].analytics`"),
                "{extra}: {message}"
            );
        }
    }

    #[test]
    fn explicit_prices_are_exact_and_checked() {
        use pricing::Price;
        let with = |price: &str| {
            base().replace(
                "provider = \"p\"\n",
                &format!("provider = \"p\"\n{price}\n"),
            )
        };
        let config = load(&with(
            "price = { input = \"0.15\", output = 2, cached_input = \"0.075\" }\nbaseline = \"openai/gpt-4o\"",
        ))
        .unwrap();
        let price = config.models[0].price.unwrap();
        assert_eq!(
            (price.input, price.output, price.cached_input),
            (Price(150_000), Price(2_000_000), Some(Price(75_000)))
        );
        assert_eq!(config.models[0].baseline.as_deref(), Some("openai/gpt-4o"));
        let zero = load(&with("price = { input = 0, output = \"0\" }")).unwrap();
        assert_eq!(zero.models[0].price.unwrap().output, Price(0));
        let embeddings = load(&with(
            "endpoint = \"embeddings\"\nprice = { input = \"0.02\" }",
        ))
        .unwrap();
        assert_eq!(embeddings.models[0].price.unwrap().output, Price(0));

        let cases = [
            (
                "price = { input = 0.15, output = \"1\" }",
                "models[0].price.input",
                "\"0.15\"",
            ),
            (
                "price = { input = \"-1\", output = \"1\" }",
                "models[0].price.input",
                "negative",
            ),
            (
                "price = { input = \"1\", output = \"cheap\" }",
                "models[0].price.output",
                "decimal",
            ),
            (
                "price = { input = \"1\" }",
                "models[0].price.output",
                "output price",
            ),
            (
                "price = { input = \"1\", output = \"1\", cached_input = \"0.0000001\" }",
                "models[0].price.cached_input",
                "precision",
            ),
            (
                "price = { input = \"1\", output = \"1\", per_request = \"1\" }",
                "models[0].price.per_request",
                "per_request",
            ),
        ];
        for (price, key, words) in cases {
            let message = error_of(&with(price));
            assert!(
                message.contains(&format!("`{key}`")) && message.contains(words),
                "{price}: {message}"
            );
        }
    }

    #[test]
    fn type_errors_carry_the_path() {
        let message = error_of("[server]\nmax_body_bytes = \"big\"\n");
        assert!(message.contains("server.max_body_bytes"), "{message}");
    }

    #[test]
    fn env_overrides_apply_before_validation() {
        let config = Config::from_toml(
            &base(),
            vec![(
                "GATEWAY__SERVER__LISTEN".to_owned(),
                "127.0.0.1:9".to_owned(),
            )],
            |_| None,
        )
        .unwrap();
        assert_eq!(config.server.listen.port(), 9);
    }

    #[test]
    fn the_user_tag_secret_comes_from_a_variable_or_a_file_and_never_prints() {
        use crate::config::UserTagSecret;
        use std::path::Path;
        let lookup = |name: &str| match name {
            "TAG_SECRET" => Some("  a secret of thirty-two characters \n".to_owned()),
            "SHORT_SECRET" => Some("short".to_owned()),
            _ => None,
        };
        let with = |analytics: &str| {
            Config::from_toml(&(base() + "[analytics]\n" + analytics), Vec::new(), lookup)
        };
        let config = with("user_tag_secret_env = \"TAG_SECRET\"\n").unwrap();
        let UserTagSecret::Env { name, value } = &config.analytics.user_tag_secret else {
            panic!("{:?}", config.analytics.user_tag_secret)
        };
        assert_eq!(
            (name.as_str(), value.expose()),
            ("TAG_SECRET", "a secret of thirty-two characters")
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("thirty-two"), "{printed}");
        // (analytics section, where the secret file is: None for an error)
        let cases = [
            ("", Some("gateway-user-tag.key")),
            (
                "sqlite_path = \"/var/lib/gw/events.sqlite\"\n",
                Some("/var/lib/gw/gateway-user-tag.key"),
            ),
            (
                "database_url = \"postgres://g@h/d\"\nspill_path = \"/data/gw.spill\"\n",
                Some("/data/gateway-user-tag.key"),
            ),
            (
                "user_tag_secret_file = \"/run/secrets/tag\"\n",
                Some("/run/secrets/tag"),
            ),
            ("user_tag_secret_env = \"UNSET_SECRET\"\n", None),
            ("user_tag_secret_env = \"SHORT_SECRET\"\n", None),
            ("user_tag_secret_env = \"\"\n", None),
            ("user_tag_secret_file = \"\"\n", None),
        ];
        for (analytics, expected) in cases {
            match (with(analytics), expected) {
                (Ok(config), Some(expected)) => match &config.analytics.user_tag_secret {
                    UserTagSecret::File { path, .. } => {
                        assert_eq!(path, Path::new(expected), "{analytics}");
                    }
                    other => panic!("{analytics}: {other:?}"),
                },
                (Err(error), None) => {
                    let message = error.to_string();
                    assert!(message.contains("analytics.user_tag_secret"), "{message}");
                }
                (result, _) => panic!("{analytics}: {result:?}"),
            }
        }
        let message = with("user_tag_secret_env = \"UNSET_SECRET\"\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("UNSET_SECRET is not set"), "{message}");
    }

    #[test]
    fn limits_and_budgets_of_keys_teams_and_tenants() {
        use pricing::Cost;
        let text = base().replace("tenant = \"t\"\n", "tenant = \"t\"\nteam = \"web\"\nrpm = 60\ntpm = 0\nbudget_daily_usd = \"1.50\"\n")
            + "[[teams]]\ntenant = \"t\"\nid = \"web\"\nmax_concurrent = 4\nbudget_monthly_usd = 100\n\
               [[tenants]]\nid = \"t\"\ntpm = 100000\n";
        let config = load(&text).unwrap();
        let key = &config.keys[0].allowance;
        assert_eq!((key.rpm, key.tpm), (Some(60), None), "0 means unlimited");
        assert_eq!(key.daily_usd, Some(Cost(1_500_000_000_000)));
        let team = &config.teams[0];
        assert_eq!((team.tenant.as_str(), team.id.as_str()), ("t", "web"));
        assert_eq!(team.allowance.max_concurrent, Some(4));
        assert_eq!(team.allowance.monthly_usd, Some(Cost(100_000_000_000_000)));
        assert_eq!(config.tenants[0].allowance.tpm, Some(100_000));

        for (extra, path) in [
            ("budget_daily_usd = 1.5\n", "keys[0].budget_daily_usd"),
            ("budget_monthly_usd = \"0\"\n", "keys[0].budget_monthly_usd"),
            (
                "budget_monthly_usd = \"abc\"\n",
                "keys[0].budget_monthly_usd",
            ),
        ] {
            let message =
                error_of(&base().replace("tenant = \"t\"\n", &format!("tenant = \"t\"\n{extra}")));
            assert!(message.contains(path), "{extra}: {message}");
        }
        let twice = base()
            + "[[teams]]\ntenant = \"t\"\nid = \"a\"\n[[teams]]\ntenant = \"t\"\nid = \"a\"\n";
        assert!(error_of(&twice).contains("teams[1].id"));
        let unknown = base() + "[[teams]]\ntenant = \"t\"\nid = \"a\"\nrpn = 5\n";
        assert!(error_of(&unknown).contains("rpn"), "{}", error_of(&unknown));
    }

    #[test]
    fn the_limits_section_has_defaults_and_names_bad_fields() {
        let config = load(&base()).unwrap();
        assert_eq!(config.limits.replicas, 1);
        assert_eq!(config.limits.zone.local_minus_utc(), 0);
        assert_eq!(config.limits.redis_prefix, "gw:lim");
        assert_eq!(config.limits.redis_timeout, Duration::from_millis(500));
        let set = base()
            + "[limits]\nreplicas = 3\ntime_zone = \"-08:00\"\nredis_prefix = \"x:y\"\nredis_timeout_ms = 50\n";
        let config = load(&set).unwrap();
        assert_eq!(config.limits.replicas, 3);
        assert_eq!(config.limits.zone.local_minus_utc(), -8 * 3600);
        assert_eq!(config.limits.redis_prefix, "x:y");
        assert_eq!(config.limits.redis_timeout, Duration::from_millis(50));
        for (extra, path) in [
            ("replicas = 0", "limits.replicas"),
            ("time_zone = \"Europe/Paris\"", "limits.time_zone"),
            ("redis_prefix = \"\"", "limits.redis_prefix"),
            ("redis_timeout_ms = 0", "limits.redis_timeout_ms"),
            ("replica = 2", "replica"),
        ] {
            let message = error_of(&(base() + "[limits]\n" + extra + "\n"));
            assert!(message.contains(path), "{extra}: {message}");
        }
    }
}
