//! A damaged spill file: torn lines in the middle and at the end, a torn
//! multi-byte character, a torn line glued to a whole event. Every intact event
//! is replayed, each damaged line is skipped, counted and kept in the
//! dead-letter file, and the spill file is removed only once all of it is done.

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
    assert_same_ids, config, describe, id_set, load, records_in, wait_for, TempDir,
};
use crate::support::event;

fn line(event: &UsageEvent) -> Vec<u8> {
    let mut out = serde_json::to_vec(event).unwrap();
    out.push(b'\n');
    out
}

async fn stored_ids(store: &SqliteStore) -> Vec<Uuid> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM usage_events")
        .fetch_all(store.pool())
        .await
        .unwrap();
    ids.iter().map(|id| Uuid::parse_str(id).unwrap()).collect()
}

#[tokio::test]
async fn every_intact_event_of_a_torn_spill_file_is_replayed() {
    let dir = TempDir::new("writer-torn-spill");
    let mut intact = Vec::new();
    let mut bytes = Vec::new();
    let mut push = |bytes: &mut Vec<u8>, n: usize| {
        for _ in 0..n {
            let e = event("acme", Utc::now());
            bytes.extend(line(&e));
            intact.push(e);
        }
    };
    push(&mut bytes, 120);
    // A torn line in the middle: a crash cut an append, the next append
    // started on a fresh line.
    let victim = line(&event("acme", Utc::now()));
    bytes.extend_from_slice(&victim[..victim.len() / 2]);
    bytes.push(b'\n');
    push(&mut bytes, 130);
    // A torn multi-byte character (the line ends inside a 3-byte character).
    let mut wide = event("acme", Utc::now());
    wide.requested_model = "模型-model".to_owned();
    let wide = line(&wide);
    let cut = wide.windows(3).position(|w| w == "型".as_bytes()).unwrap() + 2;
    bytes.extend_from_slice(&wide[..cut]);
    bytes.push(b'\n');
    push(&mut bytes, 140);
    // A torn line glued to the next whole event (as versions before the
    // fresh-line rule wrote them): the torn part is lost, the event is not.
    bytes.extend_from_slice(&victim[..30]);
    push(&mut bytes, 150);
    // A torn last line (the crash happened mid-append; no newline).
    bytes.extend_from_slice(&victim[..victim.len() - 5]);
    std::fs::write(dir.spill(), &bytes).unwrap();

    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite.clone())),
        Counters::Memory(MemoryCounters::default()),
        config(&dir),
    );
    let stats = sink.stats().clone();
    wait_for("the spill file replayed", Duration::from_secs(30), || {
        let done = !dir.spill().exists();
        async move { done }
    })
    .await;
    writer.shutdown(Duration::from_secs(5)).await;

    assert_eq!(intact.len(), 540);
    let context = describe(&stats);
    assert_same_ids(&stored_ids(&sqlite).await, &id_set(&intact), &context);
    assert_eq!(load(&stats.replayed), 540);
    assert_eq!(load(&stats.written), 540);
    assert_eq!(load(&stats.spill_torn_lines), 4, "{}", describe(&stats));
    assert_eq!(load(&stats.dropped), 0);
    // The damaged lines are kept, as text, in the dead-letter file.
    let records = records_in(&dir.dead_letter());
    assert_eq!(records.len(), 4);
    for record in &records {
        assert!(
            record["line"].is_string() && record["event"].is_null(),
            "{record}"
        );
    }
    assert!(records[1]["line"].as_str().unwrap().ends_with('\u{fffd}'));
}

/// Appends after a crash left a torn last line start on a fresh line: the
/// torn line costs itself only, and the events spilled after it all replay.
#[tokio::test]
async fn spills_after_a_torn_tail_replay_whole() {
    let dir = TempDir::new("writer-torn-tail");
    let before = event("acme", Utc::now());
    let mut bytes = line(&before);
    let torn = line(&event("acme", Utc::now()));
    bytes.extend_from_slice(&torn[..torn.len() - 20]);
    std::fs::write(dir.spill(), &bytes).unwrap();

    // A store that is down (its pool closed): events are held, then spilled
    // after the torn tail.
    let down = SqliteStore::open_in_memory().await.unwrap();
    down.close().await;
    let mut settings = config(&dir);
    settings.memory_backlog = 10;
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(down)),
        Counters::Memory(MemoryCounters::default()),
        settings,
    );
    let later: Vec<UsageEvent> = (0..100).map(|_| event("acme", Utc::now())).collect();
    for e in &later {
        sink.emit(e.clone());
    }
    let stats = sink.stats().clone();
    writer.shutdown(Duration::from_millis(200)).await;
    assert_eq!(
        load(&stats.spilled),
        100,
        "everything spilled: {}",
        describe(&stats)
    );
    assert_eq!(load(&stats.dropped), 0);

    // Back up: the old event and every later one replay; the torn line is skipped.
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite.clone())),
        Counters::Memory(MemoryCounters::default()),
        config(&dir),
    );
    let stats = sink.stats().clone();
    wait_for("the spill file replayed", Duration::from_secs(30), || {
        let done = !dir.spill().exists();
        async move { done }
    })
    .await;
    writer.shutdown(Duration::from_secs(5)).await;
    let mut expected = id_set(&later);
    expected.insert(before.event_id);
    assert_same_ids(&stored_ids(&sqlite).await, &expected, &describe(&stats));
    assert_eq!(load(&stats.spill_torn_lines), 1);
}
