//! Request rates on the public share routes, in process: one GCRA per client
//! address and one per link (by token hash, known or not), each allowing its
//! configured requests per minute (a minute's worth may come at once). The
//! arithmetic is the limits engine's (`limits::gcra`); only the keying is
//! ours. Idle entries are dropped once the tables grow, so random tokens or
//! addresses cannot grow memory without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::gcra::{increment, take};

/// Nanoseconds in a window (a minute).
const WINDOW_NS: u64 = 60_000_000_000;
/// Entries kept before idle ones are swept.
const SWEEP_AT: usize = 50_000;

/// One table of TATs (nanoseconds since the limiter's epoch).
struct Table<K> {
    per_minute: u64,
    tats: Mutex<HashMap<K, u64>>,
}

impl<K: Eq + Hash> Table<K> {
    fn new(per_minute: u32) -> Table<K> {
        Table {
            per_minute: u64::from(per_minute.max(1)),
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of `key` at `now`, or says how long until one fits.
    fn admit(&self, key: K, now: u64) -> Result<(), Duration> {
        let inc = increment(WINDOW_NS, self.per_minute, 1);
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() >= SWEEP_AT {
            tats.retain(|_, tat| *tat > now);
        }
        let tat = tats.entry(key).or_insert(0);
        match take(*tat, now, inc, WINDOW_NS) {
            Ok(next) => {
                *tat = next;
                Ok(())
            }
            Err(wait) => Err(Duration::from_nanos(wait)),
        }
    }

    fn len(&self) -> usize {
        self.tats.lock().map_or(0, |t| t.len())
    }
}

pub struct ShareLimiter {
    by_address: Table<IpAddr>,
    by_link: Table<String>,
    epoch: Instant,
}

impl ShareLimiter {
    pub fn new(per_address: u32, per_link: u32) -> ShareLimiter {
        ShareLimiter {
            by_address: Table::new(per_address),
            by_link: Table::new(per_link),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Admits a request from `address` (when known) for the link whose token
    /// hashes to `link`: `Err(wait)` when either is over its rate. A refused
    /// address takes nothing from the link.
    pub fn admit(&self, address: Option<IpAddr>, link: &str) -> Result<(), Duration> {
        self.admit_at(address, link, self.now())
    }

    fn admit_at(&self, address: Option<IpAddr>, link: &str, now: u64) -> Result<(), Duration> {
        if let Some(address) = address {
            self.by_address.admit(address, now)?;
        }
        self.by_link.admit(link.to_owned(), now)
    }

    /// Entries held (addresses, links): for tests of the sweep.
    pub fn entries(&self) -> (usize, usize) {
        (self.by_address.len(), self.by_link.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn an_address_gets_its_rate_then_waits() {
        let limiter = ShareLimiter::new(3, 1000);
        for _ in 0..3 {
            assert!(limiter.admit_at(ip(1), "l", 0).is_ok());
        }
        let wait = limiter.admit_at(ip(1), "l", 0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.admit_at(ip(2), "l", 0).is_ok(), "another address");
        // A third of a minute later one more fits (3 per minute).
        assert!(limiter.admit_at(ip(1), "l", 20 * SECOND).is_ok());
        assert!(limiter.admit_at(ip(1), "l", 20 * SECOND).is_err());
    }

    #[test]
    fn a_link_gets_its_rate_from_all_addresses() {
        let limiter = ShareLimiter::new(1000, 2);
        assert!(limiter.admit_at(ip(1), "a", 0).is_ok());
        assert!(limiter.admit_at(ip(2), "a", 0).is_ok());
        assert!(limiter.admit_at(ip(3), "a", 0).is_err());
        assert!(limiter.admit_at(ip(3), "b", 0).is_ok(), "another link");
        assert!(limiter.admit_at(None, "b", 0).is_ok());
        assert!(limiter.admit_at(None, "b", 0).is_err());
    }

    #[test]
    fn idle_entries_are_swept() {
        let limiter = ShareLimiter::new(1000, 1000);
        for n in 0..SWEEP_AT {
            assert!(limiter.admit_at(None, &n.to_string(), 0).is_ok());
        }
        assert_eq!(limiter.entries().1, SWEEP_AT);
        // A minute later every entry is idle: the next admission sweeps them.
        assert!(limiter.admit_at(None, "new", 61 * SECOND).is_ok());
        assert_eq!(limiter.entries().1, 1);
    }
}
