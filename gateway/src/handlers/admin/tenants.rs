//! `/api/v1/admin/tenants` and `/api/v1/admin/teams`: tenants (admin keys
//! only make them) and their teams, with the limits and budgets that bind all
//! of their keys together. A store record replaces the config file's settings
//! of the same tenant or team.

use std::collections::HashMap;
use std::sync::Arc;

use analytics::control::{Limits, TeamRecord, TenantRecord};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::input::{self, patch, LimitsInput, Patch};
use super::views::{LimitsView, List, TeamView, TenantView};
use super::{applied, audit, may_reach, store_error, tenant_of, Caller};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::state::{now_ms, AppState, Snapshot};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    id: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTeam {
    tenant: Option<String>,
    id: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    #[serde(default, deserialize_with = "patch")]
    name: Patch<String>,
}

fn answer<T: serde::Serialize>(status: StatusCode, result: Result<T, GatewayError>) -> Response {
    match result {
        Ok(view) => (status, Json(view)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn read<T: serde::de::DeserializeOwned>(
    snapshot: &Snapshot,
    headers: &HeaderMap,
    body: Body,
) -> Result<(T, LimitsInput), GatewayError> {
    let bytes = crate::handlers::read_body(body, headers, snapshot.max_body_bytes).await?;
    input::body_with_limits(&bytes)
}

pub async fn create_tenant(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        if caller.role != KeyRole::Admin {
            return Err(GatewayError::Forbidden(
                "creating tenants (only an admin key may)",
            ));
        }
        let (request, limits): (CreateTenant, LimitsInput) =
            read(&snapshot, &headers, body).await?;
        input::check_id(&request.id, "id")?;
        input::check_label(request.name.as_deref(), "name")?;
        let now = now_ms();
        let record = TenantRecord {
            tenant_id: request.id.clone(),
            name: request.name,
            limits: limits.apply(&Limits::default())?,
            created_ms: now,
            updated_ms: now,
        };
        let detail = json!({ "limits": LimitsView::from(&record.limits) });
        let entry = audit(
            &caller,
            &record.tenant_id,
            "tenant.create",
            &record.tenant_id,
            detail,
        );
        let created = state
            .control_store
            .create_tenant(&record, &entry)
            .await
            .map_err(store_error)?;
        if created.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Tenant `{}` exists already.",
                record.tenant_id
            )));
        }
        applied(&state).await;
        Ok(TenantView::of_record(&record))
    };
    answer(StatusCode::CREATED, result.await)
}

pub async fn list_tenants(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
) -> Response {
    let result = async {
        let stored = state.control_store.tenants().await.map_err(store_error)?;
        let mut views: Vec<TenantView> = snapshot
            .key_inputs
            .tenants
            .iter()
            .filter(|t| may_reach(&caller, &t.id))
            .filter(|t| !stored.iter().any(|s| s.tenant_id == t.id))
            .map(TenantView::of_config)
            .collect();
        views.extend(
            stored
                .iter()
                .filter(|t| may_reach(&caller, &t.tenant_id))
                .map(TenantView::of_record),
        );
        Ok(List::of(views))
    };
    answer(StatusCode::OK, result.await)
}

pub async fn get_tenant(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        if !may_reach(&caller, &id) {
            return Err(GatewayError::NotFound(format!("No tenant with id `{id}`.")));
        }
        if let Some(record) = state.control_store.tenant(&id).await.map_err(store_error)? {
            return Ok(TenantView::of_record(&record));
        }
        snapshot
            .key_inputs
            .tenants
            .iter()
            .find(|t| t.id == id)
            .map(TenantView::of_config)
            .ok_or_else(|| GatewayError::NotFound(format!("No tenant with id `{id}`.")))
    };
    answer(StatusCode::OK, result.await)
}

/// Changes a tenant's name, limits or budgets; a config-file tenant gets a
/// store record (its config settings as the start) that replaces them.
pub async fn update_tenant(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        if !may_reach(&caller, &id) {
            return Err(GatewayError::NotFound(format!("No tenant with id `{id}`.")));
        }
        let (change, limits): (Update, LimitsInput) = read(&snapshot, &headers, body).await?;
        let now = now_ms();
        let stored = state.control_store.tenant(&id).await.map_err(store_error)?;
        let (mut record, exists) = match stored {
            Some(record) => (record, true),
            None => {
                let config = snapshot.key_inputs.tenants.iter().find(|t| t.id == id);
                let keyed = snapshot.key_inputs.keys.iter().any(|k| k.tenant == id)
                    || state.keys().all().any(|k| k.tenant == id);
                if config.is_none() && !keyed {
                    return Err(GatewayError::NotFound(format!("No tenant with id `{id}`.")));
                }
                let limits = config.map(|t| limits_of(&t.allowance)).unwrap_or_default();
                let record = TenantRecord {
                    tenant_id: id.clone(),
                    name: None,
                    limits,
                    created_ms: now,
                    updated_ms: now,
                };
                (record, false)
            }
        };
        if let Some(name) = change.name {
            input::check_label(name.as_deref(), "name")?;
            record.name = name;
        }
        record.limits = limits.apply(&record.limits)?;
        record.updated_ms = now;
        let detail = json!({ "limits": LimitsView::from(&record.limits) });
        let entry = audit(&caller, &id, "tenant.update", &id, detail);
        let done = if exists {
            state.control_store.update_tenant(&record, &entry).await
        } else {
            state.control_store.create_tenant(&record, &entry).await
        };
        if done.map_err(store_error)?.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Tenant `{id}` changed meanwhile; read it again and retry."
            )));
        }
        applied(&state).await;
        Ok(TenantView::of_record(&record))
    };
    answer(StatusCode::OK, result.await)
}

pub async fn create_team(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (request, limits): (CreateTeam, LimitsInput) = read(&snapshot, &headers, body).await?;
        let tenant = tenant_of(&caller, request.tenant.as_deref(), "tenant")?;
        input::check_id(&request.id, "id")?;
        input::check_label(request.name.as_deref(), "name")?;
        let now = now_ms();
        let record = TeamRecord {
            tenant_id: tenant.clone(),
            team_id: request.id.clone(),
            name: request.name,
            limits: limits.apply(&Limits::default())?,
            created_ms: now,
            updated_ms: now,
        };
        let detail = json!({ "limits": LimitsView::from(&record.limits) });
        let entry = audit(&caller, &tenant, "team.create", &request.id, detail);
        let created = state
            .control_store
            .create_team(&record, &entry)
            .await
            .map_err(store_error)?;
        if created.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Team `{}` exists already in tenant `{tenant}`.",
                request.id
            )));
        }
        applied(&state).await;
        Ok(TeamView::of_record(&record))
    };
    answer(StatusCode::CREATED, result.await)
}

pub async fn list_teams(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        if let Some(name) = query.keys().find(|n| n.as_str() != "tenant") {
            return Err(GatewayError::InvalidParameter {
                message: format!("Unknown query parameter `{name}` (tenant)."),
                param: Some(name.clone()),
                code: None,
            });
        }
        let tenant = match (caller.role, query.get("tenant")) {
            (KeyRole::Admin, None) => None,
            (_, named) => Some(tenant_of(&caller, named.map(String::as_str), "tenant")?),
        };
        let stored = state
            .control_store
            .teams(tenant.as_deref())
            .await
            .map_err(store_error)?;
        let mut views: Vec<TeamView> = snapshot
            .key_inputs
            .teams
            .iter()
            .filter(|t| tenant.as_ref().is_none_or(|id| *id == t.tenant))
            .filter(|t| {
                !stored
                    .iter()
                    .any(|s| s.tenant_id == t.tenant && s.team_id == t.id)
            })
            .map(TeamView::of_config)
            .collect();
        views.extend(stored.iter().map(TeamView::of_record));
        Ok(List::of(views))
    };
    answer(StatusCode::OK, result.await)
}

pub async fn get_team(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let missing = || GatewayError::NotFound(format!("No team `{id}` in tenant `{tenant}`."));
        if !may_reach(&caller, &tenant) {
            return Err(missing());
        }
        if let Some(record) = state
            .control_store
            .team(&tenant, &id)
            .await
            .map_err(store_error)?
        {
            return Ok(TeamView::of_record(&record));
        }
        snapshot
            .key_inputs
            .teams
            .iter()
            .find(|t| t.tenant == tenant && t.id == id)
            .map(TeamView::of_config)
            .ok_or_else(missing)
    };
    answer(StatusCode::OK, result.await)
}

/// Changes a team's name, limits or budgets; a team known only from the config
/// file or from its keys gets a store record on its first change.
pub async fn update_team(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let missing = || GatewayError::NotFound(format!("No team `{id}` in tenant `{tenant}`."));
        if !may_reach(&caller, &tenant) {
            return Err(missing());
        }
        let (change, limits): (Update, LimitsInput) = read(&snapshot, &headers, body).await?;
        let now = now_ms();
        let stored = state
            .control_store
            .team(&tenant, &id)
            .await
            .map_err(store_error)?;
        let (mut record, exists) = match stored {
            Some(record) => (record, true),
            None => {
                let config = snapshot
                    .key_inputs
                    .teams
                    .iter()
                    .find(|t| t.tenant == tenant && t.id == id);
                let keyed = state
                    .keys()
                    .all()
                    .any(|k| k.tenant == tenant && k.team.as_deref() == Some(id.as_str()));
                if config.is_none() && !keyed {
                    return Err(missing());
                }
                let record = TeamRecord {
                    tenant_id: tenant.clone(),
                    team_id: id.clone(),
                    name: None,
                    limits: config.map(|t| limits_of(&t.allowance)).unwrap_or_default(),
                    created_ms: now,
                    updated_ms: now,
                };
                (record, false)
            }
        };
        if let Some(name) = change.name {
            input::check_label(name.as_deref(), "name")?;
            record.name = name;
        }
        record.limits = limits.apply(&record.limits)?;
        record.updated_ms = now;
        let detail = json!({ "limits": LimitsView::from(&record.limits) });
        let entry = audit(&caller, &tenant, "team.update", &id, detail);
        let done = if exists {
            state.control_store.update_team(&record, &entry).await
        } else {
            state.control_store.create_team(&record, &entry).await
        };
        if done.map_err(store_error)?.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Team `{id}` changed meanwhile; read it again and retry."
            )));
        }
        applied(&state).await;
        Ok(TeamView::of_record(&record))
    };
    answer(StatusCode::OK, result.await)
}

fn limits_of(allowance: &crate::allowance::Allowance) -> Limits {
    Limits {
        rpm: allowance.rpm,
        tpm: allowance.tpm,
        max_concurrent: allowance.max_concurrent,
        budget_daily_usd: allowance.daily_usd,
        budget_monthly_usd: allowance.monthly_usd,
    }
}
