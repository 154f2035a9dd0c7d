//! `soak`: the memory soak behind `benches/soak.sh`. A gateway without Redis
//! keeps its real-time counters in process; this drives it for a long time with
//! many distinct counter keys and samples its resident memory, which must level
//! off once every key exists and then stay flat.
//!
//! * `soak config` prints a gateway config: one mock provider serving the
//!   catalog's OpenAI models, `--keys` API keys spread over `--tenants` tenants,
//!   the embedded store in `--data-dir`; the keys go to `--keys-file`.
//! * `soak run` sends `--rate` chat requests per second (open loop, over
//!   `--connections` keep-alive connections) for `--duration` seconds, each from
//!   a random key, for a random model of `GET /v1/models` (one in a hundred for a
//!   made-up model name, which must land in one `(unknown)` bucket), and every
//!   `--sample` seconds prints one JSON line: the gateway's RSS (`/proc/PID`),
//!   its in-process counter keys (`/metrics`), requests and latency. At the end a
//!   summary line: RSS at start, after `--warmup`, at the end, and the slope of a
//!   least-squares line through the samples after the warm-up.
//!
//! With `--mixed` (both commands; see `soak/mixed.rs`) the soak is the traffic of
//! a deployment on Postgres + Redis (`--database-url`, `--redis-url`): streams,
//! failovers, upstream errors and refusals from `--users` distinct users, one JSON
//! line a minute with that minute's latency percentiles, and in the summary the
//! requests the gateway answered (each must leave one usage event), RSS growth
//! after the first minute and how flat the per-minute percentiles were.

#[expect(
    dead_code,
    reason = "the soak is an OpenAI chat client; loadgen also speaks Messages"
)]
mod api;
#[path = "client.rs"]
#[expect(
    dead_code,
    reason = "the soak sends small bodies only; the adversarial run uses the rest"
)]
mod client;
#[path = "soak/mixed.rs"]
mod mixed;
#[path = "soak/verdict.rs"]
mod verdict;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::json;
use sha2::{Digest, Sha256};

use api::Api;
use client::{open_with_retry, Connection, Outcome, Template};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "soak", about = "Memory soak of the gateway without Redis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a gateway config for the soak; write its keys to `--keys-file`.
    Config(ConfigArgs),
    /// Drive the gateway and sample its memory; JSON lines on stdout.
    Run(RunArgs),
    /// The mixed soak's verdict lines from its JSON lines (with the events counted).
    Verdict(verdict::VerdictArgs),
}

#[derive(Args)]
struct ConfigArgs {
    #[arg(long)]
    listen: SocketAddr,
    /// Base URL of the mock provider, e.g. http://127.0.0.1:9000/v1.
    #[arg(long)]
    mock: String,
    /// Where the embedded store and spill file go.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    keys_file: PathBuf,
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    #[arg(long, default_value_t = 50)]
    tenants: usize,
    /// Postgres URL of the usage store instead of the embedded one.
    #[arg(long)]
    database_url: Option<String>,
    /// Redis URL of the shared counters instead of in-process ones.
    #[arg(long)]
    redis_url: Option<String>,
    /// Add the failing provider and models the mixed run asks for.
    #[arg(long)]
    mixed: bool,
}

#[derive(Args)]
struct RunArgs {
    /// The gateway, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    gateway: String,
    #[arg(long)]
    keys_file: PathBuf,
    /// The gateway's process id, for its RSS.
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seconds of load.
    #[arg(long, default_value_t = 3600)]
    duration: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 60)]
    sample: u64,
    /// Seconds after which memory must be flat (samples before it are not in the slope).
    #[arg(long, default_value_t = 600)]
    warmup: u64,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// The mixed traffic of `soak/mixed.rs` (the config must be `--mixed` too).
    #[arg(long)]
    mixed: bool,
    /// Distinct `user` fields sent (mixed only).
    #[arg(long, default_value_t = 1000)]
    users: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(args) => config(&args),
        Command::Run(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::from)
            .and_then(|runtime| runtime.block_on(run(&args))),
        Command::Verdict(args) => verdict_command(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the verdict lines; fails when one point is missed.
fn verdict_command(args: &verdict::VerdictArgs) -> Result<(), Error> {
    let text = std::fs::read_to_string(args.file())?;
    let (lines, all) = verdict::lines(&text, args)?;
    for line in lines {
        println!("{line}");
    }
    if all {
        Ok(())
    } else {
        Err("some points of the soak missed".into())
    }
}

fn config(args: &ConfigArgs) -> Result<(), Error> {
    let salt = fastrand::u64(..);
    let mut keys = String::new();
    let dir = args.data_dir.display();
    let store = match &args.database_url {
        Some(url) => format!("database_url = \"{url}\"\n"),
        None => format!("sqlite_path = \"{dir}/analytics.sqlite\"\n"),
    };
    let counters = args
        .redis_url
        .as_ref()
        .map_or_else(String::new, |url| format!("redis_url = \"{url}\"\n"));
    let mut out = format!(
        "[server]\nlisten = \"{}\"\nlog = \"warn\"\n\n\
         [analytics]\n{store}{counters}spill_path = \"{dir}/events.spill\"\n\n\
         [[providers]]\nname = \"mock\"\ncatalog = \"openai\"\nbase_url = \"{}\"\n",
        args.listen, args.mock,
    );
    if args.mixed {
        out.push_str(&mixed::config_toml(&args.mock));
    }
    for i in 0..args.keys {
        let key = format!("sk-gw-soak{i:05}x{salt:016x}");
        let hash: String = Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        keys.push_str(&key);
        keys.push('\n');
        out.push_str(&format!(
            "\n[[keys]]\nid = \"soak-{i:05}\"\nhash = \"sha256:{hash}\"\ntenant = \"tenant-{:03}\"\nteam = \"team-{}\"\n",
            i % args.tenants.max(1),
            i % 7
        ));
    }
    std::fs::write(&args.keys_file, keys)?;
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

/// One plain-HTTP GET, whole body as text.
async fn get(addr: SocketAddr, path: &str, key: Option<&str>) -> Result<String, Error> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = driver.await;
    });
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, addr.to_string());
    if let Some(key) = key {
        request = request.header(AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("GET {path}: {status}").into());
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Resident set size of `pid`, KiB.
fn rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS")
}

/// One KiB figure of `/proc/PID/status`: the resident set splits into anonymous
/// memory (the heap: what a leak grows), file pages (the binary, SQLite's
/// memory-mapped reads) and shared memory (SQLite's WAL index).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// A gauge or counter value from the Prometheus text.
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// What the workers saw since the last sample.
struct Window {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// Requests answered with a status, whatever it was (each leaves one usage event).
    answered: u64,
    /// Mixed: requests by kind, and those that got the answer their kind expects.
    kinds: BTreeMap<&'static str, (u64, u64)>,
}

impl Window {
    fn new() -> Result<Window, Error> {
        Ok(Window {
            latency: Histogram::new_with_bounds(1_000, 600_000_000_000, 3)?,
            ok: 0,
            errors: BTreeMap::new(),
            answered: 0,
            kinds: BTreeMap::new(),
        })
    }

    /// Adds `other` (a shorter window) into this one.
    fn add(&mut self, other: &Window) -> Result<(), Error> {
        self.latency.add(&other.latency)?;
        self.ok += other.ok;
        self.answered += other.answered;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
        for (kind, (sent, expected)) in &other.kinds {
            let entry = self.kinds.entry(kind).or_default();
            entry.0 += sent;
            entry.1 += expected;
        }
        Ok(())
    }

    fn percentile_ms(&self, quantile: f64) -> f64 {
        let ms = self.latency.value_at_quantile(quantile) as f64 / 1e6;
        (ms * 100.0).round() / 100.0
    }
}

/// Growth from `from` to `to` in percent.
fn growth_percent(from: u64, to: u64) -> Option<f64> {
    (from > 0).then(|| ((to as f64 - from as f64) * 100.0 / from as f64 * 10.0).round() / 10.0)
}

/// How flat per-minute percentiles are: the largest over the median.
fn spread(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = *sorted.get(sorted.len() / 2)?;
    let max = *sorted.last()?;
    (median > 0.0).then(|| (max / median * 100.0).round() / 100.0)
}

/// Least-squares slope of `points` (x, y), in y per x.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    (variance > 0.0).then(|| covariance / variance)
}

async fn run(args: &RunArgs) -> Result<(), Error> {
    let uri: Uri = args.gateway.parse()?;
    let authority = uri.authority().ok_or("--gateway has no host")?.clone();
    let addr = (authority.host(), authority.port_u16().unwrap_or(80))
        .to_socket_addrs()?
        .next()
        .ok_or("--gateway does not resolve")?;
    let keys: Vec<String> = std::fs::read_to_string(&args.keys_file)?
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let first = keys.first().ok_or("no keys")?;
    let listing: serde_json::Value =
        serde_json::from_str(&get(addr, "/v1/models", Some(first)).await?)?;
    let models: Vec<String> = listing["data"]
        .as_array()
        .ok_or("no model list")?
        .iter()
        .filter_map(|m| m["id"].as_str())
        .filter(|id| mixed::plain_model(id))
        .map(str::to_owned)
        .collect();
    eprintln!(
        "soak: {} keys, {} models, {} req/s for {} s",
        keys.len(),
        models.len(),
        args.rate,
        args.duration
    );
    let keys = Arc::new(keys);
    let models = Arc::new(models);
    let window = Arc::new(Mutex::new(Window::new()?));
    let sequence = Arc::new(AtomicU64::new(0));
    let host = HeaderValue::from_str(authority.as_str())?;
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let connections = args.connections.max(1);
    let (mixed, users) = (args.mixed, args.users.max(1));
    let period = Duration::from_secs_f64(connections as f64 / args.rate.max(0.001));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (keys, models, window, sequence, host) = (
            keys.clone(),
            models.clone(),
            window.clone(),
            sequence.clone(),
            host.clone(),
        );
        workers.push(tokio::spawn(async move {
            // Spread the workers' ticks over one period.
            let offset = period.mul_f64(worker as f64 / connections as f64);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            // Skip, not Delay: a late tick must not move the worker's later ticks.
            // With Delay each late tick re-based the worker on the (millisecond)
            // timer tick it ran at, so workers merged onto shared ticks and never
            // parted: over ten minutes the arrivals grew into bursts, and the
            // latency rose with them while every process used less CPU per request.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut connection: Option<Connection> = None;
            while Instant::now() < end {
                ticks.tick().await;
                let i = sequence.fetch_add(1, Ordering::Relaxed);
                let key = &keys[fastrand::usize(..keys.len())];
                let kind = mixed.then(|| mixed::Kind::of(i));
                let model = match kind {
                    Some(kind) => mixed::model(kind, i, &models, |n| fastrand::usize(..n)),
                    None if i % 100 == 99 => format!("soak-made-up-model-{i}"),
                    None => models[fastrand::usize(..models.len())].clone(),
                };
                let stream = kind.is_some_and(mixed::Kind::stream);
                let mut body = Api::Chat.body(&model, stream);
                if mixed {
                    let user = format!("user-{:04}", fastrand::usize(..users));
                    body = mixed::with_user(&body, &user);
                }
                let Ok(credential) = Api::Chat.credential(key) else {
                    continue;
                };
                let template = Template {
                    addr,
                    uri: Uri::from_static("/v1/chat/completions"),
                    host: host.clone(),
                    api: Api::Chat,
                    credential,
                    body,
                    stream,
                };
                let sent = Instant::now();
                if let Some(open) = connection.as_mut() {
                    if !open.usable().await {
                        connection = None;
                    }
                }
                if connection.is_none() {
                    connection = open_with_retry(template.addr).await.ok();
                }
                let outcome = match connection.as_mut() {
                    Some(open) => open.exchange(&template).await,
                    None => Outcome::Broken("connect"),
                };
                let Ok(mut window) = window.lock() else { break };
                if !matches!(outcome, Outcome::Broken(_)) {
                    window.answered += 1;
                }
                if let Some(kind) = kind {
                    let status = match outcome {
                        Outcome::Ok { .. } => 200,
                        Outcome::Status(status) => status,
                        Outcome::Incomplete | Outcome::Broken(_) => 0,
                    };
                    let counts = window.kinds.entry(kind.name()).or_default();
                    counts.0 += 1;
                    if kind.expects(status) {
                        counts.1 += 1;
                    }
                }
                match outcome {
                    Outcome::Ok { first_byte } => {
                        window.ok += 1;
                        let nanos =
                            u64::try_from((first_byte - sent).as_nanos()).unwrap_or(u64::MAX);
                        window.latency.saturating_record(nanos);
                    }
                    // The made-up models are meant to be refused, the broken one to fail.
                    Outcome::Status(404) if i % 100 == 99 => window.ok += 1,
                    Outcome::Status(status) if kind.is_some_and(|k| k.expects(status)) => {
                        window.ok += 1
                    }
                    Outcome::Status(status) => {
                        *window.errors.entry(format!("status_{status}")).or_default() += 1;
                    }
                    Outcome::Incomplete => {
                        *window.errors.entry("incomplete".into()).or_default() += 1
                    }
                    Outcome::Broken(kind) => {
                        connection = None;
                        *window.errors.entry(format!("broken_{kind}")).or_default() += 1;
                    }
                }
            }
        }));
    }

    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut anon_samples: Vec<(u64, u64)> = Vec::new();
    let mut totals = (0u64, 0u64);
    let mut all = Window::new()?;
    let mut minute = Window::new()?;
    let mut minutes: Vec<(f64, f64)> = Vec::new();
    let mut rss_at_minute: Option<u64> = None;
    let mut next = started;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let elapsed = started.elapsed().as_secs();
        let rss = rss_kb(args.pid).ok_or("the gateway process is gone")?;
        let metrics = get(addr, "/metrics", None).await.unwrap_or_default();
        let taken = {
            let mut window = window.lock().map_err(|_| "poisoned")?;
            std::mem::replace(&mut *window, Window::new()?)
        };
        all.add(&taken)?;
        minute.add(&taken)?;
        let (ok, p50, p99) = (
            taken.ok,
            taken.percentile_ms(0.5),
            taken.percentile_ms(0.99),
        );
        let errors = taken.errors;
        totals.0 += ok;
        totals.1 += errors.values().sum::<u64>();
        samples.push((elapsed, rss));
        let anon = status_kb(args.pid, "RssAnon");
        if let Some(anon) = anon {
            anon_samples.push((elapsed, anon));
        }
        println!(
            "{}",
            json!({
                "kind": "sample",
                "t_s": elapsed,
                "rss_kb": rss,
                "rss_anon_kb": anon,
                "rss_file_kb": status_kb(args.pid, "RssFile"),
                "rss_shmem_kb": status_kb(args.pid, "RssShmem"),
                "counter_keys": metric(&metrics, "gateway_counter_keys"),
                "counter_keys_expired": metric(&metrics, "gateway_counter_keys_expired_total"),
                "counter_keys_evicted": metric(&metrics, "gateway_counter_keys_evicted_total"),
                "events_dropped": metric(&metrics, "gateway_events_dropped_total"),
                "ok": ok,
                "errors": errors,
                "p50_ms": p50,
                "p99_ms": p99,
            })
        );
        if elapsed >= 60 * (minutes.len() as u64 + 1) {
            if minutes.is_empty() {
                rss_at_minute = Some(rss);
            }
            let done = std::mem::replace(&mut minute, Window::new()?);
            let (p50, p99) = (done.percentile_ms(0.5), done.percentile_ms(0.99));
            minutes.push((p50, p99));
            println!(
                "{}",
                json!({
                    "kind": "minute",
                    "minute": minutes.len(),
                    "t_s": elapsed,
                    "rss_kb": rss,
                    "answered": done.answered,
                    "ok": done.ok,
                    "errors": done.errors,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "p99_9_ms": done.percentile_ms(0.999),
                })
            );
        }
        if Instant::now() >= end {
            break;
        }
        next += Duration::from_secs(args.sample.max(1));
    }
    for worker in workers {
        let _ = worker.await;
    }
    // Answers that came after the last sample (requests in flight at the end)
    // each left a usage event too: they count.
    {
        let tail = {
            let mut window = window.lock().map_err(|_| "poisoned")?;
            std::mem::replace(&mut *window, Window::new()?)
        };
        all.add(&tail)?;
        totals.0 += tail.ok;
        totals.1 += tail.errors.values().sum::<u64>();
    }
    let after_warmup: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= args.warmup)
        .map(|(t, rss)| (*t as f64 / 3600.0, *rss as f64))
        .collect();
    let anon_after_warmup: Vec<(f64, f64)> = anon_samples
        .iter()
        .filter(|(t, _)| *t >= args.warmup)
        .map(|(t, kb)| (*t as f64 / 3600.0, *kb as f64))
        .collect();
    let at_warmup = samples.iter().find(|(t, _)| *t >= args.warmup).map(|s| s.1);
    // Growth after the first minute: from the RSS then to the highest and the last after it.
    let after_minute = samples.iter().filter(|(t, _)| *t >= 60).map(|s| s.1);
    let rss_max_after_minute = after_minute.clone().max();
    let rss_end = samples.last().map(|s| s.1);
    // Minutes after the first, whose percentiles must be flat.
    let steady: Vec<(f64, f64)> = minutes.iter().skip(1).copied().collect();
    let p50s: Vec<f64> = steady.iter().map(|m| m.0).collect();
    let p99s: Vec<f64> = steady.iter().map(|m| m.1).collect();
    let kinds: serde_json::Map<String, serde_json::Value> = all
        .kinds
        .iter()
        .map(|(kind, (sent, expected))| {
            (
                (*kind).to_owned(),
                json!({"sent": sent, "expected_answer": expected}),
            )
        })
        .collect();
    let summary = json!({
        "kind": "summary",
        "duration_s": args.duration,
        "rate": args.rate,
        "keys": keys.len(),
        "models": models.len(),
        "ok": totals.0,
        "errors": totals.1,
        "rss_start_kb": samples.first().map(|s| s.1),
        "rss_after_warmup_kb": at_warmup,
        "rss_end_kb": samples.last().map(|s| s.1),
        "rss_max_after_warmup_kb": after_warmup.iter().map(|p| p.1 as u64).max(),
        "rss_min_after_warmup_kb": after_warmup.iter().map(|p| p.1 as u64).min(),
        "slope_kb_per_hour": slope(&after_warmup).map(|s| s.round()),
        "rss_anon_start_kb": anon_samples.first().map(|s| s.1),
        "rss_anon_end_kb": anon_samples.last().map(|s| s.1),
        "anon_slope_kb_per_hour": slope(&anon_after_warmup).map(|s| s.round()),
        "answered": all.answered,
        "kinds": kinds,
        "rss_after_first_minute_kb": rss_at_minute,
        "rss_growth_after_first_minute_pct": rss_at_minute.zip(rss_max_after_minute).and_then(|(a, b)| growth_percent(a, b)),
        "rss_growth_to_end_pct": rss_at_minute.zip(rss_end).and_then(|(a, b)| growth_percent(a, b)),
        "minutes": minutes.len(),
        "p50_per_minute_ms": p50s,
        "p99_per_minute_ms": p99s,
        "p50_max_over_median": spread(&p50s),
        "p99_max_over_median": spread(&p99s),
    });
    println!("{summary}");
    eprintln!("{summary}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_and_of_flat_noise() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|x| (f64::from(x), 3.0 * f64::from(x) + 7.0))
            .collect();
        assert!((slope(&line).unwrap() - 3.0).abs() < 1e-9);
        let flat = [(0.0, 5.0), (1.0, 6.0), (2.0, 4.0), (3.0, 5.0)];
        assert!(slope(&flat).unwrap().abs() < 0.5);
        assert_eq!(slope(&[(1.0, 1.0)]), None);
    }

    #[test]
    fn growth_and_spread() {
        assert_eq!(growth_percent(1000, 1049), Some(4.9));
        assert_eq!(growth_percent(1000, 900), Some(-10.0));
        assert_eq!(growth_percent(0, 5), None);
        assert_eq!(spread(&[1.0, 2.0, 4.0]), Some(2.0));
        assert_eq!(spread(&[]), None);
        let mut a = Window::new().unwrap();
        let mut b = Window::new().unwrap();
        b.answered = 3;
        b.kinds.insert("plain", (3, 2));
        b.latency.record(2_000_000).unwrap();
        a.add(&b).unwrap();
        a.add(&b).unwrap();
        assert_eq!((a.answered, a.kinds["plain"]), (6, (6, 4)));
        assert_eq!(a.percentile_ms(0.5), 2.0);
    }

    #[test]
    fn reads_metric_values() {
        let text = "# TYPE gateway_counter_keys gauge\ngateway_counter_keys 42\ngateway_counter_keys_evicted_total 3\n";
        assert_eq!(metric(text, "gateway_counter_keys"), Some(42));
        assert_eq!(metric(text, "gateway_counter_keys_evicted_total"), Some(3));
        assert_eq!(metric(text, "gateway_missing"), None);
    }
}
