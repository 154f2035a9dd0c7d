//! The embedded store: one SQLite file (WAL) used when no `DATABASE_URL` is set,
//! with the same event model and aggregate queries as the Postgres store.
//!
//! - `migrate`: the SQL files of `migrations/sqlite/`, embedded and applied in
//!   order, each once.
//! - `write`: the batch writer behind [`EventStore`] (multi-row `INSERT .. ON
//!   CONFLICT DO NOTHING`, so replays are ignored) and raw event reads.
//! - `rollup`: daily, weekly and monthly aggregates, recomputed in SQL, and the
//!   retention of raw events and aggregates.
//! - `tenant`: tenant-scoped reads for the dashboard.
//!
//! What differs from Postgres, and why:
//! - No partitions and no row-level security: every tenant query here filters on
//!   `tenant_id` itself.
//! - SQLite has no exact decimal type, so money is integer pico-USD (`INTEGER`,
//!   i64: up to ~9.2 million USD per stored row) converted with [`pricing::Cost`].
//!   A rollup group past that fails the rollup (SQLite's `SUM` refuses to
//!   overflow) rather than wrap. Reads that add many rows split amounts into
//!   whole micro-USD and remainders in SQL and join them as i128, so they cannot
//!   overflow.
//! - Times are unix nanoseconds (`INTEGER`), so a `DateTime<Utc>` round-trips
//!   exactly; days, weeks and months are `YYYY-MM-DD` text (UTC).
//!
//! Every statement is a constant with binds; none is built from input.

mod migrate;
mod rollup;
mod tenant;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub(crate) use migrate::UNPRICED;
pub use rollup::{AggregatesDropped, RollupReport};
pub use tenant::{DailyPoint, Period, RollupRow, UsageTotals};

#[cfg(doc)]
use super::EventStore;
use super::StoreError;

/// Connections in the file-backed pool: SQLite has one writer at a time, and a
/// few readers in WAL mode are plenty.
const POOL_SIZE: u32 = 4;
/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Write transactions take the write lock up front, so two writers never
/// deadlock on a read-to-write upgrade (which SQLite reports as busy at once).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// The embedded store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database file at
    /// `path`, in WAL mode with `synchronous=NORMAL`. Call [`Self::migrate`] next.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| {
                StoreError::Unavailable(format!("cannot create {}: {error}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Ok(SqliteStore { pool })
    }

    /// A private in-memory database (one connection, kept open), for tests and
    /// demos. It disappears with the store.
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db_error)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        Ok(SqliteStore { pool })
    }

    /// The connection pool, for the queries kept outside this module
    /// (`store::queries`).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The UTC days of the oldest and the newest raw event, if any.
    pub(crate) async fn raw_days(&self) -> Result<Option<(NaiveDate, NaiveDate)>, StoreError> {
        let (first, last): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(occurred_at_ns), MAX(occurred_at_ns) FROM usage_events")
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(first.zip(last).map(|(f, l)| (day_of_ns(f), day_of_ns(l))))
    }

    /// Closes every connection (checkpointing the WAL); for shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// [`StoreError::from_sqlx`] for everything but database errors, whose codes are
/// SQLite's (numbers, not SQLSTATEs): busy, locked, out of memory, read-only,
/// I/O, disk full and cannot open are `Unavailable`, the rest (constraints,
/// triggers' `RAISE`, ...) `Rejected`.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        let primary = db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .map(|code| code & 0xff);
        return if matches!(primary, Some(5 | 6 | 7 | 8 | 10 | 13 | 14)) {
            StoreError::Unavailable(error.to_string())
        } else {
            StoreError::Rejected(error.to_string())
        };
    }
    StoreError::from_sqlx(error)
}

/// A stored value that does not fit its Rust type.
fn corrupt(column: &str) -> StoreError {
    StoreError::Rejected(format!("stored {column} is out of range"))
}

fn narrow<T: TryFrom<i64>>(value: i64, column: &'static str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| corrupt(column))
}

/// Unix nanoseconds at the start of `day` (UTC), saturating outside 1677..2262.
fn day_start_ns(day: NaiveDate) -> i64 {
    time_ns(day.and_time(NaiveTime::MIN).and_utc())
}

/// Unix nanoseconds, saturating outside 1677..2262.
pub(crate) fn time_ns(at: DateTime<Utc>) -> i64 {
    let saturated = if at.year() >= 1970 {
        i64::MAX
    } else {
        i64::MIN
    };
    at.timestamp_nanos_opt().unwrap_or(saturated)
}

/// The UTC day of a time in unix nanoseconds.
fn day_of_ns(ns: i64) -> NaiveDate {
    DateTime::from_timestamp_nanos(ns.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY).date_naive()
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn day_arithmetic_in_nanoseconds() {
        let start = day_start_ns(date("2026-11-25"));
        assert_eq!(day_of_ns(start), date("2026-11-25"));
        assert_eq!(day_of_ns(start - 1), date("2026-11-24"));
        assert_eq!(day_of_ns(start + NANOS_PER_DAY - 1), date("2026-11-25"));
        assert_eq!(day_of_ns(-1), date("1969-12-31"));
        assert_eq!(day_start_ns(date("3000-01-01")), i64::MAX);
        assert_eq!(day_start_ns(date("1500-01-01")), i64::MIN);
    }

    #[tokio::test]
    async fn in_memory_store_migrates_once() {
        use crate::store::EventStore;
        let store = SqliteStore::open_in_memory().await.unwrap();
        assert_eq!(
            store.migrate().await.unwrap().len(),
            migrate::MIGRATIONS.len()
        );
        assert!(store.migrate().await.unwrap().is_empty());
        assert_eq!(store.write(&[]).await.unwrap(), 0);
    }
}
