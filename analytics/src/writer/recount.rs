//! The writer's side of counters that survive Redis losing its data (the Redis
//! side, and the epoch that tells, are in `counters::epoch`).
//!
//! The writer is the only incrementer, and it counts a batch before storing it.
//! Every store write is preceded by a send under the epoch the writer knows
//! (the batch's increments, or an empty confirmation), so an event is stored
//! only while its counts are known to stand, or while Redis cannot be reached
//! (then the store write is remembered as `stored_uncounted`).
//!
//! When a send finds another epoch, the writer stops storing (events are held,
//! in memory then in the spill file, as when the store is down) and recovers:
//! - Redis has no epoch, or is being rebuilt by a writer that died, or this
//!   writer stored events it could not count: it rebuilds, if it gets the lock.
//!   It marks the counters as rebuilding (every writer's increments are refused
//!   from then on), waits `rebuild_settle` (the longest store write: a write
//!   another writer confirmed just before Redis was emptied is committed by
//!   then), reads the store's sums for today, adds what it holds itself (not
//!   stored, so not in those sums), and publishes them with a new epoch.
//! - Another writer published a new epoch: this writer adopts it and counts
//!   again what it holds (the rebuild could not see it); what it stored before
//!   was confirmed under the old epoch, so it is in the rebuild's sums.
//! - Redis cannot be reached: storing resumes (the store is the truth); the
//!   stored events are remembered, so the next contact rebuilds.
//!
//! So once every writer has flushed, the counters equal the store. While a
//! rebuild runs, readers see it (`Counters::trusted`). At shutdown a writer
//! that is still waiting stores what it holds anyway: events come first.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::{spill, Pipeline};
use crate::counters::{CounterReadError, Counters, Epoch, Increments, Sent};
use crate::store::{CounterWindow, StoreError};

/// How often a quiet writer checks that Redis still has its epoch, so counters
/// lost while no traffic flows are rebuilt without waiting for the next event.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long the rebuild lock outlives the settle time: room for the store's
/// sums and the writes to Redis. A writer that dies holding it is replaced then.
const LOCK_EXTRA: Duration = Duration::from_secs(120);
/// How long past the settle time a writer holds events while the counts are
/// not recovered (a rebuild that keeps failing); then it stores them anyway,
/// remembered as uncounted: events reach the store whatever the counters do.
const HOLD_EXTRA: Duration = Duration::from_secs(60);

/// The writer's counting state.
pub(super) struct Recount {
    /// Who this writer is, as the rebuild lock's owner.
    owner: String,
    /// Counts were lost and not recovered yet: nothing is stored meanwhile.
    pub(super) blocked: bool,
    /// Since when `blocked` holds.
    blocked_since: Option<Instant>,
    /// The last send could not reach Redis.
    unconfirmed: bool,
    /// Events were stored while their counts were not confirmed: if the epoch
    /// changed meanwhile, only a rebuild of this writer's own can be exact.
    stored_uncounted: bool,
    /// Increments were dropped (the pending bound): a rebuild repairs it.
    dropped: bool,
    /// Shutting down: store even if the counts could not be recovered.
    stopping: bool,
    /// The batch's increments were just counted under the known epoch: the
    /// next store write needs no separate confirmation (one Redis round trip
    /// per batch, not two). Cleared by whatever waits in between.
    pub(super) fresh: bool,
    next_probe: Option<Instant>,
    next_recover: Option<Instant>,
}

impl Recount {
    pub(super) fn new() -> Recount {
        Recount {
            owner: uuid::Uuid::now_v7().to_string(),
            blocked: false,
            blocked_since: None,
            unconfirmed: false,
            stored_uncounted: false,
            dropped: false,
            stopping: false,
            fresh: false,
            next_probe: None,
            next_recover: None,
        }
    }

    /// Right after a batch's own send: when it was counted, the write that
    /// follows at once needs no other confirmation.
    pub(super) fn just_counted(&mut self) {
        self.fresh = !self.blocked && !self.unconfirmed;
    }
}

/// What a blocked writer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing was lost after all (the epoch is still this writer's).
    Resume,
    /// Another writer rebuilt: count again what this one holds (a writer that
    /// never counted, just started, holds exactly what is pending).
    Adopt { pending_only: bool },
    /// Rebuild (if the lock is free; otherwise wait for whoever holds it).
    Rebuild,
}

/// The decision, from the epoch found, the one this writer knows, and whether
/// everything it stored was counted (`exact`: no store write while Redis was
/// unreachable since the last confirmed send, no increment dropped). When it
/// was not, only a rebuild of its own is exact: it cannot tell which of those
/// writes another writer's rebuild already saw.
fn next_step(epoch: &Epoch, known: Option<&str>, exact: bool) -> Step {
    match epoch {
        Epoch::Stable(current) if exact && known == Some(current.as_str()) => Step::Resume,
        Epoch::Stable(_) if exact => Step::Adopt {
            pending_only: known.is_none(),
        },
        _ => Step::Rebuild,
    }
}

#[derive(Debug, thiserror::Error)]
enum RebuildError {
    #[error("redis: {0}")]
    Redis(#[from] CounterReadError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the store did not answer within {0:?}")]
    StoreTimeout(Duration),
    #[error("spill file: {0}")]
    Spill(#[from] std::io::Error),
}

impl Pipeline {
    /// Applies a batch's increments (Redis: under the known epoch). Afterwards
    /// `recount.blocked` says whether the counts were lost.
    pub(super) async fn count(&mut self, increments: Increments) {
        let counters = self.counters.clone();
        let redis = match &*counters {
            Counters::Memory(memory) => return memory.apply(&increments),
            Counters::Redis(redis) => redis,
        };
        let (sent, dropped) = redis.apply(increments).await;
        if dropped > 0 {
            self.recount.dropped = true;
            tracing::warn!(
                dropped,
                "redis unreachable too long: counter increments dropped (events are kept; the counters are rebuilt when it is back)"
            );
        }
        match sent {
            Sent::Counted => {
                self.recount.unconfirmed = false;
                self.recount.stored_uncounted = false;
                if self.recount.dropped {
                    self.block();
                }
            }
            Sent::Unreachable => {
                self.stats.counter_failures.fetch_add(1, Ordering::Relaxed);
                self.recount.unconfirmed = true;
            }
            Sent::Lost(epoch) => {
                if !self.recount.blocked {
                    self.stats.counter_losses.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        ?epoch,
                        "the real-time counters are not this writer's any more (redis lost them, or they were rebuilt): holding events until they are recovered"
                    );
                }
                self.block();
            }
        }
    }

    fn block(&mut self) {
        if !self.recount.blocked {
            self.recount.blocked = true;
            self.recount.blocked_since = Some(Instant::now());
        }
    }

    /// Before a store write: whether it may go on (the counts stand, or Redis
    /// cannot be reached). Sends what is pending on the way.
    pub(super) async fn confirm(&mut self) -> bool {
        if self.recount.stopping || matches!(&*self.counters, Counters::Memory(_)) {
            return true;
        }
        if !std::mem::take(&mut self.recount.fresh) && !self.recount.blocked {
            self.count(Increments::default()).await;
        }
        let limit = self.config.rebuild_settle + HOLD_EXTRA;
        if self.recount.blocked
            && self
                .recount
                .blocked_since
                .is_some_and(|since| since.elapsed() > limit)
        {
            if !self.recount.unconfirmed {
                tracing::error!(
                    held_for_s = limit.as_secs(),
                    "the real-time counters could not be recovered in time: storing events anyway (they are counted by the next rebuild)"
                );
            }
            self.recount.unconfirmed = true;
            return true;
        }
        !self.recount.blocked
    }

    /// After a store write attempt: remembers it if its counts were not
    /// confirmed.
    pub(super) fn stored(&mut self) {
        if self.recount.unconfirmed || self.recount.stopping {
            self.recount.stored_uncounted = true;
        }
    }

    /// When quiet: recovers lost counts, sends pending increments, or checks
    /// the epoch once per [`PROBE_EVERY`].
    pub(super) async fn check_counters(&mut self) {
        let Counters::Redis(redis) = &*self.counters else {
            return;
        };
        if !self.recount.blocked {
            let now = Instant::now();
            let due = redis.has_pending() || self.recount.next_probe.is_none_or(|at| now >= at);
            if !due {
                return;
            }
            self.recount.next_probe = Some(now + PROBE_EVERY);
            self.count(Increments::default()).await;
        }
        if self.recount.blocked {
            self.recover().await;
        }
    }

    /// Tries to recover lost counts (at most once per `retry_interval`).
    pub(super) async fn recover(&mut self) {
        let now = Instant::now();
        if self.recount.next_recover.is_some_and(|at| now < at) {
            return;
        }
        self.recount.next_recover = Some(now + self.config.retry_interval);
        let counters = self.counters.clone();
        let Counters::Redis(redis) = &*counters else {
            self.recount.blocked = false;
            return;
        };
        let epoch = match redis.epoch().await {
            Ok(epoch) => epoch,
            Err(error) => {
                // Redis is away again: store meanwhile, rebuild when it is back.
                tracing::warn!(%error, "redis unreachable while recovering the counters: storing events meanwhile");
                self.recount.blocked = false;
                self.recount.unconfirmed = true;
                return;
            }
        };
        let known = redis.known_epoch();
        let exact = !self.recount.stored_uncounted && !self.recount.dropped;
        match (next_step(&epoch, known.as_deref(), exact), epoch) {
            (Step::Resume, _) => {
                self.recount.blocked = false;
            }
            (Step::Adopt { pending_only }, Epoch::Stable(current)) => {
                let held = if pending_only {
                    Ok(redis.take_pending())
                } else {
                    self.held_increments()
                };
                let held = match held {
                    Ok(held) => held,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the held events to count them again; retrying");
                        return;
                    }
                };
                let (sent, _) = redis.adopt(current.clone(), held).await;
                match sent {
                    Sent::Counted => {
                        self.recount.blocked = false;
                        self.recount.unconfirmed = false;
                        tracing::info!(epoch = %current, "real-time counters rebuilt by another writer: counting again");
                    }
                    Sent::Unreachable => {
                        self.recount.blocked = false;
                        self.recount.unconfirmed = true;
                    }
                    Sent::Lost(_) => {}
                }
            }
            _ => self.rebuild().await,
        }
    }

    /// Rebuilds the counters if this writer gets the lock; otherwise another
    /// writer is at it, and this one waits.
    async fn rebuild(&mut self) {
        let counters = self.counters.clone();
        let Counters::Redis(redis) = &*counters else {
            return;
        };
        let owner = self.recount.owner.clone();
        let settle = self.config.rebuild_settle;
        match redis.try_lock(&owner, settle + LOCK_EXTRA).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot take the counter rebuild lock; retrying");
                return;
            }
        }
        let started = Instant::now();
        let result: Result<Option<String>, RebuildError> = async {
            redis.begin_rebuild(&owner).await?;
            tokio::time::sleep(settle).await;
            let window = CounterWindow::at(chrono::Utc::now());
            let timeout = self.config.write_timeout;
            let mut values = tokio::time::timeout(timeout, self.store.counter_sums(window))
                .await
                .map_err(|_| RebuildError::StoreTimeout(timeout))??;
            values.merge(self.held_increments()?);
            Ok(redis
                .publish(&owner, &values, window.day, window.minutes_from)
                .await?)
        }
        .await;
        redis.unlock(&owner).await;
        match result {
            Ok(Some(epoch)) => {
                self.recount.blocked = false;
                self.recount.unconfirmed = false;
                self.recount.stored_uncounted = false;
                self.recount.dropped = false;
                self.stats.counter_rebuilds.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    %epoch,
                    took_ms = started.elapsed().as_millis() as u64,
                    "real-time counters rebuilt from the store"
                );
            }
            Ok(None) => {
                tracing::warn!("counter rebuild overtaken (redis emptied again, or the lock expired); retrying");
            }
            Err(error) => {
                tracing::warn!(%error, "counter rebuild failed; retrying");
            }
        }
    }

    /// The increments of every event this writer holds and has not stored:
    /// the memory backlog and the spill file past the replayed offset.
    fn held_increments(&self) -> Result<Increments, std::io::Error> {
        let mut increments = Increments::default();
        for event in self.backlog.iter().flatten() {
            increments.add(event);
        }
        let Some(path) = &self.config.spill_path else {
            return Ok(increments);
        };
        if !self.spill_pending {
            return Ok(increments);
        }
        let mut offset = self.spill_offset;
        let chunk_size = self.config.batch_size.max(1);
        while let Some(chunk) = spill::read_chunk(path, offset, chunk_size)? {
            for event in &chunk.events {
                increments.add(event);
            }
            if chunk.at_end || chunk.end <= offset {
                break;
            }
            offset = chunk.end;
        }
        Ok(increments)
    }

    /// At shutdown: one more try to recover; then events are stored whatever
    /// the counters' state.
    pub(super) async fn stop_counting(&mut self) {
        if self.recount.blocked {
            self.recount.next_recover = None;
            self.recover().await;
        }
        if self.recount.blocked {
            tracing::warn!("shutdown while the counters are being recovered: storing the held events anyway (the next rebuild counts them)");
        }
        self.recount.blocked = false;
        self.recount.stopping = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_writer_resumes_adopts_or_rebuilds() {
        let stable = |e: &str| Epoch::Stable(e.to_owned());
        for (epoch, known, exact, step) in [
            (Epoch::Missing, Some("e1"), true, Step::Rebuild),
            (Epoch::Missing, None, true, Step::Rebuild),
            (Epoch::Rebuilding, Some("e1"), true, Step::Rebuild),
            (stable("e1"), Some("e1"), true, Step::Resume),
            (stable("e1"), Some("e1"), false, Step::Rebuild),
            (
                stable("e2"),
                Some("e1"),
                true,
                Step::Adopt {
                    pending_only: false,
                },
            ),
            (stable("e2"), None, true, Step::Adopt { pending_only: true }),
            (stable("e2"), Some("e1"), false, Step::Rebuild),
            (stable("e2"), None, false, Step::Rebuild),
        ] {
            assert_eq!(
                next_step(&epoch, known, exact),
                step,
                "{epoch:?} {known:?} {exact}"
            );
        }
    }
}
