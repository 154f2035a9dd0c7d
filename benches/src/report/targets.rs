//! The targets of the overhead benchmark (issue 12's "Prove it"), judged for each
//! system under test (`--subject gateway,gateway-pg`: the embedded store and
//! Postgres + Redis) from the same run as the baseline and the floor: one row per
//! target and subject with its threshold, figure and pass or MISS. The tables of
//! figures stay in `report.rs`; this only decides.

use serde_json::Value;

use super::{added, other_cpu, Lines, ReportArgs};

/// p99 latency the gateway may add at the fixed rate (1,000 req/s).
const ADDED_P99_MAX_MS: f64 = 0.5;
/// p50 and p99 time to first byte the gateway may add to a stream (1,000 streams/s).
const ADDED_TTFB_P50_MAX_MS: f64 = 0.2;
const ADDED_TTFB_P99_MAX_MS: f64 = 0.5;
/// Gateway throughput as a share of nginx's.
const THROUGHPUT_RATIO_MIN: f64 = 0.6;
/// Peak resident memory of the gateway during the throughput run (64 MiB).
const RSS_MAX_KB: f64 = 64.0 * 1024.0;
/// The high fixed rate (`fixed10k`): share of the offered rate answered, and p99 added.
const HIGH_RATE_SUSTAINED_MIN: f64 = 0.99;
const HIGH_RATE_ADDED_P99_MAX_MS: f64 = 2.0;
/// The series name of the high fixed-rate runs.
pub(super) const HIGH_RATE: &str = "fixed10k";

/// One target: its name, the threshold as text, the measured value as text, and
/// whether it passed (`None` when it could not be measured).
pub(super) struct Verdict {
    pub name: String,
    pub threshold: String,
    pub measured: String,
    pub pass: Option<bool>,
    pub errors: u64,
    /// The most CPU seconds other processes used in one of the runs compared.
    pub others: f64,
}

fn error_count(run: Option<&Value>) -> u64 {
    run.and_then(|r| r["error_total"].as_u64()).unwrap_or(0)
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "not measured".to_owned(), |v| format!("{v:+.3} ms"))
}

/// `1,000` for 1000.0: the rate a run was offered, for a target's name.
fn rate_of(run: Option<&Value>) -> String {
    let Some(rate) = run.and_then(|r| r["rate"].as_f64()) else {
        return "?".to_owned();
    };
    let digits = format!("{:.0}", rate);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Events counted in the store after the high-rate runs of `label`, summed over
/// rounds: (offered, answered, unanswered, counted).
fn events(lines: &Lines, label: &str) -> Option<(u64, u64, u64, u64)> {
    let rows: Vec<&Value> = lines
        .lines
        .iter()
        .filter(|v| v["kind"] == "events" && v["label"] == label)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let sum = |field: &str| rows.iter().filter_map(|r| r[field].as_u64()).sum::<u64>();
    let all_counted = rows.iter().all(|r| r["counted"].as_u64().is_some());
    Some((
        sum("offered"),
        sum("answered"),
        sum("unanswered"),
        if all_counted {
            sum("counted")
        } else {
            u64::MAX
        },
    ))
}

pub(super) fn verdicts(lines: &Lines, args: &ReportArgs) -> Vec<Verdict> {
    let baseline = |mode| lines.run(&args.baseline, mode);
    let floor = |mode| lines.run(&args.floor, mode);
    let others = |runs: &[Option<&Value>]| {
        runs.iter()
            .flatten()
            .filter_map(|run| other_cpu(lines, run, args))
            .fold(0.0, f64::max)
    };
    let mut out = Vec::new();
    for subject in args
        .subject
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let run = |mode| lines.run(subject, mode);

        let ratio = run("max")
            .and_then(|r| r["ok_per_s"].as_f64())
            .zip(floor("max").and_then(|r| r["ok_per_s"].as_f64()))
            .filter(|(_, f)| *f > 0.0)
            .map(|(s, f)| s / f);
        out.push(Verdict {
            name: format!("{subject}: throughput at max, / {}", args.floor),
            threshold: format!("≥ {:.0}%", THROUGHPUT_RATIO_MIN * 100.0),
            measured: ratio.map_or_else(
                || "not measured".to_owned(),
                |r| format!("{:.1}%", r * 100.0),
            ),
            pass: ratio.map(|r| r >= THROUGHPUT_RATIO_MIN),
            errors: error_count(run("max")) + error_count(floor("max")),
            others: others(&[run("max"), floor("max")]),
        });

        let p99 = run("fixed").and_then(|r| added(r, baseline("fixed"), "latency_ms", "p99"));
        out.push(Verdict {
            name: format!(
                "{subject}: p99 added latency at {} req/s",
                rate_of(run("fixed"))
            ),
            threshold: format!("≤ {ADDED_P99_MAX_MS:.3} ms"),
            measured: ms(p99),
            pass: p99.map(|v| v <= ADDED_P99_MAX_MS),
            errors: error_count(run("fixed")) + error_count(baseline("fixed")),
            others: others(&[run("fixed"), baseline("fixed")]),
        });

        for (quantile, max) in [
            ("p50", ADDED_TTFB_P50_MAX_MS),
            ("p99", ADDED_TTFB_P99_MAX_MS),
        ] {
            let ttfb =
                run("stream").and_then(|r| added(r, baseline("stream"), "ttfb_ms", quantile));
            out.push(Verdict {
                name: format!(
                    "{subject}: {quantile} added TTFB at {} streams/s",
                    rate_of(run("stream"))
                ),
                threshold: format!("≤ {max:.3} ms"),
                measured: ms(ttfb),
                pass: ttfb.map(|v| v <= max),
                errors: error_count(run("stream")) + error_count(baseline("stream")),
                others: others(&[run("stream"), baseline("stream")]),
            });
        }

        let rss = lines.rss_kb(subject);
        out.push(Verdict {
            name: format!("{subject}: peak RSS during the throughput run"),
            threshold: "≤ 64 MiB".to_owned(),
            measured: rss.map_or_else(
                || "not measured".to_owned(),
                |kb| format!("{:.1} MiB ({kb:.0} kB)", kb / 1024.0),
            ),
            pass: rss.map(|kb| kb <= RSS_MAX_KB),
            errors: 0,
            others: 0.0,
        });

        // The high rate is judged only for the subjects it was run against.
        let Some(high) = run(HIGH_RATE) else {
            continue;
        };
        // Answers over the time they took (older lines: over the measured seconds).
        let achieved = high["achieved_per_s"]
            .as_f64()
            .or_else(|| high["ok_per_s"].as_f64());
        let share = achieved
            .zip(high["rate"].as_f64())
            .filter(|(_, rate)| *rate > 0.0)
            .map(|(ok, rate)| ok / rate);
        out.push(Verdict {
            name: format!("{subject}: sustained at {} req/s", rate_of(Some(high))),
            threshold: format!("≥ {:.0}% answered", HIGH_RATE_SUSTAINED_MIN * 100.0),
            measured: share.map_or_else(
                || "not measured".to_owned(),
                |s| {
                    format!(
                        "{:.2}% ({} answers/s; 99% answered within {} s)",
                        s * 100.0,
                        achieved.unwrap_or(0.0),
                        high["answer_span_99_s"].as_f64().map_or_else(
                            || high["duration_s"].to_string(),
                            |span| format!("{span:.3}")
                        )
                    )
                },
            ),
            pass: share.map(|s| s >= HIGH_RATE_SUSTAINED_MIN),
            errors: error_count(Some(high)),
            others: others(&[Some(high)]),
        });
        let p99 = added(high, baseline(HIGH_RATE), "latency_ms", "p99");
        out.push(Verdict {
            name: format!(
                "{subject}: p99 added latency at {} req/s",
                rate_of(Some(high))
            ),
            threshold: format!("≤ {HIGH_RATE_ADDED_P99_MAX_MS:.3} ms"),
            measured: ms(p99),
            pass: p99.map(|v| v <= HIGH_RATE_ADDED_P99_MAX_MS),
            errors: error_count(Some(high)) + error_count(baseline(HIGH_RATE)),
            others: others(&[Some(high), baseline(HIGH_RATE)]),
        });
        let counted = events(lines, subject);
        out.push(Verdict {
            name: format!(
                "{subject}: usage events stored after the {} req/s runs",
                rate_of(Some(high))
            ),
            threshold: "= requests offered (rate × seconds, warm-up included), all answered"
                .to_owned(),
            measured: counted.map_or_else(
                || "not counted".to_owned(),
                |(offered, answered, unanswered, counted)| {
                    let counted = if counted == u64::MAX {
                        "?".to_owned()
                    } else {
                        counted.to_string()
                    };
                    format!(
                        "{counted} events; {offered} offered, {answered} answered, \
                         {unanswered} sent without an answer"
                    )
                },
            ),
            pass: counted.map(|(offered, answered, unanswered, counted)| {
                counted == offered && answered == offered && unanswered == 0
            }),
            errors: 0,
            others: 0.0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn run(label: &str, mode: &str, p99: f64, rps: f64, rate: f64) -> Value {
        json!({"kind": "run", "label": label, "mode": mode, "rate": rate,
            "duration_s": 10.0, "warmup_s": 2.0, "connections": 8, "requests": 10,
            "ok": 10, "error_total": 0, "errors": {}, "ok_per_s": rps,
            "latency_ms": {"p50": p99 / 2.0, "p99": p99},
            "ttfb_ms": {"p50": p99 / 2.0, "p99": p99}})
    }

    fn args() -> ReportArgs {
        ReportArgs {
            file: PathBuf::new(),
            baseline: "direct".into(),
            floor: "nginx".into(),
            subject: "gateway, gateway-pg".into(),
            others_max: 0.5,
            no_targets: false,
            summary: false,
        }
    }

    fn find<'a>(verdicts: &'a [Verdict], name: &str) -> &'a Verdict {
        verdicts
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no verdict {name}"))
    }

    #[test]
    fn every_subject_is_judged_and_the_high_rate_where_it_ran() {
        let lines = Lines::new(vec![
            run("direct", "fixed", 0.2, 1000.0, 1000.0),
            run("gateway", "fixed", 0.6, 1000.0, 1000.0),
            run("gateway-pg", "fixed", 0.9, 1000.0, 1000.0),
            run("direct", "stream", 1.0, 1000.0, 1000.0),
            run("gateway", "stream", 1.2, 1000.0, 1000.0),
            run("gateway-pg", "stream", 2.0, 1000.0, 1000.0),
            run("nginx", "max", 1.0, 20_000.0, 0.0),
            run("gateway", "max", 1.0, 13_000.0, 0.0),
            run("gateway-pg", "max", 1.0, 11_000.0, 0.0),
            run("direct", HIGH_RATE, 1.0, 10_000.0, 10_000.0),
            run("gateway-pg", HIGH_RATE, 2.5, 9_950.0, 10_000.0),
            json!({"kind": "rss", "label": "gateway", "vmhwm_kb": 20_000}),
            json!({"kind": "rss", "label": "gateway-pg", "vmhwm_kb": 70_000}),
            json!({"kind": "events", "label": "gateway-pg", "round": 1,
                "offered": 120_000, "answered": 120_000, "unanswered": 0, "counted": 120_000}),
            json!({"kind": "events", "label": "gateway-pg", "round": 2,
                "offered": 120_000, "answered": 120_000, "unanswered": 0, "counted": 119_999}),
        ]);
        let v = verdicts(&lines, &args());
        let pass = |name: &str| find(&v, name).pass;
        assert_eq!(pass("gateway: throughput at max, / nginx"), Some(true));
        assert_eq!(pass("gateway-pg: throughput at max, / nginx"), Some(false));
        // 0.6 - 0.2 = 0.4 <= 0.5; 0.9 - 0.2 = 0.7 > 0.5.
        assert_eq!(
            pass("gateway: p99 added latency at 1,000 req/s"),
            Some(true)
        );
        assert_eq!(
            pass("gateway-pg: p99 added latency at 1,000 req/s"),
            Some(false)
        );
        // TTFB p50: 0.6 - 0.5 = 0.1; p99: 1.2 - 1.0 = 0.2.
        assert_eq!(
            pass("gateway: p50 added TTFB at 1,000 streams/s"),
            Some(true)
        );
        assert_eq!(
            pass("gateway: p99 added TTFB at 1,000 streams/s"),
            Some(true)
        );
        assert_eq!(
            pass("gateway-pg: p99 added TTFB at 1,000 streams/s"),
            Some(false)
        );
        assert_eq!(
            pass("gateway: peak RSS during the throughput run"),
            Some(true)
        );
        assert_eq!(
            pass("gateway-pg: peak RSS during the throughput run"),
            Some(false)
        );
        // 9,950 of 10,000 is 99.5%; p99 added 1.5 ms; one event missing.
        assert_eq!(pass("gateway-pg: sustained at 10,000 req/s"), Some(true));
        assert_eq!(
            pass("gateway-pg: p99 added latency at 10,000 req/s"),
            Some(true)
        );
        let stored = find(
            &v,
            "gateway-pg: usage events stored after the 10,000 req/s runs",
        );
        assert_eq!(stored.pass, Some(false));
        assert!(
            stored.measured.starts_with("239999 events; 240000 offered"),
            "{}",
            stored.measured
        );
        // The embedded store ran no high-rate run: no rows for it.
        assert!(!v.iter().any(|v| v.name.starts_with("gateway: sustained")));
    }

    #[test]
    fn events_pass_only_when_every_offered_request_was_stored() {
        let lines = Lines::new(vec![json!({"kind": "events", "label": "g", "offered": 5,
            "answered": 5, "unanswered": 0, "counted": 5})]);
        assert_eq!(events(&lines, "g"), Some((5, 5, 0, 5)));
        let lines = Lines::new(vec![json!({"kind": "events", "label": "g", "offered": 5,
            "answered": 5, "unanswered": 0, "counted": null})]);
        assert_eq!(events(&lines, "g"), Some((5, 5, 0, u64::MAX)));
        assert_eq!(events(&lines, "other"), None);
        assert_eq!(rate_of(Some(&json!({"rate": 10000.0}))), "10,000");
        assert_eq!(rate_of(Some(&json!({"rate": 200.0}))), "200");
    }
}
