//! `loadgen`: the load generator behind `benches/overhead.sh`.
//!
//! `loadgen run` offers one kind of load to one target (the mock provider directly,
//! nginx in front of it, or the gateway in front of it), as an OpenAI chat client
//! (`--api chat`, the default) or an Anthropic Messages client (`--api messages`),
//! and prints one JSON line on standard output and a human summary on standard error:
//! * `--mode fixed`: `--rate` requests per second on a fixed timeline (open loop),
//!   latency percentiles measured from each request's scheduled time;
//! * `--mode max`: `--connections` connections sending back to back (closed loop),
//!   throughput and latency percentiles;
//! * `--mode stream`: `--rate` streamed requests per second (open loop), time to the
//!   first body bytes (the first SSE event) and the whole stream read to its end
//!   (`data: [DONE]` for chat, `event: message_stop` for messages).
//!
//! Failed requests (non-200, broken connections, timeouts, streams without their
//! end) are counted by kind in `errors`, never dropped.
//!
//! `loadgen report FILE` reads the JSON lines of several runs and prints the
//! comparison (added latency, throughput ratio, targets) as Markdown.
//!
//! `loadgen adversarial` sends adversarial 1-4 MB prompts from a few clients and
//! checks every answer (see `adversarial.rs`, driven by `benches/adversarial.sh`).

mod adversarial;
mod api;
mod client;
mod report;
mod runner;
mod stats;

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use hyper::header::HeaderValue;
use hyper::Uri;
use serde_json::json;

use crate::api::Api;
use crate::client::Template;
use crate::runner::{Error, Plan};
use crate::stats::{human, summary, Recorder};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for the gateway overhead benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load one target; one JSON line on stdout, a summary on stderr.
    Run(RunArgs),
    /// Compare the runs in a JSON-lines file; Markdown on stdout.
    Report(report::ReportArgs),
    /// Adversarial prompts from a few clients, back to back; one JSON line on stdout.
    Adversarial(adversarial::AdversarialArgs),
    /// Summarize `benches/adversarial.sh`'s JSON lines; Markdown on stdout.
    AdversarialReport(adversarial::ReportArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Open loop at `--rate` requests per second.
    Fixed,
    /// Closed loop: as fast as `--connections` connections allow.
    Max,
    /// Open loop at `--rate` streamed requests per second.
    Stream,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Fixed => "fixed",
            Mode::Max => "max",
            Mode::Stream => "stream",
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// Name of the target in the output (e.g. direct, nginx, gateway).
    #[arg(long, default_value = "target")]
    label: String,
    /// Full URL of the endpoint (plain HTTP), or `http://host:port` alone for the
    /// API's standard path (`/v1/chat/completions`, `/v1/messages`).
    #[arg(long)]
    url: String,
    /// The client format: OpenAI chat completions or Anthropic Messages.
    #[arg(long, value_enum, default_value = "chat")]
    api: Api,
    /// Key sent as `Authorization: Bearer` (chat) or `x-api-key` (messages), read
    /// from the environment to keep it out of process listings.
    #[arg(long, env = "LOADGEN_KEY", hide_env_values = true, default_value = "")]
    key: String,
    /// Model named in the request body.
    #[arg(long, default_value = "mock")]
    model: String,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Requests (or streams) per second, for `fixed` and `stream`.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Keep-alive connections (opened before the run starts).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Runtime worker threads for the load generator itself.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds before an unanswered request counts as a timeout.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Round number copied to the output, for benchmarks that repeat each run.
    #[arg(long, default_value_t = 1)]
    round: u32,
    /// Name of the series in the output's `mode` field instead of the mode's own
    /// (e.g. `fixed10k`, a fixed-rate run at another rate reported apart).
    #[arg(long)]
    series: Option<String>,
}

fn template(args: &RunArgs, stream: bool) -> Result<Template, Error> {
    target(
        &args.url,
        args.api,
        &args.key,
        args.api.body(&args.model, stream),
        stream,
    )
}

/// A request of `api` to `url` (its standard path if the URL has none) with
/// `key` and `body`.
fn target(url: &str, api: Api, key: &str, body: Bytes, stream: bool) -> Result<Template, Error> {
    let uri: Uri = url.parse()?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs are supported".into());
    }
    let authority = uri.authority().ok_or("the URL has no host")?;
    let port = authority.port_u16().unwrap_or(80);
    let addr = (authority.host(), port)
        .to_socket_addrs()?
        .next()
        .ok_or("the URL's host does not resolve")?;
    let path = match uri.path_and_query().map(|p| p.as_str()) {
        None | Some("" | "/") => api.path(),
        Some(path) => path,
    };
    Ok(Template {
        addr,
        uri: path.parse()?,
        host: HeaderValue::from_str(authority.as_str())?,
        api,
        credential: api.credential(key)?,
        body,
        stream,
    })
}

fn seconds(value: f64, name: &str) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("--{name} must be >= 0").into())
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`.
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`, which may contain spaces: utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

async fn run(args: &RunArgs) -> Result<Recorder, Error> {
    let plan = Plan {
        template: Arc::new(template(args, matches!(args.mode, Mode::Stream))?),
        connections: args.connections.max(1),
        warmup: seconds(args.warmup, "warmup")?,
        duration: seconds(args.duration, "duration")?,
        timeout: seconds(args.timeout, "timeout")?,
    };
    match args.mode {
        Mode::Fixed | Mode::Stream => runner::open_loop(&plan, args.rate).await,
        Mode::Max => runner::closed_loop(&plan).await,
    }
}

/// Seconds after the start of the measurement by which 99% of its answers had
/// ended (open loop); `None` without answers.
fn span_99(recorder: &Recorder) -> Option<f64> {
    (!recorder.ends.is_empty()).then(|| recorder.ends.value_at_quantile(0.99) as f64 / 1e9)
}

/// Answers per second as the server gave them: 99% of the answers over the time
/// it took to give them (never shorter than 99% of the measured seconds). Below
/// the offered rate when the server fell behind, even if every request was
/// answered in the end; one slow answer at the end does not change it.
fn achieved_per_s(ok: u64, duration: f64, span_99: Option<f64>) -> Option<f64> {
    let seconds = span_99?.max(0.99 * duration);
    (seconds > 0.0).then(|| (0.99 * ok as f64 / seconds * 10.0).round() / 10.0)
}

fn print_run(args: &RunArgs, recorder: &Recorder, cpu: Option<f64>, wall: Duration) {
    let span = span_99(recorder);
    let stream = matches!(args.mode, Mode::Stream);
    let rps = recorder.ok as f64 / args.duration.max(f64::MIN_POSITIVE);
    let mut line = json!({
        "kind": "run",
        "label": args.label,
        "mode": args.series.as_deref().unwrap_or(args.mode.name()),
        "round": args.round,
        "url": args.url,
        "api": args.api.name(),
        "model": args.model,
        "rate": if matches!(args.mode, Mode::Max) { None } else { Some(args.rate) },
        "connections": args.connections,
        "threads": args.threads,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "requests": recorder.ok + recorder.error_total(),
        "ok": recorder.ok,
        "error_total": recorder.error_total(),
        "errors": recorder.errors,
        "reconnects": recorder.reconnects,
        "answered_all": recorder.answered_all,
        "unanswered_all": recorder.unanswered_all,
        "ok_per_s": (rps * 10.0).round() / 10.0,
        "achieved_per_s": achieved_per_s(recorder.ok, args.duration, span),
        "answer_span_99_s": span.map(|s| (s * 1000.0).round() / 1000.0),
        "latency_ms": summary(&recorder.latency),
        "service_ms": summary(&recorder.service),
        "wait_ms": summary(&recorder.wait),
        "loadgen_cpu_s": cpu,
        "wall_s": wall.as_secs_f64(),
    });
    if stream {
        line["ttfb_ms"] = summary(&recorder.first_byte);
    }
    println!("{line}");

    let load = match args.mode {
        Mode::Max => format!("max, {} connections", args.connections),
        Mode::Fixed => format!("{}/s, {} connections", args.rate, args.connections),
        Mode::Stream => format!("{} streams/s, {} connections", args.rate, args.connections),
    };
    eprintln!(
        "[{} {} {} | {load} | {}s] {} requests: {} ok ({rps:.0}/s), {} errors {:?}, {} reconnects",
        args.label,
        args.api.name(),
        args.mode.name(),
        args.duration,
        recorder.ok + recorder.error_total(),
        recorder.ok,
        recorder.error_total(),
        recorder.errors,
        recorder.reconnects,
    );
    if stream {
        eprintln!("  ttfb     {}", human(&recorder.first_byte));
    }
    eprintln!("  latency  {}", human(&recorder.latency));
    eprintln!("  service  {}", human(&recorder.service));
    if !matches!(args.mode, Mode::Max) {
        eprintln!("  wait     {}", human(&recorder.wait));
    }
}

fn run_command(args: &RunArgs) -> ExitCode {
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    match runtime.block_on(run(args)) {
        Ok(recorder) => {
            let cpu = own_cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| ((after - before) * 100.0).round() / 100.0);
            print_run(args, &recorder, cpu, started.elapsed());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {} {}: {error}", args.label, args.mode.name());
            ExitCode::FAILURE
        }
    }
}

fn adversarial_command(args: &adversarial::AdversarialArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = target(args.url(), Api::Chat, args.key(), Bytes::new(), false)
        .and_then(|template| runtime.block_on(adversarial::run(args, template)));
    match outcome {
        Ok(line) => {
            println!("{line}");
            eprintln!(
                "[adversarial] {} prompts, {} without a clear answer: {}",
                line["requests"], line["unclear"], line["answers"]
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: adversarial: {error}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Report(args) => report::main(&args),
        Command::Adversarial(args) => adversarial_command(&args),
        Command::AdversarialReport(args) => adversarial::report(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_server_that_falls_behind_achieves_less_than_offered() {
        // 99% of 10 s of requests answered within 99% of 10 s: the offered rate.
        assert_eq!(achieved_per_s(10_000, 10.0, Some(9.9)), Some(1000.0));
        assert_eq!(achieved_per_s(10_000, 10.0, Some(5.0)), Some(1000.0));
        // 99% of them only 2 s later: 9,900 in 11.9 s.
        assert_eq!(achieved_per_s(10_000, 10.0, Some(11.9)), Some(831.9));
        assert_eq!(achieved_per_s(10, 10.0, None), None);
        let mut recorder = Recorder::new().unwrap();
        assert_eq!(span_99(&recorder), None);
        for ms in 1..=1000u64 {
            recorder.ends.record(ms * 10_000_000).unwrap();
        }
        // One answer 60 s late moves nothing.
        recorder.ends.record(60_000_000_000).unwrap();
        let span = span_99(&recorder).unwrap();
        assert!((9.89..=9.92).contains(&span), "{span}");
    }

    #[test]
    fn templates_come_from_urls() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "run",
            "--url",
            "http://127.0.0.1:9000/v1/chat/completions",
            "--mode",
            "fixed",
            "--key",
            "k",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not a run");
        };
        let t = template(&args, false).unwrap();
        assert_eq!(t.addr.port(), 9000);
        assert_eq!(t.uri.path(), "/v1/chat/completions");
        assert_eq!(t.host, "127.0.0.1:9000");
        assert_eq!(t.api, Api::Chat);
        assert_eq!(t.credential.0, "authorization");
        assert_eq!(t.credential.1, "Bearer k");
        let mut bad = args;
        bad.url = "https://127.0.0.1/x".to_owned();
        assert!(template(&bad, false).is_err());
    }

    #[test]
    fn messages_clients_send_anthropic_requests() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "run",
            "--url",
            "http://127.0.0.1:9000",
            "--api",
            "messages",
            "--mode",
            "stream",
            "--model",
            "via-x",
            "--key",
            "k",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not a run");
        };
        let t = template(&args, true).unwrap();
        // No path: the API's own.
        assert_eq!(t.uri.path(), "/v1/messages");
        let request = t.request().unwrap();
        assert_eq!(request.headers()["x-api-key"], "k");
        assert_eq!(request.headers()["anthropic-version"], "2023-06-01");
        assert!(request.headers().get("authorization").is_none());
        let body: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
        assert_eq!(body["model"], "via-x");
        assert_eq!(body["stream"], true);
        assert_eq!(body["max_tokens"], 256);
        // A URL with a path is taken as it is.
        let mut args = args;
        args.url = "http://127.0.0.1:9000/x/v1/messages".to_owned();
        assert_eq!(template(&args, false).unwrap().uri.path(), "/x/v1/messages");
    }
}
