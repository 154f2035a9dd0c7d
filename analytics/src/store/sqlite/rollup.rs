//! Rollups and retention. `usage_daily` is rebuilt from raw events, `usage_weekly`
//! (week = its Monday) and `usage_monthly` (month = its 1st) from daily rows, all
//! in SQL inside one write transaction. A run replaces the aggregates of its range
//! with sums over the rows present, so it is idempotent and counts late events
//! when re-run.
//!
//! A day is rebuilt only while its raw events are all there: days before the raw
//! retention watermark (`usage_events.kept_from`), and days without raw events,
//! keep their daily rows untouched. Weeks and months that began before the
//! aggregate retention watermark (`usage_daily.kept_from`) are not rebuilt from
//! the daily rows that remain. Same rules as the Postgres store.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use sqlx::sqlite::SqliteConnection;

use super::{day_of_ns, day_start_ns, db_error, next_day, SqliteStore, BEGIN_WRITE};
use crate::store::StoreError;

/// What a rollup run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Days whose daily rows were rebuilt from raw events.
    pub days_recomputed: Vec<NaiveDate>,
    /// Days in the range left as they were: raw events deleted or never stored.
    pub days_kept: Vec<NaiveDate>,
    pub daily_rows: u64,
    /// Mondays of the weeks rebuilt.
    pub weeks_recomputed: Vec<NaiveDate>,
    pub weekly_rows: u64,
    /// First days of the months rebuilt.
    pub months_recomputed: Vec<NaiveDate>,
    pub monthly_rows: u64,
}

/// Rows removed by [`SqliteStore::drop_aggregates_older_than`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AggregatesDropped {
    pub daily: u64,
    pub weekly: u64,
    pub monthly: u64,
}

const RAW_KEPT_FROM: &str = "usage_events.kept_from";
const DAILY_KEPT_FROM: &str = "usage_daily.kept_from";

/// The dimension and measure columns every aggregate table shares.
macro_rules! aggregate_columns {
    ($period:literal) => {
        concat!(
            "tenant_id, ",
            $period,
            ", key_id, team, requested_model, routed_provider, routed_model, \
             requests, errors, prompt_tokens, completion_tokens, cached_tokens, \
             cost_pusd, baseline_pusd, savings_pusd, latency_ms_sum, latency_count, failovers, \
             unpriced"
        )
    };
}

/// Deletes a weekly or monthly table's rows of one period (`?1` its first day),
/// then sums the daily rows inside it (`?1..=?2`) into it.
macro_rules! from_daily {
    ($table:literal, $period:literal) => {
        [
            concat!("DELETE FROM ", $table, " WHERE ", $period, " = ?1"),
            concat!(
                "INSERT INTO ",
                $table,
                " (",
                aggregate_columns!($period),
                ") SELECT tenant_id, ?1, key_id, team, requested_model, routed_provider, \
                 routed_model, SUM(requests), SUM(errors), SUM(prompt_tokens), \
                 SUM(completion_tokens), SUM(cached_tokens), SUM(cost_pusd), \
                 SUM(baseline_pusd), SUM(savings_pusd), SUM(latency_ms_sum), \
                 SUM(latency_count), SUM(failovers), SUM(unpriced) FROM usage_daily \
                 WHERE day >= ?1 AND day <= ?2 \
                 GROUP BY tenant_id, key_id, team, requested_model, routed_provider, routed_model"
            ),
        ]
    };
}

/// One day's daily rows (`?1` the day) from the raw events in
/// `?2 <= occurred_at_ns < ?3`; missing team, provider and model become `''`.
/// Money sums cover priced events only (unpriced ones have NULL amounts, which
/// `SUM` skips); unpriced events are counted.
const DAILY_DELETE: &str = "DELETE FROM usage_daily WHERE day = ?1";
const DAILY_INSERT: &str = concat!(
    "INSERT INTO usage_daily (",
    aggregate_columns!("day"),
    ") SELECT tenant_id, ?1, key_id, COALESCE(team, ''), requested_model, \
     COALESCE(routed_provider, ''), COALESCE(routed_model, ''), COUNT(*), \
     SUM(status >= 400 OR error_kind IS NOT NULL), SUM(prompt_tokens), \
     SUM(completion_tokens), SUM(cached_tokens), COALESCE(SUM(cost_pusd), 0), \
     COALESCE(SUM(baseline_pusd), 0), COALESCE(SUM(baseline_pusd - cost_pusd), 0), \
     SUM(latency_ms), COUNT(latency_ms), SUM(attempts > 1), \
     SUM(cost_pusd IS NULL OR baseline_pusd IS NULL) \
     FROM usage_events WHERE occurred_at_ns >= ?2 AND occurred_at_ns < ?3 \
     GROUP BY tenant_id, key_id, COALESCE(team, ''), requested_model, \
     COALESCE(routed_provider, ''), COALESCE(routed_model, '')"
);
const WEEKLY: [&str; 2] = from_daily!("usage_weekly", "week");
const MONTHLY: [&str; 2] = from_daily!("usage_monthly", "month");

impl SqliteStore {
    /// Recomputes the aggregates of the days `from..=to_inclusive` and of the
    /// weeks and months touching them.
    pub async fn rollup(
        &self,
        from: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> Result<RollupReport, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
        let report = rollup_in(&mut tx, from, to_inclusive).await?;
        tx.commit().await.map_err(db_error)?;
        tracing::debug!(
            %from, %to_inclusive,
            days = report.days_recomputed.len(),
            kept = report.days_kept.len(),
            daily_rows = report.daily_rows,
            "sqlite rollup done"
        );
        Ok(report)
    }

    /// Raw retention: deletes the raw events of every UTC day before `cutoff`'s
    /// day (whole days: the events of `cutoff`'s own day stay), after rolling
    /// those days up one last time, and raises the `usage_events.kept_from`
    /// watermark so later rollups keep their aggregates. Returns how many events
    /// it deleted.
    ///
    /// Events that arrived late for a day already behind the watermark were
    /// never added to its aggregates; they are deleted here, with a warning.
    pub async fn delete_events_older_than(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let keep_from = cutoff.date_naive();
        let keep_from_ns = day_start_ns(keep_from);
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
        let raw_kept_from = watermark(&mut tx, RAW_KEPT_FROM).await?;
        if let Some(kept_from) = raw_kept_from {
            let late: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM usage_events WHERE occurred_at_ns < ?1")
                    .bind(day_start_ns(kept_from).min(keep_from_ns))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
            if late > 0 {
                tracing::warn!(
                    events = late,
                    before = %kept_from,
                    "deleting late events of days whose aggregates were final"
                );
            }
        }
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(occurred_at_ns) FROM usage_events WHERE occurred_at_ns < ?1",
        )
        .bind(keep_from_ns)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if let (Some(oldest), Some(last)) = (oldest, keep_from.pred_opt()) {
            // Days behind the old watermark are final already: start after them.
            let first = day_of_ns(oldest).max(raw_kept_from.unwrap_or(NaiveDate::MIN));
            rollup_in(&mut tx, first, last).await?;
        }
        let deleted = sqlx::query("DELETE FROM usage_events WHERE occurred_at_ns < ?1")
            .bind(keep_from_ns)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
        raise_watermark(&mut tx, RAW_KEPT_FROM, keep_from).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(deleted)
    }

    /// Aggregate retention: deletes daily rows of days before
    /// `today - retention_days`, and weekly and monthly rows of periods that
    /// ended before it; raises the `usage_daily.kept_from` watermark.
    pub async fn drop_aggregates_older_than(
        &self,
        today: NaiveDate,
        retention_days: u32,
    ) -> Result<AggregatesDropped, StoreError> {
        let cutoff = today
            .checked_sub_days(Days::new(u64::from(retention_days)))
            .ok_or_else(|| StoreError::Rejected(format!("{retention_days} days before {today}")))?;
        let week_ended = cutoff
            .checked_sub_days(Days::new(7))
            .unwrap_or(NaiveDate::MIN);
        let month_of_cutoff = cutoff.with_day(1).unwrap_or(cutoff);
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
        raise_watermark(&mut tx, DAILY_KEPT_FROM, cutoff).await?;
        let dropped = AggregatesDropped {
            daily: execute(&mut tx, "DELETE FROM usage_daily WHERE day < ?1", cutoff).await?,
            weekly: execute(
                &mut tx,
                "DELETE FROM usage_weekly WHERE week <= ?1",
                week_ended,
            )
            .await?,
            monthly: execute(
                &mut tx,
                "DELETE FROM usage_monthly WHERE month < ?1",
                month_of_cutoff,
            )
            .await?,
        };
        tx.commit().await.map_err(db_error)?;
        Ok(dropped)
    }
}

/// The rollup, inside the caller's write transaction.
async fn rollup_in(
    conn: &mut SqliteConnection,
    from: NaiveDate,
    to_inclusive: NaiveDate,
) -> Result<RollupReport, StoreError> {
    let mut report = RollupReport::default();
    if to_inclusive < from {
        return Ok(report);
    }
    let raw_kept_from = watermark(conn, RAW_KEPT_FROM).await?;
    let daily_kept_from = watermark(conn, DAILY_KEPT_FROM).await?;
    let floor = raw_kept_from
        .max(daily_kept_from)
        .map_or(from, |kept| kept.max(from));
    let with_raw = days_with_raw_events(conn, floor, to_inclusive).await?;
    for &day in &with_raw {
        report.daily_rows += rebuild_day(conn, day).await?;
    }
    report.days_kept = from
        .iter_days()
        .take_while(|day| *day <= to_inclusive)
        .filter(|day| with_raw.binary_search(day).is_err())
        .collect();
    report.days_recomputed = with_raw;

    let recent = |start: &NaiveDate| daily_kept_from.is_none_or(|kept| *start >= kept);
    report.weeks_recomputed = weeks(from, to_inclusive);
    report.weeks_recomputed.retain(recent);
    for &monday in &report.weeks_recomputed {
        let sunday = monday
            .checked_add_days(Days::new(6))
            .unwrap_or(NaiveDate::MAX);
        report.weekly_rows += rebuild_period(conn, &WEEKLY, monday, sunday).await?;
    }
    report.months_recomputed = months(from, to_inclusive);
    report.months_recomputed.retain(recent);
    for &first in &report.months_recomputed {
        let last = first
            .checked_add_months(Months::new(1))
            .and_then(|next| next.pred_opt())
            .unwrap_or(NaiveDate::MAX);
        report.monthly_rows += rebuild_period(conn, &MONTHLY, first, last).await?;
    }
    Ok(report)
}

/// The days of `from..=to` that have raw events, ascending: one index seek per
/// such day, jumping over the days without any.
async fn days_with_raw_events(
    conn: &mut SqliteConnection,
    from: NaiveDate,
    to_inclusive: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let mut days = Vec::new();
    let end = day_start_ns(next_day(to_inclusive));
    let mut cursor = day_start_ns(from);
    while from <= to_inclusive && cursor < end {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(occurred_at_ns) FROM usage_events
             WHERE occurred_at_ns >= ?1 AND occurred_at_ns < ?2",
        )
        .bind(cursor)
        .bind(end)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let Some(next) = next else { break };
        let day = day_of_ns(next);
        days.push(day);
        cursor = day_start_ns(next_day(day));
    }
    Ok(days)
}

/// Runs `sql` with the single bind `day`; returns the rows it changed.
async fn execute(
    conn: &mut SqliteConnection,
    sql: &'static str,
    day: NaiveDate,
) -> Result<u64, StoreError> {
    sqlx::query(sql)
        .bind(day)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected())
        .map_err(db_error)
}

async fn rebuild_day(conn: &mut SqliteConnection, day: NaiveDate) -> Result<u64, StoreError> {
    execute(conn, DAILY_DELETE, day).await?;
    Ok(sqlx::query(DAILY_INSERT)
        .bind(day)
        .bind(day_start_ns(day))
        .bind(day_start_ns(next_day(day)))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

async fn rebuild_period(
    conn: &mut SqliteConnection,
    [delete, insert]: &[&'static str; 2],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<u64, StoreError> {
    execute(conn, delete, first).await?;
    Ok(sqlx::query(insert)
        .bind(first)
        .bind(last)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

async fn watermark(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Option<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT day FROM gateway_watermarks WHERE name = ?1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)
}

/// Watermarks only move forward.
async fn raise_watermark(
    conn: &mut SqliteConnection,
    name: &str,
    day: NaiveDate,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO gateway_watermarks (name, day) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET day = max(day, excluded.day)",
    )
    .bind(name)
    .bind(day)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Mondays of the weeks touching `from..=to`.
fn weeks(from: NaiveDate, to_inclusive: NaiveDate) -> Vec<NaiveDate> {
    let back = Days::new(u64::from(from.weekday().num_days_from_monday()));
    let first = from.checked_sub_days(back).unwrap_or(NaiveDate::MIN);
    first
        .iter_weeks()
        .take_while(|monday| *monday <= to_inclusive)
        .collect()
}

/// First days of the months touching `from..=to`.
fn months(from: NaiveDate, to_inclusive: NaiveDate) -> Vec<NaiveDate> {
    let mut months = Vec::new();
    let mut month = from.with_day(1);
    while let Some(first) = month.filter(|first| *first <= to_inclusive) {
        months.push(first);
        month = first.checked_add_months(Months::new(1));
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        assert_eq!(
            weeks(date(2026, 11, 29), date(2026, 12, 1)),
            [date(2026, 11, 23), date(2026, 11, 30)]
        );
        assert_eq!(
            weeks(date(2026, 11, 30), date(2026, 11, 30)),
            [date(2026, 11, 30)]
        );
        assert_eq!(
            months(date(2026, 11, 29), date(2027, 1, 1)),
            [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
        );
        assert_eq!(
            months(date(2026, 12, 2), date(2026, 12, 31)),
            [date(2026, 12, 1)]
        );
    }
}
