//! Wire formats and their translators to and from the gateway's own model
//! ([`crate::llm`]). One module per format holds its wire types and both
//! directions: as an ingress format (a client speaks it to us) and as an egress
//! format (we speak it to a provider). Every translator is a pure function from
//! bytes or values to values, so it is tested by tables and fixtures alone.

pub mod anthropic;
pub mod codec;
pub mod errors;
pub mod gemini;
pub mod openai_chat;
pub mod responses;

pub use errors::IngressFormat;
