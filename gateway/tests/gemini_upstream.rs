//! Gemini as an upstream over real HTTP: OpenAI chat clients served by the
//! mock speaking Gemini's `generateContent` API (which refuses what the real
//! API refuses, so a sloppy translation fails here), billed from Gemini's
//! cached and thinking token counts at the shipped catalog's prices, and
//! failed over to an OpenAI-compatible provider when Gemini is overloaded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::sync::atomic::Ordering;

use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use serde_json::{json, Value};

const GEMINI_KEY: &str = "gemini-test-secret";

/// The model the tests ask for: Gemini's, priced by the shipped catalog.
const MODEL: &str = "gemini-2.5-flash";

/// A dearer second home for the same model, so Gemini is tried first and the
/// OpenAI-compatible provider is the failover.
const CATALOG: &str = r#"
source = "gemini upstream test"
retrieved = "2026-01-01"

[[models]]
provider = "compat"
id = "gemini-2.5-flash"
context_window = 1048576
max_output = 65536
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "5"
"#;

struct Setup {
    gateway: RunningGateway,
    gemini: RunningMock,
    compat: RunningMock,
    key: String,
    client: reqwest::Client,
}

async fn mock() -> RunningMock {
    mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn setup() -> Setup {
    let (gemini, compat) = (mock().await, mock().await);
    gemini.state.require_api_key(Some(GEMINI_KEY));
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-gemini-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let key_file = dir.join("gemini-key");
    std::fs::write(&key_file, GEMINI_KEY).unwrap();
    // The Gemini base URL names no version: the adapter adds `/v1beta`.
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 5000

[catalog]
file = "{}"

[[providers]]
name = "gemini"
flavor = "gemini"
base_url = "http://{}"
api_key_file = "{}"

[[providers]]
name = "compat"
base_url = "{}"

[[keys]]
id = "strict"
hash = "{}"
tenant = "acme"
analytics = "tenant"
"#,
        catalog.display(),
        gemini.addr,
        key_file.display(),
        compat.base_url(),
        KeyHash::of(&key),
    ) + &common::analytics_toml();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let gateway = server::start(&config).await.unwrap();
    Setup {
        gateway,
        gemini,
        compat,
        key,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    async fn chat(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("http://{}/v1/chat/completions", self.gateway.addr))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    fn requests(mock: &RunningMock) -> u64 {
        mock.state.requests.load(Ordering::Relaxed)
    }

    fn last_uri(mock: &RunningMock) -> String {
        mock.state
            .last_uri
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn hello(stream: bool) -> Value {
    json!({
        "model": MODEL,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"}
        ]
    })
}

/// The JSON payloads of an OpenAI stream and whether it ended with `[DONE]`.
fn chunks(text: &str) -> (Vec<Value>, bool) {
    let data = common::sse_data(text);
    let done = data.last().is_some_and(|d| d == "[DONE]");
    let chunks = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (chunks, done)
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn cost_comment(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(": x-gateway-cost-usd="))
        .unwrap_or_else(|| panic!("no cost comment: {text}"))
        .split([';', ' '])
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_openai_client_is_served_by_gemini_plain_and_streamed() {
    let s = setup().await;
    let response = s.chat(&hello(false)).await;
    if response.status() != 200 {
        panic!("{}", response.text().await.unwrap());
    }
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion", "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert!(!message["content"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        Setup::last_uri(&s.gemini),
        format!("/v1beta/models/{MODEL}:generateContent")
    );
    // The system prompt went as Gemini's system instruction, the key in its header.
    let sent = s.gemini.state.last_body_json().unwrap();
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["contents"][0]["role"], "user");
    assert_eq!(
        s.gemini.state.last_authorization.lock().unwrap().as_deref(),
        Some(GEMINI_KEY)
    );

    let response = s.chat(&hello(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "{text}"
    );
    assert!(!streamed_text(&chunks).is_empty(), "{text}");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop"),
        "{text}"
    );
    // The client asked for no usage chunk: none reaches it, but it is billed.
    assert!(chunks.iter().all(|c| c["usage"].is_null()), "{text}");
    cost_comment(&text);
    assert_eq!(
        Setup::last_uri(&s.gemini),
        format!("/v1beta/models/{MODEL}:streamGenerateContent?alt=sse")
    );
    assert_eq!(Setup::requests(&s.compat), 0);
    assert_eq!(Setup::requests(&s.gemini), 2);
}

#[tokio::test]
async fn an_overloaded_gemini_fails_over_to_the_openai_compatible_provider() {
    for (status, stream) in [(503, false), (503, true), (429, false), (500, true)] {
        let s = setup().await;
        s.gemini.state.set_behaviour(&format!("status={status}"));
        let response = s.chat(&hello(stream)).await;
        assert_eq!(response.status(), 200, "{status} stream={stream}");
        assert_eq!(header(&response, "x-gateway-provider"), "compat");
        assert_eq!(header(&response, "x-gateway-attempts"), "2");
        let text = response.text().await.unwrap();
        if stream {
            assert!(text.contains("data: [DONE]"), "{text}");
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["object"], "chat.completion");
        }
        assert_eq!(Setup::requests(&s.gemini), 1);
        assert_eq!(Setup::requests(&s.compat), 1);
    }
}
