//! The operator view's part of the OpenAPI document, merged by the admin API's
//! part: its path, its answer's schemas, the columns it sorts by, and the
//! health score's formula in words (the same text as the module doc of
//! `analytics::operator::health`, which the code follows). A leaf module, so
//! the admin API and the operator view may both use it without a cycle.

use serde_json::{json, Map, Value};

/// Columns `sort` may name.
pub const SORTS: &[&str] = &[
    "tenant",
    "name",
    "spend_usd",
    "baseline_usd",
    "savings_usd",
    "savings_pct",
    "requests",
    "errors",
    "unpriced_requests",
    "error_rate_pct",
    "active_keys",
    "keys",
    "keys_used_7d",
    "adoption_pct",
    "teams",
    "health_score",
];

const DESCRIPTION: &str = "Every tenant on one list (admin keys only; a tenant owner's key gets a 403), \
read from the daily rollups (never raw events) and kept in memory for 30 seconds. Figures cover the \
last `days` days (today included) and each has a trend against the `days` days before: `flat` when it \
moved by at most 5% of the previous value, else `up` or `down`.\n\n\
**Health score** (0-100): a weighted mean of four components, each 0-100%: adoption (weight 30) = keys \
used in the last 7 days / live API keys of the tenant; achievement (weight 30) = savings of the last 30 \
days / monthly gross savings of the tenant's latest ROI promise, capped at 100%; reliability (weight 20) \
= 1 - error rate of the last 7 days; usage (weight 20) = 50% + the week-over-week change of requests, \
clamped to 0-100% (flat = 50%, +50% or more = 100%, -50% or worse = 0%; from none to some = 100%, none \
in both weeks = 0%). A component that cannot be known is left out and the other weights are used alone \
(no promise in force, or one promising no savings: no achievement; no request in the last 7 days: no \
reliability). score = round(sum(weight x component) / sum(weights)).\n\n\
**Flags**: `churn_risk` when requests of the last 14 days are at least 30% below the 14 days before; \
`expansion` when a team's spend reached its budget (today's UTC day against its daily budget, this UTC \
month against its monthly one; reason `team_at_budget`) or the keys active in the last 30 days reach \
the seats of the latest ROI promise (reason `seats_full`).";

/// `(paths, schemas)` of the operator view.
pub fn parts(errors: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let mut responses = errors.clone();
    if let Some(map) = responses.as_object_mut() {
        map.insert(
            "200".to_owned(),
            json!({"description": "The tenants (JSON, or CSV with `format=csv`: the same columns without trend, health and reasons; flags space-separated)",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorTenantList"}},
                               "text/csv": {"schema": {"type": "string"}}}}),
        );
    }
    let path = json!({"get": {
        "summary": "The operator's view: every tenant with spend, savings, adoption, health score and flags",
        "description": DESCRIPTION,
        "parameters": [
            query("days", "The period: 7 or 30 days ending today (default 30)", json!({"enum": ["7", "30"]})),
            query("sort", "The column to sort by (default spend_usd)", json!({"enum": SORTS})),
            query("order", "asc or desc (default desc; asc for tenant and name); tenants without a value come last", json!({"enum": ["asc", "desc"]})),
            query("q", "Only tenants whose id or name holds this text (any case)", json!({"type": "string"})),
            query("flag", "Only tenants with this flag", json!({"enum": ["churn_risk", "expansion"]})),
            query("format", "json (default) or csv", json!({"enum": ["json", "csv"]})),
        ],
        "responses": responses
    }});
    let money = |d: &str| json!({"type": "string", "description": format!("{d}, USD as exact decimal text")});
    let pct = |d: &str| json!({"type": ["string", "null"], "description": format!("{d}, percent with two decimals (null when it has no denominator)")});
    let int = |d: &str| json!({"type": "integer", "description": d});
    let trend = json!({"type": "object", "properties": {
        "direction": {"enum": ["up", "down", "flat"]},
        "previous": {"description": "The figure over the previous period (same type as the figure)"}
    }, "required": ["direction", "previous"]});
    let figures = [
        "spend_usd",
        "baseline_usd",
        "savings_usd",
        "savings_pct",
        "requests",
        "error_rate_pct",
        "active_keys",
        "teams",
    ];
    let trends: Map<String, Value> = figures
        .iter()
        .map(|f| ((*f).to_owned(), trend.clone()))
        .collect();
    let tenant = json!({"type": "object", "additionalProperties": false, "properties": {
        "tenant": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "spend_usd": money("Cost of the period's priced requests"),
        "baseline_usd": money("What those requests would have cost on the requested models"),
        "savings_usd": money("baseline - spend"),
        "savings_pct": pct("savings / baseline"),
        "requests": int("Requests of the period"),
        "errors": int("Requests that failed"),
        "unpriced_requests": int("Requests served by a model without a price (no amounts, no savings)"),
        "error_rate_pct": pct("errors / requests"),
        "active_keys": int("Distinct keys that sent a request in the period"),
        "keys": int("Live API keys the tenant has"),
        "keys_used_7d": int("Of those, the ones used in the last 7 days"),
        "adoption_pct": pct("keys_used_7d / keys"),
        "teams": int("Distinct teams with a request in the period"),
        "health_score": {"type": "integer", "minimum": 0, "maximum": 100, "description": "See the description of this path"},
        "flags": {"type": "array", "items": {"enum": ["churn_risk", "expansion"]}},
        "trend": {"type": "object", "properties": trends, "description": "Each figure against the previous period of equal length"},
        "health": {"type": "object", "description": "The score's components (null: not known, left out)", "properties": {
            "adoption_pct": {"type": ["string", "null"]},
            "achievement_pct": {"type": ["string", "null"]},
            "reliability_pct": {"type": ["string", "null"]},
            "usage_pct": {"type": ["string", "null"]}
        }},
        "expansion_reasons": {"type": "array", "items": {"enum": ["team_at_budget", "seats_full"]}},
        "teams_at_budget": {"type": "array", "items": {"type": "string"}},
        "seats": {"type": ["integer", "null"], "description": "Seats of the latest ROI promise in force"}
    }, "required": ["tenant", "spend_usd", "requests", "health_score", "flags", "trend"]});
    let list = json!({"type": "object", "properties": {
        "object": {"const": "list"},
        "as_of": {"type": "string", "format": "date", "description": "Today (UTC), the last day of the period"},
        "days": {"enum": [7, 30]},
        "sort": {"enum": SORTS},
        "order": {"enum": ["asc", "desc"]},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/OperatorTenant"}}
    }, "required": ["object", "as_of", "days", "data"]});
    let mut paths = Map::new();
    paths.insert("/api/v1/admin/operator/tenants".to_owned(), path);
    let mut access = errors.clone();
    if let Some(map) = access.as_object_mut() {
        map.insert(
            "200".to_owned(),
            json!({"description": "Whether the caller's key may open the operator view", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperatorAccess"}}}}),
        );
    }
    paths.insert(
        "/api/v1/operator/access".to_owned(),
        json!({"get": {"summary": "What the caller's key may open on the dashboard: the operator view (admin keys) and the tenant-wide figures (any key)", "responses": access}}),
    );
    let mut schemas = Map::new();
    schemas.insert("OperatorTenant".to_owned(), tenant);
    schemas.insert("OperatorTenantList".to_owned(), list);
    schemas.insert(
        "OperatorAccess".to_owned(),
        json!({"type": "object", "additionalProperties": false, "properties": {"operator": {"type": "boolean", "description": "The key may open the operator view (admin keys)"}, "tenant_figures": {"type": "boolean", "description": "The key reads its tenant's whole figures, so the ROI promise figures too (not a key scoped to its team's or its own analytics)"}}, "required": ["operator", "tenant_figures"]}),
    );
    (paths, schemas)
}
