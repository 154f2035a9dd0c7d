//! Several replicas of the real `gateway` binary, run as an operator runs them
//! behind a load balancer: one config file, one Postgres database (created and
//! dropped per test), one Redis of the test's own (a child `redis-server` the
//! test may stop and start again empty; the shared one on 6379 is never used),
//! one mock provider. Each replica is a child process killed on drop; its stderr
//! is kept, so a test can print it when it fails and scan it for panics.
//!
//! This file starts, stops, sends and reads; what is proved with it lives in the
//! `replicas_*.rs` tests. Test files include it as `#[path = "common/replicas.rs"]
//! mod replicas;` next to `mod common;` and `#[path = "common/pg.rs"] mod pg;`.

#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failed setup must stop the test"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use pricing::Cost;
use reqwest::header::HeaderMap;
use sqlx::{Connection, Row};
use tokio::io::AsyncBufReadExt;

use crate::common::closed_port;
use crate::pg::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// The price of every model of the cluster, USD per million tokens: high, so a
/// request costs about a cent and a $1.00 budget holds about a hundred.
pub const PRICE_INPUT: &str = "100";
pub const PRICE_OUTPUT: &str = "500";

/// Models of the cluster's config: (name, mock behaviour). All carry the same
/// explicit price, so every request has a known, exact cost.
pub const MODELS: &[(&str, &str)] = &[
    ("priced", "mock"),
    ("priced-fail", "mock+status=500"),
    // A stream cut by the provider after three content chunks.
    ("priced-cut", "mock+cut_after=3+words=20"),
    // A slow stream a client can walk away from.
    ("priced-slow", "mock+chunk_delay_ms=40+words=30"),
];

/// A `redis-server` of the test's own on a free loopback port, without
/// persistence (as caches usually run): stopped, it loses everything.
pub struct OwnRedis {
    child: Option<std::process::Child>,
    pub port: u16,
    dir: PathBuf,
}

impl OwnRedis {
    pub async fn start() -> OwnRedis {
        let dir = temp_dir("redis");
        let mut redis = OwnRedis {
            child: None,
            port: closed_port(),
            dir,
        };
        redis.start_again().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: no shutdown save, as in a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub async fn start_again(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut connection) = self.try_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
                if pong.is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn try_connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.try_connection().await.expect("own redis answers")
    }

    /// Every key matching `pattern` with its value read as an integer (keys of
    /// another type are skipped).
    pub async fn integers(&self, pattern: &str) -> Vec<(String, i64)> {
        let mut connection = self.connection().await;
        let names: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        let mut found = Vec::new();
        for name in names {
            let value: redis::RedisResult<i64> = redis::cmd("GET")
                .arg(&name)
                .query_async(&mut connection)
                .await;
            if let Ok(value) = value {
                found.push((name, value));
            }
        }
        found.sort();
        found
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One running `gateway serve` process.
pub struct Replica {
    child: tokio::process::Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Replica {
    /// Starts `gateway serve --config <config>` with its own spill file in
    /// `dir`, and waits until it answers `/readyz`.
    pub async fn start(config: &Path, dir: &Path, name: &str) -> Replica {
        let mut child = tokio::process::Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("GATEWAY_CONFIG")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_OWNER_URL")
            .env_remove("DATABASE_READER_URL")
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env(
                "GATEWAY__ANALYTICS__SPILL_PATH",
                dir.join(format!("{name}.spill")),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the gateway binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = tokio::sync::oneshot::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let kept = Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                let line = strip_ansi(&line);
                if line.contains("gateway listening") {
                    if let (Some(addr), Some(found)) = (listening_addr(&line), found.take()) {
                        let _ = found.send(addr);
                    }
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(60), address).await {
            Ok(Ok(addr)) => addr,
            _ => panic!(
                "replica {name} did not start:\n{}",
                log.lock().unwrap().as_str()
            ),
        };
        let replica = Replica { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(replica.url("/readyz"))
                .await
                .map(|r| r.status().as_u16())
                .ok();
            if ready == Some(200) {
                return replica;
            }
            assert!(
                Instant::now() < deadline,
                "replica {name} is not ready ({ready:?}):\n{}",
                replica.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything the replica wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, then waits for the graceful shutdown (events flushed).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("addr=")? + "addr=".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gateway-replicas-{what}-{}",
        &keys::mint().expect("random")[6..22]
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// What a test asks of its cluster.
pub struct Setup<'a> {
    pub replicas: usize,
    /// The Redis URL every replica uses (`[analytics] redis_url`); `None`: none.
    pub redis: Option<String>,
    /// Fields appended to the one `[[keys]]` entry, e.g. `"rpm = 600\n"`.
    pub key_fields: &'a str,
    /// TOML appended at the end of the config, e.g. a `[limits]` section.
    pub extra: &'a str,
}

/// N replicas sharing one config, one Postgres database and one Redis.
pub struct Cluster {
    pub replicas: Vec<Replica>,
    pub mock: RunningMock,
    pub db: TestDb,
    /// A random tenant: also keeps Redis keys of parallel tests apart.
    pub tenant: String,
    /// The client key of the one configured key, id [`KEY_ID`].
    pub key: String,
    pub config_path: PathBuf,
    pub dir: PathBuf,
    pub client: reqwest::Client,
}

pub const KEY_ID: &str = "k";

impl Cluster {
    pub async fn start(setup: Setup<'_>) -> Cluster {
        let db = TestDb::create("gw_replicas").await;
        let mock = mock_provider::start_with("127.0.0.1:0".parse().expect("addr"), false)
            .await
            .expect("mock starts");
        let key = keys::mint().expect("key");
        let tenant = format!(
            "t{}",
            &keys::mint().expect("id")[6..16].to_ascii_lowercase()
        );
        let dir = temp_dir("cluster");
        let mut text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nlog = \"info\"\nshutdown_grace_ms = 10000\n\
             [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n",
            mock.base_url()
        );
        for (name, upstream) in MODELS {
            text.push_str(&format!(
                "[[models]]\nname = \"{name}\"\nprovider = \"mock\"\nupstream_model = \"{upstream}\"\n\
                 price = {{ input = \"{PRICE_INPUT}\", output = \"{PRICE_OUTPUT}\" }}\n"
            ));
        }
        text.push_str(&format!(
            "[[keys]]\nid = \"{KEY_ID}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n{}\n",
            KeyHash::of(&key),
            setup.key_fields
        ));
        text.push_str(&format!(
            "[analytics]\ndatabase_url = \"{}\"\nflush_interval_ms = 20\nspill_path = \"{}\"\n",
            db.url,
            dir.join("unused.spill").display()
        ));
        if let Some(redis) = &setup.redis {
            text.push_str(&format!("redis_url = \"{redis}\"\n"));
        }
        text.push_str(setup.extra);
        let config_path = dir.join("gateway.toml");
        std::fs::write(&config_path, &text).expect("config written");
        let mut replicas = Vec::with_capacity(setup.replicas);
        for n in 0..setup.replicas {
            replicas.push(Replica::start(&config_path, &dir, &format!("replica{n}")).await);
        }
        Cluster {
            replicas,
            mock,
            db,
            tenant,
            key,
            config_path,
            dir,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .expect("client"),
        }
    }

    /// Stops every replica gracefully; dropping the cluster then removes the
    /// database and the files.
    pub async fn finish(mut self) {
        for replica in self.replicas.drain(..) {
            replica.stop().await;
        }
    }

    /// Lines containing "panicked" in any replica's stderr.
    pub fn panics(&self) -> Vec<String> {
        self.replicas
            .iter()
            .flat_map(|r| {
                r.log()
                    .lines()
                    .filter(|l| l.contains("panicked"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every replica's stderr, for a failure message.
    pub fn logs(&self) -> String {
        self.replicas
            .iter()
            .enumerate()
            .map(|(n, r)| format!("--- replica {n} ---\n{}", r.log()))
            .collect()
    }

    /// Sends `requests` to the replicas, at most `concurrency` in flight at once;
    /// `plan(i)` says which replica gets request `i` and how it is sent.
    pub async fn fire(
        &self,
        requests: usize,
        concurrency: usize,
        plan: impl Fn(usize) -> (usize, Kind),
    ) -> Vec<Outcome> {
        futures_util::stream::iter((0..requests).map(|i| {
            let (replica, send) = plan(i);
            self.send(replica, send)
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await
    }

    /// Sends one chat request to replica `replica`.
    pub async fn send(&self, replica: usize, send: Kind) -> Outcome {
        let started = Instant::now();
        let body = send.body();
        let response = self
            .client
            .post(self.replicas[replica].url("/v1/chat/completions"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return Outcome {
                    replica,
                    send,
                    status: 0,
                    headers: HeaderMap::new(),
                    body: format!("transport error: {error}"),
                    elapsed: started.elapsed(),
                }
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match send {
            // Reads the first chunk, then hangs up mid-stream.
            Kind::Disconnect if status == 200 => {
                let mut stream = response.bytes_stream();
                let first = stream.next().await;
                drop(stream);
                format!("disconnected after {first:?}")
            }
            _ => response.text().await.unwrap_or_default(),
        };
        Outcome {
            replica,
            send,
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// The sum of every sample of metric `name` (any labels) that replica
    /// `replica` exposes on `/metrics`; `None` if it exposes none.
    pub async fn metric(&self, replica: usize, name: &str) -> Option<f64> {
        let text = self
            .client
            .get(self.replicas[replica].url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut found = None;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                continue;
            }
            if let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                *found.get_or_insert(0.0) += value;
            }
        }
        found
    }

    /// GETs `path` from replica `replica` with the cluster's key, as JSON.
    pub async fn get_json(&self, replica: usize, path: &str) -> serde_json::Value {
        self.client
            .get(self.replicas[replica].url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("request is sent")
            .json()
            .await
            .unwrap_or(serde_json::Value::Null)
    }

    /// A connection to the cluster's database (as its owner: RLS does not apply).
    pub async fn pg(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.db.url)
            .await
            .expect("postgres")
    }

    /// Waits until the store holds `expected` events of the tenant (every
    /// request leaves one, refused ones included); returns the count found.
    pub async fn wait_for_events(&self, expected: i64, within: Duration) -> i64 {
        let deadline = Instant::now() + within;
        let mut pg = self.pg().await;
        loop {
            let count: i64 = sqlx::query("SELECT count(*) FROM usage_events WHERE tenant_id = $1")
                .bind(&self.tenant)
                .fetch_one(&mut pg)
                .await
                .expect("count events")
                .get(0);
            if count >= expected || Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The tenant's settled spend in the store: the sum of `cost_usd`, exact.
    pub async fn store_spend(&self) -> Cost {
        let mut pg = self.pg().await;
        let text: String = sqlx::query(
            "SELECT COALESCE(sum(cost_usd), 0)::text FROM usage_events WHERE tenant_id = $1",
        )
        .bind(&self.tenant)
        .fetch_one(&mut pg)
        .await
        .expect("sum cost")
        .get(0);
        Cost::parse_usd(&text).expect("a decimal sum")
    }

    /// Every event of the tenant: (status, error_kind, cost), exact.
    pub async fn store_events(&self) -> Vec<StoredEvent> {
        let mut pg = self.pg().await;
        sqlx::query(
            "SELECT status, error_kind, cost_usd::text, prompt_tokens, completion_tokens, \
             requested_model FROM usage_events WHERE tenant_id = $1",
        )
        .bind(&self.tenant)
        .fetch_all(&mut pg)
        .await
        .expect("events")
        .into_iter()
        .map(|row| StoredEvent {
            status: row.get(0),
            error_kind: row.get(1),
            cost: Cost::parse_usd(&row.get::<String, _>(2)).expect("a decimal cost"),
            prompt_tokens: row.get(3),
            completion_tokens: row.get(4),
            model: row.get(5),
        })
        .collect()
    }
}

/// Also when a test fails: the replicas are killed, the database dropped.
impl Drop for Cluster {
    fn drop(&mut self) {
        for replica in &mut self.replicas {
            let _ = replica.child.start_kill();
        }
        let db = TestDb {
            name: self.db.name.clone(),
            url: self.db.url.clone(),
        };
        // Drop may run inside the test's runtime: a thread of its own may block.
        let dropped = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(db.drop_now());
            }
        });
        let _ = dropped.join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub status: i32,
    pub error_kind: Option<String>,
    pub cost: Cost,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub model: String,
}

/// How one request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `priced`, not streamed: answered in full.
    Plain,
    /// `priced-fail`: the provider answers 500.
    UpstreamFails,
    /// `priced-cut` streamed: the provider cuts the stream mid-answer.
    UpstreamCuts,
    /// `priced-slow` streamed: the client reads one chunk and hangs up.
    Disconnect,
}

/// `max_tokens` of every request: it bounds what a budget reserves.
pub const MAX_TOKENS: u64 = 60;

impl Kind {
    pub fn body(self) -> serde_json::Value {
        let (model, stream) = match self {
            Kind::Plain => ("priced", false),
            Kind::UpstreamFails => ("priced-fail", false),
            Kind::UpstreamCuts => ("priced-cut", true),
            Kind::Disconnect => ("priced-slow", true),
        };
        serde_json::json!({
            "model": model,
            "stream": stream,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": "Say hello to the replicas"}]
        })
    }
}

/// One request's answer, as the client saw it.
#[derive(Debug)]
pub struct Outcome {
    pub replica: usize,
    pub send: Kind,
    /// 0: the request did not get an answer (transport error).
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The OpenAI error code of a refusal, if the body is an error object.
    pub fn error_code(&self) -> Option<String> {
        self.json()["error"]["code"].as_str().map(str::to_owned)
    }
}

/// Counts outcomes by status, for reports: `[(200, 598), (429, 1402)]`.
pub fn by_status(outcomes: &[Outcome]) -> Vec<(u16, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for outcome in outcomes {
        *counts.entry(outcome.status).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}
