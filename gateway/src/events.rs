//! Starting and stopping the usage-event pipeline from the `[analytics]` config:
//! the store (Postgres, or the embedded SQLite file), the counters (Redis, or in
//! process), the writer task, and the housekeeping task (partitions, rollups,
//! retention) that runs every `rollup_interval`.
//!
//! - `open`: which Postgres login migrates, checks and serves.

use std::sync::Arc;
use std::time::Duration;

use analytics::counters::{Counters, MemoryCounters, RedisCounters};
use analytics::store::postgres::PoolSettings;
use analytics::store::{Retention, Store};
use analytics::writer::{EventSink, Writer, WriterConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{AnalyticsConfig, EventStoreConfig};

mod open;

pub use open::{migrate_and_grant, MigrateReport, OpenError};

/// How much longer than `analytics.write_timeout_ms` the writer waits for a
/// store write before it gives up on it.
const WRITE_TIMEOUT_BACKSTOP: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot open the event store: {0}")]
    Store(#[from] OpenError),
    #[error("analytics.redis_url: {0}")]
    Redis(String),
}

pub struct Pipeline {
    pub sink: EventSink,
    pub store: Arc<Store>,
    writer: Writer,
    stop: watch::Sender<bool>,
    housekeeping: JoinHandle<()>,
}

/// Opens the configured store, bringing its schema up to date (Postgres: as
/// `open` decides, with the logins checked).
pub async fn open_store(config: &AnalyticsConfig) -> Result<Store, OpenError> {
    match &config.store {
        EventStoreConfig::Postgres(logins) => {
            let settings = PoolSettings {
                write_timeout: config.write_timeout,
            };
            open::open(logins, settings).await
        }
        EventStoreConfig::Sqlite { path } => Ok(Store::open_sqlite(path).await?),
    }
}

pub fn retention(config: &AnalyticsConfig) -> Retention {
    Retention {
        raw_days: config.raw_retention_days,
        aggregate_days: config.aggregate_retention_days,
        partitions_ahead_days: config.partitions_ahead_days,
    }
}

impl Pipeline {
    pub async fn start(config: &AnalyticsConfig) -> Result<Pipeline, PipelineError> {
        let store = Arc::new(open_store(config).await?);
        let counters = match &config.redis_url {
            Some(url) => Counters::Redis(
                RedisCounters::new(url.expose())
                    .map_err(|e| PipelineError::Redis(e.to_string()))?,
            ),
            None => Counters::Memory(MemoryCounters::default()),
        };
        let (sink, writer) = Writer::start(
            store.clone(),
            counters,
            WriterConfig {
                queue_capacity: config.queue_capacity,
                batch_size: config.batch_size,
                flush_interval: config.flush_interval,
                memory_backlog: config.memory_backlog,
                spill_path: Some(config.spill_path.clone()),
                dead_letter_path: Some(config.dead_letter_path.clone()),
                retry_interval: Duration::from_millis(500),
                // Past the store's own limit (Postgres: statement_timeout plus
                // the client's grace): a backstop for any store.
                write_timeout: config.write_timeout + WRITE_TIMEOUT_BACKSTOP,
                // A counter rebuild waits out the longest write another
                // replica may have in flight (see analytics `writer::recount`).
                rebuild_settle: config.write_timeout + WRITE_TIMEOUT_BACKSTOP,
            },
        );
        let (stop, stopped) = watch::channel(false);
        let housekeeping = tokio::spawn(housekeeping(
            store.clone(),
            retention(config),
            config.rollup_interval,
            stopped,
        ));
        Ok(Pipeline {
            sink,
            store,
            writer,
            stop,
            housekeeping,
        })
    }

    /// Drains the queue into the store (within `grace`) and stops housekeeping.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        self.writer.shutdown(grace).await;
        let _ = self.housekeeping.await;
    }
}

async fn housekeeping(
    store: Arc<Store>,
    retention: Retention,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let today = chrono::Utc::now().date_naive();
        if let Err(error) = store.maintain(today, retention).await {
            tracing::warn!(%error, "analytics housekeeping failed; retrying next round");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
