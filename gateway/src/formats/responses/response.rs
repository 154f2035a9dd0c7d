//! Whole Responses: a [`ChatResponse`] rendered as a Response object (with the
//! request's settings echoed as OpenAI echoes them), and a Response object
//! decoded back. The pieces (ids, items, usage, status) are shared with the
//! stream encoder, whose final event carries the same object.

use serde_json::{json, Value};

use crate::llm::{ChatResponse, FinishReason, Part, TokenUsage};

use super::wire::request::{CreateResponse, ToolParam};
use super::wire::response::{
    IncompleteDetails, InputTokensDetails, OutputContent, OutputItem, OutputTokensDetails,
    ReasoningText, ResponseObject, Usage,
};

/// The Response object for `answer` to a request with `settings`; `created_at`
/// is used when the provider gave no time.
pub fn render(answer: &ChatResponse, settings: &CreateResponse, created_at: i64) -> ResponseObject {
    let id = response_id(&answer.id);
    let base = item_base(&id);
    let (status, incomplete) = status(&answer.finish);
    let mut output: Vec<OutputItem> = Vec::new();
    for part in &answer.content {
        let index = output.len();
        match part {
            Part::Text { text, .. } => match output.last_mut() {
                Some(OutputItem::Message { content, .. }) => content.push(output_text(text)),
                _ => output.push(message(
                    format!("msg_{base}_{index}"),
                    item_status(status),
                    vec![output_text(text)],
                )),
            },
            Part::Thinking { text, signature } => output.push(reasoning(
                format!("rs_{base}_{index}"),
                text,
                signature.clone(),
            )),
            Part::ToolCall {
                id: call_id,
                name,
                arguments,
            } => output.push(OutputItem::FunctionCall {
                id: format!("fc_{base}_{index}"),
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: arguments.clone(),
                status: "completed".to_owned(),
            }),
            // Only requests carry these.
            Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    let mut object = envelope(
        settings,
        id,
        &answer.model,
        answer.created.unwrap_or(created_at),
        status,
        output,
        answer.usage.as_ref().map(usage),
    );
    object.incomplete_details = incomplete;
    object
}

/// The [`ChatResponse`] a Response object says.
pub fn decode(object: &ResponseObject) -> ChatResponse {
    let mut content = Vec::new();
    let mut called = false;
    for item in &object.output {
        match item {
            OutputItem::Message { content: parts, .. } => {
                for part in parts {
                    match part {
                        OutputContent::OutputText { text, .. }
                        | OutputContent::ReasoningText { text } => content.push(Part::text(text)),
                        OutputContent::Refusal { refusal } => content.push(Part::text(refusal)),
                    }
                }
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => {
                called = true;
                content.push(Part::ToolCall {
                    id: call_id.clone(),
                    name: name.clone(),
                    arguments: arguments.clone(),
                });
            }
            OutputItem::Reasoning {
                summary,
                content: texts,
                encrypted_content,
                ..
            } => {
                let text = reasoning_text(summary, texts.as_deref());
                if !text.is_empty() || encrypted_content.is_some() {
                    content.push(Part::Thinking {
                        text,
                        signature: encrypted_content.clone(),
                    });
                }
            }
            OutputItem::Other => {}
        }
    }
    ChatResponse {
        id: object.id.clone(),
        model: object.model.clone(),
        content,
        finish: finish(
            &object.status,
            object
                .incomplete_details
                .as_ref()
                .map(|d| d.reason.as_str()),
            called,
        ),
        usage: object.usage.as_ref().map(token_usage),
        created: Some(object.created_at),
    }
}

/// Decodes a Response body; `None` when it is not one.
pub fn decode_bytes(body: &[u8]) -> Option<ChatResponse> {
    serde_json::from_slice::<ResponseObject>(body)
        .ok()
        .map(|object| decode(&object))
}

/// The usage of a Response body, read without the rest of it (for a body
/// passed through untouched).
pub fn usage_of(body: &[u8]) -> Option<TokenUsage> {
    #[derive(serde::Deserialize)]
    struct WithUsage {
        #[serde(default)]
        usage: Option<Usage>,
    }
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .as_ref()
        .map(token_usage)
}

/// The text of a reasoning item: its reasoning text when it has some, else its
/// summary.
pub(crate) fn reasoning_text(
    summary: &[ReasoningText],
    content: Option<&[ReasoningText]>,
) -> String {
    let texts: Vec<&str> = match content {
        Some(parts) if !parts.is_empty() => parts.iter().map(|p| p.text.as_str()).collect(),
        _ => summary.iter().map(|p| p.text.as_str()).collect(),
    };
    texts.join("\n\n")
}

/// The llm finish reason of a Response in `status`.
pub(crate) fn finish(status: &str, incomplete: Option<&str>, called: bool) -> FinishReason {
    match (status, incomplete) {
        ("completed", _) if called => FinishReason::ToolCalls,
        ("completed", _) => FinishReason::Stop,
        ("incomplete", Some("max_output_tokens")) => FinishReason::Length,
        ("incomplete", Some("content_filter")) => FinishReason::ContentFilter,
        (other, reason) => FinishReason::Other(reason.unwrap_or(other).to_owned()),
    }
}

/// A Response id: the provider's when it is one, else ours made from it.
pub(crate) fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_owned()
    } else {
        let clean: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        format!("resp_{clean}")
    }
}

/// What item ids share: the response id without its prefix.
pub(crate) fn item_base(response_id: &str) -> &str {
    response_id.strip_prefix("resp_").unwrap_or(response_id)
}

/// `status` and `incomplete_details` of a Response that stopped for `finish`.
pub(crate) fn status(finish: &FinishReason) -> (&'static str, Option<IncompleteDetails>) {
    let incomplete = |reason: &str| {
        (
            "incomplete",
            Some(IncompleteDetails {
                reason: reason.to_owned(),
            }),
        )
    };
    match finish {
        FinishReason::Length => incomplete("max_output_tokens"),
        FinishReason::ContentFilter => incomplete("content_filter"),
        FinishReason::Stop
        | FinishReason::StopSequence(_)
        | FinishReason::ToolCalls
        | FinishReason::Other(_) => ("completed", None),
    }
}

/// A finished item's status inside a Response in `status` (`incomplete`
/// when the Response was cut or failed).
pub(crate) fn item_status(status: &str) -> String {
    if status == "completed" {
        "completed".to_owned()
    } else {
        "incomplete".to_owned()
    }
}

pub(crate) fn output_text(text: &str) -> OutputContent {
    OutputContent::OutputText {
        text: text.to_owned(),
        annotations: Vec::new(),
        logprobs: Vec::new(),
    }
}

pub(crate) fn message(id: String, status: String, content: Vec<OutputContent>) -> OutputItem {
    OutputItem::Message {
        id,
        status,
        role: "assistant".to_owned(),
        content,
    }
}

/// A reasoning item: the visible thinking as `reasoning_text`, the provider's
/// signature as `encrypted_content` (sent back, it returns as the signature).
pub(crate) fn reasoning(id: String, text: &str, signature: Option<String>) -> OutputItem {
    OutputItem::Reasoning {
        id,
        summary: Vec::new(),
        content: (!text.is_empty()).then(|| {
            vec![ReasoningText {
                kind: "reasoning_text".to_owned(),
                text: text.to_owned(),
            }]
        }),
        encrypted_content: signature,
        status: None,
    }
}

pub(crate) fn usage(usage: &TokenUsage) -> Usage {
    Usage {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: usage.cached_prompt_tokens,
            cache_write_tokens: usage.cache_write_tokens,
        },
        output_tokens: usage.completion_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: usage.reasoning_tokens,
        },
        total_tokens: usage.prompt_tokens.saturating_add(usage.completion_tokens),
    }
}

pub(crate) fn token_usage(usage: &Usage) -> TokenUsage {
    TokenUsage {
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        cached_prompt_tokens: usage.input_tokens_details.cached_tokens,
        cache_write_tokens: usage.input_tokens_details.cache_write_tokens,
        reasoning_tokens: usage.output_tokens_details.reasoning_tokens,
    }
}

/// A Response object around `output`, echoing `settings` with OpenAI's
/// defaults for what the client left out. The gateway stores nothing, so
/// `store` is true only when the client asked and the route allowed it.
pub(crate) fn envelope(
    settings: &CreateResponse,
    id: String,
    model: &str,
    created_at: i64,
    status: &str,
    output: Vec<OutputItem>,
    usage: Option<Usage>,
) -> ResponseObject {
    let model = if model.is_empty() {
        settings.model.clone()
    } else {
        model.to_owned()
    };
    let to_value = |v: Option<Value>, default: Value| v.unwrap_or(default);
    ResponseObject {
        id,
        object: "response".to_owned(),
        created_at,
        status: status.to_owned(),
        completed_at: (status == "completed").then_some(created_at),
        background: Some(false),
        error: None,
        incomplete_details: None,
        instructions: settings.instructions.clone().map(Value::String),
        max_output_tokens: settings.max_output_tokens,
        max_tool_calls: settings.max_tool_calls,
        metadata: Some(to_value(
            settings.metadata.clone().map(Value::Object),
            json!({}),
        )),
        model,
        output,
        parallel_tool_calls: Some(settings.parallel_tool_calls.unwrap_or(true)),
        previous_response_id: settings.previous_response_id.clone(),
        prompt_cache_key: settings.prompt_cache_key.clone(),
        reasoning: Some(json!({
            "effort": settings.reasoning.as_ref().and_then(|r| r.effort.clone()),
            "summary": settings.reasoning.as_ref().and_then(|r| r.summary.clone()),
        })),
        safety_identifier: settings.safety_identifier.clone(),
        service_tier: Some("default".to_owned()),
        // A translated answer is never stored, whatever the request asked.
        store: Some(false),
        temperature: Some(settings.temperature.unwrap_or(1.0)),
        text: Some(to_value(
            settings
                .text
                .as_ref()
                .and_then(|t| serde_json::to_value(t).ok()),
            json!({"format": {"type": "text"}}),
        )),
        tool_choice: Some(to_value(
            settings
                .tool_choice
                .as_ref()
                .and_then(|t| serde_json::to_value(t).ok()),
            json!("auto"),
        )),
        tools: Some(Value::Array(
            settings.tools.iter().flatten().map(echoed_tool).collect(),
        )),
        top_logprobs: Some(settings.top_logprobs.unwrap_or(0)),
        top_p: Some(settings.top_p.unwrap_or(1.0)),
        truncation: Some(
            settings
                .truncation
                .clone()
                .unwrap_or_else(|| "disabled".to_owned()),
        ),
        usage,
        user: settings.user.clone(),
    }
}

/// A tool as a Response echoes it: a function tool always has `parameters`
/// and `strict` (null when the client left them out).
fn echoed_tool(tool: &ToolParam) -> Value {
    let mut value = serde_json::to_value(tool).unwrap_or_default();
    if let Some(fields) = value.as_object_mut().filter(|_| tool.kind == "function") {
        for key in ["parameters", "strict"] {
            fields.entry(key).or_insert(Value::Null);
        }
    }
    value
}
