//! Real-time counters for the current minute and day, per tenant and per key and
//! model within it: requests, errors, tokens, cost and savings. Redis when it is
//! configured (shared by every gateway instance), in-process otherwise.
//!
//! Redis is a cache, never the source of truth: when it is down, increments wait
//! in memory (merged, bounded) and are applied when it returns; the counters can
//! always be rebuilt from the stored events.
//!
//! Key scheme (all hashes; money in integer pico-USD):
//! - `gw:{tenant}:m:{YYYYMMDDHHMM}`: the tenant's minute, TTL 2 hours
//! - `gw:{tenant}:d:{YYYYMMDD}`: the tenant's day, TTL 3 days
//! - `gw:{tenant}:d:{YYYYMMDD}:key:{key_id}`: one key's day, TTL 3 days
//! - `gw:{tenant}:d:{YYYYMMDD}:model:{routed_model}`: one model's day, TTL 3 days
//!
//! Fields: `requests`, `errors`, `prompt_tokens`, `completion_tokens`,
//! `cost_pico`, `baseline_pico`, `savings_pico`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::event::UsageEvent;

pub const MINUTE_TTL_SECONDS: i64 = 2 * 60 * 60;
pub const DAY_TTL_SECONDS: i64 = 3 * 24 * 60 * 60;
/// Most distinct keys held while Redis is unreachable; beyond it increments are
/// dropped and counted (the events themselves are never dropped for this).
pub const MAX_PENDING_KEYS: usize = 100_000;

pub const FIELDS: [&str; 7] = [
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_pico",
    "baseline_pico",
    "savings_pico",
];

/// Increments per key and field, merged over a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Increments {
    pub by_key: HashMap<String, ([i64; 7], i64)>,
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

impl Increments {
    /// Adds one event to every key it counts in.
    pub fn add(&mut self, event: &UsageEvent) {
        let cost = event.cost().0;
        let baseline = event.baseline().0;
        let values = [
            1,
            i64::from(event.status >= 400 || event.error_kind.is_some()),
            clamp(i128::from(event.prompt_tokens)),
            clamp(i128::from(event.completion_tokens)),
            clamp(cost),
            clamp(baseline),
            clamp(baseline - cost),
        ];
        let at = event.occurred_at;
        let tenant = &event.tenant_id;
        let day = at.format("%Y%m%d");
        let minute = at.format("%Y%m%d%H%M");
        let mut keys = vec![
            (format!("gw:{tenant}:m:{minute}"), MINUTE_TTL_SECONDS),
            (format!("gw:{tenant}:d:{day}"), DAY_TTL_SECONDS),
            (
                format!("gw:{tenant}:d:{day}:key:{}", event.key_id),
                DAY_TTL_SECONDS,
            ),
        ];
        if let Some(model) = &event.routed_model {
            keys.push((
                format!("gw:{tenant}:d:{day}:model:{model}"),
                DAY_TTL_SECONDS,
            ));
        }
        for (key, ttl) in keys {
            let entry = self.by_key.entry(key).or_insert(([0; 7], ttl));
            for (total, value) in entry.0.iter_mut().zip(values) {
                *total = total.saturating_add(value);
            }
        }
    }

    pub fn merge(&mut self, other: Increments) {
        for (key, (values, ttl)) in other.by_key {
            let entry = self.by_key.entry(key).or_insert(([0; 7], ttl));
            for (total, value) in entry.0.iter_mut().zip(values) {
                *total = total.saturating_add(value);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// In-process counters: the same keys and fields, in a map.
#[derive(Debug, Default)]
pub struct MemoryCounters {
    values: Mutex<HashMap<String, [i64; 7]>>,
}

impl MemoryCounters {
    pub fn apply(&self, increments: &Increments) {
        if let Ok(mut values) = self.values.lock() {
            for (key, (delta, _ttl)) in &increments.by_key {
                let entry = values.entry(key.clone()).or_insert([0; 7]);
                for (total, value) in entry.iter_mut().zip(delta) {
                    *total = total.saturating_add(*value);
                }
            }
        }
    }

    /// The fields of `key`, if it was ever counted.
    pub fn get(&self, key: &str) -> Option<HashMap<&'static str, i64>> {
        let values = self.values.lock().ok()?;
        let row = values.get(key)?;
        Some(FIELDS.iter().copied().zip(row.iter().copied()).collect())
    }
}

/// Counters kept in Redis, with the increments that could not be sent yet.
pub struct RedisCounters {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    pending: Mutex<Increments>,
}

impl RedisCounters {
    pub fn new(url: &str) -> Result<RedisCounters, redis::RedisError> {
        Ok(RedisCounters {
            client: redis::Client::open(url)?,
            connection: tokio::sync::Mutex::new(None),
            pending: Mutex::new(Increments::default()),
        })
    }

    /// Sends `increments` (and anything still pending) in one pipeline. On
    /// failure they are kept, merged, for the next call; returns whether Redis
    /// took them and how many increments had to be dropped for the bound.
    pub async fn apply(&self, increments: Increments) -> (bool, u64) {
        let mut batch = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => Increments::default(),
        };
        batch.merge(increments);
        if batch.is_empty() {
            return (true, 0);
        }
        let mut pipe = redis::pipe();
        for (key, (values, ttl)) in &batch.by_key {
            for (field, value) in FIELDS.iter().zip(values) {
                if *value != 0 {
                    pipe.hincr(key, *field, *value).ignore();
                }
            }
            pipe.expire(key, *ttl).ignore();
        }
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            *guard = self.client.get_multiplexed_async_connection().await.ok();
        }
        let sent = match guard.as_mut() {
            Some(connection) => pipe.query_async::<()>(connection).await.is_ok(),
            None => false,
        };
        if sent {
            return (true, 0);
        }
        *guard = None;
        drop(guard);
        let mut dropped = 0;
        if let Ok(mut pending) = self.pending.lock() {
            pending.merge(batch);
            while pending.by_key.len() > MAX_PENDING_KEYS {
                let Some(key) = pending.by_key.keys().next().cloned() else {
                    break;
                };
                pending.by_key.remove(&key);
                dropped += 1;
            }
        }
        (false, dropped)
    }
}

/// The configured counters.
pub enum Counters {
    Redis(RedisCounters),
    Memory(MemoryCounters),
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::tests::sample;

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
            [2, 0, 2_000, 200, 420_000_000, 7_000_000_000, 6_580_000_000]
        );
        let memory = MemoryCounters::default();
        memory.apply(&increments);
        assert_eq!(memory.get("gw:acme:d:20261125").unwrap()["requests"], 2);
    }
}
