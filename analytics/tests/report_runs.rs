//! Report runs and deliveries on both stores, with the same scenario: a
//! scheduled run is claimed once (a second claim of the same tenant, kind and
//! period, as after a restart, gets nothing), manual runs always; a due
//! delivery is leased by one taker only; a retry waits for its time; a
//! delivered one is never due again; the run's status follows its deliveries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

#[path = "postgres_store/support.rs"]
#[allow(dead_code, reason = "shared helpers; this file uses one")]
mod support;

use analytics::store::alerts::DeliveryOutcome;
use analytics::store::reports::{NewRun, RunOrigin, Settlement};
use analytics::store::Store;

fn run(id: &str, tenant: &str, origin: RunOrigin) -> NewRun {
    NewRun {
        id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        kind: "weekly".to_owned(),
        period_start: "2026-11-23".parse().unwrap(),
        origin,
        created_ms: 1_000,
        due_ms: 1_000,
        channels: vec!["hook".to_owned(), "mail".to_owned()],
    }
}

fn settled(outcome: DeliveryOutcome, at_ms: i64, next_ms: i64) -> Settlement {
    Settlement {
        outcome,
        at_ms,
        http_status: (outcome != DeliveryOutcome::Delivered).then_some(500),
        error: (outcome != DeliveryOutcome::Delivered).then(|| "the receiver answered 500".into()),
        next_ms,
    }
}

async fn scenario(store: &Store) {
    assert!(store
        .claim_report_run(&run("r1", "acme", RunOrigin::Scheduled))
        .await
        .unwrap());
    // The same period again (a restart, another replica): not claimed, and
    // nothing of the second attempt is kept.
    assert!(!store
        .claim_report_run(&run("r2", "acme", RunOrigin::Scheduled))
        .await
        .unwrap());
    assert!(store.report_deliveries("r2").await.unwrap().is_empty());
    // Another tenant's same period is its own run; "send now" always is.
    assert!(store
        .claim_report_run(&run("r3", "globex", RunOrigin::Scheduled))
        .await
        .unwrap());
    assert!(store
        .claim_report_run(&run("m1", "acme", RunOrigin::Manual))
        .await
        .unwrap());
    assert!(store
        .claim_report_run(&run("m2", "acme", RunOrigin::Manual))
        .await
        .unwrap());

    let due = store.due_report_deliveries(1_000, 100).await.unwrap();
    assert_eq!(due.len(), 8, "{due:#?}");
    assert!(store
        .due_report_deliveries(999, 100)
        .await
        .unwrap()
        .is_empty());
    let hook = due
        .iter()
        .find(|d| d.run.id == "r1" && d.channel == "hook")
        .unwrap()
        .clone();
    assert_eq!(hook.run.origin, "scheduled");
    assert_eq!(hook.run.period_start.to_string(), "2026-11-23");

    // One taker per attempt.
    assert_eq!(
        store
            .lease_report_delivery(&hook, 1_000, 61_000)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .lease_report_delivery(&hook, 1_000, 61_000)
            .await
            .unwrap(),
        None
    );
    // Leased: not due for others until the lease ends.
    let due = store.due_report_deliveries(2_000, 100).await.unwrap();
    assert!(!due.iter().any(|d| d.run.id == "r1" && d.channel == "hook"));

    // A 500: pending again from 5,000.
    store
        .settle_report_delivery(&hook, 1, &settled(DeliveryOutcome::Retrying, 2_000, 5_000))
        .await
        .unwrap();
    let due = store.due_report_deliveries(4_999, 100).await.unwrap();
    assert!(!due.iter().any(|d| d.run.id == "r1" && d.channel == "hook"));
    let due = store.due_report_deliveries(5_000, 100).await.unwrap();
    let again = due
        .iter()
        .find(|d| d.run.id == "r1" && d.channel == "hook")
        .unwrap()
        .clone();
    assert_eq!(again.attempts, 1);
    let attempt = store
        .lease_report_delivery(&again, 5_000, 65_000)
        .await
        .unwrap();
    assert_eq!(attempt, Some(2));
    store
        .settle_report_delivery(
            &again,
            2,
            &settled(DeliveryOutcome::Delivered, 5_100, 5_100),
        )
        .await
        .unwrap();
    // Delivered: never due again, however late.
    let due = store
        .due_report_deliveries(i64::MAX / 2, 100)
        .await
        .unwrap();
    assert!(!due.iter().any(|d| d.run.id == "r1" && d.channel == "hook"));

    // The run is pending until its mail is settled too; a mail given up
    // makes it failed.
    let runs = store.report_runs(Some("acme"), 10).await.unwrap();
    let r1 = runs.iter().find(|r| r.id == "r1").unwrap();
    assert_eq!(r1.status, "pending");
    assert_eq!(runs.len(), 3, "r1, m1, m2: {runs:#?}");
    let mail = store
        .report_deliveries("r1")
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.channel == "mail")
        .unwrap();
    let attempt = store
        .lease_report_delivery(&mail, 6_000, 66_000)
        .await
        .unwrap()
        .unwrap();
    store
        .settle_report_delivery(
            &mail,
            attempt,
            &settled(DeliveryOutcome::Failed, 6_100, 6_100),
        )
        .await
        .unwrap();
    let runs = store.report_runs(Some("acme"), 10).await.unwrap();
    assert_eq!(runs.iter().find(|r| r.id == "r1").unwrap().status, "failed");

    let attempts = store.report_attempts("r1").await.unwrap();
    let summary: Vec<(String, i64, String, Option<i64>)> = attempts
        .iter()
        .map(|a| {
            (
                a.channel.clone(),
                a.attempt,
                a.outcome.clone(),
                a.http_status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("hook".to_owned(), 1, "retrying".to_owned(), Some(500)),
            ("hook".to_owned(), 2, "delivered".to_owned(), None),
            ("mail".to_owned(), 1, "failed".to_owned(), Some(500)),
        ]
    );
    assert!(attempts.iter().all(|a| a.tenant_id == "acme"));
    // All tenants' runs: r1, r3, m1, m2.
    assert_eq!(store.report_runs(None, 10).await.unwrap().len(), 4);

    // A run its maker attempts at once: not due for others until `due_ms`,
    // but its maker may lease it before.
    let mut later = run("m3", "globex", RunOrigin::Manual);
    later.due_ms = 90_000;
    assert!(store.claim_report_run(&later).await.unwrap());
    let due = store.due_report_deliveries(89_999, 100).await.unwrap();
    assert!(!due.iter().any(|d| d.run.id == "m3"));
    let own = store.report_deliveries("m3").await.unwrap();
    assert_eq!(
        store
            .lease_report_delivery(&own[0], 7_000, 67_000)
            .await
            .unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn report_runs_on_sqlite() {
    let path =
        std::env::temp_dir().join(format!("reports-test-{}.db", uuid::Uuid::now_v7().simple()));
    let store = Store::open_sqlite(&path).await.unwrap();
    scenario(&store).await;
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn report_runs_on_postgres() {
    support::with_db(|url| async move {
        let store = Store::open_postgres(&url).await.unwrap();
        scenario(&store).await;
    })
    .await;
}
