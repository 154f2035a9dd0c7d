//! `Store::spend` on both stores (SQLite in memory; Postgres in a throwaway
//! database on `GATEWAY_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`): the same events and the same
//! table of scopes give the same exact sums, unpriced events adding nothing
//! and events before the period start, of another tenant, key or team left out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

use analytics::store::sqlite::SqliteStore;
use analytics::store::{EventStore, SpendScope, Store};
use analytics::UsageEvent;
use chrono::{DateTime, TimeZone, Utc};
use pricing::Cost;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn at(hour: u32, nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0).unwrap()
        + chrono::TimeDelta::nanoseconds(i64::from(nanos))
}

fn event(
    tenant: &str,
    key: &str,
    team: Option<&str>,
    when: DateTime<Utc>,
    pico: Option<i128>,
) -> UsageEvent {
    UsageEvent {
        event_id: Uuid::now_v7(),
        occurred_at: when,
        tenant_id: tenant.to_owned(),
        key_id: key.to_owned(),
        team: team.map(str::to_owned),
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: "m".to_owned(),
        routed_provider: Some("p".to_owned()),
        routed_model: Some("m".to_owned()),
        route_reason: "requested".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 10,
        completion_tokens: 5,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: pico.map(Cost),
        baseline_usd: pico.map(Cost),
        price_version: None,
        baseline_price_version: None,
        latency_ms: 3,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: None,
        upstream_format: None,
    }
}

/// Writes the events and checks every scope's sum since 05:00.
async fn check(store: &Store) {
    let events = [
        // Just before the start: left out.
        event(
            "t",
            "k1",
            Some("web"),
            at(4, 999_999_000),
            Some(1_000_000_000_001),
        ),
        // Exactly at the start: counted.
        event("t", "k1", Some("web"), at(5, 0), Some(2_500_000_000_000)),
        event("t", "k2", Some("web"), at(6, 0), Some(7)),
        // Unpriced: adds nothing.
        event("t", "k3", None, at(7, 0), None),
        event("t", "k3", None, at(8, 0), Some(40)),
        // Another tenant with the same key and team names.
        event("other", "k1", Some("web"), at(9, 0), Some(999)),
        // Over i64 pico-USD once summed ($9.2M): still exact.
        event("big", "k", None, at(10, 0), Some(9_000_000_000_000_000_000)),
        event("big", "k", None, at(11, 0), Some(9_000_000_000_000_000_003)),
    ];
    store.write(&events).await.unwrap();
    let since = at(5, 0);
    let cases = [
        (
            SpendScope::Key {
                tenant: "t",
                key: "k1",
            },
            2_500_000_000_000,
        ),
        (
            SpendScope::Key {
                tenant: "t",
                key: "k3",
            },
            40,
        ),
        (
            SpendScope::Team {
                tenant: "t",
                team: "web",
            },
            2_500_000_000_007,
        ),
        (SpendScope::Tenant("t"), 2_500_000_000_047),
        (
            SpendScope::Key {
                tenant: "other",
                key: "k1",
            },
            999,
        ),
        (SpendScope::Tenant("nobody"), 0),
        (SpendScope::Tenant("big"), 18_000_000_000_000_000_003),
    ];
    for (scope, pico) in cases {
        assert_eq!(
            store.spend(scope, since).await.unwrap(),
            Cost(pico),
            "{scope:?}"
        );
    }
    let whole_day = store
        .spend(
            SpendScope::Key {
                tenant: "t",
                key: "k1",
            },
            at(0, 0),
        )
        .await
        .unwrap();
    assert_eq!(whole_day, Cost(3_500_000_000_001));
}

#[tokio::test]
async fn spend_on_sqlite() {
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let store = Store::Sqlite(sqlite);
    check(&store).await;
}

#[tokio::test]
async fn spend_on_postgres() {
    let admin_url = std::env::var("GATEWAY_TEST_POSTGRES_URL").unwrap_or(DEFAULT_URL.to_owned());
    let name = format!("gw_test_{}", Uuid::now_v7().simple());
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    // The name is generated above, never input.
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let outcome = tokio::spawn(async move {
        let store = Store::open_postgres(&url).await.unwrap();
        check(&store).await;
        if let Store::Postgres(pg) = &store {
            pg.pool().close().await;
        }
    })
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
