//! Every API request leaves exactly one metadata-only usage event, whatever its
//! outcome: success, stream, failover, upstream error, refusal, a client that
//! leaves mid-stream. Checked on the embedded SQLite store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use analytics::store::Store;
use analytics::UsageEvent;
use chrono::Utc;
use common::{chat_body, start_with};
use serde_json::json;

async fn events_of(store: &Store, tenant: &str) -> Vec<UsageEvent> {
    let Store::Sqlite(sqlite) = store else {
        panic!("expected the embedded store")
    };
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    sqlite.events(tenant, from, to, 100_000).await.unwrap()
}

#[tokio::test]
async fn every_request_leaves_exactly_one_event_whatever_happens() {
    let gw = start_with("").await;
    let store = gw.gateway.store.clone();
    let client = &gw.client;
    let url = gw.url("/v1/chat/completions");

    // 1: success, 2: stream, 3: upstream 500, 4: unknown model, 5: invalid JSON,
    // 6: embeddings, 7: a stream the client abandons, 8: a stream cut upstream.
    gw.post("/v1/chat/completions", &chat_body("mock-chat"))
        .await
        .bytes()
        .await
        .unwrap();
    let mut stream = chat_body("mock-chat");
    stream["stream"] = json!(true);
    stream["user"] = json!("alice@example.com");
    gw.post("/v1/chat/completions", &stream)
        .await
        .bytes()
        .await
        .unwrap();
    gw.post("/v1/chat/completions", &chat_body("fail-500"))
        .await
        .bytes()
        .await
        .unwrap();
    gw.post("/v1/chat/completions", &chat_body("no-such-model"))
        .await
        .bytes()
        .await
        .unwrap();
    client
        .post(&url)
        .bearer_auth(&gw.key)
        .body("{oops")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    gw.post(
        "/v1/embeddings",
        &json!({"model": "mock-embed", "input": "hi"}),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let mut slow = chat_body("slow-chunks");
    slow["stream"] = json!(true);
    let mut abandoned = gw.post("/v1/chat/completions", &slow).await;
    abandoned.chunk().await.unwrap();
    drop(abandoned);
    let mut cut = chat_body("cut-stream");
    cut["stream"] = json!(true);
    gw.post("/v1/chat/completions", &cut)
        .await
        .bytes()
        .await
        .unwrap();
    // Not usage: an unknown key (no tenant) and a metrics scrape.
    client
        .post(&url)
        .bearer_auth("sk-nobody")
        .json(&chat_body("mock-chat"))
        .send()
        .await
        .unwrap();
    client.get(gw.url("/metrics")).send().await.unwrap();

    tokio::time::sleep(Duration::from_millis(300)).await;
    let alice = gw.gateway.state.user_tags.tag("alice@example.com");
    gw.gateway.shutdown().await;
    let events = events_of(&store, "acme").await;
    assert_eq!(events.len(), 8, "{events:#?}");
    let by_model: HashMap<(&str, &str, u16), &UsageEvent> = events
        .iter()
        .map(|e| {
            (
                (e.endpoint.as_str(), e.requested_model.as_str(), e.status),
                e,
            )
        })
        .collect();

    let ok = by_model[&("chat_completions", "mock-chat", 200)];
    assert!(!ok.stream || ok.user_tag.is_some());
    let plain = events
        .iter()
        .find(|e| e.requested_model == "mock-chat" && !e.stream)
        .unwrap();
    assert_eq!(plain.key_id, "test-all");
    assert_eq!(plain.team.as_deref(), Some("platform"));
    assert_eq!(plain.routed_provider.as_deref(), Some("mock"));
    assert_eq!(plain.route_reason, "requested");
    assert_eq!(plain.completion_tokens, 8);
    assert!(plain.prompt_tokens > 0);
    assert_eq!(
        plain.client_family, "unknown",
        "reqwest sends no User-Agent"
    );
    assert!(plain.error_kind.is_none());
    assert_eq!(plain.ingress_format.as_deref(), Some("openai_chat"));
    assert_eq!(plain.upstream_format.as_deref(), Some("openai_chat"));

    let streamed = events
        .iter()
        .find(|e| e.requested_model == "mock-chat" && e.stream)
        .unwrap();
    assert_eq!(
        streamed.completion_tokens, 8,
        "usage learned from the hidden usage chunk"
    );
    assert_eq!(streamed.user_tag.as_deref(), Some(alice.as_str()));
    assert!(streamed.ttft_ms.is_some());

    let failed = by_model[&("chat_completions", "fail-500", 500)];
    assert_eq!(failed.error_kind.as_deref(), Some("upstream_status"));
    // Made-up names are not kept (see unknown_models.rs).
    let unknown = by_model[&("chat_completions", "(unknown)", 404)];
    assert_eq!(unknown.route_reason, "none");
    assert_eq!(unknown.error_kind.as_deref(), Some("model_not_found"));
    assert_eq!(
        unknown.upstream_format, None,
        "no provider was asked, so none spoke"
    );
    let invalid = events.iter().find(|e| e.status == 400).unwrap();
    assert_eq!(invalid.error_kind.as_deref(), Some("invalid_json"));
    let embed = by_model[&("embeddings", "mock-embed", 200)];
    assert!(embed.prompt_tokens > 0);
    let left = events
        .iter()
        .find(|e| e.requested_model == "slow-chunks")
        .unwrap();
    assert_eq!(left.error_kind.as_deref(), Some("client_cancelled"));
    assert_eq!(left.status, 200);
    let cut = events
        .iter()
        .find(|e| e.requested_model == "cut-stream")
        .unwrap();
    assert_eq!(cut.error_kind.as_deref(), Some("stream_transport"));
}

#[tokio::test]
async fn a_rate_limited_request_is_recorded_too() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = gateway::keys::mint().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n\
         [[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"limited\"\nrpm = 1\n",
        mock.base_url(),
        gateway::keys::KeyHash::of(&key)
    ) + &common::analytics_toml();
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let running = gateway::server::start(&config).await.unwrap();
    let store = running.store.clone();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client
            .post(format!("http://{}/v1/chat/completions", running.addr))
            .bearer_auth(&key)
            .json(&chat_body("m"))
            .send()
            .await
            .unwrap();
    }
    running.shutdown().await;
    let events = events_of(&store, "limited").await;
    let statuses: Vec<u16> = events.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 429, 429]);
    assert!(events[1..]
        .iter()
        .all(|e| e.error_kind.as_deref() == Some("rate_limited")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_requests_leave_exactly_as_many_events_in_sqlite() {
    use futures_util::StreamExt;
    const REQUESTS: usize = 2_000;
    let gw = start_with("").await;
    let store = gw.gateway.store.clone();
    let url = gw.url("/v1/chat/completions");
    futures_util::stream::iter(0..REQUESTS)
        .map(|i| {
            let (client, url, key) = (gw.client.clone(), url.clone(), gw.key.clone());
            async move {
                let mut body = chat_body(if i % 7 == 0 { "fail-500" } else { "mock-chat" });
                body["stream"] = json!(i % 2 == 0);
                client
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let stats = gw.gateway.state.events.stats().clone();
    gw.gateway.shutdown().await;
    let events = events_of(&store, "acme").await;
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!((events.len(), ids.len()), (REQUESTS, REQUESTS));
    assert_eq!(
        events.iter().filter(|e| e.status == 500).count(),
        REQUESTS.div_ceil(7)
    );
    assert_eq!(stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 0);
}
