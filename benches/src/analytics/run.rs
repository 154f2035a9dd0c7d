//! The order of the benchmark: ingestion, then the large data set and its rollup,
//! then the dashboard queries; each run preceded by a wait for a quiet moment and
//! recorded as one JSON line (with the time since the start).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::{json, Value};

use ::analytics::store::postgres::PostgresStore;
use ::analytics::UsageEvent;

use super::bulk::{self, Entry};
use super::dashboard::{self, Background, Plan};
use super::ingest::{self, Target};
use super::machine::{round2, wait_quiet};
use super::synth::{Synth, TENANTS};
use super::{explain, whatif, Error};

/// What to run (from the command line).
pub struct Settings {
    pub rounds: u32,
    pub ingest_events: usize,
    pub batches: Vec<usize>,
    pub writers: Vec<usize>,
    pub bulk_events: usize,
    pub bulk_loaders: usize,
    pub days: u32,
    pub rollup_rounds: u32,
    pub query_runs: usize,
    pub query_warmup: usize,
    pub query_tenants: Vec<String>,
    pub quiet_wait: f64,
    pub quiet_threshold: f64,
    pub budget: f64,
}

pub struct Bench {
    pub settings: Settings,
    pub url: String,
    pub store: PostgresStore,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub started: Instant,
    pub lines: Vec<Value>,
    pub file: std::fs::File,
}

impl Bench {
    /// Waits for a quiet second (not past the budget); returns the busy cores seen.
    async fn quiet(&self) -> f64 {
        let left = self.settings.budget - self.started.elapsed().as_secs_f64();
        let wait = self.settings.quiet_wait.min(left.max(0.0));
        wait_quiet(Duration::from_secs_f64(wait), self.settings.quiet_threshold).await
    }

    fn record(&mut self, mut line: Value, round: u32, quiet: Option<f64>) -> Result<(), Error> {
        line["round"] = json!(round);
        if let Some(quiet) = quiet {
            line["quiet_busy_cores"] = json!(quiet);
        }
        line["at_secs"] = json!(round2(self.started.elapsed().as_secs_f64()));
        let mut short = line.clone();
        if let Some(map) = short.as_object_mut() {
            map.remove("plan");
            map.remove("tenants");
        }
        eprintln!("{short}");
        writeln!(self.file, "{line}")?;
        self.lines.push(line);
        Ok(())
    }

    /// Ingestion (part 1): store, floor and direct COPY per configuration, the store
    /// with live (time-ordered, one day) events, then the batching writer; `rounds`
    /// times. Returns the events, for the background writer of the dashboard phase.
    pub async fn ingestion(&mut self) -> Result<Arc<Vec<UsageEvent>>, Error> {
        let s = &self.settings;
        let generated = Instant::now();
        let events = Arc::new(Synth::new(1).spread(s.ingest_events, self.first, s.days));
        let generate_secs = generated.elapsed().as_secs_f64();
        let live = Arc::new(Synth::new(2).day(self.last, s.ingest_events));
        let (batches, writers, rounds) = (s.batches.clone(), s.writers.clone(), s.rounds);
        let (counters_secs, counter_keys) = ingest::counters(&events);
        let mut encoded = Vec::new();
        for &batch in &batches {
            let (csv, secs) = ingest::encode(&events, batch);
            let bytes: usize = csv.iter().map(String::len).sum();
            let n = events.len() as f64;
            let line = json!({
                "phase": "client", "batch": batch, "events": events.len(),
                "encode_events_per_sec": (n / secs).round(),
                "bytes_per_event": bytes / events.len().max(1),
                "generate_secs": generate_secs,
                "counters_events_per_sec": (n / counters_secs).round(),
                "counter_keys": counter_keys,
            });
            self.record(line, 0, None)?;
            encoded.push((batch, Arc::new(csv)));
        }
        let (url, pool, n) = (self.url.clone(), self.store.pool().clone(), events.len());
        for round in 1..=rounds {
            for (batch, csv) in &encoded {
                for &w in &writers {
                    // One wait per configuration: its runs follow each other closely,
                    // so they see the same conditions.
                    let quiet = Some(self.quiet().await);
                    let line = ingest::store(&self.store, &events, *batch, w, "store").await?;
                    self.record(line, round, quiet)?;
                    let line = ingest::copy(&url, &pool, Target::Floor, csv, *batch, n, w).await?;
                    self.record(line, round, quiet)?;
                    if round == 1 && w == writers[0] && *batch == batches[0] {
                        let same = ingest::same_rows(&pool).await?;
                        self.record(json!({"phase": "check", "same_rows": same}), round, None)?;
                        if !same {
                            return Err("the floor's CSV does not give the store's rows".into());
                        }
                    }
                    let line = ingest::copy(&url, &pool, Target::Direct, csv, *batch, n, w).await?;
                    self.record(line, round, quiet)?;
                    let line = ingest::store(&self.store, &live, *batch, w, "store_live").await?;
                    self.record(line, round, quiet)?;
                }
            }
            for &batch in &batches {
                let quiet = Some(self.quiet().await);
                let line = ingest::writer(&self.store, &events, batch).await?;
                self.record(line, round, quiet)?;
            }
        }
        Ok(events)
    }

    /// The large data set (part 2), its rollup (fresh, re-run, and `Store::rollup`),
    /// and the plans of the daily aggregation as it is and with more `work_mem`.
    /// Returns the events of each tenant.
    pub async fn rollup(&mut self) -> Result<std::collections::BTreeMap<String, u64>, Error> {
        let s = &self.settings;
        let (days, total, loaders, rounds) =
            (s.days, s.bulk_events, s.bulk_loaders, s.rollup_rounds);
        let quiet = Some(self.quiet().await);
        let (line, tenants) =
            bulk::load(&self.url, &self.store, self.last, days, total, loaders).await?;
        self.record(line, 1, quiet)?;
        for round in 1..=rounds {
            for (entry, fresh) in [
                (Entry::Postgres, true),
                (Entry::Postgres, false),
                (Entry::Store, false),
            ] {
                let quiet = Some(self.quiet().await);
                let line =
                    bulk::rollup(&self.store, entry, self.first, self.last, fresh, round).await?;
                self.record(line, round, quiet)?;
            }
        }
        for work_mem in [None, Some("256MB")] {
            let quiet = Some(self.quiet().await);
            let line = explain::rollup(&self.store, self.first, self.last, work_mem).await?;
            self.record(line, 1, quiet)?;
        }
        let quiet = Some(self.quiet().await);
        let line = whatif::rollup_per_day(&self.store, self.first, self.last, "64MB").await?;
        self.record(line, 1, quiet)?;
        // The re-runs and the rolled-back plans left dead rows and stale statistics in
        // the aggregates; clear them as autovacuum soon would, so the dashboard phase
        // reads the tables as they usually are.
        let started = Instant::now();
        sqlx::query("VACUUM ANALYZE usage_daily, usage_weekly, usage_monthly")
            .execute(self.store.pool())
            .await?;
        let secs = started.elapsed().as_secs_f64();
        self.record(json!({"phase": "vacuum_aggregates", "secs": secs}), 1, None)?;
        Ok(tenants)
    }

    /// Dashboard latency (part 3) per tenant, `rounds` times idle and once under a
    /// background writer; then the plans for the largest tenant.
    pub async fn dashboard(
        &mut self,
        tenants: &std::collections::BTreeMap<String, u64>,
        events: Arc<Vec<UsageEvent>>,
    ) -> Result<(), Error> {
        let line = whatif::tenant_daily(&self.store).await?;
        self.record(line, 1, None)?;
        let s = &self.settings;
        let plan = Plan {
            first: self.first,
            last: self.last,
            runs: s.query_runs,
            warmup: s.query_warmup,
        };
        let (names, rounds, batch) = (s.query_tenants.clone(), s.rounds, s.batches[0]);
        for round in 1..=rounds {
            for tenant in &names {
                let quiet = Some(self.quiet().await);
                let n = tenants.get(tenant).copied().unwrap_or(0);
                for line in dashboard::measure(&self.store, tenant, n, &plan, round, None).await? {
                    self.record(line, round, quiet)?;
                }
                let lines = whatif::tenant_daily_queries(&self.store, tenant, n, &plan, round);
                for line in lines.await? {
                    self.record(line, round, quiet)?;
                }
            }
        }
        let quiet = Some(self.quiet().await);
        let background = Background::start(&self.store, events, batch);
        let label = format!("PostgresStore::write, 1 writer, batch {batch}");
        for tenant in &names {
            let n = tenants.get(tenant).copied().unwrap_or(0);
            let lines = dashboard::measure(&self.store, tenant, n, &plan, 1, Some(&label)).await?;
            for line in lines {
                self.record(line, 1, quiet)?;
            }
        }
        let line = background.stop().await?;
        self.record(line, 1, None)?;
        let largest = TENANTS[0].0;
        for line in explain::dashboard(&self.store, largest, self.first, self.last).await? {
            self.record(line, 1, None)?;
        }
        Ok(())
    }
}
