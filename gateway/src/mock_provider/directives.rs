//! Parsing the behaviour a test asks of the mock from the model name.
//!
//! One set of directives for every wire format the mock speaks; a format ignores
//! the directives that mean nothing in it (each field says where it applies).

use std::time::Duration;

/// `mock+status=500+delay_ms=20`: unknown or malformed pairs are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// Answer with this HTTP status and an OpenAI-shaped error.
    pub status: Option<u16>,
    /// Wait this long before sending response headers.
    pub delay: Duration,
    /// Wait this long between stream chunks.
    pub chunk_delay: Duration,
    /// Close the connection after this many content chunks (streams) or midway
    /// through the body (non-streaming).
    pub cut_after: Option<usize>,
    /// Words in the reply (default 8).
    pub words: Option<usize>,
    /// Answer 200 with a stream that sends headers and then nothing.
    pub silent_stream: bool,
    /// Answer 200 with a stream whose body fails before the first event.
    pub abort_stream: bool,
    /// Answer with this 3xx status and a `Location` on the same mock that would
    /// serve the request (see `/redirect-target`).
    pub redirect: Option<u16>,
    /// Non-streaming: an answer of exactly this many bytes (the content padded),
    /// sent in pieces as it is generated, so it may be endless in effect.
    pub body_bytes: Option<u64>,
    /// With `body_bytes`: declare the length in `Content-Length`.
    pub declare_length: bool,
    /// Streaming: the event at `big_event_at` carries a content delta that makes
    /// it this many bytes, generated in pieces.
    pub big_event: Option<u64>,
    /// Index of the big event (0 is the role chunk; default 1).
    pub big_event_at: usize,
    /// Anthropic, Gemini: how many tool calls to answer with when the request
    /// offers tools and may call them (default 1; 0: answer with text).
    pub tool_calls: Option<usize>,
    /// Anthropic, Gemini: a short text before the tool calls.
    pub text_first: bool,
    /// Anthropic, Gemini: prompt tokens reported as neither read from nor written
    /// to a cache (default: a quarter of the request body's bytes).
    pub prompt_tokens: Option<u64>,
    /// Anthropic: `cache_read_input_tokens`; Gemini: `cachedContentTokenCount`.
    /// Given, it replaces the cache the mock simulates from `cache_control`.
    pub cache_read: Option<u64>,
    /// Anthropic: `cache_creation_input_tokens` (as 5-minute cache writes).
    pub cache_write: Option<u64>,
    /// Anthropic: a thinking block billed as this many output tokens; Gemini:
    /// `thoughtsTokenCount` (and a thought part when the request asks for them).
    pub thinking: Option<u64>,
    /// Gemini: a safety block of the prompt (`safety=prompt`) or of the answer
    /// (`safety=response`).
    pub safety: Option<Safety>,
    /// Anthropic streams: after this many content deltas, an `error` event
    /// (`overloaded_error`) ends the stream, as the real API does when it is
    /// overloaded mid-answer. Responses streams: a `response.failed` event
    /// (`server_error`) does.
    pub stream_error: Option<usize>,
    /// Anthropic: accept `system` messages inside `messages`, as the first-party
    /// API of late 2026 does (refused by default: see `anthropic::validate`).
    pub system_messages: bool,
}

/// Which safety block a Gemini answer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// `promptFeedback.blockReason = SAFETY`, no candidates.
    Prompt,
    /// A candidate with `finishReason = SAFETY` and no content.
    Response,
}

impl Directives {
    pub fn parse(model: &str) -> Directives {
        let mut directives = Directives {
            big_event_at: 1,
            ..Directives::default()
        };
        for part in model.split('+') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let number = value.parse::<u64>().ok();
            if key == "safety" {
                directives.safety = match value {
                    "prompt" => Some(Safety::Prompt),
                    "response" => Some(Safety::Response),
                    _ => directives.safety,
                };
                continue;
            }
            match (key, number) {
                ("status", Some(n)) => directives.status = u16::try_from(n).ok(),
                ("delay_ms", Some(n)) => directives.delay = Duration::from_millis(n),
                ("chunk_delay_ms", Some(n)) => directives.chunk_delay = Duration::from_millis(n),
                ("cut_after", Some(n)) => directives.cut_after = usize::try_from(n).ok(),
                ("words", Some(n)) => directives.words = usize::try_from(n.min(100_000)).ok(),
                ("silent", Some(n)) => directives.silent_stream = n > 0,
                ("abort", Some(n)) => directives.abort_stream = n > 0,
                ("redirect", Some(n)) => directives.redirect = u16::try_from(n).ok(),
                ("body_bytes", Some(n)) => directives.body_bytes = Some(n),
                ("declare_length", Some(n)) => directives.declare_length = n > 0,
                ("big_event", Some(n)) => directives.big_event = Some(n),
                ("big_event_at", Some(n)) => {
                    directives.big_event_at = usize::try_from(n).unwrap_or(usize::MAX);
                }
                ("tool_calls", Some(n)) => directives.tool_calls = usize::try_from(n.min(64)).ok(),
                ("text_first", Some(n)) => directives.text_first = n > 0,
                ("prompt_tokens", Some(n)) => directives.prompt_tokens = Some(n),
                ("cache_read", Some(n)) => directives.cache_read = Some(n),
                ("cache_write", Some(n)) => directives.cache_write = Some(n),
                ("thinking", Some(n)) => directives.thinking = Some(n),
                ("stream_error", Some(n)) => directives.stream_error = usize::try_from(n).ok(),
                ("system_messages", Some(n)) => directives.system_messages = n > 0,
                _ => {}
            }
        }
        directives
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_pairs_and_ignores_the_rest() {
        let d = Directives::parse("mock+status=429+delay_ms=15+cut_after=2+bogus=1+words=x");
        assert_eq!(d.status, Some(429));
        assert_eq!(d.delay, Duration::from_millis(15));
        assert_eq!(d.cut_after, Some(2));
        assert_eq!(d.words, None);
        assert_eq!(Directives::parse("gpt-4o").big_event_at, 1);
        let d = Directives::parse("mock+redirect=307+body_bytes=99+declare_length=1");
        assert_eq!(
            (d.redirect, d.body_bytes, d.declare_length),
            (Some(307), Some(99), true)
        );
        let d = Directives::parse("mock+big_event=5000+big_event_at=0");
        assert_eq!((d.big_event, d.big_event_at), (Some(5000), 0));
    }

    #[test]
    fn reads_the_directives_of_the_other_formats() {
        let d = Directives::parse(
            "claude+tool_calls=2+text_first=1+prompt_tokens=50+cache_read=1000+cache_write=200\
             +thinking=64+safety=prompt+stream_error=3+system_messages=1",
        );
        assert_eq!(d.tool_calls, Some(2));
        assert!(d.text_first && d.system_messages);
        assert_eq!(
            (d.prompt_tokens, d.cache_read, d.cache_write, d.thinking),
            (Some(50), Some(1000), Some(200), Some(64))
        );
        assert_eq!(d.safety, Some(Safety::Prompt));
        assert_eq!(d.stream_error, Some(3));
        assert_eq!(
            Directives::parse("g+safety=response").safety,
            Some(Safety::Response)
        );
        // An unknown value leaves the directive unset.
        assert_eq!(Directives::parse("g+safety=maybe").safety, None);
        assert_eq!(
            Directives::parse("mock"),
            Directives::parse("mock+tool_calls=x")
        );
    }
}
