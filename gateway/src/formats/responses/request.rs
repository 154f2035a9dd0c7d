//! A Responses request (bytes) into a [`ChatRequest`]: the top-level settings
//! here, input items in `super::items`. Checks what the real API checks
//! (unknown parameters, value ranges, a tool output with no call), refuses
//! clearly what no translation can carry (hosted tools, files), and sets aside,
//! without refusing, what needs the provider's stored state: the route decides
//! with [`Parsed::require_stateless`] once it knows the upstream.

use crate::llm::{ChatRequest, Part, Reasoning, ResponseFormat, Tool, ToolChoice};

use super::error::RequestError;
use super::items;
use super::wire::request::{CreateResponse, Input, TextConfig, ToolChoiceParam, ToolParam};

/// Efforts the API accepts in `reasoning.effort`.
pub const EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh"];

/// A translated request and what its Response must echo.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub chat: ChatRequest,
    /// The request's settings without its input, for the Response to repeat.
    pub settings: CreateResponse,
    /// Set when the request needs the provider's stored state.
    pub needs_state: Option<RequestError>,
}

impl Parsed {
    /// Refuses a request that needs stored state, for routes whose upstream
    /// keeps none.
    pub fn require_stateless(&self) -> Result<(), RequestError> {
        match &self.needs_state {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

/// Reads and translates one `POST /v1/responses` body.
pub fn parse(body: &[u8]) -> Result<Parsed, RequestError> {
    // serde reads a struct from an array too, field by field in order.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(RequestError::Invalid {
            message: "Invalid type for 'body': expected an object, but got an array instead."
                .to_owned(),
            param: Some("body".to_owned()),
            code: Some("invalid_type"),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let request: CreateResponse = serde_path_to_error::deserialize(&mut de).map_err(shape_error)?;
    de.end()
        .map_err(|e| RequestError::InvalidJson(e.to_string()))?;
    translate(request)
}

/// Translates an already-read request.
pub fn translate(mut request: CreateResponse) -> Result<Parsed, RequestError> {
    check_ranges(&request)?;
    let mut needs_state = stateful(&request);
    let mut chat = ChatRequest {
        model: request.model.clone(),
        max_tokens: request.max_output_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        stream: request.stream.unwrap_or(false),
        parallel_tool_calls: request.parallel_tool_calls,
        user: request
            .safety_identifier
            .clone()
            .or_else(|| request.user.clone()),
        ..ChatRequest::default()
    };
    if let Some(instructions) = request.instructions.as_ref().filter(|s| !s.is_empty()) {
        chat.system.push(Part::text(instructions.clone()));
    }
    match request.input.take() {
        Some(Input::Text(text)) => chat.messages.push(crate::llm::Message {
            role: crate::llm::Role::User,
            content: vec![Part::text(text)],
        }),
        Some(Input::Items(list)) => {
            let trusted_calls = request.previous_response_id.is_some();
            let translated = items::translate(list, trusted_calls)?;
            chat.system.extend(translated.system);
            chat.messages = translated.messages;
            if needs_state.is_none() {
                needs_state = translated.needs_state;
            }
        }
        None if needs_state.is_some() => {}
        None => return Err(RequestError::missing("input")),
    }
    chat.tools = tools(request.tools.as_deref().unwrap_or_default())?;
    chat.tool_choice = request.tool_choice.as_ref().map(tool_choice).transpose()?;
    chat.response_format = request
        .text
        .as_ref()
        .map(text_format)
        .transpose()?
        .flatten();
    chat.reasoning = match request.reasoning.as_ref().and_then(|r| r.effort.as_deref()) {
        None => None,
        Some(effort) if EFFORTS.contains(&effort) => Some(Reasoning::Effort(effort.to_owned())),
        Some(other) => {
            return Err(RequestError::invalid(
                format!(
                    "Invalid value: '{other}'. Supported values are: {}.",
                    quoted(EFFORTS)
                ),
                "reasoning.effort",
            ))
        }
    };
    Ok(Parsed {
        chat,
        settings: request,
        needs_state,
    })
}

fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A serde error as OpenAI words it, with the path of the bad field.
fn shape_error(error: serde_path_to_error::Error<serde_json::Error>) -> RequestError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return RequestError::InvalidJson(inner.to_string());
    }
    let message = inner.to_string();
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        // The path already ends with the unknown field's name.
        let param = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            path
        };
        return RequestError::Invalid {
            message: format!("Unknown parameter: '{param}'."),
            param: Some(param),
            code: Some("unknown_parameter"),
        };
    }
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let param = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return RequestError::missing(param);
    }
    let param = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path
    };
    let expected = match param.as_str() {
        "input" => "expected a string or an array of input items".to_owned(),
        p if p.ends_with(".content") || p.ends_with(".output") => {
            "expected a string or an array of content parts".to_owned()
        }
        _ => message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    RequestError::Invalid {
        message: format!("Invalid type for '{param}': {expected}."),
        param: Some(param),
        code: Some("invalid_type"),
    }
}

fn check_ranges(request: &CreateResponse) -> Result<(), RequestError> {
    let range = |name: &str, value: Option<f64>, high: f64| match value {
        Some(x) if !(0.0..=high).contains(&x) => Err(RequestError::Invalid {
            message: format!(
                "Invalid '{name}': expected a value between 0 and {high}, but got {x} instead."
            ),
            param: Some(name.to_owned()),
            code: Some(if x < 0.0 {
                "decimal_below_min_value"
            } else {
                "decimal_above_max_value"
            }),
        }),
        _ => Ok(()),
    };
    range("temperature", request.temperature, 2.0)?;
    range("top_p", request.top_p, 1.0)?;
    if let Some(n) = request.max_output_tokens.filter(|n| *n < 16) {
        return Err(RequestError::Invalid {
            message: format!(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {n} instead."
            ),
            param: Some("max_output_tokens".to_owned()),
            code: Some("integer_below_min_value"),
        });
    }
    Ok(())
}

/// The first setting that needs the provider's stored state, if any.
fn stateful(request: &CreateResponse) -> Option<RequestError> {
    let needs = |param: &str, what: &str| {
        RequestError::NeedsState {
        message: format!(
            "'{param}' needs {what}, which this gateway does not keep for this model: send the whole conversation in 'input' instead."
        ),
        param: param.to_owned(),
    }
    };
    if request.previous_response_id.is_some() {
        return Some(needs("previous_response_id", "a stored previous response"));
    }
    if request.conversation.is_some() {
        return Some(needs("conversation", "a stored conversation"));
    }
    if request.prompt.is_some() {
        return Some(needs("prompt", "a stored prompt template"));
    }
    // `store: true` alone needs nothing later: a translated answer is simply
    // not stored (its Response says `store: false`); only reading it back
    // (`previous_response_id`, retrieval by id) would need state.
    if request.background == Some(true) {
        return Some(needs("background", "storing the response to poll it later"));
    }
    None
}

fn tools(list: &[ToolParam]) -> Result<Vec<Tool>, RequestError> {
    list.iter()
        .enumerate()
        .map(|(i, tool)| {
            if tool.kind != "function" {
                return Err(RequestError::unsupported(
                    format!(
                        "Tools of type '{}' are not supported by this gateway; only 'function' tools are.",
                        tool.kind
                    ),
                    format!("tools[{i}].type"),
                ));
            }
            let name = tool
                .name
                .clone()
                .ok_or_else(|| RequestError::missing(format!("tools[{i}].name")))?;
            Ok(Tool {
                name,
                description: tool.description.clone(),
                parameters: tool
                    .parameters
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
                strict: tool.strict,
                cache: None,
            })
        })
        .collect()
}

fn tool_choice(choice: &ToolChoiceParam) -> Result<ToolChoice, RequestError> {
    match choice {
        ToolChoiceParam::Mode(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(RequestError::invalid(
                format!("Invalid value: '{other}'. Supported values are: 'none', 'auto', 'required'."),
                "tool_choice",
            )),
        },
        ToolChoiceParam::Object(object) if object.kind == "function" => object
            .name
            .clone()
            .map(ToolChoice::Tool)
            .ok_or_else(|| RequestError::missing("tool_choice.name")),
        ToolChoiceParam::Object(object) => Err(RequestError::unsupported(
            format!(
                "A tool_choice of type '{}' is not supported by this gateway; use 'auto', 'none', 'required' or a function.",
                object.kind
            ),
            "tool_choice.type",
        )),
    }
}

fn text_format(text: &TextConfig) -> Result<Option<ResponseFormat>, RequestError> {
    let Some(format) = &text.format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(Some(ResponseFormat::Text)),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => Ok(Some(ResponseFormat::JsonSchema {
            name: format
                .name
                .clone()
                .ok_or_else(|| RequestError::missing("text.format.name"))?,
            schema: format
                .schema
                .clone()
                .ok_or_else(|| RequestError::missing("text.format.schema"))?,
            strict: format.strict,
        })),
        other => Err(RequestError::invalid(
            format!(
                "Invalid value: '{other}'. Supported values are: 'text', 'json_object', 'json_schema'."
            ),
            "text.format.type",
        )),
    }
}
