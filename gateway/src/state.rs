//! Shared state handed to every handler. What a config determines (keys, the
//! routing table, provider clients, health) forms one [`Snapshot`], swapped
//! atomically on reload, so a request always sees one consistent view; what
//! outlives a reload (metrics, the shutdown flag) sits beside it.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use analytics::control::{ControlData, ControlStore};
use analytics::event::UserTagKey;
use analytics::writer::EventSink;
use arc_swap::ArcSwap;

use crate::alerts::Alerts;
use crate::config::{Config, RoutingConfig, UpstreamLimits};
use crate::keys::{KeyInputs, KeyStore};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::providers::openai_compat::BuildError as ProviderBuildError;
use crate::providers::Provider;
use crate::routing::budget::RetryBudget;
use crate::routing::counting::{CountPool, PoolSize};
use crate::routing::health::LiveHealth;
use crate::routing::table::TableError;
use crate::routing::virtual_models::virtual_model;
use crate::routing::RoutingTable;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Provider(#[from] ProviderBuildError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("config key `{path}`: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot start the token counting threads: {0}")]
    CountThreads(std::io::Error),
}

pub struct Snapshot {
    /// The config file's keys, tenants and teams: merged with the store's into
    /// the live key table ([`AppState::keys`]).
    pub key_inputs: KeyInputs,
    pub table: RoutingTable,
    pub providers: Vec<Provider>,
    pub health: LiveHealth,
    pub budget: RetryBudget,
    pub routing: RoutingConfig,
    pub max_body_bytes: usize,
    pub upstream_limits: UpstreamLimits,
    pub request_timeout: Duration,
    /// Unix seconds at load, reported as the models' `created`.
    pub loaded_at: u64,
}

impl Snapshot {
    pub fn new(config: &Config) -> Result<Snapshot, BuildError> {
        let providers = config
            .providers
            .iter()
            .map(Provider::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let table = RoutingTable::build(&config.providers, &config.models, &config.catalog)?;
        let key_inputs = KeyInputs {
            keys: config.keys.clone(),
            tenants: config.tenants.clone(),
            teams: config.teams.clone(),
            defaults: config.routing.policy.clone(),
        };
        check_model_names(config, &table)?;
        let routing = &config.routing;
        Ok(Snapshot {
            health: LiveHealth::new(
                providers.len(),
                table.deployments().len(),
                routing.circuit_failures,
                routing.circuit_open,
            ),
            budget: RetryBudget::new(routing.retry_budget_percent, routing.retry_budget_reserve),
            key_inputs,
            table,
            providers,
            routing: routing.clone(),
            max_body_bytes: config.server.max_body_bytes,
            upstream_limits: config.server.upstream_limits,
            request_timeout: config.server.request_timeout,
            loaded_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })
    }
}

/// Whether `name` may stand in a model allow or deny list: `*`, a virtual
/// model, or a name something routable answers to.
pub fn knows_model(table: &RoutingTable, name: &str) -> bool {
    name == "*"
        || virtual_model(name).is_some()
        || !table.named(name).is_empty()
        || table.deployments().iter().any(|d| d.answers_to(name))
}

/// Model names in policies and `baseline_model` must name something routable.
fn check_model_names(config: &Config, table: &RoutingTable) -> Result<(), BuildError> {
    let known = |name: &str| knows_model(table, name);
    let mut lists: Vec<(String, &Option<Vec<String>>)> = vec![
        (
            "routing.models".to_owned(),
            &config.routing.policy.allow_models,
        ),
        (
            "routing.deny_models".to_owned(),
            &config.routing.policy.deny_models,
        ),
    ];
    for (i, tenant) in config.tenants.iter().enumerate() {
        lists.push((format!("tenants[{i}].models"), &tenant.policy.allow_models));
        lists.push((
            format!("tenants[{i}].deny_models"),
            &tenant.policy.deny_models,
        ));
    }
    for (i, key) in config.keys.iter().enumerate() {
        lists.push((format!("keys[{i}].models"), &key.policy.allow_models));
        lists.push((format!("keys[{i}].deny_models"), &key.policy.deny_models));
    }
    for (path, list) in lists {
        for (j, name) in list.iter().flatten().enumerate() {
            if !known(name) {
                return Err(BuildError::Invalid {
                    path: format!("{path}[{j}]"),
                    message: format!("unknown model `{name}`"),
                });
            }
        }
    }
    if let Some(name) = &config.routing.baseline_model {
        if table.named(name).is_empty() {
            return Err(BuildError::Invalid {
                path: "routing.baseline_model".to_owned(),
                message: format!("unknown model `{name}`"),
            });
        }
    }
    Ok(())
}

pub struct Inner {
    snapshot: ArcSwap<Snapshot>,
    pub metrics: Metrics,
    /// Where each request's usage event goes; never blocks.
    pub events: EventSink,
    /// The event store the analytics reads (rollups) query.
    pub store: Arc<analytics::store::Store>,
    /// The bearer token `/metrics` asks for, if any (fixed at start).
    pub metrics_token: Option<Secret>,
    /// Whether `/metrics` is served on the main listener (no `metrics_listen`).
    pub metrics_on_main_listener: bool,
    /// `server.max_concurrent_requests` (fixed at start).
    pub max_concurrent_requests: usize,
    /// Limits and budgets; their counts outlive reloads and key-store swaps.
    pub limits: Limits,
    /// Exact token counts, off the async workers; sized at start.
    pub(crate) counter: CountPool,
    /// What the `user` field is tagged with (fixed at start: changing it splits
    /// every user's history).
    pub user_tags: UserTagKey,
    /// Alert channels and rules (fixed at start), for the alerts API.
    pub alerts: Alerts,
    /// Report schedules (fixed at start), for "send now".
    pub reports: Arc<crate::config::reports::ReportsConfig>,
    /// The store's tenants, teams and keys (the admin API writes there).
    pub control_store: ControlStore,
    /// Share links' settings, rate limits and unflushed view counts.
    pub shares: crate::shares::Shares,
    /// The live key table: the snapshot's config keys and the store's.
    keys: ArcSwap<KeyStore>,
    /// The store's control data the key table was last built from.
    control: ArcSwap<ControlData>,
    /// The operator view's read of every tenant's rollups, kept briefly.
    pub operator: crate::operator::OperatorCache,
    control_apply: std::sync::Mutex<()>,
    shutting_down: AtomicBool,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        config: &Config,
        events: EventSink,
        store: Arc<analytics::store::Store>,
        user_tags: UserTagKey,
    ) -> Result<AppState, BuildError> {
        let metrics = Metrics::new();
        metrics.register_pipeline(events.stats().clone());
        metrics.register_counters(events.counters().clone());
        let snapshot = Snapshot::new(config)?;
        let counting = &config.routing.token_count;
        let counter = CountPool::start(PoolSize {
            threads: counting.threads,
            queue: counting.queue,
            nice: counting.nice,
        })
        .map_err(BuildError::CountThreads)?;
        let keys = KeyStore::build(&snapshot.key_inputs, &ControlData::default(), now_ms());
        let control_store = ControlStore::of(&store);
        let limits = Limits::new(
            config.limits.clone(),
            config.analytics.redis_url.as_ref().map(Secret::expose),
            store.clone(),
            metrics.limits.clone(),
        )
        .map_err(|message| BuildError::Invalid {
            path: "analytics.redis_url".to_owned(),
            message,
        })?;
        Ok(AppState(Arc::new(Inner {
            control_store,
            shares: crate::shares::Shares::new(&config.shares),
            keys: ArcSwap::from_pointee(keys),
            control: ArcSwap::from_pointee(ControlData::default()),
            operator: crate::operator::OperatorCache::default(),
            control_apply: std::sync::Mutex::new(()),
            limits,
            snapshot: ArcSwap::from_pointee(snapshot),
            metrics,
            events,
            alerts: Alerts::new(&config.alerts, Some(store.clone())),
            reports: Arc::new(config.reports.clone()),
            store,
            metrics_token: config.server.metrics.token.clone(),
            metrics_on_main_listener: config.server.metrics.listen.is_none(),
            max_concurrent_requests: config.server.limits.max_concurrent_requests,
            counter,
            user_tags,
            shutting_down: AtomicBool::new(false),
        })))
    }

    /// The current snapshot; hold it for the whole request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.0.snapshot.load_full()
    }

    /// Builds a snapshot from `config` and swaps it in. On error the running
    /// snapshot stays as it was.
    pub fn reload(&self, config: &Config) -> Result<(), BuildError> {
        let next = Arc::new(Snapshot::new(config)?);
        self.0.snapshot.store(next.clone());
        self.rebuild_keys(&next, &self.0.control.load());
        Ok(())
    }

    /// The live key table; auth looks keys up here.
    pub fn keys(&self) -> arc_swap::Guard<Arc<KeyStore>> {
        self.0.keys.load()
    }

    /// The store's control data the key table holds now.
    pub fn control(&self) -> Arc<ControlData> {
        self.0.control.load_full()
    }

    /// Swaps in the store's control data `data` (if newer than what is held)
    /// and rebuilds the key table with it; returns whether it was newer.
    pub fn apply_control(&self, data: ControlData) -> bool {
        // One apply at a time, so two refreshes never swap in an older table.
        let _one = self.0.control_apply.lock();
        if data.version <= self.0.control.load().version && data.version != 0 {
            return false;
        }
        let data = Arc::new(data);
        self.0.control.store(data.clone());
        self.rebuild_keys(&self.snapshot(), &data);
        true
    }

    fn rebuild_keys(&self, snapshot: &Snapshot, control: &ControlData) {
        let keys = KeyStore::build(&snapshot.key_inputs, control, now_ms());
        self.0.keys.store(Arc::new(keys));
    }

    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::Relaxed);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::Relaxed)
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Unix milliseconds now (0 before 1970: never, in practice).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
