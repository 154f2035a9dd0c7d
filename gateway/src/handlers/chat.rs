//! `POST /v1/chat/completions`, streaming and not. The handler checks only what the
//! gateway must understand (model, messages, stream flags) and leaves every other
//! field to the provider.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use serde_json::value::RawValue;

use super::fields::{client_wants_usage, known_model, tag_user};
use super::{labelled, read_body, route_counted};
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::metrics::UpstreamLabels;
use crate::openai::request::{RawObject, Text};
use crate::proxy::{self, Client, Finish, Job};
use crate::routing::counting;
use crate::routing::{requirements, Decision, Requirements};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;
use analytics::event::UserTagKey;

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    request: Request,
) -> Response {
    let started = super::started(&request);
    let mut outcome = Outcome {
        ingress_format: Some(IngressFormat::OpenAiChat.label()),
        ..Outcome::default()
    };
    let (parts, body) = request.into_parts();
    let body = read_body(body, &parts.headers, snapshot.max_body_bytes).await;
    let (result, labels) = match body {
        Ok(body) => handle(&state, &snapshot, &key, &body, started, &mut outcome).await,
        Err(error) => (Err(error), None),
    };
    labelled(result, labels, outcome)
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
    Ok(ChatRequest {
        model,
        stream,
        client_wants_usage: client_wants_usage(object)?,
    })
}

async fn handle(
    state: &AppState,
    snapshot: &Arc<Snapshot>,
    key: &ApiKey,
    body: &Bytes,
    started: Instant,
    outcome: &mut Outcome,
) -> (Result<Response, GatewayError>, Option<UpstreamLabels>) {
    let prepared = prepare(state, snapshot, key, body, outcome, &state.user_tags).await;
    let (object, request, requirements, decision) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return (Err(error), None),
    };
    let client = Client {
        key,
        source: body,
        body: &object,
        ingress: IngressFormat::OpenAiChat,
        endpoint: Endpoint::Chat,
        started,
    };
    let finish = Finish::new(request.stream, request.client_wants_usage);
    let job = Job::new(
        state,
        snapshot,
        client,
        finish,
        requirements,
        &decision,
        &request.model.0,
    );
    proxy::run(&job, &decision, outcome).await
}

/// The exact token count of the prompt in `body`, made on a counting thread
/// within the configured budget; `None` (the byte bound stands) when over it.
async fn count_exactly(
    state: &AppState,
    snapshot: &Snapshot,
    body: &Bytes,
    text_bytes: u64,
) -> Option<u64> {
    let body = body.clone();
    super::count_in_budget(state, snapshot, text_bytes, move |keep_going| {
        let counted = RawObject::parse(&body)
            .and_then(|object| requirements::count_prompt(&object, keep_going));
        match counted {
            Ok(Some(count)) => Some(Some(count)),
            // The budget ran out.
            Ok(None) => None,
            // Never expected: this body parsed before.
            Err(_) => Some(None),
        }
    })
    .await
}

type Prepared<'a> = (RawObject<'a>, ChatRequest<'a>, Requirements, Decision);

/// Parses and routes the request: everything before the first upstream call.
async fn prepare<'a>(
    state: &AppState,
    snapshot: &Snapshot,
    key: &ApiKey,
    body: &'a Bytes,
    outcome: &mut Outcome,
    user_tags: &UserTagKey,
) -> Result<Prepared<'a>, GatewayError> {
    // Linear in the body: large ones are read with the worker's queue handed on.
    let (object, request, mut requirements) = counting::scan(body.len(), || {
        let object = RawObject::parse(body)?;
        outcome.requested_model = known_model(&snapshot.table, &object);
        let request = read_request(&object)?;
        outcome.stream = request.stream;
        outcome.user_tag = tag_user(user_tags, &object);
        let requirements = requirements::for_chat(&object, request.stream)?;
        Ok::<_, GatewayError>((object, request, requirements))
    })?;
    let model = request.model.0.as_ref();
    let decision = route_counted(
        snapshot,
        key,
        model,
        &mut requirements,
        Endpoint::Chat,
        |text_bytes| count_exactly(state, snapshot, body, text_bytes),
    )
    .await?;
    Ok((object, request, requirements, decision))
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
