//! Saving and reading promises on either store (one statement text for both:
//! text and 64-bit integer columns, `$n` binds), and the achievement read.
//!
//! Saving takes the next version in the INSERT itself; two saves racing for
//! the same version meet the primary key `(tenant_id, version)`, and the one
//! that loses tries again with the next. There is no UPDATE or DELETE here, and
//! the table's triggers refuse them. On Postgres, reads run in a tenant
//! transaction (Row-Level Security); the insert runs on the system side, whose
//! role may only SELECT and INSERT.

use chrono::NaiveDate;
use pricing::Cost;

use super::{achievement, Achievement, MonthMeasured, NewPromise, Promise};
use crate::control::db::{bind_pg, bind_sqlite, Arg, Cells};
use crate::store::queries::{fold_periods, Filter, GroupBy, Interval};
use crate::store::{Store, StoreError};

/// How many times a save may lose the race for a version before giving up.
const SAVE_ATTEMPTS: usize = 64;

const INSERT: &str = "INSERT INTO roi_promises (tenant_id, version, created_at_ms, created_by, \
    start_month, seats, fee_monthly_usd, promised_gross_monthly_usd, inputs) \
    SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 \
    FROM roi_promises WHERE tenant_id = $1 RETURNING version";

pub(crate) const COLUMNS: &str =
    "tenant_id, version, created_at_ms, created_by, start_month, seats, \
    fee_monthly_usd, promised_gross_monthly_usd, inputs";

fn all_sql() -> String {
    format!("SELECT {COLUMNS} FROM roi_promises WHERE tenant_id = $1 ORDER BY version")
}

fn latest_sql() -> String {
    format!("SELECT {COLUMNS} FROM roi_promises WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1")
}

pub(crate) fn decode(row: &dyn Cells) -> Result<Promise, sqlx::Error> {
    let text = |at: usize| -> Result<String, sqlx::Error> {
        row.text(at)?.ok_or_else(|| bad(at, "is NULL".to_owned()))
    };
    let int = |at: usize| -> Result<i64, sqlx::Error> {
        row.int(at)?.ok_or_else(|| bad(at, "is NULL".to_owned()))
    };
    let money = |at: usize| -> Result<Cost, sqlx::Error> {
        Cost::parse_usd(&text(at)?).map_err(|e| bad(at, e.to_string()))
    };
    Ok(Promise {
        tenant_id: text(0)?,
        version: int(1)?,
        created_at_ms: int(2)?,
        created_by: text(3)?,
        start_month: text(4)?
            .parse()
            .map_err(|e: chrono::ParseError| bad(4, e.to_string()))?,
        seats: int(5)?,
        fee_monthly: money(6)?,
        promised_gross_monthly: money(7)?,
        inputs: text(8)?,
    })
}

fn bad(at: usize, reason: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: at.to_string(),
        source: reason.into(),
    }
}

fn version_of(row: &dyn Cells) -> Result<i64, sqlx::Error> {
    row.int(0)?.ok_or_else(|| bad(0, "is NULL".to_owned()))
}

fn is_taken(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

impl Store {
    /// Saves `new` as the tenant's next version and returns it as stored.
    pub async fn save_promise(
        &self,
        tenant_id: &str,
        new: NewPromise,
    ) -> Result<Promise, StoreError> {
        let rejected = |why: &str| Err(StoreError::Rejected(format!("promise: {why}")));
        if tenant_id.is_empty() {
            return rejected("the tenant is empty");
        }
        if super::month_of(new.start_month) != new.start_month {
            return rejected("the start month must be the 1st of a month");
        }
        if new.seats < 0 {
            return rejected("seats must not be negative");
        }
        let args = [
            Arg::text(tenant_id),
            Arg::int(new.created_at_ms),
            Arg::text(&new.created_by),
            Arg::text(&new.start_month.to_string()),
            Arg::int(new.seats),
            Arg::text(&new.fee_monthly.usd()),
            Arg::text(&new.promised_gross_monthly.usd()),
            Arg::text(&new.inputs),
        ];
        let mut attempt = 0;
        let version = loop {
            attempt += 1;
            let inserted: Result<i64, sqlx::Error> = match self {
                Store::Postgres(pg) => bind_pg(sqlx::query(INSERT), &args)
                    .fetch_one(pg.pool())
                    .await
                    .and_then(|row| version_of(&row)),
                Store::Sqlite(lite) => bind_sqlite(sqlx::query(INSERT), &args)
                    .fetch_one(lite.pool())
                    .await
                    .and_then(|row| version_of(&row)),
            };
            match inserted {
                Ok(version) => break version,
                Err(error) if is_taken(&error) && attempt < SAVE_ATTEMPTS => continue,
                Err(error) => return Err(StoreError::from_sqlx(error)),
            }
        };
        Ok(Promise {
            tenant_id: tenant_id.to_owned(),
            version,
            created_at_ms: new.created_at_ms,
            created_by: new.created_by,
            start_month: new.start_month,
            seats: new.seats,
            fee_monthly: new.fee_monthly,
            promised_gross_monthly: new.promised_gross_monthly,
            inputs: new.inputs,
        })
    }

    /// Every version of the tenant's promise, oldest first.
    pub async fn promises(&self, tenant_id: &str) -> Result<Vec<Promise>, StoreError> {
        self.read_promises(tenant_id, &all_sql()).await
    }

    /// The tenant's newest promise, if any.
    pub async fn latest_promise(&self, tenant_id: &str) -> Result<Option<Promise>, StoreError> {
        let rows = self.read_promises(tenant_id, &latest_sql()).await?;
        Ok(rows.into_iter().next())
    }

    async fn read_promises(&self, tenant_id: &str, sql: &str) -> Result<Vec<Promise>, StoreError> {
        let args = [Arg::text(tenant_id)];
        let decoded = match self {
            Store::Postgres(pg) => {
                let mut tx = pg.tenant_transaction(tenant_id).await?;
                let rows = bind_pg(sqlx::query(sql), &args)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                rows.iter().map(|row| decode(row)).collect()
            }
            Store::Sqlite(lite) => bind_sqlite(sqlx::query(sql), &args)
                .fetch_all(lite.pool())
                .await
                .and_then(|rows| rows.iter().map(|row| decode(row)).collect()),
        };
        decoded.map_err(StoreError::from_sqlx)
    }

    /// The tenant's latest promise against its savings in the daily rollups,
    /// from the promise's start month to the month of `today` (see
    /// [`achievement()`]). `None`: the tenant has no promise.
    pub async fn achievement(
        &self,
        tenant_id: &str,
        today: NaiveDate,
    ) -> Result<Option<Achievement>, StoreError> {
        let Some(promise) = self.latest_promise(tenant_id).await? else {
            return Ok(None);
        };
        // Every day with traffic since 1970 (the rollups keep a few years), so
        // the first one is known even when it came before the promise.
        let days = self
            .aggregate(
                tenant_id,
                NaiveDate::default(),
                today,
                &Filter::default(),
                GroupBy::Day,
            )
            .await?;
        let first_traffic = days
            .iter()
            .filter(|day| day.totals.requests > 0)
            .find_map(|day| day.group.0.parse::<NaiveDate>().ok());
        let measured: Vec<MonthMeasured> =
            fold_periods(&days, promise.start_month, today, Interval::Month)
                .into_iter()
                .map(|month| MonthMeasured {
                    month: month.period,
                    savings: month.figures.totals.savings,
                    requests: month.figures.totals.requests,
                    unpriced: month.figures.totals.unpriced,
                })
                .collect();
        Ok(Some(achievement(promise, &measured, first_traffic, today)))
    }
}
