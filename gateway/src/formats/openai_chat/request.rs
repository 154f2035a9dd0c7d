//! Chat completion requests to the gateway's [`ChatRequest`] and back.
//!
//! Reading: leading `system`/`developer` messages become the system prompt (later
//! ones stay turns), `tool` messages become tool results in a user turn, and
//! `data:` image URLs become base64 images. Writing is the reverse, for an
//! OpenAI-compatible provider serving a request that arrived in another format:
//! what chat completions cannot say (cache breakpoints, thinking blocks, `top_k`)
//! is left out.

use crate::error::GatewayError;
use crate::llm::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

use super::wire;

/// Reads a chat completions request body.
pub fn decode(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let wire: wire::Request = serde_path_to_error::deserialize(&mut reader)
        .map_err(|error| GatewayError::InvalidJson(error.to_string()))?;
    from_wire(wire)
}

fn from_wire(wire: wire::Request) -> Result<ChatRequest, GatewayError> {
    if wire.messages.is_empty() {
        return Err(GatewayError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            Some("messages"),
        ));
    }
    let mut request = ChatRequest {
        model: wire.model,
        max_tokens: wire.max_completion_tokens.or(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        stop: match wire.stop {
            None => Vec::new(),
            Some(wire::Stop::One(stop)) => vec![stop],
            Some(wire::Stop::Many(stops)) => stops,
        },
        stream: wire.stream.unwrap_or(false),
        tools: wire
            .tools
            .unwrap_or_default()
            .into_iter()
            .map(|tool| Tool {
                name: tool.function.name,
                description: tool.function.description,
                parameters: tool
                    .function
                    .parameters
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
                strict: tool.function.strict,
                cache: None,
            })
            .collect(),
        tool_choice: wire.tool_choice.map(tool_choice).transpose()?,
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format: wire.response_format.map(|format| match format {
            wire::ResponseFormat::Text => ResponseFormat::Text,
            wire::ResponseFormat::JsonObject => ResponseFormat::JsonObject,
            wire::ResponseFormat::JsonSchema { json_schema } => ResponseFormat::JsonSchema {
                name: json_schema.name,
                schema: json_schema
                    .schema
                    .unwrap_or_else(|| serde_json::json!({"type": "object"})),
                strict: json_schema.strict,
            },
        }),
        reasoning: wire.reasoning_effort.map(Reasoning::Effort),
        seed: wire.seed,
        presence_penalty: wire.presence_penalty,
        frequency_penalty: wire.frequency_penalty,
        n: wire.n,
        user: wire.user,
        ..ChatRequest::default()
    };
    let mut leading = true;
    for message in wire.messages {
        match message {
            wire::Message::System { content } | wire::Message::Developer { content } => {
                let parts = parts(content);
                if leading {
                    request.system.extend(parts);
                } else {
                    request.messages.push(Message {
                        role: Role::System,
                        content: parts,
                    });
                }
            }
            wire::Message::User { content } => {
                leading = false;
                request.messages.push(Message {
                    role: Role::User,
                    content: parts(content),
                });
            }
            wire::Message::Assistant {
                content,
                tool_calls,
            } => {
                leading = false;
                let mut content = content.map(parts).unwrap_or_default();
                content.extend(tool_calls.unwrap_or_default().into_iter().map(|call| {
                    Part::ToolCall {
                        id: call.id,
                        name: call.function.name,
                        arguments: call.function.arguments,
                    }
                }));
                request.messages.push(Message {
                    role: Role::Assistant,
                    content,
                });
            }
            wire::Message::Tool {
                content,
                tool_call_id,
            } => {
                leading = false;
                let result = Part::ToolResult {
                    call_id: tool_call_id,
                    content: parts(content),
                    is_error: false,
                    cache: None,
                };
                // Consecutive tool messages answer one assistant turn: one user turn.
                match request.messages.last_mut() {
                    Some(last) if last.role == Role::User && only_results(&last.content) => {
                        last.content.push(result);
                    }
                    _ => request.messages.push(Message {
                        role: Role::User,
                        content: vec![result],
                    }),
                }
            }
        }
    }
    Ok(request)
}

fn only_results(parts: &[Part]) -> bool {
    parts.iter().all(|p| matches!(p, Part::ToolResult { .. }))
}

fn tool_choice(choice: wire::ToolChoice) -> Result<ToolChoice, GatewayError> {
    match choice {
        wire::ToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(GatewayError::invalid(
                "Invalid 'tool_choice': expected 'none', 'auto', 'required' or a named function.",
                Some("tool_choice"),
            )),
        },
        wire::ToolChoice::Named { function, .. } => Ok(ToolChoice::Tool(function.name)),
    }
}

fn parts(content: wire::Content) -> Vec<Part> {
    match content {
        wire::Content::Text(text) => vec![Part::text(text)],
        wire::Content::Parts(parts) => parts
            .into_iter()
            .map(|part| match part {
                wire::ContentPart::Text { text } => Part::text(text),
                wire::ContentPart::ImageUrl { image_url } => Part::Image {
                    source: image_source(image_url.url),
                    cache: None,
                },
            })
            .collect(),
    }
}

/// A `data:<type>;base64,<data>` URL as base64 bytes; any other URL as is.
fn image_source(url: String) -> ImageSource {
    let inline = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"));
    match inline {
        Some((media_type, data)) => ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        },
        None => ImageSource::Url(url),
    }
}

fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url(url) => url.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

/// Writes `request` as a chat completions body for `upstream_model`. A stream
/// always asks for the final usage chunk: the gateway bills from it.
pub fn encode(request: &ChatRequest, upstream_model: &str) -> Vec<u8> {
    let wire = to_wire(request, upstream_model);
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

fn to_wire(request: &ChatRequest, upstream_model: &str) -> wire::Request {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(wire::Message::System {
            content: content(&request.system),
        });
    }
    for message in &request.messages {
        push_message(&mut messages, message);
    }
    // Reasoning models refuse `max_tokens`; the others may not know its successor.
    let (max_tokens, max_completion_tokens) = match request.reasoning {
        Some(_) => (None, request.max_tokens),
        None => (request.max_tokens, None),
    };
    wire::Request {
        model: upstream_model.to_owned(),
        messages,
        max_tokens,
        max_completion_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        stop: match request.stop.len() {
            0 => None,
            _ => Some(wire::Stop::Many(request.stop.clone())),
        },
        stream: request.stream.then_some(true),
        stream_options: request.stream.then_some(wire::StreamOptions {
            include_usage: Some(true),
        }),
        tools: (!request.tools.is_empty()).then(|| {
            request
                .tools
                .iter()
                .map(|tool| wire::Tool {
                    kind: wire::FunctionType::Function,
                    function: wire::FunctionDefinition {
                        name: tool.name.clone(),
                        description: tool.description.clone(),
                        parameters: Some(tool.parameters.clone()),
                        strict: tool.strict,
                    },
                })
                .collect()
        }),
        tool_choice: request.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => wire::ToolChoice::Mode("auto".to_owned()),
            ToolChoice::None => wire::ToolChoice::Mode("none".to_owned()),
            ToolChoice::Required => wire::ToolChoice::Mode("required".to_owned()),
            ToolChoice::Tool(name) => wire::ToolChoice::Named {
                kind: wire::FunctionType::Function,
                function: wire::NamedFunction { name: name.clone() },
            },
        }),
        parallel_tool_calls: request.parallel_tool_calls,
        response_format: request.response_format.as_ref().map(|format| match format {
            ResponseFormat::Text => wire::ResponseFormat::Text,
            ResponseFormat::JsonObject => wire::ResponseFormat::JsonObject,
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => wire::ResponseFormat::JsonSchema {
                json_schema: wire::JsonSchema {
                    name: name.clone(),
                    schema: Some(schema.clone()),
                    strict: *strict,
                },
            },
        }),
        reasoning_effort: request.reasoning.as_ref().map(effort),
        seed: request.seed,
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        n: request.n,
        user: request.user.clone(),
    }
}

/// A thinking budget as the nearest effort (OpenAI has no budgets).
fn effort(reasoning: &Reasoning) -> String {
    match reasoning {
        Reasoning::Effort(effort) => effort.clone(),
        Reasoning::BudgetTokens(budget) if *budget < 4096 => "low".to_owned(),
        Reasoning::BudgetTokens(budget) if *budget < 16384 => "medium".to_owned(),
        Reasoning::BudgetTokens(_) => "high".to_owned(),
    }
}

fn push_message(out: &mut Vec<wire::Message>, message: &Message) {
    match message.role {
        Role::System => out.push(wire::Message::System {
            content: content(&message.content),
        }),
        Role::User => {
            // Tool results are messages of their own, before the rest of the turn.
            for part in &message.content {
                if let Part::ToolResult {
                    call_id, content, ..
                } = part
                {
                    out.push(wire::Message::Tool {
                        content: self::content(content),
                        tool_call_id: call_id.clone(),
                    });
                }
            }
            let rest: Vec<Part> = message
                .content
                .iter()
                .filter(|p| !matches!(p, Part::ToolResult { .. }))
                .cloned()
                .collect();
            if !rest.is_empty() || message.content.is_empty() {
                out.push(wire::Message::User {
                    content: content(&rest),
                });
            }
        }
        Role::Assistant => {
            let calls: Vec<wire::ToolCall> = message
                .content
                .iter()
                .filter_map(|part| match part {
                    Part::ToolCall {
                        id,
                        name,
                        arguments,
                    } => Some(wire::ToolCall {
                        id: id.clone(),
                        kind: wire::FunctionType::Function,
                        function: wire::FunctionCall {
                            name: name.clone(),
                            arguments: arguments.clone(),
                        },
                    }),
                    _ => None,
                })
                .collect();
            let text: Vec<Part> = message
                .content
                .iter()
                .filter(|p| matches!(p, Part::Text { .. }))
                .cloned()
                .collect();
            out.push(wire::Message::Assistant {
                content: (!text.is_empty()).then(|| content(&text)),
                tool_calls: (!calls.is_empty()).then_some(calls),
            });
        }
    }
}

/// One plain text part as a string, anything else as a list of parts. Parts
/// chat completions has no place for (thinking, tool calls) are left out.
fn content(parts: &[Part]) -> wire::Content {
    if let [Part::Text { text, .. }] = parts {
        return wire::Content::Text(text.clone());
    }
    wire::Content::Parts(
        parts
            .iter()
            .filter_map(|part| match part {
                Part::Text { text, .. } => Some(wire::ContentPart::Text { text: text.clone() }),
                Part::Image { source, .. } => Some(wire::ContentPart::ImageUrl {
                    image_url: wire::ImageUrl {
                        url: image_url(source),
                        detail: None,
                    },
                }),
                _ => None,
            })
            .collect(),
    )
}
