//! The mock as Anthropic's Messages API: `POST /v1/messages` (plain and streamed)
//! and `POST /v1/messages/count_tokens`. Checks what the real API checks before
//! reading the body (an API key by `x-api-key` or `Authorization: Bearer`, the
//! `anthropic-version` header), then the body (`validate`), then answers as the
//! directives of the model name say (`respond`, `stream`), with errors in
//! Anthropic's envelope (`error`).

mod cache;
mod error;
mod respond;
mod stream;
mod validate;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::reply::{self, Plan};
use super::sse::{self, StreamFaults};
use super::{Directives, MockState};
use respond::Usage;
use validate::{Checked, Rules, Version};

pub(crate) use validate::Endpoint;

/// `req_...`, as the real API's `request-id` header and error bodies carry.
fn request_id() -> String {
    format!("req_mock{:06}", super::next_number())
}

/// The API key the request carries: `x-api-key` first, as the real API reads it
/// when both are sent, then a bearer token (the SDKs' way since 2026-10-21).
fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The request's API version, or why it fails before its body is read.
fn check_headers(state: &MockState, headers: &HeaderMap) -> Result<Version, (StatusCode, String)> {
    let Some(key) = api_key(headers) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "x-api-key header is required".into(),
        ));
    };
    if !state.accepts_key(key) {
        return Err((StatusCode::UNAUTHORIZED, "invalid x-api-key".into()));
    }
    let Some(version) = headers
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
    else {
        return Err((
            StatusCode::BAD_REQUEST,
            "anthropic-version: header is required".into(),
        ));
    };
    Version::parse(version).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!(
                "anthropic-version: unknown version '{version}' (known: 2023-06-01, 2026-10-21)"
            ),
        )
    })
}

/// Answers one request to `route`.
pub(crate) async fn respond(
    state: Arc<MockState>,
    headers: &HeaderMap,
    raw: &[u8],
    route: Endpoint,
) -> Response {
    let answer = answer(state, headers, raw, route).await;
    with_request_id(answer)
}

fn with_request_id(mut answer: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        answer.headers_mut().insert("request-id", value);
    }
    answer
}

async fn answer(
    state: Arc<MockState>,
    headers: &HeaderMap,
    raw: &[u8],
    route: Endpoint,
) -> Response {
    let version = match check_headers(&state, headers) {
        Ok(version) => version,
        Err((status, message)) => return error::response(status, &message),
    };
    let body: Value = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(e) => {
            return error::invalid(&format!(
                "There was an error parsing the body of your request: {e}"
            ))
        }
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let directives = state.directives_for(model);
    let rules = Rules {
        endpoint: route,
        version,
        beta: headers.contains_key("anthropic-beta"),
        system_messages: directives.system_messages,
    };
    let checked = match validate::check(&body, rules) {
        Ok(checked) => checked,
        Err(message) => return error::invalid(&message),
    };
    if !directives.delay.is_zero() {
        tokio::time::sleep(directives.delay).await;
    }
    if let Some(status) = directives.status {
        return error::injected(status);
    }
    let estimate = (raw.len() as u64 / 4).max(1);
    if route == Endpoint::CountTokens {
        let total = directives.prompt_tokens.map_or(estimate, |p| {
            p + directives.cache_read.unwrap_or(0) + directives.cache_write.unwrap_or(0)
        });
        return axum::Json(json!({"input_tokens": total})).into_response();
    }
    let plan = reply::plan(&checked.ask(), &directives);
    let usage = usage(&state, &directives, &checked, &body, estimate, &plan);
    let id = format!("msg_mock{:06}", super::next_number());
    if checked.stream {
        stream_answer(state, &id, &checked, &plan, &usage, &directives)
    } else {
        let message = respond::message(&id, &checked.model, &plan, &usage);
        let bytes = Bytes::from(message.to_string());
        if directives.cut_after.is_some() {
            return super::cut_json(bytes);
        }
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    }
}

/// The usage of an answer: directives first, else the simulated cache.
fn usage(
    state: &MockState,
    directives: &Directives,
    checked: &Checked,
    body: &Value,
    estimate: u64,
    plan: &Plan,
) -> Usage {
    let mut usage = Usage {
        output: plan.output_tokens(),
        thinking: plan.thinking_tokens,
        ..Usage::default()
    };
    if directives.cache_read.is_some() || directives.cache_write.is_some() {
        usage.cache_read = directives.cache_read.unwrap_or(0);
        usage.cache_write = directives.cache_write.unwrap_or(0);
        usage.input = directives.prompt_tokens.unwrap_or(estimate);
        return usage;
    }
    let cached = cache::prefix(&checked.model, body).map(|prefix| {
        let tokens = (prefix.bytes as u64 / 4).min(estimate.saturating_sub(1));
        (state.remember_prefix(prefix.key), tokens, prefix.one_hour)
    });
    match cached {
        Some((seen_before, tokens, one_hour)) => {
            if seen_before {
                usage.cache_read = tokens;
            } else {
                usage.cache_write = tokens;
                usage.one_hour = one_hour;
            }
            usage.input = directives
                .prompt_tokens
                .unwrap_or(estimate.saturating_sub(tokens));
        }
        None => usage.input = directives.prompt_tokens.unwrap_or(estimate),
    }
    usage
}

fn stream_answer(
    state: Arc<MockState>,
    id: &str,
    checked: &Checked,
    plan: &Plan,
    usage: &Usage,
    directives: &Directives,
) -> Response {
    let frames = stream::frames(id, &checked.model, plan, usage);
    let faults = StreamFaults {
        cut_at: directives
            .cut_after
            .map(|k| stream::index_after_deltas(&frames, k)),
        error_at: directives.stream_error.map(|k| {
            (
                stream::index_after_deltas(&frames, k),
                error::overloaded_event(),
            )
        }),
        silent: directives.silent_stream,
        abort: directives.abort_stream,
        delay: directives.chunk_delay,
    };
    let events = frames.into_iter().map(|f| f.bytes).collect();
    sse::send(state, events, faults)
}

/// Checks a `/v1/messages` (or `count_tokens`) body as the mock does under
/// `anthropic-version: 2023-06-01` without beta headers, so translators' tests
/// judge their output by the same rules.
#[cfg(test)]
pub(crate) fn check_request(body: &Value, count_tokens: bool) -> Result<(), String> {
    let rules = Rules {
        endpoint: if count_tokens {
            Endpoint::CountTokens
        } else {
            Endpoint::Create
        },
        version: Version::V2023,
        beta: false,
        system_messages: false,
    };
    validate::check(body, rules).map(drop)
}

#[cfg(test)]
mod tests;
