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
use crate::own_redis::OwnRedis;
use crate::support::event;

const REDIS: &str = "127.0.0.1:6379";
const GUARD: Duration = Duration::from_secs(30);

/// A TCP relay to the real Redis that can be cut (open connections killed,
/// new ones closed at once) and restored.
struct Switch {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// The next request containing these bytes reaches Redis, but no answer
    /// comes back on its connection any more.
    deaf: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    relays: Arc<Mutex<JoinSet<()>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Switch {
    async fn start() -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let deaf = Arc::new(std::sync::Mutex::new(None));
        let relays = Arc::new(Mutex::new(JoinSet::new()));
        let task = tokio::spawn({
            let (up, deaf, relays) = (up.clone(), deaf.clone(), relays.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: closed at once
                    }
                    let deaf = deaf.clone();
                    relays.lock().await.spawn(async move {
                        if let Ok(server) = TcpStream::connect(REDIS).await {
                            relay(client, server, deaf).await;
                        }
                    });
                }
            }
        });
        Switch {
            addr,
            up,
            deaf,
            relays,
            task,
        }
    }

    /// The next request that mentions `needle` is applied by Redis, but its
    /// answer (and any after it on that connection) is lost.
    fn lose_the_answer_to(&self, needle: &str) {
        *self.deaf.lock().unwrap() = Some(needle.as_bytes().to_vec());
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.relays.lock().await.abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Copies both ways; once a request carries the needle `deaf` holds (taken),
/// Redis's answers on this connection are dropped.
async fn relay(client: TcpStream, server: TcpStream, deaf: Arc<std::sync::Mutex<Option<Vec<u8>>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let muted = AtomicBool::new(false);
    let requests = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            {
                let mut needle = deaf.lock().unwrap();
                let found = needle.as_ref().is_some_and(|needle| {
                    buffer[..n]
                        .windows(needle.len())
                        .any(|window| window == needle.as_slice())
                });
                if found {
                    *needle = None;
                    muted.store(true, Ordering::SeqCst);
                }
            }
            server_write.write_all(&buffer[..n]).await?;
        }
    };
    let answers = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            if !muted.load(Ordering::SeqCst) {
                client_write.write_all(&buffer[..n]).await?;
            }
        }
    };
    let _ = tokio::join!(requests, answers);
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
    let (switch, sink, writer, _dir) = writer_through_a_switch("writer-counters").await;
    let stats = sink.stats().clone();
    let mut redis = direct_redis().await;

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

/// A send Redis applied but whose answer was lost is sent again when Redis is
/// back; it must count once, not twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_applied_with_its_answer_lost_counts_once() {
    let tenant = format!("deaf-{}", uuid::Uuid::now_v7().simple());
    let (switch, sink, writer, _dir) = writer_through_a_switch("writer-counters-deaf").await;
    let stats = sink.stats().clone();
    let mut redis = direct_redis().await;

    // Counting under the epoch first.
    for _ in 0..10 {
        sink.emit(event(&tenant, Utc::now()));
    }
    wait_for("the first 10 events counted", GUARD, || {
        let counted = requests_counted_now(&tenant);
        async move { counted.await == 10 }
    })
    .await;

    // Redis applies the send of these, but its answer never comes back.
    switch.lose_the_answer_to(&tenant);
    let failures = load(&stats.counter_failures);
    for _ in 0..100 {
        sink.emit(event(&tenant, Utc::now()));
    }
    wait_for("100 events stored, their send unanswered", GUARD, || {
        let done = load(&stats.written) == 110 && load(&stats.counter_failures) > failures;
        async move { done }
    })
    .await;
    assert!(
        requests_counted(&mut redis, &tenant).await > 10,
        "Redis applied the unanswered send"
    );

    // The writer sends them again on a new connection, and Redis answers.
    for _ in 0..5 {
        sink.emit(event(&tenant, Utc::now()));
    }
    tokio::time::timeout(GUARD, writer.shutdown(Duration::from_secs(5)))
        .await
        .expect("shutdown returns");
    assert_eq!(requests_counted(&mut redis, &tenant).await, 115);
    forget(&mut redis, &tenant).await;
}

/// A writer's applied mark serves only its own resends: it is there while the
/// writer counts and gone once the writer has stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_writer_leaves_no_applied_mark() {
    let redis = OwnRedis::start().await;
    let mut connection = redis.connection().await;
    let marks = |connection: &mut redis::aio::MultiplexedConnection| {
        let mut connection = connection.clone();
        async move {
            redis::cmd("KEYS")
                .arg(format!("{}*", analytics::counters::APPLIED_PREFIX))
                .query_async::<Vec<String>>(&mut connection)
                .await
                .unwrap()
        }
    };
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let dir = TempDir::new("writer-counters-mark");
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite)),
        Counters::Redis(RedisCounters::new(&redis.url()).unwrap()),
        config(&dir),
    );
    for _ in 0..10 {
        sink.emit(event("mark", Utc::now()));
    }
    wait_for("a send applied under the writer's mark", GUARD, || {
        let marks = marks(&mut connection);
        async move { marks.await.len() == 1 }
    })
    .await;
    tokio::time::timeout(GUARD, writer.shutdown(Duration::from_secs(5)))
        .await
        .expect("shutdown returns");
    assert_eq!(marks(&mut connection).await, Vec::<String>::new());
}

async fn requests_counted_now(tenant: &str) -> u64 {
    requests_counted(&mut direct_redis().await, tenant).await
}

/// A writer on an in-memory SQLite store, counting in Redis through a switch.
async fn writer_through_a_switch(
    name: &str,
) -> (Switch, analytics::writer::EventSink, Writer, TempDir) {
    let switch = Switch::start().await;
    let counters = RedisCounters::new(&format!("redis://{}", switch.addr)).unwrap();
    let sqlite = SqliteStore::open_in_memory().await.unwrap();
    sqlite.migrate().await.unwrap();
    let dir = TempDir::new(name);
    let (sink, writer) = Writer::start(
        Arc::new(Store::Sqlite(sqlite)),
        Counters::Redis(counters),
        config(&dir),
    );
    (switch, sink, writer, dir)
}

async fn direct_redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://{REDIS}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
