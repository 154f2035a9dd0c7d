//! Anthropic's Messages API (`/v1/messages`): the ingress format of Claude Code
//! and the Anthropic SDKs, and the native egress format of Anthropic's models.
//!
//! - `wire`: the API's serde types, shared by both directions;
//! - `ingress`: a client speaks Anthropic to us (request in, answer out);
//! - `egress`: we speak Anthropic to a provider (request out, answer in);
//! - `usage`: token counts (Anthropic's `input_tokens` excludes the cache);
//! - `error`: Anthropic's error types, rendered for clients and classified
//!   from upstream answers.
//!
//! Everything here is pure: bytes or values in, values out, no IO, no logs.

pub mod egress;
pub mod error;
pub mod ingress;
pub mod usage;
pub mod wire;

pub use error::{classify, error_body, error_event, ErrorKind, UpstreamFailure};

#[doc(hidden)]
pub mod fuzz;

#[cfg(test)]
mod tests;
