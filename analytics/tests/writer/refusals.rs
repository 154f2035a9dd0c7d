//! Rows the store refuses (here: a trigger that refuses one tenant) are found
//! inside their batches and kept in the dead-letter file with the reason; every
//! other event lands, live or replayed from the spill file, exactly once.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use analytics::counters::{Counters, MemoryCounters};
use analytics::store::sqlite::SqliteStore;
use analytics::store::Store;
use analytics::writer::Writer;
use analytics::UsageEvent;
use chrono::Utc;
use uuid::Uuid;

use crate::harness::{
    assert_same_ids, config, describe, id_set, ids_in, load, records_in, wait_for, TempDir,
};
use crate::support::{event, store, with_db};

const REFUSE_BLOCKED_PG: &str = "
CREATE FUNCTION refuse_blocked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id = 'blocked' THEN
        RAISE EXCEPTION 'tenant % is blocked', NEW.tenant_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_blocked BEFORE INSERT ON usage_events
    FOR EACH ROW EXECUTE FUNCTION refuse_blocked();
";

const REFUSE_BLOCKED_SQLITE: &str = "
CREATE TRIGGER refuse_blocked BEFORE INSERT ON usage_events
WHEN NEW.tenant_id = 'blocked'
BEGIN SELECT RAISE(ABORT, 'tenant is blocked'); END;
";

/// `n` events, one in five of tenant `blocked`, the others spread over three
/// tenants, interleaved so that almost every batch mixes them.
fn traffic(n: usize) -> Vec<UsageEvent> {
    (0..n)
        .map(|i| {
            let tenant = if i % 5 == 2 {
                "blocked".to_owned()
            } else {
                format!("good-{}", i % 3)
            };
            event(&tenant, Utc::now())
        })
        .collect()
}

fn split(events: &[UsageEvent]) -> (BTreeSet<Uuid>, BTreeSet<Uuid>) {
    let (blocked, good): (Vec<_>, Vec<_>) = events
        .iter()
        .cloned()
        .partition(|e| e.tenant_id == "blocked");
    (id_set(&good), id_set(&blocked))
}

/// Runs the writer over a spill file left by an earlier run (`spilled`) and
/// live traffic (`live`) and checks where every event ended up.
async fn run_and_check<F, Fut>(
    store: Store,
    spilled: &[UsageEvent],
    live: &[UsageEvent],
    reason: &str,
    stored: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<Uuid>>,
{
    let dir = TempDir::new("writer-refusals");
    let mut file = std::fs::File::create(dir.spill()).unwrap();
    for event in spilled {
        writeln!(file, "{}", serde_json::to_string(event).unwrap()).unwrap();
    }
    drop(file);

    let (sink, writer) = Writer::start(
        Arc::new(store),
        Counters::Memory(MemoryCounters::default()),
        config(&dir),
    );
    for event in live {
        sink.emit(event.clone());
    }
    let all: Vec<UsageEvent> = spilled.iter().chain(live).cloned().collect();
    let (good, blocked) = split(&all);
    let stats = sink.stats().clone();
    let total = all.len() as u64;
    wait_for(
        "every event stored or dead-lettered",
        Duration::from_secs(60),
        || {
            let done =
                load(&stats.written) + load(&stats.dead_lettered) >= total && !dir.spill().exists();
            async move { done }
        },
    )
    .await;
    writer.shutdown(Duration::from_secs(5)).await;

    let context = describe(&stats);
    assert_same_ids(&stored().await, &good, &format!("store ({context})"));
    let dead = ids_in(&dir.dead_letter());
    assert_same_ids(&dead, &blocked, &format!("dead-letter file ({context})"));
    assert_eq!(load(&stats.dead_lettered), blocked.len() as u64);
    assert_eq!(load(&stats.written), good.len() as u64);
    assert_eq!(load(&stats.dropped), 0);
    assert!(!dir.spill().exists(), "the replayed spill file is removed");
    for record in records_in(&dir.dead_letter()) {
        assert!(record["at"].is_string(), "{record}");
        assert_eq!(record["event"]["tenant_id"], "blocked", "{record}");
        assert!(
            record["reason"].as_str().unwrap().contains(reason),
            "{record}"
        );
    }
    // The dead-letter file is never replayed or removed by the writer.
    assert!(dir.dead_letter().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refusing_one_tenant_costs_only_that_tenants_events() {
    with_db(|url| async move {
        let pg = store(&url).await;
        sqlx::raw_sql(REFUSE_BLOCKED_PG)
            .execute(pg.pool())
            .await
            .unwrap();
        let spilled = traffic(300);
        let live = traffic(1_200);
        let reader = pg.clone();
        // The reason kept with each refused event is Postgres' own.
        let reason = "SQLSTATE P0001: tenant blocked is blocked";
        run_and_check(Store::Postgres(pg), &spilled, &live, reason, || async {
            sqlx::query_scalar("SELECT event_id FROM usage_events")
                .fetch_all(reader.pool())
                .await
                .unwrap()
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_refusing_one_tenant_costs_only_that_tenants_events() {
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    sqlx::raw_sql(REFUSE_BLOCKED_SQLITE)
        .execute(sqlite.pool())
        .await
        .unwrap();
    let reader = sqlite.clone();
    run_and_check(
        Store::Sqlite(sqlite),
        &traffic(100),
        &traffic(400),
        "tenant is blocked",
        || async {
            let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM usage_events")
                .fetch_all(reader.pool())
                .await
                .unwrap();
            ids.iter().map(|id| Uuid::parse_str(id).unwrap()).collect()
        },
    )
    .await;
}
