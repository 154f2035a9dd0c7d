//! Provider keys from files (`api_key_file`): read at start and again on every
//! reload, so a key can be added or rotated with SIGHUP, which cannot work for
//! `api_key_env` (a running process never sees new environment variables).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::RunningMock;
use serde_json::Value;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gateway-key-files-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A config in `dir` whose provider reads its key from `mock.key` (relative to
/// the config file); returns its path and the client key.
fn write_config(dir: &Path, mock: &RunningMock, listen: &str) -> (PathBuf, String) {
    let key = keys::mint().unwrap();
    let text = format!(
        "[server]\nlisten = \"{listen}\"\nlog = \"warn\"\n\
         [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\napi_key_file = \"mock.key\"\n\
         [[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n\
         price = {{ input = \"0\", output = \"0\" }}\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\n{}",
        mock.base_url(),
        KeyHash::of(&key),
        common::analytics_toml()
    );
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    (path, key)
}

/// Sends one chat request; returns the status, the error message if any, and
/// the Authorization the mock saw.
async fn ask(addr: std::net::SocketAddr, key: &str, mock: &RunningMock) -> (u16, String, String) {
    *mock.state.last_authorization.lock().unwrap() = None;
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&common::chat_body("m"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let seen = mock
        .state
        .last_authorization
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
    (status, message, seen)
}

#[tokio::test]
async fn a_key_file_is_read_at_start_and_again_on_every_reload() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = temp_dir();
    let (path, key) = write_config(&dir, &mock, "127.0.0.1:0");
    let key_file = dir.join("mock.key");

    // No file yet: the gateway starts, the provider is skipped with a clear 503.
    let config = Config::load(&path).unwrap();
    let warnings = gateway::checks::missing_keys(&config);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("SIGHUP"), "{}", warnings[0]);
    let running = gateway::server::start(&config).await.unwrap();
    let (status, message, _) = ask(running.addr, &key, &mock).await;
    assert_eq!(status, 503, "{message}");
    assert!(
        message.contains("mock.key") && message.contains("cannot be read"),
        "{message}"
    );

    // The key arrives: a reload picks it up.
    std::fs::write(&key_file, "sk-upstream-first\n").unwrap();
    let reloaded = running.reload(&path).unwrap();
    assert!(gateway::checks::missing_keys(&reloaded).is_empty());
    let (status, _, seen) = ask(running.addr, &key, &mock).await;
    assert_eq!((status, seen.as_str()), (200, "Bearer sk-upstream-first"));

    // Rotated: the next reload sends the new key, not before.
    std::fs::write(&key_file, "sk-upstream-second").unwrap();
    let (_, _, seen) = ask(running.addr, &key, &mock).await;
    assert_eq!(seen, "Bearer sk-upstream-first");
    running.reload(&path).unwrap();
    let (status, _, seen) = ask(running.addr, &key, &mock).await;
    assert_eq!((status, seen.as_str()), (200, "Bearer sk-upstream-second"));

    // Emptied (revoked): skipped again after a reload, saying why.
    std::fs::write(&key_file, "  \n").unwrap();
    running.reload(&path).unwrap();
    let (status, message, _) = ask(running.addr, &key, &mock).await;
    assert_eq!(status, 503);
    assert!(message.contains("is empty"), "{message}");
    running.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_provider_takes_a_key_variable_or_a_key_file_not_both() {
    let text = "[[providers]]\nname = \"p\"\nbase_url = \"http://127.0.0.1:1/v1\"\n\
                api_key_env = \"K\"\napi_key_file = \"k.key\"\n";
    let error = Config::from_toml(text, Vec::new(), |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("providers[0].api_key_file") && error.contains("not both"),
        "{error}"
    );
}

#[tokio::test]
async fn sighup_makes_the_running_binary_read_a_new_key_file() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = temp_dir();
    let port = common::closed_port();
    let (path, key) = write_config(&dir, &mock, &format!("127.0.0.1:{port}"));
    let key_file = dir.join("mock.key");
    std::fs::write(&key_file, "sk-before-hangup\n").unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("GATEWAY_CONFIG")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("http://{addr}/readyz")).await.is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, seen) = ask(addr, &key, &mock).await;
    assert_eq!((status, seen.as_str()), (200, "Bearer sk-before-hangup"));

    std::fs::write(&key_file, "sk-after-hangup\n").unwrap();
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, seen) = ask(addr, &key, &mock).await;
        assert_eq!(status, 200);
        if seen == "Bearer sk-after-hangup" {
            break;
        }
        assert_eq!(seen, "Bearer sk-before-hangup");
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not re-read the key file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(child);
    std::fs::remove_dir_all(dir).unwrap();
}
