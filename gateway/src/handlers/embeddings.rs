//! `POST /v1/embeddings`: checked for model and input, routed like chat (without
//! streams), relayed as is.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use serde_json::value::RawValue;

use super::fields::{known_model, tag_user};
use super::{labelled, read_body, route_error};
use crate::clock;
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::openai::request::{RawObject, Text};
use crate::proxy::{self, Client, Finish, Job};
use crate::routing::{decide, Requirements};
use crate::state::{AppState, Snapshot};
use crate::usage_event::Outcome;

pub async fn embeddings(
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
    let object = match RawObject::parse(&body) {
        Ok(object) => object,
        Err(error) => return labelled(Err(error), None, outcome),
    };
    outcome.requested_model = known_model(&snapshot.table, &object);
    outcome.user_tag = tag_user(&state.user_tags, &object);
    let routed = route(&snapshot, &key, &object);
    let (model, requirements, decision) = match routed {
        Ok(routed) => routed,
        Err(error) => return labelled(Err(error), None, outcome),
    };
    let client = Client {
        key: &key,
        source: &body,
        body: &object,
        ingress: IngressFormat::OpenAiChat,
        endpoint: Endpoint::Embeddings,
        started,
    };
    let job = Job::new(
        &state,
        &snapshot,
        client,
        Finish::Buffered,
        requirements,
        &decision,
        &model,
    );
    let (result, labels) = proxy::run(&job, &decision, &mut outcome).await;
    labelled(result, labels, outcome)
}

fn route(
    snapshot: &Snapshot,
    key: &ApiKey,
    object: &RawObject<'_>,
) -> Result<(String, Requirements, crate::routing::Decision), GatewayError> {
    let model: Text = object.required("model", "a string")?;
    let input: &RawValue = object.required("input", "a string or an array")?;
    check_input(input)?;
    let requirements = Requirements::embeddings(input);
    let decision = decide(
        &model.0,
        &requirements,
        &snapshot.table,
        &key.policy,
        &snapshot.health,
        clock::today(),
    )
    .map_err(|error| route_error(&model.0, Endpoint::Embeddings, error))?;
    Ok((model.0.into_owned(), requirements, decision))
}

fn check_input(input: &RawValue) -> Result<(), GatewayError> {
    let text = input.get();
    let valid = match text.as_bytes().first() {
        Some(b'"') => true,
        Some(b'[') => {
            serde_json::from_str::<Vec<&RawValue>>(text).is_ok_and(|items| !items.is_empty())
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(GatewayError::invalid(
            "Invalid 'input': expected a string or a non-empty array of strings or token ids.",
            Some("input"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_must_be_text_or_a_non_empty_list() {
        for ok in [r#""hi""#, r#"["a","b"]"#, "[[1,2,3]]", "[1,2]"] {
            let raw: &RawValue = serde_json::from_str(ok).unwrap();
            assert!(check_input(raw).is_ok(), "{ok}");
        }
        for bad in ["[]", "5", "null", "{}"] {
            let raw: &RawValue = serde_json::from_str(bad).unwrap();
            assert!(check_input(raw).is_err(), "{bad}");
        }
    }
}
