//! A whole Gemini answer (`GenerateContentResponse`) as a [`ChatResponse`],
//! and the pieces the stream decoder shares: parts, finish reasons, usage.
//!
//! Usage follows [`TokenUsage`]'s convention: prompt tokens are
//! `promptTokenCount` (which already includes `cachedContentTokenCount`) plus
//! `toolUsePromptTokenCount` (tool results Gemini fed itself, billed as input
//! but counted apart); cached tokens are `cachedContentTokenCount`;
//! completion tokens are `candidatesTokenCount` plus `thoughtsTokenCount`
//! (thoughts are billed as output and are not in the candidates' count), and
//! reasoning tokens are the thoughts. Gemini writes no cache on a request (an
//! explicit cache is created and billed apart), so cache-write tokens are 0.
//! The catalog prices reasoning at the output price unless it says otherwise,
//! which is how Google bills thinking.
//!
//! Thought parts become [`Part::Thinking`] without a signature: a function
//! call's `thoughtSignature` travels in its tool call id ([`super::ids`]), the
//! only place Gemini requires one back; a signature on a text or thought part
//! is dropped, as no client format could return it to Gemini and another
//! provider could not verify it.

use super::error::{from_status, UpstreamError};
use super::ids;
use super::wire::{self, GenerateContentResponse, UsageMetadata};
use crate::llm::{ChatResponse, FinishReason, ImageSource, Part, TokenUsage};

/// Why an answer could not be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not JSON of the expected shape (where, not what: bodies may hold content).
    #[error("Gemini's answer is not a valid response (line {line}, column {column})")]
    Malformed { line: usize, column: usize },
    /// `promptFeedback.blockReason`: Gemini refused the prompt itself.
    #[error("the prompt was blocked by Gemini's safety filters ({reason})")]
    Blocked { reason: String },
    #[error("Gemini's answer has no candidate")]
    NoCandidate,
    /// An error envelope where an answer was expected.
    #[error(transparent)]
    Upstream(UpstreamError),
}

/// Reads a `generateContent` answer body.
pub fn parse(body: &[u8]) -> Result<ChatResponse, ResponseError> {
    let response = decode(body)?;
    let id = response.response_id.clone().unwrap_or_default();
    let model = response.model_version.clone().unwrap_or_default();
    let usage = response.usage_metadata.as_ref().map(usage);
    let candidate = first_candidate(&response)?;
    let mut calls = 0;
    let content = candidate
        .content
        .as_ref()
        .map(|c| parts(&c.parts, response.response_id.as_deref(), &mut calls))
        .unwrap_or_default();
    Ok(ChatResponse {
        id,
        model,
        content: merge_text(content),
        finish: finish_reason(candidate.finish_reason.as_deref(), calls > 0),
        usage,
        created: None,
    })
}

/// Parses one response object (a whole answer or a stream chunk), turning an
/// error envelope into [`ResponseError::Upstream`].
pub(crate) fn decode(body: &[u8]) -> Result<GenerateContentResponse, ResponseError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
    if !value.is_object() {
        return Err(ResponseError::Malformed { line: 1, column: 1 });
    }
    if let Some(error) = value.get("error").filter(|e| e.is_object()) {
        let status: wire::RpcStatus = serde_json::from_value(error.clone()).unwrap_or_default();
        return Err(ResponseError::Upstream(from_status(200, status)));
    }
    serde_json::from_value(value).map_err(|_| ResponseError::Malformed { line: 1, column: 1 })
}

fn malformed(error: serde_json::Error) -> ResponseError {
    ResponseError::Malformed {
        line: error.line(),
        column: error.column(),
    }
}

/// The block reason's name, as the API spells enums (nothing else passes).
pub(crate) fn blocked(response: &GenerateContentResponse) -> Option<ResponseError> {
    let reason = response.prompt_feedback.as_ref()?.block_reason.as_deref()?;
    let reason: String = reason
        .chars()
        .filter(|c| c.is_ascii_uppercase() || *c == '_')
        .take(48)
        .collect();
    Some(ResponseError::Blocked { reason })
}

/// Candidate 0 (the only one the gateway asks for).
fn first_candidate(response: &GenerateContentResponse) -> Result<&wire::Candidate, ResponseError> {
    if response.candidates.is_empty() {
        return Err(blocked(response).unwrap_or(ResponseError::NoCandidate));
    }
    response
        .candidates
        .iter()
        .find(|c| c.index.unwrap_or(0) == 0)
        .ok_or(ResponseError::NoCandidate)
}

/// Gemini's parts as the gateway's. `calls` counts the function calls seen so
/// far in the answer (it numbers generated ids across stream chunks).
pub(crate) fn parts(
    parts: &[wire::Part],
    response_id: Option<&str>,
    calls: &mut usize,
) -> Vec<Part> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        if let Some(call) = &part.function_call {
            let id = ids::encode(
                call.id.as_deref(),
                response_id,
                *calls,
                part.thought_signature.as_deref(),
            );
            *calls += 1;
            let arguments = match &call.args {
                Some(args @ serde_json::Value::Object(_)) => args.to_string(),
                _ => "{}".to_owned(),
            };
            out.push(Part::ToolCall {
                id,
                name: call.name.clone(),
                arguments,
            });
        } else if let Some(text) = &part.text {
            if part.thought == Some(true) {
                out.push(Part::Thinking {
                    text: text.clone(),
                    signature: None,
                });
            } else if !text.is_empty() {
                out.push(Part::text(text.clone()));
            }
        } else if let Some(blob) = &part.inline_data {
            out.push(Part::Image {
                source: ImageSource::Base64 {
                    media_type: blob.mime_type.clone(),
                    data: blob.data.clone(),
                },
                cache: None,
            });
        }
    }
    out
}

/// Adjacent text parts as one (Gemini may split an answer's text).
fn merge_text(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        if let (Some(Part::Text { text: last, .. }), Part::Text { text, .. }) =
            (out.last_mut(), &part)
        {
            last.push_str(text);
            continue;
        }
        out.push(part);
    }
    out
}

/// Gemini's `finishReason` in the gateway's terms. Gemini says `STOP` after
/// function calls too; `called` turns that into [`FinishReason::ToolCalls`].
pub fn finish_reason(reason: Option<&str>, called: bool) -> FinishReason {
    match reason {
        Some("STOP") | None if called => FinishReason::ToolCalls,
        Some("STOP") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION",
        ) => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.chars().take(64).collect()),
        None => FinishReason::Other("FINISH_REASON_UNSPECIFIED".to_owned()),
    }
}

/// `usageMetadata` in the gateway's convention (see the module comment).
pub fn usage(meta: &UsageMetadata) -> TokenUsage {
    let prompt_tokens = meta
        .prompt_token_count
        .saturating_add(meta.tool_use_prompt_token_count);
    TokenUsage {
        prompt_tokens,
        completion_tokens: meta
            .candidates_token_count
            .saturating_add(meta.thoughts_token_count),
        cached_prompt_tokens: meta.cached_content_token_count.min(prompt_tokens),
        cache_write_tokens: 0,
        reasoning_tokens: meta.thoughts_token_count,
    }
}

/// Reads a `countTokens` answer: the prompt's token count.
pub fn parse_count_tokens(body: &[u8]) -> Result<u64, ResponseError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
    if !value.is_object() {
        return Err(ResponseError::Malformed { line: 1, column: 1 });
    }
    if let Some(error) = value.get("error").filter(|e| e.is_object()) {
        let status: wire::RpcStatus = serde_json::from_value(error.clone()).unwrap_or_default();
        return Err(ResponseError::Upstream(from_status(200, status)));
    }
    serde_json::from_value::<wire::CountTokensResponse>(value)
        .map(|c| c.total_tokens)
        .map_err(|_| ResponseError::Malformed { line: 1, column: 1 })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
