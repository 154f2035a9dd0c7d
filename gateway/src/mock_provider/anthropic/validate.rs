//! Rejecting what the real Messages API rejects, with its kind of message (a
//! dotted path, then what is wrong), so a translation that is only nearly right
//! fails its tests here rather than in production. Facts from the official SDKs'
//! request types (anthropic 2.10 / @anthropic-ai/sdk 1.10, API versions
//! `2023-06-01` and `2026-10-21`) and the API's documentation:
//! - top-level fields are exactly the documented ones; beta-only fields need an
//!   `anthropic-beta` header; `temperature`, `top_p` and `top_k` exist only
//!   under `2023-06-01` (the 2026-10-21 version refuses them, even at defaults);
//! - `max_tokens` is required; `temperature` and `top_p` lie in 0..=1;
//! - `tool_choice` is an object `{type: auto|any|tool|none}`;
//! - consecutive turns of one role are merged (no strict alternation, and the
//!   first turn need not be a user's, as the docs say since late 2024); every
//!   message has content except a final assistant one;
//! - a `tool_result` answers a `tool_use` of the turn just before, every
//!   `tool_use` is answered in the next turn, and results come before any other
//!   content of their turn.
//!
//! One deliberate strictness: a `system` message inside `messages` is refused
//! unless the `system_messages=1` directive is given. The first-party API accepts
//! them since 2026 (the SDKs' `SystemMessageParam`), but Bedrock, Vertex and the
//! Anthropic-compatible endpoints of other vendors do not, and a translation from
//! OpenAI chat must put system text in the top-level `system` field to work with
//! all of them.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::mock_provider::reply::{Ask, ToolChoice};

/// The request's `anthropic-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// `2023-06-01` (and the older `2023-01-01`): sampling parameters allowed.
    V2023,
    /// `2026-10-21`: no sampling parameters, no documents in assistant turns, no
    /// citations on user text.
    V2026,
}

impl Version {
    pub(crate) fn parse(header: &str) -> Option<Version> {
        match header.trim() {
            "2023-01-01" | "2023-06-01" => Some(Version::V2023),
            "2026-10-21" => Some(Version::V2026),
            _ => None,
        }
    }
}

/// Which endpoint the body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Create,
    CountTokens,
}

/// How the request is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub endpoint: Endpoint,
    pub version: Version,
    /// An `anthropic-beta` header came with the request.
    pub beta: bool,
    /// `system` messages are accepted inside `messages`.
    pub system_messages: bool,
}

/// What the answer depends on, from a valid request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub model: String,
    pub stream: bool,
    pub max_tokens: Option<u64>,
    pub stop_sequences: Vec<String>,
    pub tools: Vec<String>,
    pub tool_choice: Option<ToolChoice>,
    pub answers_tool_results: bool,
    pub thinking: bool,
    /// `tool_choice.disable_parallel_tool_use`.
    pub single_call: bool,
}

impl Checked {
    pub(crate) fn ask(&self) -> Ask<'_> {
        Ask {
            tools: self.tools.clone(),
            tool_choice: self.tool_choice.clone(),
            answers_tool_results: self.answers_tool_results,
            max_tokens: self.max_tokens,
            stop_sequences: &self.stop_sequences,
            thinking: self.thinking,
            single_call: self.single_call,
        }
    }
}

type Check<T> = Result<T, String>;

const CREATE_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "cache_control",
    "container",
    "diagnostics",
    "inference_geo",
    "metadata",
    "output_config",
    "service_tier",
    "speed",
    "stop_sequences",
    "stream",
    "system",
    "thinking",
    "tool_choice",
    "tools",
];
const SAMPLING_FIELDS: &[&str] = &["temperature", "top_k", "top_p"];
const COUNT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "cache_control",
    "output_config",
    "speed",
    "system",
    "thinking",
    "tool_choice",
    "tools",
];
const BETA_FIELDS: &[&str] = &[
    "billing_policy",
    "compaction",
    "context_management",
    "fallback_credit_token",
    "fallbacks",
    "mcp_servers",
    "output_format",
    "thread",
];
/// Block types accepted without a closer look (server tools and their results).
const LOOSE_BLOCKS: &[&str] = &[
    "search_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "container_upload",
];
const MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];
const MAX_BREAKPOINTS: usize = 4;

fn join(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn object<'v>(value: &'v Value, path: &str) -> Check<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| {
        format!("{path}: Input should be a valid dictionary or object to extract fields from")
    })
}

fn only(map: &Map<String, Value>, allowed: &[&str], path: &str) -> Check<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!(
            "{}: Extra inputs are not permitted",
            join(path, extra)
        )),
        None => Ok(()),
    }
}

fn required<'v>(map: &'v Map<String, Value>, key: &str, path: &str) -> Check<&'v Value> {
    map.get(key)
        .ok_or_else(|| format!("{}: Field required", join(path, key)))
}

fn string<'v>(value: &'v Value, path: &str) -> Check<&'v str> {
    value
        .as_str()
        .ok_or_else(|| format!("{path}: Input should be a valid string"))
}

fn boolean(value: &Value, path: &str) -> Check<bool> {
    value
        .as_bool()
        .ok_or_else(|| format!("{path}: Input should be a valid boolean"))
}

fn integer(value: &Value, path: &str) -> Check<i64> {
    value
        .as_i64()
        .ok_or_else(|| format!("{path}: Input should be a valid integer"))
}

fn one_of(value: &Value, allowed: &[&str], path: &str) -> Check<()> {
    let text = string(value, path)?;
    if allowed.contains(&text) {
        Ok(())
    } else {
        let list: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        Err(format!("{path}: Input should be {}", list.join(", ")))
    }
}

fn in_range(value: &Value, low: f64, high: f64, path: &str) -> Check<()> {
    let number = value
        .as_f64()
        .ok_or_else(|| format!("{path}: Input should be a valid number"))?;
    if number < low {
        return Err(format!(
            "{path}: Input should be greater than or equal to {low}"
        ));
    }
    if number > high {
        return Err(format!(
            "{path}: Input should be less than or equal to {high}"
        ));
    }
    Ok(())
}

/// Counts and checks every `cache_control` breakpoint.
struct Breakpoints(usize);

impl Breakpoints {
    fn check(&mut self, map: &Map<String, Value>, path: &str) -> Check<()> {
        let Some(control) = map.get("cache_control") else {
            return Ok(());
        };
        if control.is_null() {
            return Ok(());
        }
        let path = join(path, "cache_control");
        let control = object(control, &path)?;
        only(control, &["type", "ttl"], &path)?;
        one_of(
            required(control, "type", &path)?,
            &["ephemeral"],
            &join(&path, "type"),
        )?;
        if let Some(ttl) = control.get("ttl") {
            one_of(ttl, &["5m", "1h"], &join(&path, "ttl"))?;
        }
        self.0 += 1;
        Ok(())
    }
}

/// Checks `body` under `rules`.
pub(crate) fn check(body: &Value, rules: Rules) -> Check<Checked> {
    let map = object(body, "body")?;
    let create = rules.endpoint == Endpoint::Create;
    let mut allowed: Vec<&str> = if create {
        CREATE_FIELDS.to_vec()
    } else {
        COUNT_FIELDS.to_vec()
    };
    if create && rules.version == Version::V2023 {
        allowed.extend_from_slice(SAMPLING_FIELDS);
    }
    if rules.beta {
        allowed.extend_from_slice(BETA_FIELDS);
    }
    let model = string(required(map, "model", "")?, "model")?;
    if model.is_empty() {
        return Err("model: String should have at least 1 character".into());
    }
    let messages = required(map, "messages", "")?;
    let max_tokens = if create {
        let value = integer(required(map, "max_tokens", "")?, "max_tokens")?;
        if value < 0 {
            return Err("max_tokens: Input should be greater than or equal to 0".into());
        }
        Some(value.unsigned_abs())
    } else {
        None
    };
    only(map, &allowed, "")?;

    let mut breakpoints = Breakpoints(0);
    breakpoints.check(map, "")?;
    if let Some(t) = map.get("temperature") {
        in_range(t, 0.0, 1.0, "temperature")?;
    }
    if let Some(p) = map.get("top_p") {
        in_range(p, 0.0, 1.0, "top_p")?;
    }
    if let Some(k) = map.get("top_k") {
        if integer(k, "top_k")? < 0 {
            return Err("top_k: Input should be greater than or equal to 0".into());
        }
    }
    let stream = match map.get("stream") {
        Some(s) => boolean(s, "stream")?,
        None => false,
    };
    let stop_sequences = match map.get("stop_sequences") {
        Some(list) => stop_sequences(list)?,
        None => Vec::new(),
    };
    if let Some(metadata) = map.get("metadata") {
        let m = object(metadata, "metadata")?;
        only(m, &["user_id"], "metadata")?;
        if let Some(id) = m.get("user_id").filter(|v| !v.is_null()) {
            string(id, "metadata.user_id")?;
        }
    }
    if let Some(tier) = map.get("service_tier") {
        one_of(tier, &["auto", "standard_only"], "service_tier")?;
    }
    if let Some(speed) = map.get("speed").filter(|v| !v.is_null()) {
        one_of(speed, &["standard", "fast"], "speed")?;
    }
    if let Some(system) = map.get("system") {
        system_prompt(system, "system", &mut breakpoints)?;
    }
    let tools = match map.get("tools") {
        Some(list) => tools(list, &mut breakpoints)?,
        None => Vec::new(),
    };
    let tool_choice = map.get("tool_choice").map(tool_choice).transpose()?;
    let single_call = map
        .get("tool_choice")
        .and_then(|c| c.get("disable_parallel_tool_use"))
        .and_then(Value::as_bool)
        == Some(true);
    let thinking = match map.get("thinking") {
        Some(t) => thinking(t, max_tokens)?,
        None => false,
    };
    if thinking {
        if let Some(t) = map.get("temperature").and_then(Value::as_f64) {
            if (t - 1.0).abs() > f64::EPSILON {
                return Err("`temperature` may only be set to 1 when thinking is enabled".into());
            }
        }
        if map.contains_key("top_k") {
            return Err("`top_k` is not available when thinking is enabled".into());
        }
    }
    if let Some(config) = map.get("output_config") {
        output_config(config)?;
    }
    let answers_tool_results = turns(messages, rules, &mut breakpoints)?;
    if breakpoints.0 > MAX_BREAKPOINTS {
        return Err(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
            breakpoints.0
        ));
    }
    Ok(Checked {
        model: model.to_owned(),
        stream,
        max_tokens,
        stop_sequences,
        tools,
        tool_choice,
        answers_tool_results,
        thinking,
        single_call,
    })
}

fn stop_sequences(list: &Value) -> Check<Vec<String>> {
    let items = list
        .as_array()
        .ok_or("stop_sequences: Input should be a valid list")?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &join("stop_sequences", i)).map(str::to_owned))
        .collect()
}

fn text_block(map: &Map<String, Value>, path: &str, breakpoints: &mut Breakpoints) -> Check<()> {
    only(map, &["type", "text", "cache_control", "citations"], path)?;
    let text = string(required(map, "text", path)?, &join(path, "text"))?;
    if text.is_empty() {
        return Err(format!("{path}: text content blocks must be non-empty"));
    }
    if text.trim().is_empty() {
        return Err(format!(
            "{path}: text content blocks must contain non-whitespace text"
        ));
    }
    breakpoints.check(map, path)
}

fn system_prompt(system: &Value, path: &str, breakpoints: &mut Breakpoints) -> Check<()> {
    match system {
        Value::String(_) => Ok(()),
        Value::Array(blocks) => {
            for (i, block) in blocks.iter().enumerate() {
                let path = join(path, i);
                let map = object(block, &path)?;
                one_of(
                    required(map, "type", &path)?,
                    &["text"],
                    &join(&path, "type"),
                )?;
                text_block(map, &path, breakpoints)?;
            }
            Ok(())
        }
        _ => Err(format!(
            "{path}: Input should be a valid string or a list of text blocks"
        )),
    }
}

fn tools(list: &Value, breakpoints: &mut Breakpoints) -> Check<Vec<String>> {
    let items = list
        .as_array()
        .ok_or("tools: Input should be a valid list")?;
    let mut names = Vec::new();
    for (i, tool) in items.iter().enumerate() {
        let path = join("tools", i);
        let map = object(tool, &path)?;
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("custom");
        if kind != "custom" && !is_server_tool(kind) {
            return Err(format!(
                "{path}.type: Input tag '{kind}' found using 'type' does not match any of the \
                 expected tags: 'custom' or a versioned server tool such as \
                 'web_search_20250305'"
            ));
        }
        if kind != "custom" {
            // A server tool (web search, bash, ...): its own versioned shape.
            if let Some(name) = map.get("name").and_then(Value::as_str) {
                names.push(name.to_owned());
            }
            breakpoints.check(map, &path)?;
            continue;
        }
        only(
            map,
            &[
                "name",
                "description",
                "input_schema",
                "cache_control",
                "type",
                "strict",
                "input_examples",
                "defer_loading",
                "allowed_callers",
                "eager_input_streaming",
            ],
            &path,
        )?;
        let name = string(required(map, "name", &path)?, &join(&path, "name"))?;
        let valid = (1..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            ));
        }
        let schema_path = join(&path, "input_schema");
        let schema = object(required(map, "input_schema", &path)?, &schema_path)?;
        one_of(
            required(schema, "type", &schema_path)?,
            &["object"],
            &join(&schema_path, "type"),
        )?;
        if let Some(description) = map.get("description") {
            string(description, &join(&path, "description"))?;
        }
        breakpoints.check(map, &path)?;
        names.push(name.to_owned());
    }
    let mut seen = HashSet::new();
    if names.iter().any(|n| !seen.insert(n)) {
        return Err("tools: Tool names must be unique.".into());
    }
    Ok(names)
}

/// Server tools are typed by name and version date, e.g. `bash_20250124`.
fn is_server_tool(kind: &str) -> bool {
    kind.rsplit_once('_').is_some_and(|(name, date)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && date.len() == 8
            && date.bytes().all(|b| b.is_ascii_digit())
    })
}

fn tool_choice(choice: &Value) -> Check<ToolChoice> {
    let map = object(choice, "tool_choice")?;
    let kind = required(map, "type", "tool_choice")?;
    one_of(kind, &["auto", "any", "tool", "none"], "tool_choice.type")?;
    let parallel = |map: &Map<String, Value>| -> Check<()> {
        if let Some(flag) = map.get("disable_parallel_tool_use") {
            boolean(flag, "tool_choice.disable_parallel_tool_use")?;
        }
        Ok(())
    };
    match kind.as_str().unwrap_or_default() {
        "auto" => {
            only(map, &["type", "disable_parallel_tool_use"], "tool_choice")?;
            parallel(map)?;
            Ok(ToolChoice::Auto)
        }
        "any" => {
            only(map, &["type", "disable_parallel_tool_use"], "tool_choice")?;
            parallel(map)?;
            Ok(ToolChoice::Any)
        }
        "tool" => {
            only(
                map,
                &["type", "name", "disable_parallel_tool_use"],
                "tool_choice",
            )?;
            parallel(map)?;
            let name = string(required(map, "name", "tool_choice")?, "tool_choice.name")?;
            Ok(ToolChoice::Named(name.to_owned()))
        }
        _ => {
            only(map, &["type"], "tool_choice")?;
            Ok(ToolChoice::None)
        }
    }
}

/// Whether thinking is on.
fn thinking(value: &Value, max_tokens: Option<u64>) -> Check<bool> {
    let map = object(value, "thinking")?;
    let kind = required(map, "type", "thinking")?;
    one_of(kind, &["enabled", "disabled", "adaptive"], "thinking.type")?;
    match kind.as_str().unwrap_or_default() {
        "enabled" => {
            only(map, &["type", "budget_tokens", "display"], "thinking")?;
            let budget = integer(
                required(map, "budget_tokens", "thinking")?,
                "thinking.budget_tokens",
            )?;
            if budget < 1024 {
                return Err(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                        .into(),
                );
            }
            if max_tokens.is_some_and(|max| max <= budget.unsigned_abs()) {
                return Err("`max_tokens` must be greater than `thinking.budget_tokens`".into());
            }
            Ok(true)
        }
        "adaptive" => {
            only(map, &["type", "display"], "thinking")?;
            Ok(true)
        }
        _ => {
            only(map, &["type"], "thinking")?;
            Ok(false)
        }
    }
}

fn output_config(value: &Value) -> Check<()> {
    let map = object(value, "output_config")?;
    only(map, &["effort", "format"], "output_config")?;
    if let Some(effort) = map.get("effort").filter(|v| !v.is_null()) {
        one_of(
            effort,
            &["low", "medium", "high", "xhigh", "max"],
            "output_config.effort",
        )?;
    }
    if let Some(format) = map.get("format").filter(|v| !v.is_null()) {
        let f = object(format, "output_config.format")?;
        only(f, &["type", "schema"], "output_config.format")?;
        one_of(
            required(f, "type", "output_config.format")?,
            &["json_schema"],
            "output_config.format.type",
        )?;
        object(
            required(f, "schema", "output_config.format")?,
            "output_config.format.schema",
        )?;
    }
    Ok(())
}

/// One message, merged with its neighbours of the same role into a turn.
struct Turn {
    role: Role,
    /// Index of the turn's first message.
    first: usize,
    /// `(message index, block index, block)` of every content block.
    blocks: Vec<(usize, usize, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
    System,
}

/// Checks the messages and the turns they make; whether the last turn brings
/// tool results.
fn turns(messages: &Value, rules: Rules, breakpoints: &mut Breakpoints) -> Check<bool> {
    let list = messages
        .as_array()
        .ok_or("messages: Input should be a valid list")?;
    if list.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut turns: Vec<Turn> = Vec::new();
    for (i, message) in list.iter().enumerate() {
        let path = join("messages", i);
        let map = object(message, &path)?;
        let role_value = required(map, "role", &path)?;
        let content = required(map, "content", &path)?;
        only(map, &["role", "content"], &path)?;
        let role = match string(role_value, &join(&path, "role"))? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" if rules.system_messages => Role::System,
            "system" => {
                return Err(format!(
                    "{path}.role: Unexpected role \"system\". Put system instructions in the \
                     top-level `system` parameter, not in a message with the \"system\" role."
                ))
            }
            other => {
                return Err(format!(
                    "{path}.role: Input should be 'user' or 'assistant', not '{other}'"
                ))
            }
        };
        let last = i + 1 == list.len();
        let blocks = content_blocks(content, role, &path, rules, breakpoints)?;
        if blocks.is_empty() && !(last && role == Role::Assistant) {
            return Err(format!(
                "{path}: all messages must have non-empty content except for the optional \
                 final assistant message"
            ));
        }
        let blocks = blocks.into_iter().map(|(j, b)| (i, j, b));
        match turns.last_mut() {
            Some(turn) if turn.role == role && role != Role::System => turn.blocks.extend(blocks),
            _ => turns.push(Turn {
                role,
                first: i,
                blocks: blocks.collect(),
            }),
        }
    }
    turns.retain(|t| t.role != Role::System);
    pair_tools(&turns)?;
    Ok(turns.last().is_some_and(|t| {
        t.role == Role::User && t.blocks.iter().any(|(_, _, b)| is(b, "tool_result"))
    }))
}

fn is(block: &Value, kind: &str) -> bool {
    block.get("type").and_then(Value::as_str) == Some(kind)
}

/// The blocks of one message's content, checked.
fn content_blocks(
    content: &Value,
    role: Role,
    path: &str,
    rules: Rules,
    breakpoints: &mut Breakpoints,
) -> Check<Vec<(usize, Value)>> {
    let path = join(path, "content");
    let blocks = match content {
        Value::String(text) if text.is_empty() => return Ok(Vec::new()),
        Value::String(text) => {
            return Ok(vec![(0, serde_json::json!({"type": "text", "text": text}))])
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(format!(
                "{path}: Input should be a valid string or a list of blocks"
            ))
        }
    };
    for (j, block) in blocks.iter().enumerate() {
        content_block(block, role, &join(&path, j), rules, breakpoints)?;
    }
    Ok(blocks.iter().cloned().enumerate().collect())
}

fn content_block(
    block: &Value,
    role: Role,
    path: &str,
    rules: Rules,
    breakpoints: &mut Breakpoints,
) -> Check<()> {
    let map = object(block, path)?;
    let kind = string(required(map, "type", path)?, &join(path, "type"))?;
    if role == Role::System && kind != "text" {
        return Err(format!("{path}: a system message holds only text blocks"));
    }
    let only_in = |wanted: Role| -> Check<()> {
        if role == wanted {
            Ok(())
        } else {
            Err(format!(
                "{path}: `{kind}` blocks can only be in `{}` messages",
                if wanted == Role::User {
                    "user"
                } else {
                    "assistant"
                }
            ))
        }
    };
    match kind {
        "text" => {
            text_block(map, path, breakpoints)?;
            let cited = map
                .get("citations")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty());
            if cited && role == Role::User && rules.version == Version::V2026 {
                return Err(format!(
                    "{path}.citations: citations are not accepted on text blocks of user messages"
                ));
            }
            Ok(())
        }
        "image" => {
            only(map, &["type", "source", "cache_control"], path)?;
            image_source(required(map, "source", path)?, &join(path, "source"))?;
            breakpoints.check(map, path)
        }
        "document" => {
            if role == Role::Assistant && rules.version == Version::V2026 {
                return Err(format!(
                    "{path}: `document` blocks can only be in `user` messages"
                ));
            }
            only(
                map,
                &[
                    "type",
                    "source",
                    "cache_control",
                    "citations",
                    "context",
                    "title",
                ],
                path,
            )?;
            object(required(map, "source", path)?, &join(path, "source"))?;
            breakpoints.check(map, path)
        }
        "tool_use" => {
            only_in(Role::Assistant)?;
            only(
                map,
                &["type", "id", "name", "input", "cache_control", "caller"],
                path,
            )?;
            string(required(map, "id", path)?, &join(path, "id"))?;
            string(required(map, "name", path)?, &join(path, "name"))?;
            object(required(map, "input", path)?, &join(path, "input"))?;
            breakpoints.check(map, path)
        }
        "tool_result" => {
            only_in(Role::User)?;
            only(
                map,
                &[
                    "type",
                    "tool_use_id",
                    "content",
                    "is_error",
                    "cache_control",
                ],
                path,
            )?;
            string(
                required(map, "tool_use_id", path)?,
                &join(path, "tool_use_id"),
            )?;
            if let Some(flag) = map.get("is_error") {
                boolean(flag, &join(path, "is_error"))?;
            }
            if let Some(content) = map.get("content") {
                tool_result_content(content, &join(path, "content"), breakpoints)?;
            }
            breakpoints.check(map, path)
        }
        "thinking" => {
            only_in(Role::Assistant)?;
            only(map, &["type", "thinking", "signature"], path)?;
            string(required(map, "thinking", path)?, &join(path, "thinking"))?;
            string(required(map, "signature", path)?, &join(path, "signature")).map(drop)
        }
        "redacted_thinking" => {
            only_in(Role::Assistant)?;
            only(map, &["type", "data"], path)?;
            string(required(map, "data", path)?, &join(path, "data")).map(drop)
        }
        other if LOOSE_BLOCKS.contains(&other) => breakpoints.check(map, path),
        other => Err(format!(
            "{path}.type: Input tag '{other}' found using 'type' does not match any of the \
             expected tags"
        )),
    }
}

fn image_source(source: &Value, path: &str) -> Check<()> {
    let map = object(source, path)?;
    let kind = required(map, "type", path)?;
    one_of(kind, &["base64", "url", "file"], &join(path, "type"))?;
    match kind.as_str().unwrap_or_default() {
        "base64" => {
            only(map, &["type", "media_type", "data"], path)?;
            one_of(
                required(map, "media_type", path)?,
                MEDIA_TYPES,
                &join(path, "media_type"),
            )?;
            string(required(map, "data", path)?, &join(path, "data")).map(drop)
        }
        "url" => {
            only(map, &["type", "url"], path)?;
            string(required(map, "url", path)?, &join(path, "url")).map(drop)
        }
        _ => {
            only(map, &["type", "file_id"], path)?;
            string(required(map, "file_id", path)?, &join(path, "file_id")).map(drop)
        }
    }
}

fn tool_result_content(content: &Value, path: &str, breakpoints: &mut Breakpoints) -> Check<()> {
    let blocks = match content {
        Value::String(_) => return Ok(()),
        Value::Array(blocks) => blocks,
        _ => {
            return Err(format!(
                "{path}: Input should be a valid string or a list of blocks"
            ))
        }
    };
    for (k, block) in blocks.iter().enumerate() {
        let path = join(path, k);
        let map = object(block, &path)?;
        let kind = string(required(map, "type", &path)?, &join(&path, "type"))?;
        match kind {
            "text" => text_block(map, &path, breakpoints)?,
            "image" => {
                only(map, &["type", "source", "cache_control"], &path)?;
                image_source(required(map, "source", &path)?, &join(&path, "source"))?;
                breakpoints.check(map, &path)?;
            }
            "document" | "search_result" | "tool_reference" => breakpoints.check(map, &path)?,
            other => {
                return Err(format!(
                    "{path}.type: Input tag '{other}' found using 'type' does not match any of \
                     the expected tags"
                ))
            }
        }
    }
    Ok(())
}

/// Tool uses and results pair up across neighbouring turns.
fn pair_tools(turns: &[Turn]) -> Check<()> {
    let ids = |turn: &Turn, kind: &str, key: &str| -> Vec<String> {
        turn.blocks
            .iter()
            .filter(|(_, _, b)| is(b, kind))
            .filter_map(|(_, _, b)| b.get(key).and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    for (t, turn) in turns.iter().enumerate() {
        match turn.role {
            Role::Assistant => {
                let uses = ids(turn, "tool_use", "id");
                let mut seen = HashSet::new();
                if let Some(dup) = uses.iter().find(|id| !seen.insert(*id)) {
                    return Err(format!(
                        "messages.{}: `tool_use` ids must be unique, `{dup}` is repeated",
                        turn.first
                    ));
                }
                let Some(next) = turns.get(t + 1) else {
                    continue;
                };
                let answered = ids(next, "tool_result", "tool_use_id");
                let missing: Vec<&String> =
                    uses.iter().filter(|id| !answered.contains(id)).collect();
                if !missing.is_empty() {
                    let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                    return Err(format!(
                        "messages.{}: `tool_use` ids were found without `tool_result` blocks \
                         immediately after: {}. Each `tool_use` block must have a corresponding \
                         `tool_result` block in the next message.",
                        turn.first,
                        list.join(", ")
                    ));
                }
            }
            Role::User => {
                let previous: Vec<String> = match t.checked_sub(1).and_then(|p| turns.get(p)) {
                    Some(prev) if prev.role == Role::Assistant => ids(prev, "tool_use", "id"),
                    _ => Vec::new(),
                };
                let mut other_content_at = None;
                for (m, b, block) in &turn.blocks {
                    if !is(block, "tool_result") {
                        other_content_at.get_or_insert((*m, *b));
                        continue;
                    }
                    let id = block
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !previous.iter().any(|p| p == id) {
                        return Err(format!(
                            "messages.{m}.content.{b}: unexpected `tool_use_id` found in \
                             `tool_result` blocks: {id}. Each `tool_result` block must have a \
                             corresponding `tool_use` block in the previous message."
                        ));
                    }
                    if let Some((om, ob)) = other_content_at {
                        return Err(format!(
                            "messages.{m}.content.{b}: `tool_result` blocks must come before \
                             any other content of their turn (messages.{om}.content.{ob} comes \
                             first)"
                        ));
                    }
                }
            }
            Role::System => {}
        }
    }
    Ok(())
}
