//! Redis counters catch up after an outage without waiting for new traffic:
//! increments held while Redis was unreachable are sent on the writer's quiet
//! ticks, and once more at shutdown, even inside the back-off after a failure.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use analytics::counters::{day_key, Counters, RedisCounters};
use analytics::store::sqlite::SqliteStore;
use analytics::store::Store;
use analytics::writer::Writer;
use chrono::Utc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::harness::{config, load, wait_for, TempDir};
use crate::support::event;

const REDIS: &str = "127.0.0.1:6379";
const GUARD: Duration = Duration::from_secs(30);

/// A TCP relay to the real Redis that can be cut (open connections killed,
/// new ones closed at once) and restored.
struct Switch {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    relays: Arc<Mutex<JoinSet<()>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Switch {
    async fn start() -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let relays = Arc::new(Mutex::new(JoinSet::new()));
        let task = tokio::spawn({
            let (up, relays) = (up.clone(), relays.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: closed at once
                    }
                    relays.lock().await.spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(REDIS).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            }
        });
        Switch {
            addr,
            up,
            relays,
            task,
        }
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.relays.lock().await.abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn requests_counted(redis: &mut redis::aio::MultiplexedConnection, tenant: &str) -> u64 {
    let key = day_key(tenant, Utc::now().date_naive());
    let value: Option<u64> = redis::cmd("HGET")
        .arg(&key)
        .arg("requests")
        .query_async(redis)
        .await
        .unwrap();
    value.unwrap_or(0)
}

async fn forget(redis: &mut redis::aio::MultiplexedConnection, tenant: &str) {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("gw:{tenant}:*"))
        .query_async(redis)
        .await
        .unwrap();
    for key in keys {
        let _: () = redis::cmd("DEL").arg(key).query_async(redis).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_catch_up_after_a_redis_outage_without_new_traffic_and_at_shutdown() {
    let tenant = format!("catch-up-{}", uuid::Uuid::now_v7().simple());
    let switch = Switch::start().await;
    let counters = RedisCounters::new(&format!("redis://{}", switch.addr)).unwrap();
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let dir = TempDir::new("writer-counters");
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite)),
        Counters::Redis(counters),
        config(&dir),
    );
    let stats = sink.stats().clone();
    let mut redis = redis::Client::open(format!("redis://{REDIS}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // 1. Events while Redis is away, then silence: the quiet ticks send them.
    switch.cut().await;
    for _ in 0..300 {
        sink.emit(event(&tenant, Utc::now()));
    }
    wait_for("300 events stored while Redis is away", GUARD, || {
        let done = load(&stats.written) == 300 && load(&stats.counter_failures) > 0;
        async move { done }
    })
    .await;
    switch.restore();
    let waited = tokio::time::Instant::now();
    loop {
        let counted = requests_counted(&mut redis, &tenant).await;
        if counted == 300 {
            break;
        }
        assert!(
            waited.elapsed() < GUARD,
            "counters never caught up without new traffic: {counted} of 300"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 2. Events while Redis is away, then a stop right after it is back
    //    (inside the back-off that follows a failed send).
    switch.cut().await;
    let failures = load(&stats.counter_failures);
    for _ in 0..100 {
        sink.emit(event(&tenant, Utc::now()));
    }
    wait_for("100 more events stored while Redis is away", GUARD, || {
        let done = load(&stats.written) == 400 && load(&stats.counter_failures) > failures;
        async move { done }
    })
    .await;
    switch.restore();
    tokio::time::timeout(GUARD, writer.shutdown(Duration::from_secs(5)))
        .await
        .expect("shutdown returns");
    assert_eq!(requests_counted(&mut redis, &tenant).await, 400);
    forget(&mut redis, &tenant).await;
}
