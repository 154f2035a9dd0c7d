//! A Responses request read only as far as routing needs, for a provider that
//! speaks the Responses API and takes the client's body untouched. What no
//! translation can carry (hosted tools such as web search or a local shell,
//! their call items in the conversation, file and audio inputs, images by file
//! id) is what such a provider reads itself, so here it is set aside instead of
//! refused; the rest is read as [`super::request::parse`] reads it. The result
//! is never sent anywhere: it sizes and routes the request, nothing more.

use serde_json::Value;

use crate::llm::ChatRequest;

use super::request::{parse, translate};

/// Input item types the translator reads.
const ITEMS: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
];

/// Content part types the translator reads (images only by URL).
const PARTS: &[&str] = &[
    "input_text",
    "output_text",
    "summary_text",
    "reasoning_text",
    "refusal",
];

/// The request for routing when only a Responses provider may serve it
/// untouched; `None` when even this reading fails (the request is then
/// refused as [`parse`] refuses it).
pub fn parse_for_passthrough(body: &[u8]) -> Option<ChatRequest> {
    if let Ok(parsed) = parse(body) {
        return Some(parsed.chat);
    }
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    if let Some(Value::Array(tools)) = object.get_mut("tools") {
        tools.retain(|tool| kind(tool) == Some("function"));
    }
    if object
        .get("tool_choice")
        .is_some_and(|choice| choice.is_object() && kind(choice) != Some("function"))
    {
        object.remove("tool_choice");
    }
    if let Some(Value::Array(items)) = object.get_mut("input") {
        items.retain(|item| kind(item).is_none_or(|k| ITEMS.contains(&k)));
        for item in items.iter_mut() {
            if let Some(Value::Array(parts)) = item.get_mut("content") {
                parts.retain(readable_part);
            }
        }
    }
    translate(serde_json::from_value(value).ok()?)
        .ok()
        .map(|parsed| parsed.chat)
}

fn kind(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

fn readable_part(part: &Value) -> bool {
    match kind(part) {
        Some("input_image") => part.get("image_url").is_some_and(Value::is_string),
        Some(other) => PARTS.contains(&other),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::Part;

    fn read(body: Value) -> Option<ChatRequest> {
        parse_for_passthrough(body.to_string().as_bytes())
    }

    #[test]
    fn hosted_tools_and_their_items_are_set_aside() {
        let body = json!({
            "model": "gpt-x",
            "tools": [{"type": "web_search"}, {"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "tool_choice": {"type": "web_search"},
            "input": [
                {"role": "user", "content": [
                    {"type": "input_text", "text": "what's new?"},
                    {"type": "input_file", "file_id": "file_1"},
                    {"type": "input_image", "file_id": "file_2"}
                ]},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "news"}]}
            ]
        });
        assert!(
            parse(body.to_string().as_bytes()).is_err(),
            "refused when translated"
        );
        let chat = read(body).unwrap();
        assert_eq!(chat.model, "gpt-x");
        assert_eq!(chat.tools.len(), 1);
        assert_eq!(chat.tools[0].name, "f");
        assert!(chat.tool_choice.is_none());
        assert_eq!(chat.messages.len(), 2);
        assert!(
            matches!(&chat.messages[0].content[..], [Part::Text { text, .. }] if text == "what's new?")
        );
    }

    #[test]
    fn what_parses_whole_reads_the_same_and_garbage_reads_not_at_all() {
        let plain = json!({"model": "m", "input": "hi", "instructions": "be brief"});
        let whole = parse(plain.to_string().as_bytes()).unwrap().chat;
        assert_eq!(read(plain), Some(whole));
        assert_eq!(
            read(json!({"model": "m", "input": "hi", "temperature": 9})),
            None
        );
        assert_eq!(read(json!(["not", "an", "object"])), None);
        assert_eq!(parse_for_passthrough(b"{"), None);
        assert_eq!(read(json!({"input": "no model"})), None);
    }
}
