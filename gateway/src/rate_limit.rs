//! Per-key request rate limits: a GCRA (generic cell rate algorithm) over one
//! atomic, so checking a limit on the hot path takes no lock. Shared limits across
//! gateway instances (Redis) build on the same arithmetic later.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    /// Time between requests at the sustained rate, in nanoseconds.
    interval_ns: u64,
    /// How far ahead of schedule a burst may run: one minute's worth of requests.
    burst_ns: u64,
    /// Theoretical arrival time of the next request, in ns since `epoch`.
    tat_ns: AtomicU64,
    epoch: Instant,
}

impl RateLimiter {
    pub fn per_minute(rpm: u32) -> RateLimiter {
        let interval_ns = 60_000_000_000 / u64::from(rpm.max(1));
        RateLimiter {
            interval_ns,
            burst_ns: interval_ns * u64::from(rpm.max(1) - 1),
            tat_ns: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Takes one request's worth of capacity, or says how long until one is free.
    pub fn check(&self) -> Result<(), Duration> {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut tat = self.tat_ns.load(Ordering::Relaxed);
        loop {
            let start = tat.max(now);
            if start > now + self.burst_ns {
                return Err(Duration::from_nanos(start - now - self.burst_ns));
            }
            match self.tat_ns.compare_exchange_weak(
                tat,
                start + self.interval_ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allows_a_minute_of_burst_then_the_sustained_rate() {
        let limiter = RateLimiter::per_minute(60);
        for _ in 0..60 {
            assert!(limiter.check().is_ok());
        }
        let wait = limiter.check().unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(limiter.check().is_err());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(limiter.check().is_ok());
        assert!(limiter.check().is_err());
        tokio::time::advance(Duration::from_secs(120)).await;
        for _ in 0..60 {
            assert!(limiter.check().is_ok());
        }
        assert!(limiter.check().is_err());
    }
}
