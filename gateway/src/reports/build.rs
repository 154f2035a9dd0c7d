//! A report is a plain value read from the rollups: a tenant's figures for one
//! period and the one before, its top requested models and teams, the routing
//! mix of both periods, the spend of each day, and its ROI promise against
//! what it measured ([`Store::achievement`], as of the period's last day).
//! [`build`] reads it (every read is a [`Store::aggregate`], the analytics
//! API's own query, under the same filter, so the figures equal the API's);
//! the renderers are pure functions of it.

use std::cmp::Reverse;

use analytics::promises::Achievement;
use analytics::store::queries::{Aggregate, Filter, GroupBy};
use analytics::store::{Store, StoreError};
use chrono::NaiveDate;

use super::period::Period;

/// Rows in the top models and top teams.
pub const TOP: usize = 5;

/// A tenant's measured ROI against its latest promise, to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoiToDate {
    /// The promise's version.
    pub version: i64,
    pub start_month: NaiveDate,
    pub measured: pricing::Cost,
    pub promised: pricing::Cost,
    pub projected_year: pricing::Cost,
    pub promised_year: pricing::Cost,
    /// Months of the promise with complete figures so far.
    pub complete_months: usize,
    pub months: usize,
}

/// Everything a report says.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub tenant: String,
    pub period: Period,
    /// Whether the period has ended (UTC) when the report was read.
    pub complete: bool,
    pub current: Aggregate,
    pub previous: Aggregate,
    /// By requested model, most spend first, at most [`TOP`].
    pub top_models: Vec<Aggregate>,
    /// By team (`""`: keys without a team), most spend first.
    pub top_teams: Vec<Aggregate>,
    /// (requested model, routed model) routes of the period and the one
    /// before, most requests first.
    pub routes: Vec<Aggregate>,
    pub previous_routes: Vec<Aggregate>,
    /// One per day of the period, days without traffic as zeros.
    pub days: Vec<(NaiveDate, Aggregate)>,
    pub roi: Option<RoiToDate>,
}

fn most_spend(mut groups: Vec<Aggregate>) -> Vec<Aggregate> {
    groups.sort_by(|a, b| {
        (Reverse(a.totals.cost), Reverse(a.totals.requests), &a.group).cmp(&(
            Reverse(b.totals.cost),
            Reverse(b.totals.requests),
            &b.group,
        ))
    });
    groups.truncate(TOP);
    groups
}

fn most_requests(mut groups: Vec<Aggregate>) -> Vec<Aggregate> {
    groups.sort_by(|a, b| {
        (Reverse(a.totals.requests), &a.group).cmp(&(Reverse(b.totals.requests), &b.group))
    });
    groups
}

/// Reads `tenant`'s report of `period` (the rows `filter` keeps) as of `today`.
pub async fn build(
    store: &Store,
    tenant: &str,
    period: Period,
    filter: &Filter,
    today: NaiveDate,
) -> Result<Report, StoreError> {
    let previous = period.previous();
    let read = |period: Period, by| store.aggregate(tenant, period.start, period.end, filter, by);
    let total = |groups: Vec<Aggregate>| groups.into_iter().next().unwrap_or_default();
    let current = total(read(period, GroupBy::Total).await?);
    let before = total(read(previous, GroupBy::Total).await?);
    let top_models = most_spend(read(period, GroupBy::RequestedModel).await?);
    let top_teams = most_spend(read(period, GroupBy::Team).await?);
    let routes = most_requests(read(period, GroupBy::Substitution).await?);
    let previous_routes = most_requests(read(previous, GroupBy::Substitution).await?);
    let by_day = read(period, GroupBy::Day).await?;
    // A promise is the tenant's: shown to readers of the whole tenant only.
    let roi = if *filter == Filter::default() {
        let as_of = period.end.min(today);
        store
            .achievement(tenant, as_of)
            .await?
            .map(|a| roi_to_date(&a))
    } else {
        None
    };
    let days = period
        .days()
        .into_iter()
        .map(|day| {
            let name = day.to_string();
            let figures = by_day
                .iter()
                .find(|g| g.group.0 == name)
                .cloned()
                .unwrap_or_default();
            (day, figures)
        })
        .collect();
    Ok(Report {
        tenant: tenant.to_owned(),
        period,
        complete: period.end < today,
        current,
        previous: before,
        top_models,
        top_teams,
        routes,
        previous_routes,
        days,
        roi,
    })
}

fn roi_to_date(achievement: &Achievement) -> RoiToDate {
    RoiToDate {
        version: achievement.promise.version,
        start_month: achievement.promise.start_month,
        measured: achievement.to_date_measured,
        promised: achievement.to_date_promised,
        projected_year: achievement.projected_year_savings,
        promised_year: achievement.promised_year_savings,
        complete_months: achievement.months.iter().filter(|m| m.complete).count(),
        months: achievement.months.len(),
    }
}
