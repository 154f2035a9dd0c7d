//! `GET /api/v1/roi/promises` and `GET /api/v1/roi/achievement`: the
//! analytics API's parameters (`tenant`, `format`), the tenant's whole
//! analytics required, one store read each.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::views::{AchievementView, PromiseList, PromiseView};
use crate::error::GatewayError;
use crate::handlers::analytics_api::{respond, store_error, Params, Scope};
use crate::keys::ApiKey;
use crate::state::AppState;

/// The checked parameters; a key that reads less than its tenant's whole
/// analytics is refused.
fn params(uri: &Uri, headers: &HeaderMap, key: &ApiKey) -> Result<Params, GatewayError> {
    let params = Params::parse(uri, headers, key, &[])?;
    if params.scope != Scope::Tenant {
        return Err(GatewayError::Forbidden(
            "the tenant's ROI figures (this key reads its team's or its own analytics; \
             `analytics = \"tenant\"` in its config widens that)",
        ));
    }
    Ok(params)
}

pub async fn promises(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = params(&uri, &headers, &key)?;
    let promises = state
        .store
        .promises(&params.tenant)
        .await
        .map_err(store_error)?;
    Ok(Json(PromiseList {
        data: promises.iter().map(PromiseView::of).collect(),
        tenant: params.tenant,
    })
    .into_response())
}

pub async fn achievement(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = params(&uri, &headers, &key)?;
    let today = chrono::Utc::now().date_naive();
    let achievement = state
        .store
        .achievement(&params.tenant, today)
        .await
        .map_err(store_error)?;
    let view = AchievementView::of(&params.tenant, today, achievement.as_ref());
    Ok(respond(params.format, &view))
}
