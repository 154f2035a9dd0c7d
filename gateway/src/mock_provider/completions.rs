//! The legacy text completions endpoint, `POST /v1/completions` (still used by
//! some IDE autocompletes): `text_completion` answers, plain or streamed with
//! `data:` chunks and `[DONE]`, cut by `max_tokens` (16 unless given, as the real
//! default) and `stop`; unknown parameters are refused as the real API refuses
//! them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::reply::{self, Ask, Stop};
use super::sse::{self, StreamFaults};
use super::{chat, error_response, MockState};

const FIELDS: &[&str] = &[
    "model",
    "prompt",
    "best_of",
    "echo",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "max_tokens",
    "n",
    "presence_penalty",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "suffix",
    "temperature",
    "top_p",
    "user",
];

/// The real API's default `max_tokens` for text completions.
const DEFAULT_MAX_TOKENS: u64 = 16;

fn invalid(message: &str, param: Option<&str>) -> Response {
    let mut answer = error_response(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        None,
    );
    if let Some(param) = param {
        let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": null}});
        answer = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    answer
}

/// The `stop` sequences, or why they are refused.
fn stop_sequences(body: &Value) -> Result<Vec<String>, &'static str> {
    const WRONG: &str = "'stop' must be a string or an array of at most 4 strings";
    match body.get("stop") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.len() <= 4 => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(WRONG),
        Some(_) => Err(WRONG),
    }
}

/// Answers one `POST /v1/completions`.
pub(crate) async fn respond(state: Arc<MockState>, raw: &[u8]) -> Response {
    let body = match serde_json::from_slice::<Value>(raw) {
        Ok(body) if body.is_object() => body,
        _ => return invalid("We could not parse the JSON body of your request.", None),
    };
    if let Some(unknown) = body
        .as_object()
        .and_then(|m| m.keys().find(|k| !FIELDS.contains(&k.as_str())))
    {
        return invalid(
            &format!("Unrecognized request argument supplied: {unknown}"),
            None,
        );
    }
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return invalid("you must provide a model parameter", Some("model"));
    };
    if !matches!(body.get("prompt"), Some(Value::String(_) | Value::Array(_))) {
        return invalid("'prompt' must be a string or an array", Some("prompt"));
    }
    let stops = match stop_sequences(&body) {
        Ok(stops) => stops,
        Err(message) => return invalid(message, Some("stop")),
    };
    let max_tokens = match body.get("max_tokens") {
        None | Some(Value::Null) => DEFAULT_MAX_TOKENS,
        Some(v) => match v.as_u64() {
            Some(n) => n,
            None => {
                return invalid(
                    "'max_tokens' must be a non-negative integer",
                    Some("max_tokens"),
                )
            }
        },
    };
    let directives = state.directives_for(model);
    if !directives.delay.is_zero() {
        tokio::time::sleep(directives.delay).await;
    }
    if let Some(status) = directives.status {
        return chat::injected_error(status);
    }
    let ask = Ask {
        max_tokens: Some(max_tokens),
        stop_sequences: &stops,
        ..Ask::default()
    };
    let plan = reply::plan(&ask, &directives);
    let finish = if plan.stop == Stop::MaxTokens {
        "length"
    } else {
        "stop"
    };
    let prompt_tokens = directives
        .prompt_tokens
        .unwrap_or((raw.len() as u64 / 4).max(1));
    let n = body
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 16);
    let completion_tokens = plan.output_tokens() * n;
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens});
    let id = format!("cmpl-mock{:06}", super::next_number());
    let created = chat::unix_now();
    let chunk = |choices: Value| {
        json!({"id": id, "object": "text_completion", "created": created, "model": model,
            "system_fingerprint": "fp_mock", "choices": choices})
    };
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let mut frames: Vec<Bytes> = Vec::new();
        for index in 0..n {
            for piece in &plan.text {
                frames.push(data(&chunk(json!([{"text": piece, "index": index, "logprobs": null, "finish_reason": null}]))));
            }
            frames.push(data(&chunk(
                json!([{"text": "", "index": index, "logprobs": null, "finish_reason": finish}]),
            )));
        }
        let include_usage = body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
        if include_usage {
            let mut last = chunk(json!([]));
            last["usage"] = usage;
            frames.push(data(&last));
        }
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
        let faults = StreamFaults {
            cut_at: directives.cut_after.map(|k| k.min(frames.len() - 1)),
            error_at: None,
            silent: directives.silent_stream,
            abort: directives.abort_stream,
            delay: directives.chunk_delay,
        };
        return sse::send(state, frames, faults);
    }
    let choices: Vec<Value> = (0..n)
        .map(|index| json!({"text": plan.full_text(), "index": index, "logprobs": null, "finish_reason": finish}))
        .collect();
    let mut answer = chunk(json!(choices));
    answer["usage"] = usage;
    let bytes = Bytes::from(answer.to_string());
    if directives.cut_after.is_some() {
        return super::cut_json(bytes);
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(body: Value) -> (StatusCode, String) {
        let answer = respond(Arc::new(MockState::default()), body.to_string().as_bytes()).await;
        let status = answer.status();
        let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn completes_text_as_the_legacy_endpoint() {
        let (status, body) = call(json!({"model": "m", "prompt": "def add(a, b):"})).await;
        assert_eq!(status, StatusCode::OK);
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["object"], "text_completion");
        assert_eq!(
            value["choices"][0]["text"],
            "Hello from the mock provider, friend."
        );
        assert_eq!(value["choices"][0]["finish_reason"], "stop");
        let (_, body) = call(json!({"model": "m+words=40", "prompt": "x"})).await;
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["choices"][0]["finish_reason"], "length");
        assert_eq!(value["usage"]["completion_tokens"], DEFAULT_MAX_TOKENS);
        let (_, body) = call(json!({"model": "m", "prompt": "x", "stop": "mock"})).await;
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["choices"][0]["text"], "Hello from the ");
    }

    #[tokio::test]
    async fn streams_chunks_then_done() {
        let (_, body) = call(json!({"model": "m", "prompt": "x", "stream": true,
            "stream_options": {"include_usage": true}}))
        .await;
        let frames: Vec<&str> = body.split("\n\n").filter(|f| !f.is_empty()).collect();
        assert_eq!(frames.len(), 8 + 1 + 1 + 1);
        assert_eq!(*frames.last().unwrap(), "data: [DONE]");
        let text: String = frames[..8]
            .iter()
            .map(|f| {
                serde_json::from_str::<Value>(f.strip_prefix("data: ").unwrap()).unwrap()["choices"]
                    [0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "Hello from the mock provider, friend.");
    }

    #[tokio::test]
    async fn refuses_chat_fields_and_missing_prompts() {
        for body in [
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            json!({"model": "m"}),
            json!({"prompt": "x"}),
            json!({"model": "m", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}),
            json!({"model": "m", "prompt": "x", "max_tokens": -1}),
        ] {
            let (status, answer) = call(body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            let value: Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(value["error"]["type"], "invalid_request_error");
        }
    }
}
