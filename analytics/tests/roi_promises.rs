//! ROI promises on both stores: versions 1, 2, ... per tenant (also when saves
//! race), rows that neither UPDATE nor DELETE can touch (the triggers), and the
//! achievement read from rolled-up events against sums of the events written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

#[path = "postgres_store/support.rs"]
#[allow(dead_code, reason = "shared helpers; this file uses a few")]
mod support;

use std::sync::Arc;

use analytics::promises::{NewPromise, Promise, IN_PROGRESS, UNPRICED};
use analytics::store::{EventStore, Store, StoreError};
use chrono::NaiveDate;
use pricing::Cost;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn usd(text: &str) -> Cost {
    Cost::parse_usd(text).unwrap()
}

fn new_promise(start: &str, gross: &str) -> NewPromise {
    NewPromise {
        created_at_ms: 1_765_000_000_000,
        created_by: "admin-key".to_owned(),
        start_month: d(start),
        seats: 50,
        fee_monthly: usd("2450"),
        promised_gross_monthly: usd(gross),
        inputs: r#"{"mode":"scenario","seats":50}"#.to_owned(),
    }
}

/// The statements that would change a saved promise, in each store's SQL.
fn changes(store: &Store) -> Vec<&'static str> {
    let mut sql = vec![
        "UPDATE roi_promises SET promised_gross_monthly_usd = '99999' WHERE tenant_id = 'acme'",
        "UPDATE roi_promises SET version = 7 WHERE tenant_id = 'acme' AND version = 1",
        "DELETE FROM roi_promises WHERE tenant_id = 'acme'",
        "DELETE FROM roi_promises",
    ];
    if let Store::Postgres(_) = store {
        sql.push("TRUNCATE roi_promises");
    }
    sql
}

async fn execute(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    match store {
        Store::Postgres(pg) => sqlx::query(sql)
            .execute(pg.pool())
            .await
            .map(|done| done.rows_affected()),
        Store::Sqlite(lite) => sqlx::query(sql)
            .execute(lite.pool())
            .await
            .map(|done| done.rows_affected()),
    }
}

async fn versions_and_immutability(store: Arc<Store>) {
    assert_eq!(store.latest_promise("acme").await.unwrap(), None);
    assert!(store.promises("acme").await.unwrap().is_empty());

    let first = store
        .save_promise("acme", new_promise("2026-09-01", "3465"))
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    let other = store
        .save_promise("globex", new_promise("2026-10-01", "10"))
        .await
        .unwrap();
    assert_eq!(other.version, 1, "versions count per tenant");
    let second = store
        .save_promise("acme", new_promise("2026-10-01", "4000.000000000001"))
        .await
        .unwrap();
    assert_eq!(second.version, 2);

    let all = store.promises("acme").await.unwrap();
    assert_eq!(
        all,
        vec![first.clone(), second.clone()],
        "as saved, oldest first"
    );
    assert_eq!(
        store.latest_promise("acme").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        second.promised_gross_monthly,
        Cost(4_000_000_000_000_001),
        "money is kept exactly"
    );

    for sql in changes(&store) {
        let refused = execute(&store, sql).await;
        let error = refused.expect_err(sql);
        assert!(error.to_string().contains("immutable"), "{sql}: {error}");
    }
    assert_eq!(
        store.promises("acme").await.unwrap(),
        all,
        "nothing changed"
    );
    assert_eq!(store.promises("globex").await.unwrap(), vec![other]);

    for bad in [
        NewPromise {
            start_month: d("2026-09-02"),
            ..new_promise("2026-09-01", "1")
        },
        NewPromise {
            seats: -1,
            ..new_promise("2026-09-01", "1")
        },
    ] {
        let refused = store.save_promise("acme", bad).await;
        assert!(
            matches!(refused, Err(StoreError::Rejected(_))),
            "{refused:?}"
        );
    }
    assert!(matches!(
        store.save_promise("", new_promise("2026-09-01", "1")).await,
        Err(StoreError::Rejected(_))
    ));

    // Racing saves: each gets its own version, none is lost.
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..12 {
        let store = Arc::clone(&store);
        racing.spawn(async move {
            let promise = NewPromise {
                created_by: format!("racer-{n}"),
                ..new_promise("2026-11-01", "1")
            };
            store.save_promise("racer", promise).await.unwrap().version
        });
    }
    let mut versions: Vec<i64> = racing.join_all().await;
    versions.sort_unstable();
    assert_eq!(versions, (1..=12).collect::<Vec<i64>>());
    let saved: Vec<i64> = store
        .promises("racer")
        .await
        .unwrap()
        .iter()
        .map(|p| p.version)
        .collect();
    assert_eq!(saved, versions);
}

/// An event of `tenant` on `day`: `baseline - cost` saved, or unpriced.
fn event(tenant: &str, day: &str, n: i64, cost: Option<(&str, &str)>) -> analytics::UsageEvent {
    let mut e = support::event(tenant, support::at(d(day), n));
    e.cost_usd = cost.map(|(cost, _)| usd(cost));
    e.baseline_usd = cost.map(|(_, baseline)| usd(baseline));
    if cost.is_none() {
        e.price_version = None;
        e.baseline_price_version = None;
    }
    e
}

async fn achievement_from_events(store: Arc<Store>) {
    let events = vec![
        // Before the promise: the tenant's first traffic.
        event("acme", "2026-07-20", 1, Some(("1", "2"))),
        event("acme", "2026-08-01", 1, Some(("0.25", "3.5"))),
        event(
            "acme",
            "2026-08-31",
            2,
            Some(("0.000000000001", "1.000000000002")),
        ),
        event("acme", "2026-09-15", 3, Some(("2", "1.5"))), // a route that cost more
        event("acme", "2026-09-16", 4, None),               // unpriced
        event("acme", "2026-09-16", 5, Some(("1", "11"))),
        // October: no traffic. November, in progress:
        event("acme", "2026-11-02", 6, Some(("0.1", "0.4"))),
        // Another tenant's savings never count.
        event("globex", "2026-08-10", 7, Some(("1", "1000"))),
    ];
    store.write(&events).await.unwrap();
    store
        .rollup(d("2026-07-01"), d("2026-11-30"))
        .await
        .unwrap();
    let saved: Promise = store
        .save_promise("acme", new_promise("2026-08-01", "10"))
        .await
        .unwrap();

    let got = store
        .achievement("acme", d("2026-11-10"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.promise, saved);
    // Hand sums of baseline - cost, month by month.
    let august = (usd("3.5") - usd("0.25")) + (usd("1.000000000002") - usd("0.000000000001"));
    let september = (usd("1.5") - usd("2")) + (usd("11") - usd("1"));
    let november = usd("0.4") - usd("0.1");
    let rows: Vec<(NaiveDate, Cost, Vec<&str>)> = got
        .months
        .iter()
        .map(|m| (m.month, m.measured_savings, m.incomplete_reasons.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (d("2026-08-01"), august, vec![]),
            (d("2026-09-01"), september, vec![UNPRICED]),
            (d("2026-10-01"), Cost::ZERO, vec![]),
            (d("2026-11-01"), november, vec![IN_PROGRESS]),
        ]
    );
    assert_eq!(got.to_date_measured, august + september + november);
    // Complete: August and October; 10 more months at their average.
    assert_eq!(
        got.projected_year_savings,
        Cost(august.0 + august.0 * 10 / 2)
    );
    assert_eq!(
        store.achievement("globex", d("2026-11-10")).await.unwrap(),
        None
    );
}

/// A scenario run on one store.
type Scenario = fn(Arc<Store>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn on_sqlite(test: Scenario) {
    let path = std::env::temp_dir().join(format!(
        "promises-test-{}.db",
        uuid::Uuid::now_v7().simple()
    ));
    let store = Arc::new(Store::open_sqlite(&path).await.unwrap());
    let outcome = tokio::spawn(test(Arc::clone(&store))).await;
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn on_postgres(test: Scenario) {
    support::with_db(move |url| async move {
        let store = Arc::new(Store::open_postgres(&url).await.unwrap());
        test(store).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promise_versions_and_immutability_on_sqlite() {
    on_sqlite(|store| Box::pin(versions_and_immutability(store))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promise_versions_and_immutability_on_postgres() {
    on_postgres(|store| Box::pin(versions_and_immutability(store))).await;
}

#[tokio::test]
async fn achievement_from_rolled_up_events_on_sqlite() {
    on_sqlite(|store| Box::pin(achievement_from_events(store))).await;
}

#[tokio::test]
async fn achievement_from_rolled_up_events_on_postgres() {
    on_postgres(|store| Box::pin(achievement_from_events(store))).await;
}
