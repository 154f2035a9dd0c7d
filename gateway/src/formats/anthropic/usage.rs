//! Anthropic token counts <-> [`TokenUsage`]. Anthropic's `input_tokens`
//! excludes cache reads and writes; the gateway's `prompt_tokens` includes
//! both, so the sum is taken here and undone on the way back.

use crate::llm::TokenUsage;

use super::wire::{OutputTokensDetails, UsageWire};

/// The gateway's counts for Anthropic's.
pub fn from_wire(usage: &UsageWire) -> TokenUsage {
    let read = usage.cache_read_input_tokens.unwrap_or(0);
    let write = usage.cache_creation_input_tokens.unwrap_or(0);
    let thinking = usage
        .output_tokens_details
        .as_ref()
        .and_then(|d| d.thinking_tokens)
        .unwrap_or(0);
    TokenUsage {
        prompt_tokens: usage
            .input_tokens
            .unwrap_or(0)
            .saturating_add(read)
            .saturating_add(write),
        completion_tokens: usage.output_tokens,
        cached_prompt_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: thinking,
    }
}

/// Anthropic's counts for the gateway's (all fields present, as the API sends
/// them in a whole message and a final `message_delta`).
pub fn to_wire(usage: &TokenUsage) -> UsageWire {
    let read = usage.cached_prompt_tokens.min(usage.prompt_tokens);
    let write = usage.cache_write_tokens.min(usage.prompt_tokens - read);
    UsageWire {
        input_tokens: Some(usage.prompt_tokens - read - write),
        cache_creation_input_tokens: Some(write),
        cache_read_input_tokens: Some(read),
        output_tokens: usage.completion_tokens,
        output_tokens_details: (usage.reasoning_tokens > 0).then_some(OutputTokensDetails {
            thinking_tokens: Some(usage.reasoning_tokens),
        }),
    }
}

/// Applies a later (cumulative) count over an earlier one: what a
/// `message_delta` says replaces what `message_start` said, field by field.
pub fn merge(earlier: &mut UsageWire, later: &UsageWire) {
    if later.input_tokens.is_some() {
        earlier.input_tokens = later.input_tokens;
    }
    if later.cache_creation_input_tokens.is_some() {
        earlier.cache_creation_input_tokens = later.cache_creation_input_tokens;
    }
    if later.cache_read_input_tokens.is_some() {
        earlier.cache_read_input_tokens = later.cache_read_input_tokens;
    }
    earlier.output_tokens = later.output_tokens;
    if later.output_tokens_details.is_some() {
        earlier.output_tokens_details = later.output_tokens_details.clone();
    }
}
