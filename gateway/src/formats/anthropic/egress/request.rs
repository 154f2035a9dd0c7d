//! [`ChatRequest`] -> a Messages API request body.

use serde_json::{json, Value};

use crate::llm::{
    CacheControl, ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    ToolChoice,
};

use super::super::wire::{
    CacheControlWire, ContentBlock, ImageSourceWire, InputMessage, MessagesRequest, Metadata,
    RoleWire, StringOr, ThinkingConfig, ToolChoiceWire, ToolDef,
};

/// Why a request cannot be sent to Anthropic as it is. Each is the client's
/// to fix (a 400 in the client's own format).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EgressError {
    #[error("temperature {0} is outside Anthropic's range 0 to 1")]
    Temperature(f64),
    #[error("top_p {0} is outside the range 0 to 1")]
    TopP(f64),
    #[error("n={0}: Anthropic models answer with one choice only")]
    MultipleChoices(u32),
    #[error("tool result for `{0}` answers no tool call of the assistant turn before it")]
    UnmatchedToolResult(String),
    #[error("the arguments of tool call `{0}` are not a JSON object")]
    ToolArguments(String),
    #[error("image URL: {0}")]
    Image(String),
    #[error("the system prompt can hold only text")]
    SystemContent,
    #[error("a JSON schema response format needs an object schema at its root for Anthropic")]
    SchemaNotObject,
    #[error("thinking budget {budget} must be at least 1024 and below max_tokens {max_tokens}")]
    ThinkingBudget { budget: u64, max_tokens: u64 },
    #[error("{0} cannot be combined with extended thinking on Anthropic models")]
    WithThinking(&'static str),
}

/// What the answer's translation must know about how the request was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPlan {
    /// The forced tool standing for `response_format`: its call is the
    /// answer's text.
    pub format_tool: Option<String>,
}

const MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];
/// Thinking budgets for OpenAI-style effort levels.
const EFFORT_BUDGETS: &[(&str, u64)] = &[
    ("minimal", 1024),
    ("low", 2048),
    ("medium", 8192),
    ("high", 24576),
    ("xhigh", 32000),
    ("max", 32000),
];

/// The Messages API body for `request`. `default_max_tokens` is used when the
/// client gave no `max_tokens` (the catalog's max output for the model).
pub fn to_request(
    request: &ChatRequest,
    default_max_tokens: u64,
) -> Result<(MessagesRequest, EgressPlan), EgressError> {
    if let Some(t) = request.temperature {
        if !(0.0..=1.0).contains(&t) {
            return Err(EgressError::Temperature(t));
        }
    }
    if let Some(p) = request.top_p {
        if !(0.0..=1.0).contains(&p) {
            return Err(EgressError::TopP(p));
        }
    }
    if let Some(n) = request.n.filter(|n| *n > 1) {
        return Err(EgressError::MultipleChoices(n));
    }
    let max_tokens = request.max_tokens.unwrap_or(default_max_tokens);

    let mut system: Vec<ContentBlock> = Vec::new();
    for part in &request.system {
        push_system(&mut system, part)?;
    }
    let mut turns: Vec<(RoleWire, Vec<ContentBlock>)> = Vec::new();
    for message in &request.messages {
        if message.role == Role::System {
            for part in &message.content {
                push_system(&mut system, part)?;
            }
            continue;
        }
        let role = if message.role == Role::User {
            RoleWire::User
        } else {
            RoleWire::Assistant
        };
        let blocks = blocks(message)?;
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    check_tool_results(&mut turns)?;

    let mut tools: Vec<ToolDef> = request
        .tools
        .iter()
        .map(|t| ToolDef {
            name: t.name.clone(),
            description: t.description.clone(),
            input_schema: Some(t.parameters.clone()),
            cache_control: wire_cache(t.cache.as_ref()),
            strict: t.strict,
            kind: None,
        })
        .collect();
    let thinking = thinking(request.reasoning.as_ref(), max_tokens)?;
    if thinking.is_some() {
        if request.temperature.is_some_and(|t| t != 1.0) {
            return Err(EgressError::WithThinking("a temperature other than 1"));
        }
        if request.top_k.is_some() {
            return Err(EgressError::WithThinking("top_k"));
        }
    }

    let mut plan = EgressPlan::default();
    let mut choice = request.tool_choice.clone();
    if let Some((name, schema)) = format_tool(request.response_format.as_ref(), &tools)? {
        if thinking.is_some() {
            return Err(EgressError::WithThinking("a JSON response format"));
        }
        // With the client's tools the model must call one of them or answer
        // through the format tool; without, it must answer through it.
        choice = Some(match choice {
            Some(ToolChoice::Tool(tool)) => ToolChoice::Tool(tool),
            Some(ToolChoice::Auto | ToolChoice::Required) | None if !tools.is_empty() => {
                ToolChoice::Required
            }
            _ => ToolChoice::Tool(name.clone()),
        });
        tools.push(ToolDef {
            name: name.clone(),
            description: Some("Give the answer as this tool's input.".into()),
            input_schema: Some(schema),
            cache_control: None,
            strict: None,
            kind: None,
        });
        plan.format_tool = Some(name);
    }
    let tool_choice = if tools.is_empty() {
        None
    } else {
        tool_choice(choice, request.parallel_tool_calls)
    };

    let body = MessagesRequest {
        model: request.model.clone(),
        messages: turns
            .into_iter()
            .map(|(role, content)| InputMessage {
                role,
                content: compact(content),
            })
            .collect(),
        max_tokens: Some(max_tokens),
        system: (!system.is_empty()).then(|| compact(system)),
        stop_sequences: (!request.stop.is_empty()).then(|| request.stop.clone()),
        stream: request.stream.then_some(true),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        metadata: request.user.as_ref().map(|user| Metadata {
            user_id: Some(user.clone()),
        }),
        thinking,
        output_config: None,
        cache_control: None,
    };
    Ok((body, plan))
}

fn wire_cache(cache: Option<&CacheControl>) -> Option<CacheControlWire> {
    cache.map(|c| CacheControlWire::ephemeral(c.ttl.clone()))
}

fn push_system(system: &mut Vec<ContentBlock>, part: &Part) -> Result<(), EgressError> {
    match part {
        Part::Text { text, cache } => {
            if !text.trim().is_empty() {
                system.push(ContentBlock::Text {
                    text: text.clone(),
                    cache_control: wire_cache(cache.as_ref()),
                });
            }
            Ok(())
        }
        _ => Err(EgressError::SystemContent),
    }
}

/// A single uncached text block is sent as a plain string, as clients write it.
fn compact(blocks: Vec<ContentBlock>) -> StringOr<ContentBlock> {
    match blocks.as_slice() {
        [ContentBlock::Text {
            text,
            cache_control: None,
        }] => StringOr::String(text.clone()),
        _ => StringOr::List(blocks),
    }
}

fn blocks(message: &Message) -> Result<Vec<ContentBlock>, EgressError> {
    let mut out = Vec::with_capacity(message.content.len());
    for part in &message.content {
        match part {
            Part::Text { text, cache } => {
                if !text.trim().is_empty() {
                    out.push(ContentBlock::Text {
                        text: text.clone(),
                        cache_control: wire_cache(cache.as_ref()),
                    });
                }
            }
            Part::Image { source, cache } => out.push(ContentBlock::Image {
                source: image(source)?,
                cache_control: wire_cache(cache.as_ref()),
            }),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let input = if arguments.trim().is_empty() {
                    json!({})
                } else {
                    match serde_json::from_str::<Value>(arguments) {
                        Ok(value @ Value::Object(_)) => value,
                        _ => return Err(EgressError::ToolArguments(id.clone())),
                    }
                };
                out.push(ContentBlock::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input,
                    cache_control: None,
                });
            }
            Part::ToolResult {
                call_id,
                content,
                is_error,
                cache,
            } => {
                let mut inner = Vec::with_capacity(content.len());
                for part in content {
                    match part {
                        Part::Text { text, cache } if !text.trim().is_empty() => {
                            inner.push(ContentBlock::Text {
                                text: text.clone(),
                                cache_control: wire_cache(cache.as_ref()),
                            });
                        }
                        Part::Image { source, cache } => inner.push(ContentBlock::Image {
                            source: image(source)?,
                            cache_control: wire_cache(cache.as_ref()),
                        }),
                        // Blank text, and what is no tool's output.
                        _ => {}
                    }
                }
                out.push(ContentBlock::ToolResult {
                    tool_use_id: call_id.clone(),
                    content: (!inner.is_empty()).then(|| compact(inner)),
                    is_error: is_error.then_some(true),
                    cache_control: wire_cache(cache.as_ref()),
                });
            }
            Part::Thinking { text, signature } => {
                if let (Role::Assistant, Some(signature)) = (message.role, signature) {
                    out.push(ContentBlock::Thinking {
                        thinking: text.clone(),
                        signature: signature.clone(),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn image(source: &ImageSource) -> Result<ImageSourceWire, EgressError> {
    match source {
        ImageSource::Base64 { media_type, data } => {
            if !MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(EgressError::Image(format!(
                    "media type `{media_type}` is not one Anthropic reads"
                )));
            }
            Ok(ImageSourceWire::Base64 {
                media_type: media_type.clone(),
                data: data.clone(),
            })
        }
        ImageSource::Url(url) => {
            if let Some(rest) = url.strip_prefix("data:") {
                let Some((header, data)) = rest.split_once(',') else {
                    return Err(EgressError::Image("a data URL without data".into()));
                };
                let Some(media_type) = header.strip_suffix(";base64") else {
                    return Err(EgressError::Image("a data URL that is not base64".into()));
                };
                return image(&ImageSource::Base64 {
                    media_type: media_type.to_ascii_lowercase(),
                    data: data.to_owned(),
                });
            }
            let lower = url.get(..8).map(str::to_ascii_lowercase);
            if lower.as_deref() == Some("https://") || url.starts_with("http://") {
                Ok(ImageSourceWire::Url { url: url.clone() })
            } else {
                Err(EgressError::Image(
                    "only https and base64 data URLs can be sent to Anthropic".into(),
                ))
            }
        }
    }
}

/// Tool results come first in their turn, and each answers a tool call of the
/// assistant turn just before.
fn check_tool_results(turns: &mut [(RoleWire, Vec<ContentBlock>)]) -> Result<(), EgressError> {
    for t in 0..turns.len() {
        let (head, tail) = turns.split_at_mut(t);
        let Some((RoleWire::User, blocks)) = tail.first_mut() else {
            continue;
        };
        let previous: Vec<&str> = match head.last() {
            Some((RoleWire::Assistant, before)) => before
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for block in blocks.iter() {
            if let ContentBlock::ToolResult { tool_use_id, .. } = block {
                if !previous.contains(&tool_use_id.as_str()) {
                    return Err(EgressError::UnmatchedToolResult(tool_use_id.clone()));
                }
            }
        }
        // Stable: results keep their order, and so does the rest.
        blocks.sort_by_key(|b| !matches!(b, ContentBlock::ToolResult { .. }));
    }
    Ok(())
}

fn thinking(
    reasoning: Option<&Reasoning>,
    max_tokens: u64,
) -> Result<Option<ThinkingConfig>, EgressError> {
    let budget = match reasoning {
        None => return Ok(None),
        Some(Reasoning::BudgetTokens(0)) => return Ok(None),
        Some(Reasoning::BudgetTokens(budget)) => {
            if *budget < 1024 || *budget >= max_tokens {
                return Err(EgressError::ThinkingBudget {
                    budget: *budget,
                    max_tokens,
                });
            }
            *budget
        }
        Some(Reasoning::Effort(effort)) => {
            let Some(&(_, budget)) = EFFORT_BUDGETS
                .iter()
                .find(|(name, _)| *name == effort.as_str())
            else {
                // `none` and unknown levels: no thinking.
                return Ok(None);
            };
            // The effort is a wish, not a number the client chose: fit it under
            // the client's limit, and think not at all if the limit is too low.
            let budget = budget.min(max_tokens.saturating_sub(1));
            if budget < 1024 {
                return Ok(None);
            }
            budget
        }
    };
    Ok(Some(ThinkingConfig::Enabled {
        budget_tokens: budget,
        display: None,
    }))
}

/// The forced tool for a JSON response format: its name (unique among the
/// client's tools) and input schema.
fn format_tool(
    format: Option<&ResponseFormat>,
    tools: &[ToolDef],
) -> Result<Option<(String, Value)>, EgressError> {
    let (name, schema) = match format {
        None | Some(ResponseFormat::Text) => return Ok(None),
        Some(ResponseFormat::JsonObject) => ("json_object".to_owned(), json!({"type": "object"})),
        Some(ResponseFormat::JsonSchema { name, schema, .. }) => {
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err(EgressError::SchemaNotObject);
            }
            let clean: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .take(100)
                .collect();
            let clean = if clean.is_empty() {
                "json_output".to_owned()
            } else {
                clean
            };
            (clean, schema.clone())
        }
    };
    let mut name = name;
    while tools.iter().any(|t| t.name == name) {
        name.push('_');
    }
    Ok(Some((name, schema)))
}

fn tool_choice(choice: Option<ToolChoice>, parallel: Option<bool>) -> Option<ToolChoiceWire> {
    let disable_parallel_tool_use = parallel.map(|p| !p);
    match choice {
        None => disable_parallel_tool_use.map(|_| ToolChoiceWire::Auto {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Auto) => Some(ToolChoiceWire::Auto {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Required) => Some(ToolChoiceWire::Any {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Tool(name)) => Some(ToolChoiceWire::Tool {
            name,
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::None) => Some(ToolChoiceWire::None {}),
    }
}
