//! A scope's spend over a closed time range, from raw events: what the
//! spend-spike rule compares (today against the same weekday of past weeks).
//! [`Store::spend`] (spend since a moment) serves the budget rule; a range
//! bounded at both ends keeps each past day's scan to that day's rows. Unpriced
//! events count as no spend (their cost is unknown).
//!
//! The two stores differ in their money and time columns, so each has its own
//! statement; both bound the scan with the (tenant, time) index.

use chrono::{DateTime, Utc};
use pricing::Cost;

use crate::store::{SpendScope, Store, StoreError};

const PG: &str = "SELECT coalesce(sum(cost_usd), 0)::text FROM usage_events \
     WHERE tenant_id = $1 AND ($2::text IS NULL OR key_id = $2) \
       AND ($3::text IS NULL OR team = $3) AND occurred_at >= $4 AND occurred_at < $5";

/// Sums whole micro-USD and the pico remainders apart, so no i64 overflows
/// however many rows are added.
const SQLITE: &str =
    "SELECT coalesce(sum(cost_pusd / 1000000), 0), coalesce(sum(cost_pusd % 1000000), 0) \
     FROM usage_events \
     WHERE tenant_id = ?1 AND (?2 IS NULL OR key_id = ?2) \
       AND (?3 IS NULL OR team = ?3) AND occurred_at_ns >= ?4 AND occurred_at_ns < ?5";

impl Store {
    /// What `scope` spent in `[from, to)`.
    pub async fn spend_between(
        &self,
        scope: SpendScope<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Cost, StoreError> {
        let (tenant, key, team) = match scope {
            SpendScope::Key { tenant, key } => (tenant, Some(key), None),
            SpendScope::Team { tenant, team } => (tenant, None, Some(team)),
            SpendScope::Tenant(tenant) => (tenant, None, None),
        };
        match self {
            Store::Postgres(pg) => {
                let (text,): (String,) = sqlx::query_as(PG)
                    .bind(tenant)
                    .bind(key)
                    .bind(team)
                    .bind(from)
                    .bind(to)
                    .fetch_one(pg.pool())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Cost::parse_usd(&text)
                    .map_err(|error| StoreError::Rejected(format!("spend sum: {error}")))
            }
            Store::Sqlite(lite) => {
                let nanos = |at: DateTime<Utc>| at.timestamp_nanos_opt().unwrap_or(i64::MAX);
                let (micros, picos): (i64, i64) = sqlx::query_as(SQLITE)
                    .bind(tenant)
                    .bind(key)
                    .bind(team)
                    .bind(nanos(from))
                    .bind(nanos(to))
                    .fetch_one(lite.pool())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Ok(Cost(i128::from(micros) * 1_000_000 + i128::from(picos)))
            }
        }
    }
}
