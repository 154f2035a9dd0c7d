//! Dashboard query latency: `PostgresStore::summary` and `daily_series` for one
//! tenant over the 30 days of the data set, each call a tenant transaction through
//! Row-Level Security as the dashboard makes it, called back to back from one client
//! (the two alternate, as a dashboard page asks for both), and as their floor the
//! same tenant transaction around `SELECT 1` (`with_tenant`). Optionally while a
//! `PostgresStore::write` loop ingests in the background, to see what a busy writer
//! costs the readers on this machine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::{json, Value};

use ::analytics::store::postgres::PostgresStore;
use ::analytics::store::EventStore;
use ::analytics::UsageEvent;

use super::machine::Probe;
use super::Error;

pub struct Plan {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub runs: usize,
    pub warmup: usize,
}

/// Times `plan.runs` calls of each query for `tenant`; one result line per query.
pub async fn measure(
    store: &PostgresStore,
    tenant: &str,
    tenant_events: u64,
    plan: &Plan,
    round: u32,
    background: Option<&str>,
) -> Result<Vec<Value>, Error> {
    for _ in 0..plan.warmup {
        store.summary(tenant, plan.first, plan.last).await?;
        store.daily_series(tenant, plan.first, plan.last).await?;
    }
    let pool = store.pool();
    let probe = Probe::start(pool).await;
    let mut summary = Vec::with_capacity(plan.runs);
    let mut series = Vec::with_capacity(plan.runs);
    let mut floor = Vec::with_capacity(plan.runs);
    for _ in 0..plan.runs {
        // The same tenant transaction around `SELECT 1`: the fixed cost of a call.
        let started = Instant::now();
        store
            .with_tenant(tenant, |conn| {
                Box::pin(sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(conn))
            })
            .await?;
        floor.push(started.elapsed());
        let started = Instant::now();
        let totals = store.summary(tenant, plan.first, plan.last).await?;
        summary.push(started.elapsed());
        if totals.requests <= 0 {
            return Err(format!("summary of {tenant} is empty: no rollup?").into());
        }
        let started = Instant::now();
        let points = store.daily_series(tenant, plan.first, plan.last).await?;
        series.push(started.elapsed());
        if points.is_empty() {
            return Err(format!("daily series of {tenant} is empty").into());
        }
    }
    let cpu = probe.stop(pool).await;
    Ok(vec![
        latency_line(
            "summary",
            tenant,
            tenant_events,
            round,
            background,
            &mut summary,
            cpu.clone(),
        ),
        latency_line(
            "daily_series",
            tenant,
            tenant_events,
            round,
            background,
            &mut series,
            cpu.clone(),
        ),
        latency_line(
            "tenant_tx_select_1",
            tenant,
            tenant_events,
            round,
            background,
            &mut floor,
            cpu,
        ),
    ])
}

/// One result line of call latencies (sorted here).
pub fn latency_line(
    query: &str,
    tenant: &str,
    tenant_events: u64,
    round: u32,
    background: Option<&str>,
    samples: &mut [Duration],
    cpu: Value,
) -> Value {
    samples.sort_unstable();
    json!({
        "phase": "dashboard",
        "query": query,
        "tenant": tenant,
        "tenant_events": tenant_events,
        "round": round,
        "background": background,
        "runs": samples.len(),
        "p50_ms": ms(percentile(samples, 0.50)),
        "p95_ms": ms(percentile(samples, 0.95)),
        "p99_ms": ms(percentile(samples, 0.99)),
        "max_ms": ms(samples.last().copied().unwrap_or_default()),
        "cpu": cpu,
    })
}

/// A background `PostgresStore::write` loop over `events` (batches of `batch`) until
/// stopped; returns the events it wrote and the seconds it ran.
pub struct Background {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<(u64, f64), Error>>,
}

impl Background {
    pub fn start(store: &PostgresStore, events: Arc<Vec<UsageEvent>>, batch: usize) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let (store, flag) = (store.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut written = 0;
            for chunk in events.chunks(batch.max(1)) {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                written += store.write(chunk).await?;
            }
            Ok((written, started.elapsed().as_secs_f64()))
        });
        Background { stop, task }
    }

    pub async fn stop(self) -> Result<Value, Error> {
        self.stop.store(true, Ordering::Relaxed);
        let (written, secs) = self.task.await??;
        Ok(json!({
            "phase": "background_ingest",
            "events": written,
            "secs": secs,
            "events_per_sec": (written as f64 / secs.max(1e-3)).round(),
        }))
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}
