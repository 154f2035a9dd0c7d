//! Input items into turns. A Response's output items (reasoning, assistant
//! message, function calls) are one assistant turn, so consecutive
//! assistant-side items join one [`Message`]; consecutive
//! `function_call_output`s join one user turn of tool results, as Anthropic
//! wants them. System and developer messages before the first turn join the
//! system prompt; later ones stay turns ([`Role::System`]).

use crate::llm::{ImageSource, Message, Part, Role};

use super::error::RequestError;
use super::wire::request::{Content, ContentPart, InputItem};

/// What the items say.
#[derive(Debug, Default)]
pub(crate) struct Translated {
    pub system: Vec<Part>,
    pub messages: Vec<Message>,
    /// An `item_reference`: it names an item the provider stored.
    pub needs_state: Option<RequestError>,
}

/// Translates `items`; `trusted_calls` skips the check that each tool output
/// answers an earlier call (with `previous_response_id` the call is stored).
pub(crate) fn translate(
    items: Vec<InputItem>,
    trusted_calls: bool,
) -> Result<Translated, RequestError> {
    let mut out = Translated::default();
    let mut calls: Vec<String> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("input[{i}]");
        match item.kind.as_deref().unwrap_or("message") {
            "message" => message(&mut out, item, &at)?,
            "function_call" => {
                let field = |value: Option<String>, name: &str| {
                    value.ok_or_else(|| RequestError::missing(format!("{at}.{name}")))
                };
                let id = field(item.call_id, "call_id")?;
                calls.push(id.clone());
                let part = Part::ToolCall {
                    id,
                    name: field(item.name, "name")?,
                    arguments: field(item.arguments, "arguments")?,
                };
                assistant_turn(&mut out.messages).push(part);
            }
            "function_call_output" => {
                let call_id = item
                    .call_id
                    .ok_or_else(|| RequestError::missing(format!("{at}.call_id")))?;
                if !trusted_calls && !calls.contains(&call_id) {
                    return Err(RequestError::invalid(
                        format!("No tool call found for function call output with call_id {call_id}."),
                        "input",
                    ));
                }
                let output = item
                    .output
                    .ok_or_else(|| RequestError::missing(format!("{at}.output")))?;
                let content = parts(output, &format!("{at}.output"))?;
                let part = Part::ToolResult {
                    call_id,
                    content,
                    is_error: false,
                    cache: None,
                };
                tool_results_turn(&mut out.messages).push(part);
            }
            "reasoning" => {
                let mut texts: Vec<String> = match item.content {
                    Some(Content::Parts(list)) => list.into_iter().filter_map(|p| p.text).collect(),
                    Some(Content::Text(text)) => vec![text],
                    None => Vec::new(),
                };
                if texts.is_empty() {
                    texts = item
                        .summary
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|p| p.text)
                        .collect();
                }
                let text = texts.join("\n\n");
                if text.is_empty() && item.encrypted_content.is_none() {
                    continue;
                }
                assistant_turn(&mut out.messages).push(Part::Thinking {
                    text,
                    signature: item.encrypted_content,
                });
            }
            "item_reference" => {
                if out.needs_state.is_none() {
                    out.needs_state = Some(RequestError::NeedsState {
                        message: "An 'item_reference' input item names an item the provider stored, which this gateway does not keep for this model: send the item itself instead.".to_owned(),
                        param: format!("{at}.type"),
                    });
                }
            }
            other => {
                return Err(RequestError::unsupported(
                    format!("Input items of type '{other}' are not supported by this gateway; send messages, function calls, function call outputs and reasoning items."),
                    format!("{at}.type"),
                ))
            }
        }
    }
    Ok(out)
}

fn message(out: &mut Translated, item: InputItem, at: &str) -> Result<(), RequestError> {
    let role = item
        .role
        .ok_or_else(|| RequestError::missing(format!("{at}.role")))?;
    let content = item
        .content
        .ok_or_else(|| RequestError::missing(format!("{at}.content")))?;
    let content = parts(content, &format!("{at}.content"))?;
    match role.as_str() {
        "user" => out.messages.push(Message {
            role: Role::User,
            content,
        }),
        "assistant" => assistant_turn(&mut out.messages).extend(content),
        "system" | "developer" if out.messages.is_empty() => out.system.extend(content),
        "system" | "developer" => out.messages.push(Message {
            role: Role::System,
            content,
        }),
        other => {
            return Err(RequestError::invalid(
                format!("Invalid value: '{other}'. Supported values are: 'user', 'assistant', 'system', 'developer'."),
                format!("{at}.role"),
            ))
        }
    }
    Ok(())
}

/// The assistant turn at the end, opened if the last turn is another's.
fn assistant_turn(messages: &mut Vec<Message>) -> &mut Vec<Part> {
    open_turn(messages, Role::Assistant, |_| true)
}

/// The user turn of tool results at the end, opened unless the last turn holds
/// only tool results.
fn tool_results_turn(messages: &mut Vec<Message>) -> &mut Vec<Part> {
    open_turn(messages, Role::User, |m| {
        m.content
            .iter()
            .all(|p| matches!(p, Part::ToolResult { .. }))
    })
}

fn open_turn(
    messages: &mut Vec<Message>,
    role: Role,
    joins: impl Fn(&Message) -> bool,
) -> &mut Vec<Part> {
    let reuse = messages.last().is_some_and(|m| m.role == role && joins(m));
    if !reuse {
        messages.push(Message {
            role,
            content: Vec::new(),
        });
    }
    let last = messages.len() - 1;
    &mut messages[last].content
}

/// Message content or a tool's output as parts.
fn parts(content: Content, at: &str) -> Result<Vec<Part>, RequestError> {
    match content {
        Content::Text(text) => Ok(vec![Part::text(text)]),
        Content::Parts(list) => list
            .into_iter()
            .enumerate()
            .map(|(j, part)| self::part(part, &format!("{at}[{j}]")))
            .collect(),
    }
}

fn part(part: ContentPart, at: &str) -> Result<Part, RequestError> {
    match part.kind.as_str() {
        "input_text" | "output_text" | "summary_text" | "reasoning_text" => part
            .text
            .map(Part::text)
            .ok_or_else(|| RequestError::missing(format!("{at}.text"))),
        "refusal" => part
            .refusal
            .map(Part::text)
            .ok_or_else(|| RequestError::missing(format!("{at}.refusal"))),
        "input_image" => match (part.image_url, part.file_id) {
            (Some(url), _) => Ok(Part::Image {
                source: image_source(url),
                cache: None,
            }),
            (None, Some(_)) => Err(RequestError::unsupported(
                "Images given by 'file_id' are not supported by this gateway (it keeps no files); send an 'image_url' (https: or data:) instead.",
                format!("{at}.file_id"),
            )),
            (None, None) => Err(RequestError::missing(format!("{at}.image_url"))),
        },
        "input_file" | "input_audio" | "computer_screenshot" => Err(RequestError::unsupported(
            format!("Content of type '{}' is not supported by this gateway; send text or images.", part.kind),
            format!("{at}.type"),
        )),
        other => Err(RequestError::invalid(
            format!("Invalid value: '{other}'. Supported values are: 'input_text', 'input_image', 'output_text', 'refusal'."),
            format!("{at}.type"),
        )),
    }
}

/// `data:` URLs become base64 images (what Anthropic and Gemini take); other
/// URLs stay URLs.
fn image_source(url: String) -> ImageSource {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((media_type, data)) = rest.split_once(";base64,") {
            return ImageSource::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
    }
    ImageSource::Url(url)
}
