//! `/api/v1/admin/keys`: mint, list, read, change, rotate and revoke client
//! keys. A key is minted here and shown once; the store keeps its hash and
//! prefix. Config-file keys are listed and read, never changed.

use std::collections::HashMap;
use std::sync::Arc;

use analytics::control::{KeyRecord, Limits};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::input::{self, patch, LimitsInput, Patch};
use super::views::{KeyView, List, MintedView, Replaced, RotatedView};
use super::{applied, audit, may_reach, store_error, tenant_of, Caller};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::key_records;
use crate::state::{knows_model, now_ms, AppState, Snapshot};

/// Longest grace period of a rotated key: 30 days.
const MAX_GRACE_SECONDS: u64 = 30 * 86_400;
const DEFAULT_GRACE_SECONDS: u64 = 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    id: Option<String>,
    tenant: Option<String>,
    team: Option<String>,
    role: Option<String>,
    label: Option<String>,
    models: Option<Vec<String>>,
    expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateKey {
    #[serde(default, deserialize_with = "patch")]
    team: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    label: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    models: Patch<Vec<String>>,
    #[serde(default, deserialize_with = "patch")]
    expires_at: Patch<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    grace_seconds: Option<u64>,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = crate::handlers::read_body(body, &headers, snapshot.max_body_bytes).await?;
        let (request, limits): (CreateKey, LimitsInput) = input::body_with_limits(&bytes)?;
        let tenant = tenant_of(&caller, request.tenant.as_deref(), "tenant")?;
        let role = match request.role.as_deref() {
            None => KeyRole::Api,
            Some(name) => KeyRole::parse(name).ok_or_else(|| {
                GatewayError::invalid(
                    format!("unknown role `{name}` (api, dashboard, owner or admin)"),
                    Some("role"),
                )
            })?,
        };
        if role == KeyRole::Admin && caller.role != KeyRole::Admin {
            return Err(GatewayError::Forbidden(
                "minting admin keys (only an admin key may)",
            ));
        }
        if let Some(team) = &request.team {
            input::check_id(team, "team")?;
        }
        input::check_label(request.label.as_deref(), "label")?;
        check_models(&snapshot, request.models.as_deref())?;
        let id = request.id.unwrap_or_default();
        if !id.is_empty() {
            input::check_id(&id, "id")?;
        }
        if snapshot.key_inputs.keys.iter().any(|k| k.id == id) {
            return Err(GatewayError::Conflict(format!(
                "A key with id `{id}` exists in the config file."
            )));
        }
        let now = now_ms();
        let expires_ms = request
            .expires_at
            .as_deref()
            .map(|t| input::time_ms(t, "expires_at"))
            .transpose()?;
        let template = KeyRecord {
            key_id: id,
            tenant_id: tenant.clone(),
            team_id: request.team,
            key_hash: String::new(),
            prefix: String::new(),
            role: role.name().to_owned(),
            label: request.label,
            models: request.models,
            limits: limits.apply(&Limits::default())?,
            expires_ms,
            created_ms: now,
            updated_ms: now,
            last_used_ms: None,
            revoked_ms: None,
            replaces: None,
        };
        let (plain, record) = key_records::mint_into(template, now).map_err(no_randomness)?;
        let id = record.key_id.clone();
        let detail = json!({ "role": record.role, "team": record.team_id, "limits": super::views::LimitsView::from(&record.limits) });
        let entry = audit(&caller, &tenant, "key.create", &id, detail);
        match state
            .control_store
            .create_key(&record, &entry)
            .await
            .map_err(store_error)?
        {
            Some(_) => {}
            None => {
                return Err(GatewayError::Conflict(format!(
                    "A key with id `{id}` exists already."
                )))
            }
        }
        applied(&state).await;
        Ok(MintedView {
            key: plain,
            view: KeyView::of_record(&record),
        })
    };
    match result.await {
        Ok(minted) => (StatusCode::CREATED, Json(minted)).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        for name in query.keys() {
            if !["tenant", "team", "include_revoked"].contains(&name.as_str()) {
                return Err(GatewayError::InvalidParameter {
                    message: format!(
                        "Unknown query parameter `{name}` (tenant, team, include_revoked)."
                    ),
                    param: Some(name.clone()),
                    code: None,
                });
            }
        }
        let tenant = match (caller.role, query.get("tenant")) {
            (KeyRole::Admin, None) => None,
            (_, named) => Some(tenant_of(&caller, named.map(String::as_str), "tenant")?),
        };
        let include_revoked = match query.get("include_revoked").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(GatewayError::invalid(
                    "`include_revoked` must be true or false.",
                    Some("include_revoked"),
                ))
            }
        };
        let team = query.get("team");
        let stored = state
            .control_store
            .keys(tenant.as_deref())
            .await
            .map_err(store_error)?;
        let now = now_ms();
        // Each stored key's newest use this replica has seen, by id (one pass).
        let live = state.keys();
        let used: HashMap<&str, &crate::keys::KeyLife> =
            live.all().map(|key| (key.id.as_str(), &key.life)).collect();
        let mut views: Vec<KeyView> = snapshot
            .key_inputs
            .keys
            .iter()
            .filter(|k| tenant.as_ref().is_none_or(|t| *t == k.tenant))
            .filter(|k| team.is_none_or(|t| k.team.as_ref() == Some(t)))
            .map(KeyView::of_config)
            .collect();
        views.extend(
            stored
                .iter()
                .filter(|k| include_revoked || !k.is_dead(now))
                .filter(|k| team.is_none_or(|t| k.team_id.as_ref() == Some(t)))
                .map(|k| {
                    let mut view = KeyView::of_record(k);
                    // The newest use this replica has seen, ahead of the batch write.
                    if let Some(used) = used
                        .get(k.key_id.as_str())
                        .and_then(|life| life.used_since(k.last_used_ms.unwrap_or(0)))
                    {
                        view.last_used_at = super::views::time(used);
                    }
                    view
                }),
        );
        Ok(List::of(views))
    };
    match result.await {
        Ok(list) => Json(list).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        if let Some(config) = snapshot.key_inputs.keys.iter().find(|k| k.id == id) {
            if may_reach(&caller, &config.tenant) {
                return Ok::<_, GatewayError>(KeyView::of_config(config));
            }
        }
        let record = stored_key(&state, &caller, &id).await?;
        Ok(KeyView::of_record(&record))
    };
    match result.await {
        Ok(view) => Json(view).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        refuse_config_key(&snapshot, &caller, &id)?;
        let bytes = crate::handlers::read_body(body, &headers, snapshot.max_body_bytes).await?;
        let (change, limits): (UpdateKey, LimitsInput) = input::body_with_limits(&bytes)?;
        let mut record = stored_key(&state, &caller, &id).await?;
        if record.revoked_ms.is_some() {
            return Err(GatewayError::Conflict(format!("Key `{id}` is revoked.")));
        }
        if let Some(team) = change.team {
            if let Some(team) = &team {
                input::check_id(team, "team")?;
            }
            record.team_id = team;
        }
        if let Some(label) = change.label {
            input::check_label(label.as_deref(), "label")?;
            record.label = label;
        }
        if let Some(models) = change.models {
            check_models(&snapshot, models.as_deref())?;
            record.models = models;
        }
        if let Some(expires) = change.expires_at {
            record.expires_ms = expires
                .as_deref()
                .map(|t| input::time_ms(t, "expires_at"))
                .transpose()?;
        }
        record.limits = limits.apply(&record.limits)?;
        record.updated_ms = now_ms();
        let detail = json!({
            "team": record.team_id,
            "models": record.models,
            "expires_at": record.expires_ms.and_then(super::views::time),
            "limits": super::views::LimitsView::from(&record.limits),
        });
        let entry = audit(&caller, &record.tenant_id, "key.update", &id, detail);
        if state
            .control_store
            .update_key(&record, &entry)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(GatewayError::Conflict(format!(
                "Key `{id}` was revoked meanwhile."
            )));
        }
        applied(&state).await;
        Ok(KeyView::of_record(&record))
    };
    match result.await {
        Ok(view) => Json(view).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        refuse_config_key(&snapshot, &caller, &id)?;
        let bytes = crate::handlers::read_body(body, &headers, snapshot.max_body_bytes).await?;
        let request: Rotate = if bytes.iter().all(u8::is_ascii_whitespace) {
            Rotate::default()
        } else {
            input::body(&bytes)?
        };
        let grace = request.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace > MAX_GRACE_SECONDS {
            return Err(GatewayError::invalid(
                format!("`grace_seconds` must be at most {MAX_GRACE_SECONDS} (30 days)."),
                Some("grace_seconds"),
            ));
        }
        let old = stored_key(&state, &caller, &id).await?;
        let now = now_ms();
        if old.is_dead(now) {
            return Err(GatewayError::Conflict(format!(
                "Key `{id}` is revoked or expired; mint a new key instead."
            )));
        }
        let (plain, new) = key_records::rotation_of(&old, now).map_err(no_randomness)?;
        let grace_ms = i64::try_from(grace * 1000).unwrap_or(i64::MAX);
        let old_ends = now.saturating_add(grace_ms);
        let detail = json!({ "new_key": new.key_id, "grace_seconds": grace });
        let entry = audit(&caller, &old.tenant_id, "key.rotate", &id, detail);
        let rotated = state
            .control_store
            .rotate_key(&id, old_ends, &new, &entry)
            .await
            .map_err(store_error)?;
        if rotated.is_none() {
            return Err(GatewayError::Conflict(format!(
                "Key `{id}` changed meanwhile (revoked, or ending sooner); nothing was rotated."
            )));
        }
        applied(&state).await;
        Ok(RotatedView {
            key: plain,
            view: KeyView::of_record(&new),
            replaced: Replaced {
                id: old.key_id.clone(),
                expires_at: super::views::time(old_ends.min(old.expires_ms.unwrap_or(i64::MAX))),
            },
        })
    };
    match result.await {
        Ok(rotated) => (StatusCode::CREATED, Json(rotated)).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Caller,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        refuse_config_key(&snapshot, &caller, &id)?;
        let mut record = stored_key(&state, &caller, &id).await?;
        if record.revoked_ms.is_some() {
            return Ok::<_, GatewayError>(KeyView::of_record(&record));
        }
        let now = now_ms();
        let entry = audit(&caller, &record.tenant_id, "key.revoke", &id, json!({}));
        state
            .control_store
            .revoke_key(&id, now, &entry)
            .await
            .map_err(store_error)?;
        applied(&state).await;
        // Revoked now, or by a concurrent call a moment ago: the stored row says.
        record = state
            .control_store
            .key(&id)
            .await
            .map_err(store_error)?
            .unwrap_or(KeyRecord {
                revoked_ms: Some(now),
                ..record
            });
        Ok(KeyView::of_record(&record))
    };
    match result.await {
        Ok(view) => Json(view).into_response(),
        Err(error) => error.into_response(),
    }
}

/// A stored key the caller may reach, or a 404 (the same for another tenant's).
async fn stored_key(
    state: &AppState,
    caller: &Arc<crate::keys::ApiKey>,
    id: &str,
) -> Result<KeyRecord, GatewayError> {
    match state.control_store.key(id).await.map_err(store_error)? {
        Some(record) if may_reach(caller, &record.tenant_id) => Ok(record),
        _ => Err(GatewayError::NotFound(format!("No key with id `{id}`."))),
    }
}

fn refuse_config_key(
    snapshot: &Snapshot,
    caller: &crate::keys::ApiKey,
    id: &str,
) -> Result<(), GatewayError> {
    match snapshot.key_inputs.keys.iter().find(|k| k.id == id) {
        Some(k) if may_reach(caller, &k.tenant) => Err(GatewayError::Conflict(format!(
            "Key `{id}` is defined in the config file; change it there."
        ))),
        _ => Ok(()),
    }
}

/// Most models one key's allow list may name: the list is stored and copied
/// into every replica's key table, so it stays small.
const MAX_MODELS: usize = 256;

fn check_models(snapshot: &Snapshot, models: Option<&[String]>) -> Result<(), GatewayError> {
    let models = models.unwrap_or_default();
    if models.len() > MAX_MODELS {
        return Err(GatewayError::invalid(
            format!("`models` may name at most {MAX_MODELS} models"),
            Some("models"),
        ));
    }
    for name in models {
        if !knows_model(&snapshot.table, name) {
            return Err(GatewayError::invalid(
                format!("unknown model `{name}` in `models`"),
                Some("models"),
            ));
        }
    }
    Ok(())
}

/// The OS gave no randomness: nothing was minted; the caller may retry.
fn no_randomness(error: getrandom::Error) -> GatewayError {
    tracing::warn!(%error, "admin API: no OS randomness to mint a key");
    GatewayError::ControlStore { transient: true }
}
