//! What the gateway accepts from a provider, over real HTTP against the mock:
//! bodies and stream events are bounded (a clear OpenAI error, in the stream
//! after the first byte, and an error kind in the usage event), and redirects
//! are never followed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use analytics::store::Store;
use analytics::UsageEvent;
use chrono::Utc;
use common::{assert_openai_error, chat_body, sse_data, start_with_env, TestGateway};
use serde_json::{json, Value};

const LIMIT: &str = "65536";

/// Models the mock answers with oversize bodies, events or redirects.
const MODELS: &str = r#"
[[models]]
name = "endless-body"
provider = "mock"
upstream_model = "mock+body_bytes=1073741824"

[[models]]
name = "declared-body"
provider = "mock"
upstream_model = "mock+body_bytes=200000+declare_length=1"

[[models]]
name = "fitting-body"
provider = "mock"
upstream_model = "mock+body_bytes=60000"

[[models]]
name = "endless-event"
provider = "mock"
upstream_model = "mock+big_event=1073741824"

[[models]]
name = "endless-first-event"
provider = "mock"
upstream_model = "mock+big_event=1073741824+big_event_at=0"

[[models]]
name = "fitting-event"
provider = "mock"
upstream_model = "mock+big_event=60000"

[[models]]
name = "redirect-307"
provider = "mock"
upstream_model = "mock+redirect=307"

[[models]]
name = "redirect-302"
provider = "mock"
upstream_model = "mock+redirect=302"
"#;

async fn start() -> TestGateway {
    start_with_env(
        MODELS,
        &[
            ("GATEWAY__SERVER__MAX_UPSTREAM_RESPONSE_BYTES", LIMIT),
            ("GATEWAY__SERVER__MAX_UPSTREAM_EVENT_BYTES", LIMIT),
        ],
    )
    .await
}

async fn events_of(gw: TestGateway) -> Vec<UsageEvent> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let store = gw.gateway.store.clone();
    gw.gateway.shutdown().await;
    let Store::Sqlite(sqlite) = &*store else {
        panic!("expected the embedded store")
    };
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    sqlite.events("acme", from, to, 1000).await.unwrap()
}

fn error_kind_of<'a>(events: &'a [UsageEvent], model: &str) -> Option<&'a str> {
    let matching: Vec<&UsageEvent> = events
        .iter()
        .filter(|e| e.requested_model == model)
        .collect();
    assert_eq!(matching.len(), 1, "one event for {model}: {events:#?}");
    matching[0].error_kind.as_deref()
}

async fn metrics_text(gw: &TestGateway) -> String {
    gw.client
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_buffered_answer_over_the_limit_is_a_clear_502_recorded_in_the_event() {
    let gw = start().await;
    for model in ["endless-body", "declared-body"] {
        let response = tokio::time::timeout(
            Duration::from_secs(30),
            gw.post("/v1/chat/completions", &chat_body(model)),
        )
        .await
        .expect("an endless body does not hang the request");
        assert_eq!(response.status(), 502, "{model}");
        assert_eq!(response.headers()["x-gateway-error-origin"], "gateway");
        let body: Value = response.json().await.unwrap();
        let error = assert_openai_error(&body);
        assert_eq!(error["code"], "upstream_too_large", "{body}");
        assert!(
            error["message"].as_str().unwrap().contains("65536 bytes"),
            "{body}"
        );
    }
    // Just under the limit is relayed whole.
    let response = gw
        .post("/v1/chat/completions", &chat_body("fitting-body"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 60_000);

    let metrics = metrics_text(&gw).await;
    assert!(
        metrics.contains(
            r#"gateway_upstream_errors_total{provider="mock",kind="upstream_too_large"} 2"#
        ),
        "{metrics}"
    );
    let events = events_of(gw).await;
    assert_eq!(
        error_kind_of(&events, "endless-body"),
        Some("upstream_too_large")
    );
    assert_eq!(
        error_kind_of(&events, "declared-body"),
        Some("upstream_too_large")
    );
    assert_eq!(error_kind_of(&events, "fitting-body"), None);
}

fn stream_body(model: &str) -> Value {
    let mut body = chat_body(model);
    body["stream"] = json!(true);
    body
}

#[tokio::test]
async fn a_stream_event_over_the_limit_ends_the_stream_with_an_error_event() {
    let gw = start().await;
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        gw.post("/v1/chat/completions", &stream_body("endless-event")),
    )
    .await
    .expect("headers arrive");
    // The role chunk came first, so the answer had started.
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .expect("an endless event does not hang the stream")
        .unwrap();
    let data = sse_data(&text);
    assert!(
        text.len() < 65_536,
        "the oversized event is not relayed: {} bytes",
        text.len()
    );
    let first: Value = serde_json::from_str(&data[0]).unwrap();
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    let error = assert_openai_error(&last);
    assert_eq!(error["code"], "upstream_too_large", "{last}");
    assert!(!data.iter().any(|d| d == "[DONE]"), "{text}");

    // Too large already in the first event: a clean 502 before any stream.
    let response = gw
        .post("/v1/chat/completions", &stream_body("endless-first-event"))
        .await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(assert_openai_error(&body)["code"], "upstream_too_large");

    // An event just under the limit passes whole.
    let response = gw
        .post("/v1/chat/completions", &stream_body("fitting-event"))
        .await;
    let text = response.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert!(data.iter().any(|d| d.len() > 59_000), "big event relayed");

    let events = events_of(gw).await;
    assert_eq!(
        error_kind_of(&events, "endless-event"),
        Some("stream_event_too_large")
    );
    assert_eq!(
        error_kind_of(&events, "endless-first-event"),
        Some("upstream_too_large")
    );
    assert_eq!(error_kind_of(&events, "fitting-event"), None);
}

#[tokio::test]
async fn redirects_from_a_provider_are_not_followed() {
    let gw = start().await;
    for model in ["redirect-307", "redirect-302"] {
        let response = gw.post("/v1/chat/completions", &chat_body(model)).await;
        assert_eq!(response.status(), 502, "{model}");
        assert!(response.headers().get("location").is_none());
        let body: Value = response.json().await.unwrap();
        let error = assert_openai_error(&body);
        assert_eq!(error["code"], "upstream_redirect", "{body}");
    }
    assert_eq!(
        gw.mock.state.redirects_followed.load(Ordering::Relaxed),
        0,
        "the redirect target was never called"
    );
    let metrics = metrics_text(&gw).await;
    assert!(
        metrics.contains(
            r#"gateway_upstream_errors_total{provider="mock",kind="upstream_redirect"} 2"#
        ),
        "{metrics}"
    );
    let events = events_of(gw).await;
    assert_eq!(
        error_kind_of(&events, "redirect-307"),
        Some("upstream_redirect")
    );
}
