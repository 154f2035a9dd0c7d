//! One row per tenant of the operator's view, from its usage (the rollups),
//! its keys and teams (the caller's key table: config file and store merged)
//! and its latest ROI promise. Pure: the caller reads the store and the key
//! table; sorting, filtering and shapes are the caller's.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use pricing::Cost;

use super::health::{self, Components, HealthInputs};
use super::{TenantUsage, Window};

/// A team and its budgets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamBudget {
    pub team: String,
    pub daily: Option<Cost>,
    pub monthly: Option<Cost>,
}

/// What the key table knows of a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantEntry {
    pub tenant_id: String,
    pub name: Option<String>,
    /// Ids of its live keys that may send traffic.
    pub keys: Vec<String>,
    pub teams: Vec<TeamBudget>,
}

/// What the view takes from a tenant's latest ROI promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseTerms {
    /// The 1st of the first month it covers.
    pub start_month: NaiveDate,
    pub seats: i64,
    pub promised_gross_monthly: Cost,
}

/// A tenant's figures over one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub spend: Cost,
    pub baseline: Cost,
    pub savings: Cost,
    /// `savings / baseline` in basis points; `None` with no baseline.
    pub savings_bp: Option<i64>,
    pub requests: i64,
    pub errors: i64,
    pub unpriced: i64,
    /// `errors / requests` in basis points; `None` with no requests.
    pub error_rate_bp: Option<i64>,
    pub active_keys: i64,
    pub teams: i64,
}

impl Period {
    fn of(usage: &TenantUsage, window: Window) -> Period {
        let f = usage.figures(window);
        Period {
            spend: f.cost,
            baseline: f.baseline,
            savings: f.savings,
            savings_bp: health::ratio_bp(f.savings.0, f.baseline.0),
            requests: f.requests,
            errors: f.errors,
            unpriced: f.unpriced,
            error_rate_bp: health::ratio_bp(f.errors.into(), f.requests.into()),
            active_keys: usage.active_keys(window),
            teams: usage.active_teams(window),
        }
    }
}

/// Why a tenant is flagged for expansion.
pub const TEAM_AT_BUDGET: &str = "team_at_budget";
pub const SEATS_FULL: &str = "seats_full";

/// One tenant of the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorRow {
    pub tenant_id: String,
    pub name: Option<String>,
    pub current: Period,
    /// The period of equal length before it.
    pub previous: Period,
    /// Keys the tenant has, and of those the ones used in the last 7 days.
    pub keys: i64,
    pub keys_used_7d: i64,
    /// `keys_used_7d / keys` in basis points; `None` without keys.
    pub adoption_bp: Option<i64>,
    pub components: Components,
    pub health_score: i64,
    pub churn_risk: bool,
    /// Empty unless flagged: [`TEAM_AT_BUDGET`] (with the teams) and/or
    /// [`SEATS_FULL`].
    pub expansion: Vec<&'static str>,
    /// Teams whose spend reached a budget.
    pub teams_at_budget: Vec<String>,
    pub seats: Option<i64>,
}

/// Rows of every tenant the key table or the rollups know, by tenant id, for
/// a `days`-long period (7 or 30) as of `today`; `None` for another length.
pub fn rows(
    usage: &[TenantUsage],
    entries: &[TenantEntry],
    promises: &HashMap<String, PromiseTerms>,
    today: NaiveDate,
    days: u32,
) -> Option<Vec<OperatorRow>> {
    let (window, before) = Window::period(days)?;
    let empty_usage = TenantUsage::default();
    let empty_entry = TenantEntry::default();
    let mut tenants: BTreeMap<&str, (&TenantUsage, &TenantEntry)> = BTreeMap::new();
    for entry in entries {
        tenants.insert(&entry.tenant_id, (&empty_usage, entry));
    }
    for u in usage {
        tenants.entry(&u.tenant_id).or_insert((u, &empty_entry)).0 = u;
    }
    let rows = tenants
        .into_iter()
        .map(|(tenant, (usage, entry))| {
            let promise = promises
                .get(tenant)
                .filter(|p| p.start_month <= today)
                .copied();
            row(tenant, usage, entry, promise, window, before)
        })
        .collect();
    Some(rows)
}

fn row(
    tenant: &str,
    usage: &TenantUsage,
    entry: &TenantEntry,
    promise: Option<PromiseTerms>,
    window: Window,
    before: Window,
) -> OperatorRow {
    let keys = i64::try_from(entry.keys.len()).unwrap_or(i64::MAX);
    let keys_used_7d = i64::try_from(
        entry
            .keys
            .iter()
            .filter(|id| {
                usage
                    .keys
                    .iter()
                    .any(|k| &k.key_id == *id && k.active(Window::Last7))
            })
            .count(),
    )
    .unwrap_or(i64::MAX);
    let week = usage.figures(Window::Last7);
    let inputs = HealthInputs {
        keys,
        keys_used_7d,
        savings_30d: usage.figures(Window::Last30).savings,
        promised_gross_monthly: promise.map(|p| p.promised_gross_monthly),
        requests_7d: week.requests,
        errors_7d: week.errors,
        requests_prev_7d: usage.figures(Window::Prev7).requests,
    };
    let components = health::components(&inputs);
    let teams_at_budget: Vec<String> = entry
        .teams
        .iter()
        .filter(|t| {
            let (today, month) = usage.team_spend(&t.team);
            health::at_budget(today, t.daily) || health::at_budget(month, t.monthly)
        })
        .map(|t| t.team.clone())
        .collect();
    let seats = promise.map(|p| p.seats);
    let mut expansion = Vec::new();
    if !teams_at_budget.is_empty() {
        expansion.push(TEAM_AT_BUDGET);
    }
    if health::seats_full(usage.active_keys(Window::Last30), seats) {
        expansion.push(SEATS_FULL);
    }
    OperatorRow {
        tenant_id: tenant.to_owned(),
        name: entry.name.clone(),
        current: Period::of(usage, window),
        previous: Period::of(usage, before),
        keys,
        keys_used_7d,
        adoption_bp: health::ratio_bp(keys_used_7d.into(), keys.into()),
        health_score: health::score(&components),
        components,
        churn_risk: health::churn_risk(
            usage.figures(Window::Last14).requests,
            usage.figures(Window::Prev14).requests,
        ),
        expansion,
        teams_at_budget,
        seats,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Figures, KeyActivity};
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn key(id: &str, team: &str, buckets: [i64; 6], cost_today: i64, month: i64) -> KeyActivity {
        let mut k = KeyActivity {
            key_id: id.into(),
            team: team.into(),
            month_cost: Cost(month.into()),
            ..KeyActivity::default()
        };
        for (bucket, requests) in k.buckets.iter_mut().zip(buckets) {
            *bucket = Figures {
                requests,
                errors: requests / 10,
                cost: Cost(i128::from(requests)),
                baseline: Cost(i128::from(requests) * 3),
                savings: Cost(i128::from(requests) * 2),
                ..Figures::default()
            };
        }
        k.buckets[0].cost = Cost(cost_today.into());
        k
    }

    #[test]
    fn tenants_of_either_source_get_a_row_with_flags() {
        let usage = vec![
            TenantUsage {
                tenant_id: "acme".into(),
                keys: vec![
                    // Busy now, little before: no churn; team red spent 50 this month.
                    key("k1", "red", [10, 20, 0, 0, 0, 0], 10, 50),
                    key("gone", "", [0, 0, 0, 0, 0, 40], 0, 0),
                ],
            },
            TenantUsage {
                tenant_id: "fading".into(),
                // 14 days: 10+20+40 = 70 against 100 before: churn risk.
                keys: vec![key("f1", "", [10, 20, 40, 100, 0, 0], 10, 0)],
            },
        ];
        let entries = vec![
            TenantEntry {
                tenant_id: "acme".into(),
                name: Some("Acme".into()),
                keys: vec!["k1".into(), "k2".into()],
                teams: vec![TeamBudget {
                    team: "red".into(),
                    daily: None,
                    monthly: Some(Cost(50)),
                }],
            },
            TenantEntry {
                tenant_id: "quiet".into(),
                keys: vec!["q1".into()],
                ..TenantEntry::default()
            },
        ];
        let promises = HashMap::from([
            (
                "fading".to_owned(),
                PromiseTerms {
                    start_month: d("2026-11-01"),
                    seats: 1,
                    promised_gross_monthly: Cost(280),
                },
            ),
            (
                // Not started yet: ignored.
                "acme".to_owned(),
                PromiseTerms {
                    start_month: d("2027-01-01"),
                    seats: 1,
                    promised_gross_monthly: Cost(1),
                },
            ),
        ]);
        let rows = rows(&usage, &entries, &promises, d("2026-12-07"), 7).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.tenant_id.as_str()).collect();
        assert_eq!(ids, ["acme", "fading", "quiet"]);

        let acme = &rows[0];
        assert_eq!(acme.name.as_deref(), Some("Acme"));
        assert_eq!(acme.current.requests, 30);
        assert_eq!(acme.current.spend, Cost(30));
        assert_eq!(acme.current.savings_bp, Some(6667));
        assert_eq!(acme.current.error_rate_bp, Some(1000));
        assert_eq!(acme.current.active_keys, 1);
        assert_eq!(acme.current.teams, 1);
        assert_eq!(acme.previous.requests, 0);
        assert_eq!(
            (acme.keys, acme.keys_used_7d, acme.adoption_bp),
            (2, 1, Some(5000))
        );
        assert_eq!(acme.seats, None);
        assert_eq!(acme.expansion, [TEAM_AT_BUDGET]);
        assert_eq!(acme.teams_at_budget, ["red"]);
        assert!(!acme.churn_risk);
        // adoption 50% (30), no promise, reliability 90% (20), usage 100% (20):
        // (1500 + 1800 + 2000) / 70 = 75.7
        assert_eq!(acme.health_score, 76);

        let fading = &rows[1];
        assert!(fading.churn_risk);
        assert_eq!(fading.expansion, [SEATS_FULL]);
        assert_eq!(fading.components.achievement, Some(10_000));
        assert_eq!(fading.keys, 0);

        let quiet = &rows[2];
        assert_eq!(quiet.current, Period::default());
        assert_eq!(quiet.health_score, 0);
        assert!(rows_for_days_other_than_7_or_30_are_none());
    }

    fn rows_for_days_other_than_7_or_30_are_none() -> bool {
        rows(&[], &[], &HashMap::new(), d("2026-12-07"), 14).is_none()
    }
}
