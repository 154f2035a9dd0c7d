//! The Markdown section for `benches/RESULTS.md`, from the result lines of one run:
//! the facts and targets here, the three parts in their own modules;
//! medians over the rounds (with the spread), the load and the CPU others used next
//! to every figure, the targets, and the query plans as evidence.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use super::machine;
use super::Error;

mod dashboard;
mod ingest;
mod rollup;

/// Ingestion target, events per second through `PostgresStore::write`.
pub const INGEST_TARGET: f64 = 50_000.0;
/// Dashboard target: p95 in milliseconds.
pub const P95_TARGET_MS: f64 = 50.0;

/// The facts of the run that are not measurements.
pub struct Context {
    date: String,
    command: String,
    git_state: String,
    rounds: u32,
    quiet: (f64, f64),
    machine: Value,
    postgres: Vec<(String, String)>,
    load_at_start: String,
}

impl Context {
    pub async fn gather(
        pool: &PgPool,
        command: &str,
        git_state: &str,
        rounds: u32,
        quiet: (f64, f64),
    ) -> Result<Context, Error> {
        let mut postgres = Vec::new();
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(pool)
            .await?;
        postgres.push(("version".to_owned(), version));
        for name in [
            "shared_buffers",
            "work_mem",
            "max_wal_size",
            "synchronous_commit",
            "fsync",
            "wal_level",
            "max_parallel_workers_per_gather",
        ] {
            let value: String = sqlx::query_scalar("SELECT current_setting($1)")
                .bind(name)
                .fetch_one(pool)
                .await?;
            postgres.push((name.to_owned(), value));
        }
        Ok(Context {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            command: command.to_owned(),
            git_state: git_state.to_owned(),
            rounds,
            quiet,
            machine: machine::facts(),
            postgres,
            load_at_start: machine::loadavg(),
        })
    }
}

pub(super) fn num(line: &Value, key: &str) -> f64 {
    line.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

pub(super) fn cpu(line: &Value, key: &str) -> f64 {
    line.get("cpu")
        .and_then(|c| c.get(key))
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub(super) fn spread(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", thousands(min), thousands(max))
}

/// `1234567.8` as `1,234,568`.
pub(super) fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

pub(super) fn select<'a>(lines: &'a [Value], phase: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l.get("phase").and_then(Value::as_str) == Some(phase))
        .collect()
}

pub(super) fn text<'a>(line: &'a Value, key: &str) -> &'a str {
    line.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn loads(lines: &[&Value]) -> (f64, f64) {
    (
        median(lines.iter().map(|l| cpu(l, "load1_before")).collect()),
        median(lines.iter().map(|l| cpu(l, "others_cores")).collect()),
    )
}

pub fn render(context: &Context, lines: &[Value], took: Duration) -> String {
    let mut md = String::new();
    let m = &context.machine;
    let pg: Vec<String> = context
        .postgres
        .iter()
        .skip(1)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(md, "## Analytics (issue 4)\n");
    let _ = writeln!(
        md,
        "Measured {} on {} cores ({}), {} GiB RAM, Linux {}; PostgreSQL {} on loopback, \
         server settings as found ({}). Load average at the start: {}. The machine is \
         shared with other builds and tests: every figure has the 1-minute load average \
         before it (`load1`) and the CPU other processes used during it (`others`, in \
         cores, from /proc: all CPU minus this process and its own Postgres backends, so \
         Postgres' own background and parallel workers count as others). Before each \
         configuration the benchmark waits up to {} s for a second with under {} busy \
         cores.\n",
        context.date,
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or(""),
        m["mem_gib"],
        m["kernel"].as_str().unwrap_or(""),
        context.postgres.first().map_or("", |(_, v)| v.as_str()),
        pg.join(", "),
        context.load_at_start,
        context.quiet.0,
        context.quiet.1,
    );
    let _ = writeln!(
        md,
        "Command: `{}` (the whole run took {:.0} s), on {}. Figures are medians of {} \
         rounds unless marked; the raw lines are in the run's `results.jsonl`.\n",
        context.command,
        took.as_secs_f64(),
        context.git_state,
        context.rounds
    );
    targets(&mut md, lines);
    ingest::section(&mut md, lines);
    rollup::section(&mut md, lines);
    dashboard::section(&mut md, lines);
    dashboard::plans(&mut md, lines);
    md
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "**pass**"
    } else {
        "**miss**"
    }
}

fn targets(md: &mut String, lines: &[Value]) {
    let _ = writeln!(md, "### Targets\n");
    let _ = writeln!(md, "| Target | Measured | Result |\n|---|---|---|");
    if let Some((rate, batch, writers)) = ingest::best(lines, "store") {
        let _ = writeln!(
            md,
            "| Ingestion through `PostgresStore::write` ≥ {} events/s | {} events/s (best configuration: batch {batch}, {writers} writer(s)) | {} |",
            thousands(INGEST_TARGET),
            thousands(rate),
            verdict(rate >= INGEST_TARGET)
        );
    }
    if let Some((rate, batch, _)) = ingest::best(lines, "writer") {
        let _ = writeln!(
            md,
            "| The same rate through the batching `Writer` end to end (measured where practical) | {} events/s (best: batch {batch}) | {} |",
            thousands(rate),
            verdict(rate >= INGEST_TARGET)
        );
    }
    let idle = dashboard::medians(lines, false);
    let worst = idle
        .iter()
        .filter(|row| row.1 == "summary" || row.1 == "daily_series")
        .max_by(|a, b| a.3[1].total_cmp(&b.3[1]));
    if let Some(worst) = worst {
        let _ = writeln!(
            md,
            "| Dashboard p95 ≤ {P95_TARGET_MS} ms (`summary`, `daily_series`, 30 days, as the tenant) | worst p95 {:.2} ms ({} `{}`) | {} |",
            worst.3[1],
            worst.0,
            worst.1,
            verdict(worst.3[1] <= P95_TARGET_MS)
        );
    }
    let _ = writeln!(md);
}
