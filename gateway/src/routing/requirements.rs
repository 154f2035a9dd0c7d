//! What a request needs from a model, read from the OpenAI request body: the
//! capabilities it uses, how big its prompt is, how much output it asks for.
//!
//! Sizes come from the message texts (not the raw body, where a base64 image would
//! count as megabytes of text); images count a fixed allowance each. Only the
//! fields that matter are parsed, borrowing from the body.

use std::borrow::Cow;

use pricing::tokens::{self, PromptShape};
use pricing::Capabilities;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::openai::request::RawObject;

/// Output tokens assumed when the request sets no limit, to compare prices. The
/// median chat answer is a few hundred tokens; only the ordering depends on it.
pub const EXPECTED_OUTPUT_TOKENS: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub capabilities: Capabilities,
    pub prompt: PromptShape,
    /// Tokens the prompt may take: the byte bound, or an exact count once one was
    /// made because the bound came near a context limit.
    pub prompt_tokens: u64,
    pub prompt_tokens_exact: bool,
    /// `max_completion_tokens` or `max_tokens`, if set.
    pub max_output_tokens: Option<u64>,
    /// Which kind of deployment can serve it (chat, embeddings, completions).
    pub endpoint: Endpoint,
}

impl Requirements {
    /// The usage to bill when the provider reported none: the prompt estimate
    /// and `completion_tokens` counted by the caller.
    pub fn estimated_usage(&self, completion_tokens: u64) -> pricing::TokenUsage {
        pricing::TokenUsage {
            prompt_tokens: self.expected_prompt_tokens(),
            completion_tokens,
            ..pricing::TokenUsage::default()
        }
    }

    /// Prompt tokens expected for comparing prices: about four bytes a token.
    pub fn expected_prompt_tokens(&self) -> u64 {
        if self.prompt_tokens_exact {
            self.prompt_tokens
        } else {
            self.prompt.text_bytes / 4
                + self.prompt.messages * tokens::TOKENS_PER_MESSAGE
                + self.prompt.images * tokens::TOKENS_PER_IMAGE
        }
    }

    /// Replaces the byte bound with an exact count (which never raises it).
    pub(crate) fn set_counted(&mut self, count: u64) {
        self.prompt_tokens = count.min(self.prompt_tokens);
        self.prompt_tokens_exact = true;
    }

    pub fn expected_output_tokens(&self) -> u64 {
        self.max_output_tokens.map_or(EXPECTED_OUTPUT_TOKENS, |m| {
            m.min(EXPECTED_OUTPUT_TOKENS * 4)
        })
    }

    /// Embeddings: the input's bytes bound its tokens.
    pub fn embeddings(input: &RawValue) -> Requirements {
        let shape = PromptShape {
            text_bytes: input.get().len() as u64,
            messages: 0,
            images: 0,
        };
        Requirements {
            capabilities: Capabilities::EMBEDDINGS,
            prompt: shape,
            prompt_tokens: shape.text_bytes,
            prompt_tokens_exact: false,
            max_output_tokens: Some(0),
            endpoint: Endpoint::Embeddings,
        }
    }
}

impl Requirements {
    /// Legacy text completions: the prompt's bytes bound its tokens (it may
    /// be token ids); without `max_tokens` the API writes 16.
    pub fn completions(prompt: &RawValue, max_tokens: Option<u64>, stream: bool) -> Requirements {
        let shape = PromptShape {
            text_bytes: prompt.get().len() as u64,
            messages: 1,
            images: 0,
        };
        Requirements {
            capabilities: if stream {
                Capabilities::STREAMING
            } else {
                Capabilities::empty()
            },
            prompt: shape,
            prompt_tokens: tokens::upper_bound(shape),
            prompt_tokens_exact: false,
            max_output_tokens: Some(max_tokens.unwrap_or(LEGACY_DEFAULT_MAX_TOKENS)),
            endpoint: Endpoint::Completions,
        }
    }
}

/// What legacy completions write when the request sets no `max_tokens`.
const LEGACY_DEFAULT_MAX_TOKENS: u64 = 16;

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Parts(#[serde(borrow)] Vec<Part<'a>>),
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

fn is_image(kind: &str) -> bool {
    matches!(kind, "image_url" | "input_image" | "image")
}

/// Calls `visit` with every text of the messages; returns (messages, images).
fn walk<'a>(
    messages: &[Message<'a>],
    mut visit: impl FnMut(&str),
) -> Result<(u64, u64), GatewayError> {
    let mut images = 0;
    for (i, message) in messages.iter().enumerate() {
        if let Some(raw) = message.content {
            match serde_json::from_str::<Option<Content>>(raw.get()) {
                Ok(None) => {}
                Ok(Some(Content::Text(text))) => visit(&text),
                Ok(Some(Content::Parts(parts))) => {
                    for part in parts {
                        if is_image(&part.kind) {
                            images += 1;
                        } else if let Some(text) = &part.text {
                            visit(text);
                        }
                    }
                }
                Err(_) => {
                    return Err(GatewayError::invalid(
                        format!("Invalid 'messages[{i}].content': expected a string or an array of content parts."),
                        Some("messages"),
                    ))
                }
            }
        }
        if let Some(calls) = message.tool_calls {
            visit(calls.get());
        }
    }
    Ok((messages.len() as u64, images))
}

/// The tool definitions a prompt carries: `tools` unless null or empty, else the
/// legacy `functions`.
fn prompt_tools<'a>(object: &RawObject<'a>) -> Option<&'a RawValue> {
    object
        .get("tools")
        .filter(|raw| raw.get() != "null" && raw.get() != "[]")
        .or(object.get("functions"))
}

/// The requirements of a chat completion request.
pub fn for_chat(object: &RawObject<'_>, stream: bool) -> Result<Requirements, GatewayError> {
    let messages: Vec<Message> = object.required("messages", "an array of messages")?;
    let mut text_bytes = 0u64;
    let (message_count, images) = walk(&messages, |text| text_bytes += text.len() as u64)?;
    // Tool definitions are part of the prompt too.
    if let Some(raw) = prompt_tools(object) {
        text_bytes += raw.get().len() as u64;
    }
    let mut capabilities = Capabilities::empty();
    if prompt_tools(object).is_some() {
        capabilities = capabilities.union(Capabilities::TOOLS);
    }
    if images > 0 {
        capabilities = capabilities.union(Capabilities::VISION);
    }
    if stream {
        capabilities = capabilities.union(Capabilities::STREAMING);
    }
    if let Ok(Some(format)) = object.optional::<ResponseFormat>("response_format", "an object") {
        if format.kind == "json_schema" {
            capabilities = capabilities.union(Capabilities::JSON_SCHEMA);
        }
    }
    let max_output_tokens = match object.optional::<u64>("max_completion_tokens", "an integer")? {
        Some(n) => Some(n),
        None => object.optional::<u64>("max_tokens", "an integer")?,
    };
    let prompt = PromptShape {
        text_bytes,
        messages: message_count,
        images,
    };
    Ok(Requirements {
        capabilities,
        prompt,
        prompt_tokens: tokens::upper_bound(prompt),
        prompt_tokens_exact: false,
        max_output_tokens,
        endpoint: Endpoint::Chat,
    })
}

/// The prompt's token count, for when its byte bound came near a context limit:
/// the conservative one (see `pricing::tokens`), or `None` as soon as
/// `keep_going` says the budget is spent. Runs on a counting thread
/// (`routing::counting`), never on an async worker.
pub(crate) fn count_prompt(
    object: &RawObject<'_>,
    keep_going: &mut dyn FnMut() -> bool,
) -> Result<Option<u64>, GatewayError> {
    let messages: Vec<Message> = object.required("messages", "an array of messages")?;
    let mut texts: Vec<String> = Vec::with_capacity(messages.len());
    let (message_count, images) = walk(&messages, |text| texts.push(text.to_owned()))?;
    if let Some(raw) = prompt_tools(object) {
        texts.push(raw.get().to_owned());
    }
    Ok(tokens::count_within(
        super::counting::TOKENIZER,
        texts.iter().map(String::as_str),
        message_count,
        images,
        keep_going,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str, stream: bool) -> Requirements {
        for_chat(&RawObject::parse(body.as_bytes()).unwrap(), stream).unwrap()
    }

    #[test]
    fn detects_capabilities_in_use() {
        let plain = read(r#"{"messages":[{"role":"user","content":"hi"}]}"#, false);
        assert_eq!(plain.capabilities, Capabilities::empty());
        let tools = read(
            r#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#,
            true,
        );
        assert!(tools
            .capabilities
            .contains(Capabilities::TOOLS.union(Capabilities::STREAMING)));
        let no_tools = read(
            r#"{"messages":[{"role":"user","content":"hi"}],"tools":[]}"#,
            false,
        );
        assert!(!no_tools.capabilities.contains(Capabilities::TOOLS));
        let vision = read(
            r#"{"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#,
            false,
        );
        assert!(vision.capabilities.contains(Capabilities::VISION));
        assert_eq!(vision.prompt.images, 1);
        assert_eq!(vision.prompt.text_bytes, "what is this".len() as u64);
        let schema = read(
            r#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{}}}}"#,
            false,
        );
        assert!(schema.capabilities.contains(Capabilities::JSON_SCHEMA));
        let json_object = read(
            r#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#,
            false,
        );
        assert!(!json_object.capabilities.contains(Capabilities::JSON_SCHEMA));
    }

    #[test]
    fn sizes_come_from_texts_not_from_image_bytes() {
        let image = "A".repeat(1_000_000);
        let body = format!(
            r#"{{"messages":[{{"role":"system","content":"be brief"}},{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"data:image/png;base64,{image}"}}}}]}},{{"role":"assistant","content":null,"tool_calls":[{{"id":"c","type":"function","function":{{"name":"f","arguments":"{{}}"}}}}]}}],"max_tokens":100}}"#
        );
        let req = read(&body, false);
        assert!(req.prompt_tokens < 2_000, "{}", req.prompt_tokens);
        assert_eq!(req.prompt.messages, 3);
        assert_eq!(req.max_output_tokens, Some(100));
    }

    #[test]
    fn exact_counting_lowers_the_bound() {
        let text = "word ".repeat(20_000);
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"{text}"}}],"max_completion_tokens":5}}"#
        );
        let object = RawObject::parse(body.as_bytes()).unwrap();
        let mut req = for_chat(&object, false).unwrap();
        assert_eq!(req.max_output_tokens, Some(5));
        let bound = req.prompt_tokens;
        let count = count_prompt(&object, &mut || true).unwrap().unwrap();
        req.set_counted(count);
        assert!(req.prompt_tokens_exact);
        assert!(
            req.prompt_tokens < bound / 3,
            "{} vs {bound}",
            req.prompt_tokens
        );
        assert!(req.prompt_tokens >= 20_000, "{}", req.prompt_tokens);
        // A spent budget gives no count.
        assert_eq!(count_prompt(&object, &mut || false).unwrap(), None);
    }

    #[test]
    fn bad_content_is_a_400_naming_the_message() {
        let object = RawObject::parse(br#"{"messages":[{"role":"user","content":5}]}"#).unwrap();
        let error = for_chat(&object, false).unwrap_err();
        assert!(error.to_string().contains("messages[0].content"), "{error}");
    }
}
