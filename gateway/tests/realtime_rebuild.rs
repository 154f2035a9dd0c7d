//! Real-time figures that survive Redis losing its data (issue 10), and money in
//! Prometheus.
//!
//! An in-process gateway on Postgres and a Redis of the test's own (no
//! persistence, as caches usually run) serves a few hundred requests of two
//! tenants and three keys; a third of the way in, that Redis is killed and
//! started again empty. Afterwards the real-time API's figures (requests,
//! tokens, spend, baseline, savings for today; per tenant, per key, per routed
//! model) equal SQL over `usage_events`. Without the rebuild they would hold
//! only what came after the restart.
//!
//! The same run checks `/metrics`: spend, baseline and savings by tenant,
//! provider and routed model equal the stored events' exact sums, and no
//! requested (client-sent) model name is a label.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::{json, Value};
use sqlx::Connection;

const REQUESTS: u64 = 360;
const GUARD: Duration = Duration::from_secs(90);
/// A requested model name no config knows: a client string.
const CANARY_MODEL: &str = "client-invented-model-5c2e";

/// A redis-server of this test's own on a free port, never the shared 6379.
struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnRedis {
    async fn start() -> OwnRedis {
        let port = common::closed_port();
        let dir = std::env::temp_dir().join(format!("gw-own-redis-{}", keys::mint().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = OwnRedis {
            port,
            dir,
            child: None,
        };
        redis.launch().await;
        redis
    }

    async fn launch(&mut self) {
        self.child = Some(
            Command::new("redis-server")
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&self.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed"),
        );
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port)).unwrap();
        for _ in 0..200 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
                if pong.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start");
    }

    /// SIGKILL and start again: it comes back empty.
    async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Caller {
    tenant: String,
    key_id: &'static str,
    key: String,
}

fn usd(text: &str) -> Cost {
    Cost::parse_usd(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Figures as the comparison uses them: requests, prompt and completion
/// tokens, spend, baseline, savings.
type Figures = (i64, i64, i64, Cost, Cost, Cost);

fn from_api(record: &Value) -> Figures {
    (
        record["requests"].as_i64().unwrap(),
        record["prompt_tokens"].as_i64().unwrap(),
        record["completion_tokens"].as_i64().unwrap(),
        usd(record["spend_usd"].as_str().unwrap()),
        usd(record["baseline_usd"].as_str().unwrap()),
        usd(record["savings_usd"].as_str().unwrap()),
    )
}

/// The store's figures of `tenant` today, grouped by `part` (`''`, key, model).
async fn from_store(
    db: &mut sqlx::PgConnection,
    tenant: &str,
    part: &str,
) -> BTreeMap<String, Figures> {
    // `part` is one of three constants of this test.
    let sql = format!(
        "SELECT {part}, count(*), sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, \
         coalesce(sum(cost_usd), 0)::text, coalesce(sum(baseline_usd), 0)::text, \
         coalesce(sum(baseline_usd - cost_usd), 0)::text \
         FROM usage_events WHERE tenant_id = $1 AND occurred_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' \
         {filter} GROUP BY 1",
        filter = if part == "routed_model" {
            "AND routed_model IS NOT NULL"
        } else {
            ""
        }
    );
    let rows: Vec<(String, i64, i64, i64, String, String, String)> = sqlx::query_as(&sql)
        .bind(tenant)
        .fetch_all(db)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(name, n, prompt, completion, cost, baseline, savings)| {
            (
                name,
                (
                    n,
                    prompt,
                    completion,
                    usd(&cost),
                    usd(&baseline),
                    usd(&savings),
                ),
            )
        })
        .collect()
}

/// Where the real-time API differs from the store for `caller`'s tenant; the
/// answer's `rebuilding` flag.
async fn realtime_differences(
    client: &reqwest::Client,
    base: &str,
    caller: &Caller,
    db: &mut sqlx::PgConnection,
) -> Result<(bool, Vec<String>), String> {
    let response = client
        .get(format!("{base}/api/v1/analytics/realtime"))
        .bearer_auth(&caller.key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let mut diff = Vec::new();
    let today = from_store(db, &caller.tenant, "''").await;
    let want = today.values().next().copied();
    let have = Some(from_api(&body["today"]));
    if have != want {
        diff.push(format!("today: api {have:?}, store {want:?}"));
    }
    for (part, list, column) in [
        ("key_id", "by_key", "key"),
        ("routed_model", "by_model", "routed_model"),
    ] {
        let want = from_store(db, &caller.tenant, part).await;
        let have: BTreeMap<String, Figures> = body[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[column].as_str().unwrap().to_owned(), from_api(r)))
            .collect();
        if have != want {
            diff.push(format!("{list}: api {have:?}, store {want:?}"));
        }
    }
    Ok((body["rebuilding"].as_bool().unwrap(), diff))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_figures_equal_the_store_after_redis_restarts_empty_under_load() {
    let db = pg::TestDb::create("gw_rtrebuild").await;
    let mut redis = OwnRedis::start().await;
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let run = &keys::mint().unwrap()[6..14].to_ascii_lowercase();
    let callers =
        [("rt-a", "a-one"), ("rt-a", "a-two"), ("rt-b", "b-one")].map(|(tenant, key_id)| Caller {
            tenant: format!("{tenant}-{run}"),
            key_id,
            key: keys::mint().unwrap(),
        });
    let dir = std::env::temp_dir().join(format!("gw-rtrebuild-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nshutdown_grace_ms = 10000\n\
         [routing]\nbaseline_model = \"gpt-4o\"\n\
         [[providers]]\nname = \"openai\"\nbase_url = \"http://{}/v1\"\n",
        mock.addr
    );
    for caller in &callers {
        text.push_str(&format!(
            "[[keys]]\nid = \"{}\"\nhash = \"{}\"\ntenant = \"{}\"\npolicy = \"equivalent\"\nanalytics = \"tenant\"\n",
            caller.key_id,
            KeyHash::of(&caller.key),
            caller.tenant
        ));
    }
    text.push_str(&format!(
        "[analytics]\ndatabase_url = \"{}\"\nredis_url = \"redis://127.0.0.1:{}\"\n\
         flush_interval_ms = 20\nbatch_size = 50\nwrite_timeout_ms = 1000\nspill_path = \"{}\"\n",
        db.url,
        redis.port,
        dir.join("events.spill").display()
    ));
    let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let running = gateway::server::start(&config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();
    let sent = Arc::new(AtomicU64::new(0));
    let stats = running.state.events.stats().clone();

    // A fresh Redis has no counters yet: the gateway makes them (from the
    // empty store) first. The load starts once they are trusted.
    let until = tokio::time::Instant::now() + GUARD;
    loop {
        let response = client
            .get(format!("{base}/api/v1/analytics/realtime"))
            .bearer_auth(&callers[0].key)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        if body["rebuilding"] == json!(false) {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Requested models: asked-for, routed elsewhere, virtual, and unknown.
    let models = ["gpt-4o-mini", "gpt-4o", "auto", "gpt-4o", CANARY_MODEL];
    let load = {
        let (sent, client, base) = (sent.clone(), client.clone(), base.clone());
        let keys: Vec<String> = callers.iter().map(|c| c.key.clone()).collect();
        futures_util::stream::iter(0..REQUESTS)
            .map(move |i| {
                let (client, base, sent) = (client.clone(), base.clone(), sent.clone());
                let key = keys[(i % 3) as usize].clone();
                let model = models[(i % 5) as usize];
                async move {
                    let body = json!({"model": model, "stream": i % 4 == 0,
                        "messages": [{"role": "user", "content": format!("hello number {i}")}]});
                    let response = client
                        .post(format!("{base}/v1/chat/completions"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    response.bytes().await.unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
    };
    // Once a third of the events are stored (and counted), Redis loses them.
    let restart = async {
        while stats.written.load(Ordering::Relaxed) < REQUESTS / 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        redis.restart().await;
    };
    tokio::join!(load, restart);
    assert_eq!(sent.load(Ordering::Relaxed), REQUESTS);

    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let until = tokio::time::Instant::now() + GUARD;
    loop {
        let written = stats.written.load(Ordering::Relaxed);
        let mut last = Vec::new();
        if written == REQUESTS {
            for caller in [&callers[0], &callers[2]] {
                match realtime_differences(&client, &base, caller, &mut connection).await {
                    Ok((false, diff)) => last.extend(diff),
                    Ok((true, _)) => last.push(format!("{}: rebuilding", caller.tenant)),
                    Err(error) => last.push(error),
                }
            }
            if last.is_empty() {
                break;
            }
        } else {
            last.push(format!("{written} of {REQUESTS} events stored"));
        }
        assert!(
            tokio::time::Instant::now() < until,
            "real-time figures never equalled the store: {last:?}; writer: counter losses {}, rebuilds {}",
            stats.counter_losses.load(Ordering::Relaxed),
            stats.counter_rebuilds.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stats.counter_rebuilds.load(Ordering::Relaxed) >= 1,
        "the counters were rebuilt"
    );
    // The run really was mixed: both money and savings are there.
    let today = from_store(&mut connection, &callers[0].tenant, "''").await;
    let (_, _, _, spend, _, savings) = today.values().next().copied().unwrap();
    assert!(spend > Cost::ZERO && savings > Cost::ZERO, "{today:?}");

    // Prometheus: exact sums by tenant, provider and routed model.
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT tenant_id, routed_provider, routed_model, sum(cost_usd)::text, sum(baseline_usd)::text \
         FROM usage_events WHERE cost_usd IS NOT NULL AND routed_model IS NOT NULL GROUP BY 1, 2, 3",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert!(rows.len() >= 3, "{rows:?}");
    let value_of = |line_start: &str| -> Cost {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no {line_start} in:\n{metrics}"));
        usd(line.rsplit(' ').next().unwrap())
    };
    for (tenant, provider, model, cost, baseline) in &rows {
        let labels = format!("{{tenant=\"{tenant}\",provider=\"{provider}\",model=\"{model}\"}} ");
        assert_eq!(
            value_of(&format!("gateway_spend_usd_total{labels}")),
            usd(cost)
        );
        assert_eq!(
            value_of(&format!("gateway_baseline_usd_total{labels}")),
            usd(baseline)
        );
        assert_eq!(
            value_of(&format!("gateway_savings_usd{labels}")),
            usd(baseline) - usd(cost)
        );
    }
    let money_series = metrics
        .lines()
        .filter(|l| l.starts_with("gateway_spend_usd_total{"))
        .count();
    assert_eq!(money_series, rows.len(), "{metrics}");
    // Requested names that were routed elsewhere or never served are no label.
    let routed: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert!(!routed.contains(&"auto"));
    assert!(!metrics.contains(CANARY_MODEL), "{metrics}");
    assert!(!metrics.contains("model=\"auto\""), "{metrics}");
    assert!(!metrics.contains("hello number"));

    running.shutdown().await;
    drop(connection);
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&dir);
}
