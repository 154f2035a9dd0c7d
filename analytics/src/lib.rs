//! Usage analytics: one metadata-only event per request, written off the request
//! path into Postgres (or the embedded SQLite store) and Redis counters, rolled
//! up into daily, weekly and monthly savings aggregates (see DESIGN.md, "Usage
//! events" and "Storage").
//!
//! Nothing in this crate may ever carry prompt or completion text, tool
//! arguments or keys.

pub mod control;
pub mod counters;
pub mod event;
pub mod operator;
pub mod promises;
pub mod store;
pub mod writer;

pub use event::UsageEvent;
pub use pricing::TokenUsage;
