//! The gateway: an OpenAI-compatible HTTP front that forwards each request to a
//! configured provider, streams answers back untouched, and reports what happened.
//! See DESIGN.md at the workspace root for the architecture.

pub mod alerts;
pub mod allowance;
pub mod app;
pub mod base64;
pub mod billing;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control_sync;
pub mod demo;
pub mod error;
pub mod events;
pub mod formats;
pub mod handlers;
#[cfg(test)]
mod import_graph;
pub mod key_hash;
pub mod key_records;
pub mod keys;
pub mod keys_cli;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod middleware;
pub mod mock_provider;
pub mod openai;
pub mod operator;
pub mod providers;
pub mod proxy;
pub mod reports;

pub mod roi_profile;
pub mod route;
pub mod routing;
pub mod secret;
pub mod server;
pub mod shares;
pub mod sse;
pub mod state;
pub mod usage_event;
pub mod user_tags;
