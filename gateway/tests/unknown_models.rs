//! Client-chosen model names cannot inflate the analytics: a request for a model
//! the gateway does not know is recorded under one `(unknown)` bucket, in the
//! events, the counters and the rollups, however many names clients make up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use analytics::store::Store;
use chrono::Utc;
use common::{chat_body, start_with};
use gateway::keys::{self, KeyHash};
use serde_json::{json, Value};

#[tokio::test]
async fn a_hundred_made_up_model_names_make_one_unknown_bucket() {
    let dashboard = keys::mint().unwrap();
    let gw = start_with(&format!(
        "\n[[keys]]\nid = \"acme-dashboard\"\nhash = \"{}\"\ntenant = \"acme\"\nrole = \"dashboard\"\n",
        KeyHash::of(&dashboard)
    ))
    .await;
    let mut expected_unknown = 0;
    for i in 0..100 {
        let name = format!("made-up-model-{i}-{}", "x".repeat(i));
        let response = gw.post("/v1/chat/completions", &chat_body(&name)).await;
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "model_not_found");
        expected_unknown += 1;
    }
    // Other refusals before routing: a made-up embeddings model, a made-up name
    // in a request refused for its messages, a model that is not a string.
    for body in [
        json!({"model": "made-up-embedder", "input": "hi"}),
        json!({"model": "made-up-model-with-no-messages"}),
        json!({"model": 42, "messages": [{"role": "user", "content": "hi"}]}),
    ] {
        let path = if body.get("input").is_some() {
            "/v1/embeddings"
        } else {
            "/v1/chat/completions"
        };
        let status = gw.post(path, &body).await.status();
        assert!(status == 400 || status == 404, "{body}: {status}");
        expected_unknown += 1;
    }
    // Known names keep their own bucket, also when refused: a served request,
    // a model the limited key may not use, a virtual name.
    assert_eq!(
        gw.post("/v1/chat/completions", &chat_body("mock-chat"))
            .await
            .status(),
        200
    );
    let refused = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.limited_key)
        .json(&chat_body("fail-500"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    gw.post("/v1/chat/completions", &chat_body("auto"))
        .await
        .bytes()
        .await
        .unwrap();

    // Events.
    let store = gw.gateway.store.clone();
    let Store::Sqlite(sqlite) = &*store else {
        panic!("expected the embedded store")
    };
    let (from, to) = (
        Utc::now() - chrono::Duration::hours(1),
        Utc::now() + chrono::Duration::hours(1),
    );
    let mut events = Vec::new();
    for _ in 0..100 {
        events = sqlite.events("acme", from, to, 10_000).await.unwrap();
        if events.len() >= expected_unknown + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        *by_name.entry(event.requested_model.as_str()).or_default() += 1;
    }
    assert_eq!(
        by_name,
        BTreeMap::from([
            ("(unknown)", expected_unknown),
            ("auto", 1),
            ("fail-500", 1),
            ("mock-chat", 1)
        ]),
        "{events:#?}"
    );

    // Rollups, as the analytics API reads them.
    let today = Utc::now().date_naive();
    store.rollup(today, today).await.unwrap();
    let get = |path: String| {
        let request = gw.client.get(gw.url(&path)).bearer_auth(&dashboard);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let breakdown = get(format!(
        "/api/v1/analytics/breakdown?from={today}&to={today}&by=requested_model"
    ))
    .await;
    let rows: BTreeMap<String, i64> = breakdown["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["requested_model"].as_str().unwrap().to_owned(),
                row["requests"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 4, "{breakdown}");
    assert_eq!(rows["(unknown)"], expected_unknown as i64, "{breakdown}");
    let mix = get(format!(
        "/api/v1/analytics/routing-mix?from={today}&to={today}"
    ))
    .await;
    let mix_text = mix.to_string();
    assert!(!mix_text.contains("made-up"), "{mix}");

    // Counters: refused requests count for the tenant and key, under no model.
    let realtime = get("/api/v1/analytics/realtime".to_owned()).await;
    let text = realtime.to_string();
    assert!(!text.contains("made-up"), "{realtime}");
    assert_eq!(
        realtime["today"]["requests"].as_i64(),
        Some(expected_unknown as i64 + 3),
        "{realtime}"
    );
    gw.gateway.shutdown().await;
}
