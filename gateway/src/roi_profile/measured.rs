//! Measured mode: the worksheet over a tenant's own recorded traffic, read from
//! the daily rollups (never raw events). The baseline sum (what the requested
//! models would have cost at list price) is the current cost, the cost sum
//! (what routing actually paid) the optimized one, both scaled from the window
//! to a 30-day month. Both sums cover priced requests only: a request served by
//! a model without a price has no known cost, so it is left out of both sides
//! (never counted as a free request that saved its whole baseline) and reported
//! as `unpriced_requests`.

use analytics::store::queries::{Filter, GroupBy};
use analytics::store::{Store, StoreError};
use chrono::NaiveDate;
use pricing::roi::{self, Worksheet};
use pricing::Cost;

use super::{report, InputError, Measured, Report, MAX_MEASURED_DAYS};
use crate::clock;

/// A measured ROI: who, for how many seats at what price, over how many days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    pub tenant: String,
    /// The tenant's rows measured: a team's or a key's only, for a key that
    /// reads no more (its `team` and `key`); the whole tenant by default.
    pub filter: Filter,
    pub seats: u64,
    pub price_per_seat: Cost,
    pub days: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The `days` whole UTC days before `today`.
pub fn window(today: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    let to = today.pred_opt().unwrap_or(today);
    let from = to - chrono::Days::new(u64::from(days.saturating_sub(1)));
    (from, to)
}

/// The worksheet over a tenant's recorded traffic of the last `days` whole days
/// (yesterday back), from the daily rollups: the baseline sum is the current
/// cost, the cost sum the optimized one, both scaled to a 30-day month.
pub async fn measure(store: &Store, input: &Measurement) -> Result<Report, MeasureError> {
    roi::check_seats("seats", input.seats).map_err(InputError::from)?;
    roi::check_amount("price_per_seat", input.price_per_seat).map_err(InputError::from)?;
    if !(1..=MAX_MEASURED_DAYS).contains(&input.days) {
        return Err(InputError::new(
            "days",
            format!(
                "`days` must be a whole number from 1 to {MAX_MEASURED_DAYS}; got {}.",
                input.days
            ),
        )
        .into());
    }
    let (y, m, d) = clock::today().ymd();
    let today = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let (from, to) = window(today, input.days);
    let totals = store
        .aggregate(&input.tenant, from, to, &input.filter, GroupBy::Total)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default()
        .totals;
    let roi = Worksheet {
        seats: input.seats,
        price_per_seat: input.price_per_seat,
        current_monthly: roi::scale_to_month(totals.baseline, input.days),
        optimized_monthly: roi::scale_to_month(totals.cost, input.days),
    }
    .compute()
    .map_err(InputError::from)?;
    let mut report = report("measured", input.seats, input.price_per_seat, &roi);
    report.measured = Some(Measured {
        tenant: input.tenant.clone(),
        team: input.filter.team.clone(),
        key: input.filter.key.clone(),
        from,
        to,
        days: input.days,
        requests: totals.requests,
        prompt_tokens: totals.prompt_tokens,
        completion_tokens: totals.completion_tokens,
        cost: totals.cost.usd(),
        baseline_cost: totals.baseline.usd(),
        unpriced_requests: totals.unpriced,
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_whole_days_ending_yesterday() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let (from, to) = window(today, 7);
        assert_eq!(to, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(from, NaiveDate::from_ymd_opt(2026, 2, 22).unwrap());
        assert_eq!(window(today, 1), (to, to));
    }
}
