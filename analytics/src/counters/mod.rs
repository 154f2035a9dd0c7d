//! Real-time counters for the current minute and day, per tenant and per key and
//! model within it: requests, errors, tokens, cost and savings. Redis when it is
//! configured (shared by every gateway instance), in-process otherwise.
//!
//! Redis is a cache, never the source of truth: when it is down, increments wait
//! in memory (merged, bounded) and are applied when it returns; the counters can
//! always be rebuilt from the stored events. A send that got no answer may still
//! have been applied, so it is sent again as it was, under its number, and the
//! script skips a number it has seen: an outage never counts a request twice.
//!
//! Key scheme (all hashes; money in integer pico-USD):
//! - `gw:{tenant}:m:{YYYYMMDDHHMM}`: the tenant's minute, TTL 2 hours
//! - `gw:{tenant}:d:{YYYYMMDD}`: the tenant's day, TTL 3 days
//! - `gw:{tenant}:d:{YYYYMMDD}:key:{key_id}`: one key's day, TTL 3 days
//! - `gw:{tenant}:d:{YYYYMMDD}:model:{routed_model}`: one model's day, TTL 3 days
//!
//! Fields: `requests`, `errors`, `prompt_tokens`, `completion_tokens`,
//! `cost_pico`, `baseline_pico`, `savings_pico`, `unpriced`. Money counts priced
//! requests only; `unpriced` counts requests served by a model without a price
//! (their cost is unknown, so they add nothing to cost, baseline or savings).
//!
//! Reads ([`Counters::get`], [`Counters::scan`]) are for the analytics API's
//! real-time figures; the writer task is the only one that increments. The
//! in-process variant (`memory.rs`) honours the same TTLs and is bounded.
//!
//! When Redis loses its data, the counters are rebuilt from the store: the
//! epoch key that tells (and the Redis side of a rebuild) is in `epoch.rs`, the
//! writer's side in `writer::recount`. While that runs,
//! [`Counters::trusted`] is false and the real-time API says so.

mod epoch;
mod memory;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

pub use epoch::{Epoch, Sent, APPLIED_PREFIX, EPOCH_KEY, LOCK_KEY};
pub use memory::{MemoryCounters, MAX_MEMORY_KEYS};

use crate::event::UsageEvent;

pub const MINUTE_TTL_SECONDS: i64 = 2 * 60 * 60;
pub const DAY_TTL_SECONDS: i64 = 3 * 24 * 60 * 60;
/// Most distinct keys held while Redis is unreachable; beyond it increments are
/// dropped and counted (the events themselves are never dropped for this).
pub const MAX_PENDING_KEYS: usize = 100_000;

pub const FIELDS: [&str; 8] = [
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_pico",
    "baseline_pico",
    "savings_pico",
    "unpriced",
];

/// The values of one counter key, in [`FIELDS`] order.
pub type CounterValues = [i64; FIELDS.len()];

/// Increments per key and field, merged over a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Increments {
    pub by_key: HashMap<String, (CounterValues, i64)>,
}

/// Longest wait for a Redis read; the real-time figures fail rather than hang.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for Redis to take the writer's increments (connecting included);
/// past it they stay pending for the next batch, and the events go on to the store.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed send, how long increments only accumulate before Redis is
/// tried again.
pub const APPLY_BACKOFF: Duration = Duration::from_secs(1);
/// Most keys one [`Counters::scan`] returns.
pub const MAX_SCAN_KEYS: usize = 10_000;

/// The key of a tenant's minute.
pub fn minute_key(tenant: &str, at: DateTime<Utc>) -> String {
    let mut key = String::new();
    push_minute_key(&mut key, tenant, at);
    key
}

/// The key of a tenant's day.
pub fn day_key(tenant: &str, day: NaiveDate) -> String {
    let mut key = String::new();
    push_day_key(&mut key, tenant, day);
    key
}

/// The prefix of the per-key (`"key"`) or per-model (`"model"`) keys of a
/// tenant's day; the key id or model name follows it.
pub fn day_part_prefix(tenant: &str, day: NaiveDate, part: &str) -> String {
    let mut key = day_key(tenant, day);
    push_part(&mut key, part);
    key
}

// The writer builds every key of every event into one reused buffer, so the keys
// are written digit by digit here rather than with chrono's `format`, which
// parses its pattern on each call; the readers above use the same functions.

fn push_all(key: &mut String, parts: &[&str]) {
    for part in parts {
        key.push_str(part);
    }
}

/// `:{part}:` after a day key, before the key id or model name.
fn push_part(key: &mut String, part: &str) {
    push_all(key, &[":", part, ":"]);
}

fn push_day_key(key: &mut String, tenant: &str, day: NaiveDate) {
    push_all(key, &["gw:", tenant, ":d:"]);
    push_date(key, day);
}

fn push_minute_key(key: &mut String, tenant: &str, at: DateTime<Utc>) {
    push_all(key, &["gw:", tenant, ":m:"]);
    push_date(key, at.date_naive());
    push_digits(key, at.hour(), 2);
    push_digits(key, at.minute(), 2);
}

/// `YYYYMMDD`, as chrono's `%Y%m%d` writes it (which signs a year outside
/// 0..=9999; such a year takes that slower path).
fn push_date(key: &mut String, day: NaiveDate) {
    match u32::try_from(day.year()) {
        Ok(year) if year <= 9999 => {
            push_digits(key, year, 4);
            push_digits(key, day.month(), 2);
            push_digits(key, day.day(), 2);
        }
        _ => key.push_str(&day.format("%Y%m%d").to_string()),
    }
}

/// `value`'s last `width` decimal digits, zero-padded.
fn push_digits(key: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u32.pow(place) % 10;
        key.push(char::from(b'0' + digit as u8));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CounterReadError {
    #[error("redis: {0}")]
    Redis(String),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

fn add_all(totals: &mut CounterValues, values: CounterValues) {
    for (total, value) in totals.iter_mut().zip(values) {
        *total = total.saturating_add(value);
    }
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

impl Increments {
    /// Adds one event to every key it counts in.
    pub fn add(&mut self, event: &UsageEvent) {
        let (cost, baseline, unpriced) = match event.priced() {
            Some((cost, baseline)) => (cost.0, baseline.0, 0),
            None => (0, 0, 1),
        };
        let values = [
            1,
            i64::from(event.status >= 400 || event.error_kind.is_some()),
            clamp(i128::from(event.prompt_tokens)),
            clamp(i128::from(event.completion_tokens)),
            clamp(cost),
            clamp(baseline),
            clamp(baseline - cost),
            unpriced,
        ];
        let at = event.occurred_at;
        let tenant = &event.tenant_id;
        let day = at.date_naive();
        let mut key = String::with_capacity(64);
        push_minute_key(&mut key, tenant, at);
        self.add_to(&key, MINUTE_TTL_SECONDS, values);
        key.clear();
        push_day_key(&mut key, tenant, day);
        let day_length = key.len();
        self.add_to(&key, DAY_TTL_SECONDS, values);
        push_part(&mut key, "key");
        key.push_str(&event.key_id);
        self.add_to(&key, DAY_TTL_SECONDS, values);
        if let Some(model) = &event.routed_model {
            key.truncate(day_length);
            push_part(&mut key, "model");
            key.push_str(model);
            self.add_to(&key, DAY_TTL_SECONDS, values);
        }
    }

    /// Adds `values` to one key, allocating it only the first time the batch
    /// counts in it (most events of a batch share their keys).
    fn add_to(&mut self, key: &str, ttl: i64, values: CounterValues) {
        match self.by_key.get_mut(key) {
            Some((totals, _)) => add_all(totals, values),
            None => self.add_values(key.to_owned(), ttl, values),
        }
    }

    /// Adds `values` to one key (kept for `ttl` seconds).
    pub fn add_values(&mut self, key: String, ttl: i64, values: CounterValues) {
        let entry = self.by_key.entry(key).or_insert(([0; FIELDS.len()], ttl));
        add_all(&mut entry.0, values);
    }

    pub fn merge(&mut self, other: Increments) {
        for (key, (values, ttl)) in other.by_key {
            self.add_values(key, ttl, values);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Counters kept in Redis, with the increments that could not be sent yet and
/// the epoch they are sent under (see `epoch`).
pub struct RedisCounters {
    client: redis::Client,
    connection: tokio::sync::Mutex<Link>,
    pending: Mutex<Box<Pending>>,
    /// This writer's mark of the last send Redis applied (`gw-applied:<uuid>`,
    /// one key per writer): a send whose answer was lost is sent again under
    /// its number, and the script applies it only if the mark is below it.
    applied_key: String,
    /// The number of the next send; sends are made one at a time, by the
    /// writer task only, so the numbers reach Redis in order.
    next_send: std::sync::atomic::AtomicU64,
    /// The epoch this writer's increments are applied under; `None` until known.
    known: Mutex<Option<String>>,
}

/// The connection, if any, and when the writer may try Redis again after a
/// failed send.
#[derive(Default)]
struct Link {
    connection: Option<redis::aio::MultiplexedConnection>,
    retry_at: Option<tokio::time::Instant>,
}

impl RedisCounters {
    pub fn new(url: &str) -> Result<RedisCounters, redis::RedisError> {
        Ok(RedisCounters {
            client: redis::Client::open(url)?,
            connection: tokio::sync::Mutex::new(Link::default()),
            pending: Mutex::new(Box::default()),
            applied_key: format!("{APPLIED_PREFIX}{}", uuid::Uuid::now_v7().simple()),
            next_send: std::sync::atomic::AtomicU64::new(1),
            known: Mutex::new(None),
        })
    }

    /// Deletes this writer's applied mark once it has sent its last: only its
    /// own resends read it, so a mark left behind would only wait out its TTL,
    /// one per process start. Best effort (Redis may be gone at shutdown).
    pub async fn forget_applied_mark(&self) {
        let mut delete = redis::cmd("DEL");
        delete.arg(&self.applied_key);
        self.send(&delete).await;
    }

    /// Whether increments wait for Redis to come back.
    pub fn has_pending(&self) -> bool {
        self.pending
            .lock()
            .is_ok_and(|pending| pending.unanswered.is_some() || !pending.queued.is_empty())
    }

    /// Lets the next send try Redis at once, even within [`APPLY_BACKOFF`] of a
    /// failure: the last send before the writer stops.
    pub async fn retry_now(&self) {
        self.connection.lock().await.retry_at = None;
    }

    /// Sends `increments` (and anything still pending) in one script that
    /// applies them only if the epoch is still the one this writer knows. When
    /// Redis cannot be reached, or its epoch is another (it lost its data, or
    /// was rebuilt), they are kept, merged, for the caller to decide; returns
    /// what happened and how many increments had to be dropped for the bound.
    pub async fn apply(&self, increments: Increments) -> (Sent, u64) {
        // A send whose answer never came may have been applied: it goes again
        // first, as it was and under its number, so Redis applies it once.
        let unanswered = self
            .pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.unanswered.take());
        if let Some((number, batch)) = unanswered {
            let sent = self.send_numbered(number, &batch).await;
            if sent != Sent::Counted {
                let dropped = if sent == Sent::Unreachable {
                    self.keep(Some((number, batch)), increments, None)
                } else {
                    self.keep(None, batch, Some(increments))
                };
                return (sent, dropped);
            }
        }
        let mut batch = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut pending.queued),
            Err(_) => Increments::default(),
        };
        batch.merge(increments);
        let number = self
            .next_send
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sent = self.send_numbered(number, &batch).await;
        let dropped = match sent {
            Sent::Counted => 0,
            Sent::Unreachable => self.keep(Some((number, batch)), Increments::default(), None),
            Sent::Lost(_) => self.keep(None, batch, None),
        };
        (sent, dropped)
    }

    async fn send_numbered(&self, number: u64, batch: &Increments) -> Sent {
        let known = self.known_epoch();
        let command = epoch::apply_command(known.as_deref(), &self.applied_key, number, batch);
        match self.send(&command).await {
            Some(value) => epoch::applied(value),
            None => Sent::Unreachable,
        }
    }

    /// Keeps what was not applied for the next send: `unanswered` as it was,
    /// `queued` merged into what waits (`merged` too, when given); returns how
    /// many counter keys had to be dropped for [`MAX_PENDING_KEYS`].
    fn keep(
        &self,
        unanswered: Option<(u64, Increments)>,
        queued: Increments,
        merged: Option<Increments>,
    ) -> u64 {
        let Ok(mut pending) = self.pending.lock() else {
            return 0;
        };
        // Anything not sent again as it was (the epoch changed) is merged
        // with what waits: the recount decides what becomes of it.
        pending.unanswered = unanswered;
        pending.queued.merge(queued);
        if let Some(merged) = merged {
            pending.queued.merge(merged);
        }
        let mut dropped = 0;
        while pending.queued.by_key.len() > MAX_PENDING_KEYS {
            let Some(key) = pending.queued.by_key.keys().next().cloned() else {
                break;
            };
            pending.queued.by_key.remove(&key);
            dropped += 1;
        }
        dropped
    }
}

/// Increments Redis has not confirmed.
#[derive(Default)]
struct Pending {
    /// The last send, when Redis did not answer it: it may have been applied,
    /// so it is sent again exactly as it was, under its number.
    unanswered: Option<(u64, Increments)>,
    /// Increments not sent yet, merged.
    queued: Increments,
}

impl Pending {
    /// Everything not confirmed, merged.
    fn take_all(&mut self) -> Increments {
        let mut all = std::mem::take(&mut self.queued);
        if let Some((_, unanswered)) = self.unanswered.take() {
            all.merge(unanswered);
        }
        all
    }
}

impl RedisCounters {
    /// Sends `command`, connecting first if needed, unless Redis failed within
    /// the last [`APPLY_BACKOFF`]; `None` when Redis could not be reached. A
    /// Redis that does not answer must not hold up the event writer: every
    /// attempt is bounded by [`APPLY_TIMEOUT`], and after a failure the next
    /// batches do not wait for it at all for a while.
    async fn send(&self, command: &redis::Cmd) -> Option<redis::Value> {
        let mut link = self.connection.lock().await;
        if link
            .retry_at
            .is_some_and(|at| tokio::time::Instant::now() < at)
        {
            return None;
        }
        let slot = &mut link.connection;
        let attempt = async {
            if slot.is_none() {
                *slot = self.client.get_multiplexed_async_connection().await.ok();
            }
            match slot.as_mut() {
                Some(connection) => command.query_async::<redis::Value>(connection).await.ok(),
                None => None,
            }
        };
        let sent = tokio::time::timeout(APPLY_TIMEOUT, attempt)
            .await
            .unwrap_or(None);
        if sent.is_some() {
            link.retry_at = None;
        } else {
            link.connection = None;
            link.retry_at = Some(tokio::time::Instant::now() + APPLY_BACKOFF);
        }
        sent
    }

    /// A connection for reads (the multiplexed one the writer uses, cloned).
    async fn reader(&self) -> Result<redis::aio::MultiplexedConnection, CounterReadError> {
        let mut link = self.connection.lock().await;
        if let Some(connection) = link.connection.as_ref() {
            return Ok(connection.clone());
        }
        let connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| CounterReadError::Redis(e.to_string()))?;
        link.connection = Some(connection.clone());
        Ok(connection)
    }

    async fn values(
        connection: &mut redis::aio::MultiplexedConnection,
        keys: &[String],
    ) -> Result<Vec<Option<CounterValues>>, CounterReadError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.hgetall(key);
        }
        let maps: Vec<HashMap<String, i64>> = pipe
            .query_async(connection)
            .await
            .map_err(|e| CounterReadError::Redis(e.to_string()))?;
        Ok(maps
            .into_iter()
            .map(|map| {
                (!map.is_empty())
                    .then(|| FIELDS.map(|field| map.get(field).copied().unwrap_or_default()))
            })
            .collect())
    }

    async fn get(&self, key: &str) -> Result<Option<CounterValues>, CounterReadError> {
        let mut connection = self.reader().await?;
        let values = RedisCounters::values(&mut connection, &[key.to_owned()]).await?;
        Ok(values.into_iter().next().flatten())
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, CounterValues)>, CounterReadError> {
        let mut connection = self.reader().await?;
        let pattern = format!("{}*", glob_escape(prefix));
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await
                .map_err(|e| CounterReadError::Redis(e.to_string()))?;
            keys.extend(found);
            cursor = next;
            if cursor == 0 || keys.len() >= MAX_SCAN_KEYS {
                break;
            }
        }
        keys.sort();
        keys.dedup();
        keys.truncate(MAX_SCAN_KEYS);
        let values = RedisCounters::values(&mut connection, &keys).await?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(key, values)| Some((key, values?)))
            .collect())
    }
}

/// `text` as a Redis glob matching itself only.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The configured counters.
pub enum Counters {
    Redis(RedisCounters),
    Memory(MemoryCounters),
}

impl Counters {
    /// `"redis"` or `"memory"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Counters::Redis(_) => "redis",
            Counters::Memory(_) => "memory",
        }
    }

    /// The values of `key`; `None` if it was never counted (or expired).
    pub async fn get(&self, key: &str) -> Result<Option<CounterValues>, CounterReadError> {
        match self {
            Counters::Memory(memory) => Ok(memory.values(key)),
            Counters::Redis(redis) => tokio::time::timeout(READ_TIMEOUT, redis.get(key))
                .await
                .map_err(|_| CounterReadError::Timeout(READ_TIMEOUT))?,
        }
    }

    /// Whether the figures can be trusted: `Ok(true)` in process, and in Redis
    /// while its epoch is stable (not lost, not being rebuilt; see `epoch`).
    pub async fn trusted(&self) -> Result<bool, CounterReadError> {
        match self {
            Counters::Memory(_) => Ok(true),
            Counters::Redis(redis) => Ok(redis.epoch().await?.is_stable()),
        }
    }

    /// Every key starting with `prefix` (at most [`MAX_SCAN_KEYS`]) with its
    /// values, in no particular order.
    pub async fn scan(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, CounterValues)>, CounterReadError> {
        match self {
            Counters::Memory(memory) => Ok(memory.with_prefix(prefix)),
            Counters::Redis(redis) => tokio::time::timeout(READ_TIMEOUT, redis.scan(prefix))
                .await
                .map_err(|_| CounterReadError::Timeout(READ_TIMEOUT))?,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::tests::sample;

    #[test]
    fn keys_spell_dates_as_chrono_does() {
        for (y, mo, d, h, mi) in [
            (2026, 1, 2, 3, 4),
            (2026, 12, 31, 23, 59),
            (999, 10, 10, 0, 0),
            (0, 1, 1, 12, 30),
            (-1, 6, 6, 6, 6),
            (10_000, 2, 29, 1, 1),
        ] {
            let at = Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap();
            assert_eq!(
                minute_key("t", at),
                format!("gw:t:m:{}", at.format("%Y%m%d%H%M")),
                "{at}"
            );
            assert_eq!(
                day_part_prefix("t", at.date_naive(), "key"),
                format!("gw:t:d:{}:key:", at.format("%Y%m%d")),
                "{at}"
            );
        }
    }

    #[test]
    fn one_event_counts_in_minute_day_key_and_model() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 15).unwrap();
        let mut increments = Increments::default();
        increments.add(&sample("acme", at));
        increments.add(&sample("acme", at));
        let keys: Vec<&String> = {
            let mut keys: Vec<&String> = increments.by_key.keys().collect();
            keys.sort();
            keys
        };
        assert_eq!(
            keys,
            [
                "gw:acme:d:20261125",
                "gw:acme:d:20261125:key:key-1",
                "gw:acme:d:20261125:model:gpt-4o-mini",
                "gw:acme:m:202611250930"
            ]
        );
        let (values, ttl) = increments.by_key["gw:acme:m:202611250930"];
        assert_eq!(ttl, MINUTE_TTL_SECONDS);
        // 2 requests, 0 errors, 2,000 prompt, 200 completion, $0.00042 cost,
        // $0.007 baseline, $0.00658 savings, in pico-USD.
        assert_eq!(
            values,
            [
                2,
                0,
                2_000,
                200,
                420_000_000,
                7_000_000_000,
                6_580_000_000,
                0
            ]
        );
        let memory = MemoryCounters::default();
        memory.apply(&increments);
        assert_eq!(memory.get("gw:acme:d:20261125").unwrap()["requests"], 2);
        assert_eq!(minute_key("acme", at), "gw:acme:m:202611250930");
        let day = at.date_naive();
        assert_eq!(day_key("acme", day), "gw:acme:d:20261125");
        let by_key = memory.with_prefix(&day_part_prefix("acme", day, "key"));
        assert_eq!(by_key.len(), 1);
        assert_eq!(by_key[0].0, "gw:acme:d:20261125:key:key-1");
        assert_eq!(by_key[0].1[0], 2);
    }

    #[test]
    fn unpriced_events_count_apart_and_add_no_money() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 15).unwrap();
        let mut unpriced = sample("acme", at);
        unpriced.cost_usd = None;
        unpriced.baseline_usd = None;
        let mut increments = Increments::default();
        increments.add(&sample("acme", at));
        increments.add(&unpriced);
        let (values, _) = increments.by_key["gw:acme:d:20261125"];
        // Two requests and their tokens; the priced one's money only; one unpriced.
        assert_eq!(
            values,
            [
                2,
                0,
                2_000,
                200,
                210_000_000,
                3_500_000_000,
                3_290_000_000,
                1
            ]
        );
    }

    #[test]
    fn globs_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\d"), "a\\*b\\?\\[c\\]\\\\d");
    }

    #[tokio::test]
    async fn memory_counters_read_like_redis() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 15).unwrap();
        let mut increments = Increments::default();
        increments.add(&sample("acme", at));
        let memory = MemoryCounters::default();
        memory.apply(&increments);
        let counters = Counters::Memory(memory);
        let day = counters
            .get(&day_key("acme", at.date_naive()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(day[0], 1);
        assert!(counters.get("gw:other:d:20261125").await.unwrap().is_none());
        let models = counters
            .scan(&day_part_prefix("acme", at.date_naive(), "model"))
            .await
            .unwrap();
        assert_eq!(models.len(), 1);
    }
}
