//! The cross-tenant reads behind the operator's view, on the system side of
//! the store (it sees every tenant; only the admin API asks): `usage_daily`
//! of the last [`DAYS_READ`] days grouped by tenant, key, team, age bucket and
//! whether the day is in today's month (never raw events), and the latest
//! ROI promise of every tenant.
//!
//! The statements differ only where the stores keep money differently
//! (Postgres `numeric`, SQLite integer pico-USD summed in two parts so no i64
//! sum overflows) and in how a bind is typed; both are constants with binds.

use std::collections::HashMap;

use chrono::NaiveDate;
use pricing::Cost;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{Bounds, Figures, KeyActivity, TenantUsage};
use crate::promises::store::{decode, COLUMNS};
use crate::promises::Promise;
use crate::store::{Store, StoreError};

/// `$1` today, `$2..$6` the bucket starts, `$7` the first day read, `$8` the
/// 1st of the month.
const POSTGRES: &str = "SELECT tenant_id, key_id, team, \
    CASE WHEN day >= $2::date THEN 0 WHEN day >= $3::date THEN 1 WHEN day >= $4::date THEN 2 \
         WHEN day >= $5::date THEN 3 WHEN day >= $6::date THEN 4 ELSE 5 END AS bucket, \
    (day >= $8::date) AS in_month, \
    sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, \
    sum(unpriced)::bigint AS unpriced, sum(cost_usd)::text AS cost, \
    sum(baseline_usd)::text AS baseline, sum(savings_usd)::text AS savings \
    FROM usage_daily WHERE day >= $7::date AND day <= $1::date GROUP BY 1, 2, 3, 4, 5";

/// As [`POSTGRES`] (days are `YYYY-MM-DD` text, which sorts as dates).
const SQLITE: &str = "SELECT tenant_id, key_id, team, \
    CASE WHEN day >= ?2 THEN 0 WHEN day >= ?3 THEN 1 WHEN day >= ?4 THEN 2 \
         WHEN day >= ?5 THEN 3 WHEN day >= ?6 THEN 4 ELSE 5 END AS bucket, \
    (day >= ?8) AS in_month, \
    SUM(requests) AS requests, SUM(errors) AS errors, SUM(unpriced) AS unpriced, \
    SUM(cost_pusd / 1000000) AS cost_hi, SUM(cost_pusd % 1000000) AS cost_lo, \
    SUM(baseline_pusd / 1000000) AS baseline_hi, SUM(baseline_pusd % 1000000) AS baseline_lo, \
    SUM(savings_pusd / 1000000) AS savings_hi, SUM(savings_pusd % 1000000) AS savings_lo \
    FROM usage_daily WHERE day >= ?7 AND day <= ?1 GROUP BY 1, 2, 3, 4, 5";

/// The newest version of every tenant's promise (same text on both stores).
fn latest_promises_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM roi_promises p \
         WHERE version = (SELECT max(version) FROM roi_promises q WHERE q.tenant_id = p.tenant_id) \
         ORDER BY tenant_id"
    )
}

/// One result row.
struct Cell {
    tenant: String,
    key: String,
    team: String,
    bucket: usize,
    in_month: bool,
    figures: Figures,
}

impl Store {
    /// Every tenant's traffic of the [`DAYS_READ`] days ending `today`, per key,
    /// ordered by tenant. Tenants without traffic in those days are absent.
    pub async fn operator_usage(&self, today: NaiveDate) -> Result<Vec<TenantUsage>, StoreError> {
        let bounds = Bounds::of(today);
        let cells = match self {
            Store::Postgres(store) => {
                let mut tx = store.pool().begin().await.map_err(StoreError::from_sqlx)?;
                // One grouped scan of ~60 days: in memory, and without the JIT
                // compile that costs more than it saves on a query this size.
                sqlx::query("SET LOCAL work_mem = '64MB'")
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                sqlx::query("SET LOCAL jit = off")
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                let rows = bind(sqlx::query(POSTGRES), &bounds)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                rows.iter().map(pg_cell).collect::<Result<Vec<_>, _>>()
            }
            Store::Sqlite(store) => {
                let rows = bind(sqlx::query(SQLITE), &bounds)
                    .fetch_all(store.pool())
                    .await
                    .map_err(StoreError::from_sqlx)?;
                rows.iter().map(sqlite_cell).collect::<Result<Vec<_>, _>>()
            }
        }
        .map_err(StoreError::from_sqlx)?;
        Ok(fold(cells))
    }
}

impl Store {
    /// The latest promise of every tenant that has one, by tenant (the
    /// system side: one read for all tenants, not one tenant session each).
    pub async fn latest_promises(&self) -> Result<Vec<Promise>, StoreError> {
        let sql = latest_promises_sql();
        let decoded = match self {
            Store::Postgres(store) => sqlx::query(&sql)
                .fetch_all(store.pool())
                .await
                .and_then(|rows| rows.iter().map(|row| decode(row)).collect()),
            Store::Sqlite(store) => sqlx::query(&sql)
                .fetch_all(store.pool())
                .await
                .and_then(|rows| rows.iter().map(|row| decode(row)).collect()),
        };
        decoded.map_err(StoreError::from_sqlx)
    }
}

fn bind<'q, DB: sqlx::Database>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    bounds: &Bounds,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    NaiveDate: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = query.bind(bounds.today);
    for start in bounds.starts {
        query = query.bind(start);
    }
    query.bind(bounds.first).bind(bounds.month)
}

fn bucket_of(value: i64) -> Result<usize, sqlx::Error> {
    usize::try_from(value)
        .ok()
        .filter(|b| *b < super::BUCKET_FIRST_AGE.len())
        .ok_or_else(|| sqlx::Error::Decode(format!("operator: bucket {value}").into()))
}

fn pg_cell(row: &PgRow) -> Result<Cell, sqlx::Error> {
    let money = |column: &str| -> Result<Cost, sqlx::Error> {
        let text: String = row.try_get(column)?;
        Cost::parse_usd(&text)
            .map_err(|e| sqlx::Error::Decode(format!("operator: {column}: {e}").into()))
    };
    Ok(Cell {
        tenant: row.try_get("tenant_id")?,
        key: row.try_get("key_id")?,
        team: row.try_get("team")?,
        bucket: bucket_of(i64::from(row.try_get::<i32, _>("bucket")?))?,
        in_month: row.try_get("in_month")?,
        figures: Figures {
            requests: row.try_get("requests")?,
            errors: row.try_get("errors")?,
            unpriced: row.try_get("unpriced")?,
            cost: money("cost")?,
            baseline: money("baseline")?,
            savings: money("savings")?,
        },
    })
}

fn sqlite_cell(row: &SqliteRow) -> Result<Cell, sqlx::Error> {
    let int = |column: &str| row.try_get::<i64, _>(column);
    let money = |name: &str| -> Result<Cost, sqlx::Error> {
        let hi = int(&format!("{name}_hi"))?;
        let lo = int(&format!("{name}_lo"))?;
        Ok(Cost(i128::from(hi) * 1_000_000 + i128::from(lo)))
    };
    Ok(Cell {
        tenant: row.try_get("tenant_id")?,
        key: row.try_get("key_id")?,
        team: row.try_get("team")?,
        bucket: bucket_of(int("bucket")?)?,
        in_month: int("in_month")? != 0,
        figures: Figures {
            requests: int("requests")?,
            errors: int("errors")?,
            unpriced: int("unpriced")?,
            cost: money("cost")?,
            baseline: money("baseline")?,
            savings: money("savings")?,
        },
    })
}

/// Cells into tenants (by id) and their keys (by key, then team).
fn fold(cells: Vec<Cell>) -> Vec<TenantUsage> {
    let mut tenants: HashMap<String, HashMap<(String, String), KeyActivity>> = HashMap::new();
    for cell in cells {
        let keys = tenants.entry(cell.tenant).or_default();
        let key = keys
            .entry((cell.key.clone(), cell.team.clone()))
            .or_insert_with(|| KeyActivity {
                key_id: cell.key,
                team: cell.team,
                ..KeyActivity::default()
            });
        key.buckets[cell.bucket] += cell.figures;
        if cell.in_month {
            key.month_cost += cell.figures.cost;
        }
    }
    let mut out: Vec<TenantUsage> = tenants
        .into_iter()
        .map(|(tenant_id, keys)| {
            let mut keys: Vec<KeyActivity> = keys.into_values().collect();
            keys.sort_by(|a, b| (&a.key_id, &a.team).cmp(&(&b.key_id, &b.team)));
            TenantUsage { tenant_id, keys }
        })
        .collect();
    out.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    out
}
