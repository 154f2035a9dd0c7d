//! `POST /api/v1/roi`: the sales worksheet (scenario mode) and a tenant's
//! measured ROI from its own recorded traffic. This file reads and checks the
//! JSON body, naming the field at fault in every 400; the figures come from
//! [`crate::roi_profile`].
//!
//! ```json
//! {"mode": "scenario", "seats": 50, "price_per_seat": "49",
//!  "current_monthly_cost": "6600", "optimized_monthly_cost": "3135"}
//! {"mode": "scenario", "seats": 50, "price_per_seat": "49", "policy": "equivalent",
//!  "requests_per_seat_per_day": 40, "prompt_tokens": 1500, "completion_tokens": 400,
//!  "models": [{"model": "gpt-4o", "share": "0.7"}, {"model": "claude-sonnet-4-5", "share": "0.3"}]}
//! {"mode": "measured", "seats": 50, "price_per_seat": "49", "days": 30}
//! ```
//! Amounts are decimal USD, as strings (exact) or JSON numbers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use pricing::roi::{Roi, Share};
use pricing::{Capabilities, Cost};
use serde_json::{Map, Value};

use crate::clock;
use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::roi_profile::{
    self, InputError, MeasureError, Measurement, ModelShare, Profile, Scenario, Spend,
};
use crate::routing::{Mode, Policy};
use crate::state::{AppState, Snapshot};

/// Routes relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/roi", post(roi))
}

async fn roi(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let body = super::read_body(body, &headers, snapshot.max_body_bytes).await?;
        match parse(&body, &key)? {
            Request::Scenario(scenario, mode) => {
                work(&scenario, mode, &key, &snapshot).map(|(_, report)| report)
            }
            Request::Measured(measurement) => roi_profile::measure(&state.store, &measurement)
                .await
                .map_err(|error| match error {
                    MeasureError::Input(error) => error.into(),
                    MeasureError::Store(error) => {
                        tracing::warn!(%error, "measured ROI: store query failed");
                        GatewayError::AnalyticsStore {
                            transient: error.is_transient(),
                        }
                    }
                }),
        }
    };
    match result.await {
        Ok(report) => Json(report).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Works a scenario as `key` would see it: a profile is routed under the
/// mode asked for, else the key's own, over today's routing table and prices.
pub(crate) fn work(
    scenario: &Scenario,
    mode: Option<Mode>,
    key: &ApiKey,
    snapshot: &Snapshot,
) -> Result<(Roi, roi_profile::Report), GatewayError> {
    let policy = Policy {
        mode: roi_profile::scenario_mode(mode, key.policy.mode),
        ..key.policy.clone()
    };
    Ok(roi_profile::scenario_worked(
        scenario,
        &snapshot.table,
        &policy,
        clock::today(),
    )?)
}

impl From<InputError> for GatewayError {
    fn from(error: InputError) -> GatewayError {
        GatewayError::invalid(error.message, Some(error.param))
    }
}

pub(crate) enum Request {
    Scenario(Scenario, Option<Mode>),
    Measured(Measurement),
}

const SCENARIO_FIELDS: &[&str] = &[
    "mode",
    "seats",
    "price_per_seat",
    "current_monthly_cost",
    "optimized_monthly_cost",
    "policy",
    "requests_per_seat_per_day",
    "working_days_per_month",
    "prompt_tokens",
    "completion_tokens",
    "capabilities",
    "models",
];
/// Fields of a traffic profile, meaningless beside given monthly costs.
const PROFILE_FIELDS: &[&str] = &[
    "policy",
    "requests_per_seat_per_day",
    "working_days_per_month",
    "prompt_tokens",
    "completion_tokens",
    "capabilities",
];
const MEASURED_FIELDS: &[&str] = &["mode", "seats", "price_per_seat", "days", "tenant"];

fn parse(body: &[u8], key: &ApiKey) -> Result<Request, GatewayError> {
    parse_object(&json_object(body)?, key)
}

/// The body as a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| GatewayError::InvalidJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(GatewayError::invalid(
            "The request body must be a JSON object.",
            None,
        ));
    };
    Ok(object)
}

/// A worksheet body, checked (every 400 names its field).
pub(crate) fn parse_object(
    object: &Map<String, Value>,
    key: &ApiKey,
) -> Result<Request, GatewayError> {
    let fields = Fields(object);
    let mode = fields.string("mode")?.ok_or_else(|| missing("mode"))?;
    let known = match mode {
        "scenario" => SCENARIO_FIELDS,
        "measured" => MEASURED_FIELDS,
        _ => {
            return Err(GatewayError::invalid(
                "`mode` must be \"scenario\" or \"measured\".",
                Some("mode"),
            ))
        }
    };
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(GatewayError::invalid(
            format!(
                "Unrecognized request argument supplied for {mode} mode: {}",
                super::echo(unknown)
            ),
            None,
        ));
    }
    let seats = fields.count("seats")?.ok_or_else(|| missing("seats"))?;
    let price_per_seat = fields
        .money("price_per_seat")?
        .ok_or_else(|| missing("price_per_seat"))?;
    if mode == "measured" {
        let tenant = tenant(&fields, key)?;
        // A key that reads its team's or its own analytics measures no more.
        let filter = super::analytics_api::Scope::of(key, &tenant).filter();
        return Ok(Request::Measured(Measurement {
            tenant,
            filter,
            seats,
            price_per_seat,
            days: fields
                .count("days")?
                .map_or(roi_profile::DEFAULT_MEASURED_DAYS, |days| {
                    u32::try_from(days).unwrap_or(u32::MAX)
                }),
        }));
    }
    let current = fields.money("current_monthly_cost")?;
    let optimized = fields.money("optimized_monthly_cost")?;
    let spend = match (current, optimized, object.contains_key("models")) {
        (Some(current), Some(optimized), false) => Spend::Given { current, optimized },
        (None, None, true) => Spend::Profile(profile(&fields)?),
        (Some(_), None, false) => return Err(missing("optimized_monthly_cost")),
        (None, Some(_), false) => return Err(missing("current_monthly_cost")),
        (None, None, false) => return Err(GatewayError::invalid(
            "Give either `current_monthly_cost` and `optimized_monthly_cost`, or a traffic profile with `models`.",
            Some("models"),
        )),
        (_, _, true) => return Err(GatewayError::invalid(
            "Give either `current_monthly_cost` and `optimized_monthly_cost`, or a traffic profile with `models`, not both.",
            Some("models"),
        )),
    };
    let policy = match fields.string("policy")? {
        None => None,
        Some("strict") => Some(Mode::Strict),
        Some("equivalent") => Some(Mode::Equivalent),
        Some(_) => {
            return Err(GatewayError::invalid(
                "`policy` must be \"strict\" or \"equivalent\".",
                Some("policy"),
            ))
        }
    };
    if let Spend::Given { .. } = spend {
        if let Some(field) = PROFILE_FIELDS.iter().find(|f| fields.get(f).is_some()) {
            return Err(GatewayError::invalid(
                format!("`{field}` describes a traffic profile (`models`); it does not apply to given monthly costs."),
                Some(field),
            ));
        }
    }
    Ok(Request::Scenario(
        Scenario {
            seats,
            price_per_seat,
            spend,
        },
        policy,
    ))
}

/// The tenant measured: the key's own; an admin key may name another.
fn tenant(fields: &Fields<'_>, key: &ApiKey) -> Result<String, GatewayError> {
    match fields.string("tenant")? {
        None => Ok(key.tenant.clone()),
        Some(tenant) if tenant == key.tenant => Ok(key.tenant.clone()),
        Some(tenant) if key.role == KeyRole::Admin && !tenant.is_empty() => Ok(tenant.to_owned()),
        Some(_) if key.role == KeyRole::Admin => Err(GatewayError::invalid(
            "`tenant` must not be empty.",
            Some("tenant"),
        )),
        Some(_) => Err(GatewayError::Forbidden("another tenant's figures")),
    }
}

fn profile(fields: &Fields<'_>) -> Result<Profile, GatewayError> {
    let required = |name: &'static str| fields.count(name)?.ok_or_else(|| missing(name));
    let working_days = fields
        .count("working_days_per_month")?
        .unwrap_or(u64::from(roi_profile::DEFAULT_WORKING_DAYS));
    Ok(Profile {
        requests_per_seat_per_day: required("requests_per_seat_per_day")?,
        working_days_per_month: u32::try_from(working_days).unwrap_or(u32::MAX),
        prompt_tokens: required("prompt_tokens")?,
        completion_tokens: required("completion_tokens")?,
        capabilities: capabilities(fields.0.get("capabilities"))?,
        models: models(fields.0.get("models"))?,
    })
}

fn capabilities(value: Option<&Value>) -> Result<Capabilities, GatewayError> {
    let bad = || {
        let names: Vec<&str> = Capabilities::NAMES.iter().map(|(n, _)| *n).collect();
        GatewayError::invalid(
            format!("`capabilities` must be an array of: {}.", names.join(", ")),
            Some("capabilities"),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Capabilities::empty()),
        Some(Value::Array(items)) => items.iter().try_fold(Capabilities::empty(), |all, item| {
            item.as_str()
                .and_then(Capabilities::from_name)
                .filter(|c| *c != Capabilities::EMBEDDINGS)
                .map(|c| all.union(c))
                .ok_or_else(bad)
        }),
        Some(_) => Err(bad()),
    }
}

/// `["gpt-4o"]` (one model, all traffic) or `[{"model": .., "share": ..}, ..]`.
fn models(value: Option<&Value>) -> Result<Vec<ModelShare>, GatewayError> {
    let bad = |message: &str| GatewayError::invalid(message.to_owned(), Some("models"));
    let Some(Value::Array(items)) = value else {
        return Err(bad(
            "`models` must be an array of model names or of {\"model\", \"share\"} objects.",
        ));
    };
    let only = items.len() == 1;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (model, share) = match item {
                Value::String(model) => (Some(model.as_str()), None),
                Value::Object(object) => {
                    if let Some(other) = object.keys().find(|k| *k != "model" && *k != "share") {
                        return Err(bad(&format!(
                            "`models[{i}]` has an unrecognized field: {}",
                            super::echo(other)
                        )));
                    }
                    (
                        object.get("model").and_then(Value::as_str),
                        object.get("share"),
                    )
                }
                _ => (None, None),
            };
            let model = model
                .filter(|m| !m.is_empty())
                .ok_or_else(|| bad(&format!("`models[{i}].model` must be a model name.")))?;
            let share = match share {
                None if only => Share::WHOLE,
                None => {
                    return Err(bad(&format!(
                        "`models[{i}].share` is missing: with several models, each needs its share of the requests."
                    )))
                }
                Some(share) => decimal_text(share)
                    .as_deref()
                    .and_then(Share::parse)
                    .ok_or_else(|| {
                        bad(&format!(
                            "`models[{i}].share` must be a decimal from 0 to 1 (at most 6 places)."
                        ))
                    })?,
            };
            Ok(ModelShare {
                model: model.to_owned(),
                share,
            })
        })
        .collect()
}

fn missing(field: &'static str) -> GatewayError {
    GatewayError::invalid(
        format!("Missing required parameter: '{field}'."),
        Some(field),
    )
}

/// A JSON number or string as decimal text (`49`, `"49.00"`, `1e3`).
fn decimal_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Typed reads of the body's fields; a wrong type is a 400 naming the field.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &'static str) -> Result<Option<&str>, GatewayError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(GatewayError::invalid(
                format!("`{field}` must be a string."),
                Some(field),
            )),
        }
    }

    /// A whole number (seats, tokens, days): negative and fractional values are
    /// refused here; ranges are checked with the figures.
    fn count(&self, field: &'static str) -> Result<Option<u64>, GatewayError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                GatewayError::invalid(
                    format!("`{field}` must be a whole number, not negative; got {value}."),
                    Some(field),
                )
            }),
        }
    }

    /// Decimal USD, exact to 1e-12; negative amounts are refused with the figures.
    fn money(&self, field: &'static str) -> Result<Option<Cost>, GatewayError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let bad = || {
            GatewayError::invalid(
                format!("`{field}` must be an amount in USD, such as \"49\" or \"6600.50\"."),
                Some(field),
            )
        };
        let text = decimal_text(value).ok_or_else(bad)?;
        let amount = Cost::parse_usd(&text).map_err(|_| bad())?;
        pricing::roi::check_amount(field, amount)
            .map(Some)
            .map_err(|e| InputError::from(e).into())
    }
}
