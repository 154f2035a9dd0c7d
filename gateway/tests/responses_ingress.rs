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
#[path = "common/flavors.rs"]
mod flavors;

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

// --- POST /v1/responses ------------------------------------------------------

/// `resp-chat` at the chat-only mock provider (translated); `resp-native`
/// (and `resp-native-cached`, reporting cached and reasoning tokens) at
/// `openai-r`, the same mock spoken to as a Responses API provider (passed
/// through); `cheap-chat` and `dear-native` are one of each under `auto:fast`,
/// the chat one cheaper; under `auto:strong`, `fo-native` (a Responses
/// provider answering 503) is cheaper than `fo-chat`.
fn responses_toml(mock: std::net::SocketAddr) -> String {
    format!(
        r#"
[[providers]]
name = "openai-r"
base_url = "http://{mock}/v1"
responses_api = true

[[models]]
name = "resp-chat"
provider = "mock"
upstream_model = "mock"
price = {{ input = "1", output = "3" }}

[[models]]
name = "resp-native"
provider = "openai-r"
upstream_model = "mock+prompt_tokens=1000"
price = {{ input = "2", output = "8", cached_input = "0.5" }}

[[models]]
name = "resp-native-cached"
provider = "openai-r"
upstream_model = "mock+prompt_tokens=1000+cache_read=100+thinking=20"
price = {{ input = "2", output = "8", cached_input = "0.5" }}

[[models]]
name = "resp-native-cut"
provider = "openai-r"
upstream_model = "mock+cut_after=3"
price = {{ input = "2", output = "8" }}

[[models]]
name = "fo-native"
provider = "openai-r"
upstream_model = "mock+status=503"
price_as = "openai/gpt-4o"
price = {{ input = "0.5", output = "0.5" }}

[[models]]
name = "fo-chat"
provider = "mock"
upstream_model = "mock"
price_as = "openai/gpt-4o"
price = {{ input = "5", output = "5" }}

[[models]]
name = "cheap-chat"
provider = "mock"
upstream_model = "mock"
price_as = "openai/gpt-4o-mini"
price = {{ input = "0.1", output = "0.1" }}

[[models]]
name = "dear-native"
provider = "openai-r"
upstream_model = "mock"
price_as = "openai/gpt-4o-mini"
price = {{ input = "5", output = "5" }}
"#
    )
}

/// The common test gateway with [`responses_toml`] added.
async fn start_responses() -> TestGateway {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = gateway::keys::mint().unwrap();
    let limited_key = gateway::keys::mint().unwrap();
    let text = common::config_text(mock.addr, &key, &limited_key, &responses_toml(mock.addr));
    let config = gateway::config::Config::from_toml(&text, std::iter::empty(), |name| {
        (name == "TEST_MOCK_PROVIDER_KEY").then(|| "sk-provider-secret".to_owned())
    })
    .unwrap();
    let gateway = gateway::server::start(&config).await.unwrap();
    TestGateway {
        gateway,
        mock,
        key,
        limited_key,
        client: reqwest::Client::new(),
    }
}

fn usage_of(response: &Value) -> (u64, u64, u64, u64) {
    let usage = &response["usage"];
    (
        usage["input_tokens"].as_u64().unwrap(),
        usage["input_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0),
        usage["output_tokens"].as_u64().unwrap(),
        usage["output_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap_or(0),
    )
}

/// The typed events of a Responses stream, checked for their own consistency:
/// `event:` names the `type`, sequence numbers count from 0 by one.
fn typed_events(text: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for frame in text.split("\n\n").filter(|f| f.contains("data:")) {
        let name = frame
            .lines()
            .find_map(|l| l.strip_prefix("event: "))
            .unwrap_or_else(|| panic!("no event name: {frame}"));
        let data = frame
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        let event: Value = serde_json::from_str(data).unwrap();
        assert_eq!(event["type"], name, "{frame}");
        assert_eq!(event["sequence_number"], events.len(), "{text}");
        events.push(event);
    }
    events
}

fn kinds(events: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for event in events {
        let kind = event["type"].as_str().unwrap();
        if kind.ends_with(".delta") && out.last() == Some(&kind) {
            continue;
        }
        out.push(kind);
    }
    out
}

fn cost_comment(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix(": x-gateway-cost-usd="))
        .unwrap_or_else(|| panic!("no bill comment: {text}"))
        .split(';')
        .next()
        .unwrap()
}

#[tokio::test]
async fn a_responses_request_is_translated_for_a_chat_provider_and_billed_exactly() {
    let gw = start_responses().await;
    let body = json!({"model": "resp-chat", "input": "Say hello", "instructions": "Be brief.", "temperature": 0.5});
    let response = gw.post("/v1/responses", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "mock");
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "response", "{answer}");
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["instructions"], "Be brief.", "settings are echoed");
    assert_eq!(answer["temperature"], 0.5);
    assert_eq!(answer["output"][0]["type"], "message");
    assert_eq!(answer["output"][0]["content"][0]["type"], "output_text");
    assert_eq!(answer["output"][0]["content"][0]["text"], HELLO);
    let (input, _, output, _) = usage_of(&answer);
    assert_eq!(output, 8);
    assert_eq!(cost, by_hand(input, "1", output, "3"));

    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(sent["model"], "mock");
    assert_eq!(sent["messages"][0]["role"], "system", "{sent}");
    assert_eq!(sent["messages"][0]["content"], "Be brief.");
    assert_eq!(sent["messages"][1]["content"], "Say hello");
    let uri = gw.mock.state.last_uri.lock().unwrap().clone().unwrap();
    assert!(uri.ends_with("/chat/completions"), "{uri}");

    // Input as items, and without `/v1`.
    let items = json!({"model": "resp-chat", "input": [
        {"role": "developer", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}
    ]});
    let response = gw.post("/responses", &items).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["output"][0]["content"][0]["text"], HELLO);

    let events = wait_for_events(&gw, 2).await;
    let event = &events[0];
    assert_eq!(event.endpoint, "responses");
    assert_eq!(event.requested_model, "resp-chat");
    assert_eq!(event.ingress_format.as_deref(), Some("responses"));
    assert_eq!(event.upstream_format.as_deref(), Some("openai_chat"));
    assert_eq!(event.cost_usd.map(|c| c.usd()), Some(cost));
    assert_eq!(event.completion_tokens, 8);
}

#[tokio::test]
async fn a_translated_stream_is_the_typed_event_sequence() {
    let gw = start_responses().await;
    let body = json!({"model": "resp-chat", "input": "Say hello", "stream": true});
    let response = gw.post("/v1/responses", &body).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let events = typed_events(&text);
    assert_eq!(
        kinds(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ],
        "{text}"
    );
    let streamed: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, HELLO);
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(done["response"]["output"][0]["content"][0]["text"], HELLO);
    let (input, _, output, _) = usage_of(&done["response"]);
    assert_eq!(output, 8);
    assert_eq!(cost_comment(&text), by_hand(input, "1", output, "3"));
    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
}

const WEATHER: &str = r#"{"type": "function", "name": "get_weather", "description": "Weather at a place.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}"#;

#[tokio::test]
async fn function_calls_round_trip_through_a_chat_provider() {
    let gw = start_responses().await;
    let tool: Value = serde_json::from_str(WEATHER).unwrap();
    let ask = json!({"model": "resp-chat", "input": "Weather in Paris?", "tools": [tool]});
    let answer: Value = gw.post("/v1/responses", &ask).await.json().await.unwrap();
    let call = &answer["output"][0];
    assert_eq!(call["type"], "function_call", "{answer}");
    assert_eq!(call["name"], "get_weather");
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["location"], "Paris, France");
    let call_id = call["call_id"].as_str().unwrap().to_owned();
    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(sent["tools"][0]["type"], "function", "{sent}");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");

    let follow_up = json!({"model": "resp-chat", "tools": [tool], "input": [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": call["arguments"]},
        {"type": "function_call_output", "call_id": call_id, "output": "15 C, sunny"}
    ]});
    let answer: Value = gw
        .post("/v1/responses", &follow_up)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["output"][0]["content"][0]["text"], HELLO, "{answer}");
    let sent = gw.mock.state.last_body_json().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    let assistant = messages.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(assistant["tool_calls"][0]["id"], call_id.as_str(), "{sent}");
    let result = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(result["tool_call_id"], call_id.as_str());
    assert_eq!(result["content"], "15 C, sunny");

    // Streamed, the call comes as argument deltas and a `.done` with them whole.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let text = gw
        .post("/v1/responses", &streamed)
        .await
        .text()
        .await
        .unwrap();
    let events = typed_events(&text);
    let kinds = kinds(&events);
    assert!(
        kinds.contains(&"response.function_call_arguments.delta")
            && kinds.contains(&"response.function_call_arguments.done"),
        "{kinds:?}"
    );
    let done = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .unwrap();
    let arguments: Value = serde_json::from_str(done["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["location"], "Paris, France");
    assert_eq!(kinds.last(), Some(&"response.completed"));
}

#[tokio::test]
async fn a_responses_provider_gets_the_body_untouched_but_for_the_model() {
    let gw = start_responses().await;
    let raw = r#"{"model":"resp-native","input":[ {"role": "user",  "content":"hi"} ],"instructions":"Be  brief.","metadata":{"a" : "b"},"max_output_tokens":64}"#;
    let response = gw
        .client
        .post(gw.url("/v1/responses"))
        .bearer_auth(&gw.key)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "openai-r");
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let answer: Value = response.json().await.unwrap();
    let sent = gw.mock.state.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(
        std::str::from_utf8(&sent).unwrap(),
        raw.replace(
            r#""model":"resp-native""#,
            r#""model":"mock+prompt_tokens=1000""#
        ),
        "byte for byte but the model"
    );
    let uri = gw.mock.state.last_uri.lock().unwrap().clone().unwrap();
    assert!(uri.ends_with("/responses"), "{uri}");
    assert!(
        answer["id"].as_str().unwrap().starts_with("resp_mock"),
        "the provider's own answer: {answer}"
    );
    let (input, cached, output, _) = usage_of(&answer);
    assert_eq!((input, cached), (1000, 0));
    assert_eq!(cost, by_hand(input, "2", output, "8"));
}

#[tokio::test]
async fn a_passed_through_answer_bills_cached_and_reasoning_tokens() {
    let gw = start_responses().await;
    let body =
        json!({"model": "resp-native-cached", "input": "hi", "reasoning": {"effort": "low"}});
    let response = gw.post("/v1/responses", &body).await;
    assert_eq!(response.status(), 200);
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let answer: Value = response.json().await.unwrap();
    let (input, cached, output, reasoning) = usage_of(&answer);
    assert_eq!((input, cached, reasoning), (1100, 100, 20), "{answer}");
    let by_hand: Cost =
        price("2").cost(input - cached) + price("0.5").cost(cached) + price("8").cost(output);
    assert_eq!(cost, by_hand.usd());

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let text = gw
        .post("/v1/responses", &streamed)
        .await
        .text()
        .await
        .unwrap();
    let events = typed_events(&text);
    assert_eq!(events.first().unwrap()["type"], "response.created");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed", "{text}");
    assert!(
        last["response"]["id"]
            .as_str()
            .unwrap()
            .starts_with("resp_mock"),
        "passed through: {last}"
    );
    let (input, cached, output, _) = usage_of(&last["response"]);
    let by_hand: Cost =
        price("2").cost(input - cached) + price("0.5").cost(cached) + price("8").cost(output);
    assert_eq!(cost_comment(&text), by_hand.usd());
    let events = wait_for_events(&gw, 2).await;
    assert!(events
        .iter()
        .all(|e| e.cached_tokens == 100 && e.reasoning_tokens == 20));
    assert!(events
        .iter()
        .all(|e| e.ingress_format.as_deref() == Some("responses")
            && e.upstream_format.as_deref() == Some("responses")));

    // Cut by the provider mid-stream: what came passes, then an `error` event
    // numbered on from the provider's own, never a silent end.
    let cut = json!({"model": "resp-native-cut", "input": "hi", "stream": true});
    let text = gw.post("/v1/responses", &cut).await.text().await.unwrap();
    let events = typed_events(&text);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "response.output_text.delta"),
        "{text}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{text}");
    assert_eq!(last["code"], "stream_interrupted", "{text}");
}

#[tokio::test]
async fn a_providers_failed_stream_reaches_the_client_as_sent() {
    // The Responses provider ends the stream with `response.failed` after two
    // deltas: the client gets that event as the provider wrote it (its
    // sequence number and error code, not the gateway's own error), and the
    // usage event records the stream as failed.
    let gw = start_responses().await;
    gw.mock.state.set_behaviour("stream_error=2");
    let body = json!({"model": "resp-native", "input": "hi", "stream": true});
    let response = gw.post("/v1/responses", &body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = typed_events(&text);
    let deltas = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .count();
    assert_eq!(deltas, 2, "{text}");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed", "{text}");
    assert_eq!(last["response"]["error"]["code"], "server_error", "{text}");
    assert!(
        last["response"]["id"]
            .as_str()
            .unwrap()
            .starts_with("resp_mock"),
        "passed through: {last}"
    );
    let numbers: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (0..events.len() as u64).collect::<Vec<_>>(),
        "{text}"
    );
    assert!(!text.contains("stream_interrupted"), "{text}");
    let usage = wait_for_events(&gw, 1).await;
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(
        usage[0].error_kind.as_deref(),
        Some("stream_provider_error"),
        "{usage:?}"
    );
}

#[tokio::test]
async fn stateful_requests_go_only_where_state_is_kept() {
    let gw = start_responses().await;
    // Translated: refused before any upstream call.
    for (body, param) in [
        (
            json!({"model": "resp-chat", "input": "more", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "resp-chat", "input": "hi", "background": true}),
            "background",
        ),
    ] {
        let response = gw.post("/v1/responses", &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.unwrap();
        let error = assert_openai_error(&answer);
        assert_eq!(error["code"], "unsupported_stateful_request", "{answer}");
        assert_eq!(error["param"], param);
    }
    assert_eq!(
        gw.mock
            .state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    // Passed through, the provider keeps them: a follow-up by id works.
    let first: Value = gw
        .post(
            "/v1/responses",
            &json!({"model": "resp-native", "input": "hi"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().unwrap();
    let follow_up = json!({"model": "resp-native", "input": "more", "previous_response_id": id});
    let response = gw.post("/v1/responses", &follow_up).await;
    assert_eq!(response.status(), 200);

    // A model with both kinds of deployment: the cheaper chat one serves a
    // stateless request, only the Responses one a stateful request.
    let stateless = gw
        .post(
            "/v1/responses",
            &json!({"model": "auto:fast", "input": "hi"}),
        )
        .await;
    assert_eq!(header(&stateless, "x-gateway-provider"), "mock");
    let stateful = gw
        .post(
            "/v1/responses",
            &json!({"model": "auto:fast", "input": "hi", "background": true}),
        )
        .await;
    assert_eq!(stateful.status(), 200);
    assert_eq!(header(&stateful, "x-gateway-provider"), "openai-r");

    // `store: true` alone needs no state later: a translated route serves it
    // (the cheaper chat deployment of auto:fast too) and stores nothing.
    for model in ["resp-chat", "auto:fast"] {
        let stored = gw
            .post(
                "/v1/responses",
                &json!({"model": model, "input": "hi", "store": true}),
            )
            .await;
        assert_eq!(stored.status(), 200, "{model}");
        assert_eq!(header(&stored, "x-gateway-provider"), "mock", "{model}");
        let answer: Value = stored.json().await.unwrap();
        assert_eq!(answer["status"], "completed", "{answer}");
        assert_eq!(answer["store"], false, "{answer}");
    }

    // Nothing is stored here to read back.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = gw
            .client
            .request(method.clone(), gw.url("/v1/responses/resp_123"))
            .bearer_auth(&gw.key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(assert_openai_error(&answer)["code"], "response_not_found");
        assert!(answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resp_123"));
    }
    let items = gw
        .client
        .get(gw.url("/v1/responses/resp_123/input_items"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(items.status(), 404);
    let anonymous = gw
        .client
        .get(gw.url("/v1/responses/resp_123"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn errors_keep_openais_shape_whole_and_streamed() {
    let gw = start_responses().await;
    for (body, status, param) in [
        (json!({"model": "resp-chat"}), 400, Some("input")),
        (
            json!({"model": "resp-chat", "input": "hi", "messages": []}),
            400,
            Some("messages"),
        ),
        (
            json!({"model": "resp-chat", "input": "hi", "temperature": 7}),
            400,
            Some("temperature"),
        ),
        (json!({"model": "nope", "input": "hi"}), 404, Some("model")),
        (json!({"model": "fail-429", "input": "hi"}), 429, None),
        (json!({"model": "fail-500", "input": "hi"}), 500, None),
    ] {
        let response = gw.post("/v1/responses", &body).await;
        assert_eq!(response.status(), status, "{body}");
        let answer: Value = response.json().await.unwrap();
        let error = assert_openai_error(&answer);
        if let Some(param) = param {
            assert_eq!(error["param"], param, "{answer}");
        }
    }
    let not_json = gw
        .client
        .post(gw.url("/v1/responses"))
        .bearer_auth(&gw.key)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_openai_error(&not_json.json().await.unwrap());

    // A stream cut upstream ends in `response.failed`, after what came.
    let cut = json!({"model": "cut-stream", "input": "hi", "stream": true});
    let text = gw.post("/v1/responses", &cut).await.text().await.unwrap();
    let events = typed_events(&text);
    assert_eq!(events[0]["type"], "response.created", "{text}");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed", "{text}");
    assert_eq!(last["response"]["status"], "failed");
    assert!(last["response"]["error"]["message"].is_string(), "{last}");
}

// --- other provider formats --------------------------------------------------

async fn responses_to(s: &flavors::Setup, body: &Value) -> reqwest::Response {
    s.client
        .post(s.url("/v1/responses"))
        .bearer_auth(&s.key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anthropic_and_gemini_providers_serve_responses_clients() {
    let tool: Value = serde_json::from_str(WEATHER).unwrap();
    for upstream in flavors::UPSTREAMS {
        let s = flavors::setup(upstream).await;
        let ask = json!({"model": "claude-x", "input": "hello there", "instructions": "Be brief.", "max_output_tokens": 300});
        let response = responses_to(&s, &ask).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        assert_eq!(header(&response, "x-gateway-provider"), upstream.flavor());
        let cost = header(&response, "x-gateway-cost-usd").to_owned();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "completed", "{upstream:?}: {answer}");
        let text = answer["output"][0]["content"][0]["text"].as_str().unwrap();
        assert!(!text.is_empty(), "{answer}");
        let (input, cached, output, reasoning) = usage_of(&answer);
        assert!(input > 0 && output > 0, "{answer}");
        let by_hand: Cost = price("3").cost(input - cached)
            + price("0.3").cost(cached)
            + price("15").cost(output - reasoning)
            + price("15").cost(reasoning);
        assert_eq!(cost, by_hand.usd(), "{upstream:?}: {answer}");
        let sent = s.last_upstream_body();
        match upstream {
            flavors::Upstream::Anthropic => {
                assert_eq!(sent["system"], "Be brief.", "{sent}");
                assert_eq!(sent["max_tokens"], 300);
            }
            flavors::Upstream::OpenAi => {
                assert_eq!(sent["messages"][0]["role"], "system", "{sent}")
            }
            flavors::Upstream::Gemini => assert!(sent["systemInstruction"].is_object(), "{sent}"),
        }

        // Streamed: the typed sequence, whatever the provider streamed.
        let mut streamed = ask.clone();
        streamed["stream"] = json!(true);
        let text = responses_to(&s, &streamed).await.text().await.unwrap();
        let events = typed_events(&text);
        let kinds = kinds(&events);
        assert_eq!(
            kinds.first(),
            Some(&"response.created"),
            "{upstream:?}: {text}"
        );
        assert_eq!(
            kinds.last(),
            Some(&"response.completed"),
            "{upstream:?}: {text}"
        );
        assert!(kinds.contains(&"response.output_text.delta"), "{kinds:?}");

        // A function call and its output, back to the provider in its terms.
        let ask = json!({"model": "claude-x", "input": "Weather in Paris?", "tools": [tool], "max_output_tokens": 300});
        let answer: Value = responses_to(&s, &ask).await.json().await.unwrap();
        let call = answer["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["type"] == "function_call")
            .unwrap_or_else(|| panic!("{upstream:?}: no call in {answer}"))
            .clone();
        assert_eq!(call["name"], "get_weather");
        let follow_up = json!({"model": "claude-x", "tools": [tool], "max_output_tokens": 300, "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": call["call_id"], "name": "get_weather", "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": "15 C"}
        ]});
        let response = responses_to(&s, &follow_up).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["output"][0]["type"], "message",
            "{upstream:?}: {answer}"
        );

        // The provider's refusals and faults in OpenAI's shape.
        let limited =
            responses_to(&s, &json!({"model": "claude-rate-limited", "input": "hi"})).await;
        assert_eq!(limited.status(), 429, "{upstream:?}");
        assert_openai_error(&limited.json().await.unwrap());
        let overloaded =
            responses_to(&s, &json!({"model": "claude-overloaded", "input": "hi"})).await;
        assert_eq!(overloaded.status(), 503, "{upstream:?}");
        assert_openai_error(&overloaded.json().await.unwrap());
    }
}

#[tokio::test]
async fn hosted_tools_reach_only_a_responses_provider() {
    let gw = start_responses().await;
    let ask = |model: &str| json!({"model": model, "input": "What's new?", "tools": [{"type": "web_search"}]});
    let refused = gw.post("/v1/responses", &ask("resp-chat")).await;
    assert_eq!(refused.status(), 400);
    let answer: Value = refused.json().await.unwrap();
    let error = assert_openai_error(&answer);
    assert_eq!(error["code"], "unsupported_parameter", "{answer}");
    assert_eq!(error["param"], "tools[0].type");
    assert_eq!(
        gw.mock
            .state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    let served = gw.post("/v1/responses", &ask("resp-native")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "x-gateway-provider"), "openai-r");
    let sent = gw.mock.state.last_body_json().unwrap();
    assert_eq!(sent["tools"], json!([{"type": "web_search"}]), "untouched");

    // Under a name served both ways, only the Responses deployment qualifies.
    let served = gw.post("/v1/responses", &ask("auto:fast")).await;
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "x-gateway-provider"), "openai-r");
}

#[tokio::test]
async fn a_failing_responses_provider_fails_over_to_a_translated_one() {
    let gw = start_responses().await;
    let body = json!({"model": "auto:strong", "input": "Say hello"});
    let response = gw.post("/v1/responses", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    assert_eq!(header(&response, "x-gateway-provider"), "mock");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "response", "{answer}");
    assert_eq!(answer["output"][0]["content"][0]["text"], HELLO);

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let response = gw.post("/v1/responses", &streamed).await;
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    let text = response.text().await.unwrap();
    let events = typed_events(&text);
    assert_eq!(events[0]["type"], "response.created", "{text}");
    assert_eq!(
        events.last().unwrap()["type"],
        "response.completed",
        "{text}"
    );

    let events = wait_for_events(&gw, 2).await;
    assert!(events.iter().all(|e| e.attempts == 2
        && e.ingress_format.as_deref() == Some("responses")
        && e.upstream_format.as_deref() == Some("openai_chat")));
}
