//! What the alerts keep in the store, and the spend figures their rules read.
//!
//! - `history`: alert firings (one open per rule and subject: the store, not a
//!   replica's memory, de-duplicates) and delivery attempts. The SQL text is
//!   shared by Postgres and SQLite; only the time binds differ (timestamptz
//!   there, unix nanoseconds here).
//! - `spend`: a scope's spend over a closed time range, from raw events (the
//!   spike rule compares today with the same weekday of past weeks).
//!
//! Nothing here holds prompt text, keys or channel secrets: rule and channel
//! names, subjects (scope ids, provider names) and texts the gateway wrote.

mod history;
mod spend;

pub use history::{
    Delivery, DeliveryOutcome, Firing, FiringFilter, NewDelivery, NewFiring, Notice,
};
