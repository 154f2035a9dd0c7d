//! Valid requests the mutations start from: the shapes real clients send (plain,
//! streaming with and without usage, tools, multi-part content, tool results), so
//! a mutation lands next to a field the gateway actually reads.

use fastrand::Rng;
use serde_json::{json, Value};

use super::Endpoint;
use crate::common;

pub(super) fn seed_body(rng: &mut Rng, endpoint: Endpoint) -> Value {
    match endpoint {
        Endpoint::Chat => chat(rng),
        Endpoint::Embeddings => match rng.usize(0..4) {
            0 => json!({"model": "mock-embed", "input": "hello"}),
            1 => json!({"model": "mock-embed", "input": ["a", "b"]}),
            2 => json!({"model": "mock-embed", "input": [[1, 2, 3]]}),
            _ => json!({"model": "mock-embed", "input": "x", "encoding_format": "base64"}),
        },
    }
}

fn chat(rng: &mut Rng) -> Value {
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]);
    match rng.usize(0..7) {
        0 => common::chat_body("mock-chat"),
        1 => {
            let mut body = common::chat_body("mock-chat");
            body["stream"] = json!(true);
            body
        }
        2 => {
            let mut body = common::chat_body("mock-chat");
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
            body
        }
        3 => json!({
            "model": "mock-chat", "stream": true,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": tools, "tool_choice": "auto"
        }),
        4 => json!({
            "model": "mock-chat",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": tools, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
        }),
        5 => json!({
            "model": "mock-chat",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "Again"}
            ],
            "temperature": 0.3, "max_tokens": 50, "n": 2, "seed": 7, "user": "u-1",
            "response_format": {"type": "json_object"}, "logprobs": false
        }),
        _ => json!({
            "model": "mock-chat",
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
                    "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
            ],
            "stream": true, "stream_options": {"include_usage": false, "extra": 1}
        }),
    }
}

/// The endpoint's path, mostly under `/v1`, sometimes without (both are served).
pub(super) fn endpoint_path(rng: &mut Rng, endpoint: Endpoint) -> String {
    let path = match endpoint {
        Endpoint::Chat => "/chat/completions",
        Endpoint::Embeddings => "/embeddings",
    };
    if rng.usize(0..4) == 0 {
        path.to_owned()
    } else {
        format!("/v1{path}")
    }
}
