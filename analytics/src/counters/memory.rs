//! In-process counters, for a gateway without Redis: the same keys, fields and
//! TTLs as Redis, in one map. They must hold in a process that runs for months
//! with any number of tenants, keys and models, so the map is bounded twice:
//!
//! - TTLs as Redis applies them: every increment sets the key's expiry to its TTL
//!   from now; an expired key reads as absent at once, and expired keys are
//!   removed by a sweep at most every [`SWEEP_EVERY`] (and whenever the map is
//!   full).
//! - A hard cap on keys ([`MAX_MEMORY_KEYS`] by default): a new key that finds
//!   the map full of live keys evicts the least recently written tenth of them,
//!   counted in [`MemoryCounters::evicted`] (the `gateway_counter_keys_evicted_total`
//!   metric). Losing a real-time counter loses no usage: the events are stored.
//!
//! Time is a [`tokio::time::Instant`], so a paused test clock drives expiry; the
//! `*_at` functions take it as an argument and are tested by tables.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{CounterValues, Increments, FIELDS, MAX_SCAN_KEYS};

/// Most keys held by default. A tenant's day takes `1 + keys + models` of them
/// and its minutes 120 (two hours), so this holds about three days of 10,000
/// active keys; each costs about 200 bytes.
pub const MAX_MEMORY_KEYS: usize = 100_000;

/// Longest time between two sweeps of expired keys while increments arrive.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Entry {
    values: CounterValues,
    written_at: Instant,
    expires_at: Instant,
}

#[derive(Debug, Default)]
struct Map {
    entries: HashMap<String, Entry>,
    next_sweep: Option<Instant>,
}

/// In-process counters: the keys and fields of Redis, in a bounded map.
#[derive(Debug)]
pub struct MemoryCounters {
    map: Mutex<Map>,
    max_keys: usize,
    evicted: AtomicU64,
    expired: AtomicU64,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        MemoryCounters::with_max_keys(MAX_MEMORY_KEYS)
    }
}

impl MemoryCounters {
    /// Counters holding at most `max_keys` keys (at least one).
    pub fn with_max_keys(max_keys: usize) -> MemoryCounters {
        MemoryCounters {
            map: Mutex::new(Map::default()),
            max_keys: max_keys.max(1),
            evicted: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    /// Adds `increments`, now.
    pub fn apply(&self, increments: &Increments) {
        self.apply_at(increments, Instant::now());
    }

    /// The values of `key`, if it is counted and not expired.
    pub fn values(&self, key: &str) -> Option<CounterValues> {
        self.values_at(key, Instant::now())
    }

    /// The fields of `key`, if it is counted and not expired.
    pub fn get(&self, key: &str) -> Option<HashMap<&'static str, i64>> {
        let row = self.values(key)?;
        Some(FIELDS.iter().copied().zip(row).collect())
    }

    /// Live keys starting with `prefix` (at most [`MAX_SCAN_KEYS`]) and their values.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, CounterValues)> {
        self.with_prefix_at(prefix, Instant::now())
    }

    /// Keys held now (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |map| map.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live keys evicted so far because the map was full.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Expired keys removed so far.
    pub fn expired(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    fn apply_at(&self, increments: &Increments, now: Instant) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if map.next_sweep.is_none_or(|at| now >= at) {
            self.sweep(&mut map, now);
        }
        for (key, (delta, ttl)) in &increments.by_key {
            let expires_at = now + Duration::from_secs(u64::try_from(*ttl).unwrap_or(0));
            if let Some(entry) = map.entries.get_mut(key) {
                if entry.expires_at <= now {
                    // Expired: Redis would start the key afresh.
                    entry.values = [0; FIELDS.len()];
                }
                add(&mut entry.values, delta);
                entry.written_at = now;
                entry.expires_at = expires_at;
                continue;
            }
            if map.entries.len() >= self.max_keys {
                self.make_room(&mut map, now);
            }
            let mut values = [0; FIELDS.len()];
            add(&mut values, delta);
            map.entries.insert(
                key.clone(),
                Entry {
                    values,
                    written_at: now,
                    expires_at,
                },
            );
        }
    }

    fn values_at(&self, key: &str, now: Instant) -> Option<CounterValues> {
        let map = self.map.lock().ok()?;
        map.entries
            .get(key)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.values)
    }

    fn with_prefix_at(&self, prefix: &str, now: Instant) -> Vec<(String, CounterValues)> {
        let Ok(map) = self.map.lock() else {
            return Vec::new();
        };
        map.entries
            .iter()
            .filter(|(key, entry)| entry.expires_at > now && key.starts_with(prefix))
            .take(MAX_SCAN_KEYS)
            .map(|(key, entry)| (key.clone(), entry.values))
            .collect()
    }

    /// Removes expired keys.
    fn sweep(&self, map: &mut Map, now: Instant) {
        let before = map.entries.len();
        map.entries.retain(|_, entry| entry.expires_at > now);
        let removed = before - map.entries.len();
        self.expired.fetch_add(removed as u64, Ordering::Relaxed);
        map.next_sweep = Some(now + SWEEP_EVERY);
    }

    /// Frees at least one slot: expired keys first; if none, the least recently
    /// written tenth of the keys (so a full map is not sorted on every new key).
    fn make_room(&self, map: &mut Map, now: Instant) {
        self.sweep(map, now);
        if map.entries.len() < self.max_keys {
            return;
        }
        let target = self.max_keys - (self.max_keys / 10).max(1);
        let excess = map.entries.len() - target;
        let mut by_age: Vec<(Instant, &String)> = map
            .entries
            .iter()
            .map(|(key, entry)| (entry.written_at, key))
            .collect();
        by_age.select_nth_unstable_by_key(excess - 1, |(written_at, _)| *written_at);
        let oldest: Vec<String> = by_age[..excess]
            .iter()
            .map(|(_, key)| (*key).clone())
            .collect();
        for key in &oldest {
            map.entries.remove(key);
        }
        self.evicted
            .fetch_add(oldest.len() as u64, Ordering::Relaxed);
        tracing::warn!(
            evicted = oldest.len(),
            max_keys = self.max_keys,
            "in-process real-time counters full: least recently written keys evicted (events are kept)"
        );
    }
}

fn add(total: &mut CounterValues, delta: &CounterValues) {
    for (total, value) in total.iter_mut().zip(delta) {
        *total = total.saturating_add(*value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::{DAY_TTL_SECONDS, MINUTE_TTL_SECONDS};

    /// Increments of one request on each of `keys`, with their TTL.
    fn one_request(keys: &[(&str, i64)]) -> Increments {
        let mut increments = Increments::default();
        for (key, ttl) in keys {
            let mut values = [0; FIELDS.len()];
            values[0] = 1;
            increments.by_key.insert((*key).to_owned(), (values, *ttl));
        }
        increments
    }

    fn requests(counters: &MemoryCounters, key: &str, now: Instant) -> Option<i64> {
        counters.values_at(key, now).map(|values| values[0])
    }

    #[test]
    fn keys_expire_after_their_ttl_from_the_last_write() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let counters = MemoryCounters::default();
        let keys = [("minute", MINUTE_TTL_SECONDS), ("day", DAY_TTL_SECONDS)];
        counters.apply_at(&one_request(&keys), t0);
        assert_eq!(requests(&counters, "minute", t0), Some(1));
        counters.apply_at(&one_request(&keys), t0 + secs(60));
        // (time since t0, requests read on the minute key, on the day key)
        let cases = [
            (secs(60), Some(2), Some(2)),
            // The second write moved the expiry to 60 s + TTL.
            (secs(7_200), Some(2), Some(2)),
            (secs(7_259), Some(2), Some(2)),
            (secs(7_260), None, Some(2)),
            (secs(259_259), None, Some(2)),
            (secs(259_260), None, None),
        ];
        for (at, minute, day) in cases {
            assert_eq!(requests(&counters, "minute", t0 + at), minute, "{at:?}");
            assert_eq!(requests(&counters, "day", t0 + at), day, "{at:?}");
        }
        // Scans see only live keys too.
        let live = counters.with_prefix_at("", t0 + secs(7_260));
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].0, "day");
    }

    #[test]
    fn an_expired_key_written_again_starts_from_zero() {
        let t0 = Instant::now();
        let counters = MemoryCounters::default();
        let keys = [("minute", MINUTE_TTL_SECONDS)];
        counters.apply_at(&one_request(&keys), t0);
        counters.apply_at(&one_request(&keys), t0 + Duration::from_secs(1));
        let later = t0 + Duration::from_secs(3 * 3_600);
        counters.apply_at(&one_request(&keys), later);
        assert_eq!(requests(&counters, "minute", later), Some(1));
    }

    #[test]
    fn expired_keys_are_swept_from_memory() {
        let t0 = Instant::now();
        let counters = MemoryCounters::default();
        // Three hours of one tenant's minutes, one write a minute.
        for minute in 0..180u64 {
            let key = format!("gw:acme:m:{minute}");
            let at = t0 + Duration::from_secs(60 * minute);
            counters.apply_at(&one_request(&[(&key, MINUTE_TTL_SECONDS)]), at);
        }
        // Two hours of minutes are live; the sweep keeps at most a minute more.
        assert!((120..=121).contains(&counters.len()), "{}", counters.len());
        assert_eq!(counters.expired(), 180 - counters.len() as u64);
        assert_eq!(counters.evicted(), 0);
    }

    #[test]
    fn a_full_map_evicts_the_least_recently_written_keys_and_counts_them() {
        let t0 = Instant::now();
        let counters = MemoryCounters::with_max_keys(100);
        for i in 0..100u64 {
            let key = format!("k{i}");
            let at = t0 + Duration::from_secs(i);
            counters.apply_at(&one_request(&[(&key, DAY_TTL_SECONDS)]), at);
        }
        // k0 is written again, so it is now among the most recent.
        let now = t0 + Duration::from_secs(100);
        counters.apply_at(&one_request(&[("k0", DAY_TTL_SECONDS)]), now);
        assert_eq!((counters.len(), counters.evicted()), (100, 0));
        counters.apply_at(&one_request(&[("new", DAY_TTL_SECONDS)]), now);
        // A tenth evicted (k1..=k10), then the new key added.
        assert_eq!(counters.evicted(), 10);
        assert_eq!(counters.len(), 91);
        for gone in 1..=10 {
            assert_eq!(requests(&counters, &format!("k{gone}"), now), None);
        }
        for kept in [0, 11, 99] {
            assert!(requests(&counters, &format!("k{kept}"), now).is_some());
        }
        assert_eq!(requests(&counters, "k0", now), Some(2));
        assert_eq!(requests(&counters, "new", now), Some(1));
        // However many distinct keys arrive, the map stays within its cap.
        for i in 0..10_000u64 {
            let key = format!("flood{i}");
            counters.apply_at(&one_request(&[(&key, DAY_TTL_SECONDS)]), now);
            assert!(counters.len() <= 100);
        }
    }

    #[test]
    fn a_full_map_drops_expired_keys_before_live_ones() {
        let t0 = Instant::now();
        let counters = MemoryCounters::with_max_keys(10);
        for i in 0..5 {
            counters.apply_at(
                &one_request(&[(&format!("old{i}"), MINUTE_TTL_SECONDS)]),
                t0,
            );
        }
        for i in 0..5 {
            counters.apply_at(&one_request(&[(&format!("day{i}"), DAY_TTL_SECONDS)]), t0);
        }
        // Within SWEEP_EVERY of the last sweep: only a full map sweeps now.
        let later = t0 + Duration::from_secs(3 * 3_600);
        counters.map.lock().unwrap().next_sweep = Some(later + SWEEP_EVERY);
        counters.apply_at(&one_request(&[("fresh", DAY_TTL_SECONDS)]), later);
        assert_eq!(counters.evicted(), 0);
        assert_eq!(counters.expired(), 5);
        assert_eq!(counters.len(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn the_paused_clock_drives_expiry_through_the_public_api() {
        let counters = MemoryCounters::default();
        counters.apply(&one_request(&[("gw:acme:m:1", MINUTE_TTL_SECONDS)]));
        assert_eq!(counters.get("gw:acme:m:1").map(|f| f["requests"]), Some(1));
        tokio::time::advance(Duration::from_secs(2 * 3_600 + 1)).await;
        assert_eq!(counters.get("gw:acme:m:1"), None);
        assert!(counters.with_prefix("gw:acme").is_empty());
        counters.apply(&one_request(&[("gw:acme:m:2", MINUTE_TTL_SECONDS)]));
        assert_eq!((counters.len(), counters.expired()), (1, 1));
    }
}
