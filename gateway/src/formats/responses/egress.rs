//! A [`ChatRequest`] as a Responses request, for upstreams that speak the
//! Responses API when the client spoke something else (a client speaking it
//! already is passed through untouched). Always stateless: `store: false`.
//!
//! What the Responses API cannot say is dropped: `stop`, `top_k`, `seed`,
//! penalties, `n`, cache breakpoints, and a tool result's error flag. Thinking
//! goes back only with the signature the provider gave it (as
//! `encrypted_content`), since OpenAI cannot use reasoning it did not sign.

use crate::llm::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, ToolChoice,
};

use super::wire::request::{
    Content, ContentPart, CreateResponse, Input, InputItem, ReasoningConfig, TextConfig,
    TextFormat, ToolChoiceObject, ToolChoiceParam, ToolParam,
};

/// The Responses request for `chat`.
pub fn request(chat: &ChatRequest) -> CreateResponse {
    let mut items = Vec::new();
    let instructions = match chat.system.as_slice() {
        [] => None,
        [Part::Text { text, .. }] => Some(text.clone()),
        parts => {
            items.push(message_item("developer", input_parts(parts)));
            None
        }
    };
    for (m, message) in chat.messages.iter().enumerate() {
        turn(&mut items, m, message);
    }
    CreateResponse {
        model: chat.model.clone(),
        input: Some(Input::Items(items)),
        instructions,
        tools: (!chat.tools.is_empty()).then(|| {
            chat.tools
                .iter()
                .map(|tool| ToolParam {
                    kind: "function".to_owned(),
                    name: Some(tool.name.clone()),
                    description: tool.description.clone(),
                    parameters: Some(tool.parameters.clone()),
                    strict: tool.strict,
                })
                .collect()
        }),
        tool_choice: chat.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => ToolChoiceParam::Mode("auto".to_owned()),
            ToolChoice::None => ToolChoiceParam::Mode("none".to_owned()),
            ToolChoice::Required => ToolChoiceParam::Mode("required".to_owned()),
            ToolChoice::Tool(name) => ToolChoiceParam::Object(ToolChoiceObject {
                kind: "function".to_owned(),
                name: Some(name.clone()),
            }),
        }),
        parallel_tool_calls: chat.parallel_tool_calls,
        max_output_tokens: chat.max_tokens,
        temperature: chat.temperature,
        top_p: chat.top_p,
        text: chat.response_format.as_ref().map(|format| TextConfig {
            format: Some(match format {
                ResponseFormat::Text => TextFormat {
                    kind: "text".to_owned(),
                    ..TextFormat::default()
                },
                ResponseFormat::JsonObject => TextFormat {
                    kind: "json_object".to_owned(),
                    ..TextFormat::default()
                },
                ResponseFormat::JsonSchema {
                    name,
                    schema,
                    strict,
                } => TextFormat {
                    kind: "json_schema".to_owned(),
                    name: Some(name.clone()),
                    schema: Some(schema.clone()),
                    description: None,
                    strict: *strict,
                },
            }),
            verbosity: None,
        }),
        reasoning: chat
            .reasoning
            .as_ref()
            .and_then(|reasoning| match reasoning {
                Reasoning::Effort(effort) => Some(ReasoningConfig {
                    effort: Some(effort.clone()),
                    summary: None,
                }),
                Reasoning::BudgetTokens(_) => None,
            }),
        stream: chat.stream.then_some(true),
        store: Some(false),
        safety_identifier: chat.user.clone(),
        ..CreateResponse::default()
    }
}

/// The items of one turn, in order.
fn turn(items: &mut Vec<InputItem>, m: usize, message: &Message) {
    let role = match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "developer",
    };
    // Consecutive plain parts gather into one message item.
    let mut pending: Vec<ContentPart> = Vec::new();
    let flush = |items: &mut Vec<InputItem>, pending: &mut Vec<ContentPart>| {
        if !pending.is_empty() {
            items.push(message_item(role, std::mem::take(pending)));
        }
    };
    for (p, part) in message.content.iter().enumerate() {
        match part {
            Part::Text { .. } | Part::Image { .. } => {
                pending.extend(content_part(part, message.role == Role::Assistant));
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                flush(items, &mut pending);
                items.push(InputItem {
                    kind: Some("function_call".to_owned()),
                    call_id: Some(id.clone()),
                    name: Some(name.clone()),
                    arguments: Some(arguments.clone()),
                    ..InputItem::default()
                });
            }
            Part::ToolResult {
                call_id, content, ..
            } => {
                flush(items, &mut pending);
                let output = match content.as_slice() {
                    [Part::Text { text, .. }] => Content::Text(text.clone()),
                    parts => Content::Parts(input_parts(parts)),
                };
                items.push(InputItem {
                    kind: Some("function_call_output".to_owned()),
                    call_id: Some(call_id.clone()),
                    output: Some(output),
                    ..InputItem::default()
                });
            }
            Part::Thinking { text, signature } => {
                let Some(signature) = signature else { continue };
                flush(items, &mut pending);
                items.push(InputItem {
                    kind: Some("reasoning".to_owned()),
                    id: Some(format!("rs_{m}_{p}")),
                    summary: Some(Vec::new()),
                    content: (!text.is_empty()).then(|| {
                        Content::Parts(vec![ContentPart {
                            kind: "reasoning_text".to_owned(),
                            text: Some(text.clone()),
                            ..ContentPart::default()
                        }])
                    }),
                    encrypted_content: Some(signature.clone()),
                    ..InputItem::default()
                });
            }
        }
    }
    flush(items, &mut pending);
}

fn message_item(role: &str, content: Vec<ContentPart>) -> InputItem {
    InputItem {
        kind: Some("message".to_owned()),
        role: Some(role.to_owned()),
        content: Some(Content::Parts(content)),
        ..InputItem::default()
    }
}

fn input_parts(parts: &[Part]) -> Vec<ContentPart> {
    parts.iter().flat_map(|p| content_part(p, false)).collect()
}

/// A text or image part; `None` for the other kinds.
fn content_part(part: &Part, assistant: bool) -> Option<ContentPart> {
    match part {
        Part::Text { text, .. } if assistant => Some(ContentPart {
            kind: "output_text".to_owned(),
            text: Some(text.clone()),
            annotations: Some(Vec::new()),
            ..ContentPart::default()
        }),
        Part::Text { text, .. } => Some(ContentPart {
            kind: "input_text".to_owned(),
            text: Some(text.clone()),
            ..ContentPart::default()
        }),
        Part::Image { source, .. } => Some(ContentPart {
            kind: "input_image".to_owned(),
            image_url: Some(match source {
                ImageSource::Url(url) => url.clone(),
                ImageSource::Base64 { media_type, data } => {
                    format!("data:{media_type};base64,{data}")
                }
            }),
            detail: Some("auto".to_owned()),
            ..ContentPart::default()
        }),
        _ => None,
    }
}
