//! Reading an Anthropic answer that passes through untouched (an Anthropic
//! client served by an Anthropic provider): only the token counts, for the
//! bill, and where the stream ends. The bytes themselves are never rewritten,
//! so nothing here builds JSON; nothing here reads content either.
//!
//! Counts follow [`super::usage`]: `message_start` brings the input side
//! (cache reads and writes included), each `message_delta` the cumulative
//! totals, which win field by field.

use serde::Deserialize;

use crate::llm::TokenUsage;

use super::usage;
use super::wire::UsageWire;

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<UsageWire>,
}

/// The fields of a stream event the bill needs; everything else is skipped
/// unread.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<WithUsage>,
    #[serde(default)]
    usage: Option<UsageWire>,
}

/// The usage of a whole Anthropic message body.
pub fn body_usage(body: &[u8]) -> Option<TokenUsage> {
    let body: WithUsage = serde_json::from_slice(body).ok()?;
    body.usage.as_ref().map(usage::from_wire)
}

/// The provider sent an event that is not an Anthropic event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

/// What one passed-through stream has said about itself so far.
#[derive(Debug, Default)]
pub struct StreamWatch {
    usage: Option<UsageWire>,
    done: bool,
    failed: bool,
}

/// Deltas are most of a stream and carry no counts: they are let by unparsed
/// when they have the API's own spelling.
const DELTA_PREFIX: &[u8] = b"{\"type\":\"content_block_delta\"";

impl StreamWatch {
    /// Notes one event's `data:` payload.
    pub fn on_data(&mut self, data: &[u8]) -> Result<(), Broken> {
        if data.starts_with(DELTA_PREFIX) {
            return Ok(());
        }
        let event: Event = serde_json::from_slice(data).map_err(|_| Broken)?;
        match event.kind.as_str() {
            "message_start" => {
                if let Some(found) = event.message.and_then(|m| m.usage) {
                    self.usage = Some(found);
                }
            }
            "message_delta" => {
                if let Some(later) = event.usage {
                    match &mut self.usage {
                        Some(earlier) => usage::merge(earlier, &later),
                        None => self.usage = Some(later),
                    }
                }
            }
            "message_stop" => self.done = true,
            // The provider's own end of a failed stream (`overloaded_error`
            // and the like): it reaches the client as sent, since the SDKs
            // raise their error class from its type.
            "error" => {
                self.done = true;
                self.failed = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// The counts reported so far.
    pub fn usage(&self) -> Option<TokenUsage> {
        self.usage.as_ref().map(usage::from_wire)
    }

    /// Whether `message_stop` or an `error` event arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the stream ended with the provider's `error` event.
    pub fn failed(&self) -> bool {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/anthropic/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_whole_message_is_billed_with_its_cache_counts() {
        let usage = body_usage(&fixture("response_tool_use.json")).unwrap();
        assert_eq!(usage.cache_write_tokens, 1510);
        assert!(usage.prompt_tokens >= usage.cache_write_tokens);
        assert_eq!(body_usage(b"{\"type\":\"message\"}"), None);
        assert_eq!(body_usage(b"not json"), None);
    }

    #[test]
    fn a_stream_is_billed_from_start_and_final_delta() {
        let mut watch = StreamWatch::default();
        let events: [&[u8]; 6] = [
            br#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":1}}}"#,
            br#"{"type":"ping"}"#,
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
            br#"{"type":"content_block_stop","index":0}"#,
            br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}"#,
            br#"{"type":"message_stop"}"#,
        ];
        for (i, event) in events.iter().enumerate() {
            assert!(!watch.is_done(), "done before event {i}");
            watch.on_data(event).unwrap();
        }
        assert!(watch.is_done());
        let usage = watch.usage().unwrap();
        assert_eq!(usage.prompt_tokens, 3210);
        assert_eq!(usage.cached_prompt_tokens, 3000);
        assert_eq!(usage.cache_write_tokens, 200);
        assert_eq!(usage.completion_tokens, 42);
    }

    #[test]
    fn an_error_event_ends_the_stream_as_failed_and_garbage_breaks_it() {
        let mut watch = StreamWatch::default();
        assert!(!watch.failed());
        assert_eq!(
            watch.on_data(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            Ok(())
        );
        assert!(watch.is_done() && watch.failed());
        let mut watch = StreamWatch::default();
        assert_eq!(watch.on_data(b"{\"choices\":[]}"), Err(Broken));
        assert_eq!(watch.on_data(b"[DONE]"), Err(Broken));
        assert!(watch.usage().is_none());
    }
}
