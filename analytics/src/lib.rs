//! Usage analytics: one metadata-only event per request, written off the request
//! path into Postgres (or the embedded store) and Redis counters (see DESIGN.md,
//! "Usage events" and "Storage").
//!
//! Only the shape of what the gateway reports lives here so far; the writer, stores
//! and rollups come with the analytics work. Nothing in this crate may ever carry
//! prompt or completion text, tool arguments or keys.

pub use pricing::TokenUsage;

/// How a request ended, as far as analytics cares. Low cardinality on purpose:
/// it becomes a metric label and a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    UpstreamError,
    GatewayError,
    ClientCancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::UpstreamError => "upstream_error",
            Outcome::GatewayError => "gateway_error",
            Outcome::ClientCancelled => "client_cancelled",
        }
    }
}
