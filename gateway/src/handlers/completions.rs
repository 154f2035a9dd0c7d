//! `POST /v1/completions`, OpenAI's legacy text completions, still sent by some
//! IDE autocompletes. There is no translation for it: it is passed through,
//! only the model swapped, to deployments configured with
//! `endpoint = "completions"`, streamed or whole, and billed from the
//! provider's `usage` (a stream asks for it with `stream_options`, hidden again
//! from a client that did not ask, as for chat). A model with no such
//! deployment is refused before any upstream call, in OpenAI's error shape.
//!
//! The usage event's ingress format is `openai_chat`, as its upstream format
//! is: the body is OpenAI's own family of JSON and never read into the
//! gateway's model, so "ingress equals upstream" keeps meaning "passed
//! through"; the event's endpoint (`completions`) tells the route apart.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use serde_json::value::RawValue;

use super::fields::{client_wants_usage, known_model, tag_user};
use super::{labelled, read_body, route_error};
use crate::clock;
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::openai::request::{RawObject, Text};
use crate::proxy::{self, Client, Finish, Job};
use crate::routing::{decide, Decision, Requirements};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;

pub async fn completions(
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
    let body = match read_body(body, &parts.headers, snapshot.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return labelled(Err(error), None, outcome),
    };
    // Linear in the body: large ones are read with the worker's queue handed on.
    let object = match crate::routing::counting::scan(body.len(), || RawObject::parse(&body)) {
        Ok(object) => object,
        Err(error) => return labelled(Err(error), None, outcome),
    };
    outcome.requested_model = known_model(&snapshot.table, &object);
    outcome.user_tag = tag_user(&state.user_tags, &object);
    let (legacy, requirements, decision) = match route(&snapshot, &key, &object) {
        Ok(routed) => routed,
        Err(error) => return labelled(Err(error), None, outcome),
    };
    outcome.stream = legacy.stream;
    let client = Client {
        key: &key,
        source: &body,
        body: &object,
        ingress: IngressFormat::OpenAiChat,
        endpoint: Endpoint::Completions,
        started,
    };
    let finish = Finish::new(legacy.stream, legacy.client_wants_usage);
    let job = Job::new(
        &state,
        &snapshot,
        client,
        finish,
        requirements,
        &decision,
        &legacy.model,
    );
    let (result, labels) = proxy::run(&job, &decision, &mut outcome).await;
    labelled(result, labels, outcome)
}

/// What the gateway reads of a legacy completion request; the rest is the
/// provider's to judge.
#[derive(Debug, PartialEq, Eq)]
struct Legacy {
    model: String,
    stream: bool,
    client_wants_usage: bool,
}

fn read(object: &RawObject<'_>) -> Result<(Legacy, Requirements), GatewayError> {
    let model: Text = object.required("model", "a string")?;
    if model.0.is_empty() {
        return Err(GatewayError::invalid(
            "You must provide a model parameter.",
            Some("model"),
        ));
    }
    let prompt: &RawValue = object.required("prompt", "a string or an array")?;
    if !matches!(prompt.get().as_bytes().first(), Some(b'"' | b'[')) {
        return Err(GatewayError::invalid(
            "Invalid type for 'prompt': expected a string or an array of strings or token ids.",
            Some("prompt"),
        ));
    }
    let stream = object
        .optional::<bool>("stream", "a boolean")?
        .unwrap_or(false);
    let max_tokens = object.optional::<u64>("max_tokens", "an integer")?;
    let legacy = Legacy {
        model: model.0.into_owned(),
        stream,
        client_wants_usage: client_wants_usage(object)?,
    };
    Ok((
        legacy,
        Requirements::completions(prompt, max_tokens, stream),
    ))
}

fn route(
    snapshot: &Snapshot,
    key: &ApiKey,
    object: &RawObject<'_>,
) -> Result<(Legacy, Requirements, Decision), GatewayError> {
    let (legacy, requirements) = read(object)?;
    let decision = decide(
        &legacy.model,
        &requirements,
        &snapshot.table,
        &key.policy,
        &snapshot.health,
        clock::today(),
    )
    .map_err(|error| route_error(&legacy.model, Endpoint::Completions, error))?;
    Ok((legacy, requirements, decision))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<(Legacy, Requirements), String> {
        let object = RawObject::parse(body.as_bytes()).map_err(|e| e.to_string())?;
        read(&object).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_model_prompt_and_stream_flags() {
        let (legacy, requirements) =
            check(r#"{"model":"m","prompt":"def f(","max_tokens":40}"#).unwrap();
        assert_eq!(
            legacy,
            Legacy {
                model: "m".into(),
                stream: false,
                client_wants_usage: false
            }
        );
        assert_eq!(requirements.endpoint, Endpoint::Completions);
        assert_eq!(requirements.max_output_tokens, Some(40));
        assert_eq!(requirements.prompt.text_bytes, r#""def f(""#.len() as u64);
        let (legacy, requirements) = check(
            r#"{"model":"m","prompt":[[1,2,3]],"stream":true,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert!(legacy.stream && legacy.client_wants_usage);
        assert_eq!(
            requirements.max_output_tokens,
            Some(16),
            "the API's default"
        );
        assert!(requirements
            .capabilities
            .contains(pricing::Capabilities::STREAMING));
    }

    #[test]
    fn refuses_what_it_cannot_route() {
        for (body, expected) in [
            (r#"{"prompt":"x"}"#, "'model'"),
            (r#"{"model":"","prompt":"x"}"#, "model"),
            (r#"{"model":"m"}"#, "'prompt'"),
            (r#"{"model":"m","prompt":5}"#, "'prompt'"),
            (r#"{"model":"m","prompt":"x","stream":"yes"}"#, "'stream'"),
            (
                r#"{"model":"m","prompt":"x","stream_options":[]}"#,
                "'stream_options'",
            ),
            (
                r#"{"model":"m","prompt":"x","max_tokens":-1}"#,
                "'max_tokens'",
            ),
        ] {
            let message = check(body).unwrap_err();
            assert!(message.contains(expected), "{body}: {message}");
        }
    }
}
