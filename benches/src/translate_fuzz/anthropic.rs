//! Valid Anthropic Messages shapes: requests with every content block a client
//! sends (text, images, tool use and results, thinking, documents), cache
//! breakpoints, tools (custom and server), every `tool_choice`, thinking and
//! output settings; whole messages; and event streams in the API's order.

use fastrand::Rng;
use serde_json::{json, Map, Value};

use super::values::{
    arguments, base64, chance, count, id, maybe, media_type, name, pick, prose, schema, text, unit,
    Setting,
};

/// Field names of requests, messages and events, for duplicated keys.
pub const KEYS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "role",
    "content",
    "type",
    "text",
    "source",
    "cache_control",
    "tool_use_id",
    "id",
    "name",
    "input",
    "tools",
    "tool_choice",
    "index",
    "delta",
    "usage",
    "stop_reason",
    "message",
    "content_block",
    "thinking",
];

fn cache(rng: &mut Rng, block: &mut Value) {
    if chance(rng, 20) {
        let mut control = json!({"type": "ephemeral"});
        if rng.bool() {
            control["ttl"] = json!(pick(rng, &["5m", "1h"]));
        }
        block["cache_control"] = control;
    }
}

fn image(rng: &mut Rng) -> Value {
    let source = match rng.u8(..5) {
        0 => json!({"type": "url", "url": format!("https://example.com/{}.jpg", rng.u16(..))}),
        1 => json!({"type": "file", "file_id": id(rng, "file_")}),
        _ => json!({"type": "base64", "media_type": media_type(rng), "data": base64(rng)}),
    };
    json!({"type": "image", "source": source})
}

fn text_block(rng: &mut Rng) -> Value {
    let mut block = json!({"type": "text", "text": prose(rng)});
    cache(rng, &mut block);
    block
}

fn user_content(rng: &mut Rng, results: &[String]) -> Value {
    if results.is_empty() && rng.bool() {
        return json!(prose(rng));
    }
    let mut blocks: Vec<Value> = results
        .iter()
        .map(|call| {
            let mut block = json!({"type": "tool_result", "tool_use_id": call});
            match rng.u8(..4) {
                0 => {}
                1 => block["content"] = json!(prose(rng)),
                2 => block["content"] = json!([text_block(rng), image(rng)]),
                _ => block["content"] = json!([text_block(rng)]),
            }
            if rng.bool() {
                block["is_error"] = json!(rng.bool());
            }
            cache(rng, &mut block);
            block
        })
        .collect();
    for _ in 0..rng.usize(usize::from(blocks.is_empty())..3) {
        let mut block = match rng.u8(..10) {
            0..=2 => image(rng),
            3 => {
                json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": prose(rng)}})
            }
            _ => json!({"type": "text", "text": prose(rng)}),
        };
        cache(rng, &mut block);
        blocks.push(block);
    }
    Value::Array(blocks)
}

/// A request body (`count_tokens` bodies are the same without `max_tokens`).
pub fn request(rng: &mut Rng) -> Value {
    let mut messages = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for _ in 0..rng.usize(1..5) {
        messages.push(json!({"role": "user", "content": user_content(rng, &pending)}));
        pending.clear();
        if rng.bool() {
            let mut blocks = Vec::new();
            if chance(rng, 20) {
                blocks.push(
                    json!({"type": "thinking", "thinking": text(rng), "signature": base64(rng)}),
                );
            }
            if chance(rng, 5) {
                blocks.push(json!({"type": "redacted_thinking", "data": base64(rng)}));
            }
            if rng.bool() {
                blocks.push(json!({"type": "text", "text": prose(rng)}));
            }
            for _ in 0..rng.usize(..3) {
                let call = id(rng, "toolu_");
                let mut block = json!({"type": "tool_use", "id": call, "name": name(rng), "input": arguments(rng)});
                cache(rng, &mut block);
                blocks.push(block);
                pending.push(call);
            }
            if blocks.is_empty() {
                blocks.push(json!({"type": "text", "text": prose(rng)}));
            }
            messages.push(json!({"role": "assistant", "content": blocks}));
        }
    }
    if !pending.is_empty() {
        messages.push(json!({"role": "user", "content": user_content(rng, &pending)}));
    }
    let mut body = Map::new();
    body.insert(
        "model".into(),
        json!(pick(
            rng,
            &[
                "claude-sonnet-4-5",
                "claude-opus-4-1",
                "claude-3-5-haiku-latest"
            ]
        )),
    );
    body.insert("messages".into(), Value::Array(messages));
    if chance(rng, 95) {
        body.insert("max_tokens".into(), json!(count(rng)));
    }
    let tools: Vec<Value> = (0..rng.usize(..4))
        .map(|_| {
            if chance(rng, 10) {
                return json!({"type": "web_search_20250305", "name": "web_search"});
            }
            let mut tool = json!({"name": name(rng), "input_schema": schema(rng)});
            if rng.bool() {
                tool["description"] = json!(text(rng));
            }
            if chance(rng, 20) {
                tool["strict"] = json!(rng.bool());
            }
            cache(rng, &mut tool);
            tool
        })
        .collect();
    if !tools.is_empty() {
        let named = tools[0]["name"].clone();
        body.insert("tools".into(), Value::Array(tools));
        if rng.bool() {
            let mut choice = match rng.u8(..4) {
                0 => json!({"type": "auto"}),
                1 => json!({"type": "any"}),
                2 => json!({"type": "none"}),
                _ => json!({"type": "tool", "name": named}),
            };
            if chance(rng, 30) && choice["type"] != "none" {
                choice["disable_parallel_tool_use"] = json!(rng.bool());
            }
            body.insert("tool_choice".into(), choice);
        }
    }
    let settings: [Setting; 11] = [
        ("system", |r| {
            if r.bool() {
                json!(prose(r))
            } else {
                json!((0..r.usize(1..3))
                    .map(|_| text_block(r))
                    .collect::<Vec<_>>())
            }
        }),
        ("temperature", |r| json!(unit(r, 1.0))),
        ("top_p", |r| json!(unit(r, 1.0))),
        ("top_k", |r| json!(count(r))),
        ("stop_sequences", |r| {
            json!((0..r.usize(..4)).map(|_| prose(r)).collect::<Vec<_>>())
        }),
        ("stream", |r| json!(r.bool())),
        ("metadata", |r| json!({"user_id": text(r)})),
        ("thinking", |r| match r.u8(..3) {
            0 => json!({"type": "enabled", "budget_tokens": count(r)}),
            1 => json!({"type": "disabled"}),
            _ => json!({"type": "adaptive"}),
        }),
        ("output_config", |r| {
            let mut config = json!({});
            if r.bool() {
                config["effort"] = json!(pick(r, &["low", "medium", "high", "max"]));
            }
            if r.bool() {
                config["format"] = json!({"type": "json_schema", "schema": schema(r)});
            }
            config
        }),
        ("cache_control", |_| json!({"type": "ephemeral"})),
        ("service_tier", |_| json!("auto")),
    ];
    for (key, make) in settings {
        if chance(rng, 30) {
            body.insert(key.into(), make(rng));
        }
    }
    Value::Object(body)
}

const STOP: &[&str] = &[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
    "new_reason",
];

fn usage(rng: &mut Rng) -> Value {
    let mut usage = json!({"input_tokens": count(rng), "output_tokens": count(rng)});
    if rng.bool() {
        usage["cache_creation_input_tokens"] = json!(count(rng));
        usage["cache_read_input_tokens"] = json!(count(rng));
    }
    usage
}

fn response_block(rng: &mut Rng) -> Value {
    match rng.u8(..10) {
        0 => json!({"type": "thinking", "thinking": text(rng), "signature": base64(rng)}),
        1 => json!({"type": "redacted_thinking", "data": base64(rng)}),
        2 | 3 => {
            json!({"type": "tool_use", "id": id(rng, "toolu_"), "name": pick(rng, &["json_output", "get_weather"]), "input": arguments(rng)})
        }
        4 => {
            json!({"type": "server_tool_use", "id": id(rng, "srvtoolu_"), "name": "web_search", "input": {}})
        }
        _ => json!({"type": "text", "text": text(rng)}),
    }
}

/// A whole message.
pub fn response(rng: &mut Rng) -> Value {
    json!({
        "id": id(rng, "msg_"), "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": (0..rng.usize(..4)).map(|_| response_block(rng)).collect::<Vec<_>>(),
        "stop_reason": pick(rng, STOP), "stop_sequence": maybe(rng, prose), "usage": usage(rng),
    })
}

/// The events of a streamed message, in the API's order.
pub fn stream(rng: &mut Rng) -> Vec<Value> {
    let mut start = response(rng);
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    let mut out = vec![json!({"type": "message_start", "message": start})];
    for index in 0..rng.usize(..4) {
        if chance(rng, 10) {
            out.push(json!({"type": "ping"}));
        }
        let block = response_block(rng);
        let kind = block["type"].as_str().unwrap_or_default().to_owned();
        let mut opening = block.clone();
        match kind.as_str() {
            "text" => opening["text"] = json!(""),
            "thinking" => {
                opening["thinking"] = json!("");
                opening["signature"] = json!("");
            }
            "tool_use" | "server_tool_use" => opening["input"] = json!({}),
            _ => {}
        }
        out.push(json!({"type": "content_block_start", "index": index, "content_block": opening}));
        for _ in 0..rng.usize(..4) {
            let delta = match kind.as_str() {
                "thinking" => json!({"type": "thinking_delta", "thinking": text(rng)}),
                "tool_use" | "server_tool_use" => {
                    json!({"type": "input_json_delta", "partial_json": pick(rng, &["{\"a\":", "1}", "", "{}", "\"x"])})
                }
                _ => json!({"type": "text_delta", "text": text(rng)}),
            };
            out.push(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        if kind == "thinking" {
            out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": base64(rng)}}));
        }
        if chance(rng, 5) {
            out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "citations_delta", "citation": {}}}));
        }
        out.push(json!({"type": "content_block_stop", "index": index}));
    }
    out.push(json!({"type": "message_delta", "delta": {"stop_reason": pick(rng, STOP), "stop_sequence": null}, "usage": usage(rng)}));
    if chance(rng, 5) {
        out.push(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    }
    out.push(json!({"type": "message_stop"}));
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
