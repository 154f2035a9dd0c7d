//! The analytics reads and the latency rollup on Postgres. Reads run in a tenant
//! transaction, so Row-Level Security answers for the tenant alone even though
//! every statement also names it; the rollup runs on the system side, under the
//! same locks as the daily rollup.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use pricing::Cost;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use super::latency::bucket_sql;
use super::{Filter, GroupBy, Totals};
use crate::store::postgres::PostgresStore;
use crate::store::StoreError;

type Groups = (
    Vec<((String, String), Totals)>,
    Vec<((String, String), u16, u64)>,
);

const SUMS: &str = "coalesce(sum(requests), 0)::bigint AS requests, \
    coalesce(sum(errors), 0)::bigint AS errors, \
    coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens, \
    coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens, \
    coalesce(sum(cached_tokens), 0)::bigint AS cached_tokens, \
    coalesce(sum(cost_usd), 0)::text AS cost_usd, \
    coalesce(sum(baseline_usd), 0)::text AS baseline_usd, \
    coalesce(sum(savings_usd), 0)::text AS savings_usd, \
    coalesce(sum(latency_ms_sum), 0)::bigint AS latency_ms_sum, \
    coalesce(sum(latency_count), 0)::bigint AS latency_count, \
    coalesce(sum(failovers), 0)::bigint AS failovers, \
    coalesce(sum(unpriced), 0)::bigint AS unpriced";

/// `$1` tenant, `$2..=$3` days, `$4` team, `$5` key, `$6` model, `$7` provider.
const WHERE: &str = "tenant_id = $1 AND day >= $2 AND day <= $3 \
    AND ($4::text IS NULL OR team = $4) \
    AND ($5::text IS NULL OR key_id = $5) \
    AND ($6::text IS NULL OR requested_model = $6 OR routed_model = $6) \
    AND ($7::text IS NULL OR routed_provider = $7)";

/// The two group columns of a grouping (constant SQL).
fn group_columns(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Total => ("''::text", "''::text"),
        GroupBy::Day => ("to_char(day, 'YYYY-MM-DD')", "''::text"),
        GroupBy::RequestedModel => ("requested_model", "''::text"),
        GroupBy::RoutedModel => ("routed_model", "''::text"),
        GroupBy::Provider => ("routed_provider", "''::text"),
        GroupBy::Key => ("key_id", "''::text"),
        GroupBy::Team => ("team", "''::text"),
        GroupBy::Substitution => ("requested_model", "routed_model"),
    }
}

pub(super) async fn aggregate(
    store: &PostgresStore,
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
        "SELECT {first} AS g1, {second} AS g2, bucket, sum(requests)::bigint AS requests \
         FROM usage_daily_latency WHERE {WHERE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let mut tx = store.tenant_transaction(tenant_id).await?;
    let totals = bind(sqlx::query(&totals_sql), tenant_id, from, to, filter)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    let buckets = bind(sqlx::query(&latency_sql), tenant_id, from, to, filter)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    tx.commit().await.map_err(StoreError::from_sqlx)?;
    let totals = totals
        .iter()
        .map(|row| Ok((group(row)?, read_totals(row)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from_sqlx)?;
    let buckets = buckets
        .iter()
        .map(|row| {
            let bucket: i32 = row.try_get("bucket")?;
            let requests: i64 = row.try_get("requests")?;
            Ok((
                group(row)?,
                u16::try_from(bucket).unwrap_or(u16::MAX),
                u64::try_from(requests).unwrap_or(0),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from_sqlx)?;
    Ok((totals, buckets))
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    tenant_id: &'q str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .bind(filter.team.as_deref())
        .bind(filter.key.as_deref())
        .bind(filter.model.as_deref())
        .bind(filter.provider.as_deref())
}

fn group(row: &PgRow) -> Result<(String, String), sqlx::Error> {
    Ok((row.try_get("g1")?, row.try_get("g2")?))
}

fn read_totals(row: &PgRow) -> Result<Totals, sqlx::Error> {
    let money = |column: &str| -> Result<Cost, sqlx::Error> {
        let text: String = row.try_get(column)?;
        Cost::parse_usd(&text).map_err(|err| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: err.to_string().into(),
        })
    };
    Ok(Totals {
        requests: row.try_get("requests")?,
        errors: row.try_get("errors")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        cached_tokens: row.try_get("cached_tokens")?,
        cost: money("cost_usd")?,
        baseline: money("baseline_usd")?,
        savings: money("savings_usd")?,
        latency_ms_sum: row.try_get("latency_ms_sum")?,
        latency_count: row.try_get("latency_count")?,
        failovers: row.try_get("failovers")?,
        unpriced: row.try_get("unpriced")?,
    })
}

/// Which days of a range still have their raw events (as the daily rollup
/// decides it).
const DAYS_WITH_RAW: &str = "
SELECT d::date AS day
FROM generate_series($1::date::timestamp, $2::date::timestamp, interval '1 day') AS d
WHERE d::date >= coalesce(
        (SELECT day FROM gateway_watermarks WHERE name = 'usage_events.kept_from'),
        '-infinity'::date)
  AND d::date IN (SELECT gateway_partition_days())
ORDER BY 1";

pub(super) async fn rollup_latency(
    store: &PostgresStore,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), StoreError> {
    if to < from {
        return Ok(());
    }
    let mut tx = store.pool().begin().await.map_err(StoreError::from_sqlx)?;
    // The daily rollup's locks: one rollup at a time, no partition dropped under it.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('gateway.rollup')), \
         pg_advisory_xact_lock_shared(hashtext('gateway.partitions.drop'))",
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    let days: Vec<NaiveDate> = sqlx::query_scalar(DAYS_WITH_RAW)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    rebuild(&mut tx, &days).await?;
    tx.commit().await.map_err(StoreError::from_sqlx)
}

async fn rebuild(
    tx: &mut Transaction<'static, Postgres>,
    days: &[NaiveDate],
) -> Result<(), StoreError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    sqlx::query("DELETE FROM usage_daily_latency WHERE day = ANY($1::date[])")
        .bind(days)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    let insert = format!(
        "INSERT INTO usage_daily_latency (tenant_id, day, key_id, team, requested_model, \
             routed_provider, routed_model, bucket, requests) \
         SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, key_id, coalesce(team, ''), \
             requested_model, coalesce(routed_provider, ''), coalesce(routed_model, ''), \
             ({bucket}), count(*) \
         FROM usage_events \
         WHERE occurred_at >= $2 AND occurred_at < $3 \
           AND (occurred_at AT TIME ZONE 'UTC')::date = ANY($1::date[]) \
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
        bucket = bucket_sql()
    );
    let end = last
        .succ_opt()
        .ok_or_else(|| StoreError::Rejected(format!("date out of range: {last}")))?;
    sqlx::query(&insert)
        .bind(days)
        .bind(start_of(*first))
        .bind(start_of(end))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

pub(super) async fn drop_latency_before(
    store: &PostgresStore,
    cutoff: NaiveDate,
) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM usage_daily_latency WHERE day < $1")
        .bind(cutoff)
        .execute(store.pool())
        .await
        .map(|done| done.rows_affected())
        .map_err(StoreError::from_sqlx)
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}
