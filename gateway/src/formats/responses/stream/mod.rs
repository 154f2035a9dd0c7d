//! The typed event stream of `POST /v1/responses` with `stream: true`, to and
//! from [`crate::llm::StreamEvent`]s: [`Encoder`] for clients of the gateway,
//! [`Decoder`] for upstreams that speak the Responses API.

mod decode;
mod encode;

pub use decode::{data_payloads, Decoder};
pub use encode::{frame, frames, Encoder};
