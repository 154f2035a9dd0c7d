//! The demo tenant's ROI promise, so the savings page shows "Promised vs
//! achieved": saved once per data directory (a later run finds it), as sales
//! would record it after a trial: the monthly costs the history measured
//! (baseline as today's cost, routed cost as the optimized one), 20 seats at a
//! price that takes a tenth of the gross savings, from the history's first month.

use analytics::promises::month_of;
use analytics::store::queries::{Filter, GroupBy};
use analytics::store::{Store, StoreError};
use chrono::NaiveDate;
use pricing::roi::{scale_to_month, Worksheet};
use pricing::Cost;
use serde_json::json;

use crate::roi_profile::{self, Signing};

const TENANT: &str = "acme";
const SEATS: u64 = 20;
/// One cent in pico-USD.
const CENT: i128 = 10_000_000_000;

/// Saves the promise unless the tenant has one; `first..=last` is the history.
pub async fn ensure(store: &Store, first: NaiveDate, last: NaiveDate) -> Result<(), StoreError> {
    if store.latest_promise(TENANT).await?.is_some() || last < first {
        return Ok(());
    }
    let days = u32::try_from((last - first).num_days() + 1).unwrap_or(u32::MAX);
    let totals = store
        .aggregate(TENANT, first, last, &Filter::default(), GroupBy::Total)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default()
        .totals;
    let current = scale_to_month(totals.baseline, days);
    let optimized = scale_to_month(totals.cost, days);
    let tenth_per_seat = (current - optimized).0.max(0) / 10 / i128::from(SEATS);
    let sheet = Worksheet {
        seats: SEATS,
        price_per_seat: Cost(tenth_per_seat / CENT * CENT),
        current_monthly: current,
        optimized_monthly: optimized,
    };
    let Ok(roi) = sheet.compute() else {
        return Ok(());
    };
    let start = month_of(first);
    let inputs = json!({
        "tenant": TENANT, "start_month": start.format("%Y-%m").to_string(), "seats": SEATS,
        "price_per_seat": sheet.price_per_seat.usd(), "current_monthly_cost": current.usd(),
        "optimized_monthly_cost": optimized.usd(),
    });
    let signing = Signing {
        tenant: TENANT.to_owned(),
        start_month: start,
        created_by: "demo".to_owned(),
        inputs: inputs.to_string(),
    };
    roi_profile::record(store, signing, SEATS, &roi).await?;
    Ok(())
}
