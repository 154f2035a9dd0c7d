//! `loadgen report`: reads the JSON lines of a benchmark (runs from `loadgen run`,
//! plus `rss` and `cpu` lines written by `overhead.sh` or `translate_overhead.sh`)
//! and prints the comparison as Markdown: per-mode tables, latency added over the
//! baseline (the mock called directly; with `--baseline 'direct-{api}'`, the direct
//! run of the same client API), the gateway/nginx throughput ratio, and each target
//! as pass or MISS. `--summary` adds one row per target (`summary`).

mod summary;
mod targets;

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// JSON-lines file of one benchmark.
    file: PathBuf,
    /// Label of the runs every other target is compared with; `{api}` in it
    /// stands for the client API of the run compared (`direct-{api}`: chat runs
    /// against `direct-chat`, messages runs against `direct-messages`).
    #[arg(long, default_value = "direct")]
    baseline: String,
    /// Label of the reference proxy (the floor).
    #[arg(long, default_value = "nginx")]
    floor: String,
    /// Labels of the systems under test, comma-separated (each judged apart).
    #[arg(long, default_value = "gateway")]
    subject: String,
    /// CPU seconds other processes may use during a run before the comparisons
    /// that use it are called inconclusive.
    #[arg(long, default_value_t = 0.5)]
    others_max: f64,
    /// Leave out the pass/MISS table of the overhead targets (for benchmarks
    /// without the gateway/nginx pair it judges).
    #[arg(long)]
    no_targets: bool,
    /// Add one row per target: added latency, throughput and CPU of every mode.
    #[arg(long)]
    summary: bool,
}

impl ReportArgs {
    /// The label of the run `run` is compared with.
    fn baseline_for(&self, run: &Value) -> String {
        self.baseline
            .replace("{api}", run["api"].as_str().unwrap_or("chat"))
    }

    /// The baseline of `run` in the same mode.
    fn baseline_run<'a>(&self, lines: &'a Lines, run: &Value) -> Option<&'a Value> {
        lines.run(&self.baseline_for(run), run["mode"].as_str()?)
    }
}

/// The lines of one benchmark. A target and mode measured in several rounds is
/// reported as one run: the median of each figure, the sum of requests and errors.
struct Lines {
    lines: Vec<Value>,
    runs: Vec<Value>,
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

/// Rounds of one target and mode as a single run (`rounds` says how many).
fn combine(rounds: &[&Value]) -> Value {
    let mut out = rounds.first().map_or(Value::Null, |first| (*first).clone());
    let median_of = |path: &[&str]| {
        median(
            rounds
                .iter()
                .filter_map(|r| path.iter().fold(*r, |v, k| &v[*k]).as_f64())
                .collect(),
        )
    };
    for field in [
        "ok_per_s",
        "achieved_per_s",
        "answer_span_99_s",
        "loadgen_cpu_s",
    ] {
        if let Some(m) = median_of(&[field]) {
            out[field] = m.into();
        }
    }
    for section in ["latency_ms", "service_ms", "wait_ms", "ttfb_ms"] {
        let keys: Vec<String> = out[section]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            if let Some(m) = median_of(&[section, &key]) {
                out[section][key.as_str()] = m.into();
            }
        }
    }
    for field in [
        "requests",
        "ok",
        "error_total",
        "reconnects",
        "answered_all",
        "unanswered_all",
    ] {
        let sum: u64 = rounds.iter().filter_map(|r| r[field].as_u64()).sum();
        out[field] = sum.into();
    }
    let mut errors = serde_json::Map::new();
    for round in rounds {
        for (kind, count) in round["errors"].as_object().into_iter().flatten() {
            let total = errors.get(kind).and_then(Value::as_u64).unwrap_or(0);
            errors.insert(kind.clone(), (total + count.as_u64().unwrap_or(0)).into());
        }
    }
    out["errors"] = Value::Object(errors);
    out["rounds"] = rounds.len().into();
    out
}

impl Lines {
    fn new(lines: Vec<Value>) -> Lines {
        let mut keys: Vec<(String, String)> = Vec::new();
        for line in lines.iter().filter(|v| v["kind"] == "run") {
            let key = (
                line["label"].as_str().unwrap_or_default().to_owned(),
                line["mode"].as_str().unwrap_or_default().to_owned(),
            );
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let runs = keys
            .iter()
            .map(|(label, mode)| {
                let rounds: Vec<&Value> = lines
                    .iter()
                    .filter(|v| v["kind"] == "run" && v["label"] == *label && v["mode"] == *mode)
                    .collect();
                combine(&rounds)
            })
            .collect();
        Lines { lines, runs }
    }

    fn run(&self, label: &str, mode: &str) -> Option<&Value> {
        self.runs
            .iter()
            .find(|v| v["label"] == label && v["mode"] == mode)
    }

    fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for run in &self.runs {
            if let Some(label) = run["label"].as_str() {
                if !labels.iter().any(|l| l == label) {
                    labels.push(label.to_owned());
                }
            }
        }
        labels
    }

    /// Median over the rounds of the CPU seconds a process used in one mode.
    fn cpu(&self, label: &str, mode: &str, process: &str) -> Option<f64> {
        median(
            self.lines
                .iter()
                .filter(|v| {
                    v["kind"] == "cpu"
                        && v["label"] == label
                        && v["mode"] == mode
                        && v["process"] == process
                })
                .filter_map(|v| v["cpu_s"].as_f64())
                .collect(),
        )
    }

    /// The highest peak RSS recorded for `label`.
    fn rss_kb(&self, label: &str) -> Option<f64> {
        self.lines
            .iter()
            .filter(|v| v["kind"] == "rss" && v["label"] == label)
            .filter_map(|v| v["vmhwm_kb"].as_f64())
            .reduce(f64::max)
    }

    fn rounds(&self) -> usize {
        self.runs
            .iter()
            .filter_map(|r| r["rounds"].as_u64())
            .max()
            .map_or(0, |n| n as usize)
    }
}

fn get(run: &Value, section: &str, field: &str) -> Option<f64> {
    run[section][field].as_f64()
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:+.3}"))
}

/// The failed requests of a run by kind, and idle connections the server closed.
fn errors(run: &Value) -> String {
    let total = run["error_total"].as_u64().unwrap_or(0);
    let reconnects = match run["reconnects"].as_u64().unwrap_or(0) {
        0 => String::new(),
        n => format!(" ({n} reconnects)"),
    };
    if total == 0 {
        return format!("0{reconnects}");
    }
    let kinds: Vec<String> = run["errors"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}: {v}")).collect())
        .unwrap_or_default();
    format!("**{total}** ({}){reconnects}", kinds.join(", "))
}

/// CPU microseconds per answered request, counting the warm-up's requests at the
/// measured rate (the CPU figure covers the whole run).
fn cpu_per_request(lines: &Lines, run: &Value, process: &str) -> Option<f64> {
    let label = run["label"].as_str()?;
    let mode = run["mode"].as_str()?;
    let cpu = lines.cpu(label, mode, process)?;
    let seconds = run["warmup_s"].as_f64()? + run["duration_s"].as_f64()?;
    let requests = run["ok_per_s"].as_f64()? * seconds;
    (requests > 0.0).then(|| cpu * 1e6 / requests)
}

/// CPU seconds that processes outside the benchmark used during a run (other work
/// on a shared machine): the whole machine less the server, the mock (when it is
/// not itself the server) and the load generator.
fn other_cpu(lines: &Lines, run: &Value, args: &ReportArgs) -> Option<f64> {
    let label = run["label"].as_str()?;
    let mode = run["mode"].as_str()?;
    let system = lines.cpu(label, mode, "system")?;
    let server = lines.cpu(label, mode, "server")?;
    let mock = if label == args.baseline_for(run) {
        0.0
    } else {
        lines.cpu(label, mode, "mock")?
    };
    Some((system - server - mock - run["loadgen_cpu_s"].as_f64()?).max(0.0))
}

fn other_cell(lines: &Lines, run: &Value, args: &ReportArgs) -> String {
    other_cpu(lines, run, args).map_or_else(|| "–".to_owned(), |c| format!("{c:.2}"))
}

fn added(run: &Value, base: Option<&Value>, section: &str, field: &str) -> Option<f64> {
    Some(get(run, section, field)? - get(base?, section, field)?)
}

/// The open-loop runs of one series (`fixed`, or `fixed10k` at a higher rate).
fn fixed_table(lines: &Lines, args: &ReportArgs, mode: &str, out: &mut String) {
    let Some(any) = lines.labels().iter().find_map(|l| lines.run(l, mode)) else {
        return;
    };
    out.push_str(&format!(
        "\n### Fixed rate: {} req/s, {} s measured after {} s warm-up, {} connections (open loop; latency from each request's scheduled time)\n\n",
        any["rate"], any["duration_s"], any["warmup_s"], any["connections"]
    ));
    out.push_str("| target | requests | errors | answered/s (over the time taken) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | added p50 ms | added p99 ms | added p99 vs nginx ms | loadgen wait p99 ms | server CPU µs/req | others' CPU s |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for label in lines.labels() {
        let Some(run) = lines.run(&label, mode) else {
            continue;
        };
        let base = args.baseline_run(lines, run);
        let floor = lines.run(&args.floor, mode);
        let cpu = cpu_per_request(lines, run, "server");
        out.push_str(&format!(
            "| {label} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            run["requests"],
            errors(run),
            run["achieved_per_s"]
                .as_f64()
                .or_else(|| run["ok_per_s"].as_f64())
                .unwrap_or(0.0),
            cell(get(run, "latency_ms", "p50")),
            cell(get(run, "latency_ms", "p90")),
            cell(get(run, "latency_ms", "p99")),
            cell(get(run, "latency_ms", "p99_9")),
            cell(get(run, "latency_ms", "max")),
            signed(added(run, base, "latency_ms", "p50")),
            signed(added(run, base, "latency_ms", "p99")),
            signed(added(run, floor, "latency_ms", "p99")),
            cell(get(run, "wait_ms", "p99")),
            cpu.map_or_else(|| "–".to_owned(), |c| format!("{c:.0}")),
            other_cell(lines, run, args),
        ));
    }
}

fn max_table(lines: &Lines, args: &ReportArgs, out: &mut String) {
    let Some(any) = lines.labels().iter().find_map(|l| lines.run(l, "max")) else {
        return;
    };
    out.push_str(&format!(
        "\n### Max throughput: {} connections, {} s measured after {} s warm-up (closed loop)\n\n",
        any["connections"], any["duration_s"], any["warmup_s"]
    ));
    out.push_str("| target | req/s | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | vs direct | server CPU µs/req | mock CPU µs/req | loadgen CPU s | others' CPU s |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for label in lines.labels() {
        let Some(run) = lines.run(&label, "max") else {
            continue;
        };
        let base = args.baseline_run(lines, run);
        let ratio = base
            .and_then(|b| b["ok_per_s"].as_f64())
            .zip(run["ok_per_s"].as_f64())
            .map(|(b, r)| r / b);
        let micros = |process| {
            cpu_per_request(lines, run, process)
                .map_or_else(|| "–".to_owned(), |c| format!("{c:.0}"))
        };
        out.push_str(&format!(
            "| {label} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            run["ok_per_s"].as_f64().unwrap_or(0.0),
            errors(run),
            cell(get(run, "latency_ms", "p50")),
            cell(get(run, "latency_ms", "p90")),
            cell(get(run, "latency_ms", "p99")),
            cell(get(run, "latency_ms", "p99_9")),
            cell(get(run, "latency_ms", "max")),
            ratio.map_or_else(|| "–".to_owned(), |r| format!("{:.0}%", r * 100.0)),
            micros("server"),
            micros("mock"),
            cell(run["loadgen_cpu_s"].as_f64()),
            other_cell(lines, run, args),
        ));
    }
}

fn stream_table(lines: &Lines, args: &ReportArgs, out: &mut String) {
    let Some(any) = lines.labels().iter().find_map(|l| lines.run(l, "stream")) else {
        return;
    };
    out.push_str(&format!(
        "\n### Streaming: {} streams/s, {} s measured after {} s warm-up, {} connections (open loop; model `{}`)\n\n",
        any["rate"], any["duration_s"], any["warmup_s"], any["connections"], any["model"].as_str().unwrap_or("?")
    ));
    out.push_str("| target | streams | errors | TTFB p50 ms | TTFB p90 ms | TTFB p99 ms | TTFB max ms | added TTFB p50 ms | added TTFB p99 ms | added TTFB p50 vs nginx ms | added TTFB p99 vs nginx ms | whole stream p50 ms | whole stream p99 ms | others' CPU s |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for label in lines.labels() {
        let Some(run) = lines.run(&label, "stream") else {
            continue;
        };
        let base = args.baseline_run(lines, run);
        let floor = lines.run(&args.floor, "stream");
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            run["requests"],
            errors(run),
            cell(get(run, "ttfb_ms", "p50")),
            cell(get(run, "ttfb_ms", "p90")),
            cell(get(run, "ttfb_ms", "p99")),
            cell(get(run, "ttfb_ms", "max")),
            signed(added(run, base, "ttfb_ms", "p50")),
            signed(added(run, base, "ttfb_ms", "p99")),
            signed(added(run, floor, "ttfb_ms", "p50")),
            signed(added(run, floor, "ttfb_ms", "p99")),
            cell(get(run, "latency_ms", "p50")),
            cell(get(run, "latency_ms", "p99")),
            other_cell(lines, run, args),
        ));
    }
}

fn verdict_table(lines: &Lines, args: &ReportArgs, out: &mut String) -> bool {
    out.push_str(
        "\n### Targets\n\n| target | threshold | measured | result |\n|---|---|---|---|\n",
    );
    let mut all = true;
    for verdict in targets::verdicts(lines, args) {
        let mut result = match verdict.pass {
            Some(true) => "pass".to_owned(),
            Some(false) => "**MISS**".to_owned(),
            None => "**not measured**".to_owned(),
        };
        if verdict.errors > 0 {
            result.push_str(&format!(
                " (with {} failed requests in these runs)",
                verdict.errors
            ));
        }
        let disturbed = verdict.others > args.others_max;
        if disturbed {
            result.push_str(&format!(
                " (inconclusive: other processes used {:.2} CPU s during a compared run)",
                verdict.others
            ));
        }
        all &= verdict.pass == Some(true) && verdict.errors == 0 && !disturbed;
        out.push_str(&format!(
            "| {} | {} | {} | {result} |\n",
            verdict.name, verdict.threshold, verdict.measured
        ));
    }
    all
}

pub fn main(args: &ReportArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut values = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(value) => values.push(value),
            Err(error) => {
                eprintln!("error: {}:{}: {error}", args.file.display(), number + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    let lines = Lines::new(values);
    let mut out = String::new();
    if lines.rounds() > 1 {
        out.push_str(&format!(
            "Each figure is the median of {} rounds (runs interleaved); request and error counts are totals.\n",
            lines.rounds()
        ));
    }
    fixed_table(&lines, args, "fixed", &mut out);
    max_table(&lines, args, &mut out);
    stream_table(&lines, args, &mut out);
    fixed_table(&lines, args, targets::HIGH_RATE, &mut out);
    if args.summary {
        summary::table(&lines, args, &mut out);
    }
    let all_pass = args.no_targets || verdict_table(&lines, args, &mut out);
    out.push_str(
        "\nserver CPU: the process the load generator talks to (the mock itself for direct; \
         nginx master and workers; the gateway), per answered request, warm-up included. \
         others' CPU: CPU seconds used during the run by processes outside the benchmark \
         (a shared machine); large values make that run's figures suspect.\n",
    );
    print!("{out}");
    eprintln!(
        "{}",
        if args.no_targets {
            "no targets judged"
        } else if all_pass {
            "all targets met"
        } else {
            "some targets missed or not measured"
        }
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(label: &str, mode: &str, p50: f64, p99: f64, rps: f64) -> Value {
        json!({"kind": "run", "label": label, "mode": mode, "rate": 1000.0,
            "duration_s": 10.0, "warmup_s": 2.0, "connections": 8, "requests": 10,
            "ok": 10, "error_total": 0, "errors": {}, "ok_per_s": rps,
            "latency_ms": {"p50": p50, "p99": p99},
            "ttfb_ms": {"p50": p50, "p99": p99}})
    }

    #[test]
    fn rounds_combine_into_medians_and_totals() {
        let mut failing = run("gateway", "max", 3.0, 9.0, 300.0);
        failing["error_total"] = 2.into();
        failing["errors"] = json!({"status_502": 2});
        let lines = Lines::new(vec![
            run("gateway", "max", 1.0, 5.0, 100.0),
            failing,
            run("gateway", "max", 2.0, 7.0, 200.0),
        ]);
        let combined = lines.run("gateway", "max").unwrap();
        assert_eq!(combined["rounds"], 3);
        assert_eq!(combined["ok_per_s"], 200.0);
        assert_eq!(combined["latency_ms"]["p99"], 7.0);
        assert_eq!(combined["requests"], 30);
        assert_eq!(combined["errors"]["status_502"], 2);
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
    }

    #[test]
    fn targets_compare_against_the_baseline_and_the_floor() {
        let lines = Lines::new(vec![
            run("direct", "fixed", 0.1, 0.3, 1000.0),
            run("gateway", "fixed", 0.2, 0.9, 1000.0),
            run("direct", "stream", 1.0, 2.0, 200.0),
            run("gateway", "stream", 1.1, 2.5, 200.0),
            run("nginx", "max", 1.0, 2.0, 20_000.0),
            run("gateway", "max", 1.0, 2.0, 13_000.0),
            json!({"kind": "rss", "label": "gateway", "vmhwm_kb": 20_000}),
        ]);
        let args = ReportArgs {
            file: PathBuf::new(),
            baseline: "direct".into(),
            floor: "nginx".into(),
            subject: "gateway".into(),
            others_max: 0.5,
            no_targets: false,
            summary: false,
        };
        let mut out = String::new();
        assert!(!verdict_table(&lines, &args, &mut out));
        // Throughput 65%: pass; p99 added 0.6 ms: MISS.
        assert!(
            out.contains("| gateway: throughput at max, / nginx | ≥ 60% | 65.0% | pass |"),
            "{out}"
        );
        assert!(
            out.contains(
                "| gateway: p99 added latency at 1,000 req/s | ≤ 0.500 ms | +0.600 ms | **MISS** |"
            ),
            "{out}"
        );
    }
}
