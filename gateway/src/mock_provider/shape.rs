//! Test helpers: whether an answer of the mock has the shape of a recorded-shape
//! fixture (same keys at every level, same JSON types, same discriminator values),
//! and reading fixtures and SSE transcripts.

use serde_json::Value;

/// Keys whose values name a variant: they must be equal, not just both strings.
const DISCRIMINATORS: &[&str] = &["type", "role", "object", "status"];

/// A fixture under `gateway/tests/fixtures/`.
pub(crate) fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub(crate) fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The events of an SSE transcript: `(event name or "", data as JSON)`.
/// Frames end with a blank line, `\n\n` or `\r\n\r\n`.
pub(crate) fn sse_events(text: &str) -> Vec<(String, Value)> {
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut event = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            let value = serde_json::from_str(&data)
                .unwrap_or_else(|e| panic!("bad data line {data:?}: {e}"));
            (event, value)
        })
        .collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The element of `candidates` an actual element should look like: the one with
/// the same `type` when elements are typed, else one with the same keys (parts
/// of a Gemini answer), else the first.
fn counterpart<'a>(actual: &Value, candidates: &'a [Value]) -> Option<&'a Value> {
    let tag = |v: &Value| v.get("type").cloned();
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
    match tag(actual) {
        Some(t) => candidates.iter().find(|c| tag(c).as_ref() == Some(&t)),
        None => candidates
            .iter()
            .find(|c| keys(c).is_some() && keys(c) == keys(actual))
            .or_else(|| candidates.first()),
    }
}

/// `Ok` if `actual` has the shape of `expected`; else the first difference.
pub(crate) fn same_shape(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let missing: Vec<&String> = e.keys().filter(|k| !a.contains_key(*k)).collect();
            let extra: Vec<&String> = a.keys().filter(|k| !e.contains_key(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(format!("{path}: missing {missing:?}, unexpected {extra:?}"));
            }
            for (key, value) in a {
                let here = format!("{path}.{key}");
                if DISCRIMINATORS.contains(&key.as_str()) && value.is_string() && value != &e[key] {
                    return Err(format!("{here}: {value} where the fixture has {}", e[key]));
                }
                same_shape(value, &e[key], &here)?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if e.is_empty() && !a.is_empty() {
                return Err(format!("{path}: non-empty where the fixture is empty"));
            }
            for (i, item) in a.iter().enumerate() {
                let here = format!("{path}[{i}]");
                let twin = counterpart(item, e)
                    .ok_or_else(|| format!("{here}: no element of its type in the fixture"))?;
                same_shape(item, twin, &here)?;
            }
            Ok(())
        }
        _ if kind(actual) == kind(expected) => Ok(()),
        _ => Err(format!(
            "{path}: {} where the fixture has {}",
            kind(actual),
            kind(expected)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_compare_keys_types_and_tags() {
        let fixture = json!({"type": "message", "n": 1, "content": [
            {"type": "text", "text": "a"}, {"type": "tool_use", "id": "x", "input": {}}]});
        let good = json!({"type": "message", "n": 7, "content": [{"type": "tool_use", "id": "y", "input": {}}]});
        assert_eq!(same_shape(&good, &fixture, "$"), Ok(()));
        for bad in [
            json!({"type": "message", "n": 1}),
            json!({"type": "message", "n": 1, "content": [], "extra": 1}),
            json!({"type": "other", "n": 1, "content": []}),
            json!({"type": "message", "n": "1", "content": []}),
            json!({"type": "message", "n": 1, "content": [{"type": "image"}]}),
            json!({"type": "message", "n": 1, "content": [{"type": "text"}]}),
        ] {
            assert!(same_shape(&bad, &fixture, "$").is_err(), "{bad}");
        }
    }

    #[test]
    fn transcripts_split_into_events() {
        let events = sse_events("event: a\ndata: {\"x\":1}\n\ndata: [1]\r\n\r\n");
        assert_eq!(
            events,
            vec![("a".into(), json!({"x": 1})), (String::new(), json!([1]))]
        );
    }
}
