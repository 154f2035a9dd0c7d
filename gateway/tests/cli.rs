//! The `gateway` binary itself: config checking, key minting, and graceful
//! shutdown on SIGTERM with a stream still open.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gateway::keys::KeyHash;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

fn example_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("gateway.example.toml")
}

fn temp_file(name: &str, contents: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gateway-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

#[test]
fn the_example_config_is_valid() {
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(example_config())
        .env_remove("GATEWAY_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("ok: 3 providers, 2 models, 1 keys")
    );
    // Nothing to warn about in the file new users copy.
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_published_dev_key_matches_the_example_hash() {
    let text = std::fs::read_to_string(example_config()).unwrap();
    let hash = KeyHash::of("sk-gw-local-dev-key-do-not-deploy").to_string();
    assert!(text.contains(&hash));
}

#[test]
fn an_invalid_config_is_refused_naming_the_key() {
    let text = std::fs::read_to_string(example_config())
        .unwrap()
        .replace("provider = \"groq\"", "provider = \"grok\"");
    let path = temp_file("bad.toml", &text).unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`models[0].provider`") && stderr.contains("grok"),
        "{stderr}"
    );

    let output = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success(), "serve must refuse the same file");
    assert!(String::from_utf8_lossy(&output.stderr).contains("models[0].provider"));
}

#[test]
fn check_config_warns_about_unpriced_models_and_providers_that_serve_nothing() {
    let text = r#"
[[providers]]
name = "together"
base_url = "https://api.together.xyz/v1"

[[providers]]
name = "local"
base_url = "http://127.0.0.1:8000/v1"

[[providers]]
name = "openai"
base_url = "https://api.openai.com/v1"

[[models]]
name = "llama-local"
provider = "local"

[[models]]
name = "qwen-local"
provider = "local"
price = { input = "0", output = "0" }
"#;
    let path = temp_file("warnings.toml", text).unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("GATEWAY_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "warnings are not errors: {stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].contains("`providers[0]`")
            && warnings[0].contains("`together` serves no model")
            && warnings[0].contains("`together_ai`"),
        "{stderr}"
    );
    assert!(
        warnings[1].contains("`models[0]`")
            && warnings[1].contains("`llama-local`")
            && warnings[1].contains("has no price"),
        "{stderr}"
    );
    assert!(!stderr.contains("qwen-local"), "a zero price is a price");
    assert!(
        stdout.starts_with("ok: 3 providers, 2 models, 0 keys, 2 warnings"),
        "{stdout}"
    );
}

#[test]
fn env_overrides_are_checked_too() {
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(example_config())
        .env("GATEWAY__SERVER__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("`server.listen`"));
}

#[test]
fn a_remote_plain_http_provider_is_refused_unless_allowed() {
    // providers[0] is `openai`; the example's mock on 127.0.0.1 stays valid.
    let check = |allow: Option<&str>| {
        let mut command = Command::new(BIN);
        command
            .args(["check-config", "--config"])
            .arg(example_config())
            .env(
                "GATEWAY__PROVIDERS__0__BASE_URL",
                "http://api.openai.com/v1",
            );
        if let Some(allow) = allow {
            command.env("GATEWAY__PROVIDERS__0__ALLOW_INSECURE_HTTP", allow);
        }
        command.output().unwrap()
    };
    let refused = check(None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("`providers[0].base_url`")
            && stderr.contains("providers[0].allow_insecure_http = true"),
        "{stderr}"
    );
    let allowed = check(Some("true"));
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

#[test]
fn keys_create_prints_a_key_whose_hash_is_the_entry_to_paste() {
    let output = Command::new(BIN)
        .args(["keys", "create", "--tenant", "acme", "--team", "ml"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key (shown once, store it now): "))
        .unwrap();
    let entry: toml::Table = toml::from_str(stdout.split_once("\n\n").unwrap().1).unwrap();
    let keys = entry["keys"].as_array().unwrap();
    assert_eq!(
        keys[0]["hash"].as_str().unwrap(),
        KeyHash::of(key).to_string()
    );
    assert_eq!(keys[0]["tenant"].as_str().unwrap(), "acme");
    assert_eq!(keys[0]["team"].as_str().unwrap(), "ml");

    let mut hash = Command::new(BIN)
        .args(["keys", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    hash.stdin
        .take()
        .unwrap()
        .write_all(format!("{key}\n").as_bytes())
        .unwrap();
    let out = hash.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        KeyHash::of(key).to_string()
    );
}

#[tokio::test]
async fn sigterm_stops_accepting_but_lets_an_open_stream_finish() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = common::closed_port();
    let key = gateway::keys::mint().unwrap();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_grace_ms = 10000\nlog = \"warn\"\nworker_threads = 1\n\
         [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\
         [[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock+chunk_delay_ms=100+words=10\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\n",
        mock.base_url(),
        KeyHash::of(&key)
    );
    let path = temp_file("sigterm.toml", &(config + &common::analytics_toml())).unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "gateway did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let response = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let pid = child.id().unwrap().to_string();
    // `server.worker_threads = 1`: one runtime worker serves it all.
    let workers = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "tokio-rt-worker")
        .count();
    assert_eq!(workers, 1, "runtime workers");
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fresh connection is refused once the listener is closed.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());

    let text = response.text().await.unwrap();
    let data = common::sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn migrate_and_rollup_run_from_the_command_line() {
    let config = format!(
        "[[providers]]\nname = \"p\"\nbase_url = \"http://127.0.0.1:1\"\n{}",
        common::analytics_toml()
    );
    let path = temp_file("rollup.toml", &config).unwrap();
    let migrate = Command::new(BIN)
        .args(["migrate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let rollup = Command::new(BIN)
        .args([
            "rollup",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-25",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        rollup.status.success(),
        "{}",
        String::from_utf8_lossy(&rollup.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&rollup.stdout).trim(),
        "ok: rolled up 2026-11-01 to 2026-11-25"
    );
    let backwards = Command::new(BIN)
        .args([
            "rollup",
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-01",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!backwards.status.success());
}

/// Runs `gateway keys ...` against `config`; its stdout, or the test fails.
/// Asynchronously: the test's runtime also drives the gateway under test, which
/// must go on serving (and finish its store writes) while the command runs.
#[allow(clippy::unwrap_used, reason = "test helper: a failure stops the test")]
async fn keys_cli(config: &std::path::Path, args: &[&str]) -> String {
    let output = tokio::process::Command::new(BIN)
        .arg("keys")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("GATEWAY_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The value after `label: ` on a line of `text`.
#[allow(clippy::panic, reason = "test helper: a failure stops the test")]
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` in {text}"))
        .trim()
}

#[tokio::test]
async fn keys_made_listed_rotated_and_revoked_by_the_cli_hold_in_a_running_gateway() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\
         [[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n",
        mock.base_url()
    ) + &common::analytics_toml();
    let path = temp_file(
        &format!("keys-{}.toml", &gateway::keys::mint().unwrap()[6..14]),
        &config,
    )
    .unwrap();
    let made = keys_cli(
        &path,
        &[
            "create", "--tenant", "acme", "--team", "web", "--label", "ci", "--rpm", "100",
        ],
    )
    .await;
    let key = field(&made, "key (shown once, store it now):").to_owned();
    let id = field(&made, "id:").to_owned();

    let parsed = gateway::config::Config::load(&path).unwrap();
    let running = gateway::server::start(&parsed).await.unwrap();
    let client = reqwest::Client::new();
    let chat = |key: String| {
        let client = client.clone();
        let url = format!("http://{}/v1/chat/completions", running.addr);
        async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        chat(key.clone()).await,
        200,
        "a key made before the start is served"
    );

    let listed = keys_cli(&path, &["list"]).await;
    assert!(
        listed.contains(&id) && listed.contains(&key[..10]),
        "{listed}"
    );
    assert!(
        !listed.contains(&key),
        "the list never shows a key: {listed}"
    );

    let rotated = keys_cli(&path, &["rotate", &id, "--grace-seconds", "0"]).await;
    let new_key = field(&rotated, "key (shown once, store it now):").to_owned();
    let new_id = field(&rotated, "id:").to_owned();
    // The running gateway learns of changes made by another process from the
    // store's version within a second.
    let until = |key: String, status: u16| {
        let chat = &chat;
        async move {
            let start = Instant::now();
            while chat(key.clone()).await != status {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "still not {status} after 5 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            start.elapsed()
        }
    };
    let took = until(new_key.clone(), 200).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(
        chat(key.clone()).await,
        401,
        "no grace period: the old key ends"
    );

    let revoked = keys_cli(&path, &["revoke", &new_id]).await;
    assert!(revoked.contains("revoked"), "{revoked}");
    let took = until(new_key, 401).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    let all = keys_cli(&path, &["list", "--include-revoked"]).await;
    assert!(all.contains(&id) && all.contains(&new_id), "{all}");
    running.shutdown().await;
}
