//! The `usage` object of OpenAI responses and stream chunks, read into
//! [`TokenUsage`]. Only counts are read; no content.

use pricing::TokenUsage;
use serde::Deserialize;

use super::field;

#[derive(Debug, Deserialize)]
struct UsageWire {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<UsageWire> for TokenUsage {
    fn from(wire: UsageWire) -> Self {
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
}

/// `usage` read from the start of its value (see [`field::value_of`]); `None`
/// when it is `null` or not a usage object.
fn read_usage(value: &[u8]) -> Option<TokenUsage> {
    let mut deserializer = serde_json::Deserializer::from_slice(value);
    Option::<UsageWire>::deserialize(&mut deserializer)
        .ok()?
        .map(TokenUsage::from)
}

/// Usage from a whole (non-streaming) response body, if it has one. Only the
/// top-level `usage` value is parsed; the rest is skimmed.
pub fn from_response(body: &[u8]) -> Option<TokenUsage> {
    read_usage(field::value_of(body, "usage")?)
}

/// What a stream chunk says about usage, for deciding whether the client sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkUsage {
    pub usage: TokenUsage,
    /// True when the chunk carries nothing but usage (empty `choices`): the extra
    /// chunk that `stream_options.include_usage` adds at the end of a stream.
    pub usage_only: bool,
}

/// Usage in one chunk's JSON data, if present and not null.
pub fn from_chunk(data: &[u8]) -> Option<ChunkUsage> {
    let usage = read_usage(field::value_of(data, "usage")?)?;
    // No `choices` is as good as an empty list; one that is not a list
    // makes the chunk unreadable.
    let usage_only = match field::value_of(data, "choices") {
        None => true,
        Some(choices) => {
            let rest = choices.strip_prefix(b"[")?;
            rest.trim_ascii_start().starts_with(b"]")
        }
    };
    Some(ChunkUsage { usage, usage_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counts_including_cached_tokens() {
        let body = br#"{"id":"x","usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}"#;
        assert_eq!(
            from_response(body),
            Some(TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 3,
                cached_prompt_tokens: 8,
                cache_write_tokens: 0,
                reasoning_tokens: 2,
            })
        );
        assert_eq!(from_response(br#"{"id":"x"}"#), None);
        assert_eq!(from_response(br#"{"usage":null}"#), None);
        // A usage object inside the answer's content or a nested object is not
        // the answer's usage.
        let nested = br#"{"choices":[{"message":{"content":"\"usage\":{}","usage":{"prompt_tokens":9}}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert_eq!(from_response(nested).map(|u| u.prompt_tokens), Some(1));
        assert_eq!(from_response(br#"{"usage":"many"}"#), None);
    }

    #[test]
    fn tells_the_usage_only_chunk_apart() {
        let last = br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(from_chunk(last).unwrap().usage_only);
        let inline = br#"{"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(!from_chunk(inline).unwrap().usage_only);
        assert_eq!(from_chunk(br#"{"choices":[],"usage":null}"#), None);
        let spaced = br#"{"choices": [ ], "usage":{"prompt_tokens":1}}"#;
        assert!(from_chunk(spaced).unwrap().usage_only);
        let no_choices = br#"{"usage":{"prompt_tokens":1}}"#;
        assert!(from_chunk(no_choices).unwrap().usage_only);
        assert_eq!(
            from_chunk(br#"{"choices":null,"usage":{"prompt_tokens":1}}"#),
            None
        );
    }
}
