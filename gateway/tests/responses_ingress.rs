//! OpenAI's newer and older text APIs through the gateway, over real HTTP in
//! front of the project's mock provider: `POST /v1/completions` (legacy,
//! passed through to deployments configured for it) and `POST /v1/responses`
//! (passed through to providers that serve the Responses API, translated for
//! the others). Each goes through the same auth, routing, failover and billing
//! as chat completions, checked here by status, body, headers and the usage
//! event in the embedded store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::time::Duration;

use analytics::store::Store;
use analytics::UsageEvent;
use chrono::Utc;
use common::{assert_openai_error, sse_data, start_with, TestGateway};
use pricing::{Cost, Price};
use serde_json::{json, Value};

const HELLO: &str = "Hello from the mock provider, friend.";

/// `instruct` serves legacy completions; `instruct-closed` too, at a provider
/// that refuses connections, priced lower so that `auto:fast` (which picks
/// among completions deployments of any tier) tries it first and fails over.
/// `mock-chat` serves chat only.
const COMPLETIONS: &str = r#"
[[models]]
name = "instruct"
provider = "mock"
upstream_model = "mock+prompt_tokens=1000"
endpoint = "completions"
price_as = "openai/gpt-4o-mini"
price = { input = "1.5", output = "2" }

[[models]]
name = "instruct-closed"
provider = "closed"
upstream_model = "mock"
endpoint = "completions"
price_as = "openai/gpt-4o-mini"
price = { input = "0.1", output = "0.1" }
"#;

fn price(usd: &str) -> Price {
    Price::from_usd_per_mtok(usd).unwrap()
}

/// The cost of `prompt` and `completion` tokens at `input` and `output` USD
/// per million, as the catalog arithmetic would have it.
fn by_hand(prompt: u64, input: &str, completion: u64, output: &str) -> String {
    let cost: Cost = price(input).cost(prompt) + price(output).cost(completion);
    cost.usd()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn events(gw: &TestGateway) -> Vec<UsageEvent> {
    let Store::Sqlite(sqlite) = gw.gateway.store.as_ref() else {
        panic!("expected the embedded store")
    };
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    sqlite.events("acme", from, to, 1000).await.unwrap()
}

/// The events once `count` have been written (the writer batches).
async fn wait_for_events(gw: &TestGateway, count: usize) -> Vec<UsageEvent> {
    for _ in 0..100 {
        let found = events(gw).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} usage events were written")
}

#[tokio::test]
async fn legacy_completions_pass_through_with_the_model_swapped_and_exact_cost() {
    let gw = start_with(COMPLETIONS).await;
    let body = json!({"model": "instruct", "prompt": "def add(a, b):", "max_tokens": 50, "temperature": 0.1});
    let response = gw.post("/v1/completions", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "mock");
    assert_eq!(
        header(&response, "x-gateway-cost-usd"),
        by_hand(1000, "1.5", 8, "2")
    );
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["choices"][0]["text"], HELLO);
    assert_eq!(answer["usage"]["prompt_tokens"], 1000);
    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(sent["model"], "mock+prompt_tokens=1000");
    assert_eq!(sent["prompt"], "def add(a, b):");
    assert_eq!(sent["temperature"], 0.1);
    let uri = gw.mock.state.last_uri.lock().unwrap().clone().unwrap();
    assert!(
        uri.ends_with("/completions") && !uri.contains("chat"),
        "sent to {uri}"
    );

    // Also without `/v1`.
    let response = gw.post("/completions", &body).await;
    assert_eq!(response.status(), 200);

    let events = wait_for_events(&gw, 2).await;
    let event = &events[0];
    assert_eq!(event.endpoint, "completions");
    assert_eq!(event.requested_model, "instruct");
    assert_eq!(event.routed_provider.as_deref(), Some("mock"));
    assert_eq!((event.prompt_tokens, event.completion_tokens), (1000, 8));
    assert!(!event.usage_estimated);
    assert_eq!(
        event.cost_usd.map(|c| c.usd()),
        Some(by_hand(1000, "1.5", 8, "2"))
    );
}

#[tokio::test]
async fn legacy_completion_streams_pass_through_and_are_billed_from_usage() {
    let gw = start_with(COMPLETIONS).await;
    let body = json!({"model": "instruct", "prompt": "x", "max_tokens": 50, "stream": true});
    let response = gw.post("/v1/completions", &body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(
        sent["stream_options"]["include_usage"], true,
        "the gateway asks for usage"
    );
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(streamed, HELLO);
    assert!(
        chunks.iter().all(|c| c.get("usage").is_none()),
        "usage the client did not ask for is hidden: {text}"
    );
    let comment = text
        .lines()
        .find_map(|l| l.strip_prefix(": x-gateway-cost-usd="))
        .unwrap_or_else(|| panic!("no bill comment: {text}"));
    assert!(
        comment.starts_with(&format!("{};", by_hand(1000, "1.5", 8, "2"))),
        "{comment}"
    );

    let mut asks = body.clone();
    asks["stream_options"] = json!({"include_usage": true});
    let text = gw
        .post("/v1/completions", &asks)
        .await
        .text()
        .await
        .unwrap();
    let usage: Vec<Value> = sse_data(&text)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|c| c["usage"].is_object())
        .collect();
    assert_eq!(usage.len(), 1, "{text}");
    assert_eq!(usage[0]["usage"]["prompt_tokens"], 1000);
}

#[tokio::test]
async fn legacy_completions_fail_over_like_chat() {
    let gw = start_with(COMPLETIONS).await;
    let body = json!({"model": "auto:fast", "prompt": "x", "max_tokens": 50});
    let response = gw.post("/v1/completions", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    assert_eq!(header(&response, "x-gateway-provider"), "mock");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["choices"][0]["text"], HELLO);
}

#[tokio::test]
async fn a_model_without_a_completions_deployment_is_refused_in_openai_shape() {
    let gw = start_with(COMPLETIONS).await;
    let response = gw
        .post(
            "/v1/completions",
            &json!({"model": "mock-chat", "prompt": "x"}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let error = assert_openai_error(&body);
    assert_eq!(error["code"], "model_not_found");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not served on the completions endpoint"),
        "{body}"
    );
    assert_eq!(
        gw.mock
            .state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    let response = gw
        .post("/v1/completions", &json!({"model": "nope", "prompt": "x"}))
        .await;
    assert_eq!(response.status(), 404);
    assert_openai_error(&response.json().await.unwrap());

    // And the other way round: a completions model is no chat model.
    let response = gw
        .post("/v1/chat/completions", &common::chat_body("instruct"))
        .await;
    assert_eq!(response.status(), 400);

    for (body, param) in [
        (json!({"model": "instruct"}), "prompt"),
        (json!({"model": "instruct", "prompt": {}}), "prompt"),
        (json!({"prompt": "x"}), "model"),
    ] {
        let response = gw.post("/v1/completions", &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(assert_openai_error(&answer)["param"], param, "{answer}");
    }
    let unauthenticated = gw
        .client
        .post(gw.url("/v1/completions"))
        .json(&json!({"model": "instruct", "prompt": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert_openai_error(&unauthenticated.json().await.unwrap());
}
