//! Gemini's `generateContent` API: the native egress format of Google's models.
//! No client speaks it to the gateway, so only the egress half lives here:
//!
//! - [`request`]: a [`crate::llm::ChatRequest`] as a `generateContent` (or
//!   `countTokens`) body; [`schema`] turns JSON Schema into Gemini's subset;
//! - [`response`]: a whole answer as a [`crate::llm::ChatResponse`], with the
//!   usage in the gateway's convention;
//! - [`stream`]: `streamGenerateContent?alt=sse` chunks as
//!   [`crate::llm::StreamEvent`]s;
//! - [`error`]: Google's error envelope as a classification the proxy acts on
//!   (retry, fail over, or answer the client);
//! - [`endpoint`]: the URL path of each method; [`ids`]: tool call ids that
//!   carry Gemini's call ids and thought signatures through clients;
//! - [`fuzz`]: entry points a fuzz harness drives (no input may panic);
//! - [`wire`]: the serde types of the JSON.
//!
//! Everything here is pure: no IO, no clock, no logging (request and answer
//! text never leave these functions except in their return values).
//!
//! A provider adapter needs: [`outgoing`] (path and body for a request and
//! the upstream model), the [`API_KEY_HEADER`], then [`parse`] for a whole
//! answer, a [`StreamDecoder`] per streamed one (`event` per SSE event, `end`
//! at the end of the body), [`classify`] for a non-2xx answer, and
//! [`render_count_tokens`] / [`parse_count_tokens`] for counting.

pub mod endpoint;
pub mod error;
pub mod fuzz;
pub mod ids;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;
pub mod wire;

pub use endpoint::{path, Method, API_KEY_HEADER};
pub use error::{classify, ErrorKind, UpstreamError};
pub use request::{
    outgoing, render, render_body, render_count_tokens, Outgoing, RenderOptions, RequestError,
    SchemaDialect, ThinkingStyle,
};
pub use response::{parse, parse_count_tokens, ResponseError};
pub use stream::{StreamDecoder, StreamError};

#[cfg(test)]
#[path = "cross_tests.rs"]
mod cross_tests;

#[cfg(test)]
#[path = "live_tests.rs"]
mod live_tests;
