//! What a key, a team or a tenant has spent since a moment: the sum of the
//! `cost_usd` of its raw events. The budgets read it to rebuild a spend counter
//! that Redis lost (or that a replica has not seen yet: the first request of a
//! period), and budget alerts compare it with a budget. Unpriced events (no
//! cost) add nothing.
//!
//! Raw events, not rollups: a budget period starts at midnight of a configured
//! time zone, which need not be a UTC day, and today's events are not rolled up
//! yet. Both stores have an index on `(tenant_id, occurred_at)`. On Postgres the
//! query runs on the system-side pool (the budgets act for every tenant, like
//! the rollups), always naming the tenant.

use chrono::{DateTime, Utc};
use pricing::Cost;
use sqlx::Row;

use super::{Store, StoreError};

/// Whose spend: a key or a team of a tenant, or a whole tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendScope<'a> {
    Key { tenant: &'a str, key: &'a str },
    Team { tenant: &'a str, team: &'a str },
    Tenant(&'a str),
}

impl<'a> SpendScope<'a> {
    /// The tenant, and the key and team filters (`None`: any).
    fn binds(self) -> (&'a str, Option<&'a str>, Option<&'a str>) {
        match self {
            SpendScope::Key { tenant, key } => (tenant, Some(key), None),
            SpendScope::Team { tenant, team } => (tenant, None, Some(team)),
            SpendScope::Tenant(tenant) => (tenant, None, None),
        }
    }
}

/// `$1` tenant, `$2` key or NULL, `$3` team or NULL, `$4` since.
const POSTGRES: &str = "SELECT coalesce(sum(cost_usd), 0)::text AS spent FROM usage_events \
    WHERE tenant_id = $1 AND ($2::text IS NULL OR key_id = $2) \
    AND ($3::text IS NULL OR team = $3) AND occurred_at >= $4";

/// As [`POSTGRES`]; pico-USD summed in two parts so no i64 sum overflows.
const SQLITE: &str = "SELECT coalesce(sum(cost_pusd / 1000000), 0) AS hi, \
    coalesce(sum(cost_pusd % 1000000), 0) AS lo FROM usage_events \
    WHERE tenant_id = ?1 AND (?2 IS NULL OR key_id = ?2) \
    AND (?3 IS NULL OR team = ?3) AND occurred_at_ns >= ?4";

impl Store {
    /// The exact sum of `scope`'s event costs at or after `since`.
    pub async fn spend(
        &self,
        scope: SpendScope<'_>,
        since: DateTime<Utc>,
    ) -> Result<Cost, StoreError> {
        let (tenant, key, team) = scope.binds();
        match self {
            Store::Postgres(store) => {
                let row = sqlx::query(POSTGRES)
                    .bind(tenant)
                    .bind(key)
                    .bind(team)
                    .bind(since)
                    .fetch_one(store.pool())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                let text: String = row.try_get("spent").map_err(StoreError::from_sqlx)?;
                Cost::parse_usd(&text)
                    .map_err(|e| StoreError::Rejected(format!("spend is not an amount: {e}")))
            }
            Store::Sqlite(store) => {
                let row = sqlx::query(SQLITE)
                    .bind(tenant)
                    .bind(key)
                    .bind(team)
                    .bind(super::sqlite::time_ns(since))
                    .fetch_one(store.pool())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                let hi: i64 = row.try_get("hi").map_err(StoreError::from_sqlx)?;
                let lo: i64 = row.try_get("lo").map_err(StoreError::from_sqlx)?;
                Ok(Cost(i128::from(hi) * 1_000_000 + i128::from(lo)))
            }
        }
    }
}
