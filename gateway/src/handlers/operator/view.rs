//! One tenant of the operator's view as a record: the JSON object and the CSV
//! row are written from the same cells (money as exact decimal text,
//! percentages as text with two decimals, like the analytics API). The JSON
//! adds what a CSV cell cannot hold: each figure's trend, the health
//! components and the reasons behind the flags.

use analytics::operator::health::{trend, Components, FULL};
use analytics::operator::rows::{OperatorRow, Period};
use pricing::Cost;
use serde::Serialize;
use serde_json::{json, Value};

use crate::handlers::analytics_api::figures::{money, percent, Cell, Record};

/// Flag names.
pub const CHURN_RISK: &str = "churn_risk";
pub const EXPANSION: &str = "expansion";

/// The flags of a row, in a fixed order.
pub fn flags(row: &OperatorRow) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if row.churn_risk {
        flags.push(CHURN_RISK);
    }
    if !row.expansion.is_empty() {
        flags.push(EXPANSION);
    }
    flags
}

/// The cells both formats carry, in column order.
pub fn record(row: &OperatorRow) -> Record {
    let p = &row.current;
    let mut record = Record::default();
    record.push("tenant", Cell::Label(row.tenant_id.clone()));
    record.push("name", row.name.clone().map_or(Cell::Null, Cell::Label));
    money(&mut record, p.spend, p.baseline, p.savings);
    record.push("requests", Cell::Int(p.requests));
    record.push("errors", Cell::Int(p.errors));
    record.push("unpriced_requests", Cell::Int(p.unpriced));
    record.push(
        "error_rate_pct",
        Cell::opt_text(percent(p.errors.into(), p.requests.into())),
    );
    record.push("active_keys", Cell::Int(p.active_keys));
    record.push("keys", Cell::Int(row.keys));
    record.push("keys_used_7d", Cell::Int(row.keys_used_7d));
    record.push(
        "adoption_pct",
        Cell::opt_text(percent(row.keys_used_7d.into(), row.keys.into())),
    );
    record.push("teams", Cell::Int(p.teams));
    record.push("health_score", Cell::Int(row.health_score));
    record.push("flags", Cell::Text(flags(row).join(" ")));
    record
}

/// A component in basis points as a percentage with two decimals.
fn pct(bp: Option<i64>) -> Value {
    bp.and_then(|bp| percent(bp.into(), FULL.into()))
        .map_or(Value::Null, Value::String)
}

/// The trend of one figure: its direction and the previous period's value.
fn moved(current: i128, previous: i128, shown: Value) -> Value {
    json!({"direction": trend(current, previous).name(), "previous": shown})
}

fn money_trend(now: Cost, before: Cost) -> Value {
    moved(now.0, before.0, Value::String(before.usd()))
}

fn count_trend(now: i64, before: i64) -> Value {
    moved(now.into(), before.into(), Value::from(before))
}

fn rate_trend(now: Option<i64>, before: Option<i64>) -> Value {
    moved(
        now.unwrap_or(0).into(),
        before.unwrap_or(0).into(),
        pct(before),
    )
}

fn trends(now: &Period, before: &Period) -> Value {
    json!({
        "spend_usd": money_trend(now.spend, before.spend),
        "baseline_usd": money_trend(now.baseline, before.baseline),
        "savings_usd": money_trend(now.savings, before.savings),
        "savings_pct": rate_trend(now.savings_bp, before.savings_bp),
        "requests": count_trend(now.requests, before.requests),
        "error_rate_pct": rate_trend(now.error_rate_bp, before.error_rate_bp),
        "active_keys": count_trend(now.active_keys, before.active_keys),
        "teams": count_trend(now.teams, before.teams),
    })
}

fn health(components: &Components) -> Value {
    json!({
        "adoption_pct": pct(components.adoption),
        "achievement_pct": pct(components.achievement),
        "reliability_pct": pct(components.reliability),
        "usage_pct": pct(components.usage),
    })
}

/// A row as JSON.
#[derive(Debug, Serialize)]
pub struct RowView {
    #[serde(flatten)]
    cells: Record,
    flags: Vec<&'static str>,
    trend: Value,
    health: Value,
    expansion_reasons: Vec<&'static str>,
    teams_at_budget: Vec<String>,
    seats: Option<i64>,
}

impl RowView {
    pub fn of(row: &OperatorRow) -> RowView {
        let mut cells = record(row);
        // JSON has a list of flags; the CSV's space-separated cell goes.
        cells.0.retain(|(name, _)| *name != "flags");
        RowView {
            cells,
            flags: flags(row),
            trend: trends(&row.current, &row.previous),
            health: health(&row.components),
            expansion_reasons: row.expansion.clone(),
            teams_at_budget: row.teams_at_budget.clone(),
            seats: row.seats,
        }
    }
}
