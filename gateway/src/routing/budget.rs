//! The retry budget: failover may add at most a fixed share of extra requests on
//! top of the original ones (plus a small reserve), so a struggling provider is
//! not hit with a multiple of its normal load when everything starts failing.

use std::sync::atomic::{AtomicI64, Ordering};

/// Balances are kept in thousandths of a retry.
const ONE_RETRY: i64 = 1_000;

#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    deposit: i64,
    cap: i64,
}

impl RetryBudget {
    /// `percent` retries per 100 requests, with `reserve` retries available from
    /// the start (and at most `reserve` plus what 100 requests earn saved up).
    pub fn new(percent: u32, reserve: u32) -> RetryBudget {
        let deposit = i64::from(percent) * ONE_RETRY / 100;
        let reserve = i64::from(reserve) * ONE_RETRY;
        RetryBudget {
            balance: AtomicI64::new(reserve),
            deposit,
            cap: reserve + deposit * 100,
        }
    }

    /// Called once for every original request.
    pub fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((b + self.deposit).min(self.cap))
            });
    }

    /// Takes one retry from the budget, if there is one.
    pub fn try_withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= ONE_RETRY).then_some(b - ONE_RETRY)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stay_within_the_share_plus_reserve() {
        let budget = RetryBudget::new(20, 5);
        let mut retries = 0;
        for _ in 0..1_000 {
            budget.deposit();
            // Every request fails and would like two retries.
            for _ in 0..2 {
                if budget.try_withdraw() {
                    retries += 1;
                }
            }
        }
        assert_eq!(retries, 5 + 200);
    }

    #[test]
    fn savings_are_capped() {
        let budget = RetryBudget::new(10, 2);
        for _ in 0..10_000 {
            budget.deposit();
        }
        let mut retries = 0;
        while budget.try_withdraw() {
            retries += 1;
        }
        assert_eq!(retries, 2 + 10);
    }
}
