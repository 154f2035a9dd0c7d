//! The batch writer: exactly once, and every field round-trips.

use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{DateTime, TimeDelta};
use pricing::Cost;

use crate::support::{at, days_ago, event, store, today, with_db};

/// Events that exercise every column's edge: NULLs, empty strings, CSV's special
/// characters, the largest counters and the finest and largest amounts.
fn edge_events() -> Vec<UsageEvent> {
    let mut plain = event("acme", at(today(), 1));
    plain.cost_usd = Cost::parse_usd("0.000000000001").ok();
    plain.baseline_usd = Cost::parse_usd("123456789012345678.123456789012").ok();

    let mut nulls = event("acme", at(days_ago(1), 86_399_999_999));
    nulls.team = None;
    nulls.user_tag = None;
    nulls.routed_provider = None;
    nulls.routed_model = None;
    nulls.error_kind = Some("rate_limited".to_owned());
    nulls.price_version = None;
    nulls.baseline_price_version = None;
    nulls.ttft_ms = None;
    nulls.upstream_ms = None;
    nulls.route_reason = "none".to_owned();
    nulls.status = 429;
    nulls.cost_usd = Some(Cost::ZERO);
    nulls.baseline_usd = Some(Cost::ZERO);

    let mut odd = event("acme", at(days_ago(3), 42));
    odd.key_id = "key \"quoted\", with comma\nand newline \\ backslash".to_owned();
    odd.team = Some(String::new());
    odd.requested_model = "modèle-é 模型 🚀".to_owned();
    odd.routed_model = Some("\\.".to_owned());
    odd.client_family = String::new();
    odd.attempts = u16::MAX;
    odd.stream = true;
    odd.status = 599;
    odd.prompt_tokens = i64::MAX as u64;
    odd.completion_tokens = 1;
    odd.cached_tokens = 2;
    odd.cache_write_tokens = 3;
    odd.reasoning_tokens = 4;
    odd.usage_estimated = true;
    odd.latency_ms = u32::MAX;
    odd.ttft_ms = Some(u32::MAX);
    odd.upstream_ms = Some(0);
    odd.cost_usd = Cost::parse_usd("999999999999999999.999999999999").ok();
    odd.baseline_usd = Cost::parse_usd("12.5").ok();

    // Served by a model without a price: both amounts unknown (NULL), not zero.
    let mut unpriced = event("acme", at(days_ago(2), 7));
    unpriced.routed_model = Some("llama-local".to_owned());
    unpriced.price_version = None;
    unpriced.baseline_price_version = None;
    unpriced.cost_usd = None;
    unpriced.baseline_usd = None;
    vec![plain, nulls, odd, unpriced]
}

#[tokio::test]
async fn replayed_batches_are_stored_once_and_round_trip() {
    with_db(|url| async move {
        let store = store(&url).await;
        assert_eq!(store.write(&[]).await.unwrap(), 0);

        let events = edge_events();
        // The partitions for these days do not exist yet: the writer makes them.
        assert_eq!(store.write(&events).await.unwrap(), 4);
        assert_eq!(
            store.write(&events).await.unwrap(),
            0,
            "a replay writes nothing"
        );

        // A batch mixing old and new events, with a duplicate inside it.
        let fresh = event("acme", at(today(), 2));
        let mixed = vec![
            events[0].clone(),
            fresh.clone(),
            fresh.clone(),
            events[2].clone(),
        ];
        assert_eq!(store.write(&mixed).await.unwrap(), 1);

        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_events")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(stored, 5);

        let mut expected = events.clone();
        expected.push(fresh);
        expected.sort_by_key(|e| (e.occurred_at, e.event_id));
        let from = at(days_ago(10), 0);
        let to = at(today(), 0) + TimeDelta::days(1);
        let read = store.events("acme", from, to, 100).await.unwrap();
        assert_eq!(read, expected);

        // The stored amounts keep all 12 decimals; unknown ones are NULL.
        let amounts: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT cost_usd::text, baseline_usd::text FROM usage_events ORDER BY occurred_at",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let both = |cost: &str, baseline: &str| (Some(cost.to_owned()), Some(baseline.to_owned()));
        assert_eq!(
            amounts,
            [
                both("999999999999999999.999999999999", "12.500000000000"),
                (None, None),
                both("0.000000000000", "0.000000000000"),
                both("0.000000000001", "123456789012345678.123456789012"),
                both("0.000210000000", "0.003500000000"),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn nanosecond_timestamps_are_cut_to_microseconds_and_still_deduplicated() {
    with_db(|url| async move {
        let store = store(&url).await;
        // One nanosecond before midnight: rounding would move it to the next day.
        let last_nano = at(today(), 0) - TimeDelta::nanoseconds(1);
        let mut late = event("acme", last_nano);
        late.event_id = UsageEvent::new_id();
        assert_eq!(store.write(&[late.clone()]).await.unwrap(), 1);
        assert_eq!(store.write(&[late.clone()]).await.unwrap(), 0);
        let read = store
            .events("acme", at(days_ago(1), 0), at(today(), 0), 10)
            .await
            .unwrap();
        assert_eq!(read.len(), 1);
        let micros = last_nano.timestamp_micros();
        assert_eq!(
            read[0].occurred_at,
            DateTime::from_timestamp_micros(micros).unwrap()
        );

        // Text with NUL characters (which Postgres cannot store) is kept without them.
        let mut nul = event("acme", at(today(), 5));
        nul.requested_model = "gpt\0-4o".to_owned();
        assert_eq!(store.write(&[nul]).await.unwrap(), 1);
        let (model, cost): (String, String) = sqlx::query_as(
            "SELECT requested_model, cost_usd::text FROM usage_events WHERE occurred_at >= $1",
        )
        .bind(at(today(), 0))
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(
            (model.as_str(), cost.as_str()),
            ("gpt-4o", "0.000210000000")
        );
    })
    .await;
}
