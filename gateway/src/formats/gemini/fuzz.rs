//! Entry points for a fuzz or property harness: each runs every Gemini
//! translator that could meet the input, and must return (with any result)
//! for every input, never panic or hang. The tests below drive them with
//! generated inputs; a longer run is a bench or fuzz target's job.

use super::request::{render, render_count_tokens, RenderOptions, SchemaDialect, ThinkingStyle};
use super::stream::{split_events, StreamDecoder};
use super::{error, response};
use crate::llm::ChatRequest;

/// Reads `bytes` as every kind of upstream answer: a whole response, a
/// `countTokens` answer, an error body, and an SSE stream (whole, and as one
/// chunk). Returns how many stream events came out, so the work is not
/// optimized away.
pub fn parse_upstream_bytes(bytes: &[u8]) -> usize {
    let mut seen = 0;
    seen += usize::from(response::parse(bytes).is_ok());
    seen += usize::from(response::parse_count_tokens(bytes).is_ok());
    let status = bytes.first().map_or(500, |b| 400 + u16::from(*b % 200));
    seen += usize::from(error::classify(status, bytes).retryable());
    let mut decoder = StreamDecoder::new();
    for event in split_events(bytes) {
        seen += decoder.event(event).map_or(0, |e| e.len());
    }
    seen += decoder.end().map_or(0, |e| e.len());
    seen += StreamDecoder::new().data(bytes).map_or(0, |e| e.len());
    seen
}

/// Every option set the request translator knows.
pub fn all_options() -> [RenderOptions; 5] {
    [
        RenderOptions::default(),
        RenderOptions::for_model("gemini-2.5-pro"),
        RenderOptions::for_model("gemini-3-pro-preview"),
        RenderOptions::for_model("gemini-2.0-flash"),
        RenderOptions {
            schemas: SchemaDialect::JsonSchema,
            thinking: ThinkingStyle::Level,
            sign_unsigned_calls: false,
            penalties: true,
        },
    ]
}

/// Renders `request` with every option set, as a body and as a count. Returns
/// how many renderings succeeded.
pub fn render_request(request: &ChatRequest) -> usize {
    all_options()
        .iter()
        .map(|options| {
            usize::from(render(request, options).is_ok())
                + usize::from(render_count_tokens(request, &request.model, options).is_ok())
        })
        .sum()
}

#[cfg(test)]
#[path = "fuzz_tests.rs"]
mod tests;
