//! Whole chat completion answers to the gateway's [`ChatResponse`] and back, with
//! the `usage` object and finish reasons both streams and answers share. Only the
//! first choice is read: the model holds one answer.

use pricing::TokenUsage;

use crate::llm::{ChatResponse, FinishReason, Part};

use super::wire;

/// Why an upstream answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a chat completion: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a chat completion without choices")]
    NoChoice,
}

/// Reads a provider's chat completion.
pub fn decode(body: &[u8]) -> Result<ChatResponse, DecodeError> {
    let wire: wire::Response = serde_json::from_slice(body)?;
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or(DecodeError::NoChoice)?;
    let message = choice.message;
    let mut content = Vec::new();
    if let Some(text) = message.content.filter(|t| !t.is_empty()) {
        content.push(Part::text(text));
    }
    if let Some(refusal) = message.refusal {
        content.push(Part::text(refusal));
    }
    content.extend(
        message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|call| Part::ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
            }),
    );
    Ok(ChatResponse {
        id: wire.id,
        model: wire.model,
        content,
        finish: choice
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Stop, finish_reason),
        usage: wire.usage.map(usage),
        created: Some(wire.created),
    })
}

/// Writes `response` as a chat completion; `created` is used when the response
/// has no time of its own.
pub fn encode(response: &ChatResponse, created: i64) -> Vec<u8> {
    let text: String = response
        .content
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<wire::ToolCall> = response
        .content
        .iter()
        .filter_map(|part| match part {
            Part::ToolCall {
                id,
                name,
                arguments,
            } => Some(wire::ToolCall {
                id: id.clone(),
                kind: wire::FunctionType::Function,
                function: wire::FunctionCall {
                    name: name.clone(),
                    arguments: arguments.clone(),
                },
            }),
            _ => None,
        })
        .collect();
    let has_text = !text.is_empty() || calls.is_empty();
    let wire = wire::Response {
        id: response.id.clone(),
        object: "chat.completion".to_owned(),
        created: response.created.unwrap_or(created),
        model: response.model.clone(),
        choices: vec![wire::Choice {
            index: 0,
            message: wire::AnswerMessage {
                role: "assistant".to_owned(),
                content: has_text.then_some(text),
                tool_calls: (!calls.is_empty()).then_some(calls),
                refusal: None,
            },
            finish_reason: Some(finish_reason_text(&response.finish).to_owned()),
            logprobs: None,
        }],
        usage: response.usage.as_ref().map(usage_wire),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

pub fn finish_reason(text: &str) -> FinishReason {
    match text {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

pub fn finish_reason_text(finish: &FinishReason) -> &str {
    match finish {
        FinishReason::Stop | FinishReason::StopSequence(_) => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(other) => other,
    }
}

pub fn usage(wire: wire::Usage) -> TokenUsage {
    TokenUsage {
        prompt_tokens: wire.prompt_tokens,
        completion_tokens: wire.completion_tokens,
        cached_prompt_tokens: wire
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: wire
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
    }
}

/// OpenAI's usage object has no cache writes: they stay counted in
/// `prompt_tokens`, as [`TokenUsage`] counts them.
pub fn usage_wire(usage: &TokenUsage) -> wire::Usage {
    wire::Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.total(),
        prompt_tokens_details: Some(wire::PromptDetails {
            cached_tokens: Some(usage.cached_prompt_tokens),
        }),
        completion_tokens_details: Some(wire::CompletionDetails {
            reasoning_tokens: Some(usage.reasoning_tokens),
        }),
    }
}
