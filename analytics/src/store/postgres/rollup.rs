//! Rollups: `usage_daily` from raw events, `usage_weekly` (week = its Monday) and
//! `usage_monthly` (month = its first day) from daily rows, all in SQL inside one
//! transaction. A run replaces the aggregates of its range with sums over the rows
//! present, so it is idempotent and picks up late events when re-run.
//!
//! A day is recomputed only while its raw events are kept: days before the raw
//! retention cutoff (watermark `usage_events.kept_from`) or without a partition keep
//! their daily rows untouched. Likewise weeks and months that began before the
//! aggregate retention cutoff (`usage_daily.kept_from`) are not rebuilt from the
//! daily rows that remain.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc, Weekday};
use sqlx::{Postgres, Transaction};

use super::partitions::shift;
use super::PostgresStore;
use crate::store::StoreError;

/// What a rollup run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Days whose daily rows were rebuilt from raw events.
    pub days_recomputed: Vec<NaiveDate>,
    /// Days in the range left as they were: raw events dropped or never stored.
    pub days_kept: Vec<NaiveDate>,
    pub daily_rows: u64,
    /// Mondays of the weeks rebuilt.
    pub weeks_recomputed: Vec<NaiveDate>,
    pub weekly_rows: u64,
    /// First days of the months rebuilt.
    pub months_recomputed: Vec<NaiveDate>,
    pub monthly_rows: u64,
}

/// Rows removed by [`PostgresStore::drop_aggregates_older_than`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AggregatesDropped {
    pub daily: u64,
    pub weekly: u64,
    pub monthly: u64,
}

/// The measures, summed over the rows of one group.
const SUMS: &str = "sum(requests)::bigint, sum(errors)::bigint, sum(prompt_tokens)::bigint, \
    sum(completion_tokens)::bigint, sum(cached_tokens)::bigint, sum(cost_usd), \
    sum(baseline_usd), sum(savings_usd), sum(latency_ms_sum)::bigint, sum(latency_count)::bigint, \
    sum(failovers)::bigint, sum(unpriced)::bigint";

/// One day's daily rows (`$1` the day) from its raw events (`$2 <= occurred_at <
/// $3`). Money sums over priced events only (unpriced ones have NULL amounts,
/// which `sum` skips; a group of unpriced events alone sums to 0), and the
/// count of unpriced events. One statement per day, not one over the whole
/// range: a day's groups fit a hash aggregate in memory, where the whole
/// range's were sorted on disk (benches/RESULTS.md, "Rollup").
const INSERT_DAILY: &str = "
INSERT INTO usage_daily (tenant_id, day, key_id, team, requested_model, routed_provider,
    routed_model, requests, errors, prompt_tokens, completion_tokens, cached_tokens,
    cost_usd, baseline_usd, savings_usd, latency_ms_sum, latency_count, failovers, unpriced)
SELECT tenant_id, $1::date, key_id, coalesce(team, ''),
    requested_model, coalesce(routed_provider, ''), coalesce(routed_model, ''),
    count(*), count(*) FILTER (WHERE status >= 400 OR error_kind IS NOT NULL),
    sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(cached_tokens)::bigint,
    coalesce(sum(cost_usd), 0), coalesce(sum(baseline_usd), 0),
    coalesce(sum(baseline_usd - cost_usd), 0),
    sum(latency_ms)::bigint, count(latency_ms), count(*) FILTER (WHERE attempts > 1),
    count(*) FILTER (WHERE cost_usd IS NULL OR baseline_usd IS NULL)
FROM usage_events
WHERE occurred_at >= $2 AND occurred_at < $3
GROUP BY tenant_id, key_id, coalesce(team, ''), requested_model,
    coalesce(routed_provider, ''), coalesce(routed_model, '')";

/// Memory for one day's aggregation, for this transaction only: a day of
/// 333,000 events in 79,000 groups needs about 10 MB, past the server's
/// default of 4 MB (which would spill the hash aggregate to disk).
const ROLLUP_WORK_MEM: &str = "SET LOCAL work_mem = '64MB'";

/// Which days of a range have their raw events.
const DAYS: &str = "
SELECT d::date AS day,
       d::date >= coalesce(
           (SELECT day FROM gateway_watermarks WHERE name = 'usage_events.kept_from'),
           '-infinity'::date)
       AND d::date IN (SELECT gateway_partition_days()) AS has_raw
FROM generate_series($1::date::timestamp, $2::date::timestamp, interval '1 day') AS d
ORDER BY 1";

impl PostgresStore {
    /// Recomputes the aggregates of the days `from..=to_inclusive` and of the weeks
    /// and months touching them.
    pub async fn rollup(
        &self,
        from: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> Result<RollupReport, StoreError> {
        let mut report = RollupReport::default();
        if to_inclusive < from {
            return Ok(report);
        }
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        // One rollup at a time; partition drops wait for it (they take this lock
        // exclusively), so no day vanishes between listing and reading it.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtext('gateway.rollup')), \
             pg_advisory_xact_lock_shared(hashtext('gateway.partitions.drop'))",
        )
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;

        let days: Vec<(NaiveDate, bool)> = sqlx::query_as(DAYS)
            .bind(from)
            .bind(to_inclusive)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        for (day, has_raw) in days {
            if has_raw {
                report.days_recomputed.push(day);
            } else {
                report.days_kept.push(day);
            }
        }
        report.daily_rows = rebuild_daily(&mut tx, &report.days_recomputed).await?;

        let kept_from = watermark(&mut tx, "usage_daily.kept_from").await?;
        let recent = |start: &NaiveDate| kept_from.is_none_or(|kept| *start >= kept);
        report.weeks_recomputed = weeks(from, to_inclusive)?;
        report.weeks_recomputed.retain(recent);
        report.weekly_rows = rebuild(&mut tx, Period::Week, &report.weeks_recomputed).await?;
        report.months_recomputed = months(from, to_inclusive)?;
        report.months_recomputed.retain(recent);
        report.monthly_rows = rebuild(&mut tx, Period::Month, &report.months_recomputed).await?;

        tx.commit().await.map_err(StoreError::from_sqlx)?;
        tracing::debug!(
            %from, %to_inclusive,
            days = report.days_recomputed.len(),
            kept = report.days_kept.len(),
            daily_rows = report.daily_rows,
            "rollup done"
        );
        Ok(report)
    }

    /// Deletes aggregates older than `today - retention_days`: daily rows of earlier
    /// days, and weekly and monthly rows of periods that ended before it.
    pub async fn drop_aggregates_older_than(
        &self,
        today: NaiveDate,
        retention_days: u32,
    ) -> Result<AggregatesDropped, StoreError> {
        let cutoff = shift(today, retention_days, false)?;
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('gateway.rollup'))")
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        with_day(
            &mut tx,
            "SELECT gateway_raise_watermark('usage_daily.kept_from', $1)",
            cutoff,
        )
        .await?;
        let dropped = AggregatesDropped {
            daily: with_day(&mut tx, "DELETE FROM usage_daily WHERE day < $1", cutoff).await?,
            weekly: with_day(
                &mut tx,
                "DELETE FROM usage_weekly WHERE week + 7 <= $1",
                cutoff,
            )
            .await?,
            monthly: with_day(
                &mut tx,
                "DELETE FROM usage_monthly WHERE (month + interval '1 month')::date <= $1",
                cutoff,
            )
            .await?,
        };
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(dropped)
    }
}

async fn rebuild_daily(
    tx: &mut Transaction<'static, Postgres>,
    days: &[NaiveDate],
) -> Result<u64, StoreError> {
    if days.is_empty() {
        return Ok(0);
    }
    sqlx::query("DELETE FROM usage_daily WHERE day = ANY($1::date[])")
        .bind(days)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    sqlx::query(ROLLUP_WORK_MEM)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    let mut rows = 0;
    for day in days {
        rows += sqlx::query(INSERT_DAILY)
            .bind(*day)
            .bind(start_of(*day))
            .bind(start_of(shift(*day, 1, true)?))
            .execute(&mut **tx)
            .await
            .map(|done| done.rows_affected())
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Period {
    Week,
    Month,
}

/// Replaces the rows of the given weeks or months with sums over `usage_daily`.
async fn rebuild(
    tx: &mut Transaction<'static, Postgres>,
    period: Period,
    starts: &[NaiveDate],
) -> Result<u64, StoreError> {
    let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
        return Ok(0);
    };
    let (delete, insert, end) = match period {
        Period::Week => (
            "DELETE FROM usage_weekly WHERE week = ANY($1::date[])",
            "INSERT INTO usage_weekly (tenant_id, week,",
            shift(*last, 7, true)?,
        ),
        Period::Month => (
            "DELETE FROM usage_monthly WHERE month = ANY($1::date[])",
            "INSERT INTO usage_monthly (tenant_id, month,",
            last.checked_add_months(Months::new(1))
                .ok_or_else(|| StoreError::Rejected(format!("date out of range: {last}")))?,
        ),
    };
    let unit = match period {
        Period::Week => "week",
        Period::Month => "month",
    };
    sqlx::query(delete)
        .bind(starts)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    // Only constant SQL fragments are spliced in; every value is a bind.
    let sql = format!(
        "{insert} key_id, team, requested_model, routed_provider, routed_model, requests, \
         errors, prompt_tokens, completion_tokens, cached_tokens, cost_usd, baseline_usd, \
         savings_usd, latency_ms_sum, latency_count, failovers, unpriced) \
         SELECT tenant_id, date_trunc('{unit}', day::timestamp)::date, key_id, team, \
         requested_model, routed_provider, routed_model, {SUMS} \
         FROM usage_daily WHERE day >= $2 AND day < $3 \
           AND date_trunc('{unit}', day::timestamp)::date = ANY($1::date[]) \
         GROUP BY 1, 2, 3, 4, 5, 6, 7"
    );
    sqlx::query(&sql)
        .bind(starts)
        .bind(*first)
        .bind(end)
        .execute(&mut **tx)
        .await
        .map(|done| done.rows_affected())
        .map_err(StoreError::from_sqlx)
}

/// Runs `sql` with `day` bound to `$1`; returns the rows affected.
async fn with_day(
    tx: &mut Transaction<'static, Postgres>,
    sql: &str,
    day: NaiveDate,
) -> Result<u64, StoreError> {
    sqlx::query(sql)
        .bind(day)
        .execute(&mut **tx)
        .await
        .map(|done| done.rows_affected())
        .map_err(StoreError::from_sqlx)
}

async fn watermark(
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
) -> Result<Option<NaiveDate>, StoreError> {
    sqlx::query_scalar("SELECT day FROM gateway_watermarks WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// The Mondays of the weeks touching `from..=to`.
pub(super) fn weeks(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, StoreError> {
    let mut week = from.week(Weekday::Mon).first_day();
    let mut out = Vec::new();
    while week <= to && from <= to {
        out.push(week);
        week = shift(week, 7, true)?;
    }
    Ok(out)
}

/// The first days of the months touching `from..=to`.
pub(super) fn months(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, StoreError> {
    let mut month = from.with_day(1).unwrap_or(from);
    let mut out = Vec::new();
    while month <= to && from <= to {
        out.push(month);
        month = month
            .checked_add_months(Months::new(1))
            .ok_or_else(|| StoreError::Rejected(format!("date out of range: {month}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_touching_a_range() {
        // 2026-11-25 is a Wednesday.
        assert_eq!(
            weeks(d("2026-11-25"), d("2026-11-25")).unwrap(),
            [d("2026-11-23")]
        );
        assert_eq!(
            weeks(d("2026-11-29"), d("2026-11-30")).unwrap(),
            [d("2026-11-23"), d("2026-11-30")]
        );
        assert_eq!(
            months(d("2026-11-30"), d("2027-01-01")).unwrap(),
            [d("2026-11-01"), d("2026-12-01"), d("2027-01-01")]
        );
        assert!(weeks(d("2026-11-25"), d("2026-11-24")).unwrap().is_empty());
        assert!(months(d("2026-11-25"), d("2026-11-24")).unwrap().is_empty());
    }
}
