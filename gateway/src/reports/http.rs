//! The reports API. Handlers only shape HTTP: check the caller's reach and the
//! input (400s name `period`, `tenant`, `kind` or `channels`), call one
//! domain function, answer.
//!
//! - `GET /api/v1/reports/{period}` (`2026-11` or `2026-W48`): the report as
//!   JSON (`format=csv`: the e-mail's CSV); `{period}.pdf`: the PDF. Scoped
//!   like the analytics API: a key reads its own tenant (an API key its
//!   team's or its own rows, as there); admin keys may pass `tenant`. A
//!   period that has not begun is a 400; the current one reads to date.
//! - `POST /api/v1/admin/reports/send` (admin keys, or an owner for its own
//!   tenant): "send now" to the tenant's scheduled channels of that kind, or
//!   to `channels`; always sent, recorded as a manual run.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::build::build;
use super::message::{csv, csv_name};
use super::period::{Kind, Period};
use super::view::view;
use super::{json, pdf, Reports};
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::handlers::analytics_api::params::{Format, Params};
use crate::keys::ApiKey;
use crate::state::AppState;

/// Routes relative to `/api/v1/reports` (read with the caller's key).
pub fn routes() -> Router<AppState> {
    Router::new().route("/{period}", get(report))
}

/// Routes relative to `/api/v1/admin/reports`.
pub fn admin_routes() -> Router<AppState> {
    Router::new().route("/send", post(send))
}

fn bad_period(text: &str) -> GatewayError {
    GatewayError::invalid(
        format!(
            "`period` must be a month as YYYY-MM (2026-11) or an ISO week as YYYY-Www (2026-W48), not `{}`.",
            text.chars().take(40).collect::<String>()
        ),
        Some("period"),
    )
}

/// `text` as a period that has begun by `today`.
fn period(text: &str, today: chrono::NaiveDate) -> Result<Period, GatewayError> {
    let period = Period::parse(text).ok_or_else(|| bad_period(text))?;
    if period.start > today {
        return Err(GatewayError::invalid(
            format!(
                "The period {} has not begun (today is {today}, UTC).",
                period.name()
            ),
            Some("period"),
        ));
    }
    Ok(period)
}

async fn report(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let (name, as_pdf) = match name.strip_suffix(".pdf") {
        Some(stem) => (stem, true),
        None => (name.as_str(), false),
    };
    let params = Params::parse(&uri, &headers, &key, &[])?;
    let today = chrono::Utc::now().date_naive();
    let period = period(name, today)?;
    let report = build(
        &state.store,
        &params.tenant,
        period,
        &params.filter(),
        today,
    )
    .await
    .map_err(|error| {
        tracing::warn!(%error, "report query failed");
        GatewayError::AnalyticsStore {
            transient: error.is_transient(),
        }
    })?;
    if as_pdf {
        let file = format!("report-{}-{}.pdf", report.tenant, period.name());
        return Ok(attachment(
            pdf::pdf(&view(&report)),
            "application/pdf",
            &file,
        ));
    }
    Ok(match params.format {
        Format::Json => Json(json::json(&report)).into_response(),
        Format::Csv => attachment(
            csv(&report).into_bytes(),
            "text/csv; charset=utf-8",
            &csv_name(&report),
        ),
    })
}

fn attachment(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let mut response = Body::from(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let safe: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    /// Default: the key's tenant.
    tenant: Option<String>,
    period: String,
    /// `weekly` or `monthly`: must match the period when given.
    kind: Option<String>,
    /// Default: the tenant's schedule of that kind.
    channels: Option<Vec<String>>,
}

async fn send(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    body: axum::body::Bytes,
) -> Result<Response, GatewayError> {
    let input: SendBody = crate::handlers::admin::input::body(&body)?;
    let tenant = input.tenant.unwrap_or_else(|| key.tenant.clone());
    if key.role != KeyRole::Admin && tenant != key.tenant {
        return Err(GatewayError::Forbidden(
            "another tenant's reports (an owner key sends its own tenant's)",
        ));
    }
    if tenant.is_empty() {
        return Err(GatewayError::invalid(
            "`tenant` must not be empty.",
            Some("tenant"),
        ));
    }
    let period = period(&input.period, chrono::Utc::now().date_naive())?;
    if let Some(kind) = &input.kind {
        if Kind::parse(kind) != Some(period.kind) {
            return Err(GatewayError::invalid(
                format!(
                    "`kind` is `{}` for period {}, not `{}`.",
                    period.kind.as_str(),
                    period.name(),
                    kind.chars().take(40).collect::<String>()
                ),
                Some("kind"),
            ));
        }
    }
    let channels = match input.channels {
        Some(list) => list,
        None => state
            .reports
            .schedules
            .iter()
            .find(|s| s.tenant == tenant && s.kind == period.kind)
            .map(|s| s.channels.clone())
            .unwrap_or_default(),
    };
    if channels.is_empty() {
        return Err(GatewayError::invalid(
            "`channels` is required: the tenant has no schedule of this kind.",
            Some("channels"),
        ));
    }
    if let Some(unknown) = channels.iter().find(|c| state.alerts.channel(c).is_none()) {
        return Err(GatewayError::invalid(
            format!(
                "unknown channel `{}` (channels are [[alerts.channels]]).",
                unknown.chars().take(64).collect::<String>()
            ),
            Some("channels"),
        ));
    }
    let mut unique = channels.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != channels.len() {
        return Err(GatewayError::invalid(
            "a channel is listed twice.",
            Some("channels"),
        ));
    }
    let reports = Reports::new(Vec::new(), state.alerts.clone(), state.store.clone());
    let sent = reports
        .send_now(&tenant, period, channels)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "report run not made");
            GatewayError::AnalyticsStore {
                transient: error.is_transient(),
            }
        })?;
    Ok(Json(sent).into_response())
}
