//! The answers' shapes: a promise, and its achievement as JSON (one object)
//! or CSV (one row per month). Money is exact decimal USD text; achievement
//! is a percentage with two places (basis points / 100), null when nothing
//! positive was promised.

use analytics::promises::{basis_points, Achievement, MonthAchievement, Promise};
use chrono::{DateTime, NaiveDate};
use pricing::Cost;
use serde::Serialize;
use serde_json::Value;

use crate::handlers::analytics_api::{Answer, Cell, Record, Table};

/// One version of a promise.
#[derive(Debug, Serialize)]
pub struct PromiseView {
    pub tenant: String,
    pub version: i64,
    pub created_at: String,
    pub created_by: String,
    /// `YYYY-MM`.
    pub start_month: String,
    pub seats: i64,
    pub fee_monthly_usd: String,
    pub promised_gross_monthly_usd: String,
    pub promised_net_monthly_usd: String,
    /// The worksheet request as given.
    pub inputs: Value,
}

impl PromiseView {
    pub fn of(promise: &Promise) -> PromiseView {
        PromiseView {
            tenant: promise.tenant_id.clone(),
            version: promise.version,
            created_at: DateTime::from_timestamp_millis(promise.created_at_ms)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            created_by: promise.created_by.clone(),
            start_month: month(promise.start_month),
            seats: promise.seats,
            fee_monthly_usd: promise.fee_monthly.usd(),
            promised_gross_monthly_usd: promise.promised_gross_monthly.usd(),
            promised_net_monthly_usd: promise.promised_net_monthly().usd(),
            inputs: serde_json::from_str(&promise.inputs)
                .unwrap_or_else(|_| Value::String(promise.inputs.clone())),
        }
    }
}

/// `GET /api/v1/roi/promises`.
#[derive(Debug, Serialize)]
pub struct PromiseList {
    pub tenant: String,
    pub data: Vec<PromiseView>,
}

/// One month of the achievement.
#[derive(Debug, Serialize)]
pub struct MonthView {
    pub month: String,
    pub promised_gross_usd: String,
    pub promised_net_usd: String,
    pub measured_savings_usd: String,
    pub fee_usd: String,
    pub achieved_net_usd: String,
    pub achievement_pct: Option<String>,
    pub complete: bool,
    pub incomplete_reasons: Vec<&'static str>,
}

impl MonthView {
    fn of(line: &MonthAchievement) -> MonthView {
        MonthView {
            month: month(line.month),
            promised_gross_usd: line.promised_gross.usd(),
            promised_net_usd: line.promised_net.usd(),
            measured_savings_usd: line.measured_savings.usd(),
            fee_usd: line.fee.usd(),
            achieved_net_usd: line.achieved_net.usd(),
            achievement_pct: line.achievement_basis_points.map(percent),
            complete: line.complete,
            incomplete_reasons: line.incomplete_reasons.clone(),
        }
    }
}

/// `GET /api/v1/roi/achievement`; without a promise, `promise` is null, the
/// months empty and the totals null.
#[derive(Debug, Serialize)]
pub struct AchievementView {
    pub tenant: String,
    /// The day the figures are as of (UTC).
    pub as_of: NaiveDate,
    pub promise: Option<PromiseView>,
    pub months: Vec<MonthView>,
    pub to_date_measured_usd: Option<String>,
    pub to_date_promised_usd: Option<String>,
    pub to_date_achievement_pct: Option<String>,
    pub projected_year_savings_usd: Option<String>,
    pub promised_year_savings_usd: Option<String>,
    /// Complete months of the first 12 the projection stands on.
    pub projection_basis_months: Option<usize>,
}

impl AchievementView {
    pub fn of(tenant: &str, as_of: NaiveDate, achievement: Option<&Achievement>) -> Self {
        let usd = |pick: fn(&Achievement) -> Cost| achievement.map(|a| pick(a).usd());
        AchievementView {
            tenant: tenant.to_owned(),
            as_of,
            promise: achievement.map(|a| PromiseView::of(&a.promise)),
            months: achievement
                .map(|a| a.months.iter().map(MonthView::of).collect())
                .unwrap_or_default(),
            to_date_measured_usd: usd(|a| a.to_date_measured),
            to_date_promised_usd: usd(|a| a.to_date_promised),
            to_date_achievement_pct: achievement
                .and_then(|a| basis_points(a.to_date_measured, a.to_date_promised))
                .map(percent),
            projected_year_savings_usd: usd(|a| a.projected_year_savings),
            promised_year_savings_usd: usd(|a| a.promised_year_savings),
            projection_basis_months: achievement
                .map(|a| a.months.iter().take(12).filter(|m| m.complete).count()),
        }
    }
}

const COLUMNS: &[&str] = &[
    "tenant",
    "promise_version",
    "month",
    "promised_gross_usd",
    "promised_net_usd",
    "measured_savings_usd",
    "fee_usd",
    "achieved_net_usd",
    "achievement_pct",
    "complete",
    "incomplete_reasons",
];

impl Answer for AchievementView {
    fn file_name(&self) -> String {
        format!("roi-achievement-{}", self.as_of)
    }

    fn table(&self) -> Table {
        let version = self.promise.as_ref().map_or(0, |p| p.version);
        let rows = self
            .months
            .iter()
            .map(|m| {
                let cells = [
                    Cell::Label(self.tenant.clone()),
                    Cell::Int(version),
                    Cell::Text(m.month.clone()),
                    Cell::Text(m.promised_gross_usd.clone()),
                    Cell::Text(m.promised_net_usd.clone()),
                    Cell::Text(m.measured_savings_usd.clone()),
                    Cell::Text(m.fee_usd.clone()),
                    Cell::Text(m.achieved_net_usd.clone()),
                    Cell::opt_text(m.achievement_pct.clone()),
                    Cell::Bool(m.complete),
                    Cell::Text(m.incomplete_reasons.join(";")),
                ];
                Record(COLUMNS.iter().copied().zip(cells).collect())
            })
            .collect();
        Table {
            columns: COLUMNS.to_vec(),
            rows,
        }
    }
}

/// `YYYY-MM`.
fn month(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

/// Basis points as a percentage with two places (`8658` is `86.58`).
fn percent(basis_points: i64) -> String {
    let sign = if basis_points < 0 { "-" } else { "" };
    let magnitude = basis_points.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_read_as_percentages() {
        for (points, text) in [
            (8_658, "86.58"),
            (10_000, "100.00"),
            (5, "0.05"),
            (0, "0.00"),
            (-3_333, "-33.33"),
            (-5, "-0.05"),
            (123_456, "1234.56"),
        ] {
            assert_eq!(percent(points), text, "{points}");
        }
    }
}
