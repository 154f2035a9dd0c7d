//! Rate limits as a GCRA (generic cell rate algorithm): one number per limit,
//! the theoretical arrival time (TAT) of the next unit, moved forward by each
//! admitted request by `weight x (window / limit)`. A request is admitted while
//! the TAT stays within one window (a minute) of now, so a minute's worth may
//! come in a burst and then the sustained rate applies. Requests weigh 1 (RPM)
//! or their estimated tokens (TPM).
//!
//! The arithmetic here ([`increment`], [`take`], [`remaining`]) is the same
//! the Redis script does (`shared.lua`) in microseconds of Redis time; the
//! local engine runs it on [`Gcra`], one atomic per limit, so checking a limit
//! takes no lock. No `governor` dependency: it is this same algorithm, and
//! neither TPM weights with a correction after the answer nor the
//! take-all-or-undo across scopes fit its API without wrapping it anyway.

use std::sync::atomic::{AtomicU64, Ordering};

/// How far one admission of `weight` moves the TAT, for `limit` per window,
/// rounded up (the limit is never exceeded by rounding). A weight over the
/// limit counts as the limit: one huge request is admitted from a full
/// allowance rather than never.
pub(crate) fn increment(window: u64, limit: u64, weight: u64) -> u64 {
    let limit = u128::from(limit.max(1));
    let weight = u128::from(weight).min(limit);
    let product = u128::from(window) * weight;
    u64::try_from(product.div_ceil(limit)).unwrap_or(u64::MAX)
}

/// The new TAT if an admission moving it by `inc` fits within `window` of
/// `now`, or how long until it would fit.
pub(crate) fn take(tat: u64, now: u64, inc: u64, window: u64) -> Result<u64, u64> {
    let next = tat.max(now).saturating_add(inc);
    let ahead = next - now;
    if ahead > window {
        Err(ahead - window)
    } else {
        Ok(next)
    }
}

/// Units of `limit` still free at `tat` (after an admission): what the
/// `x-ratelimit-remaining-*` headers say.
pub(crate) fn remaining(tat: u64, now: u64, window: u64, limit: u64) -> u64 {
    let used = tat.saturating_sub(now).min(window);
    let free = u128::from(window - used) * u128::from(limit) / u128::from(window.max(1));
    u64::try_from(free).unwrap_or(u64::MAX)
}

/// A TAT moved by a signed number of units (a TPM correction), never behind `now`.
pub(crate) fn adjust(tat: u64, now: u64, delta: i128) -> u64 {
    let moved = i128::from(tat.max(now)) + delta;
    u64::try_from(moved.max(i128::from(now))).unwrap_or(u64::MAX)
}

/// One limit's TAT, in nanoseconds since its engine's epoch.
#[derive(Debug, Default)]
pub(crate) struct Gcra {
    tat: AtomicU64,
}

impl Gcra {
    /// Admits `inc`, returning the new TAT, or how long (ns) until it fits.
    pub(crate) fn take(&self, now: u64, inc: u64, window: u64) -> Result<u64, u64> {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let next = take(tat, now, inc, window)?;
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(next),
                Err(current) => tat = current,
            }
        }
    }

    /// Moves the TAT by `delta` ns (undoing an admission, correcting a TPM
    /// estimate).
    pub(crate) fn adjust(&self, now: u64, delta: i128) {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let next = adjust(tat, now, delta);
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 60_000;

    #[test]
    fn increments_round_up_and_cap_the_weight_at_the_limit() {
        // (window, limit, weight, increment)
        let table = [
            (W, 60, 1, 1_000),
            (W, 7, 1, 8_572),
            (W, 1_000, 250, 15_000),
            (W, 1_000, 5_000, W),
            (W, 1, 1, W),
            (60_000_000, 1_000_000, 1, 60),
            (60_000_000, 3, 2, 40_000_000),
            (W, 0, 1, W),
        ];
        for (window, limit, weight, expected) in table {
            assert_eq!(
                increment(window, limit, weight),
                expected,
                "{limit} {weight}"
            );
        }
    }

    #[test]
    fn a_minute_of_burst_then_the_sustained_rate() {
        // rpm 60 in ms: 60 admissions at t=0, the 61st waits 1 s.
        let inc = increment(W, 60, 1);
        let mut tat = 0;
        for _ in 0..60 {
            tat = take(tat, 0, inc, W).unwrap();
        }
        assert_eq!(take(tat, 0, inc, W), Err(1_000));
        assert_eq!(take(tat, 999, inc, W), Err(1));
        assert_eq!(remaining(tat, 0, W, 60), 0);
        assert_eq!(remaining(tat, 1_000, W, 60), 1);
        tat = take(tat, 1_000, inc, W).unwrap();
        assert_eq!(take(tat, 1_000, inc, W), Err(1_000));
        // After two idle minutes the full burst is back.
        assert_eq!(remaining(tat, 200_000, W, 60), 60);
    }

    #[test]
    fn weighted_admissions_and_corrections() {
        // tpm 1,000: 600 estimated tokens, then 500 more do not fit until
        // the estimate is corrected down to the 300 really used.
        let tat = take(0, 0, increment(W, 1_000, 600), W).unwrap();
        assert_eq!(tat, 36_000);
        assert_eq!(remaining(tat, 0, W, 1_000), 400);
        assert_eq!(take(tat, 0, increment(W, 1_000, 500), W), Err(6_000));
        let corrected = adjust(tat, 0, -i128::from(increment(W, 1_000, 300)));
        assert_eq!(corrected, 18_000);
        assert!(take(corrected, 0, increment(W, 1_000, 500), W).is_ok());
        // A correction never moves the TAT behind now.
        assert_eq!(adjust(10, 50, -1_000), 50);
        assert_eq!(adjust(10, 50, 7), 57);
    }

    #[test]
    fn the_atomic_limiter_takes_and_gives_back() {
        let gcra = Gcra::default();
        let inc = increment(W, 2, 1);
        assert!(gcra.take(0, inc, W).is_ok());
        assert!(gcra.take(0, inc, W).is_ok());
        assert_eq!(gcra.take(0, inc, W), Err(30_000));
        gcra.adjust(0, -i128::from(inc));
        assert!(gcra.take(0, inc, W).is_ok());
    }
}
