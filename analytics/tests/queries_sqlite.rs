//! `store::queries` on the embedded SQLite store: every grouping and filter of
//! the rollup reads equals the figures computed from the raw events.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

mod queries_support;

use analytics::store::Store;

#[tokio::test]
async fn rollup_reads_equal_raw_event_figures() {
    let path = std::env::temp_dir().join(format!(
        "analytics-queries-{}.db",
        uuid::Uuid::now_v7().simple()
    ));
    let store = Store::open_sqlite(&path).await.unwrap();
    queries_support::check(&store).await;
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
