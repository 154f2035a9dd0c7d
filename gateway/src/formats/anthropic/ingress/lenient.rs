//! A request only an Anthropic provider can serve, read for routing.
//!
//! [`super::parse_request`] refuses what the gateway's model cannot carry to
//! another format (documents, search results, Files API images, server tools
//! and their result blocks, block types newer than this code). Such a request
//! can still go to an Anthropic provider untouched, in the client's own body:
//! [`parse_for_passthrough`] reads it with those parts set aside, so that
//! routing sees its model, stream flag, output limit, tools and images, and
//! the caller must then send it only where it passes through. The parts set
//! aside count for nothing in the prompt's size (a PDF's base64 is not its
//! token count).

use serde_json::{Map, Value};

use super::request::parse_request;
use crate::llm::ChatRequest;

/// Block types the gateway's model holds; any other is set aside.
const HELD: &[&str] = &[
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
];

/// The request as routing should see it, or `None` when setting parts aside
/// does not make it readable (then the strict reading's error stands).
pub fn parse_for_passthrough(bytes: &[u8]) -> Option<ChatRequest> {
    let mut body: Map<String, Value> = serde_json::from_slice(bytes).ok()?;
    if let Some(Value::Array(tools)) = body.get_mut("tools") {
        tools.retain(|tool| {
            matches!(
                tool.get("type").and_then(Value::as_str),
                None | Some("custom")
            )
        });
    }
    if let Some(Value::Array(system)) = body.get_mut("system") {
        keep_held(system);
    }
    if let Some(Value::Array(messages)) = body.get_mut("messages") {
        for message in messages.iter_mut() {
            if let Some(Value::Array(content)) = message.get_mut("content") {
                keep_held(content);
                for block in content.iter_mut() {
                    if let Some(Value::Array(inner)) = block.get_mut("content") {
                        keep_held(inner);
                    }
                }
            }
        }
    }
    let bytes = serde_json::to_vec(&body).ok()?;
    parse_request(&bytes).ok()
}

/// Keeps the blocks the model holds (an image only from base64 or a URL).
fn keep_held(blocks: &mut Vec<Value>) {
    blocks.retain(|block| {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "image" {
            let source = block.pointer("/source/type").and_then(Value::as_str);
            return matches!(source, Some("base64" | "url"));
        }
        HELD.contains(&kind)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Part;

    #[test]
    fn what_only_anthropic_reads_is_set_aside() {
        let body = br#"{
            "model": "claude-x", "max_tokens": 100, "stream": true,
            "tools": [
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                {"name": "get_weather", "input_schema": {"type": "object"}}
            ],
            "messages": [
                {"role": "user", "content": [
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
                    {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                    {"type": "text", "text": "Summarise"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                    {"type": "text", "text": "Found it."}
                ]},
                {"role": "user", "content": "thanks"}
            ]
        }"#;
        assert!(parse_request(body).is_err());
        let read = parse_for_passthrough(body).unwrap();
        assert_eq!(read.model, "claude-x");
        assert!(read.stream);
        assert_eq!(read.max_tokens, Some(100));
        assert_eq!(read.tools.len(), 1);
        assert_eq!(read.tools[0].name, "get_weather");
        assert_eq!(read.messages.len(), 3);
        assert!(matches!(
            read.messages[0].content[..],
            [Part::Image { .. }, Part::Text { .. }]
        ));
        assert!(matches!(read.messages[1].content[..], [Part::Text { .. }]));
    }

    #[test]
    fn what_is_wrong_stays_wrong() {
        for body in [
            &br#"{"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}"#[..],
            br#"{"model": "claude-x", "max_tokens": 5, "temperature": 3, "messages": [{"role": "user", "content": [{"type": "document"}]}]}"#,
            b"not json",
        ] {
            assert_eq!(parse_for_passthrough(body), None);
        }
    }
}
