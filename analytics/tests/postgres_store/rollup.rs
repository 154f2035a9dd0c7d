//! Rollups: exact, idempotent, late events picked up, and aggregates outliving the
//! raw partitions.

use std::collections::BTreeMap;

use analytics::store::postgres::{PostgresStore, UsageTotals};
use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{Datelike, NaiveDate, Weekday};
use pricing::Cost;
use sqlx::Row;

use crate::support::{at, days_ago, event, snapshot, store, today, with_db, Rng};

type Key = (String, NaiveDate, String, String, String, String, String);

#[derive(Debug, Default, PartialEq, Eq)]
struct Sums {
    requests: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cached_tokens: i64,
    cost: Cost,
    baseline: Cost,
    savings: Cost,
    latency_ms_sum: i64,
    latency_count: i64,
    failovers: i64,
    unpriced: i64,
}

/// The daily aggregates computed in Rust, with `pricing::Cost` arithmetic.
fn expected_daily(events: &[UsageEvent]) -> BTreeMap<Key, Sums> {
    let mut out: BTreeMap<Key, Sums> = BTreeMap::new();
    for e in events {
        let key = (
            e.tenant_id.clone(),
            e.occurred_at.date_naive(),
            e.key_id.clone(),
            e.team.clone().unwrap_or_default(),
            e.requested_model.clone(),
            e.routed_provider.clone().unwrap_or_default(),
            e.routed_model.clone().unwrap_or_default(),
        );
        let sums = out.entry(key).or_default();
        sums.requests += 1;
        sums.errors += i64::from(e.status >= 400 || e.error_kind.is_some());
        sums.prompt_tokens += e.prompt_tokens as i64;
        sums.completion_tokens += e.completion_tokens as i64;
        sums.cached_tokens += e.cached_tokens as i64;
        // Money of priced events only; unpriced ones are counted apart.
        match e.priced() {
            Some((cost, baseline)) => {
                sums.cost += cost;
                sums.baseline += baseline;
                sums.savings += baseline - cost;
            }
            None => sums.unpriced += 1,
        }
        sums.latency_ms_sum += i64::from(e.latency_ms);
        sums.latency_count += 1;
        sums.failovers += i64::from(e.attempts > 1);
    }
    out
}

/// `usage_daily` as stored, amounts parsed exactly.
async fn stored_daily(store: &PostgresStore) -> BTreeMap<Key, Sums> {
    let rows = sqlx::query(
        "SELECT tenant_id, day, key_id, team, requested_model, routed_provider, routed_model, \
         requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost_usd::text AS cost, \
         baseline_usd::text AS baseline, savings_usd::text AS savings, latency_ms_sum, latency_count, \
         failovers, unpriced FROM usage_daily",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let money = |row: &sqlx::postgres::PgRow, column: &str| {
        Cost::parse_usd(&row.get::<String, _>(column)).unwrap()
    };
    rows.iter()
        .map(|row| {
            let key = (
                row.get("tenant_id"),
                row.get("day"),
                row.get("key_id"),
                row.get("team"),
                row.get("requested_model"),
                row.get("routed_provider"),
                row.get("routed_model"),
            );
            let sums = Sums {
                requests: row.get("requests"),
                errors: row.get("errors"),
                prompt_tokens: row.get("prompt_tokens"),
                completion_tokens: row.get("completion_tokens"),
                cached_tokens: row.get("cached_tokens"),
                cost: money(row, "cost"),
                baseline: money(row, "baseline"),
                savings: money(row, "savings"),
                latency_ms_sum: row.get("latency_ms_sum"),
                latency_count: row.get("latency_count"),
                failovers: row.get("failovers"),
                unpriced: row.get("unpriced"),
            };
            (key, sums)
        })
        .collect()
}

/// Rows present in one of the two queries but not the other (as text).
async fn difference(store: &PostgresStore, left: &str, right: &str) -> Vec<String> {
    let sql = format!(
        "SELECT x::text FROM ((({left}) EXCEPT ALL ({right})) UNION ALL \
         (({right}) EXCEPT ALL ({left}))) x"
    );
    sqlx::query_scalar(&sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

const DAILY_FROM_RAW: &str = "SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, key_id, \
    coalesce(team, ''), requested_model, coalesce(routed_provider, ''), coalesce(routed_model, ''), \
    count(*), count(*) FILTER (WHERE status >= 400 OR error_kind IS NOT NULL), sum(prompt_tokens), \
    sum(completion_tokens), sum(cached_tokens), \
    coalesce(sum(cost_usd), 0), coalesce(sum(baseline_usd), 0), \
    coalesce(sum(baseline_usd), 0) - coalesce(sum(cost_usd), 0), sum(latency_ms), count(*), \
    count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE cost_usd IS NULL) \
    FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6, 7";
const DAILY: &str = "SELECT tenant_id, day, key_id, team, requested_model, routed_provider, \
    routed_model, requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost_usd, \
    baseline_usd, savings_usd, latency_ms_sum, latency_count, failovers, unpriced FROM usage_daily";

fn totals_of(period: &str, daily: &str) -> String {
    format!(
        "SELECT tenant_id, {period}, sum(requests), sum(errors), sum(prompt_tokens), \
         sum(cost_usd), sum(baseline_usd), sum(savings_usd), sum(latency_ms_sum), \
         sum(failovers), sum(unpriced) FROM {daily} GROUP BY 1, 2"
    )
}

/// Traffic over `days` days ending today: two tenants, several keys, teams and
/// models, errors, and amounts with every one of the 12 decimals in use.
fn traffic(rng: &mut Rng, count: usize, days: i64) -> Vec<UsageEvent> {
    (0..count)
        .map(|_| {
            let day = days_ago(rng.below(days as u64) as i64);
            let tenant = rng.pick(&["tenant-a", "tenant-b"]);
            let mut e = event(tenant, at(day, rng.below(86_400_000_000) as i64));
            e.key_id = rng.pick(&["key-1", "key-2", "key-3"]).to_owned();
            e.team = match rng.below(3) {
                0 => None,
                1 => Some("platform".to_owned()),
                _ => Some("research".to_owned()),
            };
            e.requested_model = rng.pick(&["gpt-4o", "claude-sonnet"]).to_owned();
            e.routed_model = match rng.below(4) {
                0 => None,
                _ => Some(rng.pick(&["gpt-4o-mini", "haiku"]).to_owned()),
            };
            e.routed_provider = e.routed_model.as_ref().map(|_| "openai".to_owned());
            e.status = [200, 200, 200, 429, 500][rng.below(5) as usize];
            e.error_kind = (rng.below(10) == 0).then(|| "stream_cut".to_owned());
            e.prompt_tokens = rng.below(100_000);
            e.completion_tokens = rng.below(10_000);
            e.cached_tokens = rng.below(1_000);
            e.cost_usd = Some(Cost(i128::from(rng.below(10_000_000_000_000))));
            e.baseline_usd = Some(Cost(i128::from(rng.below(50_000_000_000_000))));
            e.latency_ms = rng.below(60_000) as u32;
            // Some served by a model without a price, from a value already
            // drawn: unknown cost and baseline.
            if e.prompt_tokens % 7 == 3 && e.routed_model.is_some() {
                e.routed_model = Some("llama-local".to_owned());
                e.cost_usd = None;
                e.baseline_usd = None;
            }
            // Some failovers, from a value already drawn (the draws stay as they were).
            e.attempts = match e.latency_ms % 6 {
                1 => 2,
                4 => 3,
                _ => 1,
            };
            e
        })
        .collect()
}

#[tokio::test]
async fn rollups_are_exact_idempotent_and_take_late_events() {
    with_db(|url| async move {
        let store = store(&url).await;
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let mut events = traffic(&mut rng, 400, 10);
        // Some days of the range have no traffic at all.
        events.retain(|e| e.occurred_at.date_naive() != days_ago(4));
        assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);

        let (from, to) = (days_ago(9), today());
        let report = store.rollup(from, to).await.unwrap();
        assert_eq!(report.days_recomputed.len(), 9, "day 4 has no partition");
        assert_eq!(report.days_kept, [days_ago(4)]);

        let tables = ["usage_daily", "usage_weekly", "usage_monthly"];
        let mut before = Vec::new();
        for table in tables {
            before.push(snapshot(&store, table).await);
        }
        store.rollup(from, to).await.unwrap();
        for (table, rows) in tables.iter().zip(&before) {
            assert_eq!(
                &snapshot(&store, table).await,
                rows,
                "{table} changed on re-run"
            );
        }

        assert_eq!(stored_daily(&store).await, expected_daily(&events));
        assert!(events.iter().any(|e| e.attempts == 2) && events.iter().any(|e| e.attempts == 3));
        assert!(events.iter().any(|e| e.priced().is_none()));
        assert!(difference(&store, DAILY_FROM_RAW, DAILY).await.is_empty());
        check_periods(&store).await;

        // A late event for a day already rolled up; re-running that day takes it in.
        let mut late = event("tenant-a", at(days_ago(2), 7));
        late.cost_usd = Cost::parse_usd("0.000000000007").ok();
        late.baseline_usd = Cost::parse_usd("1.000000000001").ok();
        store.write(&[late.clone()]).await.unwrap();
        events.push(late);
        assert_ne!(stored_daily(&store).await, expected_daily(&events));
        store.rollup(days_ago(2), days_ago(2)).await.unwrap();
        assert_eq!(stored_daily(&store).await, expected_daily(&events));
        assert!(difference(&store, DAILY_FROM_RAW, DAILY).await.is_empty());
        check_periods(&store).await;

        // The dashboard queries agree with the Rust sums.
        let expected = expected_daily(&events);
        let mut a = UsageTotals::default();
        for ((tenant, ..), sums) in &expected {
            if tenant == "tenant-a" {
                a.requests += sums.requests;
                a.errors += sums.errors;
                a.prompt_tokens += sums.prompt_tokens;
                a.completion_tokens += sums.completion_tokens;
                a.cached_tokens += sums.cached_tokens;
                a.cost += sums.cost;
                a.baseline += sums.baseline;
                a.savings += sums.savings;
                a.latency_ms_sum += sums.latency_ms_sum;
                a.latency_count += sums.latency_count;
                a.unpriced += sums.unpriced;
            }
        }
        assert_eq!(store.summary("tenant-a", from, to).await.unwrap(), a);
        let series = store.daily_series("tenant-a", from, to).await.unwrap();
        assert_eq!(series.len(), 10);
        assert_eq!(series[5].day, days_ago(4));
        assert_eq!(series[5].totals, UsageTotals::default());
        let requests: i64 = series.iter().map(|p| p.totals.requests).sum();
        let cost: Cost = series.iter().map(|p| p.totals.cost).sum();
        assert_eq!((requests, cost), (a.requests, a.cost));
    })
    .await;
}

/// Weekly and monthly rows equal sums over the daily rows of their period.
async fn check_periods(store: &PostgresStore) {
    let weekly = "SELECT tenant_id, week, requests, errors, prompt_tokens, cost_usd, \
        baseline_usd, savings_usd, latency_ms_sum, failovers, unpriced FROM usage_weekly";
    let from_daily = totals_of("date_trunc('week', day)::date", "usage_daily");
    let weekly_totals = totals_of("week", &format!("({weekly}) w"));
    assert!(difference(store, &from_daily, &weekly_totals)
        .await
        .is_empty());
    let monthly = "SELECT tenant_id, month, requests, errors, prompt_tokens, cost_usd, \
        baseline_usd, savings_usd, latency_ms_sum, failovers, unpriced FROM usage_monthly";
    let from_daily = totals_of("date_trunc('month', day)::date", "usage_daily");
    let monthly_totals = totals_of("month", &format!("({monthly}) m"));
    assert!(difference(store, &from_daily, &monthly_totals)
        .await
        .is_empty());
    let weeks: Vec<NaiveDate> = sqlx::query_scalar("SELECT DISTINCT week FROM usage_weekly")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(weeks.iter().all(|w| w.weekday() == Weekday::Mon));
}

#[tokio::test]
async fn aggregates_outlive_dropped_partitions() {
    with_db(|url| async move {
        let store = store(&url).await;
        let old_day = days_ago(100);
        let old: Vec<UsageEvent> = (0..5).map(|n| event("tenant-a", at(old_day, n))).collect();
        let recent: Vec<UsageEvent> = (0..3).map(|n| event("tenant-a", at(today(), n))).collect();
        store.write(&old).await.unwrap();
        store.write(&recent).await.unwrap();
        store.ensure_partitions(today(), 7).await.unwrap();
        store.rollup(old_day, today()).await.unwrap();

        let old_rows = || async {
            sqlx::query_scalar::<_, String>("SELECT t::text FROM usage_daily t WHERE day = $1")
                .bind(old_day)
                .fetch_all(store.pool())
                .await
                .unwrap()
        };
        let kept = old_rows().await;
        assert_eq!(kept.len(), 1);
        let daily = snapshot(&store, "usage_daily").await;
        let weekly = snapshot(&store, "usage_weekly").await;
        let monthly = snapshot(&store, "usage_monthly").await;

        let dropped = store.drop_partitions_older_than(today(), 90).await.unwrap();
        assert_eq!(
            dropped,
            [format!("usage_events_{}", old_day.format("%Y%m%d"))]
        );
        let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_events")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(raw, 3);
        assert!(store
            .drop_partitions_older_than(today(), 90)
            .await
            .unwrap()
            .is_empty());

        // Re-running the whole range leaves the dropped day's aggregates alone.
        let report = store.rollup(old_day, today()).await.unwrap();
        assert!(report.days_kept.contains(&old_day));
        assert_eq!(old_rows().await, kept);
        assert_eq!(snapshot(&store, "usage_daily").await, daily);
        assert_eq!(snapshot(&store, "usage_weekly").await, weekly);
        assert_eq!(snapshot(&store, "usage_monthly").await, monthly);

        // A very late event for that day recreates its partition, but cannot replace
        // the day's aggregates with a partial sum.
        store
            .write(&[event("tenant-a", at(old_day, 99))])
            .await
            .unwrap();
        store.rollup(old_day, old_day).await.unwrap();
        assert_eq!(old_rows().await, kept);
        assert_eq!(
            store
                .drop_partitions_older_than(today(), 90)
                .await
                .unwrap()
                .len(),
            1
        );

        // Aggregate retention: nothing is two years old; at 95 days the old day goes,
        // and re-running the rollup neither restores nor shrinks what remains.
        let none = store
            .drop_aggregates_older_than(today(), 730)
            .await
            .unwrap();
        assert_eq!((none.daily, none.weekly, none.monthly), (0, 0, 0));
        let gone = store.drop_aggregates_older_than(today(), 95).await.unwrap();
        assert_eq!(gone.daily, 1);
        assert!(old_rows().await.is_empty());
        let weekly = snapshot(&store, "usage_weekly").await;
        let monthly = snapshot(&store, "usage_monthly").await;
        store.rollup(old_day, today()).await.unwrap();
        assert_eq!(snapshot(&store, "usage_weekly").await, weekly);
        assert_eq!(snapshot(&store, "usage_monthly").await, monthly);
    })
    .await;
}
