//! A Response object of OpenAI's Responses API (`object: "response"`): output
//! items (a reasoning item, an assistant `message` with `output_text`, and
//! `function_call` items), the request's settings echoed as the real API echoes
//! them, `status` (`incomplete` when `max_output_tokens` cut the answer) and
//! `usage` with cached and reasoning token details.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::mock_provider::reply::{Plan, Stop, TOOL_ARGUMENTS};

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    /// Every input token, cache reads and writes included (as OpenAI counts them).
    pub input: u64,
    pub cached: u64,
    pub cache_write: u64,
    /// Every output token, reasoning included.
    pub output: u64,
    pub reasoning: u64,
}

impl Usage {
    pub(crate) fn json(&self) -> Value {
        json!({
            "input_tokens": self.input,
            "input_tokens_details": {
                "cached_tokens": self.cached,
                "cache_write_tokens": self.cache_write,
            },
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.input + self.output,
        })
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Ids of one answer's items.
pub(crate) struct Ids {
    pub response: String,
    pub reasoning: String,
    pub message: String,
    /// `(item id, call id)` per tool call.
    pub calls: Vec<(String, String)>,
}

impl Ids {
    pub(crate) fn new(plan: &Plan) -> Ids {
        let n = super::super::next_number();
        Ids {
            response: format!("resp_mock{n:06}"),
            reasoning: format!("rs_mock{n:06}"),
            message: format!("msg_mock{n:06}"),
            calls: (0..plan.tool_calls.len())
                .map(|i| (format!("fc_mock{n:06}_{i}"), format!("call_mock{n:06}_{i}")))
                .collect(),
        }
    }
}

pub(crate) fn reasoning_item(ids: &Ids) -> Value {
    json!({"type": "reasoning", "id": ids.reasoning, "summary": []})
}

pub(crate) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

pub(crate) fn message_item(ids: &Ids, status: &str, content: Vec<Value>) -> Value {
    json!({"type": "message", "id": ids.message, "status": status, "role": "assistant", "content": content})
}

pub(crate) fn call_item(ids: &Ids, i: usize, name: &str, status: &str, arguments: &str) -> Value {
    let (item, call) = &ids.calls[i];
    json!({"type": "function_call", "id": item, "call_id": call, "name": name,
        "arguments": arguments, "status": status})
}

/// The output items of the finished answer.
pub(crate) fn output(plan: &Plan, ids: &Ids) -> Vec<Value> {
    let mut items = Vec::new();
    if plan.thinking_tokens > 0 {
        items.push(reasoning_item(ids));
    }
    if !plan.text.is_empty() {
        let status = final_status(plan);
        items.push(message_item(
            ids,
            status,
            vec![text_part(&plan.full_text())],
        ));
    }
    for (i, call) in plan.tool_calls.iter().enumerate() {
        items.push(call_item(ids, i, &call.name, "completed", TOOL_ARGUMENTS));
    }
    items
}

/// The Response for `request` with `output`, in `status` (`in_progress`,
/// `completed` or `incomplete`); usage only once finished.
pub(crate) fn response(
    request: &Value,
    ids: &Ids,
    created_at: u64,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    let echo = |key: &str, default: Value| {
        request
            .get(key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(default)
    };
    let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
    json!({
        "id": ids.response,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "completed_at": if status == "completed" { json!(created_at) } else { Value::Null },
        "background": false,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": echo("instructions", Value::Null),
        "max_output_tokens": echo("max_output_tokens", Value::Null),
        "max_tool_calls": echo("max_tool_calls", Value::Null),
        "metadata": echo("metadata", json!({})),
        "model": echo("model", Value::Null),
        "output": output,
        "parallel_tool_calls": echo("parallel_tool_calls", json!(true)),
        "previous_response_id": echo("previous_response_id", Value::Null),
        "prompt_cache_key": echo("prompt_cache_key", Value::Null),
        "reasoning": {
            "effort": request.pointer("/reasoning/effort").cloned().unwrap_or(Value::Null),
            "summary": request.pointer("/reasoning/summary").cloned().unwrap_or(Value::Null),
        },
        "safety_identifier": echo("safety_identifier", Value::Null),
        "service_tier": "default",
        "store": echo("store", json!(true)),
        "temperature": echo("temperature", json!(1.0)),
        "text": echo("text", json!({"format": {"type": "text"}, "verbosity": "medium"})),
        "tool_choice": echo("tool_choice", json!("auto")),
        "tools": echo("tools", json!([])),
        "top_logprobs": echo("top_logprobs", json!(0)),
        "top_p": echo("top_p", json!(1.0)),
        "truncation": echo("truncation", json!("disabled")),
        "usage": usage.map_or(Value::Null, Usage::json),
        "user": echo("user", Value::Null),
    })
}

pub(crate) fn final_status(plan: &Plan) -> &'static str {
    if plan.stop == Stop::MaxTokens {
        "incomplete"
    } else {
        "completed"
    }
}
