//! `POST /api/v1/roi/promises`: parse, work the scenario with the worksheet
//! of `POST /api/v1/roi`, save it as the tenant's next version.

use std::sync::Arc;

use analytics::promises::month_of;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::views::PromiseView;
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::handlers::analytics_api::store_error;
use crate::handlers::roi::{self, Request};
use crate::keys::ApiKey;
use crate::roi_profile::{self, Signing};
use crate::state::{AppState, Snapshot};

pub async fn save(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        if key.role != KeyRole::Admin {
            return Err(GatewayError::Forbidden(
                "recording an ROI promise (admin keys only: sales records it)",
            ));
        }
        let body = crate::handlers::read_body(body, &headers, snapshot.max_body_bytes).await?;
        let given = roi::json_object(&body)?;
        let (signing, worksheet) = signing(&given, &key)?;
        let Request::Scenario(scenario, mode) = roi::parse_object(&worksheet, &key)? else {
            return Err(mode_error());
        };
        let (figures, report) = roi::work(&scenario, mode, &key, &snapshot)?;
        let promise = roi_profile::record(&state.store, signing, scenario.seats, &figures)
            .await
            .map_err(store_error)?;
        let mut answer = serde_json::to_value(PromiseView::of(&promise))
            .map_err(|e| GatewayError::InvalidJson(e.to_string()))?;
        if let (Value::Object(answer), Ok(report)) = (&mut answer, serde_json::to_value(report)) {
            answer.insert("scenario".to_owned(), report);
        }
        Ok(answer)
    };
    match result.await {
        Ok(answer) => (StatusCode::CREATED, Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Takes `tenant` and `start_month` out of the body; the rest is the
/// worksheet (scenario mode, the default here).
fn signing(
    given: &Map<String, Value>,
    key: &ApiKey,
) -> Result<(Signing, Map<String, Value>), GatewayError> {
    let mut worksheet = given.clone();
    let tenant = match worksheet.remove("tenant") {
        Some(Value::String(tenant)) if crate::key_records::valid_id(&tenant) => tenant,
        None | Some(Value::Null) => {
            return Err(GatewayError::invalid(
                "Missing required parameter: 'tenant'.",
                Some("tenant"),
            ))
        }
        Some(_) => {
            return Err(GatewayError::invalid(
                "`tenant` must be a tenant id: letters, digits, '.', '_' or '-'.",
                Some("tenant"),
            ))
        }
    };
    let start_month = match worksheet.remove("start_month") {
        None | Some(Value::Null) => month_of(chrono::Utc::now().date_naive()),
        Some(Value::String(text)) => month(&text)?,
        Some(_) => return Err(month_error()),
    };
    match worksheet.get("mode") {
        None => {
            worksheet.insert("mode".to_owned(), Value::from("scenario"));
        }
        Some(Value::String(mode)) if mode == "scenario" => {}
        Some(_) => return Err(mode_error()),
    }
    let signing = Signing {
        tenant,
        start_month,
        created_by: key.id.clone(),
        inputs: Value::Object(given.clone()).to_string(),
    };
    Ok((signing, worksheet))
}

/// `YYYY-MM` as the 1st of that month.
fn month(text: &str) -> Result<NaiveDate, GatewayError> {
    let parsed = (text.len() == 7)
        .then(|| NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok())
        .flatten();
    parsed.ok_or_else(month_error)
}

fn month_error() -> GatewayError {
    GatewayError::invalid(
        "`start_month` must be a month as YYYY-MM.",
        Some("start_month"),
    )
}

fn mode_error() -> GatewayError {
    GatewayError::invalid(
        "A promise is a scenario: `mode` must be \"scenario\" (or left out).",
        Some("mode"),
    )
}
