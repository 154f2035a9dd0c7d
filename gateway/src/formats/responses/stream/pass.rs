//! A Responses stream passed through untouched, when the client and the
//! provider both speak the Responses API. Nothing here rewrites an event; the
//! [`Watcher`] only reads what the gateway must know of the stream: the usage
//! of its final event (to bill it), whether it reached its end (a stream cut
//! before `response.completed`, `.incomplete`, `.failed` or `error` is an
//! interruption), and the next sequence number, so that an `error` event the
//! gateway adds to a cut stream continues the provider's count.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;

use crate::llm::TokenUsage;

use super::super::error::ErrorObject;
use super::super::response::token_usage;
use super::super::wire::response::Usage;
use super::frame;

/// What the gateway reads of a passed-through stream.
#[derive(Debug, Clone, Default)]
pub struct Watcher {
    usage: Option<TokenUsage>,
    done: bool,
    failed: bool,
    next_sequence: u64,
}

/// The two fields of every event the watcher looks at; the rest is skipped.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    sequence_number: Option<u64>,
}

/// The usage of a final event's Response.
#[derive(Deserialize)]
struct Final {
    response: FinalResponse,
}

#[derive(Deserialize)]
struct FinalResponse {
    #[serde(default)]
    usage: Option<Usage>,
}

impl Watcher {
    pub fn new() -> Watcher {
        Watcher::default()
    }

    /// Reads one event's `data:` JSON. Unreadable events are the client's to
    /// judge: they pass on and change nothing here.
    pub fn observe(&mut self, data: &[u8]) {
        let Ok(peek) = serde_json::from_slice::<Peek>(data) else {
            return;
        };
        if let Some(number) = peek.sequence_number {
            self.next_sequence = number.saturating_add(1);
        }
        match peek.kind.as_ref() {
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.done = true;
                self.failed = peek.kind == "response.failed";
                if let Ok(last) = serde_json::from_slice::<Final>(data) {
                    if let Some(usage) = last.response.usage {
                        self.usage = Some(token_usage(&usage));
                    }
                }
            }
            "error" => {
                self.done = true;
                self.failed = true;
            }
            _ => {}
        }
    }

    /// The usage the final event reported, if it came.
    pub fn usage(&self) -> Option<TokenUsage> {
        self.usage
    }

    /// Whether the provider's stream reached one of its ends.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Whether the provider ended the stream with its own failure
    /// (`response.failed` or `error`), which the client got as sent.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The `error` event that ends a stream the provider cut, numbered after
    /// the last event the client saw.
    pub fn error_event(&self, error: &ErrorObject) -> Bytes {
        frame(&error.event(self.next_sequence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"m","output":[]}}"#;
    const DELTA: &str = r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"hi","logprobs":[]}"#;
    const COMPLETED: &str = r#"{"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"m","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":19}}}"#;

    #[test]
    fn reads_the_usage_and_the_end_of_the_stream() {
        let mut watcher = Watcher::new();
        watcher.observe(CREATED.as_bytes());
        watcher.observe(DELTA.as_bytes());
        assert!(!watcher.done());
        assert_eq!(watcher.usage(), None);
        watcher.observe(COMPLETED.as_bytes());
        assert!(watcher.done());
        assert_eq!(
            watcher.usage(),
            Some(TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 7,
                cached_prompt_tokens: 4,
                cache_write_tokens: 0,
                reasoning_tokens: 3,
            })
        );
    }

    #[test]
    fn a_failure_or_an_error_event_ends_it_too() {
        for (end, failed) in [
            (
                r#"{"type":"response.failed","sequence_number":2,"response":{"status":"failed","error":{"code":"server_error","message":"x"}}}"#,
                true,
            ),
            (
                r#"{"type":"response.incomplete","sequence_number":2,"response":{"status":"incomplete"}}"#,
                false,
            ),
            (
                r#"{"type":"error","sequence_number":2,"code":"server_error","message":"x","param":null}"#,
                true,
            ),
        ] {
            let mut watcher = Watcher::new();
            assert!(!watcher.failed());
            watcher.observe(end.as_bytes());
            assert!(watcher.done(), "{end}");
            assert_eq!(watcher.failed(), failed, "{end}");
            assert_eq!(watcher.usage(), None, "{end}");
        }
    }

    #[test]
    fn the_gateway_error_event_continues_the_count() {
        let mut watcher = Watcher::new();
        watcher.observe(CREATED.as_bytes());
        watcher.observe(DELTA.as_bytes());
        watcher.observe(b"not json");
        let object = ErrorObject {
            message: "cut".to_owned(),
            kind: "upstream_error".to_owned(),
            param: None,
            code: Some("stream_cut".to_owned()),
        };
        let event = watcher.error_event(&object);
        let text = std::str::from_utf8(&event).unwrap();
        assert!(text.starts_with("event: error\ndata: "), "{text}");
        let data: serde_json::Value =
            serde_json::from_str(text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap())
                .unwrap();
        assert_eq!(data["type"], "error");
        assert_eq!(data["sequence_number"], 5);
        assert_eq!(data["code"], "stream_cut");
        assert_eq!(data["message"], "cut");
    }
}
