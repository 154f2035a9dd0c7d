//! The embedded SQLite store against real database files in the temp directory:
//! migrations, idempotent writes with exact round trips, rollups equal to sums
//! computed in Rust with exact money, raw retention, and tenant isolation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use analytics::store::sqlite::{Period, RollupRow, SqliteStore, UsageTotals};
use analytics::store::{EventStore, StoreError};
use analytics::UsageEvent;
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use pricing::Cost;

/// A database file with a random name, removed (with its WAL files) on drop.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new() -> TempDb {
        let name = format!("analytics-sqlite-test-{}.db", uuid::Uuid::now_v7().simple());
        TempDb {
            path: std::env::temp_dir().join(name),
        }
    }

    async fn store(&self) -> SqliteStore {
        let store = SqliteStore::open(&self.path).await.unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `day` at `hour`:00 UTC plus some nanoseconds, so sub-microsecond precision
/// is exercised too.
fn at(day: NaiveDate, hour: u32, nanos: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(day.year(), day.month(), day.day(), hour, 0, 0)
        .unwrap()
        + chrono::Duration::nanoseconds(nanos)
}

/// An event with the given cost and baseline; `""` for both: an unpriced event
/// (served by a model without a price, so both are unknown).
fn event(tenant: &str, occurred_at: DateTime<Utc>, cost: &str, baseline: &str) -> UsageEvent {
    let amount = |text: &str| (!text.is_empty()).then(|| Cost::parse_usd(text).unwrap());
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at,
        tenant_id: tenant.to_owned(),
        key_id: "key-1".to_owned(),
        team: Some("platform".to_owned()),
        user_tag: Some(analytics::event::UserTagKey::new(b"test secret").tag("alice@example.com")),
        endpoint: "chat_completions".to_owned(),
        requested_model: "gpt-4o".to_owned(),
        routed_provider: Some("openai".to_owned()),
        routed_model: Some("gpt-4o-mini".to_owned()),
        route_reason: "cheaper_equivalent".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 1_000,
        completion_tokens: 100,
        cached_tokens: 10,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: amount(cost),
        baseline_usd: amount(baseline),
        price_version: Some("openai/gpt-4o-mini@2026-11-25".to_owned()),
        baseline_price_version: Some("openai/gpt-4o@2026-11-25".to_owned()),
        latency_ms: 420,
        ttft_ms: None,
        upstream_ms: Some(400),
        client_family: "openai-python".to_owned(),
        ingress_format: Some("openai_chat".to_owned()),
        upstream_format: Some("openai_chat".to_owned()),
    }
}

/// A varied traffic mix for `tenant` over Sun 2026-11-29, Mon 11-30 and Tue
/// 12-01 (a week boundary and a month boundary).
fn traffic(tenant: &str) -> Vec<UsageEvent> {
    let days = [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)];
    let mut events = Vec::new();
    for (i, day) in days.into_iter().enumerate() {
        let i = i as i64;
        events.push(event(
            tenant,
            at(day, 0, 1),
            "0.000000000001",
            "0.000000000003",
        ));
        events.push(event(
            tenant,
            at(day, 9, 7 + i),
            "1234.567890123456",
            "2000.5",
        ));
        let mut other_key = event(tenant, at(day, 12, 0), "0.00021", "0.0035");
        other_key.key_id = "key-2".to_owned();
        other_key.team = None;
        other_key.attempts = 2;
        events.push(other_key);
        let mut refused = event(tenant, at(day, 13, 5), "0", "0");
        refused.routed_provider = None;
        refused.routed_model = None;
        refused.route_reason = "none".to_owned();
        refused.status = 429;
        refused.error_kind = Some("rate_limited".to_owned());
        refused.prompt_tokens = 0;
        refused.completion_tokens = 0;
        refused.cached_tokens = 0;
        refused.price_version = None;
        refused.baseline_price_version = None;
        events.push(refused);
        let mut cut = event(tenant, at(day, 23, 999_999_999), "0.5", "0.25");
        cut.stream = true;
        cut.error_kind = Some("stream_cut".to_owned());
        cut.requested_model = "claude-sonnet".to_owned();
        cut.ttft_ms = Some(35);
        cut.usage_estimated = true;
        cut.attempts = 3;
        events.push(cut);
        let mut unpriced = event(tenant, at(day, 15, 0), "", "");
        unpriced.requested_model = "llama-local".to_owned();
        unpriced.routed_provider = Some("local".to_owned());
        unpriced.routed_model = Some("llama-local".to_owned());
        unpriced.route_reason = "requested".to_owned();
        unpriced.price_version = None;
        unpriced.baseline_price_version = None;
        events.push(unpriced);
    }
    events
}

/// The first day of the period of `period` holding the event's day.
fn period_start(e: &UsageEvent, period: Period) -> NaiveDate {
    let day = e.occurred_at.date_naive();
    match period {
        Period::Day => day,
        Period::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Period::Month => day.with_day(1).unwrap(),
    }
}

/// Failovers (events with more than one attempt) of `tenant` per period start,
/// computed from raw events.
fn expected_failovers(events: &[UsageEvent], tenant: &str, period: Period) -> Vec<(String, i64)> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.tenant_id == tenant) {
        let failover = i64::from(e.attempts > 1);
        *out.entry(period_start(e, period).to_string()).or_default() += failover;
    }
    out.into_iter().collect()
}

/// The `failovers` column of `tenant`'s aggregate rows, summed per period start.
async fn stored_failovers(store: &SqliteStore, tenant: &str, period: Period) -> Vec<(String, i64)> {
    let (column, table) = match period {
        Period::Day => ("day", "usage_daily"),
        Period::Week => ("week", "usage_weekly"),
        Period::Month => ("month", "usage_monthly"),
    };
    let sql = format!(
        "SELECT {column}, SUM(failovers) FROM {table} WHERE tenant_id = ?1 GROUP BY 1 ORDER BY 1"
    );
    sqlx::query_as(&sql)
        .bind(tenant)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// What the aggregate rows of `tenant` must be, computed from raw events with
/// exact money in Rust.
fn expected(events: &[UsageEvent], tenant: &str, period: Period) -> Vec<RollupRow> {
    type Dims = (NaiveDate, String, String, String, String, String);
    let mut groups: BTreeMap<Dims, UsageTotals> = BTreeMap::new();
    for e in events.iter().filter(|e| e.tenant_id == tenant) {
        let start = period_start(e, period);
        let dims = (
            start,
            e.key_id.clone(),
            e.team.clone().unwrap_or_default(),
            e.requested_model.clone(),
            e.routed_provider.clone().unwrap_or_default(),
            e.routed_model.clone().unwrap_or_default(),
        );
        let t = groups.entry(dims).or_default();
        t.requests += 1;
        t.errors += i64::from(e.status >= 400 || e.error_kind.is_some());
        t.prompt_tokens += i64::try_from(e.prompt_tokens).unwrap();
        t.completion_tokens += i64::try_from(e.completion_tokens).unwrap();
        t.cached_tokens += i64::try_from(e.cached_tokens).unwrap();
        // Money of priced events only; an unpriced one is counted apart.
        match e.priced() {
            Some((cost, baseline)) => {
                t.cost += cost;
                t.baseline += baseline;
                t.savings += baseline - cost;
            }
            None => t.unpriced += 1,
        }
        t.latency_ms_sum += i64::from(e.latency_ms);
        t.latency_count += 1;
    }
    groups
        .into_iter()
        .map(
            |((start, key_id, team, requested_model, routed_provider, routed_model), totals)| {
                RollupRow {
                    period_start: start,
                    key_id,
                    team,
                    requested_model,
                    routed_provider,
                    routed_model,
                    totals,
                }
            },
        )
        .collect()
}

fn total(rows: &[RollupRow]) -> UsageTotals {
    let mut sum = UsageTotals::default();
    for row in rows {
        let t = &row.totals;
        sum.requests += t.requests;
        sum.errors += t.errors;
        sum.prompt_tokens += t.prompt_tokens;
        sum.completion_tokens += t.completion_tokens;
        sum.cached_tokens += t.cached_tokens;
        sum.cost += t.cost;
        sum.baseline += t.baseline;
        sum.savings += t.savings;
        sum.latency_ms_sum += t.latency_ms_sum;
        sum.latency_count += t.latency_count;
        sum.unpriced += t.unpriced;
    }
    sum
}

/// Every stored aggregate row of `tenant` of one granularity.
async fn stored(store: &SqliteStore, tenant: &str, period: Period) -> Vec<RollupRow> {
    let (from, to) = (date(2026, 1, 1), date(2027, 12, 31));
    store.rollup_rows(period, tenant, from, to).await.unwrap()
}

async fn assert_rollups_match(store: &SqliteStore, events: &[UsageEvent], tenant: &str) {
    for period in [Period::Day, Period::Week, Period::Month] {
        assert_eq!(
            stored(store, tenant, period).await,
            expected(events, tenant, period),
            "{period:?} rows of {tenant}"
        );
        let failovers = expected_failovers(events, tenant, period);
        assert!(failovers.iter().any(|(_, n)| *n > 0));
        assert_eq!(
            stored_failovers(store, tenant, period).await,
            failovers,
            "{period:?} failovers of {tenant}"
        );
    }
}

#[tokio::test]
async fn migrations_apply_once() {
    let db = TempDb::new();
    let store = SqliteStore::open(&db.path).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert!(applied.len() >= 2, "applied {applied:?}");
    assert!(applied.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(store.migrate().await.unwrap().is_empty());
    store.close().await;

    let reopened = SqliteStore::open(&db.path).await.unwrap();
    assert!(reopened.migrate().await.unwrap().is_empty());
    let day = date(2026, 11, 25);
    assert_eq!(
        reopened
            .write(&[event("t", at(day, 1, 0), "1", "2")])
            .await
            .unwrap(),
        1
    );
    let mut wal = db.path.clone().into_os_string();
    wal.push("-wal");
    assert!(PathBuf::from(wal).exists(), "the database runs in WAL mode");
    reopened.close().await;
}

#[tokio::test]
async fn replayed_batches_are_stored_once_and_round_trip_exactly() {
    let db = TempDb::new();
    let store = db.store().await;
    let mut events = traffic("tenant-a");
    let mut odd = event("tenant-a", at(date(2026, 11, 30), 15, 1), "9000000", "0");
    odd.prompt_tokens = i64::MAX as u64;
    odd.attempts = u16::MAX;
    odd.status = 599;
    odd.latency_ms = u32::MAX;
    odd.ttft_ms = Some(0);
    odd.upstream_ms = None;
    odd.user_tag = None;
    odd.team = Some(String::new());
    odd.client_family = "é-ü".to_owned();
    events.push(odd);

    assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);
    assert_eq!(
        store.write(&events).await.unwrap(),
        0,
        "a replay writes nothing"
    );
    let extra = event("tenant-a", at(date(2026, 11, 30), 16, 0), "0.1", "0.2");
    let mixed = [
        events[0].clone(),
        extra.clone(),
        extra.clone(),
        events[3].clone(),
    ];
    assert_eq!(
        store.write(&mixed).await.unwrap(),
        1,
        "only the new id, once"
    );
    events.push(extra);

    let mut read = store
        .events(
            "tenant-a",
            at(date(2026, 1, 1), 0, 0),
            at(date(2027, 1, 1), 0, 0),
            1_000,
        )
        .await
        .unwrap();
    events.sort_by_key(|e| (e.occurred_at, e.event_id));
    read.sort_by_key(|e| (e.occurred_at, e.event_id));
    assert_eq!(read, events);
    let usd = |text: &str| Cost::parse_usd(text).ok();
    let tiny = read.iter().find(|e| e.cost_usd == usd("0.000000000001"));
    assert_eq!(tiny.unwrap().baseline_usd, usd("0.000000000003"));
    assert!(read.iter().any(|e| e.cost_usd == usd("1234.567890123456")));
    // Unpriced events come back with both amounts unknown, not zero.
    let unpriced: Vec<&UsageEvent> = read.iter().filter(|e| e.cost_usd.is_none()).collect();
    assert_eq!(unpriced.len(), 3);
    assert!(unpriced.iter().all(|e| e.baseline_usd.is_none()));
    let nulls: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM usage_events WHERE cost_pusd IS NULL AND baseline_pusd IS NULL",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(nulls, 3);
    store.close().await;
}

#[tokio::test]
async fn large_batches_are_chunked_under_the_bind_limit() {
    let db = TempDb::new();
    let store = db.store().await;
    let day = date(2026, 11, 25);
    let events: Vec<UsageEvent> = (0..2_500)
        .map(|i| event("bulk", at(day, 0, i * 1_000), "0.000001", "0.000002"))
        .collect();
    assert_eq!(store.write(&events).await.unwrap(), 2_500);
    assert_eq!(store.write(&events).await.unwrap(), 0);
    store.rollup(day, day).await.unwrap();
    let summary = store.summary("bulk", day, day).await.unwrap();
    assert_eq!(summary.requests, 2_500);
    assert_eq!(summary.cost, Cost::parse_usd("0.0025").unwrap());
    assert_eq!(summary.savings, Cost::parse_usd("0.0025").unwrap());
    store.close().await;
}

#[tokio::test]
async fn costs_outside_the_exact_range_are_rejected() {
    let db = TempDb::new();
    let store = db.store().await;
    let day = date(2026, 11, 25);
    let good = event("t", at(day, 1, 0), "1", "1");
    let too_large = event("t", at(day, 2, 0), "10000000", "1");
    let too_large_baseline = event("t", at(day, 3, 0), "1", "10000000");
    for bad in [too_large, too_large_baseline] {
        let result = store.write(&[good.clone(), bad]).await;
        assert!(matches!(result, Err(StoreError::Rejected(_))), "{result:?}");
    }
    assert_eq!(
        store.write(&[good]).await.unwrap(),
        1,
        "nothing was half-written"
    );
    store.close().await;
}

#[tokio::test]
async fn rollups_equal_raw_sums_are_idempotent_and_count_late_events() {
    let db = TempDb::new();
    let store = db.store().await;
    let mut events = traffic("tenant-a");
    events.extend(traffic("tenant-b"));
    store.write(&events).await.unwrap();
    let (from, to) = (date(2026, 11, 29), date(2026, 12, 1));

    let first = store.rollup(from, to).await.unwrap();
    assert_eq!(first.days_recomputed, [from, date(2026, 11, 30), to]);
    assert!(first.days_kept.is_empty());
    assert_eq!(
        first.weeks_recomputed,
        [date(2026, 11, 23), date(2026, 11, 30)]
    );
    assert_eq!(
        first.months_recomputed,
        [date(2026, 11, 1), date(2026, 12, 1)]
    );
    for tenant in ["tenant-a", "tenant-b"] {
        assert_rollups_match(&store, &events, tenant).await;
    }
    let second = store.rollup(from, to).await.unwrap();
    assert_eq!(second, first, "a re-run writes the same rows");
    for tenant in ["tenant-a", "tenant-b"] {
        assert_rollups_match(&store, &events, tenant).await;
    }

    // A late event for Monday, plus one in a new group, after the rollup ran.
    let mut late = event(
        "tenant-a",
        at(date(2026, 11, 30), 18, 3),
        "0.000000000007",
        "1",
    );
    late.key_id = "key-late".to_owned();
    let late_same_group = event("tenant-a", at(date(2026, 11, 30), 19, 0), "3.3", "3.4");
    store
        .write(&[late.clone(), late_same_group.clone()])
        .await
        .unwrap();
    let before = store.summary("tenant-a", from, to).await.unwrap();
    assert_eq!(before, total(&expected(&events, "tenant-a", Period::Day)));
    events.push(late);
    events.push(late_same_group);
    // Re-running only the late day fixes the day, its week and its month.
    store
        .rollup(date(2026, 11, 30), date(2026, 11, 30))
        .await
        .unwrap();
    for tenant in ["tenant-a", "tenant-b"] {
        assert_rollups_match(&store, &events, tenant).await;
    }
    let after = store.summary("tenant-a", from, to).await.unwrap();
    assert_eq!(after, total(&expected(&events, "tenant-a", Period::Day)));
    assert_eq!(after.requests, before.requests + 2);

    // The daily series is the daily rows summed per day.
    let saturday = date(2026, 11, 28);
    let series = store.daily_series("tenant-a", saturday, to).await.unwrap();
    let daily = expected(&events, "tenant-a", Period::Day);
    assert_eq!(series.len(), 4, "one point per day, zero without traffic");
    assert_eq!(series[0].totals, UsageTotals::default());
    for point in &series {
        let rows: Vec<RollupRow> = daily
            .iter()
            .filter(|r| r.period_start == point.day)
            .cloned()
            .collect();
        assert_eq!(point.totals, total(&rows), "{}", point.day);
    }

    // An empty or reversed range changes nothing.
    let empty = store
        .rollup(date(2026, 6, 1), date(2026, 6, 2))
        .await
        .unwrap();
    assert!(empty.days_recomputed.is_empty());
    assert_eq!(empty.days_kept.len(), 2);
    assert_eq!(store.rollup(to, from).await.unwrap(), Default::default());
    assert_rollups_match(&store, &events, "tenant-a").await;
    store.close().await;
}

#[tokio::test]
async fn retention_deletes_raw_days_and_keeps_their_aggregates() {
    let db = TempDb::new();
    let store = db.store().await;
    let mut events = traffic("tenant-a");
    store.write(&events).await.unwrap();
    // Only Tuesday is rolled up; retention must roll up Sunday and Monday itself.
    store
        .rollup(date(2026, 12, 1), date(2026, 12, 1))
        .await
        .unwrap();

    let per_day = events.len() as u64 / 3;
    let cutoff = at(date(2026, 12, 1), 6, 0);
    assert_eq!(
        store.delete_events_older_than(cutoff).await.unwrap(),
        2 * per_day
    );
    let raw = store
        .events(
            "tenant-a",
            at(date(2026, 1, 1), 0, 0),
            at(date(2027, 1, 1), 0, 0),
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        raw.len() as u64,
        per_day,
        "Tuesday's events stay, all of them"
    );
    assert!(raw
        .iter()
        .all(|e| e.occurred_at.date_naive() == date(2026, 12, 1)));
    assert_rollups_match(&store, &events, "tenant-a").await;

    // Re-running over the deleted days keeps their aggregates.
    let report = store
        .rollup(date(2026, 11, 1), date(2026, 12, 31))
        .await
        .unwrap();
    assert_eq!(report.days_recomputed, [date(2026, 12, 1)]);
    assert_eq!(report.days_kept.len(), 60);
    assert_rollups_match(&store, &events, "tenant-a").await;

    // An event arriving for a sealed day does not replace the day's aggregates.
    let straggler = event("tenant-a", at(date(2026, 11, 29), 8, 0), "5", "6");
    assert_eq!(store.write(&[straggler]).await.unwrap(), 1);
    store
        .rollup(date(2026, 11, 29), date(2026, 12, 1))
        .await
        .unwrap();
    assert_rollups_match(&store, &events, "tenant-a").await;
    assert_eq!(store.delete_events_older_than(cutoff).await.unwrap(), 1);
    assert_rollups_match(&store, &events, "tenant-a").await;

    // A later retention run moves on, and everything stays summed.
    let wednesday = event("tenant-a", at(date(2026, 12, 2), 8, 0), "0.75", "1");
    store.write(std::slice::from_ref(&wednesday)).await.unwrap();
    events.push(wednesday);
    let cutoff = at(date(2026, 12, 3), 0, 0);
    assert_eq!(
        store.delete_events_older_than(cutoff).await.unwrap(),
        per_day + 1
    );
    assert_rollups_match(&store, &events, "tenant-a").await;
    let summary = store
        .summary("tenant-a", date(2026, 11, 1), date(2026, 12, 31))
        .await
        .unwrap();
    assert_eq!(summary, total(&expected(&events, "tenant-a", Period::Day)));
    store.close().await;
}

#[tokio::test]
async fn tenant_queries_see_only_their_tenant() {
    let db = TempDb::new();
    let store = db.store().await;
    let a = traffic("tenant-a");
    let mut b = traffic("tenant-b");
    for e in b.iter_mut().filter(|e| e.cost_usd.is_some()) {
        e.cost_usd = Cost::parse_usd("7").ok();
    }
    store.write(&a).await.unwrap();
    store.write(&b).await.unwrap();
    let (from, to) = (date(2026, 11, 29), date(2026, 12, 1));
    store.rollup(from, to).await.unwrap();

    let summary = store.summary("tenant-a", from, to).await.unwrap();
    assert_eq!(summary, total(&expected(&a, "tenant-a", Period::Day)));
    let cost_a: Cost = a.iter().filter_map(|e| e.cost_usd).sum();
    assert_eq!(summary.cost, cost_a);
    assert_eq!(summary.requests, a.len() as i64);

    let series = store.daily_series("tenant-a", from, to).await.unwrap();
    let series_cost: Cost = series.iter().map(|p| p.totals.cost).sum();
    assert_eq!(series_cost, cost_a);
    let series_b = store.daily_series("tenant-b", from, to).await.unwrap();
    let cost_b: Cost = b.iter().filter_map(|e| e.cost_usd).sum();
    assert_eq!(series_b.iter().map(|p| p.totals.cost).sum::<Cost>(), cost_b);
    for period in [Period::Day, Period::Week, Period::Month] {
        assert_eq!(
            stored(&store, "tenant-a", period).await,
            expected(&a, "tenant-a", period)
        );
    }
    let raw = store
        .events(
            "tenant-a",
            at(from, 0, 0),
            at(date(2026, 12, 2), 0, 0),
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(raw.len(), a.len());
    assert!(raw.iter().all(|e| e.tenant_id == "tenant-a"));

    let nobody = store.summary("tenant-c", from, to).await.unwrap();
    assert_eq!(nobody, UsageTotals::default());
    store.close().await;
}

#[tokio::test]
async fn summaries_add_past_the_per_row_integer_range_exactly() {
    let db = TempDb::new();
    let store = db.store().await;
    // Each aggregate row holds 9M USD (just under i64 pico-USD); the days are in
    // different weeks and months, so no stored row overflows, but the sum does.
    let days = [date(2026, 11, 29), date(2026, 12, 1)];
    let events: Vec<UsageEvent> = days
        .iter()
        .map(|day| event("whale", at(*day, 1, 0), "9000000", "9000000.000000000001"))
        .collect();
    store.write(&events).await.unwrap();
    store.rollup(days[0], days[1]).await.unwrap();
    let summary = store.summary("whale", days[0], days[1]).await.unwrap();
    assert_eq!(summary.cost, Cost::parse_usd("18000000").unwrap());
    assert_eq!(summary.baseline.usd(), "18000000.000000000002");
    assert_eq!(summary.savings.usd(), "0.000000000002");

    // One aggregate row past i64 fails the rollup loudly instead of wrapping,
    // and leaves the stored aggregates as they were.
    let same_day = event("whale", at(days[0], 2, 0), "9000000", "9000000");
    store.write(&[same_day]).await.unwrap();
    let result = store.rollup(days[0], days[0]).await;
    assert!(matches!(result, Err(StoreError::Rejected(_))), "{result:?}");
    let unchanged = store.summary("whale", days[0], days[1]).await.unwrap();
    assert_eq!(unchanged, summary);
    store.close().await;
}

#[tokio::test]
async fn aggregate_retention_drops_old_periods_and_freezes_partial_ones() {
    let db = TempDb::new();
    let store = db.store().await;
    let events = traffic("tenant-a");
    store.write(&events).await.unwrap();
    let (from, to) = (date(2026, 11, 29), date(2026, 12, 1));
    store.rollup(from, to).await.unwrap();
    let weekly_before = stored(&store, "tenant-a", Period::Week).await;
    let monthly_before = stored(&store, "tenant-a", Period::Month).await;

    // Keep aggregates from Monday 11-30 on: Sunday's daily rows go; the week of
    // 11-23 ended on Sunday, so it goes; November has not ended, so it stays.
    let dropped = store
        .drop_aggregates_older_than(date(2026, 12, 10), 10)
        .await
        .unwrap();
    let daily_of_sunday = expected(&events, "tenant-a", Period::Day)
        .iter()
        .filter(|r| r.period_start == from)
        .count() as u64;
    assert_eq!(dropped.daily, daily_of_sunday);
    let weekly_of_sunday = weekly_before
        .iter()
        .filter(|r| r.period_start == date(2026, 11, 23))
        .count() as u64;
    assert_eq!(dropped.weekly, weekly_of_sunday);
    assert_eq!(dropped.monthly, 0);

    // November began before the watermark: a rollup must not rebuild it from
    // the daily rows that remain (that would lose Sunday).
    let report = store.rollup(from, to).await.unwrap();
    assert_eq!(report.days_recomputed, [date(2026, 11, 30), to]);
    assert_eq!(report.months_recomputed, [date(2026, 12, 1)]);
    assert_eq!(report.weeks_recomputed, [date(2026, 11, 30)]);
    assert_eq!(
        stored(&store, "tenant-a", Period::Month).await,
        monthly_before
    );
    let recent: Vec<RollupRow> = weekly_before
        .into_iter()
        .filter(|r| r.period_start == date(2026, 11, 30))
        .collect();
    assert_eq!(stored(&store, "tenant-a", Period::Week).await, recent);
    store.close().await;
}

/// The store's futures can be spawned on a multi-threaded runtime.
#[tokio::test]
async fn futures_are_send() {
    fn send<T: Send>(future: T) -> T {
        future
    }
    let store = SqliteStore::open_in_memory().await.unwrap();
    let day = date(2026, 11, 25);
    let cutoff = at(day, 0, 0);
    send(store.migrate()).await.unwrap();
    send(store.write(&[])).await.unwrap();
    send(store.rollup(day, day)).await.unwrap();
    send(store.delete_events_older_than(cutoff)).await.unwrap();
    send(store.drop_aggregates_older_than(day, 1))
        .await
        .unwrap();
    send(store.summary("t", day, day)).await.unwrap();
    send(store.daily_series("t", day, day)).await.unwrap();
    send(store.rollup_rows(Period::Day, "t", day, day))
        .await
        .unwrap();
    send(store.events("t", cutoff, cutoff, 1)).await.unwrap();
    send(store.close()).await;
}
