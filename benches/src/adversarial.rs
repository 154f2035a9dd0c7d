//! `loadgen adversarial`: clients that send adversarial 1-4 MB prompts back to
//! back (one word of one letter, punctuation, mixed scripts, whitespace), built to
//! make exact token counting expensive, and check that every one gets a clear
//! answer: a chat completion, or an OpenAI-shaped error (`error.message`,
//! `error.type`). Anything else (a broken connection, a timeout, a body that is
//! not such JSON) is counted as `unclear`. One JSON line on stdout.
//!
//! `loadgen adversarial-report FILE` turns the lines of `benches/adversarial.sh`
//! (normal traffic with and without these clients, the clients' lines, the
//! gateway's counting metrics and panics) into the Markdown of RESULTS.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::client::{Connection, Template};
use crate::runner::Error;
use crate::stats::{summary, Recorder};

#[derive(clap::Args)]
pub struct AdversarialArgs {
    /// Full URL of the chat completions endpoint (plain HTTP).
    #[arg(long)]
    url: String,
    /// Bearer key (read from the environment to keep it out of process listings).
    #[arg(long, env = "LOADGEN_KEY", hide_env_values = true, default_value = "")]
    key: String,
    /// A model whose context window puts these prompts' byte bound near it, so
    /// that the gateway counts them.
    #[arg(long)]
    model: String,
    /// Clients, each sending its next prompt when the last is answered.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Smallest prompt text, in bytes.
    #[arg(long, default_value_t = 1_000_000)]
    min_bytes: usize,
    /// Largest prompt text, in bytes.
    #[arg(long, default_value_t = 4_000_000)]
    max_bytes: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds before an unanswered prompt counts as `unclear: timeout`.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
    /// Round number copied to the output.
    #[arg(long, default_value_t = 1)]
    round: u32,
}

/// Texts built to be worst cases for a tokenizer: one unbroken run each.
const UNITS: [(&str, &str); 4] = [
    ("word", "a"),
    ("punctuation", "!@#$%^&*()"),
    (
        "mixed_scripts",
        "日本語Ελληνικάрусскийעבריתالعربية한국어ไทยहिन्दी😀e\u{301}",
    ),
    ("whitespace", " \t \u{3000}"),
];

/// `unit` repeated to `bytes`, cut back to a character boundary.
fn fill(unit: &str, bytes: usize) -> String {
    let mut text = unit.repeat(bytes / unit.len() + 1);
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// Eight prompts: each kind at two sizes, spread from `min` to `max` bytes.
fn prompts(model: &str, min: usize, max: usize) -> Vec<(String, Bytes)> {
    let count = UNITS.len() * 2;
    (0..count)
        .map(|i| {
            let (name, unit) = UNITS[i % UNITS.len()];
            let bytes = min + (max.saturating_sub(min)) * i / (count - 1);
            let body = json!({
                "model": model,
                "messages": [{"role": "user", "content": fill(unit, bytes)}],
            });
            (format!("{name}/{bytes}"), Bytes::from(body.to_string()))
        })
        .collect()
}

/// What an answer says: `served`, `refused:<code>` or `unclear:<why>`.
fn classify(status: u16, body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return format!("unclear:status_{status}_not_json");
    };
    if status == 200 && value["object"] == "chat.completion" {
        return "served".to_owned();
    }
    let error = &value["error"];
    if status >= 400 && error["message"].is_string() && error["type"].is_string() {
        let code = error["code"].as_str().unwrap_or("no_code");
        return format!("refused:{status}:{code}");
    }
    format!("unclear:status_{status}")
}

async fn client(
    template: Template,
    prompts: Arc<Vec<(String, Bytes)>>,
    first: usize,
    end: Instant,
    timeout: Duration,
) -> Result<(Recorder, BTreeMap<String, u64>, u64), Error> {
    let mut recorder = Recorder::new()?;
    let mut answers = BTreeMap::new();
    let mut sent_bytes = 0u64;
    let mut connection: Option<Connection> = None;
    let mut next = first;
    while Instant::now() < end {
        let (_, body) = &prompts[next % prompts.len()];
        next += 1;
        let template = Template {
            body: body.clone(),
            ..template.clone()
        };
        if connection.is_none() {
            connection = Connection::open(template.addr).await.ok();
        }
        let Some(open) = connection.as_mut() else {
            *answers.entry("unclear:connect".to_owned()).or_insert(0) += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let started = Instant::now();
        let answer = match tokio::time::timeout(timeout, open.exchange_body(&template)).await {
            Ok(Ok((status, body))) => classify(status, &body),
            Ok(Err(what)) => format!("unclear:{what}"),
            Err(_) => "unclear:timeout".to_owned(),
        };
        let took = started.elapsed();
        if answer.starts_with("unclear") {
            connection = None;
        } else {
            recorder.record_ok(took, took, took, Duration::ZERO);
        }
        sent_bytes += body.len() as u64;
        *answers.entry(answer).or_insert(0) += 1;
    }
    Ok((recorder, answers, sent_bytes))
}

impl AdversarialArgs {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Runs the clients against `template`'s target; its body is replaced by each prompt.
pub async fn run(args: &AdversarialArgs, template: Template) -> Result<Value, Error> {
    let prompts = Arc::new(prompts(&args.model, args.min_bytes, args.max_bytes));
    let duration = Duration::try_from_secs_f64(args.duration)?;
    let timeout = Duration::try_from_secs_f64(args.timeout)?;
    let end = Instant::now() + duration;
    let mut clients = JoinSet::new();
    for i in 0..args.clients.max(1) {
        // Each client starts at another prompt, so sizes and kinds mix.
        let first = i * prompts.len() / args.clients.max(1);
        clients.spawn(client(
            template.clone(),
            prompts.clone(),
            first,
            end,
            timeout,
        ));
    }
    let mut latency = Recorder::new()?;
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    let mut sent_bytes = 0u64;
    while let Some(done) = clients.join_next().await {
        let (recorder, counts, bytes) = done??;
        latency.merge(&recorder)?;
        for (answer, n) in counts {
            *answers.entry(answer).or_insert(0) += n;
        }
        sent_bytes += bytes;
    }
    let total: u64 = answers.values().sum();
    let unclear: u64 = answers
        .iter()
        .filter(|(answer, _)| answer.starts_with("unclear"))
        .map(|(_, n)| n)
        .sum();
    Ok(json!({
        "kind": "adversarial",
        "round": args.round,
        "clients": args.clients,
        "min_bytes": args.min_bytes,
        "max_bytes": args.max_bytes,
        "duration_s": args.duration,
        "prompts": prompts.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "requests": total,
        "unclear": unclear,
        "answers": answers,
        "sent_mb": (sent_bytes as f64 / 1e6).round(),
        "latency_ms": summary(&latency.latency),
    }))
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// JSON-lines file written by `benches/adversarial.sh`.
    file: PathBuf,
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn cell(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.3}"))
}

/// Normal traffic's p99 may grow by this much while the adversarial clients run.
const ADDED_P99_MAX_MS: f64 = 1.0;

pub fn report(args: &ReportArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let runs = |label: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["kind"] == "run" && l["label"] == label)
            .collect()
    };
    let figure = |runs: &[&Value], path: &str| {
        median(
            runs.iter()
                .filter_map(|r| r["latency_ms"][path].as_f64())
                .collect(),
        )
    };
    let mut out = String::new();
    out.push_str("Normal traffic (median of the rounds; errors are totals):\n\n");
    out.push_str("| normal traffic | rounds | requests | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let labels = [
        ("direct", "mock directly (floor)"),
        ("quiet", "gateway, alone"),
        ("loaded", "gateway, with the adversarial clients"),
    ];
    for (label, name) in labels {
        let rs = runs(label);
        if rs.is_empty() {
            continue;
        }
        let sum = |key: &str| rs.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            rs.len(),
            sum("requests"),
            sum("error_total"),
            cell(figure(&rs, "p50")),
            cell(figure(&rs, "p90")),
            cell(figure(&rs, "p99")),
            cell(figure(&rs, "p99_9")),
            cell(figure(&rs, "max")),
        ));
    }
    // Paired by round: the loaded run minus the quiet run just before it.
    let quiet = runs("quiet");
    let loaded = runs("loaded");
    let deltas: Vec<f64> = loaded
        .iter()
        .filter_map(|l| {
            let q = quiet.iter().find(|q| q["round"] == l["round"])?;
            Some(l["latency_ms"]["p99"].as_f64()? - q["latency_ms"]["p99"].as_f64()?)
        })
        .collect();
    let added = median(deltas.clone());
    out.push_str(&format!(
        "\np99 added by the adversarial clients (loaded minus quiet, per round): {} ms; median {} ms (target: within {ADDED_P99_MAX_MS} ms): {}\n",
        deltas
            .iter()
            .map(|d| format!("{d:+.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        cell(added),
        match added {
            Some(a) if a <= ADDED_P99_MAX_MS => "pass",
            Some(_) => "MISS",
            None => "not measured",
        }
    ));
    let adversarial: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "adversarial")
        .collect();
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    for line in &adversarial {
        if let Some(map) = line["answers"].as_object() {
            for (answer, n) in map {
                *answers.entry(answer.clone()).or_insert(0) += n.as_u64().unwrap_or(0);
            }
        }
    }
    let total: u64 = answers.values().sum();
    let unclear: u64 = answers
        .iter()
        .filter(|(a, _)| a.starts_with("unclear"))
        .map(|(_, n)| n)
        .sum();
    out.push_str(&format!(
        "\nAdversarial prompts: {total} sent ({} MB) in {} runs, {unclear} without a clear answer. Answers: {}.\n",
        adversarial
            .iter()
            .filter_map(|l| l["sent_mb"].as_f64())
            .sum::<f64>(),
        adversarial.len(),
        answers
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let latencies: Vec<&Value> = adversarial.iter().map(|l| &l["latency_ms"]).collect();
    out.push_str(&format!(
        "Adversarial answer latency (median of the runs): p50 {} ms, p99 {} ms, max {} ms.\n",
        cell(median(
            latencies.iter().filter_map(|l| l["p50"].as_f64()).collect()
        )),
        cell(median(
            latencies.iter().filter_map(|l| l["p99"].as_f64()).collect()
        )),
        cell(median(
            latencies.iter().filter_map(|l| l["max"].as_f64()).collect()
        )),
    ));
    for line in lines.iter().filter(|l| l["kind"] == "gateway") {
        out.push_str(&format!(
            "Gateway after the runs: token counts {}; panics in its log: {}; still serving: {}.\n",
            line["token_counts"], line["panics"], line["alive"]
        ));
    }
    print!("{out}");
    if unclear == 0 && added.is_some_and(|a| a <= ADDED_P99_MAX_MS) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_span_the_sizes_and_kinds() {
        let prompts = prompts("m", 1_000, 4_000);
        assert_eq!(prompts.len(), 8);
        assert_eq!(prompts[0].0, "word/1000");
        assert_eq!(prompts[7].0, "whitespace/4000");
        for (name, body) in &prompts {
            let value: Value = serde_json::from_slice(body).unwrap();
            let text = value["messages"][0]["content"].as_str().unwrap();
            let bytes: usize = name.split('/').nth(1).unwrap().parse().unwrap();
            assert!(text.len() <= bytes && text.len() + 4 > bytes, "{name}");
        }
    }

    #[test]
    fn answers_are_clear_or_not() {
        let served = br#"{"object":"chat.completion","choices":[]}"#;
        assert_eq!(classify(200, served), "served");
        let refused = br#"{"error":{"message":"too long","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify(400, refused),
            "refused:400:context_length_exceeded"
        );
        assert_eq!(classify(502, b"Bad Gateway"), "unclear:status_502_not_json");
        assert_eq!(classify(200, br#"{"error":{}}"#), "unclear:status_200");
    }
}
