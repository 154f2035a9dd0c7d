//! `POST /v1/chat/completions`, streaming and not. The handler checks only what the
//! gateway must understand (model, messages, stream flags) and leaves every other
//! field to the provider.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{forward_buffered, labelled, read_body, send_upstream};
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::metrics::UpstreamLabels;
use crate::openai::request::{RawObject, Text};
use crate::providers::UpstreamRequest;
use crate::sse::UsageFilter;
use crate::state::AppState;
use crate::stream;

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let mut labels = None;
    let body = read_body(body, &parts.headers, state.snapshot.max_body_bytes).await;
    let result = match body {
        Ok(body) => handle(&state, &key, &body, started, &mut labels).await,
        Err(error) => Err(error),
    };
    labelled(result, labels)
}

/// Checks the parts of a chat request the gateway relies on.
struct ChatRequest<'a> {
    model: Text<'a>,
    stream: bool,
    client_wants_usage: bool,
}

fn read_request<'a>(object: &RawObject<'a>) -> Result<ChatRequest<'a>, GatewayError> {
    let model: Text<'a> = object.required("model", "a string")?;
    if model.0.is_empty() {
        return Err(GatewayError::invalid(
            "You must provide a model parameter.",
            Some("model"),
        ));
    }
    let messages: Vec<&RawValue> = object.required("messages", "an array of messages")?;
    if messages.is_empty() {
        return Err(GatewayError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            Some("messages"),
        ));
    }
    if let Some(i) = messages.iter().position(|m| !m.get().starts_with('{')) {
        return Err(GatewayError::invalid(
            format!("Invalid type for 'messages[{i}]': expected an object."),
            Some("messages"),
        ));
    }
    let stream = object
        .optional::<bool>("stream", "a boolean")?
        .unwrap_or(false);
    let options = match object.get("stream_options").map(|raw| raw.get()) {
        Some(raw) if raw.starts_with('{') => {
            object.optional::<StreamOptions>("stream_options", "an object")?
        }
        None | Some("null") => None,
        Some(_) => {
            return Err(GatewayError::invalid(
                "Invalid type for 'stream_options': expected an object.",
                Some("stream_options"),
            ))
        }
    };
    Ok(ChatRequest {
        model,
        stream,
        client_wants_usage: options.and_then(|o| o.include_usage).unwrap_or(false),
    })
}

async fn handle(
    state: &AppState,
    key: &ApiKey,
    body: &[u8],
    started: Instant,
    labels: &mut Option<UpstreamLabels>,
) -> Result<Response, GatewayError> {
    let object = RawObject::parse(body)?;
    let request = read_request(&object)?;
    let snapshot = &state.snapshot;
    let route = snapshot.route(key, &request.model.0, Endpoint::Chat)?;
    *labels = Some(route.labels.clone());
    let upstream_started = Instant::now();
    let upstream = UpstreamRequest {
        endpoint: Endpoint::Chat,
        body: &object,
        upstream_model_json: &route.upstream_model_json,
        upstream_model: &route.upstream_model,
        force_stream_usage: request.stream && !request.client_wants_usage,
    };
    let response = send_upstream(state, route, upstream).await?;
    if request.stream && is_event_stream(response.headers()) {
        let filter = UsageFilter::new(request.client_wants_usage);
        stream::forward(state, route, response, filter, started, upstream_started).await
    } else {
        forward_buffered(state, route, response, upstream_started).await
    }
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<(String, bool, bool), String> {
        let object = RawObject::parse(body.as_bytes()).map_err(|e| e.to_string())?;
        read_request(&object)
            .map(|r| (r.model.0.into_owned(), r.stream, r.client_wants_usage))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_usual_shapes() {
        let msgs = r#""messages":[{"role":"user","content":"hi"}]"#;
        assert_eq!(
            read(&format!(r#"{{"model":"m",{msgs}}}"#)),
            Ok(("m".into(), false, false))
        );
        assert_eq!(
            read(&format!(
                r#"{{"model":"m",{msgs},"stream":true,"stream_options":{{"include_usage":true}}}}"#
            )),
            Ok(("m".into(), true, true))
        );
        assert_eq!(
            read(&format!(
                r#"{{"model":"m",{msgs},"stream":null,"stream_options":null}}"#
            )),
            Ok(("m".into(), false, false))
        );
    }

    #[test]
    fn refuses_what_cannot_be_routed() {
        let cases = [
            (
                r#"{"messages":[{"role":"user","content":"hi"}]}"#,
                "'model'",
            ),
            (r#"{"model":"","messages":[{"role":"user"}]}"#, "model"),
            (r#"{"model":"m"}"#, "'messages'"),
            (r#"{"model":"m","messages":[]}"#, "empty array"),
            (r#"{"model":"m","messages":["hi"]}"#, "messages[0]"),
            (r#"{"model":"m","messages":{"role":"user"}}"#, "'messages'"),
            (
                r#"{"model":"m","messages":[{}],"stream":"yes"}"#,
                "'stream'",
            ),
            (
                r#"{"model":"m","messages":[{}],"stream_options":[]}"#,
                "'stream_options'",
            ),
        ];
        for (body, expected) in cases {
            let message = read(body).unwrap_err();
            assert!(message.contains(expected), "{body}: {message}");
        }
    }
}
