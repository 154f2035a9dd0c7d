//! `operator_bench`: the operator's view over many tenants (issue 11), run by
//! `benches/operator.sh` against a throwaway Postgres database.
//!
//! 1. Fills the database: `--tenants` synthetic tenants, each with `--keys`
//!    keys in `--teams` teams and `--models` requested models, one
//!    `usage_daily` row per (day, key, model) over `--days` days ending today
//!    (written straight into the rollup table, as the rollup would leave it:
//!    the view reads nothing else), and an ROI promise for every third tenant.
//! 2. Cold read: `Store::operator_usage` + `Store::latest_promises` called
//!    directly, `--cold-runs` times (what the view costs when its 30-second
//!    copy is stale).
//! 3. The API: a gateway (this binary's release build of the library) on
//!    loopback with every tenant's keys and team budgets in its key table;
//!    `GET /api/v1/admin/operator/tenants` `--runs` times with an admin key,
//!    one client, back to back, cycling through sort columns, both periods and
//!    a filter; the first call (which reads the store) is reported apart.
//!
//! Prints a Markdown section (p50/p95/p99/max) on stdout.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use analytics::promises::NewPromise;
use analytics::store::Store;
use chrono::{Datelike, Utc};
use clap::Parser;
use gateway::keys::{self, KeyHash};
use pricing::Cost;

#[derive(Parser)]
#[command(name = "operator_bench", about = "Operator view benchmark (issue 11)")]
struct Args {
    /// Database to fill (created empty by the script; migrated here).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 1_000)]
    tenants: u32,
    #[arg(long, default_value_t = 60)]
    days: u32,
    #[arg(long, default_value_t = 4)]
    keys: u32,
    #[arg(long, default_value_t = 2)]
    teams: u32,
    #[arg(long, default_value_t = 3)]
    models: u32,
    #[arg(long, default_value_t = 20)]
    cold_runs: usize,
    #[arg(long, default_value_t = 500)]
    runs: usize,
}

type Error = Box<dyn std::error::Error>;

/// One `usage_daily` row per tenant, day, key and model; numbers vary by tenant
/// and day so trends and flags differ between tenants.
const FILL: &str = "
INSERT INTO usage_daily (tenant_id, day, key_id, team, requested_model, routed_provider,
    routed_model, requests, errors, prompt_tokens, completion_tokens, cached_tokens,
    cost_usd, baseline_usd, savings_usd, latency_ms_sum, latency_count, failovers, unpriced)
SELECT 't' || lpad(t::text, 5, '0'), current_date - d, 't' || t || '-k' || k, 'team' || (k % $4),
    'model-' || m, 'openai', 'model-' || m || '-mini', r, r / 40, r * 900, r * 120, 0,
    (r * 0.0012345)::numeric(30,12), (r * 0.0031)::numeric(30,12),
    (r * (0.0031 - 0.0012345))::numeric(30,12), r * 300, r, 0, 0
FROM generate_series(1, $1) t, generate_series(0, $2 - 1) d, generate_series(1, $3) k,
    generate_series(1, $5) m,
    LATERAL (SELECT (5 + (t * 7 + d * (1 + t % 3) + k * 11 + m) % 90)::bigint AS r) x";

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn line(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    format!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        samples.len(),
        percentile(&samples, 50),
        percentile(&samples, 95),
        percentile(&samples, 99),
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    )
}

/// The gateway's config: one (unused) provider, an admin key, every tenant's
/// API keys and its teams with budgets.
fn config(args: &Args, admin: &str) -> String {
    let mut text = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[[providers]]\nname = \"none\"\n\
         base_url = \"http://127.0.0.1:9/v1\"\n\n[[models]]\nname = \"model-1\"\n\
         provider = \"none\"\nupstream_model = \"model-1\"\nendpoint = \"chat\"\n",
    );
    text.push_str(&format!(
        "\n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"ops\"\nrole = \"admin\"\n",
        KeyHash::of(admin)
    ));
    for t in 1..=args.tenants {
        for team in 0..args.teams {
            text.push_str(&format!(
                "\n[[teams]]\ntenant = \"t{t:05}\"\nid = \"team{team}\"\nbudget_daily_usd = \"{}\"\n",
                1 + t % 7
            ));
        }
        for k in 1..=args.keys {
            let key = format!("bench-{t}-{k}");
            text.push_str(&format!(
                "\n[[keys]]\nid = \"t{t}-k{k}\"\nhash = \"{}\"\ntenant = \"t{t:05}\"\nteam = \"team{}\"\n",
                KeyHash::of(&key),
                k % args.teams
            ));
        }
    }
    text
}

async fn fill(store: &Store, args: &Args) -> Result<(), Error> {
    let Store::Postgres(pg) = store else {
        return Err("not a Postgres store".into());
    };
    let started = Instant::now();
    let done = sqlx::query(FILL)
        .bind(i64::from(args.tenants))
        .bind(i32::try_from(args.days)?)
        .bind(i64::from(args.keys))
        .bind(i64::from(args.teams))
        .bind(i64::from(args.models))
        .execute(pg.pool())
        .await?;
    sqlx::query("ANALYZE usage_daily")
        .execute(pg.pool())
        .await?;
    eprintln!(
        "filled usage_daily: {} rows in {:.1} s",
        done.rows_affected(),
        started.elapsed().as_secs_f64()
    );
    let month = Utc::now().date_naive().with_day(1).ok_or("no 1st")?;
    for t in (1..=args.tenants).step_by(3) {
        let new = NewPromise {
            created_at_ms: 0,
            created_by: "bench".to_owned(),
            start_month: month,
            seats: i64::from(args.keys),
            fee_monthly: Cost::parse_usd("49")?,
            promised_gross_monthly: Cost::parse_usd("150")?,
            inputs: "{}".to_owned(),
        };
        store.save_promise(&format!("t{t:05}"), new).await?;
    }
    Ok(())
}

async fn run(args: Args) -> Result<String, Error> {
    let store = Store::open_postgres(&args.database_url).await?;
    fill(&store, &args).await?;
    let today = Utc::now().date_naive();

    let mut cold = Vec::with_capacity(args.cold_runs);
    let mut tenants = 0;
    for _ in 0..args.cold_runs {
        let started = Instant::now();
        tenants = store.operator_usage(today).await?.len();
        store.latest_promises().await?;
        cold.push(started.elapsed());
    }

    let admin = keys::mint().map_err(|e| format!("randomness: {e}"))?;
    let spill = std::env::temp_dir().join(format!("operator-bench-{}.spill", &admin[6..14]));
    let text = config(&args, &admin)
        + &format!(
            "\n[analytics]\ndatabase_url = \"{}\"\nspill_path = \"{}\"\n",
            args.database_url,
            spill.display()
        );
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None)?;
    let gateway = gateway::server::start(&config).await?;
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/v1/admin/operator/tenants", gateway.addr);
    let queries = [
        "?days=30",
        "?days=7&sort=health_score&order=asc",
        "?days=30&sort=requests",
        "?days=7&sort=tenant",
        "?days=30&flag=churn_risk",
        "?days=30&q=t004",
        "?days=7&sort=adoption_pct",
    ];
    let mut first = Vec::new();
    let mut warm = Vec::with_capacity(args.runs);
    let mut bytes = 0;
    for i in 0..=args.runs {
        let started = Instant::now();
        let response = client
            .get(format!("{url}{}", queries[i % queries.len()]))
            .bearer_auth(&admin)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = started.elapsed();
        if !status.is_success() {
            return Err(format!("status {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        if i == 0 {
            bytes = body.len();
            first.push(took);
        } else {
            warm.push(took);
        }
    }
    gateway.shutdown().await;
    let rows = i64::from(args.tenants)
        * i64::from(args.days)
        * i64::from(args.keys)
        * i64::from(args.models);
    Ok([
        format!(
            "Data: {} tenants with traffic ({} listed with `ops`), {} days, {} keys in {} teams and {} models each: {rows} `usage_daily` rows; a promise for every third tenant. The full JSON list (days=30) is {bytes} bytes.\n",
            tenants,
            tenants + 1,
            args.days,
            args.keys,
            args.teams,
            args.models
        ),
        "| what | runs | p50 ms | p95 ms | p99 ms | max ms |".to_owned(),
        "|---|---:|---:|---:|---:|---:|".to_owned(),
        line("store read, cold (`operator_usage` + `latest_promises`, direct)", cold),
        line("HTTP list, first call (reads the store)", first),
        line("HTTP list, served (30-s copy; sorts, filters, both periods)", warm),
    ]
    .join("\n"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("operator_bench: {error}");
            ExitCode::FAILURE
        }
    }
}
