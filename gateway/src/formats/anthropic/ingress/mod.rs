//! Anthropic as the client's format (`POST /v1/messages` from Claude Code and
//! the Anthropic SDKs): request bytes to a [`crate::llm::ChatRequest`], and the
//! gateway's answer back as an Anthropic message, stream or error.
//!
//! What an Anthropic client may send but the gateway cannot carry through its
//! format-neutral model is refused with an `invalid_request_error` that names
//! it (documents, file images, server tools), never silently changed, unless
//! it can go untouched to an Anthropic provider (`lenient`); what
//! only tunes Anthropic's own service (`service_tier`, `speed`, `container`,
//! `inference_geo`, beta fields) is ignored. `redacted_thinking` blocks are
//! dropped: only Anthropic can read them, and the model has no place for them.
//! So is a `cache_control` on a `tool_use` block (the model's tool calls carry
//! no breakpoint; the next breakpoint, which Claude Code puts on the turn
//! after, still caches the prefix), and `thinking` of type `adaptive` or
//! `disabled` (no hidden reasoning is asked for).

mod lenient;
mod request;
mod response;
mod stream;

pub use lenient::parse_for_passthrough;
pub use request::{parse_count_tokens, parse_request, IngressError};
pub use response::{count_tokens_body, response_body, response_message};
pub use stream::StreamEncoder;
