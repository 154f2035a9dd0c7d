//! Tenant-scoped reads for the dashboard, over the aggregate tables: totals, a
//! daily series and the aggregate rows themselves (for breakdowns and export).
//! There is no row-level security in SQLite: every query here binds the tenant
//! in its `WHERE` clause, and nothing else reads aggregates.
//!
//! Amounts are added as whole micro-USD plus remainders (`x = x / 10^6 * 10^6 +
//! x % 10^6`, both truncating toward zero, so it holds for negative savings too)
//! and joined as i128 here: sums over many rows cannot overflow SQLite's i64.

use chrono::NaiveDate;
use pricing::Cost;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{db_error, SqliteStore};
use crate::store::StoreError;

/// Sums over a set of aggregate rows. Money is exact ([`Cost`] is pico-USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub requests: i64,
    /// Requests with status >= 400 or an error kind.
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost: Cost,
    pub baseline: Cost,
    /// `baseline - cost`: what routing saved (negative when it cost more).
    pub savings: Cost,
    pub latency_ms_sum: i64,
    pub latency_count: i64,
    /// Requests served by a model without a price: in `requests`, not in the
    /// money sums.
    pub unpriced: i64,
}

/// One day of a tenant's series (days without traffic are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyPoint {
    pub day: NaiveDate,
    pub totals: UsageTotals,
}

/// Aggregate granularity: UTC days, weeks from Monday, calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

/// One stored aggregate row with its dimensions. Missing team, provider or
/// model is `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The day, the week's Monday or the month's 1st.
    pub period_start: NaiveDate,
    pub key_id: String,
    pub team: String,
    pub requested_model: String,
    pub routed_provider: String,
    pub routed_model: String,
    pub totals: UsageTotals,
}

/// The measures summed, named as [`totals`] reads them.
macro_rules! sums {
    () => {
        "COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors, \
         COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, \
         COALESCE(SUM(completion_tokens), 0) AS completion_tokens, \
         COALESCE(SUM(cached_tokens), 0) AS cached_tokens, \
         COALESCE(SUM(cost_pusd / 1000000), 0) AS cost_hi, \
         COALESCE(SUM(cost_pusd % 1000000), 0) AS cost_lo, \
         COALESCE(SUM(baseline_pusd / 1000000), 0) AS baseline_hi, \
         COALESCE(SUM(baseline_pusd % 1000000), 0) AS baseline_lo, \
         COALESCE(SUM(savings_pusd / 1000000), 0) AS savings_hi, \
         COALESCE(SUM(savings_pusd % 1000000), 0) AS savings_lo, \
         COALESCE(SUM(latency_ms_sum), 0) AS latency_ms_sum, \
         COALESCE(SUM(latency_count), 0) AS latency_count, \
         COALESCE(SUM(unpriced), 0) AS unpriced"
    };
}

/// A tenant's rows of one aggregate table whose period starts in `?2..=?3`.
macro_rules! rows {
    ($table:literal, $period:literal) => {
        concat!(
            "SELECT ",
            $period,
            " AS period_start, key_id, team, requested_model, routed_provider, routed_model, \
             requests, errors, prompt_tokens, completion_tokens, cached_tokens, \
             cost_pusd / 1000000 AS cost_hi, cost_pusd % 1000000 AS cost_lo, \
             baseline_pusd / 1000000 AS baseline_hi, baseline_pusd % 1000000 AS baseline_lo, \
             savings_pusd / 1000000 AS savings_hi, savings_pusd % 1000000 AS savings_lo, \
             latency_ms_sum, latency_count, unpriced FROM ",
            $table,
            " WHERE tenant_id = ?1 AND ",
            $period,
            " >= ?2 AND ",
            $period,
            " <= ?3 ORDER BY ",
            $period,
            ", key_id, team, requested_model, routed_provider, routed_model"
        )
    };
}

impl SqliteStore {
    /// A tenant's totals over the days `from..=to` (from the daily rollup).
    pub async fn summary(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<UsageTotals, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            sums!(),
            " FROM usage_daily WHERE tenant_id = ?1 AND day >= ?2 AND day <= ?3"
        ))
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        totals(&row)
    }

    /// A tenant's totals per day, one point for every day of `from..=to`.
    pub async fn daily_series(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyPoint>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT day, ",
            sums!(),
            " FROM usage_daily WHERE tenant_id = ?1 AND day >= ?2 AND day <= ?3",
            " GROUP BY day ORDER BY day"
        ))
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut stored = rows.iter().map(|row| {
            Ok::<_, StoreError>(DailyPoint {
                day: row.try_get("day").map_err(db_error)?,
                totals: totals(row)?,
            })
        });
        let mut next = stored.next().transpose()?;
        let mut series = Vec::new();
        for day in from.iter_days().take_while(|day| *day <= to) {
            match next {
                Some(point) if point.day == day => {
                    series.push(point);
                    next = stored.next().transpose()?;
                }
                _ => series.push(DailyPoint {
                    day,
                    totals: UsageTotals::default(),
                }),
            }
        }
        Ok(series)
    }

    /// A tenant's stored aggregate rows of one granularity whose period starts
    /// within `from..=to`, ordered by period, then dimensions.
    pub async fn rollup_rows(
        &self,
        period: Period,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let sql = match period {
            Period::Day => rows!("usage_daily", "day"),
            Period::Week => rows!("usage_weekly", "week"),
            Period::Month => rows!("usage_monthly", "month"),
        };
        let rows = sqlx::query(sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let text = |column: &str| row.try_get::<String, _>(column).map_err(db_error);
                Ok(RollupRow {
                    period_start: row.try_get("period_start").map_err(db_error)?,
                    key_id: text("key_id")?,
                    team: text("team")?,
                    requested_model: text("requested_model")?,
                    routed_provider: text("routed_provider")?,
                    routed_model: text("routed_model")?,
                    totals: totals(row)?,
                })
            })
            .collect()
    }
}

/// Measures named as in [`sums`] and [`rows`].
fn totals(row: &SqliteRow) -> Result<UsageTotals, StoreError> {
    let int = |column: &str| row.try_get::<i64, _>(column).map_err(db_error);
    let money = |hi: &str, lo: &str| -> Result<Cost, StoreError> {
        Ok(Cost(
            i128::from(int(hi)?) * 1_000_000 + i128::from(int(lo)?),
        ))
    };
    Ok(UsageTotals {
        requests: int("requests")?,
        errors: int("errors")?,
        prompt_tokens: int("prompt_tokens")?,
        completion_tokens: int("completion_tokens")?,
        cached_tokens: int("cached_tokens")?,
        cost: money("cost_hi", "cost_lo")?,
        baseline: money("baseline_hi", "baseline_lo")?,
        savings: money("savings_hi", "savings_lo")?,
        latency_ms_sum: int("latency_ms_sum")?,
        latency_count: int("latency_count")?,
        unpriced: int("unpriced")?,
    })
}
