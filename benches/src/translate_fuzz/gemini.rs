//! Valid Gemini `generateContent` answers: candidates with text, thoughts,
//! function calls and thought signatures, every finish reason, prompt
//! feedback (blocked prompts), usage with cached, tool-use and thought counts;
//! `streamGenerateContent?alt=sse` chunk streams; and Google's error envelope.
//! Gemini is only an egress format, so there are no client requests to make.

use fastrand::Rng;
use serde_json::{json, Value};

use super::values::{arguments, base64, chance, count, id, name, pick, text};

/// Field names of answers, for duplicated keys.
pub const KEYS: &[&str] = &[
    "candidates",
    "content",
    "parts",
    "role",
    "text",
    "thought",
    "functionCall",
    "args",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "error",
    "promptFeedback",
    "thoughtSignature",
];

const FINISH: &[&str] = &[
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "FINISH_REASON_UNSPECIFIED",
    "UNEXPECTED_TOOL_CALL",
    "NEW_ONE",
];

fn part(rng: &mut Rng) -> Value {
    let mut part = match rng.u8(..10) {
        0 | 1 => json!({"text": text(rng), "thought": true}),
        2 | 3 => {
            let mut call = json!({"name": name(rng), "args": arguments(rng)});
            if rng.bool() {
                call["id"] = json!(id(rng, ""));
            }
            json!({"functionCall": call})
        }
        4 => json!({"inlineData": {"mimeType": "image/png", "data": base64(rng)}}),
        5 => json!({"executableCode": {"language": "PYTHON", "code": "print(1)"}}),
        _ => json!({"text": text(rng)}),
    };
    if chance(rng, 20) {
        part["thoughtSignature"] = json!(base64(rng));
    }
    part
}

fn usage(rng: &mut Rng) -> Value {
    let mut usage = json!({"promptTokenCount": count(rng), "candidatesTokenCount": count(rng), "totalTokenCount": count(rng)});
    for key in [
        "cachedContentTokenCount",
        "thoughtsTokenCount",
        "toolUsePromptTokenCount",
    ] {
        if rng.bool() {
            usage[key] = json!(count(rng));
        }
    }
    usage
}

/// One answer (or one chunk of a stream, when `last` is false it carries no
/// finish reason).
fn answer(rng: &mut Rng, last: bool) -> Value {
    let mut body = json!({"modelVersion": "gemini-2.5-pro", "responseId": id(rng, "")});
    if chance(rng, 5) {
        body["promptFeedback"] = json!({"blockReason": pick(rng, &["SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT"])});
        return body;
    }
    let candidates: Vec<Value> = (0..rng.usize(1..3))
        .map(|index| {
            let mut candidate = json!({
                "index": index,
                "content": {"role": "model", "parts": (0..rng.usize(..4)).map(|_| part(rng)).collect::<Vec<_>>()},
            });
            if last {
                candidate["finishReason"] = json!(pick(rng, FINISH));
            }
            if chance(rng, 10) {
                candidate["safetyRatings"] = json!([{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]);
            }
            candidate
        })
        .collect();
    body["candidates"] = Value::Array(candidates);
    if last || chance(rng, 30) {
        body["usageMetadata"] = usage(rng);
    }
    body
}

/// A whole answer, a `countTokens` answer, or an error body.
pub fn response(rng: &mut Rng) -> Value {
    match rng.u8(..10) {
        0 => json!({"totalTokens": count(rng), "cachedContentTokenCount": count(rng)}),
        1 => {
            json!({"error": {"code": pick(rng, &[400, 403, 429, 500, 503]), "message": text(rng), "status": pick(rng, &["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "PERMISSION_DENIED"])}})
        }
        _ => answer(rng, true),
    }
}

/// The chunks of a streamed answer.
pub fn stream(rng: &mut Rng) -> Vec<Value> {
    let mut out: Vec<Value> = (0..rng.usize(..5)).map(|_| answer(rng, false)).collect();
    out.push(answer(rng, true));
    out
}

/// Chunks as the SSE text of `alt=sse` (Google separates events by CRLF pairs).
pub fn frame(events: &[Value], rng: &mut Rng) -> Vec<u8> {
    let separator: &[u8] = if rng.bool() { b"\r\n\r\n" } else { b"\n\n" };
    let mut out = Vec::new();
    for event in events {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&serde_json::to_vec(event).unwrap_or_default());
        out.extend_from_slice(separator);
    }
    out
}
