//! Anthropic's Messages API (`/v1/messages`): the ingress format of Claude Code
//! and the Anthropic SDKs, and the native egress format of Anthropic's models.
//!
//! - `wire`: the API's serde types, shared by both directions;
//! - `ingress`: a client speaks Anthropic to us (request in, answer out);
//! - `egress`: we speak Anthropic to a provider (request out, answer in);
//! - `passthrough`: the counts of an answer relayed untouched (Anthropic to
//!   Anthropic);
//! - `usage`: token counts (Anthropic's `input_tokens` excludes the cache);
//! - `error`: Anthropic's error types, rendered for clients and classified
//!   from upstream answers.
//!
//! Everything here is pure: bytes or values in, values out, no IO, no logs.
//!
//! How the edges use it:
//! - the `/v1/messages` route: [`ingress::parse_request`] (on error,
//!   [`ingress::IngressError::response`]); a whole answer through
//!   [`ingress::response_body`]; a streamed one through one
//!   [`ingress::StreamEncoder`] per answer (`push` each event, `finish` at the
//!   end, [`error_event`] if it breaks after the first byte);
//!   `/v1/messages/count_tokens` through [`ingress::parse_count_tokens`] and
//!   [`ingress::count_tokens_body`];
//! - the Anthropic adapter: [`egress::to_request`] with the catalog's max
//!   output as the default `max_tokens`, sent with `anthropic-version:
//!   `[`egress::API_VERSION`]; the answer through [`egress::parse_response`]
//!   or, per SSE event, [`egress::sse_data`] and one [`egress::StreamDecoder`],
//!   both given the request's [`egress::EgressPlan`]; an error status through
//!   [`classify`] with the type [`error::parse_error`] read from the body.

pub mod egress;
pub mod error;
pub mod ingress;
pub mod passthrough;
pub mod usage;
pub mod wire;

pub use error::{classify, error_body, error_event, ErrorKind, UpstreamFailure};

#[doc(hidden)]
pub mod fuzz;

#[cfg(test)]
mod tests;
