//! The admin API under `/api/v1/admin/`: tenants, teams and client keys,
//! managed live in the store (see `control_sync` for how every replica learns
//! of a change). Handlers only shape HTTP: they check the caller's reach, read
//! and check the body, call the store, and answer; each change is audited by
//! the store in the same transaction.
//!
//! Who may: `admin` keys, for any tenant (`tenant` names it); `owner` keys, for
//! their own tenant only (another tenant is a 403). Other roles get a 403 from
//! the auth middleware (`admin_access`). Config-file keys, teams and tenants are listed read-only.
//!
//! - `input`: request bodies (unknown fields refused, 400s naming the field)
//!   and the settings they carry; `views`: the JSON answers.
//! - `keys`, `tenants` (tenants and teams), `audit`, `shares` (read-only
//!   share links): one resource each;
//!   `openapi`: their part of `/api/v1/openapi.json`.

mod audit;
pub(crate) mod input;
mod keys;
pub mod openapi;
mod openapi_shares;
mod shares;
mod tenants;
pub(crate) mod views;

use std::sync::Arc;

use analytics::control::AuditEntry;
use analytics::store::StoreError;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::{now_ms, AppState};

/// Routes of the admin API, relative to `/api/v1/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/keys", post(keys::create).get(keys::list))
        .route("/keys/{id}", get(keys::get).patch(keys::update))
        .route("/keys/{id}/rotate", post(keys::rotate))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route(
            "/tenants",
            post(tenants::create_tenant).get(tenants::list_tenants),
        )
        .route(
            "/tenants/{id}",
            get(tenants::get_tenant).patch(tenants::update_tenant),
        )
        .route(
            "/teams",
            post(tenants::create_team).get(tenants::list_teams),
        )
        .route(
            "/teams/{tenant}/{id}",
            get(tenants::get_team).patch(tenants::update_team),
        )
        .route("/audit", get(audit::list))
        .route("/shares", post(shares::create).get(shares::list))
        .route("/shares/{id}", delete(shares::revoke))
}

/// The tenant a call acts on: an owner's own; for an admin, the one it names
/// (`field` says where, for the 400).
fn tenant_of(
    caller: &ApiKey,
    named: Option<&str>,
    field: &'static str,
) -> Result<String, GatewayError> {
    match (caller.role, named) {
        (KeyRole::Owner, None) => Ok(caller.tenant.clone()),
        (KeyRole::Owner, Some(tenant)) if tenant == caller.tenant => Ok(caller.tenant.clone()),
        (KeyRole::Owner, Some(_)) => Err(GatewayError::Forbidden(
            "another tenant (a tenant owner's key manages its own tenant only)",
        )),
        (_, Some(tenant)) => {
            input::check_id(tenant, field)?;
            Ok(tenant.to_owned())
        }
        (_, None) => Err(GatewayError::invalid(
            format!("`{field}` is required with an admin key (which tenant?)"),
            Some(field),
        )),
    }
}

/// Whether `caller` may see or change `tenant`'s records; a record of another
/// tenant is answered as missing, so an owner learns nothing of it.
fn may_reach(caller: &ApiKey, tenant: &str) -> bool {
    caller.role == KeyRole::Admin || caller.tenant == tenant
}

/// The audit entry of a change by `caller`: its key id, never the key.
fn audit(
    caller: &ApiKey,
    tenant: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        tenant_id: tenant.to_owned(),
        actor: caller.id.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: Some(detail.to_string()),
    }
}

/// A failed store call: logged here, answered without its details.
fn store_error(error: StoreError) -> GatewayError {
    tracing::warn!(%error, "admin API: store call failed");
    GatewayError::ControlStore {
        transient: error.is_transient(),
    }
}

/// After a change: this replica's key table takes it before the answer goes
/// out (the others take it from the notification or their next check).
async fn applied(state: &AppState) {
    if let Err(error) = crate::control_sync::refresh(state).await {
        tracing::warn!(%error, "admin API: the change is stored; this replica's key table will take it at the next check");
    }
}

/// The caller, as the auth middleware put it on the request.
type Caller = axum::Extension<Arc<ApiKey>>;
