//! Reading the recorded fixtures and checking rendered output against the
//! committed ones under `tests/fixtures/openai-responses/` (the `gateway_*`
//! files, which the OpenAI spec check in
//! `tests/sdk/mock_openai_responses_python.py` validates with the others).
//! `UPDATE_FIXTURES=1` rewrites them instead of comparing.

use std::path::PathBuf;

use serde_json::Value;

pub(super) fn path(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openai-responses")
        .join(name)
}

pub(super) fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(super) fn json(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The data payloads of an `.sse` fixture, parsed.
pub(super) fn events(name: &str) -> Vec<Value> {
    crate::formats::responses::stream::data_payloads(&text(name))
        .map(|data| serde_json::from_str(data).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// Compares `rendered` with the committed fixture `name` (or writes it).
pub(super) fn golden(name: &str, rendered: &str) {
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path(name), rendered).unwrap_or_else(|e| panic!("{name}: {e}"));
        return;
    }
    let committed = text(name);
    assert!(
        committed == rendered,
        "{name} differs from what the translator renders now:\n--- committed\n{committed}\n--- rendered\n{rendered}"
    );
}

/// A JSON value as the fixtures keep it: pretty, with a final newline.
pub(super) fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
