//! A Gemini answer as `streamGenerateContent?alt=sse` sends it: `data:` frames,
//! each a whole `GenerateContentResponse` chunk, ended by `\r\n\r\n` as the real
//! API ends them. Text comes a piece per chunk, thoughts before it, function
//! calls whole in one chunk; the last chunk has the `finishReason` and the full
//! `usageMetadata`, the others the prompt counts only.

use axum::body::Bytes;
use serde_json::{json, Value};

use super::respond::{call_parts, envelope, finish_reason, thought_part, Usage};
use crate::mock_provider::reply::Plan;

/// The chunks of the stream for `plan`, as JSON values.
pub(crate) fn chunks(
    model: &str,
    id: &str,
    plan: &Plan,
    usage: &Usage,
    show_thoughts: bool,
) -> Vec<Value> {
    let mut parts_per_chunk: Vec<Vec<Value>> = Vec::new();
    if show_thoughts && plan.thinking_tokens > 0 {
        parts_per_chunk.push(vec![thought_part()]);
    }
    for piece in &plan.text {
        parts_per_chunk.push(vec![json!({"text": piece})]);
    }
    let calls = call_parts(plan);
    if !calls.is_empty() {
        parts_per_chunk.push(calls);
    }
    if parts_per_chunk.is_empty() {
        parts_per_chunk.push(vec![json!({"text": ""})]);
    }
    let last = parts_per_chunk.len() - 1;
    parts_per_chunk
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
            if i == last {
                candidate["finishReason"] = json!(finish_reason(&plan.stop));
            }
            envelope(model, id, Some(candidate), usage.json(i == last))
        })
        .collect()
}

/// One SSE frame.
pub(crate) fn frame(chunk: &Value) -> Bytes {
    Bytes::from(format!("data: {chunk}\r\n\r\n"))
}

/// The chunks as one JSON array, as the API answers without `alt=sse`.
pub(crate) fn array(chunks: &[Value]) -> Bytes {
    let items: Vec<String> = chunks.iter().map(Value::to_string).collect();
    Bytes::from(format!("[{}]", items.join(",\r\n")))
}
