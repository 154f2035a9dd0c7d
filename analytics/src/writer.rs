//! The event pipeline: the request path hands events to a bounded channel with
//! `try_send` and never waits; one writer task batches them (by count or time),
//! applies them to the counters and writes them to the store.
//!
//! When the store is unreachable, batches wait in memory up to a bound, then in
//! an append-only spill file (JSON lines), and are written when the store is back;
//! events carry their id and the stores ignore ids they hold, so a replay writes
//! each event exactly once. An event is only ever lost when the channel itself is
//! full (the request path never blocks) or the spill file cannot be written; both
//! are counted and logged. Shutdown drains the channel and flushes.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::counters::{Counters, Increments};
use crate::event::UsageEvent;
use crate::store::{EventStore, Store};

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
    /// Pause between write attempts while the store is down.
    pub retry_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 100_000,
            batch_size: 2_000,
            flush_interval: Duration::from_millis(200),
            memory_backlog: 200_000,
            spill_path: None,
            retry_interval: Duration::from_millis(500),
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
    pub replayed: AtomicU64,
    pub dropped: AtomicU64,
    pub batches: AtomicU64,
    pub batch_events: AtomicU64,
    pub write_micros: AtomicU64,
    pub counter_failures: AtomicU64,
    pub store_failures: AtomicU64,
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

/// The running writer task.
pub struct Writer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
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
        let (stop, stopped) = watch::channel(false);
        let counters = Arc::new(counters);
        let state = Pipeline {
            store,
            counters: counters.clone(),
            backlog: VecDeque::new(),
            store_down_since: None,
            retry_after: None,
            config,
            stats: stats.clone(),
        };
        let task = tokio::spawn(state.run(rx, stopped));
        (
            EventSink {
                tx,
                stats,
                counters,
            },
            Writer { stop, task },
        )
    }

    /// Stops taking events, writes everything queued (as far as the store
    /// allows within `grace`; the rest is spilled), and returns.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, self.task).await;
    }
}

struct Pipeline {
    store: Arc<Store>,
    counters: Arc<Counters>,
    /// Batches that could not be written yet, oldest first.
    backlog: VecDeque<Vec<UsageEvent>>,
    store_down_since: Option<Instant>,
    retry_after: Option<Instant>,
    config: WriterConfig,
    stats: Arc<WriterStats>,
}

impl Pipeline {
    async fn run(mut self, mut rx: mpsc::Receiver<UsageEvent>, mut stop: watch::Receiver<bool>) {
        let mut batch: Vec<UsageEvent> = Vec::with_capacity(self.config.batch_size);
        // Replay what a previous run spilled.
        self.replay_spill().await;
        let mut stopping = false;
        loop {
            let deadline = tokio::time::sleep(self.config.flush_interval);
            tokio::pin!(deadline);
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
                    () = &mut deadline => break,
                    changed = stop.changed(), if !stopping => {
                        // Stop taking new events; what is queued is still drained.
                        stopping = true;
                        let _ = changed;
                        rx.close();
                    }
                }
            }
            if !batch.is_empty() {
                let full =
                    std::mem::replace(&mut batch, Vec::with_capacity(self.config.batch_size));
                self.flush(full).await;
            } else if !self.backlog.is_empty() {
                self.retry_backlog().await;
            }
            if closed {
                break;
            }
        }
        // Final flush: one more try for the backlog, then spill what is left.
        self.retry_backlog().await;
        while let Some(batch) = self.backlog.pop_front() {
            self.spill(&batch);
        }
    }

    async fn flush(&mut self, batch: Vec<UsageEvent>) {
        let mut increments = Increments::default();
        for event in &batch {
            increments.add(event);
        }
        self.apply_counters(increments).await;
        self.retry_backlog().await;
        if self.backlog.is_empty() {
            if let Err(batch) = self.write(batch).await {
                self.hold(batch);
            }
        } else {
            self.hold(batch);
        }
    }

    async fn apply_counters(&self, increments: Increments) {
        match &*self.counters {
            Counters::Memory(memory) => memory.apply(&increments),
            Counters::Redis(redis) => {
                let (sent, dropped) = redis.apply(increments).await;
                if !sent {
                    self.stats.counter_failures.fetch_add(1, Ordering::Relaxed);
                }
                if dropped > 0 {
                    tracing::warn!(
                        dropped,
                        "redis unreachable too long: counter increments dropped (events are kept)"
                    );
                }
            }
        }
    }

    /// Writes one batch; gives it back when the store is unavailable.
    async fn write(&mut self, batch: Vec<UsageEvent>) -> Result<(), Vec<UsageEvent>> {
        let started = Instant::now();
        match self.store.write(&batch).await {
            Ok(inserted) => {
                let stats = &self.stats;
                stats.written.fetch_add(inserted, Ordering::Relaxed);
                stats.duplicates.fetch_add(
                    batch.len() as u64 - inserted.min(batch.len() as u64),
                    Ordering::Relaxed,
                );
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats
                    .batch_events
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                stats
                    .write_micros
                    .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                self.retry_after = None;
                if let Some(since) = self.store_down_since.take() {
                    tracing::info!(
                        down_ms = since.elapsed().as_millis() as u64,
                        "event store reachable again"
                    );
                }
                Ok(())
            }
            Err(error) if error.is_transient() => {
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                self.retry_after = Some(Instant::now() + self.config.retry_interval);
                if self.store_down_since.is_none() {
                    self.store_down_since = Some(Instant::now());
                    tracing::warn!(%error, "event store unavailable: holding events");
                }
                Err(batch)
            }
            Err(error) => {
                // The store refused the rows themselves; retrying cannot help.
                // Keep them on disk for inspection rather than losing them.
                self.stats.store_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, events = batch.len(), "event store rejected a batch: spilled");
                self.spill(&batch);
                Ok(())
            }
        }
    }

    /// Keeps a batch for later: in memory up to the bound, then on disk.
    fn hold(&mut self, batch: Vec<UsageEvent>) {
        self.backlog.push_back(batch);
        let mut held: usize = self.backlog.iter().map(Vec::len).sum();
        while held > self.config.memory_backlog {
            let Some(oldest) = self.backlog.pop_front() else {
                break;
            };
            held -= oldest.len();
            self.spill(&oldest);
        }
    }

    async fn retry_backlog(&mut self) {
        if self.backlog.is_empty() && !self.spill_exists() {
            return;
        }
        // A store that is down is retried every `retry_interval`, not every flush.
        if self.retry_after.is_some_and(|at| Instant::now() < at) {
            return;
        }
        while let Some(batch) = self.backlog.pop_front() {
            let len = batch.len() as u64;
            match self.write(batch).await {
                Ok(()) => {
                    self.stats.replayed.fetch_add(len, Ordering::Relaxed);
                }
                Err(batch) => {
                    self.backlog.push_front(batch);
                    return;
                }
            }
        }
        self.replay_spill().await;
    }

    fn spill_exists(&self) -> bool {
        self.config.spill_path.as_ref().is_some_and(|p| p.exists())
    }

    fn spill(&self, batch: &[UsageEvent]) {
        let Some(path) = &self.config.spill_path else {
            self.stats
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            tracing::error!(
                events = batch.len(),
                "no spill file configured: events dropped"
            );
            return;
        };
        let written = (|| -> std::io::Result<()> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let mut out = std::io::BufWriter::new(file);
            for event in batch {
                serde_json::to_writer(&mut out, event)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            out.get_ref().sync_data()
        })();
        match written {
            Ok(()) => {
                self.stats
                    .spilled
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(%error, path = %path.display(), events = batch.len(), "cannot spill: events dropped");
            }
        }
    }

    /// Writes the spill file's events to the store and removes the file once they
    /// are all in. A torn last line (a crash mid-write) is skipped.
    async fn replay_spill(&mut self) {
        let Some(path) = self.config.spill_path.clone() else {
            return;
        };
        let Ok(file) = std::fs::File::open(&path) else {
            return;
        };
        let mut events = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            if let Ok(event) = serde_json::from_str::<UsageEvent>(&line) {
                events.push(event);
            }
        }
        for chunk in events.chunks(self.config.batch_size.max(1)) {
            let len = chunk.len() as u64;
            if self.write(chunk.to_vec()).await.is_err() {
                // Still down: the file stays as it is and is replayed later.
                return;
            }
            self.stats.replayed.fetch_add(len, Ordering::Relaxed);
        }
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(%error, "spill file replayed but not removed; its events are deduplicated on replay");
        } else {
            tracing::info!(events = events.len(), "spill file replayed");
        }
    }
}
