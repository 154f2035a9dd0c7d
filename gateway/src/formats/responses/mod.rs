//! OpenAI's Responses API (`/v1/responses`): the ingress format of Codex CLI and
//! newer OpenAI SDK code, and an egress format for upstreams that speak it.
//!
//! Pure translators only, no IO: [`request::parse`] (bytes to a
//! [`crate::llm::ChatRequest`] plus the settings a Response echoes),
//! [`egress::request`] (the other way, stateless), [`response::render`] and
//! [`response::decode`] for whole Responses, [`stream::Encoder`] and
//! [`stream::Decoder`] for the typed event stream, and [`error`] for the error
//! shapes; [`fuzz`] holds the entry points of fuzz and property runs.
//!
//! The Responses API is stateful at OpenAI (`previous_response_id`,
//! `store`); the gateway is not, so requests that need stored state are set
//! aside by [`request::Parsed::require_stateless`] for the route to refuse or
//! pass through to an upstream that keeps state; [`lenient`] reads, for such
//! an upstream alone, what no translation can carry (hosted tools, files).

pub mod egress;
pub mod error;
pub mod fuzz;
mod items;
pub mod lenient;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

#[cfg(test)]
mod tests;
