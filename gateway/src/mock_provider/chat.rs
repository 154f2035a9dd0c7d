//! Mock chat completions: plain, streamed (with the usage chunk when asked), tool
//! calls with arguments streamed in pieces, and injected faults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::sse::{self, StreamFaults};
use super::{error_response, oversize, Directives, MockState};

#[derive(Deserialize)]
struct ChatBody {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Deserialize)]
struct Message {
    role: String,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct Tool {
    function: ToolFunction,
}

#[derive(Deserialize)]
struct ToolFunction {
    name: String,
}

const WORDS: [&str; 8] = [
    "Hello",
    " from",
    " the",
    " mock",
    " provider",
    ",",
    " friend",
    ".",
];
const TOOL_ARGUMENTS: &str = r#"{"location":"Paris, France","unit":"celsius"}"#;

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn next_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("chatcmpl-mock{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// What the mock will say: text words, or one call of the request's first tool.
enum Reply {
    Text(Vec<&'static str>),
    ToolCall { name: String },
}

fn reply_for(body: &ChatBody, directives: &Directives) -> Reply {
    let last_role = body.messages.last().map(|m| m.role.as_str());
    match (&body.tools, last_role) {
        (Some(tools), Some("user")) if !tools.is_empty() => Reply::ToolCall {
            name: tools[0].function.name.clone(),
        },
        _ => {
            let count = directives.words.unwrap_or(WORDS.len());
            Reply::Text((0..count).map(|i| WORDS[i % WORDS.len()]).collect())
        }
    }
}

fn usage_json(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        }
    })
}

pub async fn respond(state: Arc<MockState>, raw: &[u8]) -> Response {
    let body: ChatBody = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("Invalid chat request: {error}"),
                "invalid_request_error",
                None,
            )
        }
    };
    let directives = state.directives_for(&body.model);
    if !directives.delay.is_zero() {
        tokio::time::sleep(directives.delay).await;
    }
    if let Some(status) = directives.status {
        return injected_error(status);
    }
    if let Some(status) = directives.redirect {
        return oversize::redirect(status);
    }
    let known = [
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "function",
    ];
    if let Some(bad) = body
        .messages
        .iter()
        .find(|m| !known.contains(&m.role.as_str()))
    {
        return error_response(
            StatusCode::BAD_REQUEST,
            &format!(
                "Invalid value: '{}'. Supported roles: {}.",
                bad.role,
                known.join(", ")
            ),
            "invalid_request_error",
            None,
        );
    }
    let prompt_tokens = (raw.len() as u64 / 4).max(1);
    let reply = reply_for(&body, &directives);
    if body.stream == Some(true) {
        let include_usage = body
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
        stream(
            state,
            &body,
            reply,
            prompt_tokens,
            include_usage,
            directives,
        )
    } else {
        complete(&body, reply, prompt_tokens, &directives)
    }
}

pub(super) fn injected_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, code) = if status == StatusCode::TOO_MANY_REQUESTS {
        ("requests", Some("rate_limit_exceeded"))
    } else {
        ("server_error", None)
    };
    let mut response = error_response(status, "Simulated provider failure.", kind, code);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn complete(
    body: &ChatBody,
    reply: Reply,
    prompt_tokens: u64,
    directives: &Directives,
) -> Response {
    let (message, finish_reason, completion_tokens) = match &reply {
        Reply::Text(words) => (
            json!({"role": "assistant", "content": words.concat(), "refusal": null}),
            "stop",
            words.len() as u64,
        ),
        Reply::ToolCall { name } => (
            json!({
                "role": "assistant", "content": null, "refusal": null,
                "tool_calls": [{"id": "call_mock0", "type": "function",
                    "function": {"name": name, "arguments": TOOL_ARGUMENTS}}]
            }),
            "tool_calls",
            12,
        ),
    };
    let choices: Vec<Value> = (0..body.n.unwrap_or(1).clamp(1, 16))
        .map(|index| {
            json!({"index": index, "message": message, "logprobs": null, "finish_reason": finish_reason})
        })
        .collect();
    let answer = json!({
        "id": next_id(),
        "object": "chat.completion",
        "created": unix_now(),
        "model": body.model,
        "choices": choices,
        "usage": usage_json(prompt_tokens, completion_tokens),
        "system_fingerprint": "fp_mock",
        "service_tier": "default"
    });
    if let Some(total) = directives.body_bytes {
        return oversize::big_completion(&body.model, total, directives.declare_length);
    }
    let bytes = Bytes::from(answer.to_string());
    if directives.cut_after.is_some() {
        // Send half the JSON, then fail the body: the connection is cut mid-answer.
        let half = bytes.slice(..bytes.len() / 2);
        let parts =
            futures_util::stream::iter([Ok(half), Err(std::io::Error::other("simulated cut"))]);
        let mut response = Body::from_stream(parts).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return response;
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Every event of a streamed answer, in order, each a complete `data:` line.
fn stream_events(
    body: &ChatBody,
    reply: &Reply,
    prompt_tokens: u64,
    include_usage: bool,
) -> (Vec<Bytes>, usize) {
    let id = next_id();
    let created = unix_now();
    let chunk = |delta: Value, finish: Value| {
        let mut value = json!({
            "id": id, "object": "chat.completion.chunk", "created": created,
            "model": body.model, "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            value["usage"] = Value::Null;
        }
        value
    };
    let mut values = Vec::new();
    let content_count;
    match reply {
        Reply::Text(words) => {
            values.push(chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ));
            for word in words {
                values.push(chunk(json!({"content": word}), Value::Null));
            }
            content_count = words.len();
            values.push(chunk(json!({}), json!("stop")));
        }
        Reply::ToolCall { name } => {
            values.push(chunk(
                json!({"role": "assistant", "content": null, "tool_calls": [{
                    "index": 0, "id": "call_mock0", "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ));
            let pieces: Vec<String> = TOOL_ARGUMENTS
                .as_bytes()
                .chunks(7)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            content_count = pieces.len();
            for piece in pieces {
                values.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    Value::Null,
                ));
            }
            values.push(chunk(json!({}), json!("tool_calls")));
        }
    }
    if include_usage {
        let completion = content_count as u64;
        values.push(json!({
            "id": id, "object": "chat.completion.chunk", "created": created,
            "model": body.model, "system_fingerprint": "fp_mock", "choices": [],
            "usage": usage_json(prompt_tokens, completion)
        }));
    }
    let mut events: Vec<Bytes> = values
        .into_iter()
        .map(|v| Bytes::from(format!("data: {v}\n\n")))
        .collect();
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    (events, content_count)
}

fn stream(
    state: Arc<MockState>,
    body: &ChatBody,
    reply: Reply,
    prompt_tokens: u64,
    include_usage: bool,
    directives: Directives,
) -> Response {
    let (mut events, _) = stream_events(body, &reply, prompt_tokens, include_usage);
    if let Some(total) = directives.big_event {
        // The events before the big one, the big one in pieces, then the rest.
        let after = events.split_off(directives.big_event_at.min(events.len()));
        let frames = futures_util::stream::iter(events.into_iter().map(Ok))
            .chain(oversize::big_event(&body.model, total))
            .chain(futures_util::stream::iter(after.into_iter().map(Ok)));
        return sse::event_stream(Body::from_stream(frames));
    }
    // The role chunk is event 0; `cut_after = k` stops after k content chunks.
    let faults = StreamFaults {
        cut_at: directives.cut_after.map(|k| k + 1),
        error_at: None,
        silent: directives.silent_stream,
        abort: directives.abort_stream,
        delay: directives.chunk_delay,
    };
    sse::send(state, events, faults)
}
