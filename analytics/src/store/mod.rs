//! Where events are kept: Postgres in production, an embedded SQLite file when no
//! database is configured. Both take batches of events and ignore events they
//! already hold (by `event_id`), so a replay after a failure writes each event
//! exactly once.

pub mod alerts;
mod counter_sums;
mod error;
pub mod postgres;
pub mod queries;
pub mod reports;
mod spend;
pub mod sqlite;

use std::future::Future;

pub use counter_sums::CounterWindow;
pub use error::StoreError;
pub use spend::SpendScope;

use crate::event::UsageEvent;

/// A place events are written to.
pub trait EventStore {
    /// Writes `events`, skipping ids already stored; returns how many were new.
    /// A write that fails has no effect (one transaction): the writer relies on
    /// it to retry a batch, or to split a refused one, without writing twice.
    fn write(&self, events: &[UsageEvent]) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The configured store (enum dispatch: no trait objects).
pub enum Store {
    Postgres(postgres::PostgresStore),
    Sqlite(sqlite::SqliteStore),
}

impl EventStore for Store {
    async fn write(&self, events: &[UsageEvent]) -> Result<u64, StoreError> {
        match self {
            Store::Postgres(store) => store.write(events).await,
            Store::Sqlite(store) => store.write(events).await,
        }
    }
}

/// How long data is kept and how far ahead partitions are made.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub raw_days: u32,
    pub aggregate_days: u32,
    pub partitions_ahead_days: u32,
}

impl Store {
    /// Connects to Postgres and brings its schema up to date.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Store::open_postgres_with(url, postgres::PoolSettings::default()).await
    }

    /// [`Store::open_postgres`] with pool settings (the writer's time limit).
    pub async fn open_postgres_with(
        url: &str,
        settings: postgres::PoolSettings,
    ) -> Result<Store, StoreError> {
        let store = postgres::PostgresStore::connect_with(url, settings).await?;
        let applied = store.migrate().await?;
        let store = Store::Postgres(store);
        store.after_migrations(&applied).await;
        Ok(store)
    }

    /// Opens (creating if needed) the embedded SQLite file and brings its schema
    /// up to date.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Store, StoreError> {
        let store = sqlite::SqliteStore::open(path).await?;
        let applied = store.migrate().await?;
        let store = Store::Sqlite(store);
        store.after_migrations(&applied).await;
        Ok(store)
    }

    /// What follows the migrations `applied` just now (their versions), on a
    /// store whose login may roll up: after the unpriced-events repair, the
    /// rollups are rebuilt. Call it wherever migrations run.
    pub async fn after_migrations(&self, applied: &[i64]) {
        let repaired = match self {
            Store::Postgres(_) => applied.contains(&postgres::UNPRICED),
            Store::Sqlite(_) => applied.contains(&sqlite::UNPRICED),
        };
        if repaired {
            self.rebuild_after_repair().await;
        }
    }

    /// After the migration that made past unpriced events unpriced (they had
    /// been stored as free, with a saving of their whole baseline): rolls up
    /// again every day whose raw events are kept, so the aggregates lose those
    /// savings and count the events as unpriced. Aggregates of days whose raw
    /// events are gone cannot be rebuilt and stay as they were. A failure is
    /// logged, not fatal: `gateway rollup` does the same later.
    async fn rebuild_after_repair(&self) {
        let range = match self {
            Store::Postgres(store) => store.raw_days().await,
            Store::Sqlite(store) => store.raw_days().await,
        };
        let Ok(Some((first, last))) = range else {
            return;
        };
        let last = last.min(chrono::Utc::now().date_naive());
        tracing::info!(%first, %last, "rebuilding the rollups after the unpriced-events migration");
        if let Err(error) = self.rollup(first, last).await {
            tracing::warn!(
                %error, %first, %last,
                "could not rebuild the rollups; run `gateway rollup --from {first} --to {last}`"
            );
        }
    }

    /// Rolls up raw events of `from..=to` into the daily, weekly and monthly
    /// aggregates and the daily latency histograms; idempotent.
    pub async fn rollup(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        match self {
            Store::Postgres(store) => store.rollup(from, to).await.map(drop)?,
            Store::Sqlite(store) => store.rollup(from, to).await.map(drop)?,
        }
        self.rollup_latency(from, to).await
    }

    /// The periodic housekeeping: partitions ahead of time, rollups of the last
    /// two days (late events land there), and retention of raw events and
    /// aggregates.
    pub async fn maintain(
        &self,
        today: chrono::NaiveDate,
        retention: Retention,
    ) -> Result<(), StoreError> {
        let two_days_ago = today - chrono::Days::new(2);
        match self {
            Store::Postgres(store) => {
                store
                    .ensure_partitions(today, retention.partitions_ahead_days)
                    .await?;
                store.rollup(two_days_ago, today).await?;
                self.rollup_latency(two_days_ago, today).await?;
                let dropped = store
                    .drop_partitions_older_than(today, retention.raw_days)
                    .await?;
                if !dropped.is_empty() {
                    tracing::info!(partitions = ?dropped, "raw event partitions past retention dropped");
                }
                store
                    .drop_aggregates_older_than(today, retention.aggregate_days)
                    .await?;
            }
            Store::Sqlite(store) => {
                store.rollup(two_days_ago, today).await?;
                self.rollup_latency(two_days_ago, today).await?;
                let cutoff = (today - chrono::Days::new(u64::from(retention.raw_days)))
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc());
                if let Some(cutoff) = cutoff {
                    // The raw deletion rolls its days up one last time; so do
                    // the latency histograms, first.
                    if let Some(last) = cutoff.date_naive().pred_opt() {
                        self.rollup_latency(chrono::NaiveDate::MIN, last).await?;
                    }
                    store.delete_events_older_than(cutoff).await?;
                }
                store
                    .drop_aggregates_older_than(today, retention.aggregate_days)
                    .await?;
            }
        }
        self.drop_latency_older_than(today, retention.aggregate_days)
            .await?;
        Ok(())
    }
}
