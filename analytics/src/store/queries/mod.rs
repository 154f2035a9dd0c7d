//! Analytics reads over the rollups, the same for both stores: totals of a
//! tenant's days grouped by nothing, by day, by one dimension or by substitution
//! (requested model to routed model), each with its latency histogram, under
//! optional filters. Reads touch `usage_daily` and `usage_daily_latency` only,
//! never raw events; Postgres reads run through Row-Level Security
//! ([`PostgresStore::tenant_transaction`](super::postgres::PostgresStore::tenant_transaction)).
//!
//! Also here: the rollup of the latency histogram (from raw events, like the
//! daily rollup it sits beside) and its retention. Weeks and months are folded
//! from days by the caller ([`fold_periods`]), so a range that starts or ends
//! mid-week counts exactly its own days.
//!
//! Every statement is constant SQL with binds; the only fragments chosen at run
//! time are constants picked by [`GroupBy`].

pub mod latency;
mod postgres;
mod sqlite;

use std::collections::BTreeMap;
use std::ops::AddAssign;

use chrono::{Datelike, Days, Months, NaiveDate};
use pricing::Cost;

pub use latency::LatencyHistogram;

use super::{Store, StoreError};

/// Rows to include; `None` matches everything. Missing team or provider is `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub team: Option<String>,
    pub key: Option<String>,
    /// Matches the requested or the routed model.
    pub model: Option<String>,
    pub provider: Option<String>,
}

/// How rows are grouped. Each group is named by two strings (the second is
/// `""` unless the grouping has two parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One group, `("", "")`; no group at all when no row matched.
    Total,
    /// By UTC day, `("YYYY-MM-DD", "")`.
    Day,
    RequestedModel,
    RoutedModel,
    Provider,
    Key,
    Team,
    /// `(requested_model, routed_model)`.
    Substitution,
}

/// Sums over rollup rows. Money is exact ([`Cost`] is pico-USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: i64,
    /// Requests with status >= 400 or an error kind.
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost: Cost,
    pub baseline: Cost,
    /// `baseline - cost`.
    pub savings: Cost,
    pub latency_ms_sum: i64,
    pub latency_count: i64,
    /// Requests that needed more than one provider attempt.
    pub failovers: i64,
    /// Requests served by a model without a price: counted in `requests` and the
    /// token sums, left out of `cost`, `baseline` and `savings` (their cost is
    /// unknown, so they can claim no saving).
    pub unpriced: i64,
}

impl AddAssign for Totals {
    fn add_assign(&mut self, other: Totals) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cached_tokens += other.cached_tokens;
        self.cost += other.cost;
        self.baseline += other.baseline;
        self.savings += other.savings;
        self.latency_ms_sum += other.latency_ms_sum;
        self.latency_count += other.latency_count;
        self.failovers += other.failovers;
        self.unpriced += other.unpriced;
    }
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate {
    pub group: (String, String),
    pub totals: Totals,
    pub latency: LatencyHistogram,
}

impl Aggregate {
    pub fn add(&mut self, other: &Aggregate) {
        self.totals += other.totals;
        self.latency.merge(&other.latency);
    }
}

/// Calendar periods for series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// Weeks start on Monday.
    Week,
    /// Months start on the 1st.
    Month,
}

/// One period of a series: `start..=end` are the days of the range inside the
/// calendar period that begins on `period`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodAggregate {
    pub period: NaiveDate,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub figures: Aggregate,
}

impl Store {
    /// A tenant's figures over the days `from..=to`, filtered and grouped, in
    /// ascending group order.
    pub async fn aggregate(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        filter: &Filter,
        by: GroupBy,
    ) -> Result<Vec<Aggregate>, StoreError> {
        if to < from {
            return Ok(Vec::new());
        }
        let (totals, histograms) = match self {
            Store::Postgres(store) => {
                postgres::aggregate(store, tenant_id, from, to, filter, by).await?
            }
            Store::Sqlite(store) => {
                sqlite::aggregate(store, tenant_id, from, to, filter, by).await?
            }
        };
        Ok(merge(totals, histograms))
    }

    /// A tenant's series over `from..=to`: one point per period touching the
    /// range, periods without traffic included (as zeros).
    pub async fn series(
        &self,
        tenant_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        filter: &Filter,
        interval: Interval,
    ) -> Result<Vec<PeriodAggregate>, StoreError> {
        let days = self
            .aggregate(tenant_id, from, to, filter, GroupBy::Day)
            .await?;
        Ok(fold_periods(&days, from, to, interval))
    }

    /// Rebuilds the latency histogram of the days `from..=to` that still have
    /// their raw events (the rule of the daily rollup). Idempotent.
    pub async fn rollup_latency(&self, from: NaiveDate, to: NaiveDate) -> Result<(), StoreError> {
        match self {
            Store::Postgres(store) => postgres::rollup_latency(store, from, to).await,
            Store::Sqlite(store) => sqlite::rollup_latency(store, from, to).await,
        }
    }

    /// Deletes latency histograms of days before `today - retention_days`, as the
    /// aggregate retention does for `usage_daily`.
    pub async fn drop_latency_older_than(
        &self,
        today: NaiveDate,
        retention_days: u32,
    ) -> Result<u64, StoreError> {
        let cutoff = today
            .checked_sub_days(Days::new(u64::from(retention_days)))
            .ok_or_else(|| StoreError::Rejected(format!("{retention_days} days before {today}")))?;
        match self {
            Store::Postgres(store) => postgres::drop_latency_before(store, cutoff).await,
            Store::Sqlite(store) => sqlite::drop_latency_before(store, cutoff).await,
        }
    }
}

/// Joins totals and histograms on their group.
fn merge(
    totals: Vec<((String, String), Totals)>,
    histograms: Vec<((String, String), u16, u64)>,
) -> Vec<Aggregate> {
    let mut groups: BTreeMap<(String, String), Aggregate> = totals
        .into_iter()
        .map(|(group, totals)| {
            let aggregate = Aggregate {
                group: group.clone(),
                totals,
                latency: LatencyHistogram::default(),
            };
            (group, aggregate)
        })
        .collect();
    for (group, bucket, requests) in histograms {
        // A histogram without its totals row (a rollup in between) is left out.
        if let Some(aggregate) = groups.get_mut(&group) {
            aggregate.latency.add(bucket, requests);
        }
    }
    groups.into_values().collect()
}

/// The first day of the calendar period holding `day`.
pub fn period_of(day: NaiveDate, interval: Interval) -> NaiveDate {
    match interval {
        Interval::Day => day,
        Interval::Week => day
            .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
            .unwrap_or(NaiveDate::MIN),
        Interval::Month => day.with_day(1).unwrap_or(day),
    }
}

/// The last day of the calendar period beginning on `period`.
fn period_end(period: NaiveDate, interval: Interval) -> NaiveDate {
    let next = match interval {
        Interval::Day => period.succ_opt(),
        Interval::Week => period.checked_add_days(Days::new(7)),
        Interval::Month => period.checked_add_months(Months::new(1)),
    };
    next.and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// Folds per-day aggregates (groups named `("YYYY-MM-DD", "")`) into one point
/// per period of `interval` touching `from..=to`, zeros where nothing happened.
pub fn fold_periods(
    days: &[Aggregate],
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> Vec<PeriodAggregate> {
    let mut points: Vec<PeriodAggregate> = Vec::new();
    let mut period = period_of(from, interval);
    while period <= to {
        let end = period_end(period, interval);
        points.push(PeriodAggregate {
            period,
            start: period.max(from),
            end: end.min(to),
            figures: Aggregate {
                group: (period.to_string(), String::new()),
                ..Aggregate::default()
            },
        });
        match end.succ_opt() {
            Some(next) => period = next,
            None => break,
        }
    }
    for day in days {
        let Ok(date) = day.group.0.parse::<NaiveDate>() else {
            continue;
        };
        let start = period_of(date, interval);
        if let Ok(at) = points.binary_search_by_key(&start, |point| point.period) {
            points[at].figures.add(day);
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn day(text: &str, requests: i64) -> Aggregate {
        Aggregate {
            group: (text.to_owned(), String::new()),
            totals: Totals {
                requests,
                cost: Cost(i128::from(requests)),
                ..Totals::default()
            },
            latency: LatencyHistogram::default(),
        }
    }

    #[test]
    fn weeks_start_on_monday_and_are_clipped_to_the_range() {
        // 2026-11-25 is a Wednesday.
        let days = [
            day("2026-11-25", 1),
            day("2026-11-29", 2),
            day("2026-12-01", 4),
        ];
        let weeks = fold_periods(&days, d("2026-11-25"), d("2026-12-02"), Interval::Week);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].period, d("2026-11-23"));
        assert_eq!(
            (weeks[0].start, weeks[0].end),
            (d("2026-11-25"), d("2026-11-29"))
        );
        assert_eq!(weeks[0].figures.totals.requests, 3);
        assert_eq!(weeks[1].period, d("2026-11-30"));
        assert_eq!(
            (weeks[1].start, weeks[1].end),
            (d("2026-11-30"), d("2026-12-02"))
        );
        assert_eq!(weeks[1].figures.totals.cost, Cost(4));

        let months = fold_periods(&days, d("2026-11-25"), d("2026-12-02"), Interval::Month);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].period, d("2026-11-01"));
        assert_eq!(months[0].end, d("2026-11-30"));
        assert_eq!(months[1].figures.totals.requests, 4);

        let daily = fold_periods(&days, d("2026-11-24"), d("2026-11-26"), Interval::Day);
        let requests: Vec<i64> = daily.iter().map(|p| p.figures.totals.requests).collect();
        assert_eq!(requests, [0, 1, 0]);
    }

    #[test]
    fn histograms_join_their_totals() {
        let key = |a: &str| (a.to_owned(), String::new());
        let merged = merge(
            vec![(key("b"), Totals::default()), (key("a"), Totals::default())],
            vec![(key("a"), 3, 2), (key("zz"), 1, 1)],
        );
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].group, key("a"));
        assert_eq!(merged[0].latency.requests(), 2);
        assert_eq!(merged[1].latency.requests(), 0);
    }
}
