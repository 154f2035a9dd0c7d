//! A whole (non-streamed) Message, and the usage both answers report: the real
//! shape (`id` `msg_...`, `type`, `role`, `model`, content blocks thinking / text /
//! tool_use, `stop_reason`, `stop_sequence`, `usage` with the cache counts and
//! their 5-minute / 1-hour split).

use serde_json::{json, Value};

use crate::mock_provider::reply::{Plan, Stop, THINKING, TOOL_ARGUMENTS};

/// The opaque signature of the mock's thinking blocks.
pub(crate) const SIGNATURE: &str = "bW9jay10aGlua2luZy1zaWduYXR1cmU=";

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Prompt tokens neither read from nor written to the cache.
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// Whether the cache write is to the one-hour cache.
    pub one_hour: bool,
    /// Every output token, thinking included.
    pub output: u64,
    pub thinking: u64,
}

impl Usage {
    pub(crate) fn json(&self, output: u64) -> Value {
        let (five, hour) = if self.one_hour {
            (0, self.cache_write)
        } else {
            (self.cache_write, 0)
        };
        let mut usage = json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": five,
                "ephemeral_1h_input_tokens": hour,
            },
            "output_tokens": output,
            "service_tier": "standard",
        });
        if self.thinking > 0 {
            usage["output_tokens_details"] = json!({"thinking_tokens": self.thinking});
        }
        usage
    }
}

pub(crate) fn stop_reason(stop: &Stop) -> (&'static str, Value) {
    match stop {
        Stop::EndTurn => ("end_turn", Value::Null),
        Stop::MaxTokens => ("max_tokens", Value::Null),
        Stop::Sequence(s) => ("stop_sequence", Value::String(s.clone())),
        Stop::ToolUse => ("tool_use", Value::Null),
    }
}

/// Ids of the answer's tool calls (`toolu_...`), unique across answers.
pub(crate) fn tool_ids(plan: &Plan) -> Vec<String> {
    plan.tool_calls
        .iter()
        .map(|_| format!("toolu_mock{:06}", super::super::next_number()))
        .collect()
}

/// The Message for `plan`.
pub(crate) fn message(id: &str, model: &str, plan: &Plan, usage: &Usage) -> Value {
    let mut content = Vec::new();
    if plan.thinking_tokens > 0 {
        content.push(
            json!({"type": "thinking", "thinking": THINKING.concat(), "signature": SIGNATURE}),
        );
    }
    if !plan.text.is_empty() {
        content.push(json!({"type": "text", "text": plan.full_text()}));
    }
    let input: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or(Value::Null);
    for (call, tool_id) in plan.tool_calls.iter().zip(tool_ids(plan)) {
        content.push(json!({"type": "tool_use", "id": tool_id, "name": call.name, "input": input}));
    }
    let (reason, sequence) = stop_reason(&plan.stop);
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage.json(usage.output),
    })
}
