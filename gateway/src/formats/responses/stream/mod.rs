//! The typed event stream of `POST /v1/responses` with `stream: true`, to and
//! from [`crate::llm::StreamEvent`]s: [`Encoder`] for clients of the gateway,
//! [`Decoder`] for upstreams that speak the Responses API, and [`Watcher`] for
//! a stream passed through from such an upstream to a Responses client.

mod decode;
mod encode;
mod pass;

pub use decode::{data_payloads, Decoder};
pub use encode::{frame, frames, Encoder};
pub use pass::Watcher;
