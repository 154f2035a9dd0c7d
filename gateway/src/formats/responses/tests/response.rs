//! Whole Responses: rendering every llm field, decoding the recorded fixtures,
//! and the round trip llm -> Response -> llm.

use serde_json::{json, Value};

use super::fixtures;
use crate::formats::responses::request::parse;
use crate::formats::responses::response::{decode, decode_bytes, render};
use crate::formats::responses::wire::request::CreateResponse;
use crate::formats::responses::wire::response::ResponseObject;
use crate::llm::{ChatResponse, FinishReason, Part, TokenUsage};

pub(super) fn usage() -> TokenUsage {
    TokenUsage {
        prompt_tokens: 2100,
        completion_tokens: 90,
        cached_prompt_tokens: 2048,
        cache_write_tokens: 12,
        reasoning_tokens: 64,
    }
}

pub(super) fn answer(content: Vec<Part>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "msg_01XYZ".into(),
        model: "claude-sonnet-4-5".into(),
        content,
        finish,
        usage: Some(usage()),
        created: Some(1_796_619_770),
    }
}

pub(super) fn settings(body: Value) -> CreateResponse {
    match parse(body.to_string().as_bytes()) {
        Ok(parsed) => parsed.settings,
        Err(error) => panic!("{error:?}"),
    }
}

fn rendered(answer: &ChatResponse, body: Value) -> Value {
    serde_json::to_value(render(answer, &settings(body), 0)).unwrap_or_default()
}

#[test]
fn text_thinking_and_calls_become_output_items_in_order() {
    let answer = answer(
        vec![
            Part::Thinking {
                text: "Weather needs a tool.".into(),
                signature: Some("sig-1".into()),
            },
            Part::text("Let me look."),
            Part::text(" One moment."),
            Part::ToolCall {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                arguments: "{\"location\":\"Paris\"}".into(),
            },
            Part::ToolCall {
                id: "toolu_2".into(),
                name: "get_time".into(),
                arguments: "{}".into(),
            },
        ],
        FinishReason::ToolCalls,
    );
    let value = rendered(&answer, json!({"model": "claude-sonnet", "input": "hi"}));
    assert_eq!(value["id"], "resp_msg_01XYZ");
    assert_eq!(value["object"], "response");
    assert_eq!(value["status"], "completed");
    assert_eq!(value["model"], "claude-sonnet-4-5");
    assert_eq!(value["created_at"], 1_796_619_770);
    let output = value["output"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = output.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["reasoning", "message", "function_call", "function_call"]
    );
    assert_eq!(
        output[0]["content"],
        json!([{"type": "reasoning_text", "text": "Weather needs a tool."}])
    );
    assert_eq!(output[0]["encrypted_content"], "sig-1");
    assert_eq!(output[1]["role"], "assistant");
    assert_eq!(output[1]["content"][1]["text"], " One moment.");
    assert_eq!(output[2]["call_id"], "toolu_1");
    assert_eq!(output[2]["arguments"], "{\"location\":\"Paris\"}");
    assert_eq!(output[3]["name"], "get_time");
    let ids: Vec<&str> = output.iter().filter_map(|i| i["id"].as_str()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(ids.len(), 4);
    assert_eq!(unique.len(), 4, "{ids:?}");
    assert_eq!(
        value["usage"],
        json!({"input_tokens": 2100, "input_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 12},
               "output_tokens": 90, "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 2190})
    );
}

#[test]
fn finish_reasons_set_the_status() {
    let table = [
        (FinishReason::Stop, "completed", Value::Null),
        (
            FinishReason::StopSequence(Some("END".into())),
            "completed",
            Value::Null,
        ),
        (FinishReason::ToolCalls, "completed", Value::Null),
        (
            FinishReason::Other("pause_turn".into()),
            "completed",
            Value::Null,
        ),
        (
            FinishReason::Length,
            "incomplete",
            json!({"reason": "max_output_tokens"}),
        ),
        (
            FinishReason::ContentFilter,
            "incomplete",
            json!({"reason": "content_filter"}),
        ),
    ];
    for (finish, status, details) in table {
        let value = rendered(
            &answer(vec![Part::text("x")], finish.clone()),
            json!({"model": "m", "input": "hi"}),
        );
        assert_eq!(
            (&value["status"], &value["incomplete_details"]),
            (&json!(status), &details),
            "{finish:?}"
        );
        assert_eq!(
            value["output"][0]["status"],
            if status == "completed" {
                "completed"
            } else {
                "incomplete"
            }
        );
        assert_eq!(value["completed_at"].is_null(), status != "completed");
    }
}

#[test]
fn the_request_settings_are_echoed_with_openai_defaults() {
    let plain = rendered(
        &answer(vec![], FinishReason::Stop),
        json!({"model": "m", "input": "hi"}),
    );
    for (field, default) in [
        ("instructions", Value::Null),
        ("max_output_tokens", Value::Null),
        ("metadata", json!({})),
        ("parallel_tool_calls", json!(true)),
        ("previous_response_id", Value::Null),
        ("reasoning", json!({"effort": null, "summary": null})),
        ("store", json!(false)),
        ("temperature", json!(1.0)),
        ("text", json!({"format": {"type": "text"}})),
        ("tool_choice", json!("auto")),
        ("tools", json!([])),
        ("top_p", json!(1.0)),
        ("truncation", json!("disabled")),
        ("user", Value::Null),
        ("safety_identifier", Value::Null),
        ("error", Value::Null),
        ("background", json!(false)),
    ] {
        assert_eq!(plain[field], default, "{field}");
    }
    let tools = json!([{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": true}]);
    let echoed = rendered(
        &answer(vec![], FinishReason::Stop),
        json!({"model": "m", "input": "hi", "instructions": "Be brief.", "max_output_tokens": 99, "metadata": {"team": "a"},
               "parallel_tool_calls": false, "reasoning": {"effort": "low", "summary": "auto"}, "temperature": 0.2, "top_p": 0.3,
               "text": {"format": {"type": "json_object"}}, "tool_choice": "required", "tools": tools, "user": "u", "safety_identifier": "s",
               "store": false, "truncation": "auto", "prompt_cache_key": "k"}),
    );
    for (field, value) in [
        ("instructions", json!("Be brief.")),
        ("max_output_tokens", json!(99)),
        ("metadata", json!({"team": "a"})),
        ("parallel_tool_calls", json!(false)),
        ("reasoning", json!({"effort": "low", "summary": "auto"})),
        ("temperature", json!(0.2)),
        ("top_p", json!(0.3)),
        ("text", json!({"format": {"type": "json_object"}})),
        ("tool_choice", json!("required")),
        ("tools", tools.clone()),
        ("user", json!("u")),
        ("safety_identifier", json!("s")),
        ("truncation", json!("auto")),
        ("prompt_cache_key", json!("k")),
    ] {
        assert_eq!(echoed[field], value, "{field}");
    }
    // A function tool given without parameters or strict echoes them as null
    // (the spec's FunctionTool requires both).
    let bare = rendered(
        &answer(vec![], FinishReason::Stop),
        json!({"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f"}]}),
    );
    assert_eq!(
        bare["tools"],
        json!([{"type": "function", "name": "f", "parameters": null, "strict": null}])
    );
    // No model name from the provider: the requested one.
    let mut nameless = answer(vec![], FinishReason::Stop);
    nameless.model.clear();
    nameless.created = None;
    let value = serde_json::to_value(render(
        &nameless,
        &settings(json!({"model": "asked", "input": "hi"})),
        42,
    ))
    .unwrap_or_default();
    assert_eq!(
        (&value["model"], &value["created_at"]),
        (&json!("asked"), &json!(42))
    );
    // No usage from the provider: null, as OpenAI sends while in progress.
    let mut uncounted = answer(vec![], FinishReason::Stop);
    uncounted.usage = None;
    assert!(rendered(&uncounted, json!({"model": "m", "input": "hi"}))["usage"].is_null());
}

#[test]
fn recorded_responses_decode() {
    let text = decode(&object("response_text.json"));
    assert_eq!(text.id, "resp_68a1c2d3e4f7");
    assert_eq!(text.model, "gpt-5.4");
    assert_eq!(text.content, vec![Part::text("Hello there!")]);
    assert_eq!(text.finish, FinishReason::Stop);
    assert_eq!(text.created, Some(1_796_619_770));
    assert_eq!(
        text.usage,
        Some(TokenUsage {
            prompt_tokens: 24,
            completion_tokens: 4,
            ..TokenUsage::default()
        })
    );
    let call = decode(&object("response_function_call.json"));
    assert_eq!(
        call.content,
        vec![Part::ToolCall {
            id: "call_Kp2rVq8dN3xS".into(),
            name: "get_weather".into(),
            arguments: "{\"location\":\"Paris, France\",\"unit\":\"celsius\"}".into(),
        }]
    );
    assert_eq!(call.finish, FinishReason::ToolCalls);
    assert_eq!(
        call.usage,
        Some(TokenUsage {
            prompt_tokens: 2100,
            completion_tokens: 90,
            cached_prompt_tokens: 2048,
            cache_write_tokens: 0,
            reasoning_tokens: 64
        })
    );
    let cut = decode(&object("response_incomplete.json"));
    assert_eq!(
        (cut.finish, cut.content),
        (FinishReason::Length, vec![Part::text("Hello")])
    );
    assert!(decode_bytes(b"{\"error\":{}}").is_none());
}

fn object(name: &str) -> ResponseObject {
    serde_json::from_value(fixtures::json(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Recorded Response -> llm -> Response -> llm is stable, and the rendered
/// Response keeps the recorded one's shape.
#[test]
fn recorded_responses_round_trip() {
    for (name, request) in [
        ("response_text.json", "request_text.json"),
        (
            "response_function_call.json",
            "request_tool_round_trip.json",
        ),
        ("response_incomplete.json", "request_text.json"),
    ] {
        let recorded = fixtures::json(name);
        let first = decode(&object(name));
        let again = render(&first, &settings(fixtures::json(request)), 0);
        assert_eq!(again.id, first.id, "{name}");
        assert_eq!(decode(&again), first, "{name}");
        let again = serde_json::to_value(&again).unwrap_or_default();
        for field in [
            "object",
            "status",
            "incomplete_details",
            "usage",
            "model",
            "created_at",
        ] {
            assert_eq!(again[field], recorded[field], "{name} {field}");
        }
        let mut keys: Vec<&String> = again
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        let mut recorded_keys: Vec<&String> = recorded
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        keys.sort();
        recorded_keys.sort();
        assert_eq!(keys, recorded_keys, "{name}");
    }
}

#[test]
fn rendered_responses_match_the_committed_fixtures() {
    let request = json!({"model": "claude-sonnet-4-5", "input": "What is the weather in Paris?", "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "get_weather", "description": "Current weather at a place.",
                   "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": false}, "strict": true}],
        "reasoning": {"effort": "low"}, "store": false});
    let tools = answer(
        vec![
            Part::Thinking {
                text: "The user wants the weather; call the tool.".into(),
                signature: Some("EqQBCkYIBxgCKkB".into()),
            },
            Part::text("Checking."),
            Part::ToolCall {
                id: "toolu_01A".into(),
                name: "get_weather".into(),
                arguments: "{\"location\":\"Paris\"}".into(),
            },
        ],
        FinishReason::ToolCalls,
    );
    fixtures::golden(
        "gateway_response_tools.json",
        &fixtures::pretty(&render(&tools, &settings(request), 0)),
    );
    let cut = answer(vec![Part::text("Once upon a")], FinishReason::Length);
    let request = json!({"model": "gemini-2.5-flash", "input": "Tell a story.", "max_output_tokens": 16, "store": false});
    fixtures::golden(
        "gateway_response_incomplete.json",
        &fixtures::pretty(&render(&cut, &settings(request), 0)),
    );
}
