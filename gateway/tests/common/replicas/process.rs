//! One `gateway serve` process: the real binary, started with a config file,
//! found by the address it logs, ready when `/readyz` says so, its stderr kept.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// One running `gateway serve` process.
pub struct Replica {
    pub(super) child: tokio::process::Child,
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
