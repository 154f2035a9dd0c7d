//! A Message as Anthropic streams it: `message_start`, then per content block
//! `content_block_start`, its deltas (`thinking_delta` + `signature_delta`,
//! `text_delta`, `input_json_delta`) and `content_block_stop`, a `ping` after the
//! first block starts, then `message_delta` (stop reason and cumulative usage) and
//! `message_stop`. Each frame carries its `event:` line, as the real API sends it.

use axum::body::Bytes;
use serde_json::{json, Value};

use super::respond::{stop_reason, tool_ids, Usage, SIGNATURE};
use crate::mock_provider::reply::{Plan, THINKING};

/// One frame, and whether it is a content delta (what `cut_after` counts).
pub(crate) struct Frame {
    pub bytes: Bytes,
    pub delta: bool,
}

fn frame(event: &str, data: &Value, delta: bool) -> Frame {
    Frame {
        bytes: Bytes::from(format!("event: {event}\ndata: {data}\n\n")),
        delta,
    }
}

/// Every frame of the stream for `plan`, in order.
pub(crate) fn frames(id: &str, model: &str, plan: &Plan, usage: &Usage) -> Vec<Frame> {
    let mut out = vec![frame(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": usage.json(1),
        }}),
        false,
    )];
    let mut index = 0_usize;
    let mut block = |out: &mut Vec<Frame>, start: Value, deltas: Vec<Value>| {
        out.push(frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
            false,
        ));
        if index == 0 {
            out.push(frame("ping", &json!({"type": "ping"}), false));
        }
        for delta in deltas {
            out.push(frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                true,
            ));
        }
        out.push(frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
            false,
        ));
        index += 1;
    };
    if plan.thinking_tokens > 0 {
        let mut deltas: Vec<Value> = THINKING
            .iter()
            .map(|piece| json!({"type": "thinking_delta", "thinking": piece}))
            .collect();
        deltas.push(json!({"type": "signature_delta", "signature": SIGNATURE}));
        block(
            &mut out,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            deltas,
        );
    }
    if !plan.text.is_empty() {
        let deltas = plan
            .text
            .iter()
            .map(|piece| json!({"type": "text_delta", "text": piece}))
            .collect();
        block(&mut out, json!({"type": "text", "text": ""}), deltas);
    }
    for (call, tool_id) in plan.tool_calls.iter().zip(tool_ids(plan)) {
        // The real API opens tool input with an empty piece.
        let deltas = std::iter::once("")
            .chain(call.argument_pieces())
            .map(|piece| json!({"type": "input_json_delta", "partial_json": piece}))
            .collect();
        block(
            &mut out,
            json!({"type": "tool_use", "id": tool_id, "name": call.name, "input": {}}),
            deltas,
        );
    }
    if index == 0 {
        out.push(frame("ping", &json!({"type": "ping"}), false));
    }
    let (reason, sequence) = stop_reason(&plan.stop);
    let mut final_usage = json!({
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": usage.output,
    });
    if usage.thinking > 0 {
        final_usage["output_tokens_details"] = json!({"thinking_tokens": usage.thinking});
    }
    out.push(frame(
        "message_delta",
        &json!({"type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": final_usage}),
        false,
    ));
    out.push(frame(
        "message_stop",
        &json!({"type": "message_stop"}),
        false,
    ));
    out
}

/// The index of the frame that would carry delta number `k` (0-based) or, past
/// the last delta, of `message_stop`: where a stream stopped "after k deltas"
/// breaks.
pub(crate) fn index_after_deltas(frames: &[Frame], k: usize) -> usize {
    frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.delta)
        .nth(k)
        .map_or(frames.len().saturating_sub(1), |(i, _)| i)
}
