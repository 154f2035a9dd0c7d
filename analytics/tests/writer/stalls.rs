//! Nothing the databases do can hang the writer or starve the dashboard: a
//! black-holed Postgres (connections accepted, never answered), a lock held on
//! `usage_events` (the writer's `statement_timeout`), a black-holed Redis, a
//! main pool taken by tenant queries, and writes stuck while tenants read.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use analytics::counters::{Counters, MemoryCounters, RedisCounters};
use analytics::store::postgres::{PoolSettings, PostgresStore};
use analytics::store::sqlite::SqliteStore;
use analytics::store::{EventStore, Store};
use analytics::writer::Writer;
use analytics::UsageEvent;
use chrono::Utc;
use sqlx::{Connection, PgConnection};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::harness::{assert_same_ids, config, describe, id_set, ids_in, load, wait_for, TempDir};
use crate::support::{event, store, today, with_db};

/// A server that accepts connections and never answers (a network black
/// hole); dropping it closes them.
struct BlackHole {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl BlackHole {
    async fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        BlackHole { addr, task }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn events(n: usize, tenant: &str) -> Vec<UsageEvent> {
    (0..n).map(|_| event(tenant, Utc::now())).collect()
}

/// A guard against hangs, far above what the awaited step normally takes.
const HANG_GUARD: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_database_cannot_hang_the_writer_and_shutdown_spills() {
    let hole = BlackHole::start().await;
    let dir = TempDir::new("writer-black-hole");
    // A spill file from an earlier run: it must survive, since nothing in it
    // reached the store.
    let earlier = events(30, "acme");
    let mut file = std::fs::File::create(dir.spill()).unwrap();
    for e in &earlier {
        writeln!(file, "{}", serde_json::to_string(e).unwrap()).unwrap();
    }
    drop(file);

    let settings = PoolSettings {
        write_timeout: Duration::from_millis(300),
    };
    let url = format!("postgres://postgres@{}/nowhere", hole.addr);
    let dead = PostgresStore::connect_lazy_with(&url, settings).unwrap();
    let mut writer_config = config(&dir);
    writer_config.memory_backlog = 100;
    writer_config.write_timeout = Duration::from_secs(1);
    let (sink, writer) = Writer::start(
        Arc::new(Store::Postgres(dead)),
        Counters::Memory(MemoryCounters::default()),
        writer_config,
    );
    let stats = sink.stats().clone();
    let live = events(400, "acme");
    for e in &live {
        sink.emit(e.clone());
    }
    // The writer keeps taking events: past the memory bound they are spilled.
    wait_for("events spilled past the memory bound", HANG_GUARD, || {
        let done = load(&stats.spilled) >= 300;
        async move { done }
    })
    .await;
    assert!(load(&stats.store_failures) > 0);
    // Shutdown cannot flush into a black hole: it spills what it holds.
    tokio::time::timeout(HANG_GUARD, writer.shutdown(Duration::from_millis(500)))
        .await
        .expect("shutdown returns");
    drop(hole);
    assert_eq!(load(&stats.dropped), 0, "{}", describe(&stats));
    assert!(load(&stats.shutdown_spilled) > 0, "{}", describe(&stats));
    assert_eq!(load(&stats.spilled), 400, "{}", describe(&stats));
    let mut expected = id_set(&earlier);
    expected.extend(id_set(&live));
    assert_same_ids(&ids_in(&dir.spill()), &expected, "spill file");

    // The database is back: the next start writes all of it.
    with_db(move |url| async move {
        let pg = store(&url).await;
        let (sink, writer) = Writer::start(
            Arc::new(Store::Postgres(pg.clone())),
            Counters::Memory(MemoryCounters::default()),
            config(&dir),
        );
        let stats = sink.stats().clone();
        wait_for("the spill file replayed", HANG_GUARD, || {
            let done = !dir.spill().exists();
            async move { done }
        })
        .await;
        writer.shutdown(Duration::from_secs(5)).await;
        let stored: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT event_id FROM usage_events")
            .fetch_all(pg.pool())
            .await
            .unwrap();
        assert_same_ids(&stored, &expected, &describe(&stats));
        pg.pool().close().await;
    })
    .await;
}

/// A lock held elsewhere: the writer's `statement_timeout` ends the write with
/// a transient error (retried later), and tenant reads, on their own pool,
/// answer while many writes are stuck.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_cannot_hold_writes_forever_or_starve_tenant_reads() {
    with_db(|url| async move {
        let settings = PoolSettings {
            write_timeout: Duration::from_secs(1),
        };
        let pg = PostgresStore::connect_with(&url, settings).await.unwrap();
        pg.migrate().await.unwrap();
        assert_eq!(pg.write(&events(1, "t")).await.unwrap(), 1);

        let mut locker = PgConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
        sqlx::query("LOCK TABLE usage_events IN SHARE MODE")
            .execute(&mut locker)
            .await
            .unwrap();

        let blocked = tokio::time::timeout(HANG_GUARD, pg.write(&events(1, "t")))
            .await
            .expect("the write ends");
        let error = blocked.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(error.to_string().contains("SQLSTATE 57014"), "{error}");

        // Many writes stuck at once (more than the main pool's 8 connections):
        // a tenant query still answers.
        let stuck: Vec<_> = (0..12)
            .map(|_| {
                let pg = pg.clone();
                tokio::spawn(async move { pg.write(&events(1, "t")).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let summary =
            tokio::time::timeout(Duration::from_secs(5), pg.summary("t", today(), today()))
                .await
                .expect("a tenant read is not starved by stuck writes");
        assert!(summary.is_ok(), "{summary:?}");
        for write in stuck {
            let result = tokio::time::timeout(HANG_GUARD, write)
                .await
                .expect("stuck writes end")
                .unwrap();
            assert!(result.unwrap_err().is_transient());
        }

        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
        locker.close().await.unwrap();
        assert_eq!(
            pg.write(&events(1, "t")).await.unwrap(),
            1,
            "writable again"
        );
        pg.pool().close().await;
    })
    .await;
}

/// Tenant queries holding every connection of the main pool do not delay the
/// writer: it has its own connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_main_pool_does_not_delay_writes() {
    with_db(|url| async move {
        let pg = store(&url).await;
        let mut taken = Vec::new();
        while let Ok(Ok(conn)) =
            tokio::time::timeout(Duration::from_millis(500), pg.pool().acquire()).await
        {
            taken.push(conn);
        }
        assert_eq!(taken.len(), 8, "the main pool is exhausted");
        let written = tokio::time::timeout(Duration::from_secs(5), pg.write(&events(3, "t")))
            .await
            .expect("the write does not wait for the main pool");
        assert_eq!(written.unwrap(), 3);
        drop(taken);
        pg.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_redis_cannot_hang_the_writer() {
    let hole = BlackHole::start().await;
    let redis = RedisCounters::new(&format!("redis://{}", hole.addr)).unwrap();
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let dir = TempDir::new("writer-redis-hole");
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite)),
        Counters::Redis(redis),
        config(&dir),
    );
    let stats = sink.stats().clone();
    for e in events(500, "acme") {
        sink.emit(e);
    }
    wait_for("events written past a silent Redis", HANG_GUARD, || {
        let done = load(&stats.written) == 500;
        async move { done }
    })
    .await;
    assert!(load(&stats.counter_failures) > 0);
    tokio::time::timeout(HANG_GUARD, writer.shutdown(Duration::from_secs(1)))
        .await
        .expect("shutdown returns");
}
