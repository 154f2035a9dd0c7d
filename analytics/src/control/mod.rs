//! The control plane's records: tenants, teams and client keys as the admin API
//! and the CLI manage them, share links (`shares`), and the audit log of every change. The store is
//! their truth; each gateway replica holds an in-memory snapshot built from
//! [`ControlStore::load`] and refreshed when [`ControlStore::version`] moves
//! (a change notification, or the periodic check), so auth never queries here.
//!
//! Postgres and SQLite run the same statements (`sql.rs`): the tables use only
//! text and 64-bit integers, and sqlx binds `$1`-style parameters on both, so
//! the one dialect difference left is how a change is announced (`db.rs`).
//! What a request may do with these settings is the gateway's business, not
//! this module's: here they are plain values.

pub(crate) mod db;
mod records;
mod shares;
mod sql;

pub use db::ControlStore;
pub use records::{AuditEntry, ControlData, KeyRecord, Limits, TeamRecord, TenantRecord};
pub use shares::{ShareRecord, ShareState};

/// The Postgres notification channel a change is announced on.
pub const CHANNEL: &str = "gateway_control";
