//! The prompt cache the mock simulates for `cache_control`: the prefix up to the
//! last breakpoint (tools, then system, then messages, as Anthropic orders them)
//! is written the first time the mock sees it and read every time after. There is
//! no minimum length and no expiry, so a test sees a write then reads with any
//! prompt. `cache_read=` / `cache_write=` directives replace all of this.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The cacheable prefix of a request, if it marks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// Identifies the prefix (the model, then every element up to the breakpoint).
    pub key: [u8; 32],
    /// Bytes of the prefix, serialized element by element.
    pub bytes: usize,
    /// Whether the breakpoint asks for the one-hour cache.
    pub one_hour: bool,
}

/// Every element the cache sees, in its order: tool definitions, system blocks,
/// then each message's content blocks (a string content is one block).
fn elements(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        out.extend(tools.iter().cloned());
    }
    match body.get("system") {
        Some(Value::String(text)) => out.push(Value::String(text.clone())),
        Some(Value::Array(blocks)) => out.extend(blocks.iter().cloned()),
        _ => {}
    }
    for message in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match message.get("content") {
            Some(Value::Array(blocks)) => out.extend(blocks.iter().cloned()),
            Some(other) => out.push(other.clone()),
            None => {}
        }
    }
    out
}

fn breakpoint(element: &Value) -> Option<&Value> {
    element.get("cache_control").filter(|c| !c.is_null())
}

/// The prefix `body` marks for caching: up to its last block with
/// `cache_control`, or all of it under a top-level `cache_control`.
pub(crate) fn prefix(model: &str, body: &Value) -> Option<Prefix> {
    let elements = elements(body);
    let top = body.get("cache_control").filter(|c| !c.is_null());
    let (end, control) = match top {
        Some(control) if !elements.is_empty() => (elements.len(), control),
        _ => {
            let at = elements.iter().rposition(|e| breakpoint(e).is_some())?;
            (at + 1, breakpoint(&elements[at])?)
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    let mut bytes = 0;
    for element in &elements[..end] {
        let text = element.to_string();
        bytes += text.len();
        hasher.update([0]);
        hasher.update(text.as_bytes());
    }
    Some(Prefix {
        key: hasher.finalize().into(),
        bytes,
        one_hour: control.get("ttl").and_then(Value::as_str) == Some("1h"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_prefix_ends_at_the_last_breakpoint() {
        let marked = json!({
            "system": [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "question one"}]
        });
        let p = prefix("m", &marked).unwrap();
        assert_eq!(p.bytes, marked["system"][0].to_string().len());
        assert!(!p.one_hour);
        // Another question after the same marked prefix is the same prefix.
        let mut again = marked.clone();
        again["messages"][0]["content"] = json!("question two");
        assert_eq!(prefix("m", &again).unwrap().key, p.key);
        // Another model or another system prompt is not.
        assert_ne!(prefix("n", &marked).unwrap().key, p.key);
        let mut other = marked.clone();
        other["system"][0]["text"] = json!("other rules");
        assert_ne!(prefix("m", &other).unwrap().key, p.key);
        assert_eq!(
            prefix(
                "m",
                &json!({"messages": [{"role": "user", "content": "x"}]})
            ),
            None
        );
    }

    #[test]
    fn a_top_level_breakpoint_covers_everything() {
        let body = json!({
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
            "tools": [{"name": "t", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        });
        let p = prefix("m", &body).unwrap();
        assert!(p.one_hour);
        assert_eq!(
            p.bytes,
            body["tools"][0].to_string().len()
                + body["messages"][0]["content"][0].to_string().len()
        );
    }
}
