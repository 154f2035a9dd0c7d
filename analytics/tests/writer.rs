//! The event writer end to end against real stores (Postgres databases of their
//! own, dropped afterwards; SQLite in memory): refused rows, failovers, torn
//! spill files, black-holed databases and Redis, and pools that cannot starve
//! each other. Every test leaves nothing behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

#[path = "writer/counters.rs"]
mod counters;
#[path = "writer/failover.rs"]
mod failover;
#[path = "writer/files.rs"]
mod files;
#[path = "writer/harness.rs"]
mod harness;
#[path = "writer/in_flight.rs"]
mod in_flight;
#[path = "writer/own_redis.rs"]
mod own_redis;
#[path = "writer/rebuild.rs"]
mod rebuild;
#[path = "writer/refusals.rs"]
mod refusals;
#[path = "writer/stalls.rs"]
mod stalls;
#[allow(
    dead_code,
    reason = "shared with the postgres_store tests; this binary uses part"
)]
#[path = "postgres_store/support.rs"]
mod support;
