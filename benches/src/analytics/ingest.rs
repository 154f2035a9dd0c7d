//! Ingestion: the same pre-generated events written three ways, each from empty
//! tables (TRUNCATE, then CHECKPOINT so no run pays for the previous one's dirty
//! pages):
//! * `store`: `PostgresStore::write` (the real path: CSV encoding, COPY into the
//!   staging table, `INSERT .. ON CONFLICT DO NOTHING` into the partitioned, indexed
//!   `usage_events`), `writers` tasks taking batches from one list; `store_live` the
//!   same with one day's events in time order, as a live gateway sends them;
//! * `floor`: the same rows as the same CSV (encoded before the clock starts) COPYed
//!   straight into `bench_floor`, an unpartitioned table without index or conflict
//!   handling, one transaction per batch, by as many connections;
//! * `direct`: the same COPY into `usage_events` itself (partitions and indexes, but
//!   no staging table and no `ON CONFLICT`), to split the gap between the two;
//! * `writer`: `analytics::writer::Writer` with in-process counters, end to end:
//!   every event emitted into its queue at once, the clock stopped when the store
//!   has them all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinSet;

use ::analytics::counters::{Counters, Increments, MemoryCounters};
use ::analytics::store::postgres::PostgresStore;
use ::analytics::store::{EventStore, Store};
use ::analytics::writer::{Writer, WriterConfig};
use ::analytics::UsageEvent;

use super::csv::{self, COLUMNS};
use super::machine::Probe;
use super::Error;

/// Makes the floor table (the columns and NOT NULLs of `usage_events`, nothing else).
pub async fn prepare(pool: &PgPool) -> Result<(), Error> {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_floor (LIKE usage_events)")
        .execute(pool)
        .await?;
    Ok(())
}

async fn reset(pool: &PgPool, table: &str) -> Result<(), Error> {
    // Constant table names only.
    sqlx::query(&format!("TRUNCATE {table}"))
        .execute(pool)
        .await?;
    sqlx::query("CHECKPOINT").execute(pool).await?;
    Ok(())
}

fn result(
    kind: &str,
    batch: usize,
    writers: usize,
    events: usize,
    took: Duration,
    cpu: Value,
) -> Value {
    let secs = took.as_secs_f64();
    json!({
        "phase": "ingest",
        "kind": kind,
        "batch": batch,
        "writers": writers,
        "events": events,
        "secs": secs,
        "events_per_sec": (events as f64 / secs).round(),
        "cpu": cpu,
    })
}

/// `PostgresStore::write` with `writers` concurrent tasks; `kind` labels the result.
pub async fn store(
    store: &PostgresStore,
    events: &Arc<Vec<UsageEvent>>,
    batch: usize,
    writers: usize,
    kind: &str,
) -> Result<Value, Error> {
    let pool = store.pool();
    reset(pool, "usage_events").await?;
    let batches = events.len().div_ceil(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let probe = Probe::start(pool).await;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..writers {
        let (store, events, next) = (store.clone(), events.clone(), next.clone());
        tasks.spawn(async move {
            let mut inserted = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= batches {
                    return Ok::<u64, Error>(inserted);
                }
                let chunk = &events[i * batch..((i + 1) * batch).min(events.len())];
                inserted += store.write(chunk).await?;
            }
        });
    }
    let mut inserted = 0;
    while let Some(done) = tasks.join_next().await {
        inserted += done??;
    }
    let took = started.elapsed();
    let cpu = probe.stop(pool).await;
    if inserted != events.len() as u64 {
        return Err(format!("store wrote {inserted} of {} events", events.len()).into());
    }
    Ok(result(kind, batch, writers, events.len(), took, cpu))
}

/// The seconds one core takes to turn the events into counter increments and apply
/// them to in-process counters (the writer's work besides the store), and the
/// number of counter keys.
pub fn counters(events: &[UsageEvent]) -> (f64, usize) {
    let memory = MemoryCounters::default();
    let started = Instant::now();
    let mut keys = 0;
    for chunk in events.chunks(2_000) {
        let mut increments = Increments::default();
        for event in chunk {
            increments.add(event);
        }
        keys += increments.by_key.len();
        memory.apply(&increments);
    }
    (started.elapsed().as_secs_f64(), keys)
}

/// The events as CSV batches of `batch` rows, and the seconds one core took to encode
/// them (the client-side share of the store path).
pub fn encode(events: &[UsageEvent], batch: usize) -> (Vec<String>, f64) {
    let started = Instant::now();
    let batches = events.chunks(batch).map(csv::encode).collect();
    (batches, started.elapsed().as_secs_f64())
}

/// Where a raw COPY goes.
#[derive(Clone, Copy)]
pub enum Target {
    /// `bench_floor`: unpartitioned, no index, no conflict handling.
    Floor,
    /// `usage_events` itself (partitioned, primary key and tenant index), without the
    /// staging table and `ON CONFLICT`: what a COPY fast path would cost.
    Direct,
}

impl Target {
    fn table(self) -> &'static str {
        match self {
            Target::Floor => "bench_floor",
            Target::Direct => "usage_events",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Target::Floor => "floor",
            Target::Direct => "direct",
        }
    }
}

/// Raw COPY of pre-encoded batches into `target` over `writers` connections, one
/// transaction per batch.
pub async fn copy(
    url: &str,
    pool: &PgPool,
    target: Target,
    batches: &Arc<Vec<String>>,
    batch: usize,
    events: usize,
    writers: usize,
) -> Result<Value, Error> {
    reset(pool, target.table()).await?;
    let mut connections = Vec::new();
    for _ in 0..writers {
        connections.push(PgConnection::connect(url).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let probe = Probe::start(pool).await;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for mut conn in connections {
        let (batches, next) = (batches.clone(), next.clone());
        let statement = format!(
            "COPY {} ({COLUMNS}) FROM STDIN (FORMAT csv)",
            target.table()
        );
        tasks.spawn(async move {
            let mut rows = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(csv) = batches.get(i) else {
                    return Ok::<_, Error>((rows, conn));
                };
                let mut copy = conn.copy_in_raw(&statement).await?;
                copy.send(csv.as_bytes()).await?;
                rows += copy.finish().await?;
            }
        });
    }
    let mut rows = 0;
    let mut connections = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (copied, conn) = done??;
        rows += copied;
        connections.push(conn);
    }
    let took = started.elapsed();
    // Closed only now, so their backends' CPU is counted as ours.
    let cpu = probe.stop(pool).await;
    for conn in connections {
        conn.close().await?;
    }
    if rows != events as u64 {
        return Err(format!("{} copied {rows} of {events} rows", target.kind()).into());
    }
    Ok(result(target.kind(), batch, writers, events, took, cpu))
}

/// Whether `usage_events` and `bench_floor` hold exactly the same rows (run after a
/// store run and a floor run of the same events).
pub async fn same_rows(pool: &PgPool) -> Result<bool, Error> {
    let digest = |table: &str| {
        format!("SELECT md5(string_agg(t::text, '|' ORDER BY t.event_id)) FROM (SELECT {COLUMNS} FROM {table}) t")
    };
    let store: Option<String> = sqlx::query_scalar(&digest("usage_events"))
        .fetch_one(pool)
        .await?;
    let floor: Option<String> = sqlx::query_scalar(&digest("bench_floor"))
        .fetch_one(pool)
        .await?;
    Ok(store.is_some() && store == floor)
}

/// The batching writer end to end, with in-process counters.
pub async fn writer(
    pg: &PostgresStore,
    events: &[UsageEvent],
    batch: usize,
) -> Result<Value, Error> {
    let pool = pg.pool();
    reset(pool, "usage_events").await?;
    let total = events.len() as u64;
    let owned: Vec<UsageEvent> = events.to_vec();
    let config = WriterConfig {
        queue_capacity: events.len(),
        batch_size: batch,
        ..WriterConfig::default()
    };
    let store = Arc::new(Store::Postgres(pg.clone()));
    let (sink, writer) = Writer::start(store, Counters::Memory(MemoryCounters::default()), config);
    let stats = sink.stats().clone();
    let probe = Probe::start(pool).await;
    let started = Instant::now();
    for event in owned {
        sink.emit(event);
    }
    let emitted = started.elapsed();
    let limit = started + Duration::from_secs(600);
    loop {
        let done = stats.written.load(Ordering::Relaxed)
            + stats.duplicates.load(Ordering::Relaxed)
            + stats.dropped.load(Ordering::Relaxed)
            + stats.spilled.load(Ordering::Relaxed);
        if done >= total || Instant::now() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    let cpu = probe.stop(pool).await;
    drop(sink);
    writer.shutdown(Duration::from_secs(10)).await;
    let written = stats.written.load(Ordering::Relaxed);
    if written != total {
        return Err(format!(
            "writer wrote {written} of {total} (dropped {}, store failures {})",
            stats.dropped.load(Ordering::Relaxed),
            stats.store_failures.load(Ordering::Relaxed)
        )
        .into());
    }
    let mut out = result("writer", batch, 1, events.len(), took, cpu);
    out["emit_secs"] = json!(emitted.as_secs_f64());
    out["batches"] = json!(stats.batches.load(Ordering::Relaxed));
    out["store_write_secs"] = json!(stats.write_micros.load(Ordering::Relaxed) as f64 / 1e6);
    Ok(out)
}
