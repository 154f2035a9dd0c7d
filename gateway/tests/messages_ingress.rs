//! Anthropic's Messages API as an ingress (`POST /v1/messages`,
//! `/v1/messages/count_tokens`) over real HTTP, served by the mock provider in
//! each format it speaks: Anthropic's own (the client's body passes through
//! with only the model swapped) and OpenAI chat (translated both ways). The
//! Anthropic mock refuses what the real API refuses, so a body the gateway
//! spoils fails here.

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
use flavors::{setup, Upstream, PROVIDER_KEY, UPSTREAMS};
use pricing::{Cost, Price};
use serde_json::{json, Value};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn hello(stream: bool) -> Value {
    json!({
        "model": "claude-x",
        "max_tokens": 300,
        "stream": stream,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hello there"}]
    })
}

/// Asserts Anthropic's error envelope; returns `error`.
fn anthropic_error(body: &Value) -> &Value {
    assert_eq!(body["type"], "error", "{body}");
    let error = &body["error"];
    assert!(error["type"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    error
}

/// An Anthropic SSE body as (event name, data) pairs.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|event| {
            let mut name = None;
            let mut data = None;
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_owned());
                }
                if let Some(d) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str::<Value>(d).unwrap());
                }
            }
            Some((name?, data?))
        })
        .collect()
}

/// The event names with pings and repeated deltas collapsed.
fn sequence(events: &[(String, Value)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, data) in events {
        assert_eq!(data["type"], name.as_str(), "event name and type agree");
        if name == "ping" || (name == "content_block_delta" && out.last() == Some(name)) {
            continue;
        }
        out.push(name.clone());
    }
    out
}

fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
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
async fn plain_messages_are_answered_in_anthropic_shape_by_every_upstream() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let response = s.messages(&hello(false)).await;
        let status = response.status();
        assert_eq!(header(&response, "x-gateway-provider"), upstream.flavor());
        assert_eq!(header(&response, "x-gateway-model"), "claude-x");
        assert_eq!(header(&response, "x-gateway-attempts"), "1");
        assert!(!header(&response, "x-gateway-cost-usd").is_empty());
        assert!(!header(&response, "x-gateway-route-reason").is_empty());
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{upstream:?}: {body}");
        assert_eq!(body["type"], "message", "{body}");
        assert_eq!(body["role"], "assistant");
        assert!(body["id"].as_str().unwrap().len() > 3, "{body}");
        assert_eq!(body["content"][0]["type"], "text", "{body}");
        assert!(!body["content"][0]["text"].as_str().unwrap().is_empty());
        assert_eq!(body["stop_reason"], "end_turn", "{body}");
        assert!(
            body["usage"]["input_tokens"].as_u64().unwrap() > 0,
            "{body}"
        );
        assert!(
            body["usage"]["output_tokens"].as_u64().unwrap() > 0,
            "{body}"
        );

        let sent = s.last_upstream_body();
        match upstream {
            // Passed through: the client's own body, the model swapped.
            Upstream::Anthropic => {
                let mut expected = hello(false);
                expected["model"] = json!("claude-x");
                assert_eq!(sent, expected);
            }
            Upstream::OpenAi => {
                assert_eq!(sent["messages"][0]["role"], "system", "{sent}");
                assert_eq!(sent["messages"][1]["content"], "hello there", "{sent}");
                assert_eq!(sent["max_tokens"], 300, "{sent}");
            }
            Upstream::Gemini => {
                let instruction = &sent["systemInstruction"]["parts"][0]["text"];
                assert_eq!(instruction, "Be brief.", "{sent}");
                assert_eq!(
                    sent["contents"][0]["parts"][0]["text"], "hello there",
                    "{sent}"
                );
                assert_eq!(sent["generationConfig"]["maxOutputTokens"], 300, "{sent}");
            }
        }
    }
}

#[tokio::test]
async fn streams_follow_anthropics_event_sequence() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let response = s.messages(&hello(true)).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        assert!(header(&response, "content-type").starts_with("text/event-stream"));
        assert_eq!(header(&response, "x-gateway-provider"), upstream.flavor());
        let text = response.text().await.unwrap();
        let events = events(&text);
        assert_eq!(
            sequence(&events),
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ],
            "{upstream:?}: {text}"
        );
        assert_eq!(events[0].1["message"]["role"], "assistant");
        assert!(!streamed_text(&events).is_empty(), "{text}");
        let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
        assert_eq!(delta["delta"]["stop_reason"], "end_turn", "{text}");
        assert!(
            delta["usage"]["output_tokens"].as_u64().unwrap() > 0,
            "{text}"
        );
        assert!(!cost_comment(&text).is_empty());
    }
}

fn weather_tool() -> Value {
    json!({
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "cache_control": {"type": "ephemeral"}
    })
}

#[tokio::test]
async fn tool_calls_round_trip() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let ask = json!({
            "model": "claude-x",
            "max_tokens": 200,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [weather_tool()],
            "tool_choice": {"type": "auto"}
        });
        let response = s.messages(&ask).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["stop_reason"], "tool_use", "{upstream:?}: {body}");
        let call = body["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "tool_use")
            .unwrap_or_else(|| panic!("no tool_use: {body}"))
            .clone();
        assert_eq!(call["name"], "get_weather");
        assert!(call["input"].is_object(), "{call}");
        let id = call["id"].as_str().unwrap().to_owned();
        if upstream == Upstream::OpenAi {
            let sent = s.last_upstream_body();
            assert_eq!(
                sent["tools"][0]["function"]["name"], "get_weather",
                "{sent}"
            );
            assert_eq!(sent["tool_choice"], "auto", "{sent}");
        }

        // The result goes back under the call's id.
        let mut again = ask.clone();
        again["messages"] = json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": "{\"temp_c\": 21}"}
            ]}
        ]);
        let response = s.messages(&again).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["stop_reason"], "end_turn", "{upstream:?}: {body}");
        assert_eq!(body["content"][0]["type"], "text", "{body}");
        if upstream == Upstream::OpenAi {
            let sent = s.last_upstream_body();
            assert_eq!(sent["messages"][2]["role"], "tool", "{sent}");
            assert_eq!(sent["messages"][2]["tool_call_id"], id.as_str(), "{sent}");
        }
        if upstream == Upstream::Gemini {
            let sent = s.last_upstream_body().to_string();
            assert!(sent.contains("\"functionResponse\""), "{sent}");
            assert!(sent.contains("\"functionCall\""), "{sent}");
            assert!(sent.contains("get_weather"), "{sent}");
        }

        // Streamed: a tool_use block whose input arrives as JSON deltas.
        let mut streamed = ask.clone();
        streamed["stream"] = json!(true);
        let response = s.messages(&streamed).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let events = events(&text);
        let start = events
            .iter()
            .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
            .unwrap_or_else(|| panic!("{upstream:?}: no tool_use block: {text}"));
        assert_eq!(start.1["content_block"]["name"], "get_weather");
        let input: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
            .collect();
        assert!(
            serde_json::from_str::<Value>(&input).unwrap().is_object(),
            "{input}"
        );
        let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
        assert_eq!(delta["delta"]["stop_reason"], "tool_use", "{text}");
    }
}

/// A 1x1 PNG.
const PIXEL: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[tokio::test]
async fn images_reach_every_upstream_and_need_a_vision_model() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let mut ask = hello(false);
        ask["messages"] = json!([{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
            {"type": "text", "text": "What is in this picture?"}
        ]}]);
        let response = s.messages(&ask).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        let sent = s.last_upstream_body();
        match upstream {
            Upstream::Anthropic => {
                assert_eq!(sent["messages"][0]["content"][0]["source"]["data"], PIXEL);
            }
            Upstream::OpenAi => {
                let url = sent["messages"][1]["content"][0]["image_url"]["url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{sent}"));
                assert_eq!(url, format!("data:image/png;base64,{PIXEL}"));
            }
            Upstream::Gemini => {
                let image = &sent["contents"][0]["parts"][0]["inlineData"];
                assert_eq!(image["data"], PIXEL, "{sent}");
                assert_eq!(image["mimeType"], "image/png", "{sent}");
            }
        }
        // A model without vision cannot take it: a 400 in Anthropic's shape.
        let before = s.upstream_requests();
        ask["model"] = json!("plain-x");
        let response = s.messages(&ask).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        let error = anthropic_error(&body);
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(s.upstream_requests(), before);
    }
}

#[tokio::test]
async fn json_schema_output_is_asked_for_in_the_upstreams_terms() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let mut ask = hello(false);
        ask["output_config"] = json!({"format": {"type": "json_schema", "schema": schema}});
        let response = s.messages(&ask).await;
        assert_eq!(response.status(), 200, "{upstream:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "message", "{body}");
        let sent = s.last_upstream_body();
        match upstream {
            Upstream::Anthropic => assert_eq!(sent["output_config"]["format"]["schema"], schema),
            Upstream::OpenAi => {
                assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}");
                assert_eq!(sent["response_format"]["json_schema"]["schema"], schema);
            }
            Upstream::Gemini => {
                let config = &sent["generationConfig"];
                assert_eq!(config["responseMimeType"], "application/json", "{sent}");
                let given = config
                    .get("responseJsonSchema")
                    .or_else(|| config.get("responseSchema"))
                    .unwrap_or_else(|| panic!("no schema: {sent}"));
                assert_eq!(
                    given["properties"]["city"]["type"]
                        .as_str()
                        .map(str::to_lowercase),
                    Some("string".into()),
                    "{sent}"
                );
            }
        }
        // Structured output needs a model that has it.
        ask["model"] = json!("plain-x");
        let response = s.messages(&ask).await;
        assert_eq!(response.status(), 400, "{upstream:?}");
        anthropic_error(&response.json::<Value>().await.unwrap());
    }
}

#[tokio::test]
async fn what_only_anthropic_reads_passes_through_to_anthropic_alone() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        let mut ask = hello(false);
        ask["tools"] = json!([
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
            weather_tool()
        ]);
        ask["messages"] = json!([{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is green."}},
            {"type": "text", "text": "What colour is the sky?"}
        ]}]);
        let response = s.messages(&ask).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        match upstream {
            // The client's own body, untouched but for the model.
            Upstream::Anthropic => {
                assert_eq!(status, 200, "{body}");
                assert_eq!(body["type"], "message", "{body}");
                let mut expected = ask.clone();
                expected["model"] = json!("claude-x");
                assert_eq!(s.last_upstream_body(), expected);
            }
            // Nothing can carry it there: refused, naming what, and not sent.
            Upstream::OpenAi | Upstream::Gemini => {
                assert_eq!(status, 400, "{upstream:?}: {body}");
                let error = anthropic_error(&body);
                assert_eq!(error["type"], "invalid_request_error");
                assert!(
                    error["message"].as_str().unwrap().contains("document"),
                    "{body}"
                );
                assert_eq!(s.upstream_requests(), 0);
            }
        }
    }
}

/// A recorded-shape request (`tests/fixtures/anthropic/`) asking for `claude-x`.
fn fixture_request(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    body["model"] = json!("claude-x");
    body
}

#[tokio::test]
async fn recorded_request_shapes_are_served_by_every_upstream() {
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        for name in [
            "request_text.json",
            "request_tool_round_trip.json",
            "request_images_thinking.json",
        ] {
            let ask = fixture_request(name);
            let response = s.messages(&ask).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{upstream:?} {name}: {text}");
            if ask["stream"] == true {
                let events = events(&text);
                assert_eq!(events.last().unwrap().0, "message_stop", "{text}");
            } else {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["type"], "message", "{upstream:?} {name}: {body}");
            }
            if upstream == Upstream::Anthropic {
                assert_eq!(s.last_upstream_body(), ask, "{name}");
            }
        }
    }
}

#[tokio::test]
async fn bad_requests_are_anthropic_400s_and_reach_no_upstream() {
    let s = setup(Upstream::Anthropic).await;
    let send_raw = |body: &'static str| {
        s.client
            .post(s.url("/v1/messages"))
            .header("x-api-key", &s.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("{not json", "invalid_request_error", ""),
        (
            r#"{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}"#,
            "invalid_request_error",
            "max_tokens",
        ),
        (
            r#"{"model":"claude-x","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}"#,
            "invalid_request_error",
            "temperature",
        ),
        (
            r#"{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]}"#,
            "invalid_request_error",
            "tool_use",
        ),
    ];
    for (body, kind, mentions) in cases {
        let response = send_raw(body).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.unwrap();
        let error = anthropic_error(&answer);
        assert_eq!(error["type"], kind, "{answer}");
        assert!(
            error["message"].as_str().unwrap().contains(mentions),
            "{body}: {answer}"
        );
    }
    // Unknown model: Anthropic's 404.
    let mut unknown = hello(false);
    unknown["model"] = json!("claude-nonexistent");
    let response = s.messages(&unknown).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(anthropic_error(&body)["type"], "not_found_error");
    assert_eq!(s.upstream_requests(), 0);
}

#[tokio::test]
async fn upstream_errors_keep_their_status_in_anthropic_shape() {
    for upstream in UPSTREAMS {
        // Anthropic's 529 reaches the client as 529 (OverloadedError in the
        // SDKs); an OpenAI-compatible provider's 503 as a 503 api_error.
        let overloaded = match upstream {
            Upstream::Anthropic => (529, "overloaded_error"),
            Upstream::OpenAi | Upstream::Gemini => (503, "api_error"),
        };
        for (status, kind) in [(429, "rate_limit_error"), overloaded] {
            let s = setup(upstream).await;
            s.mock.state.set_behaviour(&format!("status={status}"));
            for stream in [false, true] {
                let response = s.messages(&hello(stream)).await;
                assert_eq!(response.status(), status, "{upstream:?} stream={stream}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(anthropic_error(&body)["type"], kind, "{upstream:?}: {body}");
            }
        }
    }
    // Overloaded mid-stream: Anthropic's `error` event ends it, and passes
    // through as the provider sent it (the SDKs raise OverloadedError from
    // its type), while the usage event records a failed stream.
    let s = setup(Upstream::Anthropic).await;
    s.mock.state.set_behaviour("stream_error=2");
    let response = s.messages(&hello(true)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = events(&text);
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "error", "{text}");
    assert_eq!(anthropic_error(last)["type"], "overloaded_error", "{text}");
    assert_eq!(
        events
            .iter()
            .filter(|(name, _)| name == "content_block_delta")
            .count(),
        2,
        "{text}"
    );
    assert!(!text.contains("message_stop"), "{text}");
    let usage = settled_events(&s, 1).await;
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(
        usage[0].error_kind.as_deref(),
        Some("stream_provider_error"),
        "{usage:?}"
    );
}

#[tokio::test]
async fn gateway_keys_work_as_x_api_key_or_bearer_and_refusals_are_anthropic_401s() {
    let s = setup(Upstream::OpenAi).await;
    let bearer = s
        .client
        .post(s.url("/v1/messages"))
        .bearer_auth(&s.key)
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    // Without `/v1`, as some clients set their base URL.
    let bare = s
        .client
        .post(s.url("/messages"))
        .header("x-api-key", &s.key)
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 200);
    let wrong = s
        .client
        .post(s.url("/v1/messages"))
        .header("x-api-key", "sk-not-a-gateway-key")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(anthropic_error(&body)["type"], "authentication_error");
    let missing = s
        .client
        .post(s.url("/v1/messages/count_tokens"))
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    anthropic_error(&missing.json::<Value>().await.unwrap());
    assert_eq!(s.upstream_requests(), 2);
}

#[tokio::test]
async fn beta_headers_reach_an_anthropic_upstream_with_the_body() {
    let s = setup(Upstream::Anthropic).await;
    // A beta-only field: the strict mock refuses it without the beta header.
    let mut ask = hello(false);
    ask["context_management"] = json!({"edits": []});
    let response = s
        .client
        .post(s.url("/v1/messages"))
        .header("x-api-key", &s.key)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "context-management-2025-06-27")
        .json(&ask)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let headers = s.mock.state.last_headers.lock().unwrap().clone();
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "anthropic-beta" && v == "context-management-2025-06-27"),
        "{headers:?}"
    );
    assert!(headers
        .iter()
        .any(|(n, v)| n == "x-api-key" && v == PROVIDER_KEY));
}

#[tokio::test]
async fn count_tokens_is_answered_locally() {
    let s = setup(Upstream::Anthropic).await;
    let count = |body: Value| {
        s.client
            .post(s.url("/v1/messages/count_tokens"))
            .header("x-api-key", &s.key)
            .json(&body)
            .send()
    };
    let short = json!({"model": "claude-x", "messages": [{"role": "user", "content": "hello"}]});
    let response = count(short.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let small = response.json::<Value>().await.unwrap()["input_tokens"]
        .as_u64()
        .unwrap();
    assert!(small > 0 && small < 50, "{small}");
    let long = json!({"model": "claude-x", "messages": [
        {"role": "user", "content": "hello ".repeat(1000)}
    ]});
    let large = count(long).await.unwrap().json::<Value>().await.unwrap()["input_tokens"]
        .as_u64()
        .unwrap();
    assert!(large > small + 900 && large < 2000, "{large}");
    // No upstream was asked.
    assert_eq!(s.upstream_requests(), 0);
    // Errors in Anthropic's shape.
    let response = count(json!({"model": "claude-x"})).await.unwrap();
    assert_eq!(response.status(), 400);
    anthropic_error(&response.json::<Value>().await.unwrap());
    let mut unknown = short.clone();
    unknown["model"] = json!("claude-nonexistent");
    let response = count(unknown).await.unwrap();
    assert_eq!(response.status(), 404);
    anthropic_error(&response.json::<Value>().await.unwrap());
}

/// The catalog's prices for `claude-x` applied by hand: uncached input, cache
/// reads, cache writes and output each at their own price.
fn by_hand(uncached: u64, read: u64, written: u64, output: u64) -> Cost {
    let price = |usd: &str| Price::from_usd_per_mtok(usd).unwrap();
    price("3").cost(uncached)
        + price("0.3").cost(read)
        + price("3.75").cost(written)
        + price("15").cost(output)
}

#[tokio::test]
async fn cache_reads_and_writes_are_billed_at_catalog_prices() {
    // Passed through: Anthropic's own counts, billed as they are.
    let s = setup(Upstream::Anthropic).await;
    s.mock
        .state
        .set_behaviour("prompt_tokens=100+cache_read=1000+cache_write=200");
    let response = s.messages(&hello(false)).await;
    assert_eq!(response.status(), 200);
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let body: Value = response.json().await.unwrap();
    let usage = &body["usage"];
    assert_eq!(usage["input_tokens"], 100, "{usage}");
    assert_eq!(usage["cache_read_input_tokens"], 1000, "{usage}");
    assert_eq!(usage["cache_creation_input_tokens"], 200, "{usage}");
    let output = usage["output_tokens"].as_u64().unwrap();
    assert_eq!(cost, by_hand(100, 1000, 200, output).usd().as_str());
    assert_ne!(cost, by_hand(1300, 0, 0, output).usd().as_str());

    let response = s.messages(&hello(true)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = events(&text);
    let start = &events[0].1["message"]["usage"];
    assert_eq!(start["cache_read_input_tokens"], 1000, "{text}");
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    let output = delta["usage"]["output_tokens"].as_u64().unwrap();
    assert_eq!(
        cost_comment(&text),
        by_hand(100, 1000, 200, output).usd().as_str()
    );

    // Translated: an OpenAI client's request written in Anthropic's format
    // and the cache counts read back from Anthropic's answer.
    let response = s
        .client
        .post(s.url("/v1/chat/completions"))
        .bearer_auth(&s.key)
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let body: Value = response.json().await.unwrap();
    let output = body["usage"]["completion_tokens"].as_u64().unwrap();
    assert_eq!(body["usage"]["prompt_tokens"], 1300, "{body}");
    assert_eq!(cost, by_hand(100, 1000, 200, output).usd().as_str());

    // Translated the other way: an Anthropic client at an OpenAI-compatible
    // provider is billed from its usage at the same prices.
    let s = setup(Upstream::OpenAi).await;
    let response = s.messages(&hello(false)).await;
    assert_eq!(response.status(), 200);
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let body: Value = response.json().await.unwrap();
    let usage = &body["usage"];
    let input = usage["input_tokens"].as_u64().unwrap();
    let read = usage["cache_read_input_tokens"].as_u64().unwrap_or(0);
    let output = usage["output_tokens"].as_u64().unwrap();
    assert_eq!(
        cost,
        by_hand(input, read, 0, output).usd().as_str(),
        "{usage}"
    );
}

/// The tenant's events once `expected` have arrived, after a wait long
/// enough for one more to show if there were one.
async fn settled_events(s: &flavors::Setup, expected: usize) -> Vec<analytics::UsageEvent> {
    let Store::Sqlite(sqlite) = s.gateway.store.as_ref() else {
        panic!("expected the embedded store")
    };
    let read = || async {
        let from = chrono::Utc::now() - chrono::Duration::hours(1);
        let to = chrono::Utc::now() + chrono::Duration::hours(1);
        sqlite.events("acme", from, to, 100).await.unwrap()
    };
    for _ in 0..100 {
        if read().await.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    read().await
}

#[tokio::test]
async fn each_message_leaves_one_event_and_count_tokens_none() {
    let s = setup(Upstream::Anthropic).await;
    s.mock
        .state
        .set_behaviour("prompt_tokens=100+cache_read=1000+cache_write=200");
    let response = s.messages(&hello(false)).await;
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    response.bytes().await.unwrap();
    let streamed = s.messages(&hello(true)).await.text().await.unwrap();
    let streamed_cost = cost_comment(&streamed);
    let counted = s
        .client
        .post(s.url("/v1/messages/count_tokens"))
        .header("x-api-key", &s.key)
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(counted.status(), 200);
    counted.bytes().await.unwrap();
    let mut events = settled_events(&s, 2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    events.sort_by_key(|e| e.stream);
    for event in &events {
        assert_eq!(event.endpoint, "messages", "{event:?}");
        assert_eq!(event.status, 200, "{event:?}");
        assert_eq!(event.requested_model, "claude-x", "{event:?}");
        assert_eq!(event.routed_provider.as_deref(), Some("anthropic"));
        assert_eq!(event.ingress_format.as_deref(), Some("anthropic"));
        assert_eq!(event.upstream_format.as_deref(), Some("anthropic"));
        assert_eq!(event.cached_tokens, 1000, "{event:?}");
        assert_eq!(event.cache_write_tokens, 200, "{event:?}");
        assert!(!event.usage_estimated, "{event:?}");
    }
    assert_eq!(events[0].cost_usd.unwrap().usd().as_str(), cost);
    assert!(events[1].stream);
    assert_eq!(events[1].cost_usd.unwrap().usd().as_str(), streamed_cost);

    // The daily rollup adds the two up to the same money.
    let today = chrono::Utc::now().date_naive();
    s.gateway.store.rollup(today, today).await.unwrap();
    let summary: Value = s
        .client
        .get(s.url(&format!(
            "/api/v1/analytics/summary?from={today}&to={today}"
        )))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["requests"], 2, "{summary}");
    let total = events[0].cost_usd.unwrap() + events[1].cost_usd.unwrap();
    assert_eq!(summary["spend_usd"], json!(total.usd()), "{summary}");
}

#[tokio::test]
async fn events_record_the_anthropic_ingress_and_each_upstream_format() {
    for (upstream, format) in [
        (Upstream::OpenAi, "openai_chat"),
        (Upstream::Gemini, "gemini"),
    ] {
        let s = setup(upstream).await;
        s.messages(&hello(true)).await.bytes().await.unwrap();
        let response = s.messages(&json!({"model": "claude-x"})).await;
        assert_eq!(response.status(), 400);
        let events = settled_events(&s, 2).await;
        assert_eq!(events.len(), 2, "{events:?}");
        let served = events.iter().find(|e| e.status == 200).unwrap();
        assert_eq!(served.ingress_format.as_deref(), Some("anthropic"));
        assert_eq!(served.upstream_format.as_deref(), Some(format));
        assert!(
            served.cost_usd.is_some() && !served.usage_estimated,
            "{served:?}"
        );
        let refused = events.iter().find(|e| e.status == 400).unwrap();
        assert_eq!(refused.ingress_format.as_deref(), Some("anthropic"));
        assert_eq!(refused.upstream_format, None);
    }
}
