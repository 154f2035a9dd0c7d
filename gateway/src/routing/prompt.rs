//! What a request already read into the gateway's model ([`ChatRequest`])
//! needs from a model: the same [`Requirements`] `requirements::for_chat`
//! reads from an OpenAI body, for every ingress format that is translated
//! (Anthropic Messages, OpenAI Responses). Also the prompt's texts, for the
//! exact count routing makes near a context limit and for Anthropic's
//! `count_tokens`.
//!
//! Sizes follow `requirements`: texts count, images a fixed allowance each (a
//! base64 image is not megabytes of prompt), tool definitions count as their
//! JSON, tool calls as their name and arguments.

use pricing::tokens::{self, PromptShape};
use pricing::Capabilities;

use super::Requirements;
use crate::llm::{ChatRequest, Part, ResponseFormat};

/// The prompt's texts in order, and how many turns and images it has.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PromptTexts {
    pub texts: Vec<String>,
    pub messages: u64,
    pub images: u64,
}

/// Calls `visit` with every text of `part`; returns the images it holds.
fn visit_part(part: &Part, visit: &mut impl FnMut(&str)) -> u64 {
    match part {
        Part::Text { text, .. } | Part::Thinking { text, .. } => {
            visit(text);
            0
        }
        Part::Image { .. } => 1,
        Part::ToolCall {
            name, arguments, ..
        } => {
            visit(name);
            visit(arguments);
            0
        }
        Part::ToolResult { content, .. } => content.iter().map(|p| visit_part(p, visit)).sum(),
    }
}

/// Calls `visit` with every text of the prompt (system, turns, tool
/// definitions); returns (messages, images). The system prompt counts as one
/// message, as it is one in OpenAI's format.
fn walk(request: &ChatRequest, mut visit: impl FnMut(&str)) -> (u64, u64) {
    let mut images = 0;
    for part in &request.system {
        images += visit_part(part, &mut visit);
    }
    for message in &request.messages {
        for part in &message.content {
            images += visit_part(part, &mut visit);
        }
    }
    for tool in &request.tools {
        visit(&tool.name);
        if let Some(description) = &tool.description {
            visit(description);
        }
        visit(&tool.parameters.to_string());
    }
    let messages = request.messages.len() as u64 + u64::from(!request.system.is_empty());
    (messages, images)
}

/// The requirements of `request`.
pub fn requirements(request: &ChatRequest) -> Requirements {
    let mut text_bytes = 0u64;
    let (messages, images) = walk(request, |text| text_bytes += text.len() as u64);
    let mut capabilities = Capabilities::empty();
    if !request.tools.is_empty() {
        capabilities = capabilities.union(Capabilities::TOOLS);
    }
    if images > 0 {
        capabilities = capabilities.union(Capabilities::VISION);
    }
    if request.stream {
        capabilities = capabilities.union(Capabilities::STREAMING);
    }
    if matches!(
        request.response_format,
        Some(ResponseFormat::JsonSchema { .. })
    ) {
        capabilities = capabilities.union(Capabilities::JSON_SCHEMA);
    }
    let prompt = PromptShape {
        text_bytes,
        messages,
        images,
    };
    Requirements {
        capabilities,
        prompt,
        prompt_tokens: tokens::upper_bound(prompt),
        prompt_tokens_exact: false,
        max_output_tokens: request.max_tokens,
        endpoint: crate::config::Endpoint::Chat,
    }
}

/// The prompt's texts, owned, for a count on another thread.
pub fn texts(request: &ChatRequest) -> PromptTexts {
    let mut texts = Vec::new();
    let (messages, images) = walk(request, |text| texts.push(text.to_owned()));
    PromptTexts {
        texts,
        messages,
        images,
    }
}

/// The prompt's token count with the gateway's estimating tokenizer (see
/// `pricing::tokens`), or `None` once `keep_going` says the budget is spent.
pub fn count(prompt: &PromptTexts, keep_going: &mut dyn FnMut() -> bool) -> Option<u64> {
    tokens::count_within(
        super::counting::TOKENIZER,
        prompt.texts.iter().map(String::as_str),
        prompt.messages,
        prompt.images,
        keep_going,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ImageSource, Message, Role, Tool};
    use crate::openai::request::RawObject;
    use crate::routing::requirements;

    fn user(parts: Vec<Part>) -> Message {
        Message {
            role: Role::User,
            content: parts,
        }
    }

    #[test]
    fn capabilities_come_from_what_the_request_uses() {
        let plain = ChatRequest {
            messages: vec![user(vec![Part::text("hi")])],
            ..ChatRequest::default()
        };
        assert_eq!(requirements(&plain).capabilities, Capabilities::empty());
        let mut rich = plain.clone();
        rich.stream = true;
        rich.tools = vec![Tool {
            name: "f".into(),
            description: None,
            parameters: serde_json::json!({"type": "object"}),
            strict: None,
            cache: None,
        }];
        rich.messages.push(user(vec![Part::Image {
            source: ImageSource::Base64 {
                media_type: "image/png".into(),
                data: "A".repeat(1_000_000),
            },
            cache: None,
        }]));
        rich.response_format = Some(ResponseFormat::JsonSchema {
            name: "n".into(),
            schema: serde_json::json!({}),
            strict: None,
        });
        rich.max_tokens = Some(77);
        let needs = requirements(&rich);
        for capability in [
            Capabilities::TOOLS,
            Capabilities::VISION,
            Capabilities::STREAMING,
            Capabilities::JSON_SCHEMA,
        ] {
            assert!(needs.capabilities.contains(capability), "{capability:?}");
        }
        assert_eq!(needs.prompt.images, 1);
        assert!(needs.prompt_tokens < 2_000, "{}", needs.prompt_tokens);
        assert_eq!(needs.max_output_tokens, Some(77));
        rich.response_format = Some(ResponseFormat::JsonObject);
        assert!(!requirements(&rich)
            .capabilities
            .contains(Capabilities::JSON_SCHEMA));
    }

    #[test]
    fn the_same_prompt_needs_the_same_as_through_openai_chat() {
        let body = br#"{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#;
        let direct = requirements::for_chat(&RawObject::parse(body).unwrap(), true).unwrap();
        let request = crate::formats::IngressFormat::OpenAiChat
            .decode_request(body)
            .unwrap();
        let translated = requirements(&request);
        assert_eq!(translated.capabilities, direct.capabilities);
        assert_eq!(translated.prompt, direct.prompt);
        assert_eq!(translated.prompt_tokens, direct.prompt_tokens);
        assert_eq!(translated.max_output_tokens, direct.max_output_tokens);
    }

    #[test]
    fn counts_are_below_the_bound_and_stop_when_told() {
        let request = ChatRequest {
            system: vec![Part::text("be brief")],
            messages: vec![user(vec![Part::text("word ".repeat(10_000))])],
            ..ChatRequest::default()
        };
        let bound = requirements(&request).prompt_tokens;
        let prompt = texts(&request);
        assert_eq!(prompt.messages, 2);
        let counted = count(&prompt, &mut || true).unwrap();
        assert!(
            counted >= 10_000 && counted < bound / 3,
            "{counted} vs {bound}"
        );
        assert_eq!(count(&prompt, &mut || false), None);
    }
}
