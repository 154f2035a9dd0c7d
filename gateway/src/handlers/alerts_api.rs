//! The alerts API under `/api/v1/admin/alerts/` (admin keys only): the
//! configured rules and channels (never a secret: a channel shows its kind and
//! host, not its URL), the recorded firings and delivery attempts, and
//! `POST /channels/{name}/test`, which sends a test alert now and answers how
//! each attempt went.

use std::collections::HashMap;
use std::sync::Arc;

use analytics::store::alerts::{Delivery, Firing, FiringFilter};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::config::alerts::{ChannelTarget, RuleKind};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

/// Routes relative to `/api/v1/admin/alerts`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rules", get(rules))
        .route("/channels", get(channels))
        .route("/channels/{name}/test", post(test))
        .route("/firings", get(firings))
        .route("/deliveries", get(deliveries))
}

fn admin_only(key: &ApiKey) -> Result<(), GatewayError> {
    match key.role {
        KeyRole::Admin => Ok(()),
        _ => Err(GatewayError::Forbidden("the alerts API (admin keys only)")),
    }
}

fn answer(result: Result<Value, GatewayError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

fn bad(param: &'static str, message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param: Some(param),
    }
}

/// `limit` (1 to 1,000, default 100) and the listed text filters; anything
/// else is refused naming it.
fn query_params(
    query: &HashMap<String, String>,
    allowed: &[&'static str],
) -> Result<(u32, HashMap<&'static str, String>), GatewayError> {
    let mut limit = DEFAULT_LIMIT;
    let mut filters = HashMap::new();
    for (name, value) in query {
        if name == "limit" {
            limit = value
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", format!("limit must be 1 to {MAX_LIMIT}")))?;
        } else if let Some(known) = allowed.iter().find(|a| **a == name.as_str()) {
            filters.insert(*known, value.clone());
        } else {
            return Err(GatewayError::InvalidParameter {
                message: format!("Unknown query parameter `{name}`."),
                param: Some(name.clone()),
                code: None,
            });
        }
    }
    Ok((limit, filters))
}

async fn rules(State(state): State<AppState>, Extension(key): Extension<Arc<ApiKey>>) -> Response {
    answer(admin_only(&key).map(|()| {
        let config = state.alerts.config();
        let data: Vec<Value> = config
            .rules
            .iter()
            .map(|rule| {
                let channels: Vec<&str> = rule
                    .channels
                    .iter()
                    .filter_map(|&i| config.channels.get(i).map(|c| c.name.as_str()))
                    .collect();
                json!({
                    "name": rule.name,
                    "kind": rule.kind.as_str(),
                    "channels": channels,
                    "tenants": rule.tenants,
                    "settings": rule_settings(&rule.kind),
                })
            })
            .collect();
        json!({ "data": data, "interval_ms": u64::try_from(config.interval.as_millis()).unwrap_or(u64::MAX) })
    }))
}

async fn channels(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
) -> Response {
    answer(admin_only(&key).map(|()| {
        let data: Vec<Value> = state
            .alerts
            .config()
            .channels
            .iter()
            .map(|channel| {
                let target = match &channel.target {
                    ChannelTarget::Webhook { url, .. } | ChannelTarget::Slack { url } => {
                        json!({ "host": host_of(url.expose()) })
                    }
                    ChannelTarget::Email(email) => json!({
                        "smtp_host": email.host,
                        "smtp_port": email.port,
                        "from": email.from,
                        "to": email.to,
                    }),
                };
                json!({ "name": channel.name, "kind": channel.target.kind(), "target": target })
            })
            .collect();
        json!({ "data": data })
    }))
}

/// The host of a URL, the only part of it that is shown (the rest can be a
/// secret, as Slack's is).
fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
}

async fn test(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Path(name): Path<String>,
) -> Response {
    if let Err(error) = admin_only(&key) {
        return error.into_response();
    }
    match state.alerts.test(&name).await {
        Some(report) => Json(report).into_response(),
        None => GatewayError::InvalidParameter {
            message: format!("No alert channel is named `{name}`."),
            param: Some("name".to_owned()),
            code: Some("unknown_channel"),
        }
        .into_response(),
    }
}

fn store_error(error: analytics::store::StoreError) -> GatewayError {
    tracing::warn!(%error, "alerts query failed");
    GatewayError::AnalyticsStore {
        transient: error.is_transient(),
    }
}

async fn firings(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        admin_only(&key)?;
        let (limit, mut filters) = query_params(&query, &["rule", "tenant", "state"])?;
        let open_only = match filters.remove("state").as_deref() {
            None | Some("all") => false,
            Some("open") => true,
            Some(_) => return Err(bad("state", "state must be `open` or `all`".to_owned())),
        };
        let filter = FiringFilter {
            rule: filters.remove("rule"),
            tenant: filters.remove("tenant"),
            open_only,
            limit,
        };
        let rows = state
            .store
            .alert_firings(&filter)
            .await
            .map_err(store_error)?;
        Ok(json!({ "data": rows.iter().map(firing_json).collect::<Vec<_>>() }))
    };
    answer(result.await)
}

async fn deliveries(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        admin_only(&key)?;
        let (limit, filters) = query_params(&query, &["firing", "channel"])?;
        let rows = state
            .store
            .alert_deliveries(
                filters.get("firing").map(String::as_str),
                filters.get("channel").map(String::as_str),
                limit,
            )
            .await
            .map_err(store_error)?;
        Ok(json!({ "data": rows.iter().map(delivery_json).collect::<Vec<_>>() }))
    };
    answer(result.await)
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn firing_json(firing: &Firing) -> Value {
    json!({
        "id": firing.id,
        "rule": firing.rule,
        "kind": firing.kind,
        "subject": firing.subject,
        "tenant": firing.tenant,
        "summary": firing.summary,
        "state": if firing.resolved_at.is_some() { "resolved" } else { "open" },
        "started_at": time(firing.started_at),
        "resolved_at": firing.resolved_at.map(time),
    })
}

fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "firing_id": delivery.firing_id,
        "tenant": delivery.tenant,
        "channel": delivery.channel,
        "notice": delivery.notice.as_str(),
        "attempt": delivery.attempt,
        "at": time(delivery.at),
        "outcome": delivery.outcome.as_str(),
        "http_status": delivery.http_status,
        "error": delivery.error,
    })
}

/// A rule's settings as JSON.
fn rule_settings(kind: &RuleKind) -> Value {
    match kind {
        RuleKind::Budget {
            thresholds,
            periods,
        } => json!({
            "thresholds": thresholds,
            "periods": periods.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        }),
        RuleKind::SpendSpike {
            factor_percent,
            weeks,
            min,
        } => json!({
            "factor": format!("{}.{:02}", factor_percent / 100, factor_percent % 100),
            "weeks": weeks,
            "min_usd": min.usd(),
        }),
        RuleKind::ProviderCircuit {
            open_for,
            providers,
        } => json!({
            "open_for_ms": u64::try_from(open_for.as_millis()).unwrap_or(u64::MAX),
            "providers": providers,
        }),
        RuleKind::EventDrops => json!({}),
    }
}
