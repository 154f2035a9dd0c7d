//! `streamGenerateContent?alt=sse` chunks as [`StreamEvent`]s.
//!
//! Each SSE event's `data:` is a whole `GenerateContentResponse`: some text or
//! thought parts, function calls whole (Gemini never splits one), and on the
//! last chunk the `finishReason` and the answer's full `usageMetadata` (earlier
//! chunks carry the prompt's counts only). The decoder keeps what spans chunks
//! (whether it has started, how many calls it numbered, whether it finished) and
//! emits: `Start` once; `Thinking` and `Text` deltas; `ToolCallStart` then one
//! `ToolCallArguments` with the whole JSON per call; `Finish` once; `Usage`
//! with the finishing chunk's counts, and again if a later chunk changes them
//! (the last `Usage` wins).
//!
//! A stream that ends before a `finishReason` is [`StreamError::Truncated`],
//! never a silent success; a blocked prompt or an error object inside the
//! stream is an error too, so the proxy can fail over before the first byte.

use super::response::{self, blocked, decode, ResponseError};
use super::wire::UsageMetadata;
use crate::llm::{Part, StreamEvent};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Chunk(#[from] ResponseError),
    #[error("Gemini's stream ended before the answer finished")]
    Truncated,
}

/// The state of one streamed answer.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// Function calls numbered so far.
    calls: usize,
    finished: bool,
    /// The usage of the latest chunk that had one.
    latest: Option<UsageMetadata>,
    /// The usage last emitted.
    usage: Option<UsageMetadata>,
    response_id: Option<String>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    /// One whole SSE event as the upstream sent it (`data:` lines; comments and
    /// other fields are ignored; an event without data yields nothing).
    pub fn event(&mut self, event: &[u8]) -> Result<Vec<StreamEvent>, StreamError> {
        match sse_data(event) {
            Some(data) => self.data(&data),
            None => Ok(Vec::new()),
        }
    }

    /// One chunk: the JSON of one event's `data`.
    pub fn data(&mut self, data: &[u8]) -> Result<Vec<StreamEvent>, StreamError> {
        let chunk = decode(data)?;
        if let Some(error) = blocked(&chunk) {
            return Err(error.into());
        }
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            self.response_id.clone_from(&chunk.response_id);
            events.push(StreamEvent::Start {
                id: chunk.response_id.clone().unwrap_or_default(),
                model: chunk.model_version.clone().unwrap_or_default(),
            });
        }
        let candidate = chunk.candidates.iter().find(|c| c.index.unwrap_or(0) == 0);
        if let Some(candidate) = candidate {
            if !self.finished {
                let parts = candidate.content.as_ref().map_or(&[][..], |c| &c.parts[..]);
                let first_call = u32::try_from(self.calls).unwrap_or(u32::MAX);
                let converted =
                    response::parts(parts, self.response_id.as_deref(), &mut self.calls);
                let mut index = first_call;
                for part in converted {
                    match part {
                        Part::Text { text, .. } => events.push(StreamEvent::Text(text)),
                        Part::Thinking { text, signature } => {
                            events.push(StreamEvent::Thinking { text, signature })
                        }
                        Part::ToolCall {
                            id,
                            name,
                            arguments,
                        } => {
                            events.push(StreamEvent::ToolCallStart { index, id, name });
                            events.push(StreamEvent::ToolCallArguments { index, arguments });
                            index = index.saturating_add(1);
                        }
                        Part::Image { .. } | Part::ToolResult { .. } => {}
                    }
                }
                if let Some(reason) = candidate.finish_reason.as_deref() {
                    self.finished = true;
                    events.push(StreamEvent::Finish(response::finish_reason(
                        Some(reason),
                        self.calls > 0,
                    )));
                }
            }
        }
        if chunk.usage_metadata.is_some() {
            self.latest = chunk.usage_metadata;
        }
        if self.finished {
            if let Some(meta) = self.latest {
                if self.usage != Some(meta) {
                    self.usage = Some(meta);
                    events.push(StreamEvent::Usage(response::usage(&meta)));
                }
            }
        }
        Ok(events)
    }

    /// The upstream's stream ended.
    pub fn end(&mut self) -> Result<Vec<StreamEvent>, StreamError> {
        if self.finished {
            Ok(Vec::new())
        } else {
            Err(StreamError::Truncated)
        }
    }

    /// Whether a `Finish` was emitted.
    pub fn finished(&self) -> bool {
        self.finished
    }
}

/// The data of one SSE event: its `data:` lines joined by newlines.
pub fn sse_data(event: &[u8]) -> Option<Vec<u8>> {
    let mut data: Option<Vec<u8>> = None;
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(value) = line.strip_prefix(b"data:") else {
            continue;
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        match &mut data {
            Some(joined) => {
                joined.push(b'\n');
                joined.extend_from_slice(value);
            }
            None => data = Some(value.to_vec()),
        }
    }
    data
}

/// A whole SSE body cut into events (blank-line separated, `\n` or `\r\n`).
pub fn split_events(body: &[u8]) -> Vec<&[u8]> {
    let mut events = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        let end = [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"]
            .iter()
            .find(|sep| body[i..].starts_with(sep))
            .map(|sep| sep.len());
        match end {
            Some(len) => {
                events.push(&body[start..i]);
                i += len;
                start = i;
            }
            None => i += 1,
        }
    }
    if start < body.len() {
        events.push(&body[start..]);
    }
    events
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
