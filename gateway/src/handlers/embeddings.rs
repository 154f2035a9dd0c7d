//! `POST /v1/embeddings`: checked for model and input, then relayed as is.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use serde_json::value::RawValue;

use super::{forward_buffered, labelled, read_body, send_upstream};
use crate::config::Endpoint;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::metrics::UpstreamLabels;
use crate::openai::request::{RawObject, Text};
use crate::providers::UpstreamRequest;
use crate::state::AppState;

pub async fn embeddings(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let mut labels = None;
    let body = read_body(body, &parts.headers, state.snapshot.max_body_bytes).await;
    let result = match body {
        Ok(body) => handle(&state, &key, &body, &mut labels).await,
        Err(error) => Err(error),
    };
    labelled(result, labels)
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

async fn handle(
    state: &AppState,
    key: &ApiKey,
    body: &[u8],
    labels: &mut Option<UpstreamLabels>,
) -> Result<Response, GatewayError> {
    let object = RawObject::parse(body)?;
    let model: Text = object.required("model", "a string")?;
    let input: &RawValue = object.required("input", "a string or an array")?;
    check_input(input)?;
    let snapshot = &state.snapshot;
    let route = snapshot.route(key, &model.0, Endpoint::Embeddings)?;
    *labels = Some(route.labels.clone());
    let upstream_started = Instant::now();
    let upstream = UpstreamRequest {
        endpoint: Endpoint::Embeddings,
        body: &object,
        upstream_model_json: &route.upstream_model_json,
        upstream_model: &route.upstream_model,
        force_stream_usage: false,
    };
    let response = send_upstream(state, route, upstream).await?;
    forward_buffered(state, route, response, upstream_started).await
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
