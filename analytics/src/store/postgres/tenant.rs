//! Tenant-scoped reads. Every query for a tenant runs in a transaction on one of
//! that tenant's reader connections (`readers`), which the database has bound
//! to the tenant, so Row-Level Security answers for that tenant only: a query
//! that forgets its `WHERE tenant_id = ..`, or a statement that changes session
//! settings or roles, still cannot see another tenant.
//!
//! The queries the dashboard uses live here too: totals and a daily series over
//! `usage_daily`, and the raw events of a time range.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use pricing::Cost;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, Row, Transaction};

use super::PostgresStore;
use crate::event::UsageEvent;
use crate::store::StoreError;

/// The future a [`PostgresStore::with_tenant`] closure returns.
pub type TenantFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Sums over a set of `usage_daily` rows. Money is exact ([`Cost`] is pico-USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub requests: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost: Cost,
    pub baseline: Cost,
    /// `baseline - cost`: what routing saved.
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

const TOTALS: &str = "coalesce(sum(u.requests), 0)::bigint AS requests, \
    coalesce(sum(u.errors), 0)::bigint AS errors, \
    coalesce(sum(u.prompt_tokens), 0)::bigint AS prompt_tokens, \
    coalesce(sum(u.completion_tokens), 0)::bigint AS completion_tokens, \
    coalesce(sum(u.cached_tokens), 0)::bigint AS cached_tokens, \
    coalesce(sum(u.cost_usd), 0)::text AS cost_usd, \
    coalesce(sum(u.baseline_usd), 0)::text AS baseline_usd, \
    coalesce(sum(u.savings_usd), 0)::text AS savings_usd, \
    coalesce(sum(u.latency_ms_sum), 0)::bigint AS latency_ms_sum, \
    coalesce(sum(u.latency_count), 0)::bigint AS latency_count, \
    coalesce(sum(u.unpriced), 0)::bigint AS unpriced";

/// The columns of `usage_events`, amounts as canonical text (`0.00021`, not
/// `0.000210000000`), as [`UsageEvent`] holds them.
const EVENT_COLUMNS: &str = "event_id, occurred_at, tenant_id, key_id, team, user_tag, \
    endpoint, requested_model, routed_provider, routed_model, route_reason, attempts, stream, \
    status, error_kind, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, \
    reasoning_tokens, usage_estimated, trim_scale(cost_usd)::text AS cost_usd, \
    trim_scale(baseline_usd)::text AS baseline_usd, price_version, baseline_price_version, \
    latency_ms, ttft_ms, upstream_ms, client_family, ingress_format, upstream_format";

impl PostgresStore {
    /// Begins a transaction in which every tenant table shows `tenant_id`'s rows
    /// only. Commit or drop it when done.
    pub async fn tenant_transaction(
        &self,
        tenant_id: &str,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        if tenant_id.is_empty() {
            return Err(StoreError::Rejected(
                "a tenant read needs a tenant".to_owned(),
            ));
        }
        self.readers
            .pool(tenant_id)
            .begin()
            .await
            .map_err(StoreError::from_sqlx)
    }

    /// Runs `query` on a connection scoped to `tenant_id` (see
    /// [`PostgresStore::tenant_transaction`]), e.g.
    /// `store.with_tenant("t1", |conn| Box::pin(sqlx::query_scalar("SELECT count(*) FROM usage_daily").fetch_one(conn)))`.
    pub async fn with_tenant<T, F>(&self, tenant_id: &str, query: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> TenantFuture<'c, T>,
    {
        let mut tx = self.tenant_transaction(tenant_id).await?;
        let value = query(&mut tx).await.map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(value)
    }

    /// A tenant's totals over the days `from..=to` (from the daily rollup).
    pub async fn summary(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<UsageTotals, StoreError> {
        let sql = format!(
            "SELECT {TOTALS} FROM usage_daily u \
             WHERE u.tenant_id = $1 AND u.day >= $2 AND u.day <= $3"
        );
        let mut tx = self.tenant_transaction(tenant_id).await?;
        let row = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        totals(&row).map_err(StoreError::from_sqlx)
    }

    /// A tenant's totals per day, one point for every day of `from..=to`.
    pub async fn daily_series(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyPoint>, StoreError> {
        let sql = format!(
            "SELECT d::date AS day, {TOTALS} \
             FROM generate_series($2::date::timestamp, $3::date::timestamp, interval '1 day') AS d \
             LEFT JOIN usage_daily u ON u.day = d::date AND u.tenant_id = $1 \
             GROUP BY d ORDER BY d"
        );
        let mut tx = self.tenant_transaction(tenant_id).await?;
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(DailyPoint {
                    day: row.try_get("day")?,
                    totals: totals(row)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from_sqlx)
    }

    /// A tenant's raw events with `from <= occurred_at < to`, oldest first, at most
    /// `limit` of them. Amounts come back as canonical decimal text.
    pub async fn events(
        &self,
        tenant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UsageEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM usage_events \
             WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
             ORDER BY occurred_at, event_id LIMIT $4"
        );
        let mut tx = self.tenant_transaction(tenant_id).await?;
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(event)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from_sqlx)
    }
}

fn totals(row: &PgRow) -> Result<UsageTotals, sqlx::Error> {
    Ok(UsageTotals {
        requests: row.try_get("requests")?,
        errors: row.try_get("errors")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        cached_tokens: row.try_get("cached_tokens")?,
        cost: money(row, "cost_usd")?,
        baseline: money(row, "baseline_usd")?,
        savings: money(row, "savings_usd")?,
        latency_ms_sum: row.try_get("latency_ms_sum")?,
        latency_count: row.try_get("latency_count")?,
        unpriced: row.try_get("unpriced")?,
    })
}

fn event(row: &PgRow) -> Result<UsageEvent, sqlx::Error> {
    Ok(UsageEvent {
        event_id: row.try_get("event_id")?,
        occurred_at: row.try_get("occurred_at")?,
        tenant_id: row.try_get("tenant_id")?,
        key_id: row.try_get("key_id")?,
        team: row.try_get("team")?,
        user_tag: row.try_get("user_tag")?,
        endpoint: row.try_get("endpoint")?,
        requested_model: row.try_get("requested_model")?,
        routed_provider: row.try_get("routed_provider")?,
        routed_model: row.try_get("routed_model")?,
        route_reason: row.try_get("route_reason")?,
        attempts: narrow("attempts", row.try_get::<i32, _>("attempts")?)?,
        stream: row.try_get("stream")?,
        status: narrow("status", row.try_get::<i32, _>("status")?)?,
        error_kind: row.try_get("error_kind")?,
        prompt_tokens: narrow("prompt_tokens", row.try_get::<i64, _>("prompt_tokens")?)?,
        completion_tokens: narrow(
            "completion_tokens",
            row.try_get::<i64, _>("completion_tokens")?,
        )?,
        cached_tokens: narrow("cached_tokens", row.try_get::<i64, _>("cached_tokens")?)?,
        cache_write_tokens: narrow(
            "cache_write_tokens",
            row.try_get::<i64, _>("cache_write_tokens")?,
        )?,
        reasoning_tokens: narrow(
            "reasoning_tokens",
            row.try_get::<i64, _>("reasoning_tokens")?,
        )?,
        usage_estimated: row.try_get("usage_estimated")?,
        cost_usd: optional_money(row, "cost_usd")?,
        baseline_usd: optional_money(row, "baseline_usd")?,
        price_version: row.try_get("price_version")?,
        baseline_price_version: row.try_get("baseline_price_version")?,
        latency_ms: narrow("latency_ms", row.try_get::<i64, _>("latency_ms")?)?,
        ttft_ms: optional(row, "ttft_ms")?,
        upstream_ms: optional(row, "upstream_ms")?,
        client_family: row.try_get("client_family")?,
        ingress_format: row.try_get("ingress_format")?,
        upstream_format: row.try_get("upstream_format")?,
    })
}

fn decode_error(column: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    }
}

/// A stored integer in the event's narrower (unsigned) field type.
fn narrow<S, T>(column: &str, value: S) -> Result<T, sqlx::Error>
where
    S: Copy + std::fmt::Display,
    T: TryFrom<S>,
{
    T::try_from(value).map_err(|_| decode_error(column, format!("{value} is out of range")))
}

fn optional(row: &PgRow, column: &str) -> Result<Option<u32>, sqlx::Error> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|value| narrow(column, value))
        .transpose()
}

fn money(row: &PgRow, column: &str) -> Result<Cost, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Cost::parse_usd(&text).map_err(|err| decode_error(column, err.to_string()))
}

/// An amount that is NULL when unknown (an unpriced request).
fn optional_money(row: &PgRow, column: &str) -> Result<Option<Cost>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| Cost::parse_usd(&text).map_err(|err| decode_error(column, err.to_string())))
        .transpose()
}
