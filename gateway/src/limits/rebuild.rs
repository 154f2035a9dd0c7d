//! Spend counters rebuilt from the event store: the sum of a scope's event
//! costs since its period began. Used when Redis lacks a counter (a new
//! period, or Redis lost its data: it is a cache, the store is the truth) and
//! by the local engine the first time it sees a scope's period, so a restarted
//! replica does not forget the day's spend.
//!
//! Events still on their way to the store (the writer batches them) are not
//! in the sum: a rebuild can miss the last second or so of spend.

use std::time::Duration;

use super::period::Period;
use super::{nano_up, Engine, Item};

/// How long a counter seeded without the store's answer (it failed or was
/// slow) is trusted before the store is asked again.
pub(super) const RECHECK: Duration = Duration::from_secs(60);
/// Longest wait for the store's sum.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The scope's spend in the period (nano-USD, rounded up), and whether the
/// store gave it: `(0, false)` when it did not answer in time, so serving
/// goes on (fails open) and the sum is asked for again after [`RECHECK`].
pub(super) async fn spend(engine: &Engine, item: &Item, period: &Period) -> (i64, bool) {
    engine.metrics.rebuilds.inc();
    let query = engine.store.spend(item.spend_scope(), period.start);
    match tokio::time::timeout(STORE_TIMEOUT, query).await {
        Ok(Ok(cost)) => (nano_up(cost), true),
        Ok(Err(error)) => {
            tracing::warn!(%error, scope = item.scope.kind(), period = %period.name, "cannot rebuild a budget's spend from the store; counting from 0 for now");
            (0, false)
        }
        Err(_) => {
            tracing::warn!(scope = item.scope.kind(), period = %period.name, "the store did not answer a budget's spend in time; counting from 0 for now");
            (0, false)
        }
    }
}
