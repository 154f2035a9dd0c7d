//! The OpenAPI 3.1 document of the analytics API and the ROI calculator,
//! written by hand next to the code it describes (a test checks that every
//! analytics route is in it). `handlers::openapi` serves it at
//! `/api/v1/openapi.json` with the other APIs' parts merged in.

use serde_json::{json, Map, Value};

/// The analytics API's document; `handlers::openapi` serves it with the
/// other APIs' parts merged in.
pub fn build() -> Value {
    let range_params = json!([
        {"$ref": "#/components/parameters/from"}, {"$ref": "#/components/parameters/to"},
        {"$ref": "#/components/parameters/team"}, {"$ref": "#/components/parameters/key"},
        {"$ref": "#/components/parameters/model"}, {"$ref": "#/components/parameters/provider"},
        {"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/format"}
    ]);
    let with = |extra: Value| {
        let mut all = range_params.as_array().cloned().unwrap_or_default();
        all.push(extra);
        Value::Array(all)
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gateway analytics API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tenant-scoped usage and savings figures, read from the daily rollups (never from raw events); `realtime` reads today's counters. Every endpoint answers JSON, or CSV (RFC 4180, same cells) with `format=csv` or `Accept: text/csv`. Money is exact decimal USD text; percentages are decimal text with two places, rounded half away from zero, null when the denominator is zero. Latency p50/p95 are nearest-rank percentiles over a log-linear histogram: exact below 16 ms, otherwise the middle of a bucket 1/8 of a power of two wide, within 1/16 (6.25 %) of the true value. Days are UTC. Authenticate with `Authorization: Bearer <key>`. Scope: a dashboard token reads its own tenant; an API key reads its own team's figures (its own key's when it has no team) unless its config grants `analytics = \"tenant\"`, and a `team` or `key` parameter outside that scope is a 403; admin keys read any tenant, named with `tenant`. In `realtime`, a team's or key's figures are its keys' counters (`team` or `key` says which), `this_minute` and `previous_minute` are null and `by_model` is empty (those counters are per tenant)."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/analytics/summary": get(
                "Totals for a range of days",
                range_params.clone(),
                "#/components/schemas/Summary",
            ),
            "/api/v1/analytics/timeseries": get(
                "Figures per day, week (from Monday) or month; periods without traffic as zeros",
                with(json!({"$ref": "#/components/parameters/interval"})),
                "#/components/schemas/Series",
            ),
            "/api/v1/analytics/breakdown": get(
                "Figures per requested model, routed model, provider, key or team, most spend first",
                with(json!({"$ref": "#/components/parameters/by"})),
                "#/components/schemas/Breakdown",
            ),
            "/api/v1/analytics/routing-mix": get(
                "How often each route (requested model to routed model) was taken and what it saved",
                range_params,
                "#/components/schemas/RoutingMix",
            ),
            "/api/v1/analytics/realtime": get(
                "Today's and this minute's figures from the real-time counters",
                json!([{"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/format"}]),
                "#/components/schemas/Realtime",
            ),
            "/api/v1/roi": roi(),
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": parameters(),
            "schemas": schemas(),
            "responses": {
                "BadRequest": error_response("A parameter is wrong; `error.param` names it"),
                "Unauthorized": error_response("No key, or an unknown key"),
                "Forbidden": error_response("A non-admin key named another tenant, or a key that reads its team's or its own figures named another team or key"),
                "Unavailable": error_response("The analytics store or the counters did not answer")
            }
        }
    })
}

fn get(summary: &str, parameters: Value, schema: &str) -> Value {
    json!({"get": {
        "summary": summary,
        "parameters": parameters,
        "responses": {
            "200": {
                "description": summary,
                "content": {
                    "application/json": {"schema": {"$ref": schema}},
                    "text/csv": {"schema": {"type": "string", "description": "A header of the row fields, then one line per row (the summary's single object, the series' points, the rows or routes)"}}
                }
            },
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "503": {"$ref": "#/components/responses/Unavailable"}
        }
    }})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn parameters() -> Value {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let text = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    json!({
        "from": query("from", "First UTC day, YYYY-MM-DD (default: 29 days before `to`)", date.clone()),
        "to": query("to", "Last UTC day, included, YYYY-MM-DD (default: today). At most 3660 days from `from`", date),
        "team": query("team", "Only this team. A key that reads its own team's figures may name only that team (403 otherwise)", text.clone()),
        "key": query("key", "Only this key id. A key that reads its own figures may name only itself (403 otherwise)", text.clone()),
        "model": query("model", "Only requests that asked for or were served by this model", text.clone()),
        "provider": query("provider", "Only requests served by this provider", text.clone()),
        "tenant": query("tenant", "Whose figures (default: the key's tenant). Admin keys only, for another tenant; other keys get 403", text),
        "format": query("format", "Answer format; without it, `Accept: text/csv` selects CSV", json!({"enum": ["json", "csv"], "default": "json"})),
        "interval": query("interval", "Period of each point", json!({"enum": ["day", "week", "month"], "default": "day"})),
        "by": {"name": "by", "in": "query", "required": true, "description": "Dimension to split by", "schema": {"enum": ["requested_model", "routed_model", "provider", "key", "team"]}}
    })
}

/// `{"type": "object", "properties": ..}` from (name, schema) pairs, in order.
fn object(fields: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect();
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

fn schemas() -> Value {
    let int = json!({"type": "integer"});
    let usd =
        json!({"type": "string", "description": "Exact decimal USD", "examples": ["12.345678"]});
    let pct = json!({"type": ["string", "null"], "description": "Percent, two decimals", "examples": ["41.25"]});
    let ms = json!({"type": ["integer", "null"]});
    let date = json!({"type": "string", "format": "date"});
    let name = json!({"type": ["string", "null"]});
    let figures = [
        ("requests", int.clone()),
        (
            "errors",
            json!({"type": "integer", "description": "Status >= 400 or an error kind"}),
        ),
        ("error_rate_pct", pct.clone()),
        (
            "failovers",
            json!({"type": "integer", "description": "Requests that needed more than one provider attempt"}),
        ),
        (
            "failover_rate_pct",
            json!({"type": ["string", "null"], "description": "failovers / requests x 100, two decimals"}),
        ),
        ("prompt_tokens", int.clone()),
        ("completion_tokens", int.clone()),
        ("cached_tokens", int.clone()),
        (
            "unpriced_requests",
            json!({"type": "integer", "description": "Requests served by a model without a price: counted in requests and tokens, left out of every amount (their cost is unknown, so they claim no savings)"}),
        ),
        (
            "spend_usd",
            json!({"type": "string", "description": "What the priced requests cost (exact decimal USD)", "examples": ["12.345678"]}),
        ),
        (
            "baseline_usd",
            json!({"type": "string", "description": "What the priced requests would have cost at the requested models' list prices"}),
        ),
        (
            "savings_usd",
            json!({"type": "string", "description": "baseline - spend over priced requests; negative when routing cost more"}),
        ),
        (
            "savings_pct",
            json!({"type": ["string", "null"], "description": "savings / baseline x 100, priced requests only"}),
        ),
        ("latency_avg_ms", ms.clone()),
        ("latency_p50_ms", ms.clone()),
        ("latency_p95_ms", ms),
    ];
    let with = |head: &[(&str, Value)]| {
        let mut all: Vec<(&str, Value)> = head.to_vec();
        all.extend(figures.iter().cloned());
        object(&all)
    };
    let counter_figures: Vec<(&str, Value)> = figures
        .iter()
        .filter(|(n, _)| {
            !n.starts_with("latency") && !n.starts_with("failover") && *n != "cached_tokens"
        })
        .cloned()
        .collect();
    let counters_with = |head: &[(&str, Value)]| {
        let mut all: Vec<(&str, Value)> = head.to_vec();
        all.extend(counter_figures.iter().cloned());
        object(&all)
    };
    let envelope = |extra: &[(&str, Value)]| {
        let mut all = vec![
            ("tenant", json!({"type": "string"})),
            ("from", date.clone()),
            ("to", date.clone()),
        ];
        all.extend(extra.iter().cloned());
        object(&all)
    };
    let rows = |item: Value| json!({"type": "array", "items": item});
    json!({
        "Figures": object(&figures),
        "Summary": with(&[("tenant", json!({"type": "string"})), ("from", date.clone()), ("to", date.clone())]),
        "Point": with(&[("period", date.clone()), ("start", date.clone()), ("end", date.clone())]),
        "Series": envelope(&[
            ("interval", json!({"enum": ["day", "week", "month"]})),
            ("points", rows(json!({"$ref": "#/components/schemas/Point"}))),
        ]),
        "Breakdown": envelope(&[
            ("by", json!({"enum": ["requested_model", "routed_model", "provider", "key", "team"]})),
            ("rows", rows(json!({"allOf": [{"$ref": "#/components/schemas/Figures"}], "description": "The figures, and the dimension's value under the name given in `by` (null when absent)"}))),
        ]),
        "Route": with(&[
            ("requested_model", name.clone()),
            ("routed_model", name),
            ("substituted", json!({"type": "boolean"})),
            ("share_pct", pct.clone()),
        ]),
        "RoutingMix": envelope(&[
            ("requests", int.clone()),
            ("substituted_requests", int),
            ("substitution_rate_pct", pct),
            ("substitution_savings_usd", usd),
            ("routes", rows(json!({"$ref": "#/components/schemas/Route"}))),
        ]),
        "CounterFigures": counters_with(&[]),
        "Realtime": object(&[
            ("tenant", json!({"type": "string"})),
            ("team", json!({"type": "string", "description": "Present when the figures are one team's (the key reads its team's)"})),
            ("key", json!({"type": "string", "description": "Present when the figures are one key's (the key reads its own)"})),
            ("source", json!({"enum": ["redis", "memory"]})),
            ("rebuilding", json!({"type": "boolean", "description": "True while the counters are rebuilt from the event store after Redis lost them (restart without persistence, flush, failover to an empty replica): the figures are incomplete until it is false again, seconds later"})),
            ("as_of", json!({"type": "string", "format": "date-time"})),
            ("day", date),
            ("minute", json!({"type": "string", "format": "date-time"})),
            ("today", json!({"$ref": "#/components/schemas/CounterFigures"})),
            ("this_minute", json!({"oneOf": [{"$ref": "#/components/schemas/CounterFigures"}, {"type": "null"}]})),
            ("previous_minute", json!({"oneOf": [{"$ref": "#/components/schemas/CounterFigures"}, {"type": "null"}]})),
            ("by_key", rows(counters_with(&[("key", json!({"type": "string"}))]))),
            ("by_model", rows(counters_with(&[("routed_model", json!({"type": "string"}))]))),
        ]),
        "Error": object(&[("error", object(&[
            ("message", json!({"type": "string"})),
            ("type", json!({"type": "string"})),
            ("param", json!({"type": ["string", "null"]})),
            ("code", json!({"type": ["string", "null"]})),
        ]))]),
        "RoiReport": roi_report(),
    })
}

fn roi() -> Value {
    let amount = json!({"type": ["string", "number"], "description": "Decimal USD"});
    json!({"post": {
        "summary": "ROI: a sales scenario, or measured from the tenant's own recorded traffic",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
            object(&[
                ("mode", json!({"const": "scenario"})),
                ("seats", json!({"type": "integer", "minimum": 0})),
                ("price_per_seat", amount.clone()),
                ("current_monthly_cost", amount.clone()),
                ("optimized_monthly_cost", amount.clone()),
            ]),
            {"type": "object", "required": ["mode", "seats", "price_per_seat", "requests_per_seat_per_day", "prompt_tokens", "completion_tokens", "models"], "properties": {
                "mode": {"const": "scenario"},
                "seats": {"type": "integer"},
                "price_per_seat": amount.clone(),
                "policy": {"enum": ["strict", "equivalent"]},
                "requests_per_seat_per_day": {"type": "integer"},
                "working_days_per_month": {"type": "integer"},
                "prompt_tokens": {"type": "integer"},
                "completion_tokens": {"type": "integer"},
                "capabilities": {"type": "array", "items": {"type": "string"}},
                "models": {"type": "array", "items": {"oneOf": [
                    {"type": "string"},
                    {"type": "object", "properties": {"model": {"type": "string"}, "share": {"type": ["string", "number"]}}}
                ]}}
            }},
            {"type": "object", "required": ["mode", "seats", "price_per_seat"], "properties": {
                "mode": {"const": "measured"},
                "seats": {"type": "integer"},
                "price_per_seat": amount,
                "days": {"type": "integer"},
                "tenant": {"type": "string", "description": "Admin keys only. A key that reads its team's or its own analytics measures that traffic only (`measured.team` or `measured.key` says which)"}
            }}
        ]}}}},
        "responses": {
            "200": {"description": "The ROI figures", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoiReport"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}
        }
    }})
}

fn roi_report() -> Value {
    let usd = json!({"type": "string"});
    let nullable = json!({"type": ["string", "null"]});
    json!({"type": "object", "properties": {
        "mode": {"enum": ["scenario", "measured"]},
        "seats": {"type": "integer"},
        "price_per_seat": usd, "current_monthly_cost": usd, "optimized_monthly_cost": usd,
        "gross_monthly_savings": usd, "platform_fee": usd, "net_monthly_savings": usd,
        "annual_net_savings": usd,
        "roi_percent": nullable, "payback_days": nullable,
        "policy": {"type": "string"}, "priced_on": {"type": "string", "format": "date"},
        "measured": {"type": "object", "description": "Measured mode: the window, its requests and tokens, cost and baseline_cost (priced requests only) and unpriced_requests"},
        "models": {"type": "array", "items": {"type": "object"}}
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let document = build();
        let mut refs = Vec::new();
        collect_refs(&document, &mut refs);
        assert!(refs.len() > 20);
        for reference in refs {
            let pointer = reference.trim_start_matches('#');
            assert!(document.pointer(pointer).is_some(), "{reference}");
        }
        assert_eq!(document["openapi"], "3.1.0");
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    out.push(reference.clone());
                }
                map.values().for_each(|v| collect_refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
