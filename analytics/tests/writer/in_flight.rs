//! Two batch writes in flight at once: every event still lands exactly once,
//! through slow commits, a stall that makes writes fail and be held, and a
//! shutdown while writes are running.

use std::sync::Arc;
use std::time::Duration;

use analytics::counters::{Counters, MemoryCounters};
use analytics::store::postgres::{PoolSettings, PostgresStore};
use analytics::store::Store;
use analytics::writer::Writer;
use chrono::Utc;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::harness::{assert_same_ids, config, describe, load, TempDir};
use crate::support::{event, with_db};

/// Every INSERT into `usage_events` takes 40 ms more, and notes how many such
/// INSERTs were running at that moment (this one included).
const SLOW: &str = "
CREATE TABLE overlap (running int NOT NULL);
CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO overlap SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active'
            AND query LIKE 'INSERT INTO usage_events%';
    PERFORM pg_sleep(0.04);
    RETURN NULL;
END $$;
CREATE TRIGGER slow_insert AFTER INSERT ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION slow_insert();
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writes_in_flight_store_every_event_once_through_a_stall_and_shutdown() {
    with_db(|url| async move {
        let settings = PoolSettings {
            write_timeout: Duration::from_secs(1),
        };
        let pg = PostgresStore::connect_with(&url, settings).await.unwrap();
        pg.migrate().await.unwrap();
        sqlx::raw_sql(SLOW).execute(pg.pool()).await.unwrap();
        let dir = TempDir::new("writer-in-flight");
        let (sink, writer) = Writer::start(
            Arc::new(Store::Postgres(pg.clone())),
            Counters::Memory(MemoryCounters::default()),
            config(&dir),
        );
        let stats = sink.stats().clone();

        // 6,000 events, 20 every 10 ms or so (batches of 50 fill faster than
        // one slow write commits); a lock held for 1.5 s in the middle makes
        // the writes of that time fail (statement_timeout 1 s) and be held.
        let mut sent = Vec::new();
        let mut locker = None;
        for round in 0..300 {
            for i in 0..20 {
                let event = event(&format!("tenant-{}", i % 3), Utc::now());
                sent.push(event.event_id);
                sink.emit(event);
            }
            if round == 50 {
                let mut conn = PgConnection::connect(&url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query("LOCK TABLE usage_events IN SHARE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                locker = Some((conn, tokio::time::Instant::now()));
            }
            if locker
                .as_ref()
                .is_some_and(|(_, at)| at.elapsed() > Duration::from_millis(1_500))
            {
                if let Some((mut conn, _)) = locker.take() {
                    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
                    conn.close().await.unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some((mut conn, _)) = locker.take() {
            sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        drop(sink);
        // Writes are still running (each takes 40 ms or more): shutdown settles
        // them and writes the rest within its grace.
        writer.shutdown(Duration::from_secs(30)).await;

        let stored: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM usage_events")
            .fetch_all(pg.pool())
            .await
            .unwrap();
        let expected = sent.iter().copied().collect();
        assert_same_ids(&stored, &expected, &describe(&stats));
        assert_eq!(sent.len(), 6_000);
        assert!(
            load(&stats.store_failures) > 0,
            "the stall made writes fail: {}",
            describe(&stats)
        );
        assert_eq!(load(&stats.dropped), 0, "{}", describe(&stats));
        assert_eq!(load(&stats.shutdown_spilled), 0, "{}", describe(&stats));
        assert!(!dir.spill().exists(), "nothing left to replay");
        assert!(!dir.dead_letter().exists());
        let most: Option<i32> = sqlx::query_scalar("SELECT max(running) FROM overlap")
            .fetch_one(pg.pool())
            .await
            .unwrap();
        assert_eq!(
            most,
            Some(2),
            "two batch writes ran at once, never more (writer::IN_FLIGHT)"
        );
        pg.pool().close().await;
    })
    .await;
}
