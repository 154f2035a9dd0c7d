//! The ROI promises' part of the OpenAPI document (`/api/v1/openapi.json`):
//! paths and schemas, merged into the analytics API's document. Written by
//! hand beside the handlers; `tests/roi_promises.rs` checks every field an
//! answer carries is documented here.

use serde_json::{json, Value};

/// How the achievement is worked, as the document says it.
const ACHIEVEMENT: &str = "The tenant's latest promise against its measured savings, one line per month from the promise's start month to this month. Measured savings are the daily rollups' savings (baseline - cost) of priced requests only: an unpriced request claims no saving. A month is complete unless `incomplete_reasons` says why not: `month_in_progress` (this month), `before_first_traffic` (the tenant had no recorded traffic by its end), `first_traffic_mid_month` (the first traffic came after its 1st), `unpriced_requests` (some savings are unknown). Its figures are shown either way. `achievement_pct` = measured / promised gross x 100, two places, rounded half away from zero (null when the promised gross is not positive); `achieved_net` = measured - fee. To date: every month listed, the month in progress counted with its whole promise. Projection for the year: the first 12 months from the start month, the measured savings of their complete months plus the average of those complete months for each of the other months (`projection_basis_months` says how many it stands on); zero while none is complete. JSON, or CSV (one row per month) with `format=csv` or `Accept: text/csv`. Needs the tenant's whole analytics (an admin key, a dashboard or owner key, or an API key with `analytics = \"tenant\"`).";

/// `(paths, schemas)` of the ROI promises.
pub fn parts() -> (Value, Value) {
    let errors = |extra: &[(&str, Value)]| {
        let mut responses = json!({
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "503": {"$ref": "#/components/responses/Unavailable"}
        });
        if let Some(map) = responses.as_object_mut() {
            for (status, answer) in extra {
                map.insert((*status).to_owned(), answer.clone());
            }
        }
        responses
    };
    let json_answer = |description: &str, schema: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}});
    let tenant = json!({"$ref": "#/components/parameters/tenant"});
    let paths = json!({
        "/api/v1/roi/promises": {
            "post": {
                "summary": "Record the ROI scenario promised to a tenant at signing (admin keys only). The scenario is worked as `POST /api/v1/roi` works it and saved with its figures as the tenant's next version; a saved promise never changes (a new scenario is a new version)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoiPromiseCreate"}}}},
                "responses": errors(&[("201", json_answer("The promise as saved, and the worked scenario", "#/components/schemas/RoiPromiseSaved"))])
            },
            "get": {
                "summary": "Every version of the tenant's promise, oldest first",
                "parameters": [tenant.clone()],
                "responses": errors(&[("200", json_answer("The versions", "#/components/schemas/RoiPromiseList"))])
            }
        },
        "/api/v1/roi/achievement": {
            "get": {
                "summary": "ROI promised vs achieved, per month, with a projection for the year",
                "description": ACHIEVEMENT,
                "parameters": [tenant, {"$ref": "#/components/parameters/format"}],
                "responses": errors(&[("200", json!({
                    "description": "The achievement (promise null and months empty when the tenant has no promise)",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RoiAchievement"}},
                        "text/csv": {"schema": {"type": "string", "description": "One row per month: tenant, promise_version, month, promised_gross_usd, promised_net_usd, measured_savings_usd, fee_usd, achieved_net_usd, achievement_pct, complete, incomplete_reasons (separated by ';')"}}
                    }
                }))])
            }
        }
    });
    (paths, schemas())
}

fn schemas() -> Value {
    let usd = json!({"type": "string", "description": "Exact decimal USD"});
    let usd_or_null = json!({"type": ["string", "null"], "description": "Exact decimal USD; null without a promise"});
    let pct = json!({"type": ["string", "null"], "description": "Percent, two decimals; null when nothing positive was promised"});
    let month = json!({"type": "string", "description": "YYYY-MM", "examples": ["2026-09"]});
    let promise_ref = json!({"$ref": "#/components/schemas/RoiPromise"});
    let promise = json!({"type": "object", "properties": {
        "tenant": {"type": "string"},
        "version": {"type": "integer", "description": "1, 2, ... per tenant"},
        "created_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": "string", "description": "The id of the admin key that recorded it"},
        "start_month": month,
        "seats": {"type": "integer"},
        "fee_monthly_usd": usd.clone(),
        "promised_gross_monthly_usd": {"type": "string", "description": "Current - optimized monthly cost, as worked when saved"},
        "promised_net_monthly_usd": usd.clone(),
        "inputs": {"type": "object", "description": "The request as given"}
    }});
    let mut saved = promise.clone();
    if let Some(properties) = saved
        .pointer_mut("/properties")
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "scenario".to_owned(),
            json!({"$ref": "#/components/schemas/RoiReport"}),
        );
    }
    json!({
        "RoiPromiseCreate": {"type": "object", "required": ["tenant", "seats", "price_per_seat"], "description": "The body of `POST /api/v1/roi` in scenario mode (given monthly costs, or a traffic profile with `models`), plus:", "properties": {
            "tenant": {"type": "string", "description": "Whose promise"},
            "start_month": {"type": "string", "description": "YYYY-MM: the first month the promise covers (default: this month, UTC)"},
            "mode": {"const": "scenario"}
        }, "additionalProperties": true},
        "RoiPromise": promise,
        "RoiPromiseSaved": saved,
        "RoiPromiseList": {"type": "object", "properties": {
            "tenant": {"type": "string"},
            "data": {"type": "array", "items": promise_ref.clone()}
        }},
        "RoiMonth": {"type": "object", "properties": {
            "month": month,
            "promised_gross_usd": usd.clone(),
            "promised_net_usd": usd.clone(),
            "measured_savings_usd": usd.clone(),
            "fee_usd": usd.clone(),
            "achieved_net_usd": usd,
            "achievement_pct": pct.clone(),
            "complete": {"type": "boolean"},
            "incomplete_reasons": {"type": "array", "items": {"enum": ["month_in_progress", "before_first_traffic", "first_traffic_mid_month", "unpriced_requests"]}}
        }},
        "RoiAchievement": {"type": "object", "description": ACHIEVEMENT, "properties": {
            "tenant": {"type": "string"},
            "as_of": {"type": "string", "format": "date"},
            "promise": {"oneOf": [promise_ref, {"type": "null"}]},
            "months": {"type": "array", "items": {"$ref": "#/components/schemas/RoiMonth"}},
            "to_date_measured_usd": usd_or_null.clone(),
            "to_date_promised_usd": usd_or_null.clone(),
            "to_date_achievement_pct": pct,
            "projected_year_savings_usd": usd_or_null.clone(),
            "promised_year_savings_usd": usd_or_null,
            "projection_basis_months": {"type": ["integer", "null"], "description": "Complete months of the first 12 the projection stands on"}
        }}
    })
}
