//! Refusing what OpenAI's Responses API refuses (fields of `CreateResponse` in
//! the OpenAI OpenAPI spec, its value rules), with its error `param` and `code`:
//! unknown parameters (chat-completions fields such as `messages`,
//! `max_tokens` or `response_format` among them), chat-shaped tools, content
//! parts and tool choices, roles outside user / assistant / system / developer,
//! a `function_call_output` with no `function_call` before it, and a
//! `previous_response_id` this mock never answered.

use serde_json::{Map, Value};

use crate::mock_provider::reply::{Ask, ToolChoice};

/// Why a request is refused: message, `param`, `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

type Check<T> = Result<T, Refusal>;

fn refuse(message: String, param: &str, code: &'static str) -> Refusal {
    Refusal {
        message,
        param: Some(param.to_owned()),
        code: Some(code),
    }
}

fn missing(param: &str) -> Refusal {
    refuse(
        format!("Missing required parameter: '{param}'."),
        param,
        "missing_required_parameter",
    )
}

fn invalid_value(param: &str, value: &str, supported: &[&str]) -> Refusal {
    let list: Vec<String> = supported.iter().map(|s| format!("'{s}'")).collect();
    refuse(
        format!(
            "Invalid value: '{value}'. Supported values are: {}.",
            list.join(", ")
        ),
        param,
        "invalid_value",
    )
}

fn wrong_type(param: &str, expected: &str) -> Refusal {
    refuse(
        format!("Invalid type for '{param}': expected {expected}."),
        param,
        "invalid_type",
    )
}

const FIELDS: &[&str] = &[
    "background",
    "context_management",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "moderation",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];
const ROLES: &[&str] = &["user", "assistant", "system", "developer"];
const PART_TYPES: &[&str] = &[
    "input_text",
    "input_image",
    "input_file",
    "input_audio",
    "output_text",
    "refusal",
    "summary_text",
    "computer_screenshot",
];

/// What the answer depends on, from a valid request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub model: String,
    pub stream: bool,
    pub max_output_tokens: Option<u64>,
    pub tools: Vec<String>,
    pub tool_choice: Option<ToolChoice>,
    pub answers_tool_results: bool,
    pub reasoning: bool,
    /// `parallel_tool_calls: false`.
    pub single_call: bool,
}

impl Checked {
    pub(crate) fn ask(&self) -> Ask<'_> {
        Ask {
            tools: self.tools.clone(),
            tool_choice: self.tool_choice.clone(),
            answers_tool_results: self.answers_tool_results,
            max_tokens: self.max_output_tokens,
            stop_sequences: &[],
            thinking: self.reasoning,
            single_call: self.single_call,
        }
    }
}

/// Checks `body`; `known_response` says whether this mock answered an id.
pub(crate) fn check(body: &Value, known_response: impl Fn(&str) -> bool) -> Check<Checked> {
    let map = body
        .as_object()
        .ok_or_else(|| wrong_type("body", "an object"))?;
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(refuse(
            format!("Unknown parameter: '{unknown}'."),
            unknown,
            "unknown_parameter",
        ));
    }
    let model = map
        .get("model")
        .ok_or_else(|| missing("model"))?
        .as_str()
        .ok_or_else(|| wrong_type("model", "a string"))?;
    let answers_tool_results = match map.get("input") {
        Some(Value::String(_)) => false,
        Some(Value::Array(items)) => input_items(items)?,
        Some(_) => return Err(wrong_type("input", "a string or an array of items")),
        None if map.contains_key("prompt") || map.contains_key("conversation") => false,
        None => return Err(missing("input")),
    };
    if let Some(id) = map.get("previous_response_id").filter(|v| !v.is_null()) {
        let id = id
            .as_str()
            .ok_or_else(|| wrong_type("previous_response_id", "a string"))?;
        if !known_response(id) {
            return Err(refuse(
                format!("Previous response with id '{id}' not found."),
                "previous_response_id",
                "previous_response_not_found",
            ));
        }
    }
    if let Some(instructions) = map.get("instructions").filter(|v| !v.is_null()) {
        instructions
            .as_str()
            .ok_or_else(|| wrong_type("instructions", "a string"))?;
    }
    let range = |name: &str, low: f64, high: f64| -> Check<()> {
        match map.get(name).filter(|v| !v.is_null()) {
            None => Ok(()),
            Some(v) => match v.as_f64() {
                Some(x) if (low..=high).contains(&x) => Ok(()),
                Some(x) if x < low => Err(refuse(
                    format!("Invalid '{name}': decimal below minimum value. Expected a value >= {low}, but got {x} instead."),
                    name,
                    "decimal_below_min_value",
                )),
                Some(x) => Err(refuse(
                    format!("Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but got {x} instead."),
                    name,
                    "decimal_above_max_value",
                )),
                None => Err(wrong_type(name, "a number")),
            },
        }
    };
    range("temperature", 0.0, 2.0)?;
    range("top_p", 0.0, 1.0)?;
    let max_output_tokens = match map.get("max_output_tokens").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            let n = v
                .as_i64()
                .ok_or_else(|| wrong_type("max_output_tokens", "an integer"))?;
            if n < 16 {
                return Err(refuse(
                    format!("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {n} instead."),
                    "max_output_tokens",
                    "integer_below_min_value",
                ));
            }
            Some(n.unsigned_abs())
        }
    };
    let stream = match map.get("stream").filter(|v| !v.is_null()) {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| wrong_type("stream", "a boolean"))?,
    };
    let tools = tools(map)?;
    let tool_choice = map
        .get("tool_choice")
        .filter(|v| !v.is_null())
        .map(tool_choice)
        .transpose()?;
    if let Some(text) = map.get("text").filter(|v| !v.is_null()) {
        text_config(text)?;
    }
    let reasoning = map
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str)
        .is_some_and(|effort| effort != "none");
    Ok(Checked {
        model: model.to_owned(),
        stream,
        max_output_tokens,
        tools,
        tool_choice,
        answers_tool_results,
        reasoning,
        single_call: map.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false),
    })
}

/// Checks the input items; whether the last one is a tool result.
fn input_items(items: &[Value]) -> Check<bool> {
    let mut calls: Vec<&str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("input[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| wrong_type(&path, "an object"))?;
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => message(map, &path)?,
            "function_call" => {
                for key in ["call_id", "name", "arguments"] {
                    map.get(key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| missing(&format!("{path}.{key}")))?;
                }
                calls.extend(map.get("call_id").and_then(Value::as_str));
            }
            "function_call_output" => {
                let id = map
                    .get("call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| missing(&format!("{path}.call_id")))?;
                if !map.contains_key("output") {
                    return Err(missing(&format!("{path}.output")));
                }
                if !calls.contains(&id) {
                    return Err(refuse(
                        format!("No tool call found for function call output with call_id {id}."),
                        "input",
                        "invalid_value",
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(items
        .last()
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        == Some("function_call_output"))
}

fn message(map: &Map<String, Value>, path: &str) -> Check<()> {
    let role = map
        .get("role")
        .ok_or_else(|| missing(&format!("{path}.role")))?
        .as_str()
        .unwrap_or_default();
    if !ROLES.contains(&role) {
        return Err(invalid_value(&format!("{path}.role"), role, ROLES));
    }
    match map.get("content") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
                if !PART_TYPES.contains(&kind) {
                    return Err(invalid_value(
                        &format!("{path}.content[{j}].type"),
                        kind,
                        PART_TYPES,
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(wrong_type(
            &format!("{path}.content"),
            "a string or an array of content parts",
        )),
        None => Err(missing(&format!("{path}.content"))),
    }
}

fn tools(map: &Map<String, Value>) -> Check<Vec<String>> {
    let Some(list) = map.get("tools").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = list
        .as_array()
        .ok_or_else(|| wrong_type("tools", "an array"))?;
    let mut names = Vec::new();
    for (i, tool) in items.iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind.is_empty() {
            return Err(missing(&format!("tools[{i}].type")));
        }
        if kind != "function" {
            continue;
        }
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&format!("tools[{i}].name")))?;
        names.push(name.to_owned());
    }
    Ok(names)
}

fn tool_choice(choice: &Value) -> Check<ToolChoice> {
    match choice {
        Value::String(mode) => match mode.as_str() {
            "none" => Ok(ToolChoice::None),
            "auto" => Ok(ToolChoice::Auto),
            "required" => Ok(ToolChoice::Any),
            other => Err(invalid_value(
                "tool_choice",
                other,
                &["none", "auto", "required"],
            )),
        },
        Value::Object(map) => match map.get("type").and_then(Value::as_str) {
            Some("function") => map
                .get("name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Named(name.to_owned()))
                .ok_or_else(|| missing("tool_choice.name")),
            Some(_) => Ok(ToolChoice::Auto),
            None => Err(missing("tool_choice.type")),
        },
        _ => Err(wrong_type("tool_choice", "a string or an object")),
    }
}

fn text_config(text: &Value) -> Check<()> {
    let Some(format) = text.get("format").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let kind = format
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "text" | "json_object" => Ok(()),
        "json_schema" => {
            for key in ["name", "schema"] {
                if format.get(key).is_none() {
                    return Err(missing(&format!("text.format.{key}")));
                }
            }
            Ok(())
        }
        other => Err(invalid_value(
            "text.format.type",
            other,
            &["text", "json_object", "json_schema"],
        )),
    }
}
