//! Anthropic's whole answer -> [`ChatResponse`].

use crate::llm::{ChatResponse, FinishReason, Part};

use super::super::error::{parse_error, ErrorKind};
use super::super::usage;
use super::super::wire::{MessageResponse, ResponseBlock};
use super::EgressPlan;

/// Why an answer body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// An error envelope where a message was expected.
    #[error("upstream error {}: {message}", .kind.map_or("unknown", ErrorKind::as_str))]
    Upstream {
        kind: Option<ErrorKind>,
        message: String,
    },
    /// Not a message: the provider broke the format.
    #[error("malformed Anthropic message: {0}")]
    Malformed(String),
}

/// The finish for Anthropic's `stop_reason`. `tool_use` is a natural stop
/// when the only tool used was the response-format tool.
pub(crate) fn finish(
    reason: Option<&str>,
    sequence: Option<&str>,
    only_format_tool: bool,
) -> FinishReason {
    match reason {
        None | Some("end_turn") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("stop_sequence") => FinishReason::StopSequence(sequence.map(str::to_owned)),
        Some("tool_use") if only_format_tool => FinishReason::Stop,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// A `/v1/messages` answer body.
pub fn parse_response(body: &[u8], plan: &EgressPlan) -> Result<ChatResponse, ResponseError> {
    let message: MessageResponse = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(e) => {
            return Err(match parse_error(body) {
                Some((kind, message)) => ResponseError::Upstream { kind, message },
                None => ResponseError::Malformed(e.to_string()),
            })
        }
    };
    Ok(from_message(message, plan))
}

pub(crate) fn from_message(message: MessageResponse, plan: &EgressPlan) -> ChatResponse {
    let mut content = Vec::with_capacity(message.content.len());
    let mut other_tools = false;
    for block in message.content {
        match block {
            ResponseBlock::Text { text } => content.push(Part::text(text)),
            ResponseBlock::Thinking {
                thinking,
                signature,
            } => content.push(Part::Thinking {
                text: thinking,
                signature: (!signature.is_empty()).then_some(signature),
            }),
            ResponseBlock::ToolUse { id, name, input } => {
                if plan.format_tool.as_deref() == Some(name.as_str()) {
                    content.push(Part::text(input.to_string()));
                } else {
                    other_tools = true;
                    content.push(Part::ToolCall {
                        id,
                        name,
                        arguments: input.to_string(),
                    });
                }
            }
            ResponseBlock::RedactedThinking { .. } | ResponseBlock::Unknown => {}
        }
    }
    ChatResponse {
        id: message.id,
        model: message.model,
        content,
        finish: finish(
            message.stop_reason.as_deref(),
            message.stop_sequence.as_deref(),
            plan.format_tool.is_some() && !other_tools,
        ),
        usage: Some(usage::from_wire(&message.usage)),
        created: None,
    }
}
