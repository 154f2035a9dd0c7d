//! `soak verdict FILE`: the mixed soak's verdicts, one line per point of issue 12,
//! from the JSON lines `soak run --mixed` wrote (minutes and summary) and the
//! `events` line `soak.sh` added after counting the usage events in Postgres.
//! Reading only; what was measured is decided in `soak.rs` and `soak.sh`.

use std::path::PathBuf;

use serde_json::Value;

#[derive(clap::Args)]
pub struct VerdictArgs {
    /// The soak's JSON lines (`soak.jsonl`).
    file: PathBuf,
    /// RSS may grow by less than this after the first minute (percent).
    #[arg(long, default_value_t = 5.0)]
    rss_growth_max: f64,
    /// Per-minute percentiles are flat when the highest minute is at most this
    /// many times the median minute (the first minute left out).
    #[arg(long, default_value_t = 2.0)]
    flat_max: f64,
}

impl VerdictArgs {
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "pass"
    } else {
        "MISS"
    }
}

/// The verdict lines of a soak's JSON lines, and whether all passed.
pub fn lines(text: &str, args: &VerdictArgs) -> Result<(Vec<String>, bool), String> {
    let values: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    let last = |kind: &str| values.iter().rev().find(|v| v["kind"] == kind);
    let summary = last("summary").ok_or("no summary line: did the soak finish?")?;
    let events = last("events").ok_or("no events line: were the events counted?")?;
    let mut out = Vec::new();
    let mut all = true;

    let answered = summary["answered"].as_u64().unwrap_or(0);
    if let Some(seconds) = summary["duration_s"].as_f64().filter(|s| *s > 0.0) {
        out.push(format!(
            "rate: {:.1} answered req/s over {seconds} s (offered {} req/s)",
            answered as f64 / seconds,
            summary["rate"]
        ));
    }
    let counted = events["counted"].as_u64();
    let duplicates = events["duplicates"].as_u64().unwrap_or(0);
    let lost = counted.map(|c| answered as i64 - c as i64);
    out.push(format!(
        "requests answered by the gateway: {answered}; usage events in Postgres: {}; duplicates: {duplicates}",
        counted.map_or_else(|| "?".to_owned(), |c| c.to_string())
    ));
    out.push(format!(
        "lost events: {}",
        lost.map_or_else(|| "?".to_owned(), |l| l.to_string())
    ));
    let pass = lost == Some(0) && duplicates == 0;
    all &= pass;
    out.push(format!("verdict: zero lost events: {}", verdict(pass)));

    let growth = summary["rss_growth_after_first_minute_pct"].as_f64();
    let pass = growth.is_some_and(|g| g < args.rss_growth_max);
    all &= pass;
    out.push(format!(
        "verdict: RSS growth after the first minute < {}%: {} ({} kB after the first minute, {} kB at the end): {}",
        args.rss_growth_max,
        growth.map_or_else(|| "not measured".to_owned(), |g| format!("{g:+.1}%")),
        summary["rss_after_first_minute_kb"],
        summary["rss_end_kb"],
        verdict(pass)
    ));

    for (name, field) in [
        ("p50", "p50_max_over_median"),
        ("p99", "p99_max_over_median"),
    ] {
        let spread = summary[field].as_f64();
        let pass = spread.is_some_and(|s| s <= args.flat_max);
        all &= pass;
        out.push(format!(
            "verdict: per-minute {name} flat (highest minute / median minute ≤ {}): {}: {}",
            args.flat_max,
            spread.map_or_else(|| "not measured".to_owned(), |s| format!("{s:.2}")),
            verdict(pass)
        ));
    }
    for minute in values.iter().filter(|v| v["kind"] == "minute") {
        out.push(format!(
            "  minute {}: {} answered, p50 {} ms, p99 {} ms, p99.9 {} ms, RSS {} kB, errors {}",
            minute["minute"],
            minute["answered"],
            minute["p50_ms"],
            minute["p99_ms"],
            minute["p99_9_ms"],
            minute["rss_kb"],
            minute["errors"]
        ));
    }

    let mut unexpected = 0;
    for (kind, counts) in summary["kinds"].as_object().into_iter().flatten() {
        let sent = counts["sent"].as_u64().unwrap_or(0);
        let expected = counts["expected_answer"].as_u64().unwrap_or(0);
        unexpected += sent - expected.min(sent);
        out.push(format!(
            "  {kind}: {sent} sent, {expected} answered as expected"
        ));
    }
    let pass = unexpected == 0 && summary["kinds"].is_object();
    all &= pass;
    out.push(format!(
        "verdict: every request answered as its kind expects: {unexpected} not: {}",
        verdict(pass)
    ));
    out.push(format!(
        "events by kind: {} streamed, {} served after a failover, {} upstream errors, {} unknown models; {} keys, {} user tags",
        events["streamed"],
        events["failed_over"],
        events["upstream_errors"],
        events["refused_404"],
        events["keys"],
        events["user_tags"]
    ));
    Ok((out, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> VerdictArgs {
        VerdictArgs {
            file: PathBuf::from("soak.jsonl"),
            rss_growth_max: 5.0,
            flat_max: 2.0,
        }
    }

    const SUMMARY: &str = r#"{"kind":"summary","answered":1000,"rss_growth_after_first_minute_pct":3.5,"rss_after_first_minute_kb":40000,"rss_end_kb":41000,"p50_max_over_median":1.2,"p99_max_over_median":1.9,"kinds":{"plain":{"sent":900,"expected_answer":900},"unknown_model":{"sent":100,"expected_answer":100}}}"#;

    #[test]
    fn a_clean_soak_passes_every_point() {
        let text = format!(
            "{{\"kind\":\"minute\",\"minute\":1,\"p50_ms\":1.0}}\n{SUMMARY}\n{{\"kind\":\"events\",\"counted\":1000,\"duplicates\":0}}\n"
        );
        let (lines, all) = super::lines(&text, &args()).unwrap();
        assert!(all, "{lines:#?}");
        assert!(lines.contains(&"lost events: 0".to_owned()));
        assert!(lines.iter().any(|l| l.starts_with("  minute 1:")));
    }

    #[test]
    fn a_lost_event_growth_or_a_spike_is_a_miss() {
        let text = format!("{SUMMARY}\n{{\"kind\":\"events\",\"counted\":998,\"duplicates\":0}}\n");
        let (lines, all) = super::lines(&text, &args()).unwrap();
        assert!(!all);
        assert!(lines.contains(&"lost events: 2".to_owned()));
        assert!(lines.contains(&"verdict: zero lost events: MISS".to_owned()));
        let grown = SUMMARY.replace("3.5", "5.0").replace("1.9", "2.5");
        let text = format!("{grown}\n{{\"kind\":\"events\",\"counted\":1000,\"duplicates\":0}}\n");
        let (lines, all) = super::lines(&text, &args()).unwrap();
        assert!(!all);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("verdict: RSS growth") && l.ends_with("MISS")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("verdict: per-minute p99") && l.ends_with("MISS")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("verdict: per-minute p50") && l.ends_with("pass")));
        assert!(super::lines(SUMMARY, &args()).is_err(), "no events line");
    }
}
