//! The Anthropic mock: every rejection the real API makes that a translation could
//! trip on, answers in the shapes of `tests/fixtures/anthropic/`, and the
//! directives.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::{respond, Endpoint};
use crate::mock_provider::shape::{fixture, fixture_json, same_shape, sse_events};
use crate::mock_provider::MockState;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn error_message(&self) -> String {
        let value = self.json();
        assert_eq!(value["type"], "error", "{}", self.body);
        value["error"]["message"].as_str().unwrap().to_owned()
    }
}

const V2023: &[(&str, &str)] = &[
    ("x-api-key", "sk-ant-test"),
    ("anthropic-version", "2023-06-01"),
];
const V2026: &[(&str, &str)] = &[
    ("authorization", "Bearer sk-ant-test"),
    ("anthropic-version", "2026-10-21"),
];

async fn call_on(
    state: Arc<MockState>,
    body: &Value,
    headers: &[(&str, &str)],
    endpoint: Endpoint,
) -> Answer {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let raw = body.to_string();
    let response = respond(state, &map, raw.as_bytes(), endpoint).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    let body = String::from_utf8(bytes.map(|b| b.to_vec()).unwrap_or_default()).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn call(body: &Value) -> Answer {
    call_on(
        Arc::new(MockState::default()),
        body,
        V2023,
        Endpoint::Create,
    )
    .await
}

fn hello(model: &str) -> Value {
    json!({"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

fn tool() -> Value {
    json!({"name": "get_weather", "description": "Weather.", "input_schema": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}})
}

fn tool_use(id: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": "get_weather", "input": {"location": "Paris"}})
}

fn tool_result(id: &str) -> Value {
    json!({"type": "tool_result", "tool_use_id": id, "content": "15 C"})
}

/// Request bodies the real API refuses with a 400, and a piece of each message.
fn rejected() -> Vec<(&'static str, Value, &'static str)> {
    let base = hello("claude");
    let msgs = |messages: Value| with(hello("claude"), "messages", messages);
    let mut cases = vec![
        ("no max_tokens", without(base.clone(), "max_tokens"), "max_tokens: Field required"),
        ("no model", without(base.clone(), "model"), "model: Field required"),
        ("no messages", without(base.clone(), "messages"), "messages: Field required"),
        ("negative max_tokens", with(base.clone(), "max_tokens", json!(-1)), "max_tokens"),
        ("string max_tokens", with(base.clone(), "max_tokens", json!("10")), "valid integer"),
        (
            "system role",
            msgs(json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])),
            "messages.0.role",
        ),
        (
            "tool role",
            msgs(json!([{"role": "tool", "content": "x"}])),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        ("temperature above 1", with(base.clone(), "temperature", json!(1.5)), "temperature: Input should be less than or equal to 1"),
        ("temperature below 0", with(base.clone(), "temperature", json!(-0.1)), "temperature: Input should be greater than or equal to 0"),
        ("top_p above 1", with(base.clone(), "top_p", json!(1.2)), "top_p"),
        ("negative top_k", with(base.clone(), "top_k", json!(-3)), "top_k"),
        (
            "string tool_choice",
            with(with(base.clone(), "tools", json!([tool()])), "tool_choice", json!("auto")),
            "tool_choice: Input should be a valid dictionary",
        ),
        (
            "openai tool_choice",
            with(
                with(base.clone(), "tools", json!([tool()])),
                "tool_choice",
                json!({"type": "function", "function": {"name": "get_weather"}}),
            ),
            "tool_choice.type",
        ),
        (
            "tool choice without a name",
            with(with(base.clone(), "tools", json!([tool()])), "tool_choice", json!({"type": "tool"})),
            "tool_choice.name: Field required",
        ),
        (
            "openai tool shape",
            with(
                base.clone(),
                "tools",
                json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
            ),
            "tools.0.type",
        ),
        (
            "tool without input_schema",
            with(base.clone(), "tools", json!([{"name": "f", "description": "d"}])),
            "tools.0.input_schema: Field required",
        ),
        (
            "tool schema not an object",
            with(base.clone(), "tools", json!([{"name": "f", "input_schema": {"type": "string"}}])),
            "tools.0.input_schema.type",
        ),
        (
            "bad tool name",
            with(base.clone(), "tools", json!([{"name": "get weather", "input_schema": {"type": "object"}}])),
            "tools.0.name: String should match pattern",
        ),
        (
            "duplicate tool names",
            with(base.clone(), "tools", json!([tool(), tool()])),
            "Tool names must be unique",
        ),
        (
            "tool_result without tool_use",
            msgs(json!([{"role": "user", "content": [tool_result("toolu_1")]}])),
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
        ),
        (
            "tool_result for another tool_use",
            msgs(json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [tool_use("toolu_1")]},
                {"role": "user", "content": [tool_result("toolu_1"), tool_result("toolu_2")]}
            ])),
            "messages.2.content.1: unexpected `tool_use_id`",
        ),
        (
            "tool_result two turns late",
            msgs(json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [tool_use("toolu_1")]},
                {"role": "user", "content": [tool_result("toolu_1")]},
                {"role": "assistant", "content": "It rains."},
                {"role": "user", "content": [tool_result("toolu_1")]}
            ])),
            "messages.4.content.0: unexpected `tool_use_id`",
        ),
        (
            "tool_use left unanswered",
            msgs(json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [tool_use("toolu_1")]},
                {"role": "user", "content": "Never mind."}
            ])),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            "text before tool_result",
            msgs(json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [tool_use("toolu_1")]},
                {"role": "user", "content": [{"type": "text", "text": "Here:"}, tool_result("toolu_1")]}
            ])),
            "`tool_result` blocks must come before any other content",
        ),
        (
            "tool_use in a user turn",
            msgs(json!([{"role": "user", "content": [tool_use("toolu_1")]}])),
            "`tool_use` blocks can only be in `assistant` messages",
        ),
        ("empty string content", msgs(json!([{"role": "user", "content": ""}])), "all messages must have non-empty content"),
        ("empty block list", msgs(json!([{"role": "user", "content": []}])), "all messages must have non-empty content"),
        (
            "empty assistant turn in the middle",
            msgs(json!([
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "b"}
            ])),
            "messages.1: all messages must have non-empty content",
        ),
        ("no messages at all", msgs(json!([])), "at least one message"),
        (
            "empty text block",
            msgs(json!([{"role": "user", "content": [{"type": "text", "text": ""}]}])),
            "text content blocks must be non-empty",
        ),
        (
            "blank text block",
            msgs(json!([{"role": "user", "content": [{"type": "text", "text": "  \n"}]}])),
            "non-whitespace",
        ),
        (
            "openai image part",
            msgs(json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}])),
            "messages.0.content.0.type: Input tag 'image_url'",
        ),
        (
            "bad image media type",
            msgs(json!([{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "AA=="}}]}])),
            "media_type",
        ),
        (
            "extra key in a message",
            msgs(json!([{"role": "user", "content": "Hi", "name": "bob"}])),
            "messages.0.name: Extra inputs are not permitted",
        ),
        (
            "extra key in a block",
            msgs(json!([{"role": "user", "content": [{"type": "text", "text": "Hi", "annotations": []}]}])),
            "messages.0.content.0.annotations: Extra inputs are not permitted",
        ),
        (
            "thinking budget under 1024",
            with(with(base.clone(), "max_tokens", json!(4000)), "thinking", json!({"type": "enabled", "budget_tokens": 512})),
            "budget_tokens",
        ),
        (
            "thinking budget over max_tokens",
            with(base.clone(), "thinking", json!({"type": "enabled", "budget_tokens": 2048})),
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (
            "temperature with thinking",
            with(
                with(with(base.clone(), "max_tokens", json!(4000)), "thinking", json!({"type": "enabled", "budget_tokens": 1024})),
                "temperature",
                json!(0.5),
            ),
            "temperature",
        ),
        (
            "five cache breakpoints",
            with(
                base.clone(),
                "system",
                json!((0..5).map(|i| json!({"type": "text", "text": format!("part {i}"), "cache_control": {"type": "ephemeral"}})).collect::<Vec<_>>()),
            ),
            "A maximum of 4 blocks with cache_control may be provided. Found 5.",
        ),
        (
            "bad cache ttl",
            with(base.clone(), "system", json!([{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}])),
            "ttl",
        ),
        (
            "metadata with an unknown key",
            with(base.clone(), "metadata", json!({"user_id": "u", "session": "s"})),
            "metadata.session: Extra inputs are not permitted",
        ),
        ("string stream flag", with(base.clone(), "stream", json!("true")), "stream: Input should be a valid boolean"),
        ("stop as a string", with(base.clone(), "stop_sequences", json!("END")), "stop_sequences"),
        ("beta field without the beta header", with(base.clone(), "context_management", json!({})), "context_management: Extra inputs are not permitted"),
    ];
    // OpenAI chat fields that have no place in a Messages request.
    for field in [
        "n",
        "user",
        "stream_options",
        "response_format",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "seed",
        "stop",
        "max_completion_tokens",
        "parallel_tool_calls",
        "reasoning_effort",
        "functions",
    ] {
        let body = with(base.clone(), field, json!(1));
        cases.push((
            "openai field",
            body,
            Box::leak(format!("{field}: Extra inputs are not permitted").into_boxed_str()),
        ));
    }
    cases
}

#[tokio::test]
async fn rejects_what_the_real_api_rejects() {
    for (name, body, message) in rejected() {
        let answer = call(&body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.body
        );
        assert_eq!(
            answer.json()["error"]["type"],
            "invalid_request_error",
            "{name}"
        );
        let said = answer.error_message();
        assert!(said.contains(message), "{name}: {said:?} lacks {message:?}");
        same_shape(
            &answer.json(),
            &fixture_json("anthropic/error_invalid_request.json"),
            name,
        )
        .unwrap();
    }
}

#[tokio::test]
async fn accepts_what_the_real_api_accepts() {
    let msgs = |messages: Value| with(hello("claude"), "messages", messages);
    let accepted = [
        ("fixture: text", fixture_json("anthropic/request_text.json")),
        (
            "fixture: tool round trip",
            fixture_json("anthropic/request_tool_round_trip.json"),
        ),
        (
            "fixture: images and thinking",
            fixture_json("anthropic/request_images_thinking.json"),
        ),
        (
            "sampling parameters",
            with(
                with(
                    with(hello("c"), "temperature", json!(0.7)),
                    "top_p",
                    json!(0.9),
                ),
                "top_k",
                json!(40),
            ),
        ),
        (
            "temperature at the bounds",
            with(hello("c"), "temperature", json!(1)),
        ),
        (
            "consecutive user turns",
            msgs(json!([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])),
        ),
        (
            "assistant first",
            msgs(
                json!([{"role": "assistant", "content": "Hi, how can I help?"}, {"role": "user", "content": "b"}]),
            ),
        ),
        (
            "prefill",
            msgs(
                json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "The answer is"}]),
            ),
        ),
        (
            "empty final assistant",
            msgs(json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}])),
        ),
        (
            "parallel tool results over two user messages",
            msgs(json!([
                {"role": "user", "content": "Weather in two places?"},
                {"role": "assistant", "content": [tool_use("toolu_1"), tool_use("toolu_2")]},
                {"role": "user", "content": [tool_result("toolu_1")]},
                {"role": "user", "content": [tool_result("toolu_2"), {"type": "text", "text": "Compare them."}]}
            ])),
        ),
        (
            "every tool choice",
            with(
                with(hello("c"), "tools", json!([tool()])),
                "tool_choice",
                json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}),
            ),
        ),
        (
            "tool choice none",
            with(
                with(hello("c"), "tools", json!([tool()])),
                "tool_choice",
                json!({"type": "none"}),
            ),
        ),
        (
            "server tool",
            with(
                hello("c"),
                "tools",
                json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]),
            ),
        ),
        ("max_tokens zero", with(hello("c"), "max_tokens", json!(0))),
        (
            "adaptive thinking",
            with(hello("c"), "thinking", json!({"type": "adaptive"})),
        ),
        (
            "structured output",
            with(
                hello("c"),
                "output_config",
                json!({"format": {"type": "json_schema", "schema": {"type": "object"}}}),
            ),
        ),
        (
            "top-level cache control",
            with(hello("c"), "cache_control", json!({"type": "ephemeral"})),
        ),
    ];
    for (name, body) in accepted {
        let answer = call(&body).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
    }
}

#[tokio::test]
async fn version_2026_10_21_refuses_sampling_parameters_and_assistant_documents() {
    let state = Arc::new(MockState::default());
    for field in ["temperature", "top_p", "top_k"] {
        let answer = call_on(
            state.clone(),
            &with(hello("c"), field, json!(1)),
            V2026,
            Endpoint::Create,
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.error_message(),
            format!("{field}: Extra inputs are not permitted")
        );
    }
    let document = json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}});
    let body = with(
        hello("c"),
        "messages",
        json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": [document]}]),
    );
    let answer = call_on(state.clone(), &body, V2026, Endpoint::Create).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        call_on(state.clone(), &body, V2023, Endpoint::Create)
            .await
            .status,
        StatusCode::OK
    );
    // A bearer key is the new SDKs' way; the plain request passes.
    assert_eq!(
        call_on(state, &hello("c"), V2026, Endpoint::Create)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn headers_are_checked_before_the_body() {
    let state = Arc::new(MockState::default());
    let body = hello("c");
    let no_key = call_on(
        state.clone(),
        &body,
        &[("anthropic-version", "2023-06-01")],
        Endpoint::Create,
    )
    .await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_key.json()["error"]["type"], "authentication_error");
    same_shape(
        &no_key.json(),
        &fixture_json("anthropic/error_authentication.json"),
        "$",
    )
    .unwrap();
    let no_version = call_on(
        state.clone(),
        &body,
        &[("x-api-key", "k")],
        Endpoint::Create,
    )
    .await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);
    assert!(no_version.error_message().contains("anthropic-version"));
    let bad_version = call_on(
        state.clone(),
        &body,
        &[("x-api-key", "k"), ("anthropic-version", "2024-01-01")],
        Endpoint::Create,
    )
    .await;
    assert_eq!(bad_version.status, StatusCode::BAD_REQUEST);
    state.require_api_key(Some("sk-ant-right"));
    let wrong = call_on(state.clone(), &body, V2023, Endpoint::Create).await;
    assert_eq!(
        (wrong.status, wrong.error_message().as_str()),
        (StatusCode::UNAUTHORIZED, "invalid x-api-key")
    );
    let right = call_on(
        state.clone(),
        &body,
        &[
            ("x-api-key", "sk-ant-right"),
            ("anthropic-version", "2023-06-01"),
        ],
        Endpoint::Create,
    )
    .await;
    assert_eq!(right.status, StatusCode::OK);
    assert!(right.headers["request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
}

#[tokio::test]
async fn a_text_answer_has_the_real_shape() {
    let answer = call(&fixture_json("anthropic/request_text.json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let message = answer.json();
    same_shape(&message, &fixture_json("anthropic/response_text.json"), "$").unwrap();
    assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        message["content"][0]["text"],
        "Hello from the mock provider, friend."
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["output_tokens"], 8);
    assert_eq!(message["model"], "claude-sonnet-4-6");
}

#[tokio::test]
async fn max_tokens_and_stop_sequences_end_the_answer() {
    let short = call(&with(hello("c"), "max_tokens", json!(2))).await.json();
    assert_eq!(
        (
            short["content"][0]["text"].as_str(),
            short["stop_reason"].as_str()
        ),
        (Some("Hello from"), Some("max_tokens"))
    );
    let stopped = call(&with(hello("c"), "stop_sequences", json!(["provider"])))
        .await
        .json();
    same_shape(
        &stopped,
        &fixture_json("anthropic/response_stop_sequence.json"),
        "$",
    )
    .unwrap();
    assert_eq!(stopped["content"][0]["text"], "Hello from the mock ");
    assert_eq!(
        (
            stopped["stop_reason"].as_str(),
            stopped["stop_sequence"].as_str()
        ),
        (Some("stop_sequence"), Some("provider"))
    );
    let nothing = call(&with(hello("c"), "max_tokens", json!(0))).await.json();
    assert_eq!(nothing["content"], json!([]));
    assert_eq!(nothing["stop_reason"], "max_tokens");
}

#[tokio::test]
async fn tools_are_called_with_json_input() {
    let body = with(hello("c+text_first=1"), "tools", json!([tool()]));
    let message = call(&body).await.json();
    same_shape(
        &message,
        &fixture_json("anthropic/response_tool_use.json"),
        "$",
    )
    .unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    let call_block = &message["content"][1];
    assert_eq!(call_block["name"], "get_weather");
    assert_eq!(
        call_block["input"],
        json!({"location": "Paris, France", "unit": "celsius"})
    );
    assert!(call_block["id"].as_str().unwrap().starts_with("toolu_"));
    // Three calls on request; none once the results come back.
    let three = call(&with(hello("c+tool_calls=3"), "tools", json!([tool()])))
        .await
        .json();
    assert_eq!(three["content"].as_array().unwrap().len(), 3);
    let ids: std::collections::HashSet<&str> = three["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let single = with(
        with(hello("c+tool_calls=3"), "tools", json!([tool()])),
        "tool_choice",
        json!({"type": "auto", "disable_parallel_tool_use": true}),
    );
    assert_eq!(
        call(&single).await.json()["content"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let answered = call(&fixture_json("anthropic/request_tool_round_trip.json"))
        .await
        .json();
    assert_eq!(answered["stop_reason"], "end_turn");
    assert_eq!(answered["content"][0]["type"], "text");
}

#[tokio::test]
async fn streams_follow_the_real_event_sequence() {
    let cases = [
        (
            with(hello("c+prompt_tokens=9"), "stream", json!(true)),
            "anthropic/stream_text.sse",
        ),
        (
            with(
                with(
                    hello("c+text_first=1+prompt_tokens=9"),
                    "stream",
                    json!(true),
                ),
                "tools",
                json!([tool()]),
            ),
            "anthropic/stream_tool_use.sse",
        ),
        (
            with(
                with(
                    hello("c+thinking=398+prompt_tokens=9"),
                    "stream",
                    json!(true),
                ),
                "max_tokens",
                json!(2000),
            ),
            "anthropic/stream_thinking.sse",
        ),
    ];
    for (body, transcript) in cases {
        let answer = call(&body).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let actual = sse_events(&answer.body);
        let expected = sse_events(&fixture(transcript));
        assert_eq!(grammar(&actual), grammar(&expected), "{transcript}");
        for (i, (event, data)) in actual.iter().enumerate() {
            assert_eq!(
                data["type"].as_str(),
                Some(event.as_str()),
                "{transcript}: event line"
            );
            let twin = expected
                .iter()
                .find(|(e, d)| {
                    e == event
                        && d["delta"]["type"] == data["delta"]["type"]
                        && d["content_block"]["type"] == data["content_block"]["type"]
                })
                .map(|(_, d)| d)
                .unwrap();
            same_shape(data, twin, &format!("{transcript}[{i}]")).unwrap();
        }
        // The streamed message adds up to the plain one.
        let plain = call(&without(body.clone(), "stream")).await.json();
        assert_eq!(accumulate(&actual), strip_ids(&plain), "{transcript}");
    }
}

/// The event names of a stream, runs of deltas of one kind counted once.
fn grammar(events: &[(String, Value)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (event, data) in events {
        let name = match event.as_str() {
            "content_block_delta" => format!("delta:{}", data["delta"]["type"].as_str().unwrap()),
            "content_block_start" => {
                format!("start:{}", data["content_block"]["type"].as_str().unwrap())
            }
            other => other.to_owned(),
        };
        if out.last() != Some(&name) {
            out.push(name);
        }
    }
    out
}

/// The message a client builds from a stream (as the SDKs' `stream()` does).
fn accumulate(events: &[(String, Value)]) -> Value {
    let mut message = Value::Null;
    let mut partial_json: Vec<String> = Vec::new();
    for (event, data) in events {
        match event.as_str() {
            "message_start" => message = data["message"].clone(),
            "content_block_start" => {
                message["content"]
                    .as_array_mut()
                    .unwrap()
                    .push(data["content_block"].clone());
                partial_json.push(String::new());
            }
            "content_block_delta" => {
                let i = data["index"].as_u64().unwrap() as usize;
                let block = &mut message["content"][i];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        block["text"] = json!(format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            delta["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => {
                        block["thinking"] = json!(format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            delta["thinking"].as_str().unwrap()
                        ))
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        partial_json[i].push_str(delta["partial_json"].as_str().unwrap())
                    }
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let i = data["index"].as_u64().unwrap() as usize;
                if message["content"][i]["type"] == "tool_use" {
                    message["content"][i]["input"] =
                        serde_json::from_str(&partial_json[i]).unwrap();
                }
            }
            "message_delta" => {
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                for (key, value) in data["usage"].as_object().unwrap() {
                    message["usage"][key] = value.clone();
                }
            }
            _ => {}
        }
    }
    strip_ids(&message)
}

fn strip_ids(message: &Value) -> Value {
    let mut message = message.clone();
    message["id"] = Value::Null;
    for block in message["content"].as_array_mut().unwrap() {
        if block.get("id").is_some() {
            block["id"] = Value::Null;
        }
    }
    message
}

#[tokio::test]
async fn stream_faults_cut_or_end_with_an_error_event() {
    // stream_error: an overloaded error event replaces the rest.
    let answer = call(&with(hello("c+stream_error=1"), "stream", json!(true))).await;
    let events = sse_events(&answer.body);
    let deltas = events
        .iter()
        .filter(|(e, _)| e == "content_block_delta")
        .count();
    assert_eq!(deltas, 1);
    let (last_event, last) = events.last().unwrap();
    assert_eq!(last_event, "error");
    assert_eq!(last["error"]["type"], "overloaded_error");
    assert_eq!(
        grammar(&events),
        grammar(&sse_events(&fixture("anthropic/stream_overloaded.sse")))
    );
    same_shape(
        last,
        &sse_events(&fixture("anthropic/stream_overloaded.sse"))
            .last()
            .unwrap()
            .1,
        "$",
    )
    .unwrap();

    // cut_after: the body fails after that many deltas; past the last delta,
    // before message_stop.
    for (k, deltas) in [(2, 2), (50, 8)] {
        let state = Arc::new(MockState::default());
        let response = respond(
            state.clone(),
            &headers(V2023),
            with(hello(&format!("c+cut_after={k}")), "stream", json!(true))
                .to_string()
                .as_bytes(),
            Endpoint::Create,
        )
        .await;
        let mut body = response.into_body().into_data_stream();
        let mut text = String::new();
        let mut failed = false;
        while let Some(piece) = futures_util::StreamExt::next(&mut body).await {
            match piece {
                Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "cut_after={k}");
        assert_eq!(
            text.matches("event: content_block_delta").count(),
            deltas,
            "cut_after={k}"
        );
        assert!(!text.contains("message_stop"));
    }
}

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in list {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[tokio::test]
async fn injected_statuses_use_the_envelope() {
    for (status, kind, fixture_file) in [
        (529, "overloaded_error", "anthropic/error_overloaded.json"),
        (429, "rate_limit_error", "anthropic/error_rate_limit.json"),
        (500, "api_error", "anthropic/error_overloaded.json"),
    ] {
        let answer = call(&hello(&format!("c+status={status}"))).await;
        assert_eq!(answer.status.as_u16(), status);
        assert_eq!(answer.json()["error"]["type"], kind);
        let mut shape = fixture_json(fixture_file);
        shape["error"]["type"] = json!(kind);
        same_shape(&answer.json(), &shape, "$").unwrap();
    }
    // An invalid request is refused even on a failing mock: the translation is
    // checked on every path.
    let answer = call(&without(hello("c+status=529"), "max_tokens")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cache_control_writes_then_reads_the_prefix() {
    let state = Arc::new(MockState::default());
    let body = fixture_json("anthropic/request_tool_round_trip.json");
    let first = call_on(state.clone(), &body, V2023, Endpoint::Create)
        .await
        .json();
    let written = first["usage"]["cache_creation_input_tokens"]
        .as_u64()
        .unwrap();
    assert!(written > 0);
    assert_eq!(first["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(
        first["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
        written
    );
    let second = call_on(state.clone(), &body, V2023, Endpoint::Create)
        .await
        .json();
    assert_eq!(second["usage"]["cache_read_input_tokens"], written);
    assert_eq!(second["usage"]["cache_creation_input_tokens"], 0);
    // Without cache_control nothing is cached.
    let plain = call_on(state, &hello("c"), V2023, Endpoint::Create)
        .await
        .json();
    assert_eq!(
        (
            plain["usage"]["cache_read_input_tokens"].as_u64(),
            plain["usage"]["cache_creation_input_tokens"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn usage_directives_give_exact_counts() {
    let body = with(
        hello("c+prompt_tokens=50+cache_read=1000+cache_write=200+thinking=64+words=5"),
        "max_tokens",
        json!(4000),
    );
    for stream in [false, true] {
        let answer = call(&with(body.clone(), "stream", json!(stream))).await;
        let usage = if stream {
            let events = sse_events(&answer.body);
            accumulate(&events)["usage"].clone()
        } else {
            answer.json()["usage"].clone()
        };
        assert_eq!(usage["input_tokens"], 50, "stream={stream}");
        assert_eq!(usage["cache_read_input_tokens"], 1000);
        assert_eq!(usage["cache_creation_input_tokens"], 200);
        assert_eq!(usage["output_tokens"], 5 + 64);
        assert_eq!(usage["output_tokens_details"]["thinking_tokens"], 64);
    }
    let thinking = call(&body).await.json();
    same_shape(
        &thinking,
        &fixture_json("anthropic/response_thinking.json"),
        "$",
    )
    .unwrap();
}

#[tokio::test]
async fn count_tokens_counts_and_validates() {
    let state = Arc::new(MockState::default());
    let body = fixture_json("anthropic/request_count_tokens.json");
    let answer = call_on(state.clone(), &body, V2023, Endpoint::CountTokens).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    same_shape(
        &answer.json(),
        &fixture_json("anthropic/response_count_tokens.json"),
        "$",
    )
    .unwrap();
    assert!(answer.json()["input_tokens"].as_u64().unwrap() > 0);
    let exact = with(
        body.clone(),
        "model",
        json!("c+prompt_tokens=40+cache_read=2"),
    );
    assert_eq!(
        call_on(state.clone(), &exact, V2023, Endpoint::CountTokens)
            .await
            .json()["input_tokens"],
        42
    );
    // count_tokens has no max_tokens, stream or sampling fields.
    for field in ["max_tokens", "stream", "temperature"] {
        let answer = call_on(
            state.clone(),
            &with(body.clone(), field, json!(1)),
            V2023,
            Endpoint::CountTokens,
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{field}");
    }
}

#[tokio::test]
async fn system_messages_and_beta_fields_on_request() {
    let state = Arc::new(MockState::default());
    let body = with(
        hello("c+system_messages=1"),
        "messages",
        json!([{"role": "user", "content": "a"}, {"role": "system", "content": "Be brief."}, {"role": "user", "content": "b"}]),
    );
    assert_eq!(
        call_on(state.clone(), &body, V2026, Endpoint::Create)
            .await
            .status,
        StatusCode::OK
    );
    let beta = with(hello("c"), "context_management", json!({"edits": []}));
    let mut list = V2023.to_vec();
    list.push(("anthropic-beta", "context-management-2025-06-27"));
    assert_eq!(
        call_on(state, &beta, &list, Endpoint::Create).await.status,
        StatusCode::OK
    );
}
