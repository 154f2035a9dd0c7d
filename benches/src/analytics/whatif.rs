//! Measured what-ifs for the store changes the report proposes, run only in the
//! benchmark's throwaway database (nothing here changes `analytics` or its
//! migrations):
//! * the daily rollup step as one INSERT per day (each reads one partition, so its
//!   groups fit in memory) with `work_mem` set for the transaction, rolled back;
//! * a per-tenant, per-day totals table `bench_tenant_daily` (what the rollup would
//!   keep beside `usage_daily`), with the same grants and RLS policies, read by the
//!   dashboard's two queries in a tenant transaction exactly as the store reads.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use sqlx::Row;

use ::analytics::store::postgres::PostgresStore;

use super::dashboard::{latency_line, Plan};
use super::explain::TOTALS;
use super::machine::{self, Probe};
use super::synth::midnight;
use super::Error;

/// The rollup's daily INSERT for one day (`$1`) and its time range (`$2..$3`).
const INSERT_DAY: &str = "
INSERT INTO usage_daily (tenant_id, day, key_id, team, requested_model, routed_provider,
    routed_model, requests, errors, prompt_tokens, completion_tokens, cached_tokens,
    cost_usd, baseline_usd, savings_usd, latency_ms_sum, latency_count, failovers, unpriced)
SELECT tenant_id, $1::date, key_id, coalesce(team, ''),
    requested_model, coalesce(routed_provider, ''), coalesce(routed_model, ''),
    count(*), count(*) FILTER (WHERE status >= 400 OR error_kind IS NOT NULL),
    sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(cached_tokens)::bigint,
    coalesce(sum(cost_usd), 0), coalesce(sum(baseline_usd), 0),
    coalesce(sum(baseline_usd - cost_usd), 0),
    sum(latency_ms)::bigint, count(latency_ms), count(*) FILTER (WHERE attempts > 1),
    count(*) FILTER (WHERE cost_usd IS NULL OR baseline_usd IS NULL)
FROM usage_events
WHERE occurred_at >= $2 AND occurred_at < $3
GROUP BY tenant_id, key_id, coalesce(team, ''), requested_model,
    coalesce(routed_provider, ''), coalesce(routed_model, '')";

/// The daily step of `first..=last` as one INSERT per day, in a transaction with
/// `work_mem`, rolled back; with the plan of the first day.
pub async fn rollup_per_day(
    store: &PostgresStore,
    first: NaiveDate,
    last: NaiveDate,
    work_mem: &str,
) -> Result<Value, Error> {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let mut tx = store.pool().begin().await?;
    sqlx::query("SELECT set_config('work_mem', $1, true)")
        .bind(work_mem)
        .execute(&mut *tx)
        .await?;
    let started = Instant::now();
    sqlx::query("DELETE FROM usage_daily WHERE day = ANY($1::date[])")
        .bind(&days)
        .execute(&mut *tx)
        .await?;
    let mut plan = String::new();
    for (i, day) in days.iter().enumerate() {
        let (from, to) = (midnight(*day), midnight(*day + Days::new(1)));
        if i == 0 {
            let explained = sqlx::query(&format!(
                "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {INSERT_DAY}"
            ))
            .bind(day)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?;
            let lines: Vec<String> = explained
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
            plan = lines.join("\n");
            continue;
        }
        sqlx::query(INSERT_DAY)
            .bind(day)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
    }
    let secs = started.elapsed().as_secs_f64();
    tx.rollback().await?;
    Ok(json!({
        "phase": "whatif",
        "what": format!("rollup daily step, one INSERT per day, work_mem {work_mem}"),
        "secs": secs,
        "load1": machine::load1(),
        "plan": plan,
    }))
}

/// Builds `bench_tenant_daily` from `usage_daily` (as a rollup step would), with the
/// grants and policies of the other aggregates; returns the seconds it took.
pub async fn tenant_daily(store: &PostgresStore) -> Result<Value, Error> {
    let started = Instant::now();
    let mut tx = store.pool().begin().await?;
    for statement in [
        "DROP TABLE IF EXISTS bench_tenant_daily",
        "CREATE TABLE bench_tenant_daily AS SELECT tenant_id, day, \
         sum(requests)::bigint AS requests, sum(errors)::bigint AS errors, \
         sum(prompt_tokens)::bigint AS prompt_tokens, \
         sum(completion_tokens)::bigint AS completion_tokens, \
         sum(cached_tokens)::bigint AS cached_tokens, sum(cost_usd) AS cost_usd, \
         sum(baseline_usd) AS baseline_usd, sum(savings_usd) AS savings_usd, \
         sum(latency_ms_sum)::bigint AS latency_ms_sum, \
         sum(latency_count)::bigint AS latency_count \
         FROM usage_daily GROUP BY tenant_id, day",
        "ALTER TABLE bench_tenant_daily ADD PRIMARY KEY (tenant_id, day)",
        "SELECT gateway_protect_tenant_table('bench_tenant_daily', 'SELECT, INSERT, DELETE')",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE bench_tenant_daily")
        .execute(store.pool())
        .await?;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM bench_tenant_daily")
        .fetch_one(store.pool())
        .await?;
    Ok(json!({
        "phase": "whatif",
        "what": "build bench_tenant_daily from usage_daily",
        "secs": started.elapsed().as_secs_f64(),
        "rows": rows,
    }))
}

/// The dashboard's two queries over `bench_tenant_daily`, each call a tenant
/// transaction like the store's; result lines shaped like the dashboard's.
pub async fn tenant_daily_queries(
    store: &PostgresStore,
    tenant: &str,
    tenant_events: u64,
    plan: &Plan,
    round: u32,
) -> Result<Vec<Value>, Error> {
    let summary = format!(
        "SELECT {TOTALS} FROM bench_tenant_daily u \
         WHERE u.tenant_id = $1 AND u.day >= $2 AND u.day <= $3"
    );
    let series = format!(
        "SELECT d::date AS day, {TOTALS} \
         FROM generate_series($2::date::timestamp, $3::date::timestamp, interval '1 day') AS d \
         LEFT JOIN bench_tenant_daily u ON u.day = d::date AND u.tenant_id = $1 \
         AND u.day >= $2 AND u.day <= $3 \
         GROUP BY d ORDER BY d"
    );
    let mut out = Vec::new();
    for (name, sql) in [("summary", summary), ("daily_series", series)] {
        let mut samples: Vec<Duration> = Vec::with_capacity(plan.runs);
        let probe = Probe::start(store.pool()).await;
        for i in 0..plan.warmup + plan.runs {
            let started = Instant::now();
            let mut tx = store.tenant_transaction(tenant).await?;
            let rows = sqlx::query(&sql)
                .bind(tenant)
                .bind(plan.first)
                .bind(plan.last)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            if rows.is_empty() {
                return Err(format!("{name} over bench_tenant_daily is empty").into());
            }
            if i >= plan.warmup {
                samples.push(started.elapsed());
            }
        }
        let cpu = probe.stop(store.pool()).await;
        out.push(latency_line(
            &format!("what-if: {name} over bench_tenant_daily"),
            tenant,
            tenant_events,
            round,
            None,
            &mut samples,
            cpu,
        ));
    }
    Ok(out)
}
