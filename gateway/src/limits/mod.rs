//! Admission by the limits and budgets of a request's key, team and tenant
//! (`crate::allowance`): requests and tokens per minute, requests in flight,
//! and money per calendar day and month. One call per request, [`Limits::admit`],
//! takes everything the request needs from every limited scope at once, or
//! nothing (a refusal by the tenant does not use up the key's requests); the
//! [`Ticket`] it returns gives back what was not used when the request ends:
//! settled to the exact cost and tokens from the usage event, or released
//! when the request ends without one (its Drop), so no reservation leaks.
//!
//! - `gcra`: the rate arithmetic, and the atomic limiter the local engine uses.
//! - `period`: budget days and months in the configured time zone.
//! - `refusal`: what a refused client is told.
//! - `local`: the in-process engine; its state lives here, keyed by scope,
//!   outside the config snapshot and key store, so reloads keep it.
//! - `shared`: the Redis engine (one Lua script per admission, one per
//!   settlement), for replicas that share one set of limits.
//! - `rebuild`: spend counters rebuilt from the event store when missing.
//! - `reply`: reading the admission script's replies.
//! - `ticket`: what an admitted request holds, and gives back when it ends.
//!
//! With Redis configured (`[analytics] redis_url`) the replicas share every
//! limit exactly. When Redis fails (an error, or no answer within
//! `[limits] redis_timeout_ms`) a replica admits with its local engine at
//! limit / `[limits] replicas` until Redis answers again (tried again after a
//! backoff), says so in `gateway_limits_redis_up` and
//! `gateway_limits_fallback_total`, and logs each transition once.

pub(crate) mod gcra;
mod local;
pub mod period;
mod rebuild;
pub mod refusal;
mod reply;
mod shared;
mod ticket;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use analytics::store::{SpendScope, Store};
use chrono::{DateTime, FixedOffset, Utc};
use pricing::Cost;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::allowance::{Allowance, Scope};
pub use period::Span;
use period::{period_of, Period};
pub use refusal::{Figures, Headroom, Limit, Refusal, Room};
pub use ticket::Ticket;
use ticket::TicketInner;

/// How long a concurrency lease holds if its request's replica never gives it
/// back (it crashed): past it the slot frees itself.
pub const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// What `[limits]` configures.
#[derive(Debug, Clone)]
pub struct Settings {
    /// N: with Redis configured but failing, each replica allows limit / N.
    pub replicas: u32,
    /// Where budget days and months begin.
    pub zone: FixedOffset,
    /// Prefix of every Redis key of the limits.
    pub redis_prefix: String,
    /// Longest wait for Redis on admission before the local fallback.
    pub redis_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            replicas: 1,
            zone: chrono::Offset::fix(&Utc),
            redis_prefix: "gw:lim".to_owned(),
            redis_timeout: Duration::from_millis(500),
        }
    }
}

/// Metric handles, registered by `crate::metrics`.
#[derive(Clone, Default)]
pub struct LimitMetrics {
    /// 1 while Redis answers; 0 in fallback and without Redis.
    pub redis_up: Gauge,
    /// Admissions decided locally because Redis failed.
    pub fallback: Counter,
    pub refused: Family<RefusedLabels, Counter>,
    /// Spend counters rebuilt from the event store.
    pub rebuilds: Counter,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RefusedLabels {
    pub scope: &'static str,
    pub limit: &'static str,
}

/// What one request asks of its scopes.
pub struct Ask<'a> {
    /// The key's tenant (a key's spend is looked up within it).
    pub tenant: &'a str,
    /// The key's, its team's and its tenant's allowances.
    pub scopes: &'a [(Scope, Arc<Allowance>)],
    /// Tokens it is expected to use: the prompt estimate plus its expected
    /// output; corrected to the real usage when it settles.
    pub tokens: u64,
    /// The most it can cost (see `crate::proxy`); reserved from each budget.
    pub reserve: Cost,
}

/// One limited scope of an admission.
#[derive(Debug, Clone)]
struct Item {
    scope: Scope,
    allowance: Arc<Allowance>,
    /// The tenant of the key (for the store's spend query).
    tenant: String,
}

impl Item {
    fn spend_scope(&self) -> SpendScope<'_> {
        match &self.scope {
            Scope::Key(key) => SpendScope::Key {
                tenant: &self.tenant,
                key,
            },
            Scope::Team { tenant, team } => SpendScope::Team { tenant, team },
            Scope::Tenant(tenant) => SpendScope::Tenant(tenant),
        }
    }

    /// The budget of `span`, in nano-USD, if one is set.
    fn budget(&self, span: Span) -> Option<i64> {
        let cost = match span {
            Span::Day => self.allowance.daily_usd,
            Span::Month => self.allowance.monthly_usd,
        }?;
        Some(nano_down(cost))
    }
}

/// Everything an admission took, so its ticket can give it back.
#[derive(Debug)]
struct Plan {
    items: Vec<Item>,
    tokens: u64,
    reserve: Cost,
    reserve_nano: i64,
    day: Period,
    month: Period,
}

/// Money in Redis and in the local counters: integer nano-USD (exact in a
/// Lua double up to $9M). Costs round up, budgets down, so rounding never
/// lets spend pass a budget.
pub(crate) fn nano_up(cost: Cost) -> i64 {
    i64::try_from((cost.0.max(0) + 999) / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn nano_down(cost: Cost) -> i64 {
    i64::try_from(cost.0.max(0) / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn cost_of_nano(nano: i64) -> Cost {
    Cost(i128::from(nano) * 1_000)
}

/// The engine: cheap to clone, shared by every request and every reload.
#[derive(Clone)]
pub struct Limits(Arc<Engine>);

struct Engine {
    settings: Settings,
    local: local::Local,
    shared: Option<shared::Shared>,
    store: Arc<Store>,
    metrics: LimitMetrics,
    /// Settlements still running (spawned), waited for at shutdown.
    pending: AtomicUsize,
    drained: tokio::sync::Notify,
    /// Numbers concurrency leases.
    leases: AtomicU64,
    replica: u64,
}

/// Who took an admission, and so gives it back.
#[derive(Debug, Clone)]
enum Taker {
    Local { divisor: u32 },
    Shared { lease: String },
}

impl Limits {
    /// An engine over Redis at `redis_url` when one is given, else local only.
    pub fn new(
        settings: Settings,
        redis_url: Option<&str>,
        store: Arc<Store>,
        metrics: LimitMetrics,
    ) -> Result<Limits, String> {
        let shared = redis_url
            .map(|url| shared::Shared::new(url, &settings.redis_prefix))
            .transpose()?;
        if shared.is_some() {
            metrics.redis_up.set(1);
        }
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        Ok(Limits(Arc::new(Engine {
            settings,
            local: local::Local::default(),
            shared,
            store,
            metrics,
            pending: AtomicUsize::new(0),
            drained: tokio::sync::Notify::new(),
            leases: AtomicU64::new(0),
            replica: u64::from_le_bytes(random),
        })))
    }

    /// Admits the request or says which limit refused it. `Ok(None)`: nothing
    /// of its scopes is limited.
    pub async fn admit(&self, ask: Ask<'_>) -> Result<Option<Ticket>, Refusal> {
        let items: Vec<Item> = ask
            .scopes
            .iter()
            .filter(|(_, allowance)| !allowance.is_unlimited())
            .map(|(scope, allowance)| Item {
                scope: scope.clone(),
                allowance: allowance.clone(),
                tenant: ask.tenant.to_owned(),
            })
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        let now = Utc::now();
        let zone = self.0.settings.zone;
        let plan = Plan {
            items,
            tokens: ask.tokens,
            reserve: ask.reserve,
            reserve_nano: nano_up(ask.reserve),
            day: period_of(Span::Day, now, zone),
            month: period_of(Span::Month, now, zone),
        };
        let taker = self.take(&plan).await;
        match taker {
            Ok((taker, headroom)) => Ok(Some(Ticket(Arc::new(TicketInner {
                engine: self.0.clone(),
                plan,
                taker,
                headroom,
                done: AtomicBool::new(false),
            })))),
            Err(refusal) => {
                self.0
                    .metrics
                    .refused
                    .get_or_create(&RefusedLabels {
                        scope: refusal.scope,
                        limit: refusal.limit.label(),
                    })
                    .inc();
                Err(refusal)
            }
        }
    }

    async fn take(&self, plan: &Plan) -> Result<(Taker, Headroom), Refusal> {
        let engine = &self.0;
        let Some(shared) = &engine.shared else {
            let headroom = engine.local.admit(engine, plan, 1).await?;
            return Ok((Taker::Local { divisor: 1 }, headroom));
        };
        let attempt = shared.worth_trying();
        if attempt != shared::Try::No {
            let lease = format!(
                "{:016x}:{}",
                engine.replica,
                engine.leases.fetch_add(1, Ordering::Relaxed)
            );
            match shared.admit(engine, plan, &lease).await {
                Ok(Ok(headroom)) => {
                    shared.answered(&engine.metrics);
                    return Ok((Taker::Shared { lease }, headroom));
                }
                Ok(Err(refusal)) => {
                    shared.answered(&engine.metrics);
                    return Err(refusal);
                }
                Err(failure) => {
                    shared.failed(
                        &engine.metrics,
                        failure.error(),
                        attempt == shared::Try::Claimed,
                    );
                    if let shared::Failure::Unanswered { connection, .. } = failure {
                        // The script may still run: give back whatever it
                        // takes, after it on the same connection.
                        let work = shared.settlement(
                            plan,
                            &lease,
                            -i128::from(plan.tokens),
                            -plan.reserve_nano,
                            shared::Mode::Admitted,
                        );
                        engine.spawn_settle(work, Some(connection));
                    }
                }
            }
        }
        engine.metrics.fallback.inc();
        let divisor = engine.settings.replicas.max(1);
        let headroom = engine.local.admit(engine, plan, divisor).await?;
        Ok((Taker::Local { divisor }, headroom))
    }

    /// Waits (up to `grace`) for settlements still being sent to Redis.
    pub async fn drain(&self, grace: Duration) {
        let engine = &self.0;
        let wait = async {
            loop {
                let notified = engine.drained.notified();
                if engine.pending.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(grace, wait).await;
    }

    /// Whether limits are shared through Redis right now.
    pub fn shared_now(&self) -> bool {
        self.0.shared.as_ref().is_some_and(shared::Shared::is_up)
    }
}

/// The wait a budget refusal asks for: until its period ends.
fn until(end: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (end - now).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_rounds_against_overspending() {
        // (pico, up, down)
        let table = [
            (0, 0, 0),
            (1, 1, 0),
            (999, 1, 0),
            (1_000, 1, 1),
            (1_001, 2, 1),
            (-5, 0, 0),
        ];
        for (pico, up, down) in table {
            assert_eq!(nano_up(Cost(pico)), up, "{pico}");
            assert_eq!(nano_down(Cost(pico)), down, "{pico}");
        }
        assert_eq!(cost_of_nano(7), Cost(7_000));
    }
}
