//! `analytics_bench`: the analytics store under load (issue 4), run by
//! `benches/analytics.sh` against a throwaway Postgres database.
//!
//! 1. Ingestion: the same events through `PostgresStore::write` (batch sizes x
//!    concurrent writers) and, interleaved, as a raw COPY of the same CSV into an
//!    unpartitioned, unindexed table (the floor); then the batching `Writer` end to
//!    end. Every run is repeated `--rounds` times.
//! 2. Rollup: `--bulk-events` events loaded with COPY over 30 days, then
//!    `PostgresStore::rollup` of the whole range, fresh and re-run.
//! 3. Dashboard: p50/p95/p99 of `summary` and `daily_series` as a tenant (RLS), idle
//!    and under a background writer; `EXPLAIN ANALYZE` of the statements.
//!
//! Every result is a JSON line in `OUT/results.jsonl` with the load average and the
//! CPU others used during it; `OUT/report.md` is the Markdown section for RESULTS.md.

mod analytics;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{Days, Utc};
use clap::Parser;

use ::analytics::store::postgres::PostgresStore;

use crate::analytics::report::{self, Context};
use crate::analytics::run::{Bench, Settings};
use crate::analytics::{ingest, machine, Error};

#[derive(Parser)]
#[command(
    name = "analytics_bench",
    about = "Analytics store benchmark (issue 4)"
)]
struct Args {
    /// Database to use (created empty by the script; its schema is migrated here).
    #[arg(long, env = "ANALYTICS_BENCH_URL")]
    database_url: String,
    /// Directory for results.jsonl, report.md and the query plans.
    #[arg(long)]
    out: PathBuf,
    /// Repetitions of every ingestion run and dashboard measurement.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Events per ingestion run.
    #[arg(long, default_value_t = 250_000)]
    ingest_events: usize,
    #[arg(long, value_delimiter = ',', default_values_t = [2_000, 5_000])]
    batches: Vec<usize>,
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    writers: Vec<usize>,
    /// Events of the rollup and dashboard data set (0: ingestion only).
    #[arg(long, default_value_t = 10_000_000)]
    bulk_events: usize,
    #[arg(long, default_value_t = 2)]
    bulk_loaders: usize,
    /// Days the events are spread over (ending today, UTC).
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Rollup rounds (each: fresh, then a re-run).
    #[arg(long, default_value_t = 2)]
    rollup_rounds: u32,
    #[arg(long, default_value_t = 200)]
    query_runs: usize,
    #[arg(long, default_value_t = 20)]
    query_warmup: usize,
    #[arg(long, value_delimiter = ',', default_values_t = ["acme".to_owned(), "initech".to_owned(), "hooli".to_owned()])]
    query_tenants: Vec<String>,
    /// Longest wait, before each run, for a quiet second (seconds).
    #[arg(long, default_value_t = 10.0)]
    quiet_wait: f64,
    /// Busy cores below which a second counts as quiet.
    #[arg(long, default_value_t = 0.5)]
    quiet_threshold: f64,
    /// Seconds after which the benchmark stops waiting for quiet moments.
    #[arg(long, default_value_t = 900.0)]
    budget: f64,
    /// The command line to record in the report.
    #[arg(long, default_value = "benches/analytics.sh")]
    command: String,
    /// The source measured (commit, uncommitted changes), for the report.
    #[arg(long, default_value = "unknown")]
    git_state: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("analytics_bench: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    std::fs::create_dir_all(&args.out)?;
    let file = std::fs::File::create(args.out.join("results.jsonl"))?;
    let store = PostgresStore::connect(&args.database_url).await?;
    store.migrate().await?;
    ingest::prepare(store.pool()).await?;
    let last = Utc::now().date_naive();
    let first = last - Days::new(u64::from(args.days.saturating_sub(1)));
    store
        .ensure_partitions(first, args.days.saturating_sub(1))
        .await?;
    let context = Context::gather(
        store.pool(),
        &args.command,
        &args.git_state,
        args.rounds,
        (args.quiet_wait, args.quiet_threshold),
    )
    .await?;
    let out = args.out.clone();
    let mut bench = Bench {
        url: args.database_url.clone(),
        settings: Settings {
            rounds: args.rounds,
            ingest_events: args.ingest_events,
            batches: args.batches,
            writers: args.writers,
            bulk_events: args.bulk_events,
            bulk_loaders: args.bulk_loaders,
            days: args.days,
            rollup_rounds: args.rollup_rounds,
            query_runs: args.query_runs,
            query_warmup: args.query_warmup,
            query_tenants: args.query_tenants,
            quiet_wait: args.quiet_wait,
            quiet_threshold: args.quiet_threshold,
            budget: args.budget,
        },
        store,
        first,
        last,
        started: Instant::now(),
        lines: Vec::new(),
        file,
    };
    let events = bench.ingestion().await?;
    if bench.settings.bulk_events > 0 {
        let tenants = bench.rollup().await?;
        bench.dashboard(&tenants, events).await?;
    }
    let markdown = report::render(&context, &bench.lines, bench.started.elapsed());
    std::fs::write(out.join("report.md"), markdown)?;
    eprintln!(
        "analytics_bench: done in {:.0} s; load {}",
        bench.started.elapsed().as_secs_f64(),
        machine::loadavg()
    );
    Ok(())
}
