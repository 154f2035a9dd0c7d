//! `/api/v1/admin/shares`: make, list and revoke read-only share links of a
//! tenant's savings view. A link's token is in the create answer only (the
//! store keeps its hash); lists show each link's view, expiry, whether it has
//! a password, and how often it was read.

use std::collections::HashMap;
use std::sync::Arc;

use analytics::control::{ShareRecord, ShareState};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::views::{time, List};
use super::{audit, input, store_error, tenant_of, Caller};
use crate::error::GatewayError;
use crate::shares::links::{self, NewLink};
use crate::shares::view::ShareView;
use crate::state::{now_ms, AppState, Snapshot};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateShare {
    tenant: Option<String>,
    label: Option<String>,
    view: ShareView,
    expires_in_days: Option<i64>,
    expires_at: Option<String>,
    password: Option<String>,
}

/// A link as lists show it (never its token, hash or password).
#[derive(Debug, Serialize)]
pub struct LinkView {
    pub id: String,
    pub tenant: String,
    pub label: Option<String>,
    pub view: serde_json::Value,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub expires_at: Option<String>,
    pub has_password: bool,
    pub created_at: Option<String>,
    pub created_by: String,
    pub revoked_at: Option<String>,
    pub views: i64,
    pub last_viewed_at: Option<String>,
}

impl LinkView {
    fn of(r: &ShareRecord, now: i64) -> LinkView {
        LinkView {
            id: r.share_id.clone(),
            tenant: r.tenant_id.clone(),
            label: r.label.clone(),
            view: serde_json::from_str(&r.view_json).unwrap_or_default(),
            status: match r.state(now) {
                ShareState::Live => "active",
                ShareState::Expired => "expired",
                ShareState::Revoked => "revoked",
            },
            expires_at: time(r.expires_ms),
            has_password: r.password_hash.is_some(),
            created_at: time(r.created_ms),
            created_by: r.created_by.clone(),
            revoked_at: r.revoked_ms.and_then(time),
            views: r.views,
            last_viewed_at: r.last_viewed_ms.and_then(time),
        }
    }
}

/// The create answer: the link, with its URL and token this once.
#[derive(Debug, Serialize)]
struct Created {
    url: String,
    path: String,
    token: String,
    #[serde(flatten)]
    link: LinkView,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let bytes = crate::handlers::read_body(body, &headers, snapshot.max_body_bytes).await?;
    let request: CreateShare = input::body(&bytes)?;
    let tenant = tenant_of(&caller, request.tenant.as_deref(), "tenant")?;
    input::check_label(request.label.as_deref(), "label")?;
    if let Some(password) = &request.password {
        links::check_password(password)?;
    }
    let view = request.view.checked()?;
    let now = now_ms();
    let at = request
        .expires_at
        .as_deref()
        .map(|t| input::time_ms(t, "expires_at"))
        .transpose()?;
    let link = NewLink {
        tenant: tenant.clone(),
        label: request.label,
        view,
        password: request.password,
        expires_ms: links::expiry(now, request.expires_in_days, at)?,
        created_by: caller.id.clone(),
    };
    // A password is hashed slowly: off the async workers.
    let minted = tokio::task::spawn_blocking(move || links::mint(link, now)).await;
    let (token, record) = match minted {
        Ok(Ok(made)) => made,
        _ => return Err(no_randomness()),
    };
    let detail = json!({
        "label": record.label,
        "view": serde_json::from_str::<serde_json::Value>(&record.view_json).unwrap_or_default(),
        "expires_at": time(record.expires_ms),
        "has_password": record.password_hash.is_some(),
    });
    let entry = audit(&caller, &tenant, "share.create", &record.share_id, detail);
    let stored = state.control_store.create_share(&record, &entry).await;
    if !stored.map_err(store_error)? {
        return Err(GatewayError::Conflict(
            "A share link with this id exists.".into(),
        ));
    }
    let path = format!("/share/{token}");
    let created = Created {
        url: format!("{}{path}", base_url(&state, &headers)),
        path,
        token,
        link: LinkView::of(&record, now),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Where links point: `[shares] public_url`, or the host this request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.shares.settings.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn no_randomness() -> GatewayError {
    tracing::error!("no randomness for a share link");
    GatewayError::ControlStore { transient: true }
}

/// The tenant a list or revoke acts on: `?tenant=` (required of admin keys).
fn tenant_in(caller: &Caller, query: &HashMap<String, String>) -> Result<String, GatewayError> {
    if let Some(name) = query.keys().find(|name| name.as_str() != "tenant") {
        return Err(GatewayError::InvalidParameter {
            message: "Unknown query parameter (this endpoint takes: tenant).".into(),
            param: Some(name.clone()),
            code: None,
        });
    }
    tenant_of(caller, query.get("tenant").map(String::as_str), "tenant")
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, GatewayError> {
    let tenant = tenant_in(&caller, &query)?;
    // This replica's views first, so the counts are exact as far as it knows.
    if let Err(error) = state.shares.counts.flush(&state.control_store).await {
        tracing::debug!(%error, "share views not flushed yet");
    }
    let links = state
        .control_store
        .shares(&tenant)
        .await
        .map_err(store_error)?;
    let now = now_ms();
    let views = links.iter().map(|r| LinkView::of(r, now)).collect();
    Ok(Json(List::of(views)).into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, GatewayError> {
    let tenant = tenant_in(&caller, &query)?;
    let now = now_ms();
    let entry = audit(&caller, &tenant, "share.revoke", &id, json!({}));
    let store = &state.control_store;
    let revoked = store
        .revoke_share(&tenant, &id, now, &entry)
        .await
        .map_err(store_error)?;
    let found = store
        .shares(&tenant)
        .await
        .map_err(store_error)?
        .into_iter()
        .find(|r| r.share_id == id);
    match found {
        // Revoked now, or before: either way the link is dead.
        Some(record) if revoked || record.revoked_ms.is_some() => {
            Ok(Json(LinkView::of(&record, now)).into_response())
        }
        _ => Err(GatewayError::NotFound(format!(
            "No share link `{}` in this tenant.",
            crate::error::echo(&id)
        ))),
    }
}
