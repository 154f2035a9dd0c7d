//! The operator's view across tenants (issue 11): per tenant, its traffic of
//! the last 60 days read from the daily rollups in one grouped query, folded
//! into a few disjoint age buckets so every window the view needs (7 and 30
//! days, the 7, 14 and 30 days before them, today, this month) is a sum of
//! buckets.
//!
//! - `read`: the cross-tenant read of `usage_daily` (both stores). It runs on
//!   the system side (the pool the rollups use, which sees every tenant), never
//!   on a reader bound to one tenant: only the admin API calls it.
//! - `health`: pure functions: trends, the health score and the flags.
//! - `rows`: one row per tenant from its usage, its keys and teams (the
//!   gateway's key table knows them) and its latest ROI promise.
//!
//! What does not belong here: the key table, caching and HTTP shapes (the
//! gateway's `operator` module and admin handler).

pub mod health;
mod read;
pub mod rows;

use std::ops::AddAssign;

use chrono::{Datelike, Days, NaiveDate};
use pricing::Cost;

/// How many days back the view reads (today included): two 30-day periods.
pub const DAYS_READ: u64 = 60;

/// Disjoint age buckets (age = days before today): today, 1-6, 7-13, 14-27,
/// 28-29, 30-59. Each window the view shows is a run of them.
pub const BUCKET_FIRST_AGE: [u64; 6] = [0, 1, 7, 14, 28, 30];

/// A window of days ending today (or ending where the one after it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Today and the 6 days before.
    Last7,
    /// The 7 days before [`Window::Last7`].
    Prev7,
    /// Today and the 13 days before.
    Last14,
    /// The 14 days before [`Window::Last14`].
    Prev14,
    /// Today and the 29 days before.
    Last30,
    /// The 30 days before [`Window::Last30`].
    Prev30,
    /// Today alone.
    Today,
}

impl Window {
    /// The buckets `first..=last` the window covers.
    fn buckets(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Window::Today => 0..=0,
            Window::Last7 => 0..=1,
            Window::Prev7 => 2..=2,
            Window::Last14 => 0..=2,
            Window::Prev14 => 3..=3,
            Window::Last30 => 0..=4,
            Window::Prev30 => 5..=5,
        }
    }

    /// The current window of a `days`-long period and the one before it.
    pub fn period(days: u32) -> Option<(Window, Window)> {
        match days {
            7 => Some((Window::Last7, Window::Prev7)),
            30 => Some((Window::Last30, Window::Prev30)),
            _ => None,
        }
    }
}

/// Sums over rollup rows; money exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub requests: i64,
    pub errors: i64,
    /// Requests without a price (in `requests`, not in the amounts).
    pub unpriced: i64,
    pub cost: Cost,
    pub baseline: Cost,
    pub savings: Cost,
}

impl AddAssign for Figures {
    fn add_assign(&mut self, other: Figures) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.unpriced += other.unpriced;
        self.cost += other.cost;
        self.baseline += other.baseline;
        self.savings += other.savings;
    }
}

/// One key's traffic (under one team: `""` when none) by age bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyActivity {
    pub key_id: String,
    pub team: String,
    pub buckets: [Figures; 6],
    /// Cost since the 1st of today's month.
    pub month_cost: Cost,
}

impl KeyActivity {
    pub fn figures(&self, window: Window) -> Figures {
        let mut sum = Figures::default();
        for bucket in &self.buckets[window.buckets()] {
            sum += *bucket;
        }
        sum
    }

    /// Whether the key sent a request in `window`.
    pub fn active(&self, window: Window) -> bool {
        self.figures(window).requests > 0
    }
}

/// A tenant's traffic of the last [`DAYS_READ`] days, per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantUsage {
    pub tenant_id: String,
    /// Ordered by key, then team.
    pub keys: Vec<KeyActivity>,
}

impl TenantUsage {
    pub fn figures(&self, window: Window) -> Figures {
        let mut sum = Figures::default();
        for key in &self.keys {
            sum += key.figures(window);
        }
        sum
    }

    /// Distinct keys with a request in `window`.
    pub fn active_keys(&self, window: Window) -> i64 {
        let mut keys: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| k.active(window))
            .map(|k| k.key_id.as_str())
            .collect();
        keys.dedup();
        count(keys.len())
    }

    /// Distinct teams (not `""`) with a request in `window`.
    pub fn active_teams(&self, window: Window) -> i64 {
        let mut teams: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| !k.team.is_empty() && k.active(window))
            .map(|k| k.team.as_str())
            .collect();
        teams.sort_unstable();
        teams.dedup();
        count(teams.len())
    }

    /// What `team` spent today and since the 1st of the month.
    pub fn team_spend(&self, team: &str) -> (Cost, Cost) {
        self.keys
            .iter()
            .filter(|k| k.team == team)
            .fold((Cost::ZERO, Cost::ZERO), |(day, month), k| {
                (day + k.buckets[0].cost, month + k.month_cost)
            })
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The first day of each bucket, the first day read and the 1st of the month,
/// as of `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub today: NaiveDate,
    /// `starts[i]`: the oldest day of bucket `i` (`i < 5`); a row goes to the
    /// first bucket whose start it is at or after, else to bucket 5, which
    /// reaches back to `first`.
    pub starts: [NaiveDate; 5],
    pub first: NaiveDate,
    pub month: NaiveDate,
}

impl Bounds {
    pub fn of(today: NaiveDate) -> Bounds {
        let back = |age: u64| today.checked_sub_days(Days::new(age)).unwrap_or(today);
        let starts = [
            back(0),
            back(BUCKET_FIRST_AGE[2] - 1),
            back(BUCKET_FIRST_AGE[3] - 1),
            back(BUCKET_FIRST_AGE[4] - 1),
            back(BUCKET_FIRST_AGE[5] - 1),
        ];
        Bounds {
            today,
            starts,
            first: back(DAYS_READ - 1),
            month: today.with_day(1).unwrap_or(today),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn buckets_split_sixty_days_at_the_window_edges() {
        let b = Bounds::of(d("2026-12-07"));
        // Bucket 0 is today; 1 ages 1-6; 2 ages 7-13; 3 ages 14-27; 4 ages 28-29.
        assert_eq!(
            b.starts,
            [
                d("2026-12-07"),
                d("2026-12-01"),
                d("2026-11-24"),
                d("2026-11-10"),
                d("2026-11-08")
            ]
        );
        assert_eq!(b.first, d("2026-10-09"));
        assert_eq!(b.month, d("2026-12-01"));
    }

    #[test]
    fn windows_are_runs_of_buckets() {
        let mut key = KeyActivity::default();
        for (i, bucket) in key.buckets.iter_mut().enumerate() {
            bucket.requests = 1 << i;
        }
        let cases = [
            (Window::Today, 1),
            (Window::Last7, 1 + 2),
            (Window::Prev7, 4),
            (Window::Last14, 1 + 2 + 4),
            (Window::Prev14, 8),
            (Window::Last30, 1 + 2 + 4 + 8 + 16),
            (Window::Prev30, 32),
        ];
        for (window, requests) in cases {
            assert_eq!(key.figures(window).requests, requests, "{window:?}");
        }
    }

    #[test]
    fn keys_and_teams_are_counted_once() {
        let key = |id: &str, team: &str, today: i64, old: i64| {
            let mut k = KeyActivity {
                key_id: id.into(),
                team: team.into(),
                ..KeyActivity::default()
            };
            k.buckets[0].requests = today;
            k.buckets[0].cost = Cost(today.into());
            k.buckets[5].requests = old;
            k.month_cost = Cost((10 * today).into());
            k
        };
        let usage = TenantUsage {
            tenant_id: "t".into(),
            keys: vec![
                key("a", "red", 1, 0),
                key("a", "blue", 2, 0),
                key("b", "red", 0, 5),
                key("c", "", 3, 0),
            ],
        };
        assert_eq!(usage.active_keys(Window::Last7), 2);
        assert_eq!(usage.active_keys(Window::Prev30), 1);
        assert_eq!(usage.active_teams(Window::Last7), 2);
        assert_eq!(usage.active_teams(Window::Prev30), 1);
        assert_eq!(usage.team_spend("red"), (Cost(1), Cost(10)));
        assert_eq!(usage.figures(Window::Last30).requests, 6);
    }
}
