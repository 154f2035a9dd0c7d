//! `GET /v1/models` and `GET /v1/models/{id}`: the models the caller's key may use.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::{AppState, ModelRoute};

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

fn model_object<'a>(route: &'a ModelRoute, created: u64) -> ModelObject<'a> {
    ModelObject {
        id: &route.name,
        object: "model",
        created,
        owned_by: &route.labels.provider,
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
) -> Response {
    let snapshot = &state.snapshot;
    let data = snapshot
        .models
        .iter()
        .filter(|m| key.models.allows(&m.name))
        .map(|m| model_object(m, snapshot.loaded_at))
        .collect();
    Json(ModelList {
        object: "list",
        data,
    })
    .into_response()
}

pub async fn retrieve(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Path(id): Path<String>,
) -> Response {
    let snapshot = &state.snapshot;
    match snapshot
        .models
        .iter()
        .find(|m| *m.name == id && key.models.allows(&m.name))
    {
        Some(route) => Json(model_object(route, snapshot.loaded_at)).into_response(),
        None => GatewayError::ModelNotFound(id).into_response(),
    }
}
