//! Integration tests of the Postgres store against a real server. Each test creates
//! its own database (`gw_test_<hex>`) and drops it afterwards, even when the test
//! fails, so tests run in parallel and leave nothing behind. The server is
//! `GATEWAY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

#[path = "postgres_store/rls.rs"]
mod rls;
#[path = "postgres_store/rollup.rs"]
mod rollup;
#[path = "postgres_store/schema.rs"]
mod schema;
#[path = "postgres_store/support.rs"]
mod support;
#[path = "postgres_store/write.rs"]
mod write;
