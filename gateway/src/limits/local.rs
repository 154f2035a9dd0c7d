//! The in-process engine: used when no Redis is configured (each replica
//! enforces the whole limit) and as the fallback while Redis fails (each
//! enforces limit / `[limits] replicas`). Its state is a registry keyed by
//! [`Scope`], owned by the engine and not by the config snapshot or the key
//! store, so a reload or a key-store swap keeps every count.
//!
//! Rates are atomic GCRAs (`gcra`), concurrency an atomic counter, budgets
//! a small mutex per scope. An admission takes from each scope in turn and,
//! if a later one refuses, gives back what it took, so nothing is consumed
//! by a refused request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::gcra::{increment, remaining, Gcra};
use super::period::{Period, Span};
use super::refusal::{Figures, Headroom, Limit, Refusal, Room};
use super::{cost_of_nano, rebuild, until, Engine, Item, Plan};
use crate::allowance::Scope;

/// Nanoseconds in a GCRA window (a minute).
const WINDOW_NS: u64 = 60_000_000_000;

pub(super) struct Local {
    scopes: RwLock<HashMap<Scope, Arc<ScopeState>>>,
    epoch: Instant,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            scopes: RwLock::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }
}

#[derive(Default)]
struct ScopeState {
    rpm: Gcra,
    tpm: Gcra,
    in_flight: AtomicU64,
    spend: Mutex<Vec<Spend>>,
}

/// One period's spend of one scope.
#[derive(Debug)]
struct Spend {
    span: Span,
    period: String,
    /// The store's sum when the counter was seeded.
    base: i64,
    /// `base` plus what this replica reserved and settled since.
    spent: i64,
    /// When to ask the store again (the seed was not its answer).
    recheck_at: Option<Instant>,
}

/// What an admission took so far, to give back on a later refusal.
enum Taken {
    Rate(Arc<ScopeState>, bool, u64),
    Lease(Arc<ScopeState>),
    Spend(Arc<ScopeState>, Span, i64),
}

/// A limit divided among `divisor` replicas, at least 1.
fn share(limit: u64, divisor: u32) -> u64 {
    (limit / u64::from(divisor.max(1))).max(1)
}

impl Local {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn state(&self, scope: &Scope) -> Arc<ScopeState> {
        if let Some(state) = self.scopes.read().ok().and_then(|m| m.get(scope).cloned()) {
            return state;
        }
        match self.scopes.write() {
            Ok(mut scopes) => scopes.entry(scope.clone()).or_default().clone(),
            Err(_) => Arc::new(ScopeState::default()),
        }
    }

    /// Admits `plan` with every limit divided by `divisor`, or refuses taking
    /// nothing.
    pub(super) async fn admit(
        &self,
        engine: &Engine,
        plan: &Plan,
        divisor: u32,
    ) -> Result<Headroom, Refusal> {
        let states: Vec<Arc<ScopeState>> =
            plan.items.iter().map(|i| self.state(&i.scope)).collect();
        self.seed(engine, plan, &states).await;
        let now = self.now();
        let mut taken = Vec::new();
        let mut headroom = Headroom::default();
        for (item, state) in plan.items.iter().zip(&states) {
            let took = take(plan, item, state, divisor, now, &mut taken, &mut headroom);
            if let Err(refusal) = took {
                self.undo(taken, now);
                return Err(refusal);
            }
        }
        Ok(headroom)
    }

    /// Seeds the spend counters of `plan`'s periods that this replica has not
    /// seen (or must check again) from the store.
    async fn seed(&self, engine: &Engine, plan: &Plan, states: &[Arc<ScopeState>]) {
        for (item, state) in plan.items.iter().zip(states) {
            for (span, period) in [(Span::Day, &plan.day), (Span::Month, &plan.month)] {
                if item.budget(span).is_none() || !needs_seed(state, span, period) {
                    continue;
                }
                let (spent, verified) = rebuild::spend(engine, item, period).await;
                let Ok(mut spends) = state.spend.lock() else {
                    continue;
                };
                if !needs_seed_in(&spends, span, period) {
                    continue;
                }
                let recheck_at = (!verified).then(|| Instant::now() + rebuild::RECHECK);
                match spends.iter_mut().find(|s| s.span == span) {
                    // Checked again: keep what was counted meanwhile if more.
                    Some(old) if old.period == period.name => {
                        old.spent = old.spent.max(spent);
                        old.base = spent;
                        old.recheck_at = recheck_at;
                    }
                    Some(old) => {
                        *old = Spend {
                            span,
                            period: period.name.clone(),
                            base: spent,
                            spent,
                            recheck_at,
                        }
                    }
                    None => spends.push(Spend {
                        span,
                        period: period.name.clone(),
                        base: spent,
                        spent,
                        recheck_at,
                    }),
                }
            }
        }
    }
}

/// Takes `item`'s share of `plan` (every limit divided by `divisor`), noting
/// what it took in `taken` and what is left in `headroom`.
fn take(
    plan: &Plan,
    item: &Item,
    state: &Arc<ScopeState>,
    divisor: u32,
    now: u64,
    taken: &mut Vec<Taken>,
    headroom: &mut Headroom,
) -> Result<(), Refusal> {
    let allowance = &item.allowance;
    let scope = item.scope.kind();
    let rates = [
        (Limit::Rpm, allowance.rpm.map(u64::from), 1, &state.rpm),
        (Limit::Tpm, allowance.tpm, plan.tokens, &state.tpm),
    ];
    for (limit, configured, weight, gcra) in rates {
        let Some(configured) = configured else {
            continue;
        };
        let allowed = share(configured, divisor);
        let inc = increment(WINDOW_NS, allowed, weight);
        match gcra.take(now, inc, WINDOW_NS) {
            Ok(tat) => {
                taken.push(Taken::Rate(state.clone(), limit == Limit::Rpm, inc));
                let room = Room {
                    limit: allowed,
                    remaining: remaining(tat, now, WINDOW_NS, allowed),
                    reset: Duration::from_nanos(tat - now),
                };
                headroom.note(limit == Limit::Rpm, room);
            }
            Err(wait) => {
                let wait = Duration::from_nanos(wait);
                return Err(Refusal {
                    scope,
                    limit,
                    retry_after: wait,
                    figures: Figures::Rate {
                        limit: configured,
                        remaining: 0,
                        reset: wait,
                    },
                });
            }
        }
    }
    if let Some(max) = allowance.max_concurrent {
        let allowed = share(u64::from(max), divisor);
        if state.in_flight.fetch_add(1, Ordering::AcqRel) >= allowed {
            state.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal {
                scope,
                limit: Limit::Concurrency,
                retry_after: Duration::from_secs(1),
                figures: Figures::Rate {
                    limit: u64::from(max),
                    remaining: 0,
                    reset: Duration::from_secs(1),
                },
            });
        }
        taken.push(Taken::Lease(state.clone()));
    }
    for (span, period) in [(Span::Day, &plan.day), (Span::Month, &plan.month)] {
        let Some(budget) = item.budget(span) else {
            continue;
        };
        let Ok(mut spends) = state.spend.lock() else {
            continue;
        };
        let Some(spend) = spends
            .iter_mut()
            .find(|s| s.span == span && s.period == period.name)
        else {
            continue;
        };
        // This replica's share of what was left when it seeded.
        let allowed = spend.base + (budget - spend.base).max(0) / i64::from(divisor.max(1));
        if spend.spent + plan.reserve_nano > allowed {
            return Err(budget_refusal(
                scope,
                span,
                period,
                budget,
                allowed - spend.spent,
                plan,
            ));
        }
        spend.spent += plan.reserve_nano;
        taken.push(Taken::Spend(state.clone(), span, plan.reserve_nano));
    }
    Ok(())
}

impl Local {
    fn undo(&self, taken: Vec<Taken>, now: u64) {
        for took in taken.into_iter().rev() {
            match took {
                Taken::Rate(state, rpm, inc) => {
                    let gcra = if rpm { &state.rpm } else { &state.tpm };
                    gcra.adjust(now, -i128::from(inc));
                }
                Taken::Lease(state) => release_lease(&state),
                Taken::Spend(state, span, nano) => add_spend(&state, span, None, -nano),
            }
        }
    }

    /// Gives back what an admission of `plan` (with `divisor`) took beyond
    /// what it used: `token_delta` tokens (signed) and `spend_delta` nano-USD.
    pub(super) fn give_back(&self, plan: &Plan, divisor: u32, token_delta: i128, spend_delta: i64) {
        let now = self.now();
        for item in &plan.items {
            let state = self.state(&item.scope);
            let allowance = &item.allowance;
            if let Some(tpm) = allowance.tpm {
                let per_token = u128::from(WINDOW_NS) / u128::from(share(tpm, divisor));
                let magnitude =
                    i128::try_from(per_token * token_delta.unsigned_abs()).unwrap_or(i128::MAX);
                state.tpm.adjust(
                    now,
                    if token_delta < 0 {
                        -magnitude
                    } else {
                        magnitude
                    },
                );
            }
            if allowance.max_concurrent.is_some() {
                release_lease(&state);
            }
            if allowance.daily_usd.is_some() {
                add_spend(&state, Span::Day, Some(&plan.day), spend_delta);
            }
            if allowance.monthly_usd.is_some() {
                add_spend(&state, Span::Month, Some(&plan.month), spend_delta);
            }
        }
    }
}

fn release_lease(state: &ScopeState) {
    let _ = state
        .in_flight
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
}

/// Adds `nano` (signed) to the span's counter if it still counts `period`
/// (`None`: whatever it counts), never below 0.
fn add_spend(state: &ScopeState, span: Span, period: Option<&Period>, nano: i64) {
    let Ok(mut spends) = state.spend.lock() else {
        return;
    };
    if let Some(spend) = spends
        .iter_mut()
        .find(|s| s.span == span && period.is_none_or(|p| p.name == s.period))
    {
        spend.spent = (spend.spent + nano).max(0);
    }
}

fn needs_seed(state: &ScopeState, span: Span, period: &Period) -> bool {
    state
        .spend
        .lock()
        .map(|spends| needs_seed_in(&spends, span, period))
        .unwrap_or(false)
}

fn needs_seed_in(spends: &[Spend], span: Span, period: &Period) -> bool {
    match spends.iter().find(|s| s.span == span) {
        Some(spend) if spend.period == period.name => {
            spend.recheck_at.is_some_and(|at| Instant::now() >= at)
        }
        _ => true,
    }
}

fn budget_refusal(
    scope: &'static str,
    span: Span,
    period: &Period,
    budget: i64,
    remaining: i64,
    plan: &Plan,
) -> Refusal {
    Refusal {
        scope,
        limit: Limit::Budget(span),
        retry_after: until(period.end, Utc::now()),
        figures: Figures::Budget {
            limit: cost_of_nano(budget),
            remaining: cost_of_nano(remaining.max(0)),
            asked: plan.reserve,
            reset_at: period.end,
        },
    }
}
