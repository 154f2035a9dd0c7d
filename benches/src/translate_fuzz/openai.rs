//! Valid OpenAI chat completions shapes: requests from the whole vocabulary
//! the translators read (every role, text and image parts, tool calls and
//! results, tools, every `tool_choice`, response formats, sampling settings at
//! their limits), whole answers, and chunk streams.

use fastrand::Rng;
use serde_json::{json, Map, Value};

use super::values::{
    arguments, chance, count, id, image_url, maybe, name, pick, prose, schema, text, unit, Setting,
};

/// Field names of requests and answers, for duplicated keys.
pub const KEYS: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "tools",
    "tool_choice",
    "stop",
    "max_tokens",
    "temperature",
    "type",
    "text",
    "image_url",
    "tool_calls",
    "function",
    "arguments",
    "id",
    "choices",
    "delta",
    "finish_reason",
    "usage",
    "index",
];

fn content(rng: &mut Rng, images: bool) -> Value {
    if rng.bool() {
        return Value::String(prose(rng));
    }
    let parts: Vec<Value> = (0..rng.usize(1..4))
        .map(|_| {
            if images && chance(rng, 30) {
                let mut image = json!({"url": image_url(rng)});
                if rng.bool() {
                    image["detail"] = json!(pick(rng, &["low", "high", "auto"]));
                }
                json!({"type": "image_url", "image_url": image})
            } else {
                json!({"type": "text", "text": prose(rng)})
            }
        })
        .collect();
    Value::Array(parts)
}

fn tool_call(rng: &mut Rng, call_id: &str) -> Value {
    let arguments = if chance(rng, 90) {
        serde_json::to_string(&arguments(rng)).unwrap_or_default()
    } else {
        text(rng)
    };
    json!({"id": call_id, "type": "function", "function": {"name": name(rng), "arguments": arguments}})
}

/// A request body.
pub fn request(rng: &mut Rng) -> Value {
    let mut messages = Vec::new();
    if rng.bool() {
        let role = pick(rng, &["system", "developer"]);
        messages.push(json!({"role": role, "content": content(rng, false)}));
    }
    for _ in 0..rng.usize(1..5) {
        messages.push(json!({"role": "user", "content": content(rng, true)}));
        if rng.bool() {
            let ids: Vec<String> = (0..rng.usize(1..3)).map(|_| id(rng, "call_")).collect();
            let mut turn = json!({"role": "assistant", "tool_calls": ids.iter().map(|i| tool_call(rng, i)).collect::<Vec<_>>()});
            if rng.bool() {
                turn["content"] = content(rng, false);
            }
            messages.push(turn);
            for call in &ids {
                messages.push(
                    json!({"role": "tool", "tool_call_id": call, "content": content(rng, false)}),
                );
            }
        } else if rng.bool() {
            messages.push(json!({"role": "assistant", "content": content(rng, false)}));
        }
        if chance(rng, 10) {
            messages.push(json!({"role": "system", "content": prose(rng)}));
        }
    }
    let mut body = Map::new();
    body.insert(
        "model".into(),
        json!(pick(
            rng,
            &["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "o3", ""]
        )),
    );
    body.insert("messages".into(), Value::Array(messages));
    let tools: Vec<Value> = (0..rng.usize(..4))
        .map(|_| {
            let mut function = json!({"name": name(rng)});
            if rng.bool() {
                function["description"] = json!(text(rng));
            }
            if chance(rng, 90) {
                function["parameters"] = schema(rng);
            }
            if rng.bool() {
                function["strict"] = json!(rng.bool());
            }
            json!({"type": "function", "function": function})
        })
        .collect();
    if !tools.is_empty() {
        let named = tools[0]["function"]["name"].clone();
        body.insert("tools".into(), Value::Array(tools));
        if rng.bool() {
            let choice = match rng.u8(..4) {
                0 => json!("auto"),
                1 => json!("none"),
                2 => json!("required"),
                _ => json!({"type": "function", "function": {"name": named}}),
            };
            body.insert("tool_choice".into(), choice);
        }
        if rng.bool() {
            body.insert("parallel_tool_calls".into(), json!(rng.bool()));
        }
    }
    let settings: [Setting; 13] = [
        ("max_tokens", |r| json!(count(r))),
        ("max_completion_tokens", |r| json!(count(r))),
        ("temperature", |r| json!(unit(r, 2.0))),
        ("top_p", |r| json!(unit(r, 1.0))),
        ("stop", |r| {
            if r.bool() {
                json!(prose(r))
            } else {
                json!((0..r.usize(..5)).map(|_| prose(r)).collect::<Vec<_>>())
            }
        }),
        ("stream", |r| json!(r.bool())),
        ("stream_options", |r| json!({"include_usage": r.bool()})),
        ("reasoning_effort", |r| {
            json!(pick(r, &["minimal", "low", "medium", "high"]))
        }),
        ("seed", |r| json!(r.i64(..))),
        ("presence_penalty", |r| json!(unit(r, 2.0))),
        ("n", |r| json!(r.u32(1..4))),
        ("user", |r| json!(text(r))),
        ("response_format", |r| match r.u8(..3) {
            0 => json!({"type": "text"}),
            1 => json!({"type": "json_object"}),
            _ => {
                json!({"type": "json_schema", "json_schema": {"name": name(r), "schema": schema(r), "strict": r.bool()}})
            }
        }),
    ];
    for (key, make) in settings {
        if chance(rng, 35) {
            body.insert(key.into(), make(rng));
        }
    }
    if chance(rng, 10) {
        body.insert("logit_bias".into(), json!({"50256": -100}));
    }
    Value::Object(body)
}

fn usage(rng: &mut Rng) -> Value {
    let mut usage = json!({"prompt_tokens": count(rng), "completion_tokens": count(rng), "total_tokens": count(rng)});
    if rng.bool() {
        usage["prompt_tokens_details"] = json!({"cached_tokens": count(rng)});
        usage["completion_tokens_details"] = json!({"reasoning_tokens": count(rng)});
    }
    usage
}

const FINISH: &[&str] = &[
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
    "weird",
];

/// A whole answer.
pub fn response(rng: &mut Rng) -> Value {
    let mut message = json!({"role": "assistant", "content": maybe(rng, prose)});
    if rng.bool() {
        let calls: Vec<Value> = (0..rng.usize(1..3))
            .map(|_| {
                let call = id(rng, "call_");
                tool_call(rng, &call)
            })
            .collect();
        message["tool_calls"] = Value::Array(calls);
    }
    if chance(rng, 10) {
        message["refusal"] = json!(prose(rng));
    }
    let mut body = json!({
        "id": id(rng, "chatcmpl-"), "object": "chat.completion", "created": rng.i64(..),
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": pick(rng, FINISH), "logprobs": null}],
    });
    if rng.bool() {
        body["usage"] = usage(rng);
    }
    body
}

/// The chunks of a streamed answer (the `data:` payloads, `[DONE]` apart).
pub fn stream(rng: &mut Rng) -> Vec<Value> {
    let base = json!({"id": id(rng, "chatcmpl-"), "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"});
    let chunk = |choices: Value| {
        let mut c = base.clone();
        c["choices"] = choices;
        c
    };
    let mut out = vec![chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}}]),
    )];
    for _ in 0..rng.usize(..6) {
        out.push(chunk(
            json!([{"index": 0, "delta": {"content": text(rng)}}]),
        ));
    }
    for index in 0..rng.usize(..3) {
        out.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [{"index": index, "id": id(rng, "call_"), "type": "function", "function": {"name": name(rng), "arguments": ""}}]}}])));
        let args = serde_json::to_string(&arguments(rng)).unwrap_or_default();
        let mut rest = args.as_str();
        while !rest.is_empty() {
            let mut cut = rng.usize(1..=rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            let (piece, tail) = rest.split_at(cut);
            out.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}}])));
            rest = tail;
        }
    }
    out.push(chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": pick(rng, FINISH)}]),
    ));
    if rng.bool() {
        let mut last = chunk(json!([]));
        last["usage"] = usage(rng);
        out.push(last);
    }
    if chance(rng, 5) {
        out.push(json!({"error": {"message": "overloaded", "type": "server_error"}}));
    }
    out
}

/// Chunks as the SSE text a provider sends.
pub fn frame(events: &[Value], rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&serde_json::to_vec(event).unwrap_or_default());
        out.extend_from_slice(b"\n\n");
    }
    if rng.u8(..10) > 0 {
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
    out
}
