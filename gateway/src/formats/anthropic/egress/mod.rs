//! Anthropic as a provider's format: a [`crate::llm::ChatRequest`] to a
//! Messages API body, and Anthropic's answers (whole, streamed) back to the
//! gateway's model.
//!
//! Choices where the formats differ, made once here:
//! - `temperature` above 1 (OpenAI allows up to 2) is refused with a clear
//!   error, not scaled: no mapping makes OpenAI's 1.6 mean what Anthropic's 0.8
//!   means, and a silent change would make the answer differ from what the
//!   client asked for without anyone knowing. `top_p` outside 0..=1 likewise.
//! - `n` above 1 is refused (Anthropic answers once). `seed`,
//!   `presence_penalty` and `frequency_penalty` are dropped: they are hints
//!   with no Anthropic counterpart, and the answer keeps its shape without them.
//! - `response_format` (JSON schema or JSON object) goes through a forced tool
//!   whose input is the answer; the reply's call of that tool comes back as
//!   text, so the client never sees the tool ([`EgressPlan`] remembers it).
//! - System and developer turns after the first turn join the top-level
//!   `system` (Bedrock, Vertex and other vendors' Anthropic endpoints refuse a
//!   `system` role inside `messages`): their authority is kept, their position
//!   is not.
//! - Consecutive turns of one role are merged, tool results first in their
//!   turn (as the API requires); a tool result that answers no tool call of
//!   the turn before is an error here rather than a 400 from upstream.
//! - Empty text parts are left out (the API refuses empty text blocks), and so
//!   are thinking parts without a signature (another provider's reasoning,
//!   which Anthropic cannot verify).

mod request;
mod response;
mod stream;

/// The `anthropic-version` header egress bodies are written for: the version
/// that still takes `temperature`, `top_p` and `top_k` (`2026-10-21` refuses
/// them even at their defaults).
pub const API_VERSION: &str = "2023-06-01";

/// The `data:` payload of one SSE event as Anthropic sends it (one `data:`
/// line per event), ready for [`StreamDecoder::push`]; `None` for an event
/// without data.
pub fn sse_data(event: &[u8]) -> Option<&[u8]> {
    event.split(|b| *b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.strip_prefix(b"data:")
            .map(|rest| rest.strip_prefix(b" ").unwrap_or(rest))
    })
}

pub use request::{to_request, EgressError, EgressPlan};
pub use response::{parse_response, ResponseError};
pub use stream::{StreamDecoder, StreamError};
