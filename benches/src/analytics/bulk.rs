//! The large data set and its rollup: `total` events over the 30 days ending today,
//! generated day by day in time order (as a live gateway writes them) and COPYed
//! straight into `usage_events` (the bulk path: no staging, no conflict check), by
//! a few connections in parallel; then `VACUUM ANALYZE` (what autovacuum would have
//! done by the time a rollup runs); then `PostgresStore::rollup` over the whole range,
//! from empty aggregates and again as an idempotent re-run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinSet;

use ::analytics::store::postgres::PostgresStore;
use ::analytics::store::Store;

use super::csv::{encode_into, COLUMNS};
use super::machine::Probe;
use super::synth::Synth;
use super::Error;

/// Events generated and sent per COPY message.
const CHUNK: usize = 20_000;

/// Loads `total` events over `days` days ending `last`; returns the result line and
/// the number of events of each tenant.
pub async fn load(
    url: &str,
    store: &PostgresStore,
    last: NaiveDate,
    days: u32,
    total: usize,
    loaders: usize,
) -> Result<(Value, BTreeMap<String, u64>), Error> {
    let first = last - Days::new(u64::from(days.saturating_sub(1)));
    store
        .ensure_partitions(first, days.saturating_sub(1))
        .await?;
    let pool = store.pool();
    sqlx::query("TRUNCATE usage_events, usage_daily, usage_weekly, usage_monthly")
        .execute(pool)
        .await?;
    let mut connections = Vec::new();
    for _ in 0..loaders {
        connections.push(PgConnection::connect(url).await?);
    }
    let per_day = total / days as usize;
    let next = Arc::new(AtomicUsize::new(0));
    let probe = Probe::start(pool).await;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for mut conn in connections {
        let next = next.clone();
        tasks.spawn(async move {
            let statement = format!("COPY usage_events ({COLUMNS}) FROM STDIN (FORMAT csv)");
            let mut tenants = BTreeMap::<String, u64>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= days as usize {
                    return Ok::<_, Error>((tenants, conn));
                }
                let day = first + Days::new(i as u64);
                // The last day takes the remainder, so the total is exact.
                let count = if i + 1 == days as usize {
                    total - per_day * (days as usize - 1)
                } else {
                    per_day
                };
                let events = Synth::new((0xB0_u64 << 32) | i as u64).day(day, count);
                for event in &events {
                    *tenants.entry(event.tenant_id.clone()).or_default() += 1;
                }
                let mut copy = conn.copy_in_raw(&statement).await?;
                let mut buffer = String::with_capacity(CHUNK * 512);
                for chunk in events.chunks(CHUNK) {
                    buffer.clear();
                    encode_into(&mut buffer, chunk);
                    copy.send(buffer.as_bytes()).await?;
                }
                copy.finish().await?;
            }
        });
    }
    let mut tenants = BTreeMap::<String, u64>::new();
    let mut connections = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (counts, conn) = done??;
        for (tenant, n) in counts {
            *tenants.entry(tenant).or_default() += n;
        }
        connections.push(conn);
    }
    let took = started.elapsed().as_secs_f64();
    let cpu = probe.stop(pool).await;
    for conn in connections {
        conn.close().await?;
    }

    let vacuum_started = Instant::now();
    sqlx::query("VACUUM ANALYZE usage_events")
        .execute(pool)
        .await?;
    let vacuum = vacuum_started.elapsed().as_secs_f64();
    let size: String = sqlx::query_scalar(
        "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) \
         FROM pg_inherits WHERE inhparent = 'usage_events'::regclass",
    )
    .fetch_one(pool)
    .await?;
    Ok((
        json!({
            "phase": "bulk_load",
            "events": total,
            "days": days,
            "first_day": first.to_string(),
            "loaders": loaders,
            "secs": took,
            "events_per_sec": (total as f64 / took).round(),
            "vacuum_analyze_secs": vacuum,
            "size": size,
            "tenants": tenants,
            "cpu": cpu,
        }),
        tenants,
    ))
}

/// Which rollup entry point is timed.
#[derive(Clone, Copy)]
pub enum Entry {
    /// `PostgresStore::rollup`: daily, weekly and monthly aggregates.
    Postgres,
    /// `Store::rollup`, what housekeeping calls: the above and whatever else the
    /// store rolls up from raw events (it changes with the working tree).
    Store,
}

/// One timed rollup of `first..=last`; `fresh` empties the aggregates first.
pub async fn rollup(
    store: &PostgresStore,
    entry: Entry,
    first: NaiveDate,
    last: NaiveDate,
    fresh: bool,
    round: u32,
) -> Result<Value, Error> {
    let pool: &PgPool = store.pool();
    if fresh {
        sqlx::query("TRUNCATE usage_daily, usage_weekly, usage_monthly")
            .execute(pool)
            .await?;
    }
    sqlx::query("CHECKPOINT").execute(pool).await?;
    let probe = Probe::start(pool).await;
    let started = Instant::now();
    let report = match entry {
        Entry::Postgres => Some(store.rollup(first, last).await?),
        Entry::Store => {
            Store::Postgres(store.clone()).rollup(first, last).await?;
            None
        }
    };
    let took = started.elapsed().as_secs_f64();
    let cpu = probe.stop(pool).await;
    let Some(report) = report else {
        return Ok(json!({
            "phase": "rollup",
            "entry": "Store::rollup",
            "run": if fresh { "fresh" } else { "rerun" },
            "round": round,
            "secs": took,
            "cpu": cpu,
        }));
    };
    Ok(json!({
        "phase": "rollup",
        "entry": "PostgresStore::rollup",
        "run": if fresh { "fresh" } else { "rerun" },
        "round": round,
        "days": report.days_recomputed.len(),
        "daily_rows": report.daily_rows,
        "weekly_rows": report.weekly_rows,
        "monthly_rows": report.monthly_rows,
        "secs": took,
        "cpu": cpu,
    }))
}
