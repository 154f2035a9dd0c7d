//! Request bytes from an Anthropic client -> [`ChatRequest`].

use crate::llm::{
    CacheControl, ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice,
};

use super::super::error::ErrorKind;
use super::super::wire::{
    CacheControlWire, ContentBlock, ImageSourceWire, InputMessage, MessagesRequest, RoleWire,
    StringOr, ThinkingConfig, ToolChoiceWire, ToolDef,
};

/// Why a client's request cannot be served; every one is an
/// `invalid_request_error` (400), worded like the API's own messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    /// Not JSON, or JSON of the wrong shape; the path says where.
    #[error("{0}")]
    Malformed(String),
    #[error("{0}: Field required")]
    Missing(&'static str),
    /// A value out of the API's range or form.
    #[error("{0}")]
    Invalid(String),
    /// Valid for Anthropic, but not something this gateway can carry.
    #[error("{0} is not supported by this gateway")]
    Unsupported(String),
}

impl IngressError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidRequest
    }

    /// The HTTP status and Anthropic error body to answer with.
    pub fn response(&self) -> (u16, bytes::Bytes) {
        let kind = self.kind();
        (
            kind.status(),
            super::super::error::error_body(kind, &self.to_string(), None),
        )
    }
}

/// The name the format-neutral model gives a structured-output schema that
/// arrived as `output_config.format` (Anthropic's has no name).
pub const OUTPUT_FORMAT_NAME: &str = "output";

fn parse_wire(bytes: &[u8]) -> Result<MessagesRequest, IngressError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let wire: MessagesRequest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = dotted(e.path());
        let inner = e.into_inner();
        if path.is_empty() {
            IngressError::Malformed(format!(
                "There was an error parsing the body of your request: {inner}"
            ))
        } else {
            IngressError::Malformed(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| IngressError::Malformed(format!("trailing characters after the body: {e}")))?;
    Ok(wire)
}

/// A serde path in the API's spelling: `messages.0.content.1`.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let piece = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => continue,
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&piece);
    }
    out
}

/// A `POST /v1/messages` body.
pub fn parse_request(bytes: &[u8]) -> Result<ChatRequest, IngressError> {
    let wire = parse_wire(bytes)?;
    if wire.max_tokens.is_none() {
        return Err(IngressError::Missing("max_tokens"));
    }
    translate(wire)
}

/// A `POST /v1/messages/count_tokens` body, as the request whose prompt is
/// counted (`max_tokens` is not part of it).
pub fn parse_count_tokens(bytes: &[u8]) -> Result<ChatRequest, IngressError> {
    let mut wire = parse_wire(bytes)?;
    wire.max_tokens = None;
    wire.stream = None;
    translate(wire)
}

fn translate(wire: MessagesRequest) -> Result<ChatRequest, IngressError> {
    if wire.model.is_empty() {
        return Err(IngressError::Invalid(
            "model: String should have at least 1 character".into(),
        ));
    }
    if wire.messages.is_empty() {
        return Err(IngressError::Invalid(
            "messages: at least one message is required".into(),
        ));
    }
    unit_range("temperature", wire.temperature)?;
    unit_range("top_p", wire.top_p)?;
    let system = match wire.system {
        None => Vec::new(),
        Some(system) => blocks(system)
            .into_iter()
            .enumerate()
            .map(|(i, block)| match block {
                ContentBlock::Text {
                    text,
                    cache_control,
                } => Ok(Part::Text {
                    text,
                    cache: cache(cache_control, &format!("system.{i}"))?,
                }),
                _ => Err(IngressError::Invalid(format!(
                    "system.{i}: the system prompt holds only text blocks"
                ))),
            })
            .collect::<Result<Vec<Part>, IngressError>>()?,
    };
    let mut messages = wire
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| message(m, i))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(control) = wire.cache_control {
        let control = cache(Some(control), "cache_control")?;
        automatic_breakpoint(&mut messages, control);
    }
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| tool(t, i))
        .collect::<Result<Vec<Tool>, IngressError>>()?;
    let (tool_choice, parallel_tool_calls) = match wire.tool_choice {
        None => (None, None),
        Some(choice) => tool_choice(choice),
    };
    let reasoning = match (&wire.thinking, &wire.output_config) {
        (Some(ThinkingConfig::Enabled { budget_tokens, .. }), _) => {
            Some(Reasoning::BudgetTokens(*budget_tokens))
        }
        (_, Some(config)) => config.effort.clone().map(Reasoning::Effort),
        _ => None,
    };
    let response_format = wire
        .output_config
        .and_then(|c| c.format)
        .map(|format| {
            if format.kind != "json_schema" {
                return Err(IngressError::Invalid(format!(
                    "output_config.format.type: Input should be 'json_schema', not '{}'",
                    format.kind
                )));
            }
            Ok(ResponseFormat::JsonSchema {
                name: OUTPUT_FORMAT_NAME.into(),
                schema: format.schema,
                strict: None,
            })
        })
        .transpose()?;
    Ok(ChatRequest {
        model: wire.model,
        system,
        messages,
        max_tokens: wire.max_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        stop: wire.stop_sequences.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format,
        reasoning,
        user: wire.metadata.and_then(|m| m.user_id),
        ..ChatRequest::default()
    })
}

fn unit_range(field: &str, value: Option<f64>) -> Result<(), IngressError> {
    match value {
        Some(v) if v.is_nan() || v < 0.0 => Err(IngressError::Invalid(format!(
            "{field}: Input should be greater than or equal to 0"
        ))),
        Some(v) if v > 1.0 => Err(IngressError::Invalid(format!(
            "{field}: Input should be less than or equal to 1"
        ))),
        _ => Ok(()),
    }
}

fn blocks(content: StringOr<ContentBlock>) -> Vec<ContentBlock> {
    match content {
        StringOr::String(text) if text.is_empty() => Vec::new(),
        StringOr::String(text) => vec![ContentBlock::Text {
            text,
            cache_control: None,
        }],
        StringOr::List(list) => list,
    }
}

fn cache(
    control: Option<CacheControlWire>,
    path: &str,
) -> Result<Option<CacheControl>, IngressError> {
    let Some(control) = control else {
        return Ok(None);
    };
    if control.kind != "ephemeral" {
        return Err(IngressError::Invalid(format!(
            "{path}.type: Input should be 'ephemeral'"
        )));
    }
    if let Some(ttl) = &control.ttl {
        if ttl != "5m" && ttl != "1h" {
            return Err(IngressError::Invalid(format!(
                "{path}.ttl: Input should be '5m' or '1h'"
            )));
        }
    }
    Ok(Some(CacheControl { ttl: control.ttl }))
}

fn message(message: InputMessage, i: usize) -> Result<Message, IngressError> {
    let role = match message.role {
        RoleWire::User => Role::User,
        RoleWire::Assistant => Role::Assistant,
        RoleWire::System => Role::System,
    };
    let path = format!("messages.{i}.content");
    let mut content = Vec::new();
    for (j, block) in blocks(message.content).into_iter().enumerate() {
        if let Some(part) = part(block, role, &format!("{path}.{j}"))? {
            content.push(part);
        }
    }
    Ok(Message { role, content })
}

/// One block of a message; `None` for what is dropped (`redacted_thinking`).
fn part(block: ContentBlock, role: Role, path: &str) -> Result<Option<Part>, IngressError> {
    let only_in = |wanted: Role, kind: &str| {
        if role == wanted {
            Ok(())
        } else {
            Err(IngressError::Invalid(format!(
                "{path}: `{kind}` blocks can only be in `{}` messages",
                if wanted == Role::User {
                    "user"
                } else {
                    "assistant"
                }
            )))
        }
    };
    Ok(Some(match block {
        ContentBlock::Text {
            text,
            cache_control,
        } => Part::Text {
            text,
            cache: cache(cache_control, path)?,
        },
        ContentBlock::Image {
            source,
            cache_control,
        } => Part::Image {
            source: image(source, path)?,
            cache: cache(cache_control, path)?,
        },
        ContentBlock::ToolUse {
            id, name, input, ..
        } => {
            only_in(Role::Assistant, "tool_use")?;
            if !input.is_object() {
                return Err(IngressError::Invalid(format!(
                    "{path}.input: Input should be a valid dictionary"
                )));
            }
            Part::ToolCall {
                id,
                name,
                arguments: input.to_string(),
            }
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
            cache_control,
        } => {
            only_in(Role::User, "tool_result")?;
            let inner = match content {
                None => Vec::new(),
                Some(content) => blocks(content),
            };
            let mut parts = Vec::with_capacity(inner.len());
            for (k, block) in inner.into_iter().enumerate() {
                let path = format!("{path}.content.{k}");
                parts.push(match block {
                    ContentBlock::Text {
                        text,
                        cache_control,
                    } => Part::Text {
                        text,
                        cache: cache(cache_control, &path)?,
                    },
                    ContentBlock::Image {
                        source,
                        cache_control,
                    } => Part::Image {
                        source: image(source, &path)?,
                        cache: cache(cache_control, &path)?,
                    },
                    other => {
                        return Err(IngressError::Unsupported(format!(
                            "{path}: a `{}` block inside a tool result",
                            block_name(&other)
                        )))
                    }
                });
            }
            Part::ToolResult {
                call_id: tool_use_id,
                content: parts,
                is_error: is_error.unwrap_or(false),
                cache: cache(cache_control, path)?,
            }
        }
        ContentBlock::Thinking {
            thinking,
            signature,
        } => {
            only_in(Role::Assistant, "thinking")?;
            Part::Thinking {
                text: thinking,
                signature: Some(signature),
            }
        }
        ContentBlock::RedactedThinking { .. } => {
            only_in(Role::Assistant, "redacted_thinking")?;
            return Ok(None);
        }
        other => {
            return Err(IngressError::Unsupported(format!(
                "{path}: a `{}` block",
                block_name(&other)
            )))
        }
    }))
}

fn block_name(block: &ContentBlock) -> &'static str {
    match block {
        ContentBlock::Text { .. } => "text",
        ContentBlock::Image { .. } => "image",
        ContentBlock::ToolUse { .. } => "tool_use",
        ContentBlock::ToolResult { .. } => "tool_result",
        ContentBlock::Thinking { .. } => "thinking",
        ContentBlock::RedactedThinking { .. } => "redacted_thinking",
        ContentBlock::Document(_) => "document",
        ContentBlock::SearchResult(_) => "search_result",
    }
}

const MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

fn image(source: ImageSourceWire, path: &str) -> Result<ImageSource, IngressError> {
    match source {
        ImageSourceWire::Base64 { media_type, data } => {
            if !MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(IngressError::Invalid(format!(
                    "{path}.source.media_type: Input should be 'image/jpeg', 'image/png', \
                     'image/gif' or 'image/webp'"
                )));
            }
            Ok(ImageSource::Base64 { media_type, data })
        }
        ImageSourceWire::Url { url } => Ok(ImageSource::Url(url)),
        ImageSourceWire::File { .. } => Err(IngressError::Unsupported(format!(
            "{path}.source: an image from the Files API (`file_id`)"
        ))),
    }
}

/// Top-level `cache_control` puts a breakpoint on the last cacheable block;
/// the model keeps breakpoints on blocks only, so it is placed there now.
fn automatic_breakpoint(messages: &mut [Message], control: Option<CacheControl>) {
    let Some(part) = messages
        .iter_mut()
        .rev()
        .flat_map(|m| m.content.iter_mut().rev())
        .find(|p| {
            matches!(
                p,
                Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. }
            )
        })
    else {
        return;
    };
    match part {
        Part::Text { cache, .. } | Part::Image { cache, .. } | Part::ToolResult { cache, .. } => {
            if cache.is_none() {
                *cache = control;
            }
        }
        Part::ToolCall { .. } | Part::Thinking { .. } => {}
    }
}

fn tool(tool: ToolDef, i: usize) -> Result<Tool, IngressError> {
    let path = format!("tools.{i}");
    if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
        return Err(IngressError::Unsupported(format!(
            "{path}: the server tool `{kind}`"
        )));
    }
    let valid_name = (1..=128).contains(&tool.name.len())
        && tool
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(IngressError::Invalid(format!(
            "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
        )));
    }
    let Some(parameters) = tool.input_schema else {
        return Err(IngressError::Invalid(format!(
            "{path}.input_schema: Field required"
        )));
    };
    if !parameters.is_object() {
        return Err(IngressError::Invalid(format!(
            "{path}.input_schema: Input should be a valid dictionary"
        )));
    }
    Ok(Tool {
        name: tool.name,
        description: tool.description,
        parameters,
        strict: tool.strict,
        cache: cache(tool.cache_control, &path)?,
    })
}

fn tool_choice(choice: ToolChoiceWire) -> (Option<ToolChoice>, Option<bool>) {
    let (choice, disable) = match choice {
        ToolChoiceWire::Auto {
            disable_parallel_tool_use,
        } => (ToolChoice::Auto, disable_parallel_tool_use),
        ToolChoiceWire::Any {
            disable_parallel_tool_use,
        } => (ToolChoice::Required, disable_parallel_tool_use),
        ToolChoiceWire::Tool {
            name,
            disable_parallel_tool_use,
        } => (ToolChoice::Tool(name), disable_parallel_tool_use),
        ToolChoiceWire::None {} => (ToolChoice::None, None),
    };
    (Some(choice), disable.map(|d| !d))
}
