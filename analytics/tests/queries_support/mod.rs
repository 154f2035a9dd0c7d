//! The shared check of `store::queries` on either store: a seeded data set of two
//! tenants over four days that straddle a week and a month boundary, every
//! grouping and filter compared with the same figures computed here from the raw
//! events (exact money, the latency histogram bucket by bucket, so the SQL bucket
//! expression is checked against the Rust one), series, idempotent rollups and
//! the retention of histograms.

use std::collections::BTreeMap;

use analytics::store::queries::latency::{bucket_bounds, BUCKETS};
use analytics::store::queries::{
    fold_periods, Aggregate, Filter, GroupBy, Interval, LatencyHistogram, Totals,
};
use analytics::store::{EventStore, Store};
use analytics::UsageEvent;
use chrono::{NaiveDate, NaiveTime, TimeDelta};
use pricing::Cost;
use uuid::Uuid;

pub const TENANTS: [&str; 2] = ["acme", "globex"];

/// Sunday 2026-11-29 to Wednesday 2026-12-02: two weeks, two months.
pub fn days() -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    (0..4).map(|n| first + TimeDelta::days(n)).collect()
}

/// xorshift64*: deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// Latencies on and around every bucket edge, and some ordinary ones.
fn latencies() -> Vec<u32> {
    let mut all = vec![0, 1, 15, 16, 17, 250, 420, 999, 1234, 4321, u32::MAX];
    for bucket in 0..BUCKETS {
        let (lower, upper) = bucket_bounds(bucket).unwrap();
        all.extend([lower, upper]);
    }
    all
}

pub fn seed() -> Vec<UsageEvent> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let latencies = latencies();
    let mut events = Vec::new();
    let routes: [(&str, Option<(&str, &str)>); 8] = [
        ("gpt-4o", Some(("openai", "gpt-4o-mini"))),
        ("gpt-4o", Some(("openai", "gpt-4o"))),
        ("claude-sonnet", Some(("anthropic", "claude-haiku"))),
        ("auto", Some(("openai", "gpt-4o-mini"))),
        ("auto", Some(("groq", "llama-70b"))),
        ("unknown-model", None),
        // Served by a model without a price: unpriced, no cost, no baseline.
        ("llama-local", Some(("local", "llama-local"))),
        ("auto", Some(("local", "llama-local"))),
    ];
    for tenant in TENANTS {
        for (d, day) in days().into_iter().enumerate() {
            for n in 0..(120 + 40 * d as u64) {
                let (requested, routed) = rng.pick(&routes);
                let status = if routed.is_none() {
                    404
                } else {
                    rng.pick(&[200, 200, 200, 200, 200, 200, 200, 429, 500])
                };
                let cost = if routed.is_none() {
                    0
                } else {
                    rng.below(50_000_000_000) as i128
                };
                // Mostly cheaper than the baseline; sometimes dearer.
                let baseline = if routed.is_none() {
                    0
                } else if rng.below(10) == 0 {
                    cost / 2
                } else {
                    cost + rng.below(90_000_000_000) as i128
                };
                let priced =
                    status >= 400 || routed.is_none_or(|(provider, _)| provider != "local");
                let at = day.and_time(NaiveTime::MIN).and_utc()
                    + TimeDelta::seconds((n * 86_399 / (160 + 40 * d as u64)) as i64);
                events.push(UsageEvent {
                    event_id: Uuid::now_v7(),
                    occurred_at: at,
                    tenant_id: tenant.to_owned(),
                    key_id: rng.pick(&["k1", "k2", "k3"]).to_owned(),
                    team: rng
                        .pick(&[Some("platform"), Some("research"), None])
                        .map(str::to_owned),
                    user_tag: None,
                    endpoint: "chat_completions".to_owned(),
                    requested_model: requested.to_owned(),
                    routed_provider: routed.map(|(p, _)| p.to_owned()),
                    routed_model: routed.map(|(_, m)| m.to_owned()),
                    route_reason: "requested".to_owned(),
                    // Some failovers, without a draw (the rest stays as it was).
                    attempts: match n % 5 {
                        1 => 2,
                        3 => 3,
                        _ => 1,
                    },
                    stream: rng.below(2) == 0,
                    status,
                    error_kind: (status >= 400).then(|| "upstream_status".to_owned()),
                    prompt_tokens: rng.below(5_000),
                    completion_tokens: rng.below(800),
                    cached_tokens: rng.below(300),
                    cache_write_tokens: 0,
                    reasoning_tokens: 0,
                    usage_estimated: false,
                    cost_usd: priced.then_some(Cost(cost)),
                    baseline_usd: priced.then_some(Cost(baseline)),
                    price_version: None,
                    baseline_price_version: None,
                    latency_ms: rng.pick(&latencies),
                    ttft_ms: None,
                    upstream_ms: None,
                    client_family: "curl".to_owned(),
                    ingress_format: Some("openai_chat".to_owned()),
                    upstream_format: Some("openai_chat".to_owned()),
                });
            }
        }
    }
    events
}

fn matches(event: &UsageEvent, filter: &Filter) -> bool {
    let team = event.team.as_deref().unwrap_or("");
    let provider = event.routed_provider.as_deref().unwrap_or("");
    let routed = event.routed_model.as_deref().unwrap_or("");
    filter.team.as_deref().is_none_or(|t| t == team)
        && filter.key.as_deref().is_none_or(|k| k == event.key_id)
        && filter
            .model
            .as_deref()
            .is_none_or(|m| m == event.requested_model || m == routed)
        && filter.provider.as_deref().is_none_or(|p| p == provider)
}

fn group_of(event: &UsageEvent, by: GroupBy) -> (String, String) {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let one = |value: String| (value, String::new());
    match by {
        GroupBy::Total => one(String::new()),
        GroupBy::Day => one(event.occurred_at.date_naive().to_string()),
        GroupBy::RequestedModel => one(event.requested_model.clone()),
        GroupBy::RoutedModel => one(text(&event.routed_model)),
        GroupBy::Provider => one(text(&event.routed_provider)),
        GroupBy::Key => one(event.key_id.clone()),
        GroupBy::Team => one(text(&event.team)),
        GroupBy::Substitution => (event.requested_model.clone(), text(&event.routed_model)),
    }
}

/// The figures computed from raw events.
pub fn expected(
    events: &[UsageEvent],
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
    by: GroupBy,
) -> Vec<Aggregate> {
    let mut groups: BTreeMap<(String, String), Aggregate> = BTreeMap::new();
    for event in events.iter().filter(|e| {
        let day = e.occurred_at.date_naive();
        e.tenant_id == tenant && from <= day && day <= to && matches(e, filter)
    }) {
        let group = group_of(event, by);
        let aggregate = groups.entry(group.clone()).or_insert_with(|| Aggregate {
            group,
            totals: Totals::default(),
            latency: LatencyHistogram::default(),
        });
        aggregate.totals += Totals {
            requests: 1,
            errors: i64::from(event.status >= 400 || event.error_kind.is_some()),
            prompt_tokens: event.prompt_tokens as i64,
            completion_tokens: event.completion_tokens as i64,
            cached_tokens: event.cached_tokens as i64,
            // Money of priced events only; unpriced ones are counted apart.
            cost: event.priced().map_or(Cost::ZERO, |p| p.0),
            baseline: event.priced().map_or(Cost::ZERO, |p| p.1),
            savings: event.savings().unwrap_or(Cost::ZERO),
            latency_ms_sum: i64::from(event.latency_ms),
            latency_count: 1,
            failovers: i64::from(event.attempts > 1),
            unpriced: i64::from(event.priced().is_none()),
        };
        aggregate.latency.record(event.latency_ms);
    }
    groups.into_values().collect()
}

const GROUPINGS: [GroupBy; 8] = [
    GroupBy::Total,
    GroupBy::Day,
    GroupBy::RequestedModel,
    GroupBy::RoutedModel,
    GroupBy::Provider,
    GroupBy::Key,
    GroupBy::Team,
    GroupBy::Substitution,
];

/// Seeds `store`, rolls up, and checks every query against the raw events.
pub async fn check(store: &Store) {
    let events = seed();
    assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);
    let days = days();
    let (from, to) = (days[0], days[3]);
    store.rollup(from, to).await.unwrap();

    let filters = [
        Filter::default(),
        Filter {
            team: Some("platform".into()),
            ..Filter::default()
        },
        Filter {
            key: Some("k2".into()),
            provider: Some("openai".into()),
            ..Filter::default()
        },
        Filter {
            model: Some("gpt-4o-mini".into()),
            ..Filter::default()
        },
        Filter {
            team: Some(String::new()),
            ..Filter::default()
        },
    ];
    for tenant in TENANTS {
        for by in GROUPINGS {
            for filter in &filters {
                let got = store.aggregate(tenant, from, to, filter, by).await.unwrap();
                let want = expected(&events, tenant, from, to, filter, by);
                assert!(!want.is_empty(), "{tenant} {by:?} {filter:?}");
                if by == GroupBy::Total && *filter == Filter::default() {
                    let totals = want[0].totals;
                    assert!(0 < totals.failovers && totals.failovers < totals.requests);
                    assert!(0 < totals.unpriced && totals.unpriced < totals.requests);
                }
                assert_eq!(got, want, "{tenant} {by:?} {filter:?}");
            }
        }
        // A sub-range counts its own days only.
        let got = store
            .aggregate(tenant, days[1], days[2], &Filter::default(), GroupBy::Key)
            .await
            .unwrap();
        let want = expected(
            &events,
            tenant,
            days[1],
            days[2],
            &Filter::default(),
            GroupBy::Key,
        );
        assert_eq!(got, want);
        // Series are the days folded; weeks and months straddle the range.
        for interval in [Interval::Day, Interval::Week, Interval::Month] {
            let series = store
                .series(tenant, from, to, &Filter::default(), interval)
                .await
                .unwrap();
            let by_day = expected(&events, tenant, from, to, &Filter::default(), GroupBy::Day);
            assert_eq!(series, fold_periods(&by_day, from, to, interval));
            let expected_points = match interval {
                Interval::Day => 4,
                Interval::Week | Interval::Month => 2,
            };
            assert_eq!(series.len(), expected_points);
            let sum: i64 = series.iter().map(|p| p.figures.totals.requests).sum();
            assert_eq!(sum, by_day.iter().map(|d| d.totals.requests).sum::<i64>());
        }
    }
    // No tenant sees another's rows: an unknown tenant sees nothing at all.
    let none = store
        .aggregate("nobody", from, to, &Filter::default(), GroupBy::Total)
        .await
        .unwrap();
    assert!(none.is_empty());

    // Re-running the rollup changes nothing.
    store.rollup(from, to).await.unwrap();
    let again = store
        .aggregate("acme", from, to, &Filter::default(), GroupBy::Day)
        .await
        .unwrap();
    assert_eq!(
        again,
        expected(&events, "acme", from, to, &Filter::default(), GroupBy::Day)
    );

    // Histogram retention drops whole days before the cutoff, totals stay.
    store.drop_latency_older_than(days[1], 0).await.unwrap();
    let after = store
        .aggregate("acme", from, to, &Filter::default(), GroupBy::Day)
        .await
        .unwrap();
    assert_eq!(after[0].latency.requests(), 0);
    assert_eq!(after[0].totals, again[0].totals);
    assert_eq!(after[1], again[1]);
}
