//! `GET /api/v1/admin/operator/tenants`: every tenant on one list, for the
//! people who run the gateway (admin keys only; a tenant owner's key gets a
//! 403): spend, savings, requests, keys, teams, adoption, error rate, a health
//! score and flags, over the last 7 or 30 days, each figure with its trend.
//! What the figures mean and how the score is computed: the module doc of
//! [`analytics::operator::health`] (also in the OpenAPI document, `operator_doc`).
//! Routed under the admin API (its auth: admin and owner keys come in; this
//! handler turns owners away).
//!
//! Query: `days` 7 or 30 (default 30); `sort` a column (default `spend_usd`)
//! and `order` `asc` or `desc` (default: `desc`, `asc` for `tenant` and
//! `name`), tenants without a value last either way; `q` keeps tenants whose
//! id or name holds it (any case); `flag` keeps tenants with that flag
//! (`churn_risk` or `expansion`); `format` `json` (default) or `csv`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use analytics::operator::rows::{self, OperatorRow};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

use self::view::{RowView, CHURN_RISK, EXPANSION};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::handlers::analytics_api::csv::{self, Table};
use crate::handlers::analytics_api::Scope;
use crate::handlers::operator_doc::SORTS;
use crate::keys::ApiKey;
use crate::operator::directory;
use crate::state::{now_ms, AppState};

mod view;

/// Routes of the operator view, relative to `/api/v1/admin/operator`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/tenants", get(tenants))
}

/// `GET /api/v1/operator/access` for any key (the reader routes): whether the
/// caller may open the operator view, and whether it reads its tenant's whole
/// figures (the ROI promise panel), so the dashboard shows what the key may
/// open without asking for it and being refused.
pub fn access_routes() -> Router<AppState> {
    Router::new().route("/operator/access", get(access))
}

async fn access(Extension(caller): Extension<Arc<ApiKey>>) -> Response {
    let tenant_figures = Scope::of(&caller, &caller.tenant) == Scope::Tenant;
    Json(json!({
        "operator": caller.role == KeyRole::Admin,
        "tenant_figures": tenant_figures,
    }))
    .into_response()
}

const PARAMS: &[&str] = &["days", "sort", "order", "q", "flag", "format"];

/// The checked query.
#[derive(Debug, PartialEq, Eq)]
struct Params {
    days: u32,
    sort: &'static str,
    descending: bool,
    q: Option<String>,
    flag: Option<&'static str>,
    csv: bool,
}

fn invalid(message: String, param: &'static str) -> GatewayError {
    GatewayError::invalid(message, Some(param))
}

fn one_of(
    value: &str,
    allowed: &[&'static str],
    param: &'static str,
) -> Result<&'static str, GatewayError> {
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .ok_or_else(|| {
            invalid(
                format!("`{param}` must be one of {}.", allowed.join(", ")),
                param,
            )
        })
}

fn params(query: &HashMap<String, String>) -> Result<Params, GatewayError> {
    if let Some(name) = query.keys().find(|n| !PARAMS.contains(&n.as_str())) {
        return Err(GatewayError::InvalidParameter {
            message: format!("Unknown query parameter `{name}` ({}).", PARAMS.join(", ")),
            param: Some(name.clone()),
            code: None,
        });
    }
    let get = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let days = match get("days") {
        None => 30,
        Some("7") => 7,
        Some("30") => 30,
        Some(_) => return Err(invalid("`days` must be 7 or 30.".into(), "days")),
    };
    let sort = one_of(get("sort").unwrap_or("spend_usd"), SORTS, "sort")?;
    let descending = match get("order") {
        None => !matches!(sort, "tenant" | "name"),
        Some(order) => one_of(order, &["asc", "desc"], "order")? == "desc",
    };
    let q = get("q").map(str::to_lowercase);
    if q.as_ref().is_some_and(|q| q.len() > 256) {
        return Err(invalid("`q` is longer than 256 bytes.".into(), "q"));
    }
    let flag = get("flag")
        .map(|f| one_of(f, &[CHURN_RISK, EXPANSION], "flag"))
        .transpose()?;
    let csv = one_of(get("format").unwrap_or("json"), &["json", "csv"], "format")? == "csv";
    Ok(Params {
        days,
        sort,
        descending,
        q,
        flag,
        csv,
    })
}

/// A sortable value of a column; `None` (no value) sorts last.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Number(i128),
    Text(&'a str),
}

fn key<'a>(row: &'a OperatorRow, column: &str) -> Option<Key<'a>> {
    let p = &row.current;
    let n = |v: i64| Some(Key::Number(v.into()));
    match column {
        "tenant" => Some(Key::Text(&row.tenant_id)),
        "name" => row.name.as_deref().map(Key::Text),
        "spend_usd" => Some(Key::Number(p.spend.0)),
        "baseline_usd" => Some(Key::Number(p.baseline.0)),
        "savings_usd" => Some(Key::Number(p.savings.0)),
        "savings_pct" => p.savings_bp.and_then(n),
        "requests" => n(p.requests),
        "errors" => n(p.errors),
        "unpriced_requests" => n(p.unpriced),
        "error_rate_pct" => p.error_rate_bp.and_then(n),
        "active_keys" => n(p.active_keys),
        "keys" => n(row.keys),
        "keys_used_7d" => n(row.keys_used_7d),
        "adoption_pct" => row.adoption_bp.and_then(n),
        "teams" => n(p.teams),
        _ => n(row.health_score),
    }
}

/// Keeps the rows `params` asks for, in its order (ties by tenant id).
fn select(mut rows: Vec<OperatorRow>, params: &Params) -> Vec<OperatorRow> {
    rows.retain(|row| {
        let matches = |text: &str| {
            params
                .q
                .as_ref()
                .is_none_or(|q| text.to_lowercase().contains(q))
        };
        let found = matches(&row.tenant_id) || row.name.as_deref().is_some_and(matches);
        let flagged = params
            .flag
            .is_none_or(|flag| view::flags(row).contains(&flag));
        found && flagged
    });
    rows.sort_by(|a, b| {
        let order = match (key(a, params.sort), key(b, params.sort)) {
            (Some(x), Some(y)) if params.descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        order.then_with(|| a.tenant_id.cmp(&b.tenant_id))
    });
    rows
}

pub async fn tenants(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<ApiKey>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        if caller.role != KeyRole::Admin {
            return Err(GatewayError::Forbidden(
                "the operator view (only an admin key may see every tenant)",
            ));
        }
        let params = params(&query)?;
        let today = chrono::Utc::now().date_naive();
        let data = state
            .operator
            .data(&state.store, today)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "operator view: store read failed");
                GatewayError::AnalyticsStore {
                    transient: error.is_transient(),
                }
            })?;
        let entries = directory(
            &state.keys(),
            &state.snapshot().key_inputs,
            &state.control(),
            now_ms(),
        );
        let all = rows::rows(&data.usage, &entries, &data.promises, today, params.days)
            .ok_or_else(|| invalid("`days` must be 7 or 30.".into(), "days"))?;
        let rows = select(all, &params);
        Ok((params, today, rows))
    };
    match result.await {
        Err(error) => error.into_response(),
        Ok((params, today, rows)) if params.csv => {
            let table = Table {
                columns: view::record(&OperatorRow::default()).names(),
                rows: rows.iter().map(view::record).collect(),
            };
            csv::response(
                &format!("operator-tenants-{}d-{today}", params.days),
                &table,
            )
        }
        Ok((params, today, rows)) => Json(json!({
            "object": "list",
            "as_of": today.to_string(),
            "days": params.days,
            "sort": params.sort,
            "order": if params.descending { "desc" } else { "asc" },
            "data": rows.iter().map(RowView::of).collect::<Vec<_>>(),
        }))
        .into_response(),
    }
}
