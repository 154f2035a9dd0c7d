//! The report as JSON: the API's answer (`GET /api/v1/reports/{period}`) and
//! the webhook's `report` object, the same value. Every figure is a cell of
//! the analytics API's own records ([`figures`]), so the report's numbers are
//! the API's, written the same way (exact decimal USD text, percentages with
//! two places, `null` without a denominator).

use analytics::store::queries::Aggregate;
use serde_json::{json, Value};

use super::build::{Report, RoiToDate};
use crate::handlers::analytics_api::figures::{figures, percent, Cell, Record};

/// A named cell of `record` (`Null` if it has none).
pub fn cell<'r>(record: &'r Record, name: &str) -> &'r Cell {
    record
        .0
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&Cell::Null, |(_, cell)| cell)
}

fn value(cell: &Cell) -> Value {
    serde_json::to_value(cell).unwrap_or(Value::Null)
}

fn row(dimension: &'static str, group: &Aggregate) -> Record {
    let mut record = Record::default();
    record.push(dimension, Cell::dimension(&group.group.0));
    record.extend(figures(group));
    record
}

/// The change from `before` to `now` in percent of `before`.
pub fn change(now: i128, before: i128) -> Option<String> {
    percent(now - before, before)
}

/// Share of `part` in `all`, in percent.
fn share(part: i64, all: i64) -> Option<String> {
    percent(i128::from(part), i128::from(all))
}

fn requests_of(routes: &[Aggregate], key: &(String, String)) -> i64 {
    routes
        .iter()
        .find(|r| &r.group == key)
        .map_or(0, |r| r.totals.requests)
}

fn substituted(key: &(String, String)) -> bool {
    !key.1.is_empty() && key.0 != key.1
}

/// The routing mix rows: every route of either period, this period's most
/// requested first.
pub fn mix_rows(report: &Report) -> Vec<Record> {
    let all = |routes: &[Aggregate]| routes.iter().map(|r| r.totals.requests).sum::<i64>();
    let (now_all, before_all) = (all(&report.routes), all(&report.previous_routes));
    let mut keys: Vec<&(String, String)> = report.routes.iter().map(|r| &r.group).collect();
    for route in &report.previous_routes {
        if !keys.contains(&&route.group) {
            keys.push(&route.group);
        }
    }
    keys.into_iter()
        .map(|key| {
            let now = requests_of(&report.routes, key);
            let before = requests_of(&report.previous_routes, key);
            let savings = report
                .routes
                .iter()
                .find(|r| &r.group == key)
                .map(|r| r.totals.savings)
                .unwrap_or_default();
            let mut record = Record::default();
            record.push("requested_model", Cell::dimension(&key.0));
            record.push("routed_model", Cell::dimension(&key.1));
            record.push("substituted", Cell::Bool(substituted(key)));
            record.push("requests", Cell::Int(now));
            record.push("share_pct", Cell::opt_text(share(now, now_all)));
            record.push("previous_requests", Cell::Int(before));
            record.push(
                "previous_share_pct",
                Cell::opt_text(share(before, before_all)),
            );
            record.push("savings_usd", Cell::Text(savings.usd()));
            record
        })
        .collect()
}

/// Requests served by another model than asked, in percent of all.
pub fn substitution_rate(routes: &[Aggregate]) -> Option<String> {
    let all: i64 = routes.iter().map(|r| r.totals.requests).sum();
    let swapped: i64 = routes
        .iter()
        .filter(|r| substituted(&r.group))
        .map(|r| r.totals.requests)
        .sum();
    share(swapped, all)
}

fn roi_json(roi: &RoiToDate) -> Value {
    json!({
        "promise_version": roi.version,
        "start_month": roi.start_month.to_string(),
        "measured_savings_usd": roi.measured.usd(),
        "promised_savings_usd": roi.promised.usd(),
        "achievement_pct": percent(roi.measured.0, roi.promised.0),
        "projected_year_savings_usd": roi.projected_year.usd(),
        "promised_year_savings_usd": roi.promised_year.usd(),
        "complete_months": roi.complete_months,
        "months": roi.months,
    })
}

/// The report as JSON.
pub fn json(report: &Report) -> Value {
    let (period, previous) = (report.period, report.period.previous());
    let now = figures(&report.current);
    let before = figures(&report.previous);
    let (c, p) = (&report.current.totals, &report.previous.totals);
    let reliability = json!({
        "error_rate_pct": value(cell(&now, "error_rate_pct")),
        "previous_error_rate_pct": value(cell(&before, "error_rate_pct")),
        "failover_rate_pct": value(cell(&now, "failover_rate_pct")),
        "previous_failover_rate_pct": value(cell(&before, "failover_rate_pct")),
        "latency_p50_ms": value(cell(&now, "latency_p50_ms")),
        "previous_latency_p50_ms": value(cell(&before, "latency_p50_ms")),
        "latency_p95_ms": value(cell(&now, "latency_p95_ms")),
        "previous_latency_p95_ms": value(cell(&before, "latency_p95_ms")),
    });
    let daily: Vec<Value> = report
        .days
        .iter()
        .map(|(day, figures)| {
            json!({
                "day": day.to_string(),
                "requests": figures.totals.requests,
                "spend_usd": figures.totals.cost.usd(),
                "baseline_usd": figures.totals.baseline.usd(),
                "savings_usd": figures.totals.savings.usd(),
            })
        })
        .collect();
    json!({
        "tenant": report.tenant,
        "period": period.name(),
        "kind": period.kind.as_str(),
        "from": period.start.to_string(),
        "to": period.end.to_string(),
        "days_are": "UTC",
        "complete": report.complete,
        "figures": now,
        "previous": {
            "period": previous.name(),
            "from": previous.start.to_string(),
            "to": previous.end.to_string(),
            "figures": before,
        },
        "changes": {
            "spend_change_pct": change(c.cost.0, p.cost.0),
            "savings_change_pct": change(c.savings.0, p.savings.0),
            "requests_change_pct": change(i128::from(c.requests), i128::from(p.requests)),
        },
        "top_models": report.top_models.iter().map(|g| row("requested_model", g)).collect::<Vec<_>>(),
        "top_teams": report.top_teams.iter().map(|g| row("team", g)).collect::<Vec<_>>(),
        "routing_mix": {
            "substitution_rate_pct": substitution_rate(&report.routes),
            "previous_substitution_rate_pct": substitution_rate(&report.previous_routes),
            "routes": mix_rows(report),
        },
        "reliability": reliability,
        "daily": daily,
        "roi_to_date": report.roi.as_ref().map(roi_json),
    })
}

/// The rows of the CSV attachment: the period, the period before, each top
/// model, team and day, each with the analytics API's figures.
pub fn csv_rows(report: &Report) -> Vec<Record> {
    let labelled = |section: &str, name: String, group: &Aggregate| {
        let mut record = Record::default();
        record.push("section", Cell::Text(section.to_owned()));
        record.push("name", Cell::Label(name));
        record.extend(figures(group));
        record
    };
    let mut rows = vec![
        labelled("period", report.period.name(), &report.current),
        labelled(
            "previous_period",
            report.period.previous().name(),
            &report.previous,
        ),
    ];
    for group in &report.top_models {
        rows.push(labelled("model", group.group.0.clone(), group));
    }
    for group in &report.top_teams {
        rows.push(labelled("team", group.group.0.clone(), group));
    }
    for (day, group) in &report.days {
        rows.push(labelled("day", day.to_string(), group));
    }
    rows
}
