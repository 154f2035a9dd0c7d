//! A [`ChatRequest`] as a Gemini `generateContent` body.
//!
//! What the gateway's model has and Gemini does not say is either refused with a
//! [`RequestError`] (so the router can pick another candidate or the client
//! gets a clear 400) or dropped where dropping changes nothing the client can
//! observe:
//!
//! - dropped: `user` (Gemini takes no end-user id), `parallel_tool_calls`
//!   (Gemini has no switch for it), `presence_penalty` and `frequency_penalty`
//!   unless [`RenderOptions::penalties`] (only Gemini 2.0 takes them), cache breakpoints (Gemini caches implicitly
//!   or through `cachedContent`), `Tool::strict`, thinking parts of earlier
//!   answers (Gemini needs only their signatures, which travel in tool call ids,
//!   see [`super::ids`]), empty text parts and turns left empty;
//! - moved: a system message after the first turn joins `systemInstruction`
//!   (Gemini has no system role inside `contents`); consecutive turns of one
//!   role are merged, function responses first, as Gemini pairs a model turn's
//!   calls with the next user turn's responses;
//! - refused: `n` above 1 (the answer model holds one choice), values outside
//!   Gemini's ranges, more than five stop sequences, images by `http:` URL,
//!   non-text system content, tool calls in user turns, tool results in
//!   assistant turns, tool results whose call is not in the conversation,
//!   a turn of tool results that does not answer each call of the model turn
//!   just before it (Gemini pairs them by position and count),
//!   invalid function names and schemas Gemini's subset cannot express
//!   (see [`super::schema`]).
//!
//! The model name goes in the URL ([`super::endpoint`]), never in the body.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::wire::{
    Blob, Content, CountTokensRequest, FileData, FunctionCall, FunctionCallingConfig,
    FunctionDeclaration, FunctionResponse, GenerateContentRequest, GenerationConfig, Part,
    ThinkingConfig, Tool, ToolConfig,
};
use super::{ids, schema};
use crate::llm::{self, ChatRequest, ImageSource, Reasoning, ResponseFormat, Role, ToolChoice};

/// Most stop sequences Gemini takes.
pub const MAX_STOP_SEQUENCES: usize = 5;

/// The thought signature Gemini documents for a function call whose signature
/// is unknown (a conversation begun with another model).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// How to say what not every Gemini model takes the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// How a JSON Schema is sent.
    pub schemas: SchemaDialect,
    /// How an effort level becomes a thinking config.
    pub thinking: ThinkingStyle,
    /// Sign unsigned function calls with [`SKIP_SIGNATURE`] (Gemini 3 refuses
    /// unsigned calls in the current turn).
    pub sign_unsigned_calls: bool,
    /// Send `presencePenalty` and `frequencyPenalty`. Only Gemini 2.0 takes
    /// them; later models answer 400 "Penalty is not enabled for this model",
    /// so by default they are dropped, as hints the answer keeps its shape
    /// without.
    pub penalties: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaDialect {
    /// Converted to Gemini's `Schema` subset (`parameters`, `responseSchema`):
    /// every Gemini model takes it.
    Subset,
    /// Sent as is (`parametersJsonSchema`, `responseJsonSchema`): Gemini 2.5
    /// and later.
    JsonSchema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingStyle {
    /// `thinkingBudget` in tokens (Gemini 2.5); `can_disable` is false for
    /// models whose thinking cannot be turned off (2.5 Pro: at least 128).
    Budget { can_disable: bool },
    /// `thinkingLevel` (Gemini 3).
    Level,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            schemas: SchemaDialect::Subset,
            thinking: ThinkingStyle::Budget { can_disable: true },
            sign_unsigned_calls: false,
            penalties: false,
        }
    }
}

impl RenderOptions {
    /// The options that suit `model` (a Gemini model id, with or without
    /// `models/`), judged by its family name.
    pub fn for_model(model: &str) -> RenderOptions {
        let model = model.strip_prefix("models/").unwrap_or(model);
        if model.starts_with("gemini-3") {
            RenderOptions {
                thinking: ThinkingStyle::Level,
                sign_unsigned_calls: true,
                ..RenderOptions::default()
            }
        } else if model.starts_with("gemini-2.5-pro") {
            RenderOptions {
                thinking: ThinkingStyle::Budget { can_disable: false },
                ..RenderOptions::default()
            }
        } else if model.starts_with("gemini-2.0") {
            RenderOptions {
                penalties: true,
                ..RenderOptions::default()
            }
        } else {
            RenderOptions::default()
        }
    }
}

/// Why a request cannot go to Gemini as asked. Messages name fields, indexes
/// and tool names, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the conversation has no turn with content")]
    EmptyConversation,
    #[error("{field} is out of range: {reason}")]
    OutOfRange {
        field: &'static str,
        reason: &'static str,
    },
    #[error("{0} is not supported by Gemini")]
    Unsupported(&'static str),
    #[error("invalid function name {0:?}: Gemini takes letters, digits, '_', '.', ':' and '-', starting with a letter or '_', at most 128")]
    InvalidToolName(String),
    #[error("tool_choice names {0:?}, which is not among the tools")]
    UnknownToolChoice(String),
    #[error("tool_choice requires a tool call but no tools are given")]
    ToolChoiceWithoutTools,
    #[error(
        "the tool result for call {0:?} has no matching tool call earlier in the conversation"
    )]
    UnmatchedToolResult(String),
    #[error("turn {turn} holds {results} tool results for the {calls} tool calls of the turn before; Gemini wants one result per call, right after the calls")]
    ToolResultsMismatch {
        turn: usize,
        calls: usize,
        results: usize,
    },
    #[error("the arguments of tool call {0:?} are not a JSON object")]
    ArgumentsNotObject(String),
    #[error("image {0}: only https:, gs: and base64 data: URLs are supported")]
    UnsupportedImageUrl(&'static str),
    #[error("image: malformed data: URL (want data:<mime type>;base64,<data>)")]
    BadDataUrl,
    #[error("unknown reasoning effort {0:?} (want none, minimal, low, medium or high)")]
    UnknownEffort(String),
    #[error("tool {tool:?} parameters: {error}")]
    ToolSchema {
        tool: String,
        error: schema::SchemaError,
    },
    #[error("response_format json_schema: {0}")]
    ResponseSchema(schema::SchemaError),
    #[error("the request could not be encoded as JSON")]
    Encoding,
    #[error("model name {0:?} cannot be used in a Gemini URL")]
    BadModelName(String),
}

impl From<super::endpoint::BadModelName> for RequestError {
    fn from(error: super::endpoint::BadModelName) -> Self {
        RequestError::BadModelName(error.0)
    }
}

impl RequestError {
    /// The request field at fault, by its OpenAI chat name, for error bodies.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            RequestError::OutOfRange { field, .. } if !field.contains(' ') => Some(field),
            RequestError::OutOfRange { .. } => Some("reasoning_effort"),
            RequestError::Unsupported("more than one choice (n > 1)") => Some("n"),
            RequestError::InvalidToolName(_) | RequestError::ToolSchema { .. } => Some("tools"),
            RequestError::UnknownToolChoice(_) | RequestError::ToolChoiceWithoutTools => {
                Some("tool_choice")
            }
            RequestError::UnknownEffort(_) => Some("reasoning_effort"),
            RequestError::ResponseSchema(_) => Some("response_format"),
            RequestError::EmptyConversation
            | RequestError::UnmatchedToolResult(_)
            | RequestError::ToolResultsMismatch { .. }
            | RequestError::ArgumentsNotObject(_)
            | RequestError::UnsupportedImageUrl(_)
            | RequestError::BadDataUrl
            | RequestError::Unsupported(_) => Some("messages"),
            RequestError::Encoding | RequestError::BadModelName(_) => None,
        }
    }

    /// Whether the client's request is at fault (answer 400), rather than the
    /// gateway's configuration (a model name no URL can hold) or the gateway
    /// itself: those are worth another candidate instead.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, RequestError::Encoding | RequestError::BadModelName(_))
    }
}

/// What a provider adapter sends for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The path after the API version prefix (e.g. after `/v1beta/`), with
    /// `?alt=sse` for a stream.
    pub path: String,
    pub body: Vec<u8>,
}

/// The path and body for `request` served by `upstream_model`, with the
/// options that model needs: all a Gemini adapter has to add is the base URL
/// and the key header ([`super::API_KEY_HEADER`]).
pub fn outgoing(request: &ChatRequest, upstream_model: &str) -> Result<Outgoing, RequestError> {
    let method = if request.stream {
        super::Method::Stream
    } else {
        super::Method::Generate
    };
    Ok(Outgoing {
        path: super::endpoint::path(upstream_model, method)?,
        body: render_body(request, &RenderOptions::for_model(upstream_model))?,
    })
}

/// `request` as a `generateContent` body.
pub fn render(
    request: &ChatRequest,
    options: &RenderOptions,
) -> Result<GenerateContentRequest, RequestError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(RequestError::Unsupported("more than one choice (n > 1)"));
    }
    let mut system = texts_only(&request.system)?;
    let contents = turns(&request.messages, &mut system, options)?;
    let (tools, tool_config) = tools(request, options)?;
    let generation_config = generation_config(request, options)?;
    Ok(GenerateContentRequest {
        model: None,
        contents,
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        tools,
        tool_config,
        generation_config: (!generation_config.is_empty()).then_some(generation_config),
    })
}

/// `request` as a `countTokens` body for `model`: the whole request is counted,
/// system instruction and tools included.
pub fn render_count_tokens(
    request: &ChatRequest,
    model: &str,
    options: &RenderOptions,
) -> Result<CountTokensRequest, RequestError> {
    let model = super::endpoint::model_id(model)?;
    let mut inner = render(request, options)?;
    inner.model = Some(format!("models/{model}"));
    Ok(CountTokensRequest {
        generate_content_request: inner,
    })
}

fn texts_only(parts: &[llm::Part]) -> Result<Vec<Part>, RequestError> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            llm::Part::Text { text, .. } if text.is_empty() => {}
            llm::Part::Text { text, .. } => out.push(text_part(text)),
            _ => {
                return Err(RequestError::Unsupported(
                    "non-text content in a system prompt",
                ))
            }
        }
    }
    Ok(out)
}

fn text_part(text: &str) -> Part {
    Part {
        text: Some(text.to_owned()),
        ..Part::default()
    }
}

const USER: &str = "user";
const MODEL: &str = "model";

fn turns(
    messages: &[llm::Message],
    system: &mut Vec<Part>,
    options: &RenderOptions,
) -> Result<Vec<Content>, RequestError> {
    // The function name of each call id seen so far (a later call reusing an
    // id wins, as the result answers the nearest call).
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut contents: Vec<Content> = Vec::new();
    for message in messages {
        let (role, parts) = match message.role {
            Role::System => {
                system.extend(texts_only(&message.content)?);
                continue;
            }
            Role::Assistant => (MODEL, model_parts(&message.content, &mut names, options)?),
            Role::User => (USER, user_parts(&message.content, &names)?),
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => {
                last.parts.extend(parts);
                if role == USER {
                    // Function responses first, in their order.
                    last.parts
                        .sort_by_key(|part| part.function_response.is_none());
                }
            }
            _ => contents.push(Content {
                role: Some(role.to_owned()),
                parts,
            }),
        }
    }
    if contents.is_empty() {
        return Err(RequestError::EmptyConversation);
    }
    check_pairing(&contents)?;
    Ok(contents)
}

/// Each turn of function responses answers the calls of the model turn just
/// before it, as many responses as calls (the API's rule).
fn check_pairing(contents: &[Content]) -> Result<(), RequestError> {
    let count =
        |content: &Content, f: fn(&Part) -> bool| content.parts.iter().filter(|p| f(p)).count();
    let mut calls_before = 0;
    for (turn, content) in contents.iter().enumerate() {
        let responses = count(content, |p| p.function_response.is_some());
        if responses > 0 && responses != calls_before {
            return Err(RequestError::ToolResultsMismatch {
                turn,
                calls: calls_before,
                results: responses,
            });
        }
        calls_before = count(content, |p| p.function_call.is_some());
    }
    Ok(())
}

fn model_parts<'m>(
    content: &'m [llm::Part],
    names: &mut HashMap<&'m str, &'m str>,
    options: &RenderOptions,
) -> Result<Vec<Part>, RequestError> {
    let mut out = Vec::new();
    let mut first_call = true;
    for part in content {
        match part {
            llm::Part::Text { text, .. } if !text.is_empty() => out.push(text_part(text)),
            llm::Part::Text { .. } | llm::Part::Thinking { .. } => {}
            llm::Part::Image { source, .. } => out.push(image_part(source)?),
            llm::Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                check_name(name)?;
                names.insert(id, name);
                let decoded = ids::decode(id);
                let args = arguments_object(id, arguments)?;
                let signature = decoded.signature.or_else(|| {
                    (first_call && options.sign_unsigned_calls).then(|| SKIP_SIGNATURE.to_owned())
                });
                first_call = false;
                out.push(Part {
                    thought_signature: signature,
                    function_call: Some(FunctionCall {
                        id: decoded.gemini_id.map(str::to_owned),
                        name: name.clone(),
                        args,
                    }),
                    ..Part::default()
                });
            }
            llm::Part::ToolResult { .. } => {
                return Err(RequestError::Unsupported(
                    "a tool result in an assistant turn",
                ))
            }
        }
    }
    Ok(out)
}

/// Tool arguments as the object Gemini wants (`None` for no arguments).
fn arguments_object(id: &str, arguments: &str) -> Result<Option<Value>, RequestError> {
    if arguments.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) if map.is_empty() => Ok(None),
        Ok(object @ Value::Object(_)) => Ok(Some(object)),
        _ => Err(RequestError::ArgumentsNotObject(id.to_owned())),
    }
}

fn user_parts(
    content: &[llm::Part],
    names: &HashMap<&str, &str>,
) -> Result<Vec<Part>, RequestError> {
    let mut responses = Vec::new();
    let mut others = Vec::new();
    for part in content {
        match part {
            llm::Part::Text { text, .. } if !text.is_empty() => others.push(text_part(text)),
            llm::Part::Text { .. } | llm::Part::Thinking { .. } => {}
            llm::Part::Image { source, .. } => others.push(image_part(source)?),
            llm::Part::ToolCall { .. } => {
                return Err(RequestError::Unsupported("a tool call in a user turn"))
            }
            llm::Part::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => {
                let name = names
                    .get(call_id.as_str())
                    .ok_or_else(|| RequestError::UnmatchedToolResult(call_id.clone()))?;
                let mut text = String::new();
                for inner in content {
                    match inner {
                        llm::Part::Text { text: t, .. } => text.push_str(t),
                        llm::Part::Image { source, .. } => others.push(image_part(source)?),
                        _ => {
                            return Err(RequestError::Unsupported(
                                "tool results holding other than text and images",
                            ))
                        }
                    }
                }
                responses.push(Part {
                    function_response: Some(FunctionResponse {
                        id: ids::decode(call_id).gemini_id.map(str::to_owned),
                        name: (*name).to_owned(),
                        response: tool_output(text, *is_error),
                    }),
                    ..Part::default()
                });
            }
        }
    }
    responses.extend(others);
    Ok(responses)
}

/// A tool's text as the `response` object: under `output`, or `error` for a
/// failed call, as JSON when the text is a JSON object or array.
fn tool_output(text: String, is_error: bool) -> Value {
    let value = match serde_json::from_str::<Value>(&text) {
        Ok(structured @ (Value::Object(_) | Value::Array(_))) => structured,
        _ => Value::String(text),
    };
    let key = if is_error { "error" } else { "output" };
    let mut response = Map::new();
    response.insert(key.to_owned(), value);
    Value::Object(response)
}

fn image_part(source: &ImageSource) -> Result<Part, RequestError> {
    let part = match source {
        ImageSource::Base64 { media_type, data } => Part {
            inline_data: Some(Blob {
                mime_type: media_type.clone(),
                data: data.clone(),
            }),
            ..Part::default()
        },
        ImageSource::Url(url) if url.starts_with("data:") => {
            let (mime_type, data) = data_url(url).ok_or(RequestError::BadDataUrl)?;
            Part {
                inline_data: Some(Blob {
                    mime_type: mime_type.to_owned(),
                    data: data.to_owned(),
                }),
                ..Part::default()
            }
        }
        ImageSource::Url(url) if url.starts_with("https://") || url.starts_with("gs://") => Part {
            file_data: Some(FileData {
                mime_type: mime_from_extension(url).map(str::to_owned),
                file_uri: url.clone(),
            }),
            ..Part::default()
        },
        ImageSource::Url(url) if url.starts_with("http://") => {
            return Err(RequestError::UnsupportedImageUrl("by plain http: URL"))
        }
        ImageSource::Url(_) => return Err(RequestError::UnsupportedImageUrl("URL scheme")),
    };
    Ok(part)
}

/// `data:image/png;base64,AAAA` as its MIME type and data.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let (head, data) = url.strip_prefix("data:")?.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    let mime = mime.split(';').next().unwrap_or(mime);
    (!mime.is_empty() && mime.contains('/') && !data.is_empty()).then_some((mime, data))
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// A function name Gemini takes (the API's own rule).
pub fn valid_function_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn check_name(name: &str) -> Result<(), RequestError> {
    if valid_function_name(name) {
        Ok(())
    } else {
        Err(RequestError::InvalidToolName(name.to_owned()))
    }
}

fn tools(
    request: &ChatRequest,
    options: &RenderOptions,
) -> Result<(Vec<Tool>, Option<ToolConfig>), RequestError> {
    let mut declarations = Vec::with_capacity(request.tools.len());
    for tool in &request.tools {
        check_name(&tool.name)?;
        let mut declaration = FunctionDeclaration {
            name: tool.name.clone(),
            description: tool.description.clone().filter(|d| !d.is_empty()),
            parameters: None,
            parameters_json_schema: None,
        };
        if !schema::takes_no_arguments(&tool.parameters) {
            match options.schemas {
                SchemaDialect::Subset => {
                    let converted = schema::to_gemini(&tool.parameters).map_err(|error| {
                        RequestError::ToolSchema {
                            tool: tool.name.clone(),
                            error,
                        }
                    })?;
                    declaration.parameters = Some(converted);
                }
                SchemaDialect::JsonSchema => {
                    declaration.parameters_json_schema = Some(tool.parameters.clone())
                }
            }
        }
        declarations.push(declaration);
    }
    let config = match &request.tool_choice {
        None | Some(ToolChoice::Auto) if declarations.is_empty() => None,
        None => None,
        Some(ToolChoice::Auto) => Some(calling("AUTO", Vec::new())),
        Some(ToolChoice::None) if declarations.is_empty() => None,
        Some(ToolChoice::None) => Some(calling("NONE", Vec::new())),
        Some(ToolChoice::Required) if declarations.is_empty() => {
            return Err(RequestError::ToolChoiceWithoutTools)
        }
        Some(ToolChoice::Required) => Some(calling("ANY", Vec::new())),
        Some(ToolChoice::Tool(name)) => {
            if !declarations.iter().any(|d| d.name == *name) {
                return Err(RequestError::UnknownToolChoice(name.clone()));
            }
            Some(calling("ANY", vec![name.clone()]))
        }
    };
    let tools = if declarations.is_empty() {
        Vec::new()
    } else {
        vec![Tool {
            function_declarations: declarations,
        }]
    };
    Ok((tools, config))
}

fn calling(mode: &'static str, allowed_function_names: Vec<String>) -> ToolConfig {
    ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names,
        },
    }
}

fn in_range(
    field: &'static str,
    value: Option<f64>,
    low: f64,
    high: f64,
    reason: &'static str,
) -> Result<Option<f64>, RequestError> {
    match value {
        Some(v) if !v.is_finite() || v < low || v > high => {
            Err(RequestError::OutOfRange { field, reason })
        }
        other => Ok(other),
    }
}

fn int32(field: &'static str, value: Option<u64>) -> Result<Option<u32>, RequestError> {
    value
        .map(|v| {
            i32::try_from(v)
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(RequestError::OutOfRange {
                    field,
                    reason: "above 2147483647",
                })
        })
        .transpose()
}

fn generation_config(
    request: &ChatRequest,
    options: &RenderOptions,
) -> Result<GenerationConfig, RequestError> {
    let stop_sequences: Vec<String> = request
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    if stop_sequences.len() > MAX_STOP_SEQUENCES {
        return Err(RequestError::OutOfRange {
            field: "stop",
            reason: "Gemini takes at most 5 stop sequences",
        });
    }
    let max_output_tokens = int32("max_tokens", request.max_tokens)?;
    if max_output_tokens == Some(0) {
        return Err(RequestError::OutOfRange {
            field: "max_tokens",
            reason: "must be at least 1",
        });
    }
    let seed = request
        .seed
        .map(|s| {
            i32::try_from(s).map_err(|_| RequestError::OutOfRange {
                field: "seed",
                reason: "Gemini's seed is a 32-bit integer",
            })
        })
        .transpose()?;
    let (response_mime_type, response_schema, response_json_schema) = match &request.response_format
    {
        None | Some(ResponseFormat::Text) => (None, None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None, None),
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => match options.schemas {
            // An empty object is JSON mode: Gemini refuses an OBJECT without properties.
            SchemaDialect::Subset if schema::takes_no_arguments(s) => {
                (Some("application/json"), None, None)
            }
            SchemaDialect::Subset => (
                Some("application/json"),
                Some(schema::to_gemini(s).map_err(RequestError::ResponseSchema)?),
                None,
            ),
            SchemaDialect::JsonSchema => (Some("application/json"), None, Some(s.clone())),
        },
    };
    Ok(GenerationConfig {
        stop_sequences,
        response_mime_type,
        response_schema,
        response_json_schema,
        candidate_count: None,
        max_output_tokens,
        temperature: in_range(
            "temperature",
            request.temperature,
            0.0,
            2.0,
            "Gemini takes 0 to 2",
        )?,
        top_p: in_range("top_p", request.top_p, 0.0, 1.0, "Gemini takes 0 to 1")?,
        top_k: int32("top_k", request.top_k)?,
        seed,
        presence_penalty: in_range(
            "presence_penalty",
            request.presence_penalty,
            -2.0,
            2.0,
            "Gemini takes -2 to 2",
        )?
        .filter(|_| options.penalties),
        frequency_penalty: in_range(
            "frequency_penalty",
            request.frequency_penalty,
            -2.0,
            2.0,
            "Gemini takes -2 to 2",
        )?
        .filter(|_| options.penalties),
        thinking_config: request
            .reasoning
            .as_ref()
            .map(|r| thinking(r, options.thinking))
            .transpose()?,
    })
}

/// Token budgets for effort levels on budget-style models.
const EFFORT_BUDGETS: &[(&str, u32)] = &[("low", 1024), ("medium", 8192), ("high", 24576)];
/// The least budget of a model whose thinking cannot be turned off.
const LEAST_BUDGET: u32 = 128;

fn thinking(reasoning: &Reasoning, style: ThinkingStyle) -> Result<ThinkingConfig, RequestError> {
    let budget = |tokens: u32| ThinkingConfig {
        include_thoughts: (tokens > 0).then_some(true),
        thinking_budget: Some(tokens),
        thinking_level: None,
    };
    match reasoning {
        Reasoning::BudgetTokens(tokens) => Ok(budget(
            int32("reasoning budget", Some(*tokens))?.unwrap_or_default(),
        )),
        Reasoning::Effort(effort) => {
            let effort = effort.to_ascii_lowercase();
            let off = matches!(effort.as_str(), "none" | "minimal");
            let known = off || EFFORT_BUDGETS.iter().any(|(e, _)| *e == effort);
            if !known {
                return Err(RequestError::UnknownEffort(effort));
            }
            Ok(match style {
                ThinkingStyle::Level => ThinkingConfig {
                    include_thoughts: Some(true),
                    thinking_budget: None,
                    thinking_level: Some(match effort.as_str() {
                        "low" => "LOW",
                        "medium" => "MEDIUM",
                        "high" => "HIGH",
                        _ => "MINIMAL",
                    }),
                },
                ThinkingStyle::Budget { can_disable } if off => {
                    budget(if can_disable { 0 } else { LEAST_BUDGET })
                }
                ThinkingStyle::Budget { .. } => budget(
                    EFFORT_BUDGETS
                        .iter()
                        .find(|(e, _)| *e == effort)
                        .map_or(LEAST_BUDGET, |(_, b)| *b),
                ),
            })
        }
    }
}

/// A JSON body for `request`, ready to send.
pub fn render_body(
    request: &ChatRequest,
    options: &RenderOptions,
) -> Result<Vec<u8>, RequestError> {
    let body = render(request, options)?;
    serde_json::to_vec(&body).map_err(|_| RequestError::Encoding)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
