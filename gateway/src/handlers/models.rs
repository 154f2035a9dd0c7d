//! `GET /v1/models` and `GET /v1/models/{id}`: every name the caller's key may
//! send, virtual names (`auto`, ...) included.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::routing::virtual_models::VIRTUAL_MODELS;
use crate::state::{AppState, Snapshot};

#[derive(Serialize)]
struct ModelObject<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'a str,
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelObject<'a>>,
}

/// The names `key` may use, each with the provider that owns it.
fn visible<'s>(snapshot: &'s Snapshot, key: &ApiKey) -> Vec<(&'s str, &'s str)> {
    let policy = &key.policy;
    let table = &snapshot.table;
    let mut names: Vec<(&str, &str)> = VIRTUAL_MODELS
        .iter()
        .map(|(name, _, _)| (*name, "gateway"))
        .filter(|(name, _)| policy.may_request(name))
        .collect();
    for (name, deployment) in table.names() {
        let routable = table
            .named(name)
            .iter()
            .any(|&i| policy.may_route_to(table.get(i)));
        if routable && policy.may_request(name) {
            names.push((name, deployment.provider_name.as_str()));
        }
    }
    names
}

pub async fn list(
    State(_state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
) -> Response {
    let data = visible(&snapshot, &key)
        .into_iter()
        .map(|(id, owned_by)| ModelObject {
            id,
            object: "model",
            created: snapshot.loaded_at,
            owned_by,
        })
        .collect();
    Json(ModelList {
        object: "list",
        data,
    })
    .into_response()
}

pub async fn retrieve(
    Extension(key): Extension<Arc<ApiKey>>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    // axum's own rejection (an id that percent-decodes to invalid UTF-8) is plain
    // text; answer in the OpenAI shape like every other error.
    let Ok(Path(id)) = id else {
        return GatewayError::invalid("The model id in the URL is not valid UTF-8.", Some("model"))
            .into_response();
    };
    match visible(&snapshot, &key)
        .into_iter()
        .find(|(name, _)| *name == id)
    {
        Some((name, owned_by)) => Json(ModelObject {
            id: name,
            object: "model",
            created: snapshot.loaded_at,
            owned_by,
        })
        .into_response(),
        None => GatewayError::ModelNotFound(super::echo(&id)).into_response(),
    }
}
