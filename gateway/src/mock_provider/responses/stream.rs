//! A Response as the Responses API streams it: typed events, each with its
//! `event:` line and a `sequence_number`: `response.created`,
//! `response.in_progress`, per output item `response.output_item.added`, its
//! content (`response.content_part.added`, `response.output_text.delta`s,
//! `response.output_text.done`, `response.content_part.done`, or
//! `response.function_call_arguments.delta`s and `.done`),
//! `response.output_item.done`, then `response.completed` (or
//! `response.incomplete`).

use axum::body::Bytes;
use serde_json::{json, Value};

use super::respond::{call_item, message_item, reasoning_item, response, text_part, Ids, Usage};
use crate::mock_provider::reply::{Plan, TOOL_ARGUMENTS};

/// One frame, and whether it is a content delta (what `cut_after` counts).
pub(crate) struct Frame {
    pub bytes: Bytes,
    pub delta: bool,
}

struct Events {
    frames: Vec<Frame>,
}

impl Events {
    fn push(&mut self, mut data: Value, delta: bool) {
        data["sequence_number"] = json!(self.frames.len());
        let kind = data["type"].as_str().unwrap_or_default().to_owned();
        self.frames.push(Frame {
            bytes: Bytes::from(format!("event: {kind}\ndata: {data}\n\n")),
            delta,
        });
    }
}

/// The `response.failed` frame that replaces the event numbered `sequence`
/// under `stream_error` (the API ends a stream it cannot finish this way).
pub(crate) fn failed_frame(request: &Value, ids: &Ids, created_at: u64, sequence: usize) -> Bytes {
    let mut failed = response(request, ids, created_at, "failed", Vec::new(), None);
    failed["error"] = json!({
        "code": "server_error",
        "message": "The server had an error while processing your request.",
    });
    let data = json!({"type": "response.failed", "sequence_number": sequence, "response": failed});
    Bytes::from(format!("event: response.failed\ndata: {data}\n\n"))
}

/// Every frame of the stream, in order.
pub(crate) fn frames(
    request: &Value,
    plan: &Plan,
    ids: &Ids,
    created_at: u64,
    usage: &Usage,
) -> Vec<Frame> {
    let mut events = Events { frames: Vec::new() };
    let started = response(request, ids, created_at, "in_progress", Vec::new(), None);
    events.push(
        json!({"type": "response.created", "response": started}),
        false,
    );
    events.push(
        json!({"type": "response.in_progress", "response": started}),
        false,
    );
    let mut index = 0;
    if plan.thinking_tokens > 0 {
        let item = reasoning_item(ids);
        events.push(
            json!({"type": "response.output_item.added", "output_index": index, "item": item}),
            false,
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
            false,
        );
        index += 1;
    }
    if !plan.text.is_empty() {
        let id = &ids.message;
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
                "item": message_item(ids, "in_progress", Vec::new())}),
            false,
        );
        events.push(
            json!({"type": "response.content_part.added", "item_id": id, "output_index": index,
                "content_index": 0, "part": text_part("")}),
            false,
        );
        for piece in &plan.text {
            events.push(
                json!({"type": "response.output_text.delta", "item_id": id, "output_index": index,
                    "content_index": 0, "delta": piece, "logprobs": []}),
                true,
            );
        }
        let text = plan.full_text();
        events.push(
            json!({"type": "response.output_text.done", "item_id": id, "output_index": index,
                "content_index": 0, "text": text, "logprobs": []}),
            false,
        );
        events.push(
            json!({"type": "response.content_part.done", "item_id": id, "output_index": index,
                "content_index": 0, "part": text_part(&text)}),
            false,
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
                "item": message_item(ids, super::respond::final_status(plan), vec![text_part(&text)])}),
            false,
        );
        index += 1;
    }
    for (i, call) in plan.tool_calls.iter().enumerate() {
        let item_id = ids.calls[i].0.clone();
        events.push(
            json!({"type": "response.output_item.added", "output_index": index,
                "item": call_item(ids, i, &call.name, "in_progress", "")}),
            false,
        );
        for piece in call.argument_pieces() {
            events.push(
                json!({"type": "response.function_call_arguments.delta", "item_id": item_id,
                    "output_index": index, "delta": piece}),
                true,
            );
        }
        events.push(
            json!({"type": "response.function_call_arguments.done", "item_id": item_id,
                "output_index": index, "name": call.name, "arguments": TOOL_ARGUMENTS}),
            false,
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": index,
                "item": call_item(ids, i, &call.name, "completed", TOOL_ARGUMENTS)}),
            false,
        );
        index += 1;
    }
    let status = super::respond::final_status(plan);
    let finished = response(
        request,
        ids,
        created_at,
        status,
        super::respond::output(plan, ids),
        Some(usage),
    );
    let kind = if status == "completed" {
        "response.completed"
    } else {
        "response.incomplete"
    };
    events.push(json!({"type": kind, "response": finished}), false);
    events.frames
}

/// Where a stream stopped "after k deltas" breaks: at delta `k`, or past the
/// last delta at the final event.
pub(crate) fn index_after_deltas(frames: &[Frame], k: usize) -> usize {
    frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.delta)
        .nth(k)
        .map_or(frames.len().saturating_sub(1), |(i, _)| i)
}
