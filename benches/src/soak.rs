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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn config(args: &ConfigArgs) -> Result<(), Error> {
    let salt = fastrand::u64(..);
    let mut keys = String::new();
    let mut out = format!(
        "[server]\nlisten = \"{}\"\nlog = \"warn\"\n\n\
         [analytics]\nsqlite_path = \"{dir}/analytics.sqlite\"\nspill_path = \"{dir}/events.spill\"\n\n\
         [[providers]]\nname = \"mock\"\ncatalog = \"openai\"\nbase_url = \"{}\"\n",
        args.listen,
        args.mock,
        dir = args.data_dir.display()
    );
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
}

impl Window {
    fn new() -> Result<Window, Error> {
        Ok(Window {
            latency: Histogram::new_with_bounds(1_000, 600_000_000_000, 3)?,
            ok: 0,
            errors: BTreeMap::new(),
        })
    }
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
        .filter(|id| !id.contains("embedding"))
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
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut connection: Option<Connection> = None;
            while Instant::now() < end {
                ticks.tick().await;
                let i = sequence.fetch_add(1, Ordering::Relaxed);
                let key = &keys[fastrand::usize(..keys.len())];
                let model = if i % 100 == 99 {
                    format!("soak-made-up-model-{i}")
                } else {
                    models[fastrand::usize(..models.len())].clone()
                };
                let Ok(credential) = Api::Chat.credential(key) else {
                    continue;
                };
                let template = Template {
                    addr,
                    uri: Uri::from_static("/v1/chat/completions"),
                    host: host.clone(),
                    api: Api::Chat,
                    credential,
                    body: Api::Chat.body(&model, false),
                    stream: false,
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
                match outcome {
                    Outcome::Ok { first_byte } => {
                        window.ok += 1;
                        let nanos =
                            u64::try_from((first_byte - sent).as_nanos()).unwrap_or(u64::MAX);
                        window.latency.saturating_record(nanos);
                    }
                    // The made-up models are meant to be refused.
                    Outcome::Status(404) if i % 100 == 99 => window.ok += 1,
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
    let mut next = started;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let elapsed = started.elapsed().as_secs();
        let rss = rss_kb(args.pid).ok_or("the gateway process is gone")?;
        let metrics = get(addr, "/metrics", None).await.unwrap_or_default();
        let (ok, errors, p50, p99) = {
            let mut window = window.lock().map_err(|_| "poisoned")?;
            let taken = std::mem::replace(&mut *window, Window::new()?);
            let p = |q: f64| taken.latency.value_at_quantile(q) as f64 / 1e6;
            (taken.ok, taken.errors, p(0.5), p(0.99))
        };
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
                "p50_ms": (p50 * 100.0).round() / 100.0,
                "p99_ms": (p99 * 100.0).round() / 100.0,
            })
        );
        if Instant::now() >= end {
            break;
        }
        next += Duration::from_secs(args.sample.max(1));
    }
    for worker in workers {
        let _ = worker.await;
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
    fn reads_metric_values() {
        let text = "# TYPE gateway_counter_keys gauge\ngateway_counter_keys 42\ngateway_counter_keys_evicted_total 3\n";
        assert_eq!(metric(text, "gateway_counter_keys"), Some(42));
        assert_eq!(metric(text, "gateway_counter_keys_evicted_total"), Some(3));
        assert_eq!(metric(text, "gateway_missing"), None);
    }
}
