//! Live provider health: a circuit breaker per provider and a moving average of
//! time-to-first-byte per deployment. Routing reads them through [`Health`], so
//! the decision itself stays a pure function and tests pass a table instead.
//!
//! Breaker states: closed (requests flow); open after `threshold` consecutive
//! failures, for `open_for` (requests skip the provider); then half-open, where
//! exactly one request probes the provider: success closes it, failure reopens.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// What routing needs to know about health.
pub trait Health {
    /// False while the provider's circuit is open.
    fn available(&self, provider: usize) -> bool;
    /// Moving average of time to first byte, in microseconds; 0 when unobserved,
    /// so a new deployment is tried rather than starved.
    fn latency_us(&self, deployment: usize) -> u64;
}

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    open_for: Duration,
    epoch: Instant,
    consecutive_failures: AtomicU32,
    /// Nanoseconds since `epoch` until which the circuit is open; 0 when closed.
    open_until: AtomicU64,
    probing: AtomicBool,
}

/// Whether a request may go to a provider, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Closed,
    /// The one request allowed through a half-open circuit.
    Probe,
    Rejected,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, open_for: Duration) -> CircuitBreaker {
        CircuitBreaker {
            threshold: threshold.max(1),
            open_for,
            epoch: Instant::now(),
            consecutive_failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Not open (closed, or half-open with its probe slot free).
    pub fn available(&self) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        until == 0 || (self.now() >= until && !self.probing.load(Ordering::Acquire))
    }

    /// Open or half-open: tripped and not yet closed by a successful probe
    /// (what the provider-circuit alert watches).
    pub fn tripped(&self) -> bool {
        self.open_until.load(Ordering::Acquire) != 0
    }

    /// Takes permission to send one request.
    pub fn admit(&self) -> Admission {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return Admission::Closed;
        }
        if self.now() < until {
            return Admission::Rejected;
        }
        match self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::Rejected,
        }
    }

    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Release);
        self.open_until.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    pub fn record_failure(&self, admission: Admission) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        if admission == Admission::Probe || failures >= self.threshold {
            let open_for = u64::try_from(self.open_for.as_nanos()).unwrap_or(u64::MAX / 2);
            // 0 means closed, so an open circuit ends at 1 ns at the earliest.
            let until = (self.now() + open_for).max(1);
            self.open_until.store(until, Ordering::Release);
            self.probing.store(false, Ordering::Release);
        }
    }

    /// Gives back a probe slot that was taken but not used (e.g. the request was
    /// refused before it reached the provider).
    pub fn release(&self, admission: Admission) {
        if admission == Admission::Probe {
            self.probing.store(false, Ordering::Release);
        }
    }
}

/// Exponentially weighted moving average (weight 1/5 for each new sample).
#[derive(Debug, Default)]
pub struct LatencyAverage(AtomicU64);

impl LatencyAverage {
    pub fn observe(&self, sample: Duration) {
        let sample = u64::try_from(sample.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    (old * 4 + sample) / 5
                })
            });
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The live health of one routing table's providers and deployments.
#[derive(Debug)]
pub struct LiveHealth {
    pub breakers: Vec<CircuitBreaker>,
    pub latency: Vec<LatencyAverage>,
}

impl LiveHealth {
    pub fn new(
        providers: usize,
        deployments: usize,
        threshold: u32,
        open_for: Duration,
    ) -> LiveHealth {
        LiveHealth {
            breakers: (0..providers)
                .map(|_| CircuitBreaker::new(threshold, open_for))
                .collect(),
            latency: (0..deployments)
                .map(|_| LatencyAverage::default())
                .collect(),
        }
    }
}

impl Health for LiveHealth {
    fn available(&self, provider: usize) -> bool {
        self.breakers
            .get(provider)
            .is_none_or(CircuitBreaker::available)
    }

    fn latency_us(&self, deployment: usize) -> u64 {
        self.latency.get(deployment).map_or(0, LatencyAverage::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_probes_once_and_recovers() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(10));
        for _ in 0..2 {
            assert_eq!(breaker.admit(), Admission::Closed);
            breaker.record_failure(Admission::Closed);
        }
        breaker.record_success();
        for _ in 0..3 {
            breaker.record_failure(Admission::Closed);
        }
        assert!(!breaker.available());
        assert_eq!(breaker.admit(), Admission::Rejected);

        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(breaker.available());
        assert_eq!(breaker.admit(), Admission::Probe);
        assert_eq!(
            breaker.admit(),
            Admission::Rejected,
            "only one probe at a time"
        );
        breaker.record_failure(Admission::Probe);
        assert_eq!(
            breaker.admit(),
            Admission::Rejected,
            "a failed probe reopens"
        );

        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(breaker.admit(), Admission::Probe);
        breaker.record_success();
        assert_eq!(breaker.admit(), Admission::Closed);
        assert!(breaker.available());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unused_probe_slot_is_given_back() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(1));
        breaker.record_failure(Admission::Closed);
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = breaker.admit();
        assert_eq!(probe, Admission::Probe);
        breaker.release(probe);
        assert_eq!(breaker.admit(), Admission::Probe);
    }

    #[test]
    fn latency_average_moves_a_fifth_of_the_way() {
        let average = LatencyAverage::default();
        assert_eq!(average.get(), 0);
        average.observe(Duration::from_micros(1_000));
        assert_eq!(average.get(), 1_000);
        average.observe(Duration::from_micros(2_000));
        assert_eq!(average.get(), 1_200);
    }
}
