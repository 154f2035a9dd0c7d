//! The mock as Google's Gemini API: `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (`?alt=sse`, or a JSON array without it) and
//! `:countTokens`, also under `/v1/` (google-genai 3's default version). The key
//! comes by `x-goog-api-key` or `?key=`; the body is checked field by field
//! (`schema`) and as a conversation (`validate`); answers follow the directives
//! of the model name in the path (`respond`, `stream`), errors Google's shape
//! (`error`).

mod error;
mod respond;
mod schema;
mod stream;
mod validate;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::reply;
use super::sse::{self, StreamFaults};
use super::MockState;
use respond::Usage;

/// What the path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Generate,
    Stream,
    CountTokens,
}

/// `gemini-2.5-flash:generateContent` as the model and the method.
fn split(rest: &str) -> Option<(&str, Method)> {
    let (model, method) = rest.rsplit_once(':')?;
    let model = model.strip_prefix("models/").unwrap_or(model);
    let method = match method {
        "generateContent" => Method::Generate,
        "streamGenerateContent" => Method::Stream,
        "countTokens" => Method::CountTokens,
        _ => return None,
    };
    (!model.is_empty()).then_some((model, method))
}

fn query_value<'u>(uri: &'u Uri, name: &str) -> Option<&'u str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Answers one request for `models/{rest}`.
pub(crate) async fn respond(
    state: Arc<MockState>,
    headers: &HeaderMap,
    uri: &Uri,
    rest: &str,
    raw: &[u8],
) -> Response {
    let Some((model, method)) = split(rest) else {
        return error::response(
            StatusCode::NOT_FOUND,
            &format!("models/{rest} is not found for API version v1beta, or is not supported."),
            None,
        );
    };
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| query_value(uri, "key"))
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return error::response(
            StatusCode::FORBIDDEN,
            "Method doesn't allow unregistered callers (callers without established identity). \
             Please use API Key or other form of API consumer identity to call this API.",
            None,
        );
    };
    if !state.accepts_key(key) {
        return error::response(
            StatusCode::BAD_REQUEST,
            "API key not valid. Please pass a valid API key.",
            Some(json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }])),
        );
    }
    let body: Value = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(e) => return error::invalid(&format!("Invalid JSON payload received. {e}")),
    };
    let directives = state.directives_for(model);
    let checked = match method {
        Method::CountTokens => validate::check_count(&body).map(|()| None),
        _ => validate::check(&body).map(Some),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(message) => return error::invalid(&message),
    };
    if !directives.delay.is_zero() {
        tokio::time::sleep(directives.delay).await;
    }
    if let Some(status) = directives.status {
        return error::injected(status);
    }
    let fresh = directives
        .prompt_tokens
        .unwrap_or((raw.len() as u64 / 4).max(1));
    let cached = directives.cache_read.unwrap_or(0);
    let Some(checked) = checked else {
        let mut answer = json!({ "totalTokens": fresh + cached });
        if cached > 0 {
            answer["cachedContentTokenCount"] = json!(cached);
        }
        return axum::Json(answer).into_response();
    };
    let plan = reply::plan(&checked.ask(), &directives);
    let usage = Usage {
        fresh,
        cached,
        candidates: plan.output_tokens() - plan.thinking_tokens,
        thoughts: plan.thinking_tokens,
    };
    let id = format!("mockresp{:06}", super::next_number());
    let chunks = match directives.safety {
        Some(safety) => vec![respond::blocked(model, &id, safety, &usage)],
        None if method == Method::Stream => {
            stream::chunks(model, &id, &plan, &usage, checked.include_thoughts)
        }
        None => vec![respond::response(
            model,
            &id,
            &plan,
            &usage,
            checked.include_thoughts,
        )],
    };
    if method == Method::Generate {
        let bytes = Bytes::from(chunks.first().map(Value::to_string).unwrap_or_default());
        if directives.cut_after.is_some() {
            return super::cut_json(bytes);
        }
        return (
            [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
            bytes,
        )
            .into_response();
    }
    if query_value(uri, "alt") != Some("sse") {
        return (
            [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
            stream::array(&chunks),
        )
            .into_response();
    }
    let last = chunks.len().saturating_sub(1);
    let faults = StreamFaults {
        cut_at: directives.cut_after.map(|k| k.min(last)),
        error_at: None,
        silent: directives.silent_stream,
        abort: directives.abort_stream,
        delay: directives.chunk_delay,
    };
    sse::send(state, chunks.iter().map(stream::frame).collect(), faults)
}

/// The mock's verdict on a `generateContent` body, for translators' tests.
#[cfg(test)]
pub(crate) fn check_generate_content(body: &Value) -> Result<(), String> {
    validate::check(body).map(drop)
}

/// The mock's verdict on a `countTokens` body, for translators' tests.
#[cfg(test)]
pub(crate) fn check_count_tokens(body: &Value) -> Result<(), String> {
    validate::check_count(body)
}

#[cfg(test)]
mod tests;
