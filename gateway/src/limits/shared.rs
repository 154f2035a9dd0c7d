//! The Redis engine: every replica admits through one atomic Lua script
//! (`admit.lua`, sent by EVALSHA; loaded again if Redis answers NOSCRIPT), so
//! N replicas share one set of limits exactly. One round trip per admission;
//! the settlement (`settle.lua`) runs after the answer, off the client's path.
//!
//! Keys (`P` = `[limits] redis_prefix`, scope ids from `Scope::id`):
//! `P:{scope}:rpm`, `P:{scope}:tpm` (GCRA TAT, microseconds of Redis time),
//! `P:{scope}:conc` (ZSET of leases scored by expiry), and
//! `P:{scope}:spend:d:YYYYMMDD` / `:spend:m:YYYYMM` (spend including open
//! reservations, integer nano-USD). A missing spend counter is rebuilt from
//! the event store (`rebuild`) before the admission is tried again: Redis is
//! a cache, and after it loses its data the store's sum is the truth.
//!
//! Health: an error or a reply later than `[limits] redis_timeout_ms` marks
//! Redis down (the caller falls back to local limits); it is tried again
//! after a backoff (1 s, doubling to 30 s), by the next admission.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::time::Instant;

use super::gcra::increment;
use super::period::{Period, Span};
use super::refusal::{Headroom, Refusal};
use super::reply::{headroom, integers, refusal, WINDOW_US};
use super::{rebuild, until, Engine, LimitMetrics, Plan, LEASE_TTL};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Rebuild-and-retry rounds before an admission gives up on Redis.
const ROUNDS: usize = 3;

pub(super) struct Shared {
    client: redis::Client,
    connection: Mutex<Option<MultiplexedConnection>>,
    admit: redis::Script,
    settle: redis::Script,
    prefix: String,
    up: AtomicBool,
    /// When Redis may be tried again, and the wait after the next failure.
    retry: Mutex<(Option<Instant>, Duration)>,
}

/// Whether an admission asks Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Try {
    Up,
    /// Redis is down and this admission is the one that tries it again.
    Claimed,
    No,
}

/// A settlement ready to send: keys and arguments of `settle.lua`.
pub(super) struct Settlement {
    keys: Vec<String>,
    args: Vec<String>,
    mode: Mode,
}

/// What a settlement gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// What `admit.lua` took under a lease beyond what was used (once, and
    /// only if that admission happened).
    Admitted,
    /// The cost of a request a replica admitted alone while Redis failed,
    /// added to the spend counters Redis has (a rebuild counts the rest).
    Spent,
}

/// Why an admission did not get an answer from Redis.
pub(super) enum Failure {
    /// Nothing was taken.
    Unreachable(String),
    /// The script was sent but no answer came in time: it may still run.
    /// What it takes is given back on `connection` (after it, in order).
    Unanswered {
        error: String,
        connection: MultiplexedConnection,
    },
}

impl Failure {
    pub(super) fn error(&self) -> &str {
        match self {
            Failure::Unreachable(error) | Failure::Unanswered { error, .. } => error,
        }
    }
}

impl Shared {
    pub(super) fn new(url: &str, prefix: &str) -> Result<Shared, String> {
        let client = redis::Client::open(url).map_err(|e| format!("analytics.redis_url: {e}"))?;
        Ok(Shared {
            client,
            connection: Mutex::new(None),
            admit: redis::Script::new(include_str!("admit.lua")),
            settle: redis::Script::new(include_str!("settle.lua")),
            prefix: prefix.to_owned(),
            up: AtomicBool::new(true),
            retry: Mutex::new((None, FIRST_BACKOFF)),
        })
    }

    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Whether to ask Redis: yes while it is up; once down, one caller per
    /// backoff window claims a try (the others stay local meanwhile).
    pub(super) fn worth_trying(&self) -> Try {
        if self.is_up() {
            return Try::Up;
        }
        let Ok(mut retry) = self.retry.lock() else {
            return Try::Claimed;
        };
        let now = Instant::now();
        if retry.0.is_some_and(|at| now < at) {
            return Try::No;
        }
        let wait = retry.1;
        retry.0 = Some(now + wait);
        Try::Claimed
    }

    pub(super) fn answered(&self, metrics: &LimitMetrics) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("redis answers again: limits and budgets are shared again");
            metrics.redis_up.set(1);
            if let Ok(mut retry) = self.retry.lock() {
                *retry = (None, FIRST_BACKOFF);
            }
        }
    }

    /// Marks Redis down. The wait before the next try doubles once per
    /// failed claimed try, not per request that failed at the same moment.
    pub(super) fn failed(&self, metrics: &LimitMetrics, error: &str, claimed: bool) {
        if let Ok(mut slot) = self.connection.lock() {
            *slot = None;
        }
        let was_up = self.up.swap(false, Ordering::Relaxed);
        if was_up {
            tracing::warn!(
                error,
                "redis unreachable: limits fall back to this replica's share (limit / limits.replicas)"
            );
            metrics.redis_up.set(0);
        }
        if let Ok(mut retry) = self.retry.lock() {
            let now = Instant::now();
            if was_up {
                *retry = (Some(now + FIRST_BACKOFF), FIRST_BACKOFF);
            } else if claimed {
                // The claimed try failed: wait twice as long next time.
                let wait = (retry.1 * 2).min(MAX_BACKOFF);
                *retry = (Some(now + wait), wait);
            }
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        if let Some(connection) = self.connection.lock().ok().and_then(|slot| slot.clone()) {
            return Ok(connection);
        }
        let connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        if let Ok(mut slot) = self.connection.lock() {
            *slot = Some(connection.clone());
        }
        Ok(connection)
    }

    fn key(&self, scope_id: &str, what: &str) -> String {
        format!("{}:{scope_id}:{what}", self.prefix)
    }

    fn spend_key(&self, scope_id: &str, period: &Period) -> String {
        format!("{}:{scope_id}:spend:{}", self.prefix, period.name)
    }

    /// Runs `admit.lua` for `plan` (rebuilding missing spend counters between
    /// rounds). `Err`: Redis failed; the caller falls back.
    pub(super) async fn admit(
        &self,
        engine: &Engine,
        plan: &Plan,
        lease: &str,
    ) -> Result<Result<Headroom, Refusal>, Failure> {
        let timeout = engine.settings.redis_timeout;
        let mut keys = Vec::with_capacity(plan.items.len() * 5 + 1);
        let mut args = vec![
            lease.to_owned(),
            LEASE_TTL.as_micros().to_string(),
            plan.reserve_nano.to_string(),
            plan.items.len().to_string(),
        ];
        for item in &plan.items {
            let id = item.scope.id();
            keys.push(self.key(&id, "rpm"));
            keys.push(self.key(&id, "tpm"));
            keys.push(self.key(&id, "conc"));
            keys.push(self.spend_key(&id, &plan.day));
            keys.push(self.spend_key(&id, &plan.month));
            let allowance = &item.allowance;
            let rpm = allowance
                .rpm
                .map_or(0, |rpm| increment(WINDOW_US, u64::from(rpm), 1));
            let tpm = allowance
                .tpm
                .map_or(0, |tpm| increment(WINDOW_US, tpm, plan.tokens));
            args.push(rpm.to_string());
            args.push(tpm.to_string());
            args.push(allowance.max_concurrent.unwrap_or(0).to_string());
            args.push(item.budget(Span::Day).unwrap_or(0).to_string());
            args.push(item.budget(Span::Month).unwrap_or(0).to_string());
        }
        keys.push(self.key("lease", lease));
        for _ in 0..ROUNDS {
            let mut connection = tokio::time::timeout(timeout, self.connection())
                .await
                .map_err(|_| "no connection within limits.redis_timeout_ms".to_owned())
                .and_then(|connected| connected)
                .map_err(Failure::Unreachable)?;
            let mut invocation = self.admit.prepare_invoke();
            for key in &keys {
                invocation.key(key);
            }
            for arg in &args {
                invocation.arg(arg);
            }
            let answer =
                tokio::time::timeout(timeout, invocation.invoke_async(&mut connection)).await;
            let reply: Value = match answer {
                Ok(reply) => reply.map_err(|e| Failure::Unreachable(e.to_string()))?,
                Err(_) => {
                    return Err(Failure::Unanswered {
                        error: "no answer within limits.redis_timeout_ms".to_owned(),
                        connection,
                    })
                }
            };
            let numbers = integers(&reply).map_err(Failure::Unreachable)?;
            match numbers.first() {
                Some(1) => return Ok(Ok(headroom(plan, &numbers[1..]))),
                Some(0) => return Ok(Err(refusal(plan, &numbers).map_err(Failure::Unreachable)?)),
                Some(2) => {
                    for &index in &numbers[1..] {
                        self.rebuild(engine, plan, &keys, index, &mut connection)
                            .await
                            .map_err(Failure::Unreachable)?;
                    }
                }
                _ => {
                    return Err(Failure::Unreachable(format!(
                        "unexpected reply from admit.lua: {reply:?}"
                    )))
                }
            }
        }
        Err(Failure::Unreachable(
            "spend counters vanished again after their rebuild".to_owned(),
        ))
    }

    /// Sets the missing spend counter at 1-based `index` of `keys` to the
    /// store's sum, unless another replica did first.
    async fn rebuild(
        &self,
        engine: &Engine,
        plan: &Plan,
        keys: &[String],
        index: i64,
        connection: &mut MultiplexedConnection,
    ) -> Result<(), String> {
        let position = usize::try_from(index - 1).map_err(|_| "bad key index".to_owned())?;
        let (Some(item), Some(key)) = (plan.items.get(position / 5), keys.get(position)) else {
            return Err("bad key index".to_owned());
        };
        let period = if position % 5 == 3 {
            &plan.day
        } else {
            &plan.month
        };
        let (spent, verified) = rebuild::spend(engine, item, period).await;
        // Past the period's end by a day, so a late settlement still finds it;
        // an unverified one (the store did not answer) is tried again soon.
        let ttl = if verified {
            until(period.end, Utc::now()).as_secs() + 86_400
        } else {
            rebuild::RECHECK.as_secs()
        };
        let mut command = redis::cmd("SET");
        command
            .arg(key)
            .arg(spent)
            .arg("NX")
            .arg("EX")
            .arg(ttl.max(1));
        let set = command.query_async::<Value>(connection);
        tokio::time::timeout(engine.settings.redis_timeout, set)
            .await
            .map_err(|_| "no answer within limits.redis_timeout_ms".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The settlement of an admission of `plan` under `lease` (`Mode::Spent`:
    /// `spend_delta` is the cost of a request admitted without Redis).
    pub(super) fn settlement(
        &self,
        plan: &Plan,
        lease: &str,
        token_delta: i128,
        spend_delta: i64,
        mode: Mode,
    ) -> Settlement {
        let mut keys = Vec::with_capacity(plan.items.len() * 4 + 1);
        let mut args = vec![
            lease.to_owned(),
            plan.items.len().to_string(),
            spend_delta.to_string(),
            match mode {
                Mode::Admitted => "admitted",
                Mode::Spent => "spent",
            }
            .to_owned(),
        ];
        for item in &plan.items {
            let id = item.scope.id();
            keys.push(self.key(&id, "tpm"));
            keys.push(self.key(&id, "conc"));
            keys.push(self.spend_key(&id, &plan.day));
            keys.push(self.spend_key(&id, &plan.month));
            let allowance = &item.allowance;
            let tpm_delta = allowance
                .tpm
                .map_or(0, |tpm| signed_increment(tpm, token_delta));
            args.push(tpm_delta.to_string());
            let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
            args.push(flag(
                mode == Mode::Admitted && allowance.max_concurrent.is_some(),
            ));
            args.push(flag(allowance.daily_usd.is_some()));
            args.push(flag(allowance.monthly_usd.is_some()));
        }
        keys.push(self.key("lease", lease));
        Settlement { keys, args, mode }
    }

    /// Sends a settlement; a failure is logged (the lease then expires by its
    /// TTL and the reservation stays counted until the period ends).
    pub(super) async fn settle(
        &self,
        work: Settlement,
        on: Option<MultiplexedConnection>,
        timeout: Duration,
    ) {
        let attempt = async {
            let mut connection = match on {
                Some(connection) => connection,
                None => self.connection().await?,
            };
            let mut invocation = self.settle.prepare_invoke();
            for key in &work.keys {
                invocation.key(key);
            }
            for arg in &work.args {
                invocation.arg(arg);
            }
            invocation
                .invoke_async::<Value>(&mut connection)
                .await
                .map_err(|e| e.to_string())
        };
        // Off the client's path: more patience than an admission gets.
        let error = match tokio::time::timeout(timeout * 10, attempt).await {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => error,
            Err(_) => "timed out".to_owned(),
        };
        match work.mode {
            Mode::Admitted => {
                tracing::warn!(error, "could not settle a request's limits in redis");
            }
            // Redis is known to be failing; the store has the cost.
            Mode::Spent => tracing::debug!(error, "redis still unreachable for a late spend"),
        }
    }
}

/// The TAT move (microseconds) for `delta` tokens at `tpm`, signed.
fn signed_increment(tpm: u64, delta: i128) -> i128 {
    let magnitude = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    // Not capped at the limit (unlike an admission): a correction moves by
    // what was really used.
    let micros = u128::from(WINDOW_US) * u128::from(magnitude) / u128::from(tpm.max(1));
    let micros = i128::try_from(micros).unwrap_or(i128::MAX);
    if delta < 0 {
        -micros
    } else {
        micros
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_backoff_doubles_per_failed_try_not_per_failed_request() {
        let shared = Shared::new("redis://127.0.0.1:1", "p").unwrap();
        let metrics = LimitMetrics::default();
        assert_eq!(shared.worth_trying(), Try::Up);
        // A burst of requests fails at once: one backoff of 1 s.
        for _ in 0..10 {
            shared.failed(&metrics, "refused", false);
        }
        assert_eq!(metrics.redis_up.get(), 0);
        assert_eq!(shared.worth_trying(), Try::No);
        tokio::time::advance(Duration::from_millis(1_000)).await;
        assert_eq!(shared.worth_trying(), Try::Claimed);
        assert_eq!(shared.worth_trying(), Try::No, "one try per window");
        shared.failed(&metrics, "refused", true);
        tokio::time::advance(Duration::from_millis(1_999)).await;
        assert_eq!(shared.worth_trying(), Try::No);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(shared.worth_trying(), Try::Claimed);
        shared.answered(&metrics);
        assert_eq!(metrics.redis_up.get(), 1);
        assert_eq!(shared.worth_trying(), Try::Up);
        // Down again: the backoff starts over at 1 s.
        shared.failed(&metrics, "refused", false);
        tokio::time::advance(Duration::from_millis(1_000)).await;
        assert_eq!(shared.worth_trying(), Try::Claimed);
    }

    #[test]
    fn corrections_move_the_tat_by_the_tokens_really_used() {
        // (tpm, delta tokens, microseconds)
        let table = [
            (1_000, 100, 6_000_000),
            (1_000, -100, -6_000_000),
            (1_000, 0, 0),
            (60_000_000, 1, 1),
            (7, 1, 8_571_428),
        ];
        for (tpm, delta, micros) in table {
            assert_eq!(signed_increment(tpm, delta), micros, "{tpm} {delta}");
        }
    }
}
