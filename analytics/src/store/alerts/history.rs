//! Alert firings and delivery attempts: open, resolve, record, list. Each
//! statement is one constant shared by both stores (`$n` binds appear in
//! order, which SQLite numbers the same way); only times are bound
//! differently.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::{Store, StoreError};

/// A condition that started to hold.
#[derive(Debug, Clone)]
pub struct NewFiring {
    /// UUIDv7, made by the caller.
    pub id: String,
    /// `None`: not a tenant's (a provider, the event writer).
    pub tenant: Option<String>,
    pub rule: String,
    pub kind: String,
    pub subject: String,
    pub summary: String,
    pub started_at: DateTime<Utc>,
}

/// A stored firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub id: String,
    pub tenant: Option<String>,
    pub rule: String,
    pub kind: String,
    pub subject: String,
    pub summary: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which notice a delivery carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Firing,
    Resolved,
    Test,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Firing => "firing",
            Notice::Resolved => "resolved",
            Notice::Test => "test",
        }
    }

    fn parse(text: &str) -> Notice {
        match text {
            "firing" => Notice::Firing,
            "resolved" => Notice::Resolved,
            _ => Notice::Test,
        }
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; another attempt follows.
    Retrying,
    /// Failed; the last attempt.
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "retrying",
            DeliveryOutcome::Failed => "failed",
        }
    }

    fn parse(text: &str) -> DeliveryOutcome {
        match text {
            "delivered" => DeliveryOutcome::Delivered,
            "retrying" => DeliveryOutcome::Retrying,
            _ => DeliveryOutcome::Failed,
        }
    }
}

/// One delivery attempt, to record.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub tenant: Option<String>,
    /// `None`: a test alert.
    pub firing_id: Option<String>,
    pub channel: String,
    pub notice: Notice,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: DeliveryOutcome,
    pub http_status: Option<u16>,
    /// The gateway's own words for what went wrong; never a secret or a URL.
    pub error: Option<String>,
}

/// A stored delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub tenant: Option<String>,
    pub firing_id: Option<String>,
    pub channel: String,
    pub notice: Notice,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: DeliveryOutcome,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// Which firings to list; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct FiringFilter {
    pub rule: Option<String>,
    pub tenant: Option<String>,
    /// Only those still open.
    pub open_only: bool,
    pub limit: u32,
}

const OPEN: &str =
    "INSERT INTO alert_firings (id, tenant_id, rule, kind, subject, summary, started_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";

const RESOLVE: &str =
    "UPDATE alert_firings SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL";

const RECORD: &str = "INSERT INTO alert_deliveries \
     (id, tenant_id, firing_id, channel, notice, attempt, at, outcome, http_status, error) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const LIST_FIRINGS: &str =
    "SELECT id, tenant_id, rule, kind, subject, summary, started_at, resolved_at \
     FROM alert_firings \
     WHERE ($1 IS NULL OR rule = $1) AND ($2 IS NULL OR tenant_id = $2) \
       AND ($3 = 0 OR resolved_at IS NULL) \
     ORDER BY started_at DESC, id DESC LIMIT $4";

const LIST_DELIVERIES: &str =
    "SELECT id, tenant_id, firing_id, channel, notice, attempt, at, outcome, http_status, error \
     FROM alert_deliveries \
     WHERE ($1 IS NULL OR firing_id = $1) AND ($2 IS NULL OR channel = $2) \
     ORDER BY at DESC, id DESC LIMIT $3";

/// Postgres infers `$1 IS NULL` binds' types poorly: name them.
const LIST_FIRINGS_PG: &str =
    "SELECT id, tenant_id, rule, kind, subject, summary, started_at, resolved_at \
     FROM alert_firings \
     WHERE ($1::text IS NULL OR rule = $1) AND ($2::text IS NULL OR tenant_id = $2) \
       AND ($3::int = 0 OR resolved_at IS NULL) \
     ORDER BY started_at DESC, id DESC LIMIT $4";

const LIST_DELIVERIES_PG: &str =
    "SELECT id, tenant_id, firing_id, channel, notice, attempt, at, outcome, http_status, error \
     FROM alert_deliveries \
     WHERE ($1::text IS NULL OR firing_id = $1) AND ($2::text IS NULL OR channel = $2) \
     ORDER BY at DESC, id DESC LIMIT $3";

fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn from_nanos(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

fn db(error: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(error)
}

impl Store {
    /// Records that `firing`'s condition holds. `false`: a firing of the same
    /// rule and subject is already open (here or by another replica), so no
    /// notice is due.
    pub async fn open_alert_firing(&self, firing: &NewFiring) -> Result<bool, StoreError> {
        let done = match self {
            Store::Postgres(pg) => sqlx::query(OPEN)
                .bind(&firing.id)
                .bind(&firing.tenant)
                .bind(&firing.rule)
                .bind(&firing.kind)
                .bind(&firing.subject)
                .bind(&firing.summary)
                .bind(firing.started_at)
                .execute(pg.pool())
                .await
                .map_err(db)?,
            Store::Sqlite(lite) => {
                let done = sqlx::query(OPEN)
                    .bind(&firing.id)
                    .bind(&firing.tenant)
                    .bind(&firing.rule)
                    .bind(&firing.kind)
                    .bind(&firing.subject)
                    .bind(&firing.summary)
                    .bind(nanos(firing.started_at))
                    .execute(lite.pool())
                    .await
                    .map_err(db)?;
                return Ok(done.rows_affected() == 1);
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Marks firing `id` resolved at `at`. `false`: it was resolved already
    /// (by another replica), so no notice is due.
    pub async fn resolve_alert_firing(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let affected = match self {
            Store::Postgres(pg) => sqlx::query(RESOLVE)
                .bind(at)
                .bind(id)
                .execute(pg.pool())
                .await
                .map_err(db)?
                .rows_affected(),
            Store::Sqlite(lite) => sqlx::query(RESOLVE)
                .bind(nanos(at))
                .bind(id)
                .execute(lite.pool())
                .await
                .map_err(db)?
                .rows_affected(),
        };
        Ok(affected == 1)
    }

    /// Records one delivery attempt.
    pub async fn record_alert_delivery(&self, delivery: &NewDelivery) -> Result<(), StoreError> {
        let attempt = i32::try_from(delivery.attempt).unwrap_or(i32::MAX);
        let status = delivery.http_status.map(i32::from);
        match self {
            Store::Postgres(pg) => sqlx::query(RECORD)
                .bind(&delivery.id)
                .bind(&delivery.tenant)
                .bind(&delivery.firing_id)
                .bind(&delivery.channel)
                .bind(delivery.notice.as_str())
                .bind(attempt)
                .bind(delivery.at)
                .bind(delivery.outcome.as_str())
                .bind(status)
                .bind(&delivery.error)
                .execute(pg.pool())
                .await
                .map_err(db)?,
            Store::Sqlite(lite) => {
                sqlx::query(RECORD)
                    .bind(&delivery.id)
                    .bind(&delivery.tenant)
                    .bind(&delivery.firing_id)
                    .bind(&delivery.channel)
                    .bind(delivery.notice.as_str())
                    .bind(attempt)
                    .bind(nanos(delivery.at))
                    .bind(delivery.outcome.as_str())
                    .bind(status)
                    .bind(&delivery.error)
                    .execute(lite.pool())
                    .await
                    .map_err(db)?;
                return Ok(());
            }
        };
        Ok(())
    }

    /// Firings, newest first.
    pub async fn alert_firings(&self, filter: &FiringFilter) -> Result<Vec<Firing>, StoreError> {
        let open_only = i32::from(filter.open_only);
        let limit = i64::from(filter.limit);
        match self {
            Store::Postgres(pg) => {
                let rows = sqlx::query(LIST_FIRINGS_PG)
                    .bind(&filter.rule)
                    .bind(&filter.tenant)
                    .bind(open_only)
                    .bind(limit)
                    .fetch_all(pg.pool())
                    .await
                    .map_err(db)?;
                rows.iter()
                    .map(|row| {
                        Ok(Firing {
                            id: row.try_get(0)?,
                            tenant: row.try_get(1)?,
                            rule: row.try_get(2)?,
                            kind: row.try_get(3)?,
                            subject: row.try_get(4)?,
                            summary: row.try_get(5)?,
                            started_at: row.try_get(6)?,
                            resolved_at: row.try_get(7)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db)
            }
            Store::Sqlite(lite) => {
                let rows = sqlx::query(LIST_FIRINGS)
                    .bind(&filter.rule)
                    .bind(&filter.tenant)
                    .bind(open_only)
                    .bind(limit)
                    .fetch_all(lite.pool())
                    .await
                    .map_err(db)?;
                rows.iter()
                    .map(|row| {
                        Ok(Firing {
                            id: row.try_get(0)?,
                            tenant: row.try_get(1)?,
                            rule: row.try_get(2)?,
                            kind: row.try_get(3)?,
                            subject: row.try_get(4)?,
                            summary: row.try_get(5)?,
                            started_at: from_nanos(row.try_get(6)?),
                            resolved_at: row.try_get::<Option<i64>, _>(7)?.map(from_nanos),
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db)
            }
        }
    }

    /// Delivery attempts, newest first, of one firing or channel (or all).
    pub async fn alert_deliveries(
        &self,
        firing: Option<&str>,
        channel: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let limit = i64::from(limit);
        let rows = match self {
            Store::Postgres(pg) => sqlx::query(LIST_DELIVERIES_PG)
                .bind(firing)
                .bind(channel)
                .bind(limit)
                .fetch_all(pg.pool())
                .await
                .map_err(db)?
                .iter()
                .map(|row| delivery_row(row, |r, i| r.try_get(i)))
                .collect::<Result<Vec<_>, sqlx::Error>>(),
            Store::Sqlite(lite) => sqlx::query(LIST_DELIVERIES)
                .bind(firing)
                .bind(channel)
                .bind(limit)
                .fetch_all(lite.pool())
                .await
                .map_err(db)?
                .iter()
                .map(|row| delivery_row(row, |r, i| r.try_get::<i64, _>(i).map(from_nanos)))
                .collect::<Result<Vec<_>, sqlx::Error>>(),
        };
        rows.map_err(db)
    }
}

/// A delivery row of either store; `at` reads the time column its way.
fn delivery_row<R>(
    row: &R,
    at: impl Fn(&R, usize) -> Result<DateTime<Utc>, sqlx::Error>,
) -> Result<Delivery, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let attempt: i32 = row.try_get(5)?;
    let status: Option<i32> = row.try_get(8)?;
    Ok(Delivery {
        id: row.try_get(0)?,
        tenant: row.try_get(1)?,
        firing_id: row.try_get(2)?,
        channel: row.try_get(3)?,
        notice: Notice::parse(&row.try_get::<String, _>(4)?),
        attempt: u32::try_from(attempt).unwrap_or(0),
        at: at(row, 6)?,
        outcome: DeliveryOutcome::parse(&row.try_get::<String, _>(7)?),
        http_status: status.and_then(|s| u16::try_from(s).ok()),
        error: row.try_get(9)?,
    })
}
