//! `loadgen report --summary`: one row per target across the three modes, each
//! compared with its own baseline (the direct run of the same client API), and
//! the mock's CPU per request beside the server's. The mock's cost depends on the
//! format it answers in, so a reader comparing, say, a Gemini upstream with an
//! OpenAI one can take the mock's share out. The per-mode tables stay the source
//! of every other figure.

use serde_json::Value;

use super::{added, cpu_per_request, signed, Lines, ReportArgs};

fn micros(lines: &Lines, run: Option<&Value>, process: &str) -> String {
    run.and_then(|run| cpu_per_request(lines, run, process))
        .map_or_else(|| "–".to_owned(), |c| format!("{c:.0}"))
}

/// Requests failed over every mode of `label`, by kind.
fn all_errors(runs: &[Option<&Value>]) -> String {
    let mut total = 0;
    let mut kinds = std::collections::BTreeMap::<String, u64>::new();
    for run in runs.iter().flatten() {
        total += run["error_total"].as_u64().unwrap_or(0);
        for (kind, count) in run["errors"].as_object().into_iter().flatten() {
            *kinds.entry(kind.clone()).or_insert(0) += count.as_u64().unwrap_or(0);
        }
    }
    if total == 0 {
        return "0".to_owned();
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("**{total}** ({})", kinds.join(", "))
}

pub(super) fn table(lines: &Lines, args: &ReportArgs, out: &mut String) {
    out.push_str(
        "\n### Per target (each compared with the direct run of its client API)\n\n\
         | target | API | baseline | added p50 ms | added p99 ms | added TTFB p50 ms | added TTFB p99 ms \
         | req/s at max | vs baseline | server CPU µs/req fixed | server CPU µs/req max \
         | mock CPU µs/req fixed | mock CPU µs/req max | errors (all modes) |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for label in lines.labels() {
        let fixed = lines.run(&label, "fixed");
        let max = lines.run(&label, "max");
        let stream = lines.run(&label, "stream");
        let Some(any) = fixed.or(max).or(stream) else {
            continue;
        };
        let base = |run: Option<&Value>| run.and_then(|run| args.baseline_run(lines, run));
        let versus = |run: Option<&Value>, section, field| added(run?, base(run), section, field);
        let ratio = max
            .and_then(|run| run["ok_per_s"].as_f64())
            .zip(base(max).and_then(|b| b["ok_per_s"].as_f64()))
            .filter(|(_, b)| *b > 0.0)
            .map(|(r, b)| format!("{:.0}%", r / b * 100.0));
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            any["api"].as_str().unwrap_or("chat"),
            args.baseline_for(any),
            signed(versus(fixed, "latency_ms", "p50")),
            signed(versus(fixed, "latency_ms", "p99")),
            signed(versus(stream, "ttfb_ms", "p50")),
            signed(versus(stream, "ttfb_ms", "p99")),
            max.and_then(|run| run["ok_per_s"].as_f64())
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.0}")),
            ratio.unwrap_or_else(|| "–".to_owned()),
            micros(lines, fixed, "server"),
            micros(lines, max, "server"),
            micros(lines, fixed, "mock"),
            micros(lines, max, "mock"),
            all_errors(&[fixed, max, stream]),
        ));
    }
    out.push_str(
        "\nserver CPU: the gateway for gw-* targets, the mock itself for direct ones. \
         mock CPU: what the mock spent answering in the target's upstream format \
         (the same as server CPU for direct targets); its differences between formats \
         are the mock's, not the gateway's. –: not measured.\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn run(label: &str, api: &str, mode: &str, p50: f64, rps: f64, errors: u64) -> Value {
        json!({"kind": "run", "label": label, "api": api, "mode": mode, "rate": 1000.0,
            "duration_s": 1.0, "warmup_s": 0.0, "connections": 8, "requests": 10,
            "ok": 10, "error_total": errors,
            "errors": if errors > 0 { json!({"status_502": errors}) } else { json!({}) },
            "ok_per_s": rps,
            "latency_ms": {"p50": p50, "p99": p50 * 2.0},
            "ttfb_ms": {"p50": p50, "p99": p50 * 3.0}})
    }

    fn cpu(label: &str, mode: &str, process: &str, cpu_s: f64) -> Value {
        json!({"kind": "cpu", "label": label, "mode": mode, "process": process, "cpu_s": cpu_s})
    }

    fn args() -> ReportArgs {
        ReportArgs {
            file: PathBuf::new(),
            baseline: "direct-{api}".into(),
            floor: "nginx".into(),
            subject: "gateway".into(),
            others_max: 0.5,
            no_targets: true,
            summary: true,
        }
    }

    fn row<'a>(out: &'a str, label: &str) -> Vec<&'a str> {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label} in\n{out}"));
        line.trim_matches('|').split('|').map(str::trim).collect()
    }

    #[test]
    fn each_target_is_compared_with_the_direct_run_of_its_api() {
        let lines = Lines::new(vec![
            run("direct-chat", "chat", "fixed", 0.2, 1000.0, 0),
            run("direct-messages", "messages", "fixed", 0.3, 1000.0, 0),
            run("gw-chat-gemini", "chat", "fixed", 0.7, 1000.0, 0),
            run("gw-messages-openai", "messages", "fixed", 0.5, 1000.0, 0),
            run("direct-chat", "chat", "max", 1.0, 4000.0, 0),
            run("direct-messages", "messages", "max", 1.0, 2000.0, 0),
            run("gw-chat-gemini", "chat", "max", 2.0, 1000.0, 3),
            run("gw-messages-openai", "messages", "max", 2.0, 1500.0, 0),
            run("gw-messages-openai", "messages", "stream", 1.5, 200.0, 0),
            run("direct-messages", "messages", "stream", 1.0, 200.0, 0),
            // 1 s at 1,000 req/s: 0.2 CPU s is 200 µs per request.
            cpu("gw-chat-gemini", "fixed", "server", 0.2),
            cpu("gw-chat-gemini", "fixed", "mock", 0.05),
            cpu("direct-chat", "fixed", "server", 0.03),
            cpu("direct-chat", "fixed", "mock", 0.03),
        ]);
        let mut out = String::new();
        table(&lines, &args(), &mut out);

        let gemini = row(&out, "gw-chat-gemini");
        assert_eq!(gemini[1..3], ["chat", "direct-chat"]);
        assert_eq!(gemini[3], "+0.500"); // 0.7 - 0.2
        assert_eq!(gemini[4], "+1.000"); // 1.4 - 0.4
        assert_eq!(gemini[7..9], ["1000", "25%"]);
        assert_eq!(gemini[9], "200");
        assert_eq!(gemini[11], "50");
        assert_eq!(gemini[13], "**3** (status_502: 3)");

        let openai = row(&out, "gw-messages-openai");
        assert_eq!(openai[1..3], ["messages", "direct-messages"]);
        assert_eq!(openai[3], "+0.200"); // 0.5 - 0.3, not against direct-chat
        assert_eq!(openai[5..7], ["+0.500", "+1.500"]);
        assert_eq!(openai[7..9], ["1500", "75%"]);
        assert_eq!(openai[13], "0");

        let direct = row(&out, "direct-chat");
        assert_eq!(direct[3], "+0.000");
        assert_eq!(direct[9], "30");
        assert_eq!(direct[11], "30");
    }

    #[test]
    fn runs_without_an_api_compare_as_chat() {
        let mut old = run("gateway", "chat", "fixed", 0.4, 1000.0, 0);
        old.as_object_mut().unwrap().remove("api");
        let lines = Lines::new(vec![
            run("direct-chat", "chat", "fixed", 0.1, 1000.0, 0),
            old,
        ]);
        let mut out = String::new();
        table(&lines, &args(), &mut out);
        let gateway = row(&out, "gateway");
        assert_eq!(gateway[1..4], ["chat", "direct-chat", "+0.300"]);
        // Modes not measured leave their cells empty rather than inventing figures.
        assert_eq!(gateway[7], "–");
    }
}
