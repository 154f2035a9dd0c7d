//! The reports API's part of the OpenAPI document (`/api/v1/openapi.json`):
//! paths and schemas, merged there beside the admin API's. The routes are in
//! `reports::http`; their document is here with the others' (`handlers` may
//! not import `reports`, which reads the analytics records from here).
//! `tests/reports.rs` checks every route is here and every field of a real
//! report is documented.

use serde_json::{json, Value};

/// `(paths, schemas)` of the reports API.
pub fn parts() -> (Value, Value) {
    let errors = json!({
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
        "503": {"$ref": "#/components/responses/Unavailable"}
    });
    let with = |status: &str, answer: Value| {
        let mut responses = errors.clone();
        if let Some(map) = responses.as_object_mut() {
            map.insert(status.to_owned(), answer);
        }
        responses
    };
    let period = json!({"name": "period", "in": "path", "required": true, "description": "A month as YYYY-MM (`2026-11`) or an ISO week as YYYY-Www (`2026-W48`), of UTC days; one that has not begun is a 400, the current one reads to date", "schema": {"type": "string"}});
    let tenant = json!({"$ref": "#/components/parameters/tenant"});
    let paths = json!({
        "/api/v1/reports/{period}": {"get": {
            "summary": "A tenant's report of a week or month: figures of it and the period before, top models and teams, routing mix of both, reliability, spend by day, ROI to date",
            "parameters": [period.clone(), tenant.clone(), {"$ref": "#/components/parameters/format"}],
            "responses": with("200", json!({"description": "The report (the webhook's `report`); with `format=csv`, the e-mail's CSV attachment", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                "text/csv": {"schema": {"type": "string", "description": "section,name, then the Figures columns: one row for the period, the previous period, each top model, team and day"}}
            }}))
        }},
        "/api/v1/reports/{period}.pdf": {"get": {
            "summary": "The same report as a PDF (rendered without a browser; text extractable)",
            "parameters": [period, tenant],
            "responses": with("200", json!({"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}))
        }},
        "/api/v1/admin/reports/send": {"post": {
            "summary": "Send a report now (admin keys; an owner key for its own tenant): always sent, recorded as a manual run; each channel's first attempt answered, retries follow in the background",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportSend"}}}},
            "responses": with("200", json!({"description": "The run and each channel's first attempt", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportSent"}}}}))
        }}
    });
    let text = json!({"type": "string"});
    let pct = json!({"type": ["string", "null"], "description": "Percent, two decimals"});
    let ms = json!({"type": ["integer", "null"]});
    let rows = |description: &str| json!({"type": "array", "description": description, "items": {"type": "object", "description": "The dimension's value, then the Figures fields"}});
    let schemas = json!({
        "Report": {"type": "object", "properties": {
            "tenant": text,
            "period": {"type": "string", "examples": ["2026-W48"]},
            "kind": {"enum": ["weekly", "monthly"]},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "days_are": {"const": "UTC"},
            "complete": {"type": "boolean", "description": "false while the period has not ended"},
            "figures": {"$ref": "#/components/schemas/Figures"},
            "previous": {"type": "object", "properties": {"period": text, "from": text, "to": text, "figures": {"$ref": "#/components/schemas/Figures"}}},
            "changes": {"type": "object", "properties": {"spend_change_pct": pct, "savings_change_pct": pct, "requests_change_pct": pct}},
            "top_models": rows("At most 5 requested models, most spend first (`requested_model` and the Figures fields)"),
            "top_teams": rows("At most 5 teams, most spend first (`team`: null for keys without one)"),
            "routing_mix": {"type": "object", "properties": {
                "substitution_rate_pct": pct, "previous_substitution_rate_pct": pct,
                "routes": {"type": "array", "items": {"type": "object", "properties": {
                    "requested_model": text, "routed_model": text, "substituted": {"type": "boolean"},
                    "requests": {"type": "integer"}, "share_pct": pct,
                    "previous_requests": {"type": "integer"}, "previous_share_pct": pct,
                    "savings_usd": text
                }}}
            }},
            "reliability": {"type": "object", "properties": {
                "error_rate_pct": pct, "previous_error_rate_pct": pct,
                "failover_rate_pct": pct, "previous_failover_rate_pct": pct,
                "latency_p50_ms": ms, "previous_latency_p50_ms": ms,
                "latency_p95_ms": ms, "previous_latency_p95_ms": ms
            }},
            "daily": {"type": "array", "items": {"type": "object", "properties": {
                "day": text, "requests": {"type": "integer"}, "spend_usd": text, "baseline_usd": text, "savings_usd": text
            }}},
            "roi_to_date": {"type": ["object", "null"], "description": "The latest ROI promise against measured savings, to date (null: no promise)", "properties": {
                "promise_version": {"type": "integer"}, "start_month": text,
                "measured_savings_usd": text, "promised_savings_usd": text, "achievement_pct": pct,
                "projected_year_savings_usd": text, "promised_year_savings_usd": text,
                "complete_months": {"type": "integer"}, "months": {"type": "integer"}
            }}
        }},
        "ReportSend": {"type": "object", "additionalProperties": false, "required": ["period"], "properties": {
            "tenant": {"type": "string", "description": "Default: the key's tenant"},
            "period": {"type": "string", "examples": ["2026-W48", "2026-11"]},
            "kind": {"enum": ["weekly", "monthly"], "description": "Checked against the period when given"},
            "channels": {"type": "array", "items": {"type": "string"}, "description": "Names of [[alerts.channels]]; default: the tenant's schedule of that kind"}
        }},
        "ReportSent": {"type": "object", "properties": {
            "run_id": text,
            "attempts": {"type": "array", "items": {"type": "object", "properties": {
                "channel": text, "attempt": {"type": "integer"},
                "outcome": {"enum": ["delivered", "retrying", "failed"]},
                "http_status": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]}
            }}}
        }}
    });
    (paths, schemas)
}
