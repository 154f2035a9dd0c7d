//! Anthropic -> gateway model -> Anthropic: a client's request sent on to
//! Anthropic, and Anthropic's answer handed back to the client, keep every
//! field the model carries.

use serde_json::{json, Value};

use super::{fixture, fixture_json, judged};
use crate::formats::anthropic::egress::{parse_response, to_request, EgressPlan};
use crate::formats::anthropic::ingress::{parse_request, response_body, response_message};
use crate::llm::{ChatResponse, FinishReason, Part, TokenUsage};

fn round_trip(body: &Value) -> Value {
    let request = parse_request(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let (wire, plan) = to_request(&request, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan, EgressPlan::default());
    judged(&wire)
}

#[test]
fn request_fixtures_come_back_unchanged() {
    for file in [
        "request_text.json",
        "request_tool_round_trip.json",
        "request_images_thinking.json",
    ] {
        let original = fixture_json(file);
        assert_eq!(round_trip(&original), original, "{file}");
    }
}

#[test]
fn a_request_with_every_carried_field_comes_back_unchanged() {
    let original = json!({
        "model": "claude-opus-4-8",
        "max_tokens": 9000,
        "system": [
            {"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "More rules."}
        ],
        "stop_sequences": ["END", "\n\nHuman:"],
        "stream": true,
        "temperature": 0.25,
        "top_p": 0.75,
        "top_k": 12,
        "metadata": {"user_id": "opaque-user"},
        "tools": [
            {"name": "search", "description": "Search the docs.",
             "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
             "cache_control": {"type": "ephemeral"}, "strict": true},
            {"name": "noop", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.gif"}, "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Find it."}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Searching."},
                {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "it", "n": [1, 2.5, null, true]}},
                {"type": "tool_use", "id": "toolu_2", "name": "noop", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "found"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/r.png"}}
                ], "is_error": true, "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                {"type": "tool_result", "tool_use_id": "toolu_2"},
                {"type": "text", "text": "Thanks."}
            ]},
            {"role": "assistant", "content": "Partial answer"}
        ]
    });
    assert_eq!(round_trip(&original), original);
    // Every tool_choice form, and thinking.
    for choice in [
        json!({"type": "auto"}),
        json!({"type": "none"}),
        json!({"type": "tool", "name": "noop", "disable_parallel_tool_use": false}),
    ] {
        let mut body = original.clone();
        body["tool_choice"] = choice;
        body.as_object_mut().unwrap().remove("temperature");
        body.as_object_mut().unwrap().remove("top_k");
        assert_eq!(round_trip(&body), body);
    }
    let mut body = original;
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    body["temperature"] = json!(1.0);
    body.as_object_mut().unwrap().remove("top_k");
    body["tool_choice"] = json!({"type": "auto"});
    assert_eq!(round_trip(&body), body);
}

/// A fixture answer without what the gateway's model does not keep (the
/// 5-minute / 1-hour split of cache writes and the service tier).
fn comparable(mut answer: Value) -> Value {
    let usage = answer["usage"].as_object_mut().unwrap();
    usage.remove("cache_creation");
    usage.remove("service_tier");
    answer
}

#[test]
fn response_fixtures_come_back_unchanged() {
    for file in [
        "response_text.json",
        "response_stop_sequence.json",
        "response_tool_use.json",
        "response_thinking.json",
    ] {
        let response = parse_response(&fixture(file), &EgressPlan::default()).unwrap();
        let back: Value = serde_json::from_slice(&response_body(&response)).unwrap();
        assert_eq!(back, comparable(fixture_json(file)), "{file}");
    }
}

#[test]
fn a_gateway_answer_as_an_anthropic_message() {
    let response = ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4.1".into(),
        content: vec![
            Part::Thinking {
                text: "hm".into(),
                signature: None,
            },
            Part::text("Calling."),
            Part::ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            },
            Part::ToolCall {
                id: "call_2".into(),
                name: "g".into(),
                arguments: "not json".into(),
            },
        ],
        finish: FinishReason::ToolCalls,
        usage: Some(TokenUsage {
            prompt_tokens: 50,
            completion_tokens: 9,
            cached_prompt_tokens: 20,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
        }),
        created: Some(1),
    };
    let message = serde_json::to_value(response_message(&response)).unwrap();
    assert_eq!(
        message,
        json!({
            "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4.1",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": ""},
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20, "output_tokens": 9}
        })
    );
    let bare = ChatResponse {
        usage: None,
        content: vec![],
        finish: FinishReason::Stop,
        ..response
    };
    let message = serde_json::to_value(response_message(&bare)).unwrap();
    assert_eq!(
        message["usage"],
        json!({"input_tokens": 0, "output_tokens": 0})
    );
    assert_eq!(message["stop_reason"], "end_turn");
}

/// A request as another format's ingress leaves it (system apart, one
/// result per turn, parallel calls), in the forms Anthropic keeps exactly:
/// sent to Anthropic and read back by the Anthropic ingress, it is the same.
#[test]
fn a_gateway_request_survives_anthropic_and_back() {
    use crate::formats::anthropic::ingress::parse_request;
    use crate::llm::{
        CacheControl, ChatRequest, ImageSource, Message, Reasoning, Role, Tool, ToolChoice,
    };
    let call = |id: &str| Part::ToolCall {
        id: id.into(),
        name: "lookup".into(),
        arguments: r#"{"key":"v"}"#.into(),
    };
    let result = |id: &str, text: &str| Message {
        role: Role::User,
        content: vec![Part::ToolResult {
            call_id: id.into(),
            content: vec![Part::text(text)],
            is_error: false,
            cache: None,
        }],
    };
    let original = ChatRequest {
        model: "claude-sonnet-4-6".into(),
        system: vec![Part::Text {
            text: "Be exact.".into(),
            cache: Some(CacheControl::default()),
        }],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::text("Look these up."),
                    Part::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                        cache: None,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "Two lookups.".into(),
                        signature: Some("c2ln".into()),
                    },
                    call("call_1"),
                    call("call_2"),
                ],
            },
            result("call_1", "one"),
            result("call_2", "two"),
        ],
        max_tokens: Some(5000),
        temperature: Some(1.0),
        top_p: Some(0.9),
        stop: vec!["###".into()],
        stream: true,
        tools: vec![Tool {
            name: "lookup".into(),
            description: Some("Look a key up.".into()),
            parameters: json!({"type": "object", "properties": {"key": {"type": "string"}}}),
            strict: Some(true),
            cache: Some(CacheControl {
                ttl: Some("1h".into()),
            }),
        }],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(true),
        reasoning: Some(Reasoning::BudgetTokens(2048)),
        user: Some("user-7".into()),
        ..ChatRequest::default()
    };
    let (wire, _) = to_request(&original, 1).unwrap();
    let sent = judged(&wire);
    let back = parse_request(sent.to_string().as_bytes()).unwrap();
    // Anthropic keeps tool results of one turn together.
    let mut merged = original.clone();
    let second = merged.messages.pop().unwrap();
    merged.messages[2].content.extend(second.content);
    assert_eq!(back, merged);
}

/// A gateway answer sent to an Anthropic client and read back by the
/// Anthropic egress is the same answer.
#[test]
fn a_gateway_answer_survives_anthropic_and_back() {
    for finish in [
        FinishReason::Stop,
        FinishReason::StopSequence(Some("###".into())),
        FinishReason::Length,
        FinishReason::ToolCalls,
        FinishReason::ContentFilter,
        FinishReason::Other("pause_turn".into()),
    ] {
        let response = ChatResponse {
            id: "msg_9".into(),
            model: "claude-opus-4-8".into(),
            content: vec![
                Part::Thinking {
                    text: "t".into(),
                    signature: Some("s".into()),
                },
                Part::text("answer"),
                Part::ToolCall {
                    id: "toolu_9".into(),
                    name: "f".into(),
                    arguments: r#"{"a":[1,2]}"#.into(),
                },
            ],
            finish,
            usage: Some(TokenUsage {
                prompt_tokens: 3000,
                completion_tokens: 400,
                cached_prompt_tokens: 2000,
                cache_write_tokens: 500,
                reasoning_tokens: 100,
            }),
            created: None,
        };
        let back = parse_response(&response_body(&response), &EgressPlan::default()).unwrap();
        assert_eq!(back, response);
    }
}

/// OpenAI chat -> gateway -> Anthropic -> gateway -> OpenAI chat keeps every
/// field the two formats share (through the openai_chat translators at the
/// ends and the Anthropic ones in the middle, judged by the mock).
/// (An assistant turn with tool calls is written without `"content": null`,
/// which means the same.)
#[test]
fn an_openai_request_survives_anthropic_and_back() {
    use crate::formats::anthropic::ingress::parse_request;
    use crate::formats::openai_chat::request::{decode, encode};
    let original = json!({
        "model": "claude-sonnet-4-6",
        "messages": [
            {"role": "system", "content": "You are exact."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Rome? See the map."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]},
            {"role": "assistant",
                "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "15C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "24C"},
            {"role": "user", "content": "Which is warmer?"}
        ],
        "max_tokens": 300,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["###"],
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather at a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "strict": true
        }}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "user": "user-42"
    });
    let request = decode(original.to_string().as_bytes()).unwrap();
    let (wire, _) = to_request(&request, 4096).unwrap();
    let sent = judged(&wire);
    let back = parse_request(sent.to_string().as_bytes()).unwrap();
    let openai: Value = serde_json::from_slice(&encode(&back, "claude-sonnet-4-6")).unwrap();
    assert_eq!(
        openai,
        original,
        "{}",
        serde_json::to_string_pretty(&openai).unwrap()
    );
}
