//! No usage event is lost: thousands of concurrent requests leave exactly as many
//! events in Postgres, even when the connection to Postgres is cut in the middle
//! of the run (events wait in memory, then in the spill file, and are written
//! once it is back) and while Redis is unreachable (counters catch up).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/cut_proxy.rs"]
mod cut_proxy;
#[path = "common/pg.rs"]
mod pg;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cut_proxy::CutProxy;
use futures_util::StreamExt;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use serde_json::json;
use sqlx::Connection;

const REQUESTS: u64 = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_postgres_through_database_and_redis_outages() {
    let db = pg::TestDb::create("gw_noloss").await;
    let pg_proxy = CutProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let redis_proxy = CutProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let mock = gateway::mock_provider::start_with("127.0.0.1:0".parse().unwrap(), false)
        .await
        .unwrap();
    let key = keys::mint().unwrap();
    let tenant = format!(
        "noloss{}",
        &keys::mint().unwrap()[6..14].to_ascii_lowercase()
    );
    let dir = std::env::temp_dir().join(format!("gateway-noloss-{tenant}"));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nshutdown_grace_ms = 20000\n\
         [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\
         [[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n\
         [[models]]\nname = \"broken\"\nprovider = \"mock\"\nupstream_model = \"mock+status=500\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n\
         [analytics]\ndatabase_url = \"postgres://postgres@{}/{}\"\nredis_url = \"redis://{}\"\n\
         batch_size = 200\nflush_interval_ms = 20\nmemory_backlog = 300\nspill_path = \"{}\"\n",
        mock.base_url(),
        KeyHash::of(&key),
        pg_proxy.addr,
        db.name,
        redis_proxy.addr,
        dir.join("events.spill").display(),
    );
    let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let running = gateway::server::start(&config).await.unwrap();
    let url = format!("http://{}/v1/chat/completions", running.addr);
    let client = reqwest::Client::new();
    let sent = Arc::new(AtomicU64::new(0));

    let load = {
        let sent = sent.clone();
        futures_util::stream::iter(0..REQUESTS)
            .map(move |i| {
                let (client, url, key, sent) =
                    (client.clone(), url.clone(), key.clone(), sent.clone());
                async move {
                    let model = if i % 10 == 0 { "broken" } else { "m" };
                    let body = json!({"model": model, "stream": i % 3 == 0,
                        "messages": [{"role": "user", "content": "hello"}]});
                    let response = client
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    response.bytes().await.unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<()>>()
    };
    let outages = async {
        while sent.load(Ordering::Relaxed) < REQUESTS / 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        pg_proxy.cut();
        redis_proxy.cut();
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        pg_proxy.restore();
        tokio::time::sleep(Duration::from_millis(500)).await;
        redis_proxy.restore();
    };
    tokio::join!(load, outages);
    assert_eq!(sent.load(Ordering::Relaxed), REQUESTS);

    let stats = running.state.events.stats().clone();
    running.shutdown().await;

    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (rows, distinct, errors): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE status >= 500) FROM usage_events WHERE tenant_id = $1",
    )
    .bind(&tenant)
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(
        (rows, distinct),
        (REQUESTS as i64, REQUESTS as i64),
        "every request, exactly once: {stats:?}, spill file exists: {}",
        dir.join("events.spill").exists()
    );
    assert_eq!(errors, (REQUESTS / 10) as i64);
    assert!(
        stats.store_failures.load(Ordering::Relaxed) > 0,
        "the outage was real"
    );
    assert!(
        stats.spilled.load(Ordering::Relaxed) > 0,
        "events went through the spill file"
    );
    assert!(stats.replayed.load(Ordering::Relaxed) > 0);
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    assert!(
        !dir.join("events.spill").exists(),
        "the spill file is removed once replayed"
    );

    // Redis caught up once it was back: the day's counter holds every request.
    let redis = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut redis = redis.get_multiplexed_async_connection().await.unwrap();
    let day = chrono::Utc::now().format("%Y%m%d").to_string();
    let day_key = format!("gw:{tenant}:d:{day}");
    let counted: i64 = redis::cmd("HGET")
        .arg(&day_key)
        .arg("requests")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        stats.counter_failures.load(Ordering::Relaxed) > 0,
        "Redis really was unreachable"
    );
    assert_eq!(counted as u64, REQUESTS);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("gw:{tenant}:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    for k in keys {
        let _: () = redis::cmd("DEL")
            .arg(k)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    drop(connection);
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
}
