//! Anthropic as an upstream over real HTTP: OpenAI chat clients served by the
//! mock speaking Anthropic's Messages API (which refuses what the real API
//! refuses, so a sloppy translation fails here), billed from Anthropic's cache
//! counts, and failed over to an OpenAI-compatible provider when Anthropic is
//! overloaded.

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
use pricing::{Cost, Price};
use serde_json::{json, Value};

const ANTHROPIC_KEY: &str = "sk-ant-test-secret";

/// `claude-x` at two providers: Anthropic's API (cheaper, so tried first) and
/// an OpenAI-compatible vendor.
const CATALOG: &str = r#"
source = "anthropic upstream test"
retrieved = "2026-01-01"

[[models]]
provider = "anthropic"
id = "claude-x"
context_window = 200000
max_output = 64000
capabilities = ["tools", "vision", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "3"
output = "15"
cached_input = "0.3"
cache_write = "3.75"

[[models]]
provider = "compat"
id = "claude-x"
context_window = 200000
max_output = 64000
capabilities = ["tools", "vision", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "4"
output = "20"
"#;

struct Setup {
    gateway: RunningGateway,
    anthropic: RunningMock,
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
    let (anthropic, compat) = (mock().await, mock().await);
    anthropic.state.require_api_key(Some(ANTHROPIC_KEY));
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-anthropic-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let key_file = dir.join("anthropic-key");
    std::fs::write(&key_file, ANTHROPIC_KEY).unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 5000

[catalog]
file = "{}"

[[providers]]
name = "anthropic"
flavor = "anthropic"
base_url = "{}"
api_key_file = "{}"

[[providers]]
name = "compat"
base_url = "{}"

[[keys]]
id = "strict"
hash = "{}"
tenant = "acme"
"#,
        catalog.display(),
        anthropic.base_url(),
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
        anthropic,
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
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn hello(stream: bool) -> Value {
    // No max_tokens: Anthropic requires one, so the gateway must supply it.
    json!({
        "model": "claude-x",
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
async fn an_openai_client_is_served_by_anthropic_plain_and_streamed() {
    let s = setup().await;
    let response = s.chat(&hello(false)).await;
    if response.status() != 200 {
        panic!("{}", response.text().await.unwrap());
    }
    assert_eq!(header(&response, "x-gateway-provider"), "anthropic");
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion", "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert!(!message["content"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let response = s.chat(&hello(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "anthropic");
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
    // The client asked for no usage chunk: none reaches it.
    assert!(chunks.iter().all(|c| c["usage"].is_null()), "{text}");
    cost_comment(&text);
    assert_eq!(Setup::requests(&s.compat), 0);
    assert_eq!(Setup::requests(&s.anthropic), 2);
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    }})
}

#[tokio::test]
async fn tool_calls_round_trip_through_anthropic() {
    let s = setup().await;
    let ask = json!({
        "model": "claude-x",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [weather_tool()],
        "tool_choice": "auto"
    });
    let response = s.chat(&ask).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls", "{body}");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(arguments.is_object(), "{arguments}");
    let id = call["id"].as_str().unwrap().to_owned();

    // The answer goes back with the call's id; the mock refuses a tool_result
    // that answers no tool_use of the turn before.
    let mut again = ask.clone();
    again["messages"] = json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": id, "content": "{\"temp_c\": 21}"}
    ]);
    again["tool_choice"] = json!("none");
    let response = s.chat(&again).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
    assert!(
        body["choices"][0]["message"]["content"].is_string(),
        "{body}"
    );

    // A result for a call that was never made is the client's error, in its shape.
    let mut wrong = again.clone();
    wrong["messages"][2]["tool_call_id"] = json!("call_unknown");
    let response = s.chat(&wrong).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    common::assert_openai_error(&body);

    // Streamed, the call arrives as OpenAI tool-call deltas.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let response = s.chat(&streamed).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert_eq!(calls[0]["function"]["name"], "get_weather", "{text}");
    assert!(calls[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert!(
        serde_json::from_str::<Value>(&arguments)
            .unwrap()
            .is_object(),
        "{arguments}"
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"),
        "{text}"
    );
}

/// The catalog's prices for `claude-x` at Anthropic applied by hand: uncached
/// input, cache reads, cache writes and output each at their own price.
fn by_hand(uncached: u64, read: u64, written: u64, output: u64) -> Cost {
    let price = |usd: &str| Price::from_usd_per_mtok(usd).unwrap();
    price("3").cost(uncached)
        + price("0.3").cost(read)
        + price("3.75").cost(written)
        + price("15").cost(output)
}

#[tokio::test]
async fn cache_reads_and_writes_are_billed_at_their_catalog_prices() {
    let s = setup().await;
    s.anthropic
        .state
        .set_behaviour("prompt_tokens=100+cache_read=1000+cache_write=200");

    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 200);
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let body: Value = response.json().await.unwrap();
    let usage = &body["usage"];
    assert_eq!(usage["prompt_tokens"], 1300, "{usage}");
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], 1000,
        "{usage}"
    );
    let output = usage["completion_tokens"].as_u64().unwrap();
    assert!(output > 0);
    let expected = by_hand(100, 1000, 200, output);
    assert_eq!(cost, expected.usd().as_str());
    // Not the price of the same tokens without the cache.
    assert_ne!(cost, by_hand(1300, 0, 0, output).usd().as_str());

    let mut streamed = hello(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let response = s.chat(&streamed).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    let usage = chunks
        .iter()
        .find(|c| !c["usage"].is_null())
        .map(|c| c["usage"].clone())
        .unwrap_or_else(|| panic!("no usage chunk: {text}"));
    assert_eq!(usage["prompt_tokens"], 1300, "{usage}");
    let output = usage["completion_tokens"].as_u64().unwrap();
    assert_eq!(
        cost_comment(&text),
        by_hand(100, 1000, 200, output).usd().as_str()
    );
}

#[tokio::test]
async fn an_overloaded_anthropic_fails_over_to_the_openai_compatible_provider() {
    for stream in [false, true] {
        let s = setup().await;
        s.anthropic.state.set_behaviour("status=529");
        let response = s.chat(&hello(stream)).await;
        assert_eq!(response.status(), 200, "stream={stream}");
        assert_eq!(header(&response, "x-gateway-provider"), "compat");
        assert_eq!(header(&response, "x-gateway-attempts"), "2");
        let text = response.text().await.unwrap();
        if stream {
            assert!(text.contains("data: [DONE]"), "{text}");
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["object"], "chat.completion");
        }
        assert_eq!(Setup::requests(&s.anthropic), 1);
        assert_eq!(Setup::requests(&s.compat), 1);
    }
}

#[tokio::test]
async fn anthropic_errors_reach_an_openai_client_in_its_shape() {
    let s = setup().await;
    // Every candidate overloaded: both tried, the last error in OpenAI's shape.
    s.anthropic.state.set_behaviour("status=529");
    s.compat.state.set_behaviour("status=503");
    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    common::assert_openai_error(&response.json::<Value>().await.unwrap());

    // A request Anthropic refuses is not tried elsewhere, and keeps its status.
    let s = setup().await;
    s.anthropic.state.set_behaviour("status=400");
    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    let error = common::assert_openai_error(&body);
    assert_eq!(error["type"], "invalid_request_error", "{body}");
    assert_eq!(Setup::requests(&s.compat), 0);

    // Outside Anthropic's temperature range: a clear 400 before anything is sent.
    let s = setup().await;
    let mut hot = hello(false);
    hot["temperature"] = json!(1.5);
    let response = s.chat(&hot).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let error = common::assert_openai_error(&body);
    assert!(
        error["message"].as_str().unwrap().contains("temperature"),
        "{body}"
    );
    assert_eq!(Setup::requests(&s.anthropic), 0);

    // A stream Anthropic breaks off (overloaded mid-answer) ends with an error
    // event, never as a silent success.
    let s = setup().await;
    s.anthropic.state.set_behaviour("stream_error=2");
    let response = s.chat(&hello(true)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("data: [DONE]"), "{text}");
    let last: Value = serde_json::from_str(common::sse_data(&text).last().unwrap()).unwrap();
    common::assert_openai_error(&last);
}
