//! Real-time counters that survive Redis losing its data: a Redis of the test's
//! own is emptied (FLUSHALL) or killed and started again empty while events
//! flow; afterwards every counter (tenant day, key day, model day, minutes)
//! equals what the events add up to, for both stores and for two writers
//! sharing one store and one Redis. The expected figures are computed here from
//! the events sent, not by the store's SQL; without the rebuild the counters
//! would hold only what came after the loss.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use analytics::counters::{CounterValues, Counters, Increments, RedisCounters, FIELDS};
use analytics::store::postgres::PostgresStore;
use analytics::store::sqlite::SqliteStore;
use analytics::store::Store;
use analytics::writer::{EventSink, Writer, WriterStats};
use analytics::UsageEvent;
use chrono::Utc;

use crate::harness::{config, describe, load, wait_for, TempDir};
use crate::own_redis::OwnRedis;
use crate::support::{event, with_db, Rng};

const GUARD: Duration = Duration::from_secs(60);

/// Events of `tenants` with varied keys, models, errors and unpriced ones.
fn varied(rng: &mut Rng, tenants: &[String], n: usize) -> Vec<UsageEvent> {
    (0..n)
        .map(|_| {
            let tenant = &tenants[rng.below(tenants.len() as u64) as usize];
            let mut e = event(tenant, Utc::now());
            e.key_id = rng.pick(&["key-1", "key-2", "key-3"]).to_owned();
            e.routed_model = Some(
                rng.pick(&["gpt-4o-mini", "claude-haiku", "local"])
                    .to_owned(),
            );
            if e.routed_model.as_deref() == Some("local") {
                e.cost_usd = None;
                e.baseline_usd = None;
                e.price_version = None;
                e.baseline_price_version = None;
            }
            if rng.below(10) == 0 {
                e.status = 502;
                e.error_kind = Some("upstream".to_owned());
            }
            e.prompt_tokens = 10 + rng.below(5_000);
            e.completion_tokens = rng.below(800);
            e
        })
        .collect()
}

fn expected(events: &[UsageEvent]) -> Increments {
    let mut increments = Increments::default();
    for e in events {
        increments.add(e);
    }
    increments
}

/// Where Redis differs from `expected` for `tenants` (missing, extra or
/// different keys); empty when equal.
async fn differences(
    redis: &mut redis::aio::MultiplexedConnection,
    expected: &Increments,
    tenants: &[String],
) -> Vec<String> {
    let mut found: BTreeMap<String, CounterValues> = BTreeMap::new();
    for tenant in tenants {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("gw:{tenant}:*"))
            .query_async(redis)
            .await
            .unwrap_or_default();
        for key in keys {
            let map: HashMap<String, i64> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(redis)
                .await
                .unwrap_or_default();
            found.insert(key, FIELDS.map(|f| map.get(f).copied().unwrap_or(0)));
        }
    }
    let wanted: BTreeMap<&String, &CounterValues> = expected
        .by_key
        .iter()
        .map(|(key, (values, _))| (key, values))
        .collect();
    let keys: BTreeSet<&String> = found.keys().chain(wanted.keys().copied()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (have, want) = (found.get(key), wanted.get(key).copied());
            (have != want).then(|| format!("{key}: redis {have:?}, events {want:?}"))
        })
        .collect()
}

async fn wait_equal(
    redis: &OwnRedis,
    events: &[UsageEvent],
    tenants: &[String],
    stats: &[&WriterStats],
) {
    let expected = expected(events);
    let mut connection = redis.connection().await;
    let until = tokio::time::Instant::now() + GUARD;
    loop {
        let diff = differences(&mut connection, &expected, tenants).await;
        if diff.is_empty() {
            return;
        }
        if tokio::time::Instant::now() > until {
            let stats: Vec<String> = stats.iter().map(|s| describe(s)).collect();
            panic!(
                "{} counters differ from the events ({} keys expected), e.g. {:?}; {stats:?}",
                diff.len(),
                expected.by_key.len(),
                &diff[..diff.len().min(5)]
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn flushall(redis: &OwnRedis) {
    let mut connection = redis.connection().await;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut connection)
        .await
        .unwrap();
}

fn tenants(prefix: &str) -> Vec<String> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    (0..2).map(|i| format!("{prefix}{i}-{id}")).collect()
}

/// Sends `events` through `sink` and waits until the writer has stored `total`.
async fn send(sink: &EventSink, events: &[UsageEvent], total: u64) {
    for e in events {
        sink.emit(e.clone());
    }
    let stats = sink.stats().clone();
    wait_for("events stored", GUARD, || {
        let done = load(&stats.written) >= total;
        async move { done }
    })
    .await;
}

/// One writer: counted, Redis emptied (FLUSHALL), more events: the counters
/// are rebuilt and equal every event; while lost they say they are not to be
/// trusted.
async fn flushed_redis_is_rebuilt(store: Store, prefix: &str) {
    let redis = OwnRedis::start().await;
    let tenants = tenants(prefix);
    let dir = TempDir::new("writer-rebuild");
    let (sink, writer) = Writer::start(
        Arc::new(store),
        Counters::Redis(RedisCounters::new(&redis.url()).unwrap()),
        config(&dir),
    );
    let stats = sink.stats().clone();
    let mut rng = Rng(7);
    let mut sent = varied(&mut rng, &tenants, 150);
    send(&sink, &sent, 150).await;
    wait_equal(&redis, &sent, &tenants, &[&stats]).await;
    assert!(sink.counters().trusted().await.unwrap());

    flushall(&redis).await;
    assert!(
        !sink.counters().trusted().await.unwrap(),
        "an emptied Redis is not trusted"
    );
    let more = varied(&mut rng, &tenants, 150);
    send(&sink, &more, 300).await;
    sent.extend(more);
    wait_equal(&redis, &sent, &tenants, &[&stats]).await;
    assert!(load(&stats.counter_rebuilds) >= 1, "{}", describe(&stats));
    assert!(sink.counters().trusted().await.unwrap());
    assert_eq!(load(&stats.dropped), 0);
    writer.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_rebuilt_from_postgres() {
    with_db(|url| async move {
        let pg = PostgresStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        flushed_redis_is_rebuilt(Store::Postgres(pg.clone()), "rb-pg").await;
        // The store agrees with what was sent (independent of the rebuild SQL).
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM usage_events")
            .fetch_one(pg.pool())
            .await
            .unwrap();
        assert_eq!(rows, 300);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_rebuilt_from_sqlite() {
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    flushed_redis_is_rebuilt(Store::Sqlite(sqlite), "rb-lite").await;
}

/// Two writers (two replicas) share Postgres and a Redis that is killed and
/// started again empty while both write about 500 events a second: once both
/// have flushed, every counter equals the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_and_a_redis_restart_under_load_count_every_event_once() {
    with_db(|url| async move {
        let pg = PostgresStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        let store = Arc::new(Store::Postgres(pg.clone()));
        let mut redis = OwnRedis::start().await;
        let tenants = tenants("rb-two");
        let dirs = [
            TempDir::new("writer-rebuild-a"),
            TempDir::new("writer-rebuild-b"),
        ];
        let (sink_a, writer_a) = Writer::start(
            store.clone(),
            Counters::Redis(RedisCounters::new(&redis.url()).unwrap()),
            config(&dirs[0]),
        );
        let (sink_b, writer_b) = Writer::start(
            store.clone(),
            Counters::Redis(RedisCounters::new(&redis.url()).unwrap()),
            config(&dirs[1]),
        );
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let traffic = {
            let (sent, stop, tenants) = (sent.clone(), stop.clone(), tenants.clone());
            let sinks = [sink_a.clone(), sink_b.clone()];
            tokio::spawn(async move {
                let mut rng = Rng(11);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    for e in varied(&mut rng, &tenants, 10) {
                        sinks[i % 2].emit(e.clone());
                        sent.lock().unwrap().push(e);
                        i += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        redis.restart().await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        stop.store(true, Ordering::Relaxed);
        traffic.await.unwrap();
        let sent = sent.lock().unwrap().clone();
        let (stats_a, stats_b) = (sink_a.stats().clone(), sink_b.stats().clone());
        wait_for("every event stored", GUARD, || {
            let done = load(&stats_a.written) + load(&stats_b.written) >= sent.len() as u64;
            async move { done }
        })
        .await;
        wait_equal(&redis, &sent, &tenants, &[&stats_a, &stats_b]).await;
        assert!(
            load(&stats_a.counter_rebuilds) + load(&stats_b.counter_rebuilds) >= 1,
            "{} / {}",
            describe(&stats_a),
            describe(&stats_b)
        );
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM usage_events")
            .fetch_one(pg.pool())
            .await
            .unwrap();
        assert_eq!(rows as usize, sent.len());
        writer_a.shutdown(Duration::from_secs(5)).await;
        writer_b.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}

/// The rebuild's SQL, in both stores, adds up exactly what the events add up
/// to (today's keys; the minutes of the last two hours).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_sum_the_counters_like_the_events() {
    use analytics::store::{CounterWindow, EventStore};
    with_db(|url| async move {
        let pg = PostgresStore::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        let sqlite = SqliteStore::open_in_memory().await.unwrap();
        sqlite.migrate().await.unwrap();
        let mut rng = Rng(3);
        let events = varied(&mut rng, &tenants("sums"), 400);
        let (pg, sqlite) = (Store::Postgres(pg), Store::Sqlite(sqlite));
        pg.write(&events).await.unwrap();
        sqlite.write(&events).await.unwrap();
        let window = CounterWindow::at(Utc::now());
        let want = expected(&events);
        for store in [&pg, &sqlite] {
            let sums = store.counter_sums(window).await.unwrap();
            assert_eq!(sums, want);
        }
    })
    .await;
}
