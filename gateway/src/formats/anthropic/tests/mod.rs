//! Tests of the Anthropic translators: a table per field in each direction,
//! the recorded-shape fixtures, round trips, the mock provider's request
//! checks as the judge of what egress sends, and random inputs.

mod egress;
mod errors;
mod fixtures;
mod ingress;
mod property;
mod round_trip;
mod stream;

use serde_json::Value;

use super::wire::MessagesRequest;

/// A file of `gateway/tests/fixtures/anthropic/`.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// `body` as JSON, after the mock provider (which refuses what the real API
/// refuses) has accepted it.
fn judged(body: &MessagesRequest) -> Value {
    let value = serde_json::to_value(body).unwrap();
    if let Err(message) = crate::mock_provider::check_anthropic_request(&value, false) {
        panic!("the mock refuses {value}: {message}");
    }
    value
}
