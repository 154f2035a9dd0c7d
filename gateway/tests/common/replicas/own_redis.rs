//! A `redis-server` of the test's own: on a free loopback port, without
//! persistence, killed and started again empty when a test says so. Tests that
//! stop Redis never touch the shared one on 6379.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::closed_port;

use super::temp_dir;

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
