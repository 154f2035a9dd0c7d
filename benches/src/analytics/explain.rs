//! Evidence for the figures: `EXPLAIN (ANALYZE, BUFFERS)` of the statements behind
//! them, with the same text and binds as the store (the SQL is private to
//! `analytics/src/store/postgres/{tenant,rollup}.rs`, so it is repeated here; keep the
//! two in step). The dashboard queries run as the tenant, through RLS, like the
//! store's; the rollup's daily INSERT as the system side, in a transaction that is
//! rolled back, also with `work_mem` raised to show what that changes.

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use sqlx::postgres::PgRow;
use sqlx::Row;

use ::analytics::store::postgres::PostgresStore;

use super::machine;
use super::synth::midnight;
use super::Error;

/// The dashboard queries' measures (`tenant.rs` `TOTALS`).
pub const TOTALS: &str = "coalesce(sum(u.requests), 0)::bigint AS requests, \
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

/// The rollup's `INSERT_DAILY`.
const INSERT_DAILY: &str = "
INSERT INTO usage_daily (tenant_id, day, key_id, team, requested_model, routed_provider,
    routed_model, requests, errors, prompt_tokens, completion_tokens, cached_tokens,
    cost_usd, baseline_usd, savings_usd, latency_ms_sum, latency_count, failovers, unpriced)
SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, key_id, coalesce(team, ''),
    requested_model, coalesce(routed_provider, ''), coalesce(routed_model, ''),
    count(*), count(*) FILTER (WHERE status >= 400 OR error_kind IS NOT NULL),
    sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(cached_tokens)::bigint,
    coalesce(sum(cost_usd), 0), coalesce(sum(baseline_usd), 0),
    coalesce(sum(baseline_usd - cost_usd), 0),
    sum(latency_ms)::bigint, count(latency_ms), count(*) FILTER (WHERE attempts > 1),
    count(*) FILTER (WHERE cost_usd IS NULL OR baseline_usd IS NULL)
FROM usage_events
WHERE occurred_at >= $2 AND occurred_at < $3
  AND (occurred_at AT TIME ZONE 'UTC')::date = ANY($1::date[])
GROUP BY 1, 2, 3, 4, 5, 6, 7";

fn plan_text(rows: &[PgRow]) -> Result<String, Error> {
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    Ok(lines.join("\n"))
}

fn line(name: &str, plan: String) -> Value {
    let execution_ms = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("Execution Time: "))
        .and_then(|v| v.trim_end_matches(" ms").parse::<f64>().ok());
    json!({ "phase": "explain", "statement": name, "execution_ms": execution_ms, "plan": plan })
}

/// Plans of `summary` and `daily_series` for `tenant` over `first..=last`.
pub async fn dashboard(
    store: &PostgresStore,
    tenant: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<Value>, Error> {
    let summary = format!(
        "EXPLAIN (ANALYZE, BUFFERS) SELECT {TOTALS} FROM usage_daily u \
         WHERE u.tenant_id = $1 AND u.day >= $2 AND u.day <= $3"
    );
    let series = format!(
        "EXPLAIN (ANALYZE, BUFFERS) SELECT d::date AS day, {TOTALS} \
         FROM generate_series($2::date::timestamp, $3::date::timestamp, interval '1 day') AS d \
         LEFT JOIN usage_daily u ON u.day = d::date AND u.tenant_id = $1 \
         GROUP BY d ORDER BY d"
    );
    let mut out = Vec::new();
    for (name, sql) in [("summary", summary), ("daily_series", series)] {
        let mut tx = store.tenant_transaction(tenant).await?;
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(first)
            .bind(last)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        out.push(line(name, plan_text(&rows)?));
    }
    Ok(out)
}

/// Plan of the rollup's daily step over `first..=last` (its DELETE, then its INSERT
/// under EXPLAIN ANALYZE, in a transaction rolled back), as it runs or with
/// `work_mem` raised for the transaction (the proposed fix).
pub async fn rollup(
    store: &PostgresStore,
    first: NaiveDate,
    last: NaiveDate,
    work_mem: Option<&str>,
) -> Result<Value, Error> {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let end = last + Days::new(1);
    let load1 = machine::load1();
    let mut tx = store.pool().begin().await?;
    if let Some(work_mem) = work_mem {
        sqlx::query("SELECT set_config('work_mem', $1, true)")
            .bind(work_mem)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM usage_daily WHERE day = ANY($1::date[])")
        .bind(&days)
        .execute(&mut *tx)
        .await?;
    let sql = format!("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {INSERT_DAILY}");
    let started = std::time::Instant::now();
    let rows = sqlx::query(&sql)
        .bind(&days)
        .bind(midnight(first))
        .bind(midnight(end))
        .fetch_all(&mut *tx)
        .await?;
    let secs = started.elapsed().as_secs_f64();
    tx.rollback().await?;
    let name = match work_mem {
        None => "rollup_insert_daily".to_owned(),
        Some(work_mem) => format!("rollup_insert_daily (work_mem {work_mem})"),
    };
    let mut out = line(&name, plan_text(&rows)?);
    out["secs"] = json!(secs);
    out["load1"] = json!(load1);
    Ok(out)
}
