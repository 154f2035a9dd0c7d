//! The mock as OpenAI's Responses API, `POST /v1/responses`: stateless answers
//! (plain, or streamed as typed events) that remember only the ids they gave, so
//! `previous_response_id` works for ids of this mock and is refused for others.
//! Requests are checked as the real API checks them (`validate`); errors use
//! OpenAI's error shape with `param` and `code`.

mod respond;
mod stream;
mod validate;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::sse::{self, StreamFaults};
use super::{chat, reply, MockState};
use respond::{Ids, Usage};

fn refused(refusal: &validate::Refusal) -> Response {
    let body = json!({"error": {
        "message": refusal.message,
        "type": "invalid_request_error",
        "param": refusal.param,
        "code": refusal.code,
    }});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Answers one `POST /v1/responses`.
pub(crate) async fn respond(state: Arc<MockState>, raw: &[u8]) -> Response {
    let body: Value = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(e) => {
            return refused(&validate::Refusal {
                message: format!("We could not parse the JSON body of your request. ({e})"),
                param: None,
                code: None,
            })
        }
    };
    let checked = match validate::check(&body, |id| state.knows_response(id)) {
        Ok(checked) => checked,
        Err(refusal) => return refused(&refusal),
    };
    let directives = state.directives_for(&checked.model);
    if !directives.delay.is_zero() {
        tokio::time::sleep(directives.delay).await;
    }
    if let Some(status) = directives.status {
        return chat::injected_error(status);
    }
    let plan = reply::plan(&checked.ask(), &directives);
    let cached = directives.cache_read.unwrap_or(0);
    let cache_write = directives.cache_write.unwrap_or(0);
    let fresh = directives
        .prompt_tokens
        .unwrap_or((raw.len() as u64 / 4).max(1));
    let usage = Usage {
        input: fresh + cached + cache_write,
        cached,
        cache_write,
        output: plan.output_tokens(),
        reasoning: plan.thinking_tokens,
    };
    let ids = Ids::new(&plan);
    if body.get("store").and_then(Value::as_bool) != Some(false) {
        state.remember_response(&ids.response);
    }
    let created_at = respond::unix_now();
    if checked.stream {
        let frames = stream::frames(&body, &plan, &ids, created_at, &usage);
        let faults = StreamFaults {
            cut_at: directives
                .cut_after
                .map(|k| stream::index_after_deltas(&frames, k)),
            error_at: directives.stream_error.map(|k| {
                let at = stream::index_after_deltas(&frames, k);
                (at, stream::failed_frame(&body, &ids, created_at, at))
            }),
            silent: directives.silent_stream,
            abort: directives.abort_stream,
            delay: directives.chunk_delay,
        };
        return sse::send(state, frames.into_iter().map(|f| f.bytes).collect(), faults);
    }
    let answer = respond::response(
        &body,
        &ids,
        created_at,
        respond::final_status(&plan),
        respond::output(&plan, &ids),
        Some(&usage),
    );
    let bytes = Bytes::from(answer.to_string());
    if directives.cut_after.is_some() {
        return super::cut_json(bytes);
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}
