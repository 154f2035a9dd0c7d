//! Several replicas of the real `gateway` binary, run as an operator runs them
//! behind a load balancer: one config file, one Postgres database (created and
//! dropped per test), one Redis of the test's own (a child `redis-server` the
//! test may stop and start again empty; the shared one on 6379 is never used),
//! one mock provider. Each replica is a child process killed on drop; its stderr
//! is kept, so a test can print it when it fails and scan it for panics.
//!
//! `own_redis` and `process` start and stop, `traffic` sends, `store` reads;
//! what is proved with it lives in the `replicas_*.rs` and `redis_loss.rs`
//! tests, which include it as `#[path = "common/replicas/mod.rs"] mod
//! replicas;` next to `mod common;` and `#[path = "common/pg.rs"] mod pg;`.

#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failed setup must stop the test"
)]

mod own_redis;
mod process;
mod store;
mod traffic;

use std::path::PathBuf;

use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};

use crate::pg::TestDb;

#[allow(unused_imports, reason = "each test file uses a part")]
pub use own_redis::OwnRedis;
pub use process::Replica;
#[allow(unused_imports, reason = "each test file uses a part")]
pub use traffic::{by_status, Kind, Outcome};

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
