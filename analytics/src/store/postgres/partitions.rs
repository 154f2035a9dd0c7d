//! The partition manager: `usage_events` has one partition per UTC day, named
//! `usage_events_YYYYMMDD`. They are created ahead (and on demand by the writer) and
//! dropped once older than the raw retention; the SQL lives in the functions
//! `gateway_ensure_partition(s)` and `gateway_drop_partitions_before`. Which days
//! exist is cached in memory so the writer asks Postgres only about new days.

use std::collections::BTreeSet;
use std::sync::PoisonError;

use chrono::{Days, NaiveDate};
use sqlx::PgConnection;

use super::PostgresStore;
use crate::store::StoreError;

impl PostgresStore {
    /// Makes sure the partitions for `from` and the `days_ahead` days after it exist;
    /// returns how many had to be created.
    pub async fn ensure_partitions(
        &self,
        from: NaiveDate,
        days_ahead: u32,
    ) -> Result<u32, StoreError> {
        let mut days = BTreeSet::new();
        for offset in 0..=days_ahead {
            days.insert(shift(from, offset, true)?);
        }
        let created: i32 = sqlx::query_scalar("SELECT gateway_ensure_partitions($1, $2)")
            .bind(from)
            .bind(
                i32::try_from(days_ahead)
                    .unwrap_or(i32::MAX)
                    .saturating_add(1),
            )
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        self.remember(&days);
        if created > 0 {
            tracing::info!(%from, days_ahead, created, "created usage_events partitions");
        }
        Ok(u32::try_from(created).unwrap_or(0))
    }

    /// Drops the partitions of days before `today - retention_days` and returns their
    /// names. Aggregates already rolled up for those days are kept: the rollup never
    /// recomputes a day older than the retention cutoff.
    pub async fn drop_partitions_older_than(
        &self,
        today: NaiveDate,
        retention_days: u32,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff = shift(today, retention_days, false)?;
        let dropped: Vec<String> =
            sqlx::query_scalar("SELECT name FROM gateway_drop_partitions_before($1) AS name")
                .bind(cutoff)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        self.known_days
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|day| *day >= cutoff);
        if !dropped.is_empty() {
            tracing::info!(%cutoff, partitions = dropped.len(), "dropped usage_events partitions");
        }
        Ok(dropped)
    }

    /// Makes sure every day in `days` has its partition, asking Postgres (on the
    /// writer's connection `conn`) only about days not known yet.
    pub(super) async fn ensure_days(
        &self,
        conn: &mut PgConnection,
        days: &BTreeSet<NaiveDate>,
    ) -> Result<(), StoreError> {
        let unknown: Vec<NaiveDate> = {
            let known = self
                .known_days
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            days.iter()
                .filter(|day| !known.contains(day))
                .copied()
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "SELECT count(*) FROM unnest($1::date[]) AS d WHERE gateway_ensure_partition(d)",
        )
        .bind(unknown)
        .execute(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
        self.remember(days);
        Ok(())
    }

    /// Forgets `days`, after Postgres said one of them has no partition (another
    /// instance dropped it).
    pub(super) fn forget(&self, days: &BTreeSet<NaiveDate>) {
        self.known_days
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|day| !days.contains(day));
    }

    fn remember(&self, days: &BTreeSet<NaiveDate>) {
        self.known_days
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(days.iter().copied());
    }
}

/// `day` moved `by` days forward or back.
pub(super) fn shift(day: NaiveDate, by: u32, forward: bool) -> Result<NaiveDate, StoreError> {
    let by = Days::new(u64::from(by));
    let moved = if forward {
        day.checked_add_days(by)
    } else {
        day.checked_sub_days(by)
    };
    moved.ok_or_else(|| StoreError::Rejected(format!("date out of range: {day} moved by {by:?}")))
}
