//! Routing: which provider and model serve a request, in which order to try them,
//! and what the request would have cost at the requested model's list price.
//!
//! The decision (`decide`) is a pure function of the request's requirements, the
//! routing table (catalog entries at configured providers), the caller's policy and
//! a health view, so it is tested with tables and benchmarked without IO. The
//! live parts (circuit breakers, latency averages, the retry budget) sit in
//! `health` and `budget` and are read through the [`Health`] trait; the threads
//! that count tokens exactly, off the async workers, in `counting`.

pub mod budget;
pub mod counting;
pub mod decide;
pub mod health;
pub mod policy;
pub mod prompt;
pub mod requirements;
pub mod table;
pub mod virtual_models;

pub use crate::config::{Mode, Policy};
pub use decide::{decide, Decision, RouteError, RouteReason};
pub use health::Health;
pub use requirements::Requirements;
pub use table::{Deployment, RoutingTable};
