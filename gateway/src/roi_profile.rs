//! ROI scenarios for `POST /api/v1/roi` and `gateway roi`: the worksheet of
//! [`pricing::roi`] fed with monthly costs given outright, with a traffic profile
//! priced and routed by the gateway's own routing table and policy, or with a
//! tenant's measured costs from the daily rollups.
//!
//! A profile is routed exactly as live traffic would be: each model's requests
//! become [`Requirements`](crate::routing::Requirements) (the profile's prompt size as an exact count, its
//! completion size as the output limit, the capabilities it names) and go
//! through [`decide`](fn@crate::routing::decide) with every provider taken as healthy, so a projection does
//! not depend on which circuit happens to be open. The current cost is the
//! requested model's list price (the decision's baseline, as on every live
//! request), the optimized cost the first choice's list price, both priced per
//! request with [`pricing::cost_of`] and multiplied by whole monthly requests.
//!
//! Here: the inputs, the report and the scenario; in `profile`, the routing of
//! a profile; in `measured`, measured mode; in `args`, the `gateway roi` flags;
//! in `promise`, saving a worked scenario as a tenant's promise.
//! JSON bodies are read by the handler (`handlers::roi`).

use chrono::NaiveDate;
use pricing::roi::{self, Roi, RoiError, Share, Worksheet};
use pricing::{Capabilities, Cost, Date};
use serde::Serialize;

use crate::routing::{Mode, Policy, RoutingTable};

mod args;
mod measured;
mod profile;
mod promise;

pub use args::{run, ArgsError};
pub use measured::{measure, window, MeasureError, Measurement};
pub use promise::{record, Signing};

pub const DEFAULT_WORKING_DAYS: u32 = 22;
pub const MAX_REQUESTS_PER_SEAT_PER_DAY: u64 = 10_000;
pub const MAX_TOKENS_PER_REQUEST: u64 = 10_000_000;
pub const DEFAULT_MEASURED_DAYS: u32 = 30;
pub const MAX_MEASURED_DAYS: u32 = 366;

/// An input refused, with the request field at fault.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub param: &'static str,
    pub message: String,
}

impl InputError {
    pub fn new(param: &'static str, message: impl Into<String>) -> InputError {
        InputError {
            param,
            message: message.into(),
        }
    }
}

impl From<RoiError> for InputError {
    fn from(error: RoiError) -> InputError {
        InputError::new(error.field(), error.to_string())
    }
}

/// One model used today and its share of the requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelShare {
    pub model: String,
    pub share: Share,
}

/// How a team uses LLMs today, per seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub requests_per_seat_per_day: u64,
    pub working_days_per_month: u32,
    /// Average tokens of one request.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// What the requests use (tools, vision, ...): only models that can serve
    /// them are candidates.
    pub capabilities: Capabilities,
    /// Shares sum to exactly 1.
    pub models: Vec<ModelShare>,
}

/// Where a scenario's monthly costs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spend {
    /// The worksheet figures, given outright.
    Given { current: Cost, optimized: Cost },
    /// A traffic profile, routed under `policy` (strict or equivalent).
    Profile(Profile),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub seats: u64,
    pub price_per_seat: Cost,
    pub spend: Spend,
}

/// The routing mode a scenario assumes: the one asked for, else the caller's
/// own; `shadow` forwards the requested model but exists to show what
/// `equivalent` would save, so it projects as `equivalent`.
pub fn scenario_mode(requested: Option<Mode>, callers: Mode) -> Mode {
    match requested.unwrap_or(callers) {
        Mode::Shadow => Mode::Equivalent,
        mode => mode,
    }
}

/// The answer, money as exact decimal USD text.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub seats: u64,
    pub price_per_seat: String,
    pub current_monthly_cost: String,
    pub optimized_monthly_cost: String,
    pub gross_monthly_savings: String,
    pub platform_fee: String,
    pub net_monthly_savings: String,
    pub annual_net_savings: String,
    /// `net / fee x 100` rounded to one decimal; null without a fee.
    pub roi_percent: Option<String>,
    /// `fee / gross x 30` rounded to one decimal; null without a fee or a saving.
    pub payback_days: Option<String>,
    /// The routing mode a profile was projected under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
    /// The day whose list prices were used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priced_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
    /// Per requested model (profile scenarios; empty otherwise).
    pub models: Vec<ModelLine>,
}

/// One requested model of a profile: where its traffic goes and what it costs
/// per month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelLine {
    pub requested_model: String,
    pub share: String,
    pub routed_provider: String,
    pub routed_model: String,
    pub route_reason: &'static str,
    pub monthly_requests: u64,
    pub monthly_prompt_tokens: u64,
    pub monthly_completion_tokens: u64,
    /// `provider/id@effective-date` of each side's prices.
    pub current_price: String,
    pub optimized_price: String,
    pub current_monthly_cost: String,
    pub optimized_monthly_cost: String,
}

/// The recorded traffic behind a measured report (window totals, not scaled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    pub tenant: String,
    /// Set when only one team's traffic was measured (the key reads its team's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Set when only one key's traffic was measured (the key reads its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: u32,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// What the traffic cost through the gateway.
    pub cost: String,
    /// What it would have cost at the requested models' list prices.
    pub baseline_cost: String,
    /// Requests (of `requests`) served by a model without a price: their cost
    /// is unknown, so they are in neither `cost` nor `baseline_cost`.
    pub unpriced_requests: i64,
}

fn report(mode: &'static str, seats: u64, price_per_seat: Cost, roi: &Roi) -> Report {
    Report {
        mode,
        seats,
        price_per_seat: price_per_seat.usd(),
        current_monthly_cost: roi.current_monthly.usd(),
        optimized_monthly_cost: roi.optimized_monthly.usd(),
        gross_monthly_savings: roi.gross_monthly.usd(),
        platform_fee: roi.platform_fee.usd(),
        net_monthly_savings: roi.net_monthly.usd(),
        annual_net_savings: roi.annual_net.usd(),
        roi_percent: roi.roi_percent.map(|r| r.to_string()),
        payback_days: roi.payback_days.map(|d| d.to_string()),
        policy: None,
        priced_on: None,
        measured: None,
        models: Vec::new(),
    }
}

/// Works a scenario. A profile is routed over `table` under `policy` (whose
/// mode should come from [`scenario_mode`]) at the list prices of `day`.
pub fn scenario(
    input: &Scenario,
    table: &RoutingTable,
    policy: &Policy,
    day: Date,
) -> Result<Report, InputError> {
    scenario_worked(input, table, policy, day).map(|(_, report)| report)
}

/// [`scenario`], with the worksheet's exact figures beside the report (a
/// promise keeps them).
pub fn scenario_worked(
    input: &Scenario,
    table: &RoutingTable,
    policy: &Policy,
    day: Date,
) -> Result<(Roi, Report), InputError> {
    roi::check_seats("seats", input.seats)?;
    roi::check_amount("price_per_seat", input.price_per_seat)?;
    let (current, optimized, lines) = match &input.spend {
        Spend::Given { current, optimized } => (*current, *optimized, Vec::new()),
        Spend::Profile(traffic) => {
            let lines = profile::project(input.seats, traffic, table, policy, day)?;
            let current = lines.iter().map(|l| l.1).sum();
            let optimized = lines.iter().map(|l| l.2).sum();
            (current, optimized, lines)
        }
    };
    let roi = Worksheet {
        seats: input.seats,
        price_per_seat: input.price_per_seat,
        current_monthly: current,
        optimized_monthly: optimized,
    }
    .compute()?;
    let mut report = report("scenario", input.seats, input.price_per_seat, &roi);
    if let Spend::Profile(_) = input.spend {
        report.policy = Some(policy.mode.as_str());
        report.priced_on = Some(day.to_string());
        report.models = lines.into_iter().map(|l| l.0).collect();
    }
    Ok((roi, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_projects_as_equivalent() {
        assert_eq!(scenario_mode(None, Mode::Shadow), Mode::Equivalent);
        assert_eq!(scenario_mode(None, Mode::Strict), Mode::Strict);
        assert_eq!(
            scenario_mode(Some(Mode::Equivalent), Mode::Strict),
            Mode::Equivalent
        );
    }
}
