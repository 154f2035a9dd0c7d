//! Valid OpenAI Responses API shapes: requests with `input` as a string or
//! items (messages of every role with input and output parts, function calls
//! and their outputs, reasoning items), tools, `tool_choice`, text formats,
//! reasoning and the stateful settings the gateway sets aside; Response
//! objects; and typed event streams with sequence numbers.

use fastrand::Rng;
use serde_json::{json, Map, Value};

use super::values::{
    arguments, base64, chance, count, id, image_url, name, pick, prose, schema, text, unit, Setting,
};

/// Field names of requests, Responses and events, for duplicated keys.
pub const KEYS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "type",
    "role",
    "content",
    "text",
    "call_id",
    "output",
    "tools",
    "tool_choice",
    "name",
    "arguments",
    "item_id",
    "output_index",
    "delta",
    "response",
    "sequence_number",
    "usage",
    "status",
];

fn content(rng: &mut Rng, role: &str) -> Value {
    if rng.bool() {
        return json!(prose(rng));
    }
    let parts: Vec<Value> = (0..rng.usize(1..4))
        .map(|_| match (role, rng.u8(..4)) {
            ("assistant", 0) => json!({"type": "refusal", "refusal": prose(rng)}),
            ("assistant", _) => json!({"type": "output_text", "text": prose(rng), "annotations": []}),
            ("user", 0) => json!({"type": "input_image", "image_url": image_url(rng), "detail": pick(rng, &["low", "high", "auto"])}),
            ("user", 1) if chance(rng, 10) => json!({"type": "input_file", "file_id": id(rng, "file-")}),
            _ => json!({"type": "input_text", "text": prose(rng)}),
        })
        .collect();
    Value::Array(parts)
}

/// A request body.
pub fn request(rng: &mut Rng) -> Value {
    let mut body = Map::new();
    body.insert(
        "model".into(),
        json!(pick(rng, &["gpt-5", "o4-mini", "claude-sonnet-4-5", ""])),
    );
    if chance(rng, 20) {
        body.insert("input".into(), json!(prose(rng)));
    } else {
        let mut items = Vec::new();
        for _ in 0..rng.usize(1..5) {
            let role = pick(rng, &["user", "user", "user", "system", "developer"]);
            let mut item = json!({"role": role, "content": content(rng, role)});
            if rng.bool() {
                item["type"] = json!("message");
            }
            items.push(item);
            match rng.u8(..4) {
                0 => {
                    if chance(rng, 30) {
                        let mut reasoning = json!({"type": "reasoning", "id": id(rng, "rs_"), "summary": [{"type": "summary_text", "text": text(rng)}]});
                        if rng.bool() {
                            reasoning["encrypted_content"] = json!(base64(rng));
                        }
                        items.push(reasoning);
                    }
                    let call = id(rng, "call_");
                    items.push(json!({"type": "function_call", "call_id": call, "name": name(rng), "arguments": serde_json::to_string(&arguments(rng)).unwrap_or_default()}));
                    let output = if rng.bool() {
                        json!(text(rng))
                    } else {
                        json!([{"type": "input_text", "text": prose(rng)}])
                    };
                    items.push(
                        json!({"type": "function_call_output", "call_id": call, "output": output}),
                    );
                }
                1 => items.push(json!({"role": "assistant", "content": content(rng, "assistant")})),
                2 if chance(rng, 10) => {
                    items.push(json!({"type": "item_reference", "id": id(rng, "msg_")}))
                }
                _ => {}
            }
        }
        body.insert("input".into(), Value::Array(items));
    }
    let tools: Vec<Value> = (0..rng.usize(..4))
        .map(|_| {
            if chance(rng, 10) {
                return json!({"type": pick(rng, &["web_search", "file_search", "code_interpreter"])});
            }
            let mut tool = json!({"type": "function", "name": name(rng), "parameters": schema(rng)});
            if rng.bool() {
                tool["description"] = json!(text(rng));
            }
            if rng.bool() {
                tool["strict"] = json!(rng.bool());
            }
            tool
        })
        .collect();
    if !tools.is_empty() {
        let named = tools[0]["name"].clone();
        body.insert("tools".into(), Value::Array(tools));
        if rng.bool() {
            let choice = match rng.u8(..4) {
                0 => json!("auto"),
                1 => json!("none"),
                2 => json!("required"),
                _ => json!({"type": "function", "name": named}),
            };
            body.insert("tool_choice".into(), choice);
        }
    }
    let settings: [Setting; 16] = [
        ("instructions", |r| json!(prose(r))),
        ("max_output_tokens", |r| json!(count(r))),
        ("temperature", |r| json!(unit(r, 2.0))),
        ("top_p", |r| json!(unit(r, 1.0))),
        ("stream", |r| json!(r.bool())),
        ("store", |r| json!(r.bool())),
        ("parallel_tool_calls", |r| json!(r.bool())),
        ("previous_response_id", |r| json!(id(r, "resp_"))),
        ("user", |r| json!(text(r))),
        ("safety_identifier", |r| json!(text(r))),
        ("metadata", |r| json!({"k": text(r)})),
        ("include", |_| json!(["reasoning.encrypted_content"])),
        ("truncation", |r| json!(pick(r, &["auto", "disabled"]))),
        (
            "reasoning",
            |r| json!({"effort": pick(r, &["none", "minimal", "low", "medium", "high", "xhigh"]), "summary": "auto"}),
        ),
        ("text", |r| match r.u8(..3) {
            0 => json!({"format": {"type": "text"}}),
            1 => json!({"format": {"type": "json_object"}}),
            _ => {
                json!({"format": {"type": "json_schema", "name": name(r), "schema": schema(r), "strict": r.bool()}, "verbosity": "low"})
            }
        }),
        ("prompt_cache_key", |r| json!(text(r))),
    ];
    for (key, make) in settings {
        if chance(rng, 30) {
            body.insert(key.into(), make(rng));
        }
    }
    Value::Object(body)
}

fn usage(rng: &mut Rng) -> Value {
    json!({
        "input_tokens": count(rng), "input_tokens_details": {"cached_tokens": count(rng)},
        "output_tokens": count(rng), "output_tokens_details": {"reasoning_tokens": count(rng)},
        "total_tokens": count(rng),
    })
}

fn output_item(rng: &mut Rng) -> Value {
    match rng.u8(..8) {
        0 | 1 => {
            json!({"type": "function_call", "id": id(rng, "fc_"), "call_id": id(rng, "call_"), "name": name(rng), "arguments": serde_json::to_string(&arguments(rng)).unwrap_or_default(), "status": "completed"})
        }
        2 => {
            json!({"type": "reasoning", "id": id(rng, "rs_"), "summary": [{"type": "summary_text", "text": text(rng)}], "encrypted_content": base64(rng)})
        }
        3 => json!({"type": "web_search_call", "id": id(rng, "ws_"), "status": "completed"}),
        4 => {
            json!({"type": "message", "id": id(rng, "msg_"), "status": "completed", "role": "assistant", "content": [{"type": "refusal", "refusal": prose(rng)}]})
        }
        _ => {
            json!({"type": "message", "id": id(rng, "msg_"), "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": text(rng), "annotations": []}]})
        }
    }
}

const STATUS: &[&str] = &[
    "completed",
    "incomplete",
    "failed",
    "in_progress",
    "cancelled",
    "queued",
];

/// A Response object.
pub fn response(rng: &mut Rng) -> Value {
    let status = pick(rng, STATUS);
    let mut object = json!({
        "id": id(rng, "resp_"), "object": "response", "created_at": rng.i64(..), "status": status,
        "model": "gpt-5", "output": (0..rng.usize(..4)).map(|_| output_item(rng)).collect::<Vec<_>>(),
        "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
    });
    if rng.bool() {
        object["usage"] = usage(rng);
    }
    match status {
        "incomplete" => {
            object["incomplete_details"] =
                json!({"reason": pick(rng, &["max_output_tokens", "content_filter"])})
        }
        "failed" => {
            object["error"] = json!({"code": pick(rng, &["server_error", "rate_limit_exceeded"]), "message": text(rng)})
        }
        _ => {}
    }
    object
}

/// The typed events of a streamed Response, numbered from 0.
pub fn stream(rng: &mut Rng) -> Vec<Value> {
    let mut start = response(rng);
    start["status"] = json!("in_progress");
    start["output"] = json!([]);
    let mut out = vec![
        json!({"type": "response.created", "response": start.clone()}),
        json!({"type": "response.in_progress", "response": start}),
    ];
    let mut items = Vec::new();
    for output_index in 0..rng.usize(..4) {
        let item = output_item(rng);
        let item_id = item["id"].clone();
        let mut opening = item.clone();
        opening["status"] = json!("in_progress");
        out.push(json!({"type": "response.output_item.added", "output_index": output_index, "item": opening}));
        match item["type"].as_str().unwrap_or_default() {
            "message" => {
                out.push(json!({"type": "response.content_part.added", "item_id": item_id, "output_index": output_index, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}));
                for _ in 0..rng.usize(..4) {
                    out.push(json!({"type": "response.output_text.delta", "item_id": item_id, "output_index": output_index, "content_index": 0, "delta": text(rng)}));
                }
                out.push(json!({"type": "response.output_text.done", "item_id": item_id, "output_index": output_index, "content_index": 0, "text": text(rng)}));
            }
            "function_call" => {
                for piece in ["{\"a\":", "1}"] {
                    out.push(json!({"type": "response.function_call_arguments.delta", "item_id": item_id, "output_index": output_index, "delta": piece}));
                }
                out.push(json!({"type": "response.function_call_arguments.done", "item_id": item_id, "output_index": output_index, "name": item["name"], "arguments": "{\"a\":1}"}));
            }
            "reasoning" => {
                out.push(json!({"type": "response.reasoning_summary_text.delta", "item_id": item_id, "output_index": output_index, "summary_index": 0, "delta": text(rng)}));
                out.push(json!({"type": "response.reasoning_text.delta", "item_id": item_id, "output_index": output_index, "content_index": 0, "delta": text(rng)}));
            }
            _ => {}
        }
        out.push(json!({"type": "response.output_item.done", "output_index": output_index, "item": item}));
        items.push(item);
    }
    let mut last = response(rng);
    last["output"] = Value::Array(items);
    let kind = match last["status"].as_str().unwrap_or_default() {
        "incomplete" => "response.incomplete",
        "failed" => "response.failed",
        _ => "response.completed",
    };
    out.push(json!({"type": kind, "response": last}));
    if chance(rng, 5) {
        out.push(
            json!({"type": "error", "code": "server_error", "message": "boom", "param": null}),
        );
    }
    for (n, event) in out.iter_mut().enumerate() {
        event["sequence_number"] = json!(n);
    }
    out
}

/// Events as the SSE text the API sends (`event:` then `data:`).
pub fn frame(events: &[Value], _rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        let name = event["type"].as_str().unwrap_or("unknown");
        out.extend_from_slice(format!("event: {name}\ndata: ").as_bytes());
        out.extend_from_slice(&serde_json::to_vec(event).unwrap_or_default());
        out.extend_from_slice(b"\n\n");
    }
    out
}
