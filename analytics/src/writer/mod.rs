//! The event pipeline: the request path hands events to a bounded channel with
//! `try_send` and never waits; one writer task batches them (by count or time),
//! applies them to the counters and writes them to the store.
//!
//! Up to [`IN_FLIGHT`] batch writes run at once on Postgres, each its own
//! transaction on its own connection: the next batch is counted, encoded and
//! sent while the previous one commits, so one commit's round trips and fsync
//! do not cap the rate. Outcomes are taken oldest first, and all of them before
//! anything else uses the store (a backlog retry, the spill replay, a counter
//! rebuild, shutdown), so every rule below holds as with one write at a time.
//!
//! Every event ends in exactly one of: the store; the spill file (until it is
//! replayed into the store); the dead-letter file; or a drop, counted and
//! logged (channel full, or a file that cannot be written). In detail:
//! - A write the store cannot take now (unreachable, timed out, read-only after a
//!   failover, out of connections, ...: `StoreError::is_transient`) is retried
//!   every `retry_interval`; meanwhile batches wait in memory up to a bound, then
//!   in the append-only spill file, which is replayed a chunk at a time from a
//!   byte offset and removed once every event in it is stored or dead-lettered.
//!   Events carry their id and the stores ignore ids they hold, so a replay
//!   writes each event once.
//! - A batch the store refuses is split (`isolate`) until the refused events are
//!   found; the others are written, the refused ones go to the dead-letter file
//!   with the reason (never replayed, never removed by the writer), counted, and
//!   logged once per batch (ids and reasons only).
//! - Every write is bounded by `write_timeout`: a black-holed database cannot
//!   hang the writer. Shutdown has a deadline: until then it writes what is
//!   queued and held and replays the spill file (this disk may not come back);
//!   what cannot be written by then is spilled (counted), replayed at the next
//!   start.
//!
//! The files themselves (fresh-line appends, damage-tolerant reads) are in `spill`.
//! How the counters survive Redis losing its data (a store write waits for its
//! counts to be confirmed; lost counts are rebuilt from the store) is in `recount`.

mod isolate;
mod recount;
mod spill;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use crate::counters::{Counters, Increments};
use crate::event::UsageEvent;
use crate::store::{EventStore, Store, StoreError};

#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Events the request path may queue before new ones are dropped.
    pub queue_capacity: usize,
    pub batch_size: usize,
    /// Longest time an event waits for its batch to fill.
    pub flush_interval: Duration,
    /// Events held in memory while the store is down, before spilling to disk.
    pub memory_backlog: usize,
    /// Where to spill; `None` keeps everything in memory (up to the bound, then drops).
    pub spill_path: Option<PathBuf>,
    /// Where events the store refuses are kept; `None` drops them (counted).
    pub dead_letter_path: Option<PathBuf>,
    /// Pause between write attempts while the store is down.
    pub retry_interval: Duration,
    /// Longest one store write may take before it counts as failed (transient).
    pub write_timeout: Duration,
    /// How long a counter rebuild waits before reading the store, so that a
    /// write another writer confirmed just before Redis lost its data is
    /// committed and in the store's sums: the longest store write.
    pub rebuild_settle: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 100_000,
            batch_size: 2_000,
            flush_interval: Duration::from_millis(200),
            memory_backlog: 200_000,
            spill_path: None,
            dead_letter_path: None,
            retry_interval: Duration::from_millis(500),
            write_timeout: Duration::from_secs(12),
            rebuild_settle: Duration::from_secs(12),
        }
    }
}

/// Pipeline counters, read by the gateway's `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub queued: AtomicU64,
    pub written: AtomicU64,
    pub duplicates: AtomicU64,
    pub spilled: AtomicU64,
    /// Of `spilled`: spilled at shutdown, because the store could not take them in time.
    pub shutdown_spilled: AtomicU64,
    pub replayed: AtomicU64,
    pub dropped: AtomicU64,
    /// Events the store refused, kept in the dead-letter file.
    pub dead_lettered: AtomicU64,
    /// Spill-file lines that were not events (torn writes), skipped.
    pub spill_torn_lines: AtomicU64,
    pub batches: AtomicU64,
    pub batch_events: AtomicU64,
    pub write_micros: AtomicU64,
    pub counter_failures: AtomicU64,
    /// Times the writer found Redis without its counters (lost or rebuilt).
    pub counter_losses: AtomicU64,
    /// Counter rebuilds from the store this writer did.
    pub counter_rebuilds: AtomicU64,
    pub store_failures: AtomicU64,
    /// Of `store_failures`: writes that hit `write_timeout`.
    pub write_timeouts: AtomicU64,
}

/// The request path's handle: cheap to clone, never blocks.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<UsageEvent>,
    stats: Arc<WriterStats>,
    /// Shared with the writer, which alone increments them; here for reads.
    counters: Arc<Counters>,
}

impl EventSink {
    pub fn emit(&self, event: UsageEvent) {
        match self.tx.try_send(event) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::error!(dropped, "usage event queue full or closed: event dropped");
                }
            }
        }
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// The real-time counters, for reading (the analytics API's real-time figures).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// Extra time, past the grace period and a write in flight, for spilling to
/// local disk at shutdown.
const SPILL_ALLOWANCE: Duration = Duration::from_secs(5);

/// Most batch writes running at once on Postgres (each holds one writer
/// connection). SQLite takes one writer at a time, so there it is one: the
/// next batch is still gathered and counted while that write runs.
pub const IN_FLIGHT: usize = 2;

/// A batch write running in its own task; the events stay here too, so a write
/// whose task failed still has its batch to hold.
struct InFlight {
    events: Arc<Vec<UsageEvent>>,
    task: JoinHandle<Attempt>,
}

/// The outcome of one store write, and how long it took.
struct Attempt {
    result: Result<u64, StoreError>,
    took: Duration,
    timed_out: bool,
}

impl Attempt {
    /// Writes `events`, bounded by `limit`.
    async fn run(store: &Store, events: &[UsageEvent], limit: Duration) -> Attempt {
        let started = Instant::now();
        let (result, timed_out) = match tokio::time::timeout(limit, store.write(events)).await {
            Ok(result) => (result, false),
            Err(_) => (
                Err(StoreError::Unavailable(format!(
                    "no answer within {} ms",
                    limit.as_millis()
                ))),
                true,
            ),
        };
        Attempt {
            result,
            took: started.elapsed(),
            timed_out,
        }
    }
}

/// The running writer task.
pub struct Writer {
    stop: watch::Sender<Option<Instant>>,
    task: JoinHandle<()>,
    write_timeout: Duration,
}

impl Writer {
    /// Starts the writer; returns the sink for the request path.
    pub fn start(
        store: Arc<Store>,
        counters: Counters,
        config: WriterConfig,
    ) -> (EventSink, Writer) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let (stop, stopped) = watch::channel(None);
        let counters = Arc::new(counters);
        let write_timeout = config.write_timeout;
        let state = Pipeline {
            store,
            counters: counters.clone(),
            backlog: VecDeque::new(),
            held: 0,
            store_down_since: None,
            retry_after: None,
            spill_offset: 0,
            spill_pending: config.spill_path.as_ref().is_some_and(|p| p.exists()),
            deadline: None,
            in_flight: VecDeque::new(),
            config,
            stats: stats.clone(),
            recount: recount::Recount::new(),
        };
        let task = tokio::spawn(state.run(rx, stopped));
        (
            EventSink {
                tx,
                stats,
                counters,
            },
            Writer {
                stop,
                task,
                write_timeout,
            },
        )
    }

    /// Stops taking events and writes everything queued, as far as the store
    /// allows within `grace`; what is left then is spilled (counted in
    /// `shutdown_spilled`) and written at the next start.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(Some(Instant::now() + grace));
        let abort = self.task.abort_handle();
        let limit = grace + self.write_timeout + SPILL_ALLOWANCE;
        match tokio::time::timeout(limit, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "the usage-event writer failed: events it held are lost");
            }
            Err(_) => {
                abort.abort();
                tracing::error!(
                    "the usage-event writer did not stop in time (local disk stuck?): events it held are lost"
                );
            }
        }
    }
}

struct Pipeline {
    store: Arc<Store>,
    counters: Arc<Counters>,
    /// Batches that could not be written yet, oldest first.
    backlog: VecDeque<Vec<UsageEvent>>,
    /// Events in `backlog`.
    held: usize,
    store_down_since: Option<Instant>,
    retry_after: Option<Instant>,
    /// Where in the spill file replay resumes: every event before it is in the
    /// store or the dead-letter file.
    spill_offset: u64,
    /// Whether the spill file may hold events not replayed yet.
    spill_pending: bool,
    /// Set at shutdown: everything must be written or spilled by then.
    deadline: Option<Instant>,
    /// Batch writes started and not settled yet, oldest first.
    in_flight: VecDeque<InFlight>,
    config: WriterConfig,
    stats: Arc<WriterStats>,
    recount: recount::Recount,
}

impl Pipeline {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<UsageEvent>,
        mut stop: watch::Receiver<Option<Instant>>,
    ) {
        let mut batch: Vec<UsageEvent> = Vec::with_capacity(self.config.batch_size);
        loop {
            let flush_at = tokio::time::sleep(self.config.flush_interval);
            tokio::pin!(flush_at);
            let mut closed = false;
            while batch.len() < self.config.batch_size {
                let room = self.config.batch_size - batch.len();
                tokio::select! {
                    received = rx.recv_many(&mut batch, room) => {
                        if received == 0 {
                            closed = true;
                            break;
                        }
                    }
                    () = &mut flush_at => break,
                    changed = stop.changed(), if self.deadline.is_none() => {
                        // Stop taking new events; what is queued is still drained.
                        // (A dropped `Writer` stops with one write's worth of time.)
                        let deadline = match changed {
                            Ok(()) => *stop.borrow(),
                            Err(_) => None,
                        };
                        self.deadline = Some(
                            deadline.unwrap_or_else(|| Instant::now() + self.config.write_timeout),
                        );
                        rx.close();
                    }
                }
            }
            if !batch.is_empty() {
                let full =
                    std::mem::replace(&mut batch, Vec::with_capacity(self.config.batch_size));
                self.flush(full).await;
            } else {
                // Quiet: writes in flight are settled; counter increments held
                // while Redis was away are sent now, not only when the next
                // event comes; lost counters are noticed and recovered.
                self.settle_all().await;
                self.check_counters().await;
                if !self.backlog.is_empty() {
                    self.retry_backlog().await;
                }
            }
            if self.deadline.is_none() {
                self.replay_spill(self.config.flush_interval).await;
            }
            if closed || self.out_of_time() {
                break;
            }
        }
        self.finish(rx).await;
    }

    /// The end: one more try for the backlog while time remains, and the spill
    /// file's replay (a gateway being scaled in may never start again on this
    /// disk); then whatever is still held or queued goes to the spill file.
    async fn finish(mut self, mut rx: mpsc::Receiver<UsageEvent>) {
        self.settle_all().await;
        self.retry_after = None;
        if let Counters::Redis(redis) = &*self.counters {
            redis.retry_now().await;
        }
        if !self.out_of_time() {
            self.check_counters().await;
        }
        self.stop_counting().await;
        if !self.out_of_time() {
            self.retry_backlog().await;
            let left = match self.deadline {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => self.config.write_timeout,
            };
            self.replay_spill(left).await;
        }
        // Only left when the deadline passed with events queued: their counters
        // are not applied (the process is stopping; the events are kept).
        let mut rest = Vec::new();
        while let Ok(event) = rx.try_recv() {
            rest.push(event);
        }
        for chunk in rest.chunks(self.config.batch_size.max(1)) {
            self.backlog.push_back(chunk.to_vec());
        }
        let mut spilled = 0;
        while let Some(batch) = self.backlog.pop_front() {
            if self.spill(&batch) {
                spilled += batch.len() as u64;
            }
        }
        if spilled > 0 {
            self.stats
                .shutdown_spilled
                .fetch_add(spilled, Ordering::Relaxed);
            tracing::warn!(
                events = spilled,
                "shutdown: the event store could not take every event in time; the rest is spilled and written at the next start"
            );
        }
        if let Counters::Redis(redis) = &*self.counters {
            redis.forget_applied_mark().await;
        }
    }

    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|at| Instant::now() >= at)
    }

    /// Whether the store failed recently and is not to be tried yet.
    fn waiting(&self) -> bool {
        self.retry_after.is_some_and(|at| Instant::now() < at)
    }

    async fn flush(&mut self, batch: Vec<UsageEvent>) {
        let mut increments = Increments::default();
        for event in &batch {
            increments.add(event);
        }
        self.count(increments).await;
        self.recount.just_counted();
        if self.recount.blocked {
            // The counts are lost: hold the batch (counted again by the
            // recovery) and store nothing until they are recovered.
            self.hold(batch);
            self.settle_all().await;
            self.recover().await;
            if !self.recount.blocked {
                self.retry_backlog().await;
            }
            return;
        }
        self.retry_backlog().await;
        // Room for one more write first, so the confirmation below is the
        // last thing before the write starts.
        let most = match &*self.store {
            Store::Postgres(_) => IN_FLIGHT,
            Store::Sqlite(_) => 1,
        };
        while self.in_flight.len() >= most {
            self.recount.fresh = false;
            self.settle_oldest().await;
        }
        if self.backlog.is_empty() && !self.waiting() && self.confirm().await {
            self.start_write(batch);
        } else {
            self.hold(batch);
        }
        self.recount.fresh = false;
    }

    /// Starts writing a confirmed batch in a task of its own.
    fn start_write(&mut self, batch: Vec<UsageEvent>) {
        self.stored();
        let events = Arc::new(batch);
        let limit = self.write_limit(Instant::now());
        let store = self.store.clone();
        let shared = events.clone();
        let task = tokio::spawn(async move { Attempt::run(&store, &shared, limit).await });
        self.in_flight.push_back(InFlight { events, task });
    }

    /// Takes the outcome of every write in flight, oldest first.
    async fn settle_all(&mut self) {
        while !self.in_flight.is_empty() {
            self.settle_oldest().await;
        }
    }

    /// Takes the outcome of the oldest write in flight: counted as written, or
    /// held (the store cannot take it now), or split to find what the store
    /// refuses, as [`Pipeline::write`] does.
    async fn settle_oldest(&mut self) {
        let Some(flight) = self.in_flight.pop_front() else {
            return;
        };
        let attempt = flight.task.await.unwrap_or_else(|error| Attempt {
            result: Err(lost_task(&error)),
            took: Duration::ZERO,
            timed_out: false,
        });
        let written = self.account(flight.events.len(), attempt);
        let batch = Arc::try_unwrap(flight.events).unwrap_or_else(|events| (*events).clone());
        match written {
            Ok(()) => {}
            Err(error) if error.is_transient() => {
                self.unavailable(&error);
                self.hold(batch);
            }
            Err(error) => {
                if let Err(rest) = self.isolate(batch, error).await {
                    self.hold(rest);
                }
            }
        }
    }

    /// Writes one batch. `Ok(refused)` when every event is now in the store or
    /// dead-lettered (`refused` of them); `Err` gives back the events the store
    /// could not take now.
    async fn write(&mut self, batch: Vec<UsageEvent>) -> Result<usize, Vec<UsageEvent>> {
        if !self.confirm().await {
            return Err(batch);
        }
        let written = self.try_write(&batch).await;
        self.stored();
        match written {
            Ok(()) => Ok(0),
            Err(error) if error.is_transient() => {
                self.unavailable(&error);
                Err(batch)
            }
            Err(error) => self.isolate(batch, error).await,
        }
    }

    /// One store write, bounded in time, with its statistics.
    async fn try_write(&mut self, events: &[UsageEvent]) -> Result<(), StoreError> {
        let limit = self.write_limit(Instant::now());
        let attempt = Attempt::run(&self.store, events, limit).await;
        self.account(events.len(), attempt)
    }

    /// How long a write started at `started` may take: `write_timeout`, and
    /// never past the shutdown deadline.
    fn write_limit(&self, started: Instant) -> Duration {
        match self.deadline {
            Some(at) => self
                .config
                .write_timeout
                .min(at.saturating_duration_since(started)),
            None => self.config.write_timeout,
        }
    }

    /// The statistics of one finished write of `len` events, and the store's
    /// state after it.
    fn account(&mut self, len: usize, attempt: Attempt) -> Result<(), StoreError> {
        let stats = &self.stats;
        if attempt.timed_out {
            stats.write_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        let inserted = match attempt.result {
            Ok(inserted) => inserted,
            Err(error) => {
                stats.store_failures.fetch_add(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        let len = len as u64;
        stats.written.fetch_add(inserted, Ordering::Relaxed);
        stats
            .duplicates
            .fetch_add(len - inserted.min(len), Ordering::Relaxed);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.batch_events.fetch_add(len, Ordering::Relaxed);
        stats
            .write_micros
            .fetch_add(attempt.took.as_micros() as u64, Ordering::Relaxed);
        self.retry_after = None;
        if let Some(since) = self.store_down_since.take() {
            tracing::info!(
                down_ms = since.elapsed().as_millis() as u64,
                "event store reachable again"
            );
        }
        Ok(())
    }

    fn unavailable(&mut self, error: &StoreError) {
        self.retry_after = Some(Instant::now() + self.config.retry_interval);
        if self.store_down_since.is_none() {
            self.store_down_since = Some(Instant::now());
            tracing::warn!(%error, "event store unavailable: holding events");
        }
    }

    /// Splits a refused batch until the refused events are found (see
    /// `isolate`), writes the rest, and dead-letters the refused ones.
    async fn isolate(
        &mut self,
        batch: Vec<UsageEvent>,
        error: StoreError,
    ) -> Result<usize, Vec<UsageEvent>> {
        let size = batch.len();
        let mut refused = Vec::new();
        let mut todo = Vec::new();
        refuse(batch, error, &mut todo, &mut refused);
        while let Some(part) = todo.pop() {
            match self.try_write(&part).await {
                Ok(()) => {}
                Err(error) if error.is_transient() => {
                    // The store went away mid-way: hold what is left.
                    self.unavailable(&error);
                    todo.push(part);
                    self.dead_letter(&refused, size);
                    return Err(todo.into_iter().flatten().collect());
                }
                Err(error) => refuse(part, error, &mut todo, &mut refused),
            }
        }
        self.dead_letter(&refused, size);
        Ok(refused.len())
    }

    /// Writes refused events to the dead-letter file, and logs once for the
    /// batch: how many, why, and which (ids only).
    fn dead_letter(&self, refused: &[(UsageEvent, String)], batch: usize) {
        if refused.is_empty() {
            return;
        }
        let at = chrono::Utc::now();
        let records: Vec<spill::DeadLetter<'_>> = refused
            .iter()
            .map(|(event, reason)| spill::DeadLetter {
                at,
                reason,
                event: Some(event),
                line: None,
            })
            .collect();
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, reason) in refused {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
        let reasons: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(reason, n)| format!("{n} x {}", cut(reason, 300)))
            .collect();
        let tenants: BTreeSet<&str> = refused
            .iter()
            .map(|(e, _)| e.tenant_id.as_str())
            .take(5)
            .collect();
        let ids: Vec<String> = refused
            .iter()
            .take(5)
            .map(|(e, _)| e.event_id.to_string())
            .collect();
        let count = refused.len() as u64;
        let written = match &self.config.dead_letter_path {
            Some(path) => spill::append_dead_letters(path, &records).map_err(|e| e.to_string()),
            None => Err("no dead-letter file configured".to_owned()),
        };
        match written {
            Ok(()) => {
                self.stats.dead_lettered.fetch_add(count, Ordering::Relaxed);
                tracing::error!(
                    refused = count,
                    batch,
                    ?reasons,
                    ?tenants,
                    first_event_ids = ?ids,
                    "event store refused events: kept in the dead-letter file"
                );
            }
            Err(error) => {
                self.stats.dropped.fetch_add(count, Ordering::Relaxed);
                tracing::error!(
                    refused = count,
                    batch,
                    ?reasons,
                    ?tenants,
                    first_event_ids = ?ids,
                    %error,
                    "event store refused events and the dead-letter file cannot take them: events dropped"
                );
            }
        }
    }

    /// Keeps a batch for later: in memory up to the bound, then on disk.
    fn hold(&mut self, batch: Vec<UsageEvent>) {
        self.held += batch.len();
        self.backlog.push_back(batch);
        while self.held > self.config.memory_backlog {
            let Some(oldest) = self.backlog.pop_front() else {
                break;
            };
            self.held -= oldest.len();
            self.spill(&oldest);
        }
    }

    async fn retry_backlog(&mut self) {
        if self.waiting() || self.backlog.is_empty() {
            return;
        }
        // Backlog writes go one at a time, after what is in flight.
        if !self.in_flight.is_empty() {
            self.recount.fresh = false;
            self.settle_all().await;
        }
        while let Some(batch) = self.backlog.pop_front() {
            let len = batch.len();
            self.held -= len;
            match self.write(batch).await {
                Ok(refused) => {
                    self.stats
                        .replayed
                        .fetch_add((len - refused) as u64, Ordering::Relaxed);
                }
                Err(rest) => {
                    self.held += rest.len();
                    self.backlog.push_front(rest);
                    return;
                }
            }
        }
    }

    /// Appends a batch to the spill file; false (counted as dropped) if it cannot.
    fn spill(&mut self, batch: &[UsageEvent]) -> bool {
        let events = batch.len() as u64;
        let Some(path) = &self.config.spill_path else {
            self.stats.dropped.fetch_add(events, Ordering::Relaxed);
            tracing::error!(events, "no spill file configured: events dropped");
            return false;
        };
        match spill::append_events(path, batch) {
            Ok(()) => {
                self.stats.spilled.fetch_add(events, Ordering::Relaxed);
                self.spill_pending = true;
                true
            }
            Err(error) => {
                self.stats.dropped.fetch_add(events, Ordering::Relaxed);
                tracing::error!(%error, path = %path.display(), events, "cannot spill: events dropped");
                false
            }
        }
    }

    /// Replays the spill file, a chunk at a time, for at most `budget` (while
    /// running, one flush interval: new events keep flowing meanwhile). Only
    /// when the store takes writes and nothing is held in memory; what is not
    /// replayed stays in the file for later (or the next start).
    async fn replay_spill(&mut self, budget: Duration) {
        let Some(path) = self.config.spill_path.clone() else {
            return;
        };
        if self.spill_pending {
            // A batch in flight that fails is spilled after what is replayed.
            self.settle_all().await;
        }
        let started = Instant::now();
        while self.spill_pending
            && self.backlog.is_empty()
            && !self.waiting()
            && !self.out_of_time()
            && started.elapsed() < budget
        {
            let chunk = match spill::read_chunk(&path, self.spill_offset, self.config.batch_size) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    self.spill_pending = false;
                    self.spill_offset = 0;
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "cannot read the spill file; retrying later");
                    self.retry_after = Some(Instant::now() + self.config.retry_interval);
                    return;
                }
            };
            let events = chunk.events.len();
            if events > 0 {
                match self.write(chunk.events).await {
                    Ok(refused) => {
                        self.stats
                            .replayed
                            .fetch_add((events - refused) as u64, Ordering::Relaxed);
                    }
                    // Still in the file: replayed from the same offset later.
                    Err(_) => return,
                }
            }
            self.dead_letter_torn(&chunk.torn);
            self.spill_offset = chunk.end;
            if chunk.at_end {
                self.spill_pending = false;
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        self.spill_offset = 0;
                        tracing::info!(path = %path.display(), "spill file replayed and removed");
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        "spill file replayed but not removed; new spills are appended after it"
                    ),
                }
            }
        }
    }

    /// Keeps unreadable spill lines in the dead-letter file, counted.
    fn dead_letter_torn(&self, torn: &[spill::TornLine]) {
        if torn.is_empty() {
            return;
        }
        let at = chrono::Utc::now();
        let reason = "unreadable spill-file line (torn write), skipped";
        let records: Vec<spill::DeadLetter<'_>> = torn
            .iter()
            .map(|line| spill::DeadLetter {
                at,
                reason,
                event: None,
                line: Some(&line.text),
            })
            .collect();
        self.stats
            .spill_torn_lines
            .fetch_add(torn.len() as u64, Ordering::Relaxed);
        let offsets: Vec<u64> = torn.iter().take(5).map(|line| line.offset).collect();
        let kept = self
            .config
            .dead_letter_path
            .as_ref()
            .is_some_and(|path| spill::append_dead_letters(path, &records).is_ok());
        tracing::warn!(
            lines = torn.len(),
            first_offsets = ?offsets,
            kept_in_dead_letter_file = kept,
            "spill file: unreadable lines skipped"
        );
    }
}

/// A write task that panicked or was cancelled: its batch is held and written
/// again (the store ignores ids it already holds).
fn lost_task(error: &JoinError) -> StoreError {
    StoreError::Unavailable(format!("the write task failed: {error}"))
}

/// Records a refused part: a single event is refused for `error`'s reason; a
/// larger part is split to find which of its events are.
fn refuse(
    part: Vec<UsageEvent>,
    error: StoreError,
    todo: &mut Vec<Vec<UsageEvent>>,
    refused: &mut Vec<(UsageEvent, String)>,
) {
    if part.len() == 1 {
        let reason = match error {
            StoreError::Rejected(reason) => reason,
            other => other.to_string(),
        };
        refused.extend(part.into_iter().map(|event| (event, reason.clone())));
    } else {
        todo.extend(isolate::split(part).into_iter().rev());
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
