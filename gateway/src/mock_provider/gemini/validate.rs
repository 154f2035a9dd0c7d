//! What the Gemini API refuses beyond the shape of its fields (`schema` checks
//! those): contents with roles `user` and `model` only, non-empty parts holding
//! one piece of data each, function calls and responses in the turns the API
//! wants them, valid function names, and a generation config that holds
//! together (ranges, a JSON mime type for a response schema, one of thinking
//! budget or level).

use serde_json::Value;

use super::schema::{self, get, PART_DATA};
use crate::mock_provider::reply::{Ask, ToolChoice};

/// What the answer depends on, from a valid request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub tools: Vec<String>,
    pub tool_choice: Option<ToolChoice>,
    pub answers_tool_results: bool,
    pub max_tokens: Option<u64>,
    pub stop_sequences: Vec<String>,
    /// `thinkingConfig.includeThoughts`.
    pub include_thoughts: bool,
    /// `thinkingConfig.thinkingBudget` is 0.
    pub thinking_off: bool,
}

impl Checked {
    pub(crate) fn ask(&self) -> Ask<'_> {
        Ask {
            tools: self.tools.clone(),
            tool_choice: self.tool_choice.clone(),
            answers_tool_results: self.answers_tool_results,
            max_tokens: self.max_tokens,
            stop_sequences: &self.stop_sequences,
            thinking: self.include_thoughts && !self.thinking_off,
            single_call: false,
        }
    }
}

type Check<T> = Result<T, String>;

/// A field violation, as the API lists them.
fn violation(path: &str, message: &str) -> String {
    format!("* GenerateContentRequest.{path}: {message}\n")
}

fn as_int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn valid_function_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    first_ok
        && name.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Checks a `generateContent` body.
pub(crate) fn check(body: &Value) -> Check<Checked> {
    schema::walk(body, &schema::GENERATE_CONTENT_REQUEST, "")?;
    let answers_tool_results = contents(get(body, "contents"))?;
    if let Some(system) = get(body, "systemInstruction") {
        system_instruction(system)?;
    }
    let tools = tools(body)?;
    let tool_choice = tool_config(body)?;
    let mut checked = Checked {
        tools,
        tool_choice,
        answers_tool_results,
        ..Checked::default()
    };
    if let Some(config) = get(body, "generationConfig") {
        generation_config(config, &mut checked)?;
    }
    Ok(checked)
}

/// Checks a `countTokens` body.
pub(crate) fn check_count(body: &Value) -> Check<()> {
    schema::walk(body, &schema::COUNT_TOKENS_REQUEST, "")?;
    match (get(body, "contents"), get(body, "generateContentRequest")) {
        (Some(_), Some(_)) => Err(
            "* CountTokensRequest: only one of contents and generate_content_request may be set\n"
                .into(),
        ),
        (Some(contents_list), None) => contents(Some(contents_list)).map(drop),
        (None, Some(request)) => check(request).map(drop),
        (None, None) => Err("* CountTokensRequest.contents: contents is not specified\n".into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    User,
    Model,
}

/// Checks the contents; whether the last turn brings function responses.
fn contents(list: Option<&Value>) -> Check<bool> {
    let items = list
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| violation("contents", "contents is not specified"))?;
    let mut previous: Option<(Turn, usize, usize)> = None;
    let mut last_has_responses = false;
    for (i, content) in items.iter().enumerate() {
        let turn = match get(content, "role").and_then(Value::as_str) {
            None | Some("user") => Turn::User,
            Some("model") => Turn::Model,
            Some(_) => return Err("Please use a valid role: user, model.".into()),
        };
        let parts = get(content, "parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                violation(
                    &format!("contents[{i}].parts"),
                    "contents.parts must not be empty.",
                )
            })?;
        let mut calls = 0;
        let mut responses = 0;
        for (j, part) in parts.iter().enumerate() {
            let data: Vec<&&str> = PART_DATA
                .iter()
                .filter(|d| get(part, d).is_some())
                .collect();
            match data.as_slice() {
                [] => {
                    return Err(violation(
                        &format!("contents[{i}].parts[{j}].data"),
                        "required oneof field 'data' must have one initialized field",
                    ))
                }
                [_] => {}
                [_, second, ..] => {
                    return Err(format!(
                        "Invalid JSON payload received. Oneof field 'data' is already set. \
                         Cannot set '{second}'"
                    ))
                }
            }
            if get(part, "functionCall").is_some() {
                calls += 1;
                let name = get(part, "functionCall")
                    .and_then(|c| get(c, "name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if name.is_empty() {
                    return Err(violation(
                        &format!("contents[{i}].parts[{j}].function_call.name"),
                        "Name is required.",
                    ));
                }
            }
            if get(part, "functionResponse").is_some() {
                responses += 1;
            }
        }
        if calls > 0 && turn != Turn::Model {
            return Err("Please ensure that function call turns come from the model role.".into());
        }
        if calls > 0 {
            let after_user = matches!(previous, None | Some((Turn::User, _, _)));
            if !after_user {
                return Err(
                    "Please ensure that function call turn comes immediately after a user \
                            turn or after a function response turn."
                        .into(),
                );
            }
        }
        if responses > 0 {
            match previous {
                Some((Turn::Model, previous_calls, _)) if previous_calls > 0 => {
                    if previous_calls != responses {
                        return Err("Please ensure that the number of function response parts \
                                    is equal to the number of function call parts of the \
                                    function call turn."
                            .into());
                    }
                }
                _ => {
                    return Err(
                        "Please ensure that function response turn comes immediately \
                                after a function call turn."
                            .into(),
                    )
                }
            }
        }
        previous = Some((turn, calls, responses));
        last_has_responses = turn == Turn::User && responses > 0;
    }
    Ok(last_has_responses)
}

fn system_instruction(system: &Value) -> Check<()> {
    let parts = get(system, "parts").and_then(Value::as_array);
    let texts =
        parts.is_some_and(|p| !p.is_empty() && p.iter().all(|part| get(part, "text").is_some()));
    if texts {
        Ok(())
    } else {
        Err(violation(
            "system_instruction.parts",
            "a system instruction holds one or more text parts",
        ))
    }
}

fn tools(body: &Value) -> Check<Vec<String>> {
    let mut names = Vec::new();
    for (t, tool) in get(body, "tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (d, declaration) in get(tool, "functionDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("tools[{t}].function_declarations[{d}]");
            let name = get(declaration, "name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !valid_function_name(name) {
                return Err(violation(
                    &format!("{path}.name"),
                    "Invalid function name. Must start with a letter or an underscore. Must be \
                     alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes \
                     (-), with a maximum length of 128.",
                ));
            }
            if get(declaration, "parameters").is_some()
                && get(declaration, "parametersJsonSchema").is_some()
            {
                return Err(violation(
                    &format!("{path}.parameters"),
                    "parameters and parameters_json_schema are mutually exclusive",
                ));
            }
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

fn tool_config(body: &Value) -> Check<Option<ToolChoice>> {
    let Some(config) = get(body, "toolConfig").and_then(|c| get(c, "functionCallingConfig")) else {
        return Ok(None);
    };
    let mode = get(config, "mode")
        .and_then(Value::as_str)
        .unwrap_or("AUTO");
    let allowed: Vec<String> = get(config, "allowedFunctionNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    if !allowed.is_empty() && !matches!(mode, "ANY" | "VALIDATED") {
        return Err(violation(
            "tool_config.function_calling_config.allowed_function_names",
            "allowed_function_names may only be set when the mode is ANY or VALIDATED",
        ));
    }
    Ok(Some(match (mode, allowed.as_slice()) {
        ("NONE", _) => ToolChoice::None,
        ("ANY", [only]) => ToolChoice::Named(only.clone()),
        ("ANY", _) => ToolChoice::Any,
        _ => ToolChoice::Auto,
    }))
}

fn generation_config(config: &Value, checked: &mut Checked) -> Check<()> {
    let range = |name: &str, low: f64, high: f64| -> Check<()> {
        match get(config, name).and_then(Value::as_f64) {
            Some(v) if !(low..=high).contains(&v) => Err(violation(
                &format!("generation_config.{}", schema::snake(name)),
                &format!("{name} must be in the range [{low}, {high}]"),
            )),
            _ => Ok(()),
        }
    };
    range("temperature", 0.0, 2.0)?;
    range("topP", 0.0, 1.0)?;
    if let Some(count) = get(config, "candidateCount").and_then(as_int) {
        if !(1..=8).contains(&count) {
            return Err(violation(
                "generation_config.candidate_count",
                "candidate_count must be between 1 and 8",
            ));
        }
    }
    if let Some(max) = get(config, "maxOutputTokens").and_then(as_int) {
        if max < 1 {
            return Err(violation(
                "generation_config.max_output_tokens",
                "max_output_tokens must be positive",
            ));
        }
        checked.max_tokens = Some(max.unsigned_abs());
    }
    let stops: Vec<String> = get(config, "stopSequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    if stops.len() > 5 {
        return Err(violation(
            "generation_config.stop_sequences",
            "at most 5 stop sequences are allowed",
        ));
    }
    checked.stop_sequences = stops;
    let mime = get(config, "responseMimeType").and_then(Value::as_str);
    if let Some(mime) = mime {
        if !matches!(mime, "text/plain" | "application/json" | "text/x.enum") {
            return Err(violation(
                "generation_config.response_mime_type",
                &format!(
                    "allowed mimetypes are `text/plain`, `application/json` and `text/x.enum`, \
                     not `{mime}`"
                ),
            ));
        }
    }
    let schema = get(config, "responseSchema").is_some();
    let json_schema = get(config, "responseJsonSchema").is_some();
    if schema && json_schema {
        return Err(violation(
            "generation_config.response_schema",
            "response_schema and response_json_schema are mutually exclusive",
        ));
    }
    if (schema || json_schema) && !matches!(mime, Some("application/json" | "text/x.enum")) {
        return Err(violation(
            "generation_config.response_mime_type",
            "a response schema needs response_mime_type `application/json` or `text/x.enum`",
        ));
    }
    if let Some(thinking) = get(config, "thinkingConfig") {
        let budget = get(thinking, "thinkingBudget").and_then(as_int);
        if budget.is_some() && get(thinking, "thinkingLevel").is_some() {
            return Err("You can only set only one of thinking budget and thinking level.".into());
        }
        checked.thinking_off = budget == Some(0);
        checked.include_thoughts =
            get(thinking, "includeThoughts").and_then(Value::as_bool) == Some(true);
    }
    Ok(())
}
