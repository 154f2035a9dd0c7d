//! The `usage` object of OpenAI responses and stream chunks, read into
//! [`TokenUsage`]. Only counts are read; no content.

use pricing::TokenUsage;
use serde::Deserialize;

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

#[derive(Deserialize)]
struct WithUsage {
    usage: Option<UsageWire>,
}

/// Usage from a whole (non-streaming) response body, if it has one.
pub fn from_response(body: &[u8]) -> Option<TokenUsage> {
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .map(TokenUsage::from)
}

/// What a stream chunk says about usage, for deciding whether the client sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkUsage {
    pub usage: TokenUsage,
    /// True when the chunk carries nothing but usage (empty `choices`): the extra
    /// chunk that `stream_options.include_usage` adds at the end of a stream.
    pub usage_only: bool,
}

#[derive(Deserialize)]
struct ChunkWire {
    usage: Option<UsageWire>,
    #[serde(default)]
    choices: Vec<serde::de::IgnoredAny>,
}

/// Usage in one chunk's JSON data, if present and not null.
pub fn from_chunk(data: &[u8]) -> Option<ChunkUsage> {
    let chunk: ChunkWire = serde_json::from_slice(data).ok()?;
    Some(ChunkUsage {
        usage: chunk.usage?.into(),
        usage_only: chunk.choices.is_empty(),
    })
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
    }

    #[test]
    fn tells_the_usage_only_chunk_apart() {
        let last = br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(from_chunk(last).unwrap().usage_only);
        let inline = br#"{"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(!from_chunk(inline).unwrap().usage_only);
        assert_eq!(from_chunk(br#"{"choices":[],"usage":null}"#), None);
    }
}
