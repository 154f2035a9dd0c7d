//! `/api/v1/admin/audit`: who changed what, newest first. Entries name the
//! acting key by id and the settings set; never a key or a hash.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use super::views::{time, List};
use super::{store_error, tenant_of, Caller};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::state::AppState;

const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Serialize)]
struct EntryView {
    at: Option<String>,
    tenant: String,
    actor: String,
    action: String,
    target: String,
    detail: Option<serde_json::Value>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        if let Some(name) = query
            .keys()
            .find(|n| !["tenant", "limit"].contains(&n.as_str()))
        {
            return Err(GatewayError::InvalidParameter {
                message: format!("Unknown query parameter `{name}` (tenant, limit)."),
                param: Some(name.clone()),
                code: None,
            });
        }
        let tenant = match (caller.role, query.get("tenant")) {
            (KeyRole::Admin, None) => None,
            (_, named) => Some(tenant_of(&caller, named.map(String::as_str), "tenant")?),
        };
        let limit = match query.get("limit") {
            None => 100,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    GatewayError::invalid(
                        format!("`limit` must be a whole number from 1 to {MAX_LIMIT}."),
                        Some("limit"),
                    )
                })?,
        };
        let entries = state
            .control_store
            .audit(tenant.as_deref(), limit)
            .await
            .map_err(store_error)?;
        Ok(List::of(
            entries
                .into_iter()
                .map(|e| EntryView {
                    at: time(e.at_ms),
                    tenant: e.tenant_id,
                    actor: e.actor,
                    action: e.action,
                    target: e.target,
                    detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
                .collect(),
        ))
    };
    match result.await {
        Ok(list) => Json(list).into_response(),
        Err(error) => error.into_response(),
    }
}
