//! The analytics reads and the latency rollup on the embedded SQLite store. There
//! is no row-level security here: every read binds the tenant in its `WHERE`.
//! Reads run in one read transaction, so totals and histograms come from one
//! snapshot. Money is split into whole micro-USD and remainders in SQL and joined
//! as i128 (see `store::sqlite::tenant`), so sums cannot overflow.

use chrono::{NaiveDate, NaiveTime};
use pricing::Cost;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Row, Sqlite};

use super::latency::bucket_sql;
use super::{Filter, GroupBy, Totals};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

type Groups = (
    Vec<((String, String), Totals)>,
    Vec<((String, String), u16, u64)>,
);

const SUMS: &str = "COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors, \
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
    COALESCE(SUM(failovers), 0) AS failovers, \
    COALESCE(SUM(unpriced), 0) AS unpriced";

/// `?1` tenant, `?2..=?3` days, `?4` team, `?5` key, `?6` model, `?7` provider.
const WHERE: &str = "tenant_id = ?1 AND day >= ?2 AND day <= ?3 \
    AND (?4 IS NULL OR team = ?4) \
    AND (?5 IS NULL OR key_id = ?5) \
    AND (?6 IS NULL OR requested_model = ?6 OR routed_model = ?6) \
    AND (?7 IS NULL OR routed_provider = ?7)";

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
const RAW_KEPT_FROM: &str = "usage_events.kept_from";
const DAILY_KEPT_FROM: &str = "usage_daily.kept_from";

/// The two group columns of a grouping (constant SQL).
fn group_columns(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Total => ("''", "''"),
        GroupBy::Day => ("day", "''"),
        GroupBy::RequestedModel => ("requested_model", "''"),
        GroupBy::RoutedModel => ("routed_model", "''"),
        GroupBy::Provider => ("routed_provider", "''"),
        GroupBy::Key => ("key_id", "''"),
        GroupBy::Team => ("team", "''"),
        GroupBy::Substitution => ("requested_model", "routed_model"),
    }
}

pub(super) async fn aggregate(
    store: &SqliteStore,
    tenant_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
    by: GroupBy,
) -> Result<Groups, StoreError> {
    let (first, second) = group_columns(by);
    let totals_sql = format!(
        "SELECT {first} AS g1, {second} AS g2, {SUMS} FROM usage_daily WHERE {WHERE} \
         GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let latency_sql = format!(
        "SELECT {first} AS g1, {second} AS g2, bucket, SUM(requests) AS requests \
         FROM usage_daily_latency WHERE {WHERE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    // A read transaction: both statements see one snapshot.
    let mut tx = store.pool().begin().await.map_err(db_error)?;
    let totals = bind(sqlx::query(&totals_sql), tenant_id, from, to, filter)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    let buckets = bind(sqlx::query(&latency_sql), tenant_id, from, to, filter)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    let totals = totals
        .iter()
        .map(|row| Ok((group(row)?, read_totals(row)?)))
        .collect::<Result<_, StoreError>>()?;
    let buckets = buckets
        .iter()
        .map(|row| {
            let bucket: i64 = row.try_get("bucket").map_err(db_error)?;
            let requests: i64 = row.try_get("requests").map_err(db_error)?;
            Ok((
                group(row)?,
                u16::try_from(bucket).unwrap_or(u16::MAX),
                u64::try_from(requests).unwrap_or(0),
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((totals, buckets))
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    tenant_id: &'q str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    query
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .bind(filter.team.as_deref())
        .bind(filter.key.as_deref())
        .bind(filter.model.as_deref())
        .bind(filter.provider.as_deref())
}

fn group(row: &SqliteRow) -> Result<(String, String), StoreError> {
    Ok((
        row.try_get("g1").map_err(db_error)?,
        row.try_get("g2").map_err(db_error)?,
    ))
}

fn read_totals(row: &SqliteRow) -> Result<Totals, StoreError> {
    let int = |column: &str| row.try_get::<i64, _>(column).map_err(db_error);
    let money = |hi: &str, lo: &str| -> Result<Cost, StoreError> {
        Ok(Cost(
            i128::from(int(hi)?) * 1_000_000 + i128::from(int(lo)?),
        ))
    };
    Ok(Totals {
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
        failovers: int("failovers")?,
        unpriced: int("unpriced")?,
    })
}

pub(super) async fn rollup_latency(
    store: &SqliteStore,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), StoreError> {
    if to < from {
        return Ok(());
    }
    let mut tx = store
        .pool()
        .begin_with(BEGIN_WRITE)
        .await
        .map_err(db_error)?;
    // The daily rollup's rule: days behind either retention watermark are final.
    let mut floor = from;
    for name in [RAW_KEPT_FROM, DAILY_KEPT_FROM] {
        let kept: Option<NaiveDate> =
            sqlx::query_scalar("SELECT day FROM gateway_watermarks WHERE name = ?1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        floor = floor.max(kept.unwrap_or(from));
    }
    let insert = format!(
        "INSERT INTO usage_daily_latency (tenant_id, day, key_id, team, requested_model, \
             routed_provider, routed_model, bucket, requests) \
         SELECT tenant_id, ?1, key_id, COALESCE(team, ''), requested_model, \
             COALESCE(routed_provider, ''), COALESCE(routed_model, ''), ({bucket}), COUNT(*) \
         FROM usage_events WHERE occurred_at_ns >= ?2 AND occurred_at_ns < ?3 \
         GROUP BY 1, 3, 4, 5, 6, 7, 8",
        bucket = bucket_sql()
    );
    for day in days_with_raw_events(&mut tx, floor, to).await? {
        let (start, end) = (day_start_ns(day), day_start_ns(next_day(day)));
        sqlx::query("DELETE FROM usage_daily_latency WHERE day = ?1")
            .bind(day)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(&insert)
            .bind(day)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}

/// The days of `from..=to` with raw events, one index seek per such day.
async fn days_with_raw_events(
    conn: &mut SqliteConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let mut days = Vec::new();
    let end = day_start_ns(next_day(to));
    let mut cursor = day_start_ns(from);
    while from <= to && cursor < end {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(occurred_at_ns) FROM usage_events \
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

pub(super) async fn drop_latency_before(
    store: &SqliteStore,
    cutoff: NaiveDate,
) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM usage_daily_latency WHERE day < ?1")
        .bind(cutoff)
        .execute(store.pool())
        .await
        .map(|done| done.rows_affected())
        .map_err(db_error)
}

fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) => {
            // SQLite busy, locked, I/O, full, cannot open: try again later.
            let primary = db
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff);
            if matches!(primary, Some(5 | 6 | 10 | 13 | 14)) {
                StoreError::Unavailable(error.to_string())
            } else {
                StoreError::from_sqlx(error)
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_) => StoreError::Rejected(error.to_string()),
        _ => StoreError::from_sqlx(error),
    }
}

/// Unix nanoseconds at the start of `day` (UTC), saturating outside 1677..2262.
fn day_start_ns(day: NaiveDate) -> i64 {
    let at = day.and_time(NaiveTime::MIN).and_utc();
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() >= 0 {
        i64::MAX
    } else {
        i64::MIN
    })
}

fn day_of_ns(ns: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_nanos(ns.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY)
        .date_naive()
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(NaiveDate::MAX)
}
