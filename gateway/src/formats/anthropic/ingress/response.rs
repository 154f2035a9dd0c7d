//! The gateway's whole answer -> an Anthropic message body.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::llm::{ChatResponse, FinishReason, Part};

use super::super::usage;
use super::super::wire::{CountTokensResponse, MessageResponse, ResponseBlock, UsageWire};

/// Anthropic's `stop_reason` (and `stop_sequence`) for a finish.
pub(crate) fn stop_reason(finish: &FinishReason) -> (String, Option<String>) {
    let reason = match finish {
        FinishReason::Stop => "end_turn",
        FinishReason::StopSequence(sequence) => {
            return ("stop_sequence".into(), sequence.clone());
        }
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(other) => match other.as_str() {
            "pause_turn" | "refusal" | "model_context_window_exceeded" => {
                return (other.clone(), None);
            }
            _ => "end_turn",
        },
    };
    (reason.into(), None)
}

/// Tool arguments as the JSON object Anthropic's `input` must be. Arguments
/// that are not an object (a model's malformed JSON from another provider)
/// become `{}`: the client still sees the call, and the text never reaches
/// logs.
pub(crate) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::Object(Map::new()),
    }
}

/// The message for `response`.
pub fn response_message(response: &ChatResponse) -> MessageResponse {
    let content = response
        .content
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } => Some(ResponseBlock::Text { text: text.clone() }),
            Part::Thinking { text, signature } => Some(ResponseBlock::Thinking {
                thinking: text.clone(),
                signature: signature.clone().unwrap_or_default(),
            }),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => Some(ResponseBlock::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: tool_input(arguments),
            }),
            // Not something an assistant answers with.
            Part::Image { .. } | Part::ToolResult { .. } => None,
        })
        .collect();
    let (reason, sequence) = stop_reason(&response.finish);
    MessageResponse {
        id: response.id.clone(),
        kind: "message".into(),
        role: "assistant".into(),
        model: response.model.clone(),
        content,
        stop_reason: Some(reason),
        stop_sequence: sequence,
        usage: response
            .usage
            .as_ref()
            .map(usage::to_wire)
            .unwrap_or_else(|| UsageWire {
                input_tokens: Some(0),
                ..UsageWire::default()
            }),
    }
}

/// The JSON body for `response`.
pub fn response_body(response: &ChatResponse) -> Bytes {
    Bytes::from(serde_json::to_vec(&response_message(response)).unwrap_or_default())
}

/// The JSON body of a `count_tokens` answer.
pub fn count_tokens_body(input_tokens: u64) -> Bytes {
    Bytes::from(serde_json::to_vec(&CountTokensResponse { input_tokens }).unwrap_or_default())
}
