//! No prompt text, completion text, tool arguments or keys ever reach a store, a
//! counter or a log line. Requests carry a unique canary string everywhere a
//! client can put text; afterwards a full `pg_dump`, every Redis key and value,
//! the SQLite file, the spill file and every log line the gateway wrote at TRACE
//! level are searched for it. The same goes for the secret that keys `user`
//! tags, and for the plain SHA-256 of the `user` field (which a dictionary of
//! e-mail addresses would find): only the keyed tag may be stored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::io::Write;
use std::sync::{Arc, Mutex};

use analytics::event::UserTagKey;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use serde_json::json;

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    logs
}

/// Sends the canary through every field a client controls.
async fn send_canaries(base: &str, key: &str, canary: &str) {
    let client = reqwest::Client::new();
    let tools = json!([{"type": "function", "function": {"name": "lookup", "description": format!("finds {canary}"),
        "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": canary}}}}}]);
    let history = json!([
        {"role": "system", "content": format!("You guard {canary}.")},
        {"role": "user", "content": format!("What is {canary}?")},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": format!("{{\"q\":\"{canary}\"}}")}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": format!("{canary} is a secret")},
        {"role": "user", "content": [{"type": "text", "text": format!("Repeat {canary}")}]}
    ]);
    let bodies = [
        json!({"model": "mock-chat", "messages": history, "tools": tools, "user": canary}),
        json!({"model": "mock-chat", "messages": history, "tools": tools, "stream": true}),
        json!({"model": "mock-chat", "messages": history, "stream": true, "stream_options": {"include_usage": true}}),
        json!({"model": "fail-500", "messages": history}),
        json!({"model": "no-such-model", "messages": history}),
        json!({"model": "mock-chat", "messages": [{"role": canary, "content": canary}]}),
    ];
    for body in bodies {
        client
            .post(format!("{base}/chat/completions"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    client
        .post(format!("{base}/embeddings"))
        .bearer_auth(key)
        .json(&json!({"model": "mock-embed", "input": [canary, format!("more {canary}")]}))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(key)
        .body(format!(
            "{{\"model\": \"mock-chat\", \"messages\": [{{\"content\": \"{canary}\""
        ))
        .send()
        .await
        .unwrap();
    // A key that is itself a canary-bearing secret.
    client
        .post(format!("{base}/chat/completions"))
        .bearer_auth(format!("sk-{canary}"))
        .json(&json!({"model": "mock-chat", "messages": history}))
        .send()
        .await
        .unwrap();
}

fn assert_absent(haystack: &[u8], needle: &str, place: &str) {
    let found = haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes());
    assert!(!found, "the canary reached {place}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_or_key_reaches_any_store_counter_or_log() {
    let logs = capture_logs();
    let canary = format!("CANARY{}", &keys::mint().unwrap()[6..30]);
    let db = pg::TestDb::create("gw_privacy").await;
    let tenant = format!("privacy{}", &keys::mint().unwrap()[6..14]);
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = keys::mint().unwrap();
    let dir =
        std::env::temp_dir().join(format!("gateway-privacy-{}", &keys::mint().unwrap()[6..20]));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite_path = dir.join("events.sqlite");
    let spill_path = dir.join("events.spill");
    let tag_secret = format!("TAGSECRET{}", &keys::mint().unwrap()[6..30]);
    let plain_user_hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(canary.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };

    // Round 1: Postgres and Redis. Round 2: the embedded store.
    for round in ["postgres", "sqlite"] {
        let store = if round == "postgres" {
            format!(
                "database_url = \"{}\"\nredis_url = \"redis://127.0.0.1:6379\"\n\
                 user_tag_secret_env = \"GW_PRIVACY_TAG_SECRET\"\n",
                db.url
            )
        } else {
            format!("sqlite_path = \"{}\"\n", sqlite_path.display())
        };
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nlog = \"trace\"\n\
             [[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\
             [[models]]\nname = \"mock-chat\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n\
             [[models]]\nname = \"fail-500\"\nprovider = \"mock\"\nupstream_model = \"mock+status=500\"\n\
             [[models]]\nname = \"mock-embed\"\nprovider = \"mock\"\nupstream_model = \"mock-embed\"\nendpoint = \"embeddings\"\n\
             [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n\
             [analytics]\n{store}spill_path = \"{}\"\nflush_interval_ms = 20\n",
            mock.base_url(),
            KeyHash::of(&key),
            spill_path.display(),
        );
        let config = Config::from_toml(&text, Vec::new(), |name| {
            (name == "GW_PRIVACY_TAG_SECRET").then(|| tag_secret.clone())
        })
        .unwrap();
        let running = gateway::server::start(&config).await.unwrap();
        send_canaries(&format!("http://{}/v1", running.addr), &key, &canary).await;
        // A rollup too, so aggregates exist.
        let today = chrono::Utc::now().date_naive();
        running.store.rollup(today, today).await.unwrap();
        running.shutdown().await;
    }

    // Postgres: everything, via pg_dump.
    let dump = std::process::Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--data-only",
            "--inserts",
            &db.name,
        ])
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump_text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump_text.contains(&tenant),
        "the dump holds the events at all"
    );
    assert_absent(&dump.stdout, &canary, "Postgres");
    assert_absent(&dump.stdout, &key, "Postgres");
    assert_absent(&dump.stdout, &tag_secret, "Postgres");
    assert_absent(
        &dump.stdout,
        &plain_user_hash,
        "Postgres (the plain SHA-256 of `user`)",
    );
    assert!(
        dump_text.contains(&UserTagKey::new(tag_secret.as_bytes()).tag(&canary)),
        "the keyed tag of the canary `user` is stored"
    );
    db.drop_now().await;

    // Redis: every key and every value.
    let redis = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let all_keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        all_keys.iter().any(|k| k.contains(&tenant)),
        "counters were written"
    );
    for k in &all_keys {
        assert_absent(k.as_bytes(), &canary, "a Redis key");
        let kind: String = redis::cmd("TYPE")
            .arg(k)
            .query_async(&mut connection)
            .await
            .unwrap();
        let value: Vec<String> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL")
                .arg(k)
                .query_async(&mut connection)
                .await
                .unwrap(),
            "string" => vec![redis::cmd("GET")
                .arg(k)
                .query_async(&mut connection)
                .await
                .unwrap()],
            _ => Vec::new(),
        };
        assert_absent(value.join(" ").as_bytes(), &canary, "a Redis value");
        assert_absent(value.join(" ").as_bytes(), &key, "a Redis value");
        assert_absent(value.join(" ").as_bytes(), &tag_secret, "a Redis value");
    }
    for k in all_keys.iter().filter(|k| k.contains(&tenant)) {
        let _: () = redis::cmd("DEL")
            .arg(k)
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    // The SQLite file (and its WAL), and the spill file if any was written.
    let mut sqlite_bytes = std::fs::read(&sqlite_path).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("events.sqlite-wal")) {
        sqlite_bytes.extend(wal);
    }
    assert!(
        sqlite_bytes
            .windows(tenant.len())
            .any(|w| w == tenant.as_bytes()),
        "the SQLite file holds the events"
    );
    assert_absent(&sqlite_bytes, &canary, "the SQLite file");
    assert_absent(
        &sqlite_bytes,
        &plain_user_hash,
        "the SQLite file (the plain SHA-256 of `user`)",
    );
    // The embedded store's secret was generated next to it.
    let generated = std::fs::read_to_string(dir.join("gateway-user-tag.key")).unwrap();
    let generated = generated.trim();
    assert_eq!(generated.len(), 64);
    assert_absent(&sqlite_bytes, generated, "the SQLite file");
    if let Ok(spill) = std::fs::read(&spill_path) {
        assert_absent(&spill, &canary, "the spill file");
    }

    // Logs, at TRACE, of the gateway and every library it uses.
    let logs = logs.0.lock().unwrap().clone();
    assert!(
        logs.len() > 1_000,
        "logging was captured ({} bytes)",
        logs.len()
    );
    assert_absent(&logs, &canary, "the logs");
    assert_absent(&logs, &key, "the logs");
    assert_absent(&logs, &tag_secret, "the logs");
    assert_absent(&logs, generated, "the logs");
    let _ = std::fs::remove_dir_all(&dir);
}
