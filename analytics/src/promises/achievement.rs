//! The pure comparison of a promise with measured savings: one line per month
//! from the promise's start month to the month of `today`, each flagged with
//! why its figures are not final, and the to-date and first-year totals.
//! No IO: the store reads the rollups and hands the months in.

use chrono::{Datelike, Months, NaiveDate};
use pricing::roi::round_div;
use pricing::Cost;

use super::Promise;

/// The month of `today`: its savings are still growing.
pub const IN_PROGRESS: &str = "month_in_progress";
/// The tenant had no recorded traffic at all by the end of the month.
pub const BEFORE_FIRST_TRAFFIC: &str = "before_first_traffic";
/// The tenant's first recorded traffic came after the 1st of the month: the
/// month's savings cover only part of it.
pub const FIRST_TRAFFIC_MID_MONTH: &str = "first_traffic_mid_month";
/// Some requests of the month were served by a model without a price: their
/// savings are unknown (counted as none).
pub const UNPRICED: &str = "unpriced_requests";

/// What the rollups hold for one month of a tenant's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthMeasured {
    /// The 1st of the month.
    pub month: NaiveDate,
    /// Savings of priced requests (baseline - cost).
    pub savings: Cost,
    pub requests: i64,
    pub unpriced: i64,
}

/// One month of a promise: promised against measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthAchievement {
    /// The 1st of the month.
    pub month: NaiveDate,
    pub promised_gross: Cost,
    pub promised_net: Cost,
    /// The tenant's savings in the month, priced traffic only.
    pub measured_savings: Cost,
    pub fee: Cost,
    /// `measured_savings - fee`.
    pub achieved_net: Cost,
    /// `measured / promised gross x 10000`, rounded half away from zero;
    /// `None` when the promised gross is not positive.
    pub achievement_basis_points: Option<i64>,
    /// No reason to doubt the month's figures.
    pub complete: bool,
    /// Why it is not complete: [`IN_PROGRESS`], [`BEFORE_FIRST_TRAFFIC`],
    /// [`FIRST_TRAFFIC_MID_MONTH`], [`UNPRICED`] (in that order).
    pub incomplete_reasons: Vec<&'static str>,
}

/// A promise and how it is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Achievement {
    pub promise: Promise,
    /// `start_month ..= ` the month of today (empty before the start month).
    pub months: Vec<MonthAchievement>,
    /// Measured savings of every month listed (incomplete ones included).
    pub to_date_measured: Cost,
    /// The promised gross of every month listed (the month in progress counts
    /// whole).
    pub to_date_promised: Cost,
    /// The first 12 months from the start month: measured savings of the
    /// complete ones plus their average for each other month; zero while no
    /// month is complete.
    pub projected_year_savings: Cost,
    /// 12 x the promised gross.
    pub promised_year_savings: Cost,
}

/// The 1st of the month holding `day`.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Compares `promise` with `measured` (months without an entry had no
/// traffic). `first_traffic` is the tenant's first day with recorded traffic,
/// ever (`None`: none yet).
pub fn achievement(
    promise: Promise,
    measured: &[MonthMeasured],
    first_traffic: Option<NaiveDate>,
    today: NaiveDate,
) -> Achievement {
    let current = month_of(today);
    let mut months = Vec::new();
    let mut month = promise.start_month;
    while month <= current {
        let figures = measured
            .iter()
            .find(|m| m.month == month)
            .copied()
            .unwrap_or(MonthMeasured {
                month,
                ..MonthMeasured::default()
            });
        months.push(month_line(&promise, &figures, first_traffic, current));
        match month.checked_add_months(Months::new(1)) {
            Some(next) => month = next,
            None => break,
        }
    }
    let to_date_measured = months.iter().map(|m| m.measured_savings).sum();
    let to_date_promised = Cost(promise.promised_gross_monthly.0 * months.len() as i128);
    let projected_year_savings = project_year(&months);
    Achievement {
        promised_year_savings: Cost(promise.promised_gross_monthly.0 * 12),
        promise,
        months,
        to_date_measured,
        to_date_promised,
        projected_year_savings,
    }
}

fn month_line(
    promise: &Promise,
    figures: &MonthMeasured,
    first_traffic: Option<NaiveDate>,
    current: NaiveDate,
) -> MonthAchievement {
    let month = figures.month;
    let mut reasons = Vec::new();
    if month == current {
        reasons.push(IN_PROGRESS);
    }
    match first_traffic.map(month_of) {
        Some(first) if first < month => {}
        Some(first) if first == month => {
            if first_traffic != Some(month) {
                reasons.push(FIRST_TRAFFIC_MID_MONTH);
            }
        }
        _ => reasons.push(BEFORE_FIRST_TRAFFIC),
    }
    if figures.unpriced > 0 {
        reasons.push(UNPRICED);
    }
    let gross = promise.promised_gross_monthly;
    let fee = promise.fee_monthly;
    MonthAchievement {
        month,
        promised_gross: gross,
        promised_net: gross - fee,
        measured_savings: figures.savings,
        fee,
        achieved_net: figures.savings - fee,
        achievement_basis_points: basis_points(figures.savings, gross),
        complete: reasons.is_empty(),
        incomplete_reasons: reasons,
    }
}

/// `measured / promised x 10000`, rounded half away from zero; `None` when
/// `promised` is not positive.
pub fn basis_points(measured: Cost, promised: Cost) -> Option<i64> {
    if promised <= Cost::ZERO {
        return None;
    }
    let ratio = round_div(measured.0.saturating_mul(10_000), promised.0);
    Some(i64::try_from(ratio).unwrap_or(if ratio < 0 { i64::MIN } else { i64::MAX }))
}

/// See [`Achievement::projected_year_savings`].
fn project_year(months: &[MonthAchievement]) -> Cost {
    let first_year = &months[..months.len().min(12)];
    let complete: Vec<Cost> = first_year
        .iter()
        .filter(|m| m.complete)
        .map(|m| m.measured_savings)
        .collect();
    let count = complete.len() as i128;
    if count == 0 {
        return Cost::ZERO;
    }
    let sum: Cost = complete.into_iter().sum();
    let remaining = 12 - count;
    Cost(sum.0 + round_div(sum.0 * remaining, count))
}

#[cfg(test)]
#[path = "achievement_tests.rs"]
mod tests;
