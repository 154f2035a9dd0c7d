//! What an admitted request holds until it ends: a [`Ticket`]. It is settled
//! with the usage event's exact cost and tokens, or, dropped without that (a
//! cancelled request), it releases everything it took: the budgets'
//! reservation, the TPM estimate and the concurrency slot. Settlements with
//! Redis are sent off the request's path and counted so shutdown waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pricing::Cost;

use super::refusal::Headroom;
use super::shared::{Mode, Settlement};
use super::{nano_up, Engine, Plan, Taker};

/// What an admitted request holds until it ends. Cloning shares it; the
/// last clone dropped without [`Ticket::settle`] releases everything.
#[derive(Clone)]
pub struct Ticket(pub(super) Arc<TicketInner>);

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("scopes", &self.0.plan.items.len())
            .field("taker", &self.0.taker)
            .finish()
    }
}

pub(super) struct TicketInner {
    pub(super) engine: Arc<Engine>,
    pub(super) plan: Plan,
    pub(super) taker: Taker,
    pub(super) headroom: Headroom,
    pub(super) done: AtomicBool,
}

impl Ticket {
    /// Settles to what the request really used: `cost` (`None`: unpriced,
    /// nothing spent) and `tokens` (prompt plus completion). Only the first
    /// call counts.
    pub fn settle(&self, cost: Option<Cost>, tokens: u64) {
        self.0.finish(cost.unwrap_or(Cost::ZERO), tokens);
    }

    /// What its tightest rate limits had left after it was admitted.
    pub fn headroom(&self) -> Headroom {
        self.0.headroom
    }

    /// Whether this admission was decided by this replica alone.
    pub fn local(&self) -> bool {
        matches!(self.0.taker, Taker::Local { .. })
    }

    /// The most this request may cost, as reserved.
    pub fn reserved(&self) -> Cost {
        self.0.plan.reserve
    }
}

impl TicketInner {
    fn finish(&self, cost: Cost, tokens: u64) {
        if self.done.swap(true, Ordering::AcqRel) {
            return;
        }
        let spend_delta = nano_up(cost) - self.plan.reserve_nano;
        let token_delta = i128::from(tokens) - i128::from(self.plan.tokens);
        match &self.taker {
            Taker::Local { divisor } => {
                self.engine
                    .local
                    .give_back(&self.plan, *divisor, token_delta, spend_delta);
            }
            Taker::Shared { lease } => {
                let Some(shared) = &self.engine.shared else {
                    return;
                };
                let work =
                    shared.settlement(&self.plan, lease, token_delta, spend_delta, Mode::Admitted);
                self.engine.spawn_settle(work, None);
            }
        }
        // Admitted alone while Redis failed: its cost goes to the shared spend
        // counters too if Redis has them again (if not, their rebuild from
        // the store counts it).
        let spent = nano_up(cost);
        if let (Taker::Local { .. }, Some(shared)) = (&self.taker, &self.engine.shared) {
            if spent > 0 && self.plan.items.iter().any(|i| i.allowance.has_budget()) {
                let work = shared.settlement(&self.plan, "", 0, spent, Mode::Spent);
                self.engine.spawn_settle(work, None);
            }
        }
    }
}

impl Engine {
    /// Sends a settlement to Redis off the request's path, counted so
    /// shutdown waits for it.
    pub(super) fn spawn_settle(
        self: &Arc<Engine>,
        work: Settlement,
        on: Option<redis::aio::MultiplexedConnection>,
    ) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let engine = self.clone();
        engine.pending.fetch_add(1, Ordering::AcqRel);
        runtime.spawn(async move {
            if let Some(shared) = &engine.shared {
                shared.settle(work, on, engine.settings.redis_timeout).await;
            }
            if engine.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                engine.drained.notify_waiters();
            }
        });
    }
}

impl Drop for TicketInner {
    /// Ended without a usage event's settlement (cancelled): nothing used.
    fn drop(&mut self) {
        self.finish(Cost::ZERO, 0);
    }
}
