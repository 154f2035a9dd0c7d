//! A `GenerateContentResponse`, whole or as one chunk of a stream: candidates
//! with `content.parts` (thought text, text, `functionCall`), `finishReason`,
//! `usageMetadata`, `modelVersion` and `responseId`, or a `promptFeedback` block.
//! As in proto JSON, zero counts are left out.

use serde_json::{json, Map, Value};

use crate::mock_provider::reply::{Plan, Stop, THINKING, TOOL_ARGUMENTS};
use crate::mock_provider::Safety;

/// The opaque signature a thinking model puts on its function calls.
pub(crate) const THOUGHT_SIGNATURE: &str = "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==";

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Prompt tokens not read from a cache.
    pub fresh: u64,
    /// `cachedContentTokenCount` (part of `promptTokenCount`).
    pub cached: u64,
    pub candidates: u64,
    pub thoughts: u64,
}

impl Usage {
    fn prompt(&self) -> u64 {
        self.fresh + self.cached
    }

    /// `usageMetadata`, with or without the answer's own counts.
    pub(crate) fn json(&self, answered: bool) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: u64| {
            if value > 0 {
                map.insert(key.to_owned(), json!(value));
            }
        };
        put("promptTokenCount", self.prompt());
        if answered {
            put("candidatesTokenCount", self.candidates);
            put("thoughtsTokenCount", self.thoughts);
            put(
                "totalTokenCount",
                self.prompt() + self.candidates + self.thoughts,
            );
        } else {
            put("totalTokenCount", self.prompt());
        }
        put("cachedContentTokenCount", self.cached);
        map.insert(
            "promptTokensDetails".into(),
            json!([{"modality": "TEXT", "tokenCount": self.prompt()}]),
        );
        if self.cached > 0 {
            map.insert(
                "cacheTokensDetails".into(),
                json!([{"modality": "TEXT", "tokenCount": self.cached}]),
            );
        }
        Value::Object(map)
    }
}

pub(crate) fn finish_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::MaxTokens => "MAX_TOKENS",
        Stop::EndTurn | Stop::Sequence(_) | Stop::ToolUse => "STOP",
    }
}

/// The thought part of an answer that shows its thoughts.
pub(crate) fn thought_part() -> Value {
    json!({"text": THINKING.concat(), "thought": true})
}

/// The function call parts of `plan`; a thinking model signs the first.
pub(crate) fn call_parts(plan: &Plan) -> Vec<Value> {
    let args: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or(Value::Null);
    plan.tool_calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let mut part = json!({"functionCall": {"name": call.name, "args": args}});
            if i == 0 && plan.thinking_tokens > 0 {
                part["thoughtSignature"] = json!(THOUGHT_SIGNATURE);
            }
            part
        })
        .collect()
}

/// One response object around `candidate` (none for a blocked prompt).
pub(crate) fn envelope(model: &str, id: &str, candidate: Option<Value>, usage: Value) -> Value {
    let mut response = json!({
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": id,
    });
    if let Some(candidate) = candidate {
        response["candidates"] = json!([candidate]);
    }
    response
}

/// The whole answer for `plan`.
pub(crate) fn response(
    model: &str,
    id: &str,
    plan: &Plan,
    usage: &Usage,
    show_thoughts: bool,
) -> Value {
    let mut parts = Vec::new();
    if show_thoughts && plan.thinking_tokens > 0 {
        parts.push(thought_part());
    }
    if !plan.text.is_empty() {
        parts.push(json!({"text": plan.full_text()}));
    }
    parts.extend(call_parts(plan));
    let mut candidate = json!({
        "content": {"parts": parts, "role": "model"},
        "finishReason": finish_reason(&plan.stop),
        "index": 0,
    });
    if parts_empty(&candidate) {
        candidate["content"] = json!({"role": "model"});
    }
    envelope(model, id, Some(candidate), usage.json(true))
}

fn parts_empty(candidate: &Value) -> bool {
    candidate["content"]["parts"]
        .as_array()
        .is_some_and(Vec::is_empty)
}

fn ratings(blocked: &str) -> Value {
    let categories = [
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    ];
    Value::Array(
        categories
            .iter()
            .map(|category| {
                if *category == blocked {
                    json!({"category": category, "probability": "HIGH", "blocked": true})
                } else {
                    json!({"category": category, "probability": "NEGLIGIBLE"})
                }
            })
            .collect(),
    )
}

/// A safety block: of the prompt (no candidates) or of the answer.
pub(crate) fn blocked(model: &str, id: &str, safety: Safety, usage: &Usage) -> Value {
    let prompt_only = Usage {
        candidates: 0,
        thoughts: 0,
        ..*usage
    };
    match safety {
        Safety::Prompt => {
            let mut response = envelope(model, id, None, prompt_only.json(false));
            response["promptFeedback"] = json!({
                "blockReason": "SAFETY",
                "safetyRatings": ratings("HARM_CATEGORY_DANGEROUS_CONTENT"),
            });
            response
        }
        Safety::Response => envelope(
            model,
            id,
            Some(json!({
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": ratings("HARM_CATEGORY_DANGEROUS_CONTENT"),
            })),
            prompt_only.json(false),
        ),
    }
}
