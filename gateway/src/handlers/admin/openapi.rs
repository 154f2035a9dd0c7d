//! The admin API's part of the OpenAPI document (`/api/v1/openapi.json`):
//! paths and schemas, merged into the analytics API's document. Written by
//! hand beside the handlers; `tests/admin_api.rs` checks every route is here
//! and every field an answer carries is documented.

use serde_json::{json, Value};

/// `(paths, schemas)` of the admin API.
pub fn parts() -> (Value, Value) {
    let errors = json!({
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"description": "Not an admin or tenant owner's key, or another tenant's record for an owner", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "404": {"description": "No such record (or not the caller's tenant's)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "409": {"description": "The record exists already, is revoked, or is defined in the config file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "503": {"$ref": "#/components/responses/Unavailable"}
    });
    let answer = |status: &str, description: &str, schema: &str| {
        let mut responses = errors.clone();
        if let Some(map) = responses.as_object_mut() {
            map.insert(
                status.to_owned(),
                json!({"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}}),
            );
        }
        responses
    };
    let body = |schema: &str| json!({"required": true, "content": {"application/json": {"schema": {"$ref": schema}}}});
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let path = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    let paths = json!({
        "/api/v1/admin/keys": {
            "post": {"summary": "Mint a key; the plain key is in this answer only", "requestBody": body("#/components/schemas/KeyCreate"), "responses": answer("201", "The key, shown once, and its record", "#/components/schemas/KeyMinted")},
            "get": {"summary": "Keys of the caller's tenant (an admin: all, or `tenant`), config-file keys included", "parameters": [query("tenant", "Whose keys (admin keys)"), query("team", "Only this team's keys"), query("include_revoked", "true: revoked and expired keys too")], "responses": answer("200", "The keys", "#/components/schemas/KeyList")}
        },
        "/api/v1/admin/keys/{id}": {
            "parameters": [path("id")],
            "get": {"summary": "One key", "responses": answer("200", "The key", "#/components/schemas/Key")},
            "patch": {"summary": "Change a stored key's settings; a field left out keeps its value, null clears it", "requestBody": body("#/components/schemas/KeyUpdate"), "responses": answer("200", "The key as changed", "#/components/schemas/Key")}
        },
        "/api/v1/admin/keys/{id}/rotate": {
            "parameters": [path("id")],
            "post": {"summary": "Mint a key with the same settings; the old one works for the grace period", "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyRotate"}}}}, "responses": answer("201", "The new key, shown once, and when the old one stops", "#/components/schemas/KeyRotated")}
        },
        "/api/v1/admin/keys/{id}/revoke": {
            "parameters": [path("id")],
            "post": {"summary": "Revoke a key: every replica refuses it within a second", "responses": answer("200", "The key, revoked", "#/components/schemas/Key")}
        },
        "/api/v1/admin/tenants": {
            "post": {"summary": "Make a tenant (admin keys only)", "requestBody": body("#/components/schemas/TenantCreate"), "responses": answer("201", "The tenant", "#/components/schemas/Tenant")},
            "get": {"summary": "Tenants the caller may see", "responses": answer("200", "The tenants", "#/components/schemas/TenantList")}
        },
        "/api/v1/admin/tenants/{id}": {
            "parameters": [path("id")],
            "get": {"summary": "One tenant", "responses": answer("200", "The tenant", "#/components/schemas/Tenant")},
            "patch": {"summary": "Change a tenant's name, limits or budgets (a field left out keeps its value, null clears it)", "requestBody": body("#/components/schemas/RecordUpdate"), "responses": answer("200", "The tenant as changed", "#/components/schemas/Tenant")}
        },
        "/api/v1/admin/teams": {
            "post": {"summary": "Make a team", "requestBody": body("#/components/schemas/TeamCreate"), "responses": answer("201", "The team", "#/components/schemas/Team")},
            "get": {"summary": "Teams of the caller's tenant (an admin: all, or `tenant`)", "parameters": [query("tenant", "Whose teams (admin keys)")], "responses": answer("200", "The teams", "#/components/schemas/TeamList")}
        },
        "/api/v1/admin/teams/{tenant}/{id}": {
            "parameters": [path("tenant"), path("id")],
            "get": {"summary": "One team", "responses": answer("200", "The team", "#/components/schemas/Team")},
            "patch": {"summary": "Change a team's name, limits or budgets", "requestBody": body("#/components/schemas/RecordUpdate"), "responses": answer("200", "The team as changed", "#/components/schemas/Team")}
        },
        "/api/v1/admin/alerts/rules": {
            "get": {"summary": "Alert rules of the config file (admin keys only): name, kind, channels, settings", "responses": answer("200", "The rules and the evaluation interval", "#/components/schemas/AlertList")}
        },
        "/api/v1/admin/alerts/channels": {
            "get": {"summary": "Alert channels: name, kind and target host (never a URL, secret or password)", "responses": answer("200", "The channels", "#/components/schemas/AlertList")}
        },
        "/api/v1/admin/alerts/channels/{name}/test": {
            "parameters": [path("name")],
            "post": {"summary": "Send a test alert to a channel (retried like any notice, each attempt recorded)", "responses": answer("200", "How each attempt went", "#/components/schemas/AlertList")}
        },
        "/api/v1/admin/alerts/firings": {
            "get": {"summary": "Alert firings, newest first: rule, subject, state, when it started and resolved", "responses": answer("200", "The firings", "#/components/schemas/AlertList")}
        },
        "/api/v1/admin/alerts/deliveries": {
            "get": {"summary": "Every delivery attempt of alert notices: channel, attempt, outcome", "responses": answer("200", "The attempts", "#/components/schemas/AlertList")}
        },
        "/api/v1/admin/audit": {
            "get": {"summary": "Changes, newest first: who (a key id or `cli`), what, when; never a key", "parameters": [query("tenant", "Whose changes (admin keys)"), query("limit", "How many, 1 to 1000 (default 100)")], "responses": answer("200", "The entries", "#/components/schemas/AuditList")}
        }
    });
    let text = json!({"type": ["string", "null"]});
    let time = json!({"type": ["string", "null"], "format": "date-time"});
    let limits = || {
        vec![
            (
                "rpm",
                json!({"type": ["integer", "null"], "minimum": 1, "description": "Requests per minute"}),
            ),
            (
                "tpm",
                json!({"type": ["integer", "null"], "minimum": 1, "description": "Tokens per minute"}),
            ),
            (
                "max_concurrent",
                json!({"type": ["integer", "null"], "minimum": 1, "description": "Requests in flight at once"}),
            ),
            (
                "budget_daily_usd",
                json!({"type": ["string", "integer", "null"], "description": "USD per calendar day, decimal text (a whole number is accepted in requests)"}),
            ),
            (
                "budget_monthly_usd",
                json!({"type": ["string", "integer", "null"], "description": "USD per calendar month"}),
            ),
        ]
    };
    let object = |fields: Vec<(&str, Value)>, required: &[&str]| {
        let properties: serde_json::Map<String, Value> =
            fields.into_iter().map(|(n, s)| (n.to_owned(), s)).collect();
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
    };
    let with_limits = |mut fields: Vec<(&'static str, Value)>| {
        fields.extend(limits());
        fields
    };
    let key_fields = || {
        with_limits(vec![
            ("id", json!({"type": "string"})),
            (
                "prefix",
                json!({"type": ["string", "null"], "description": "The key's first characters (null for config-file keys)"}),
            ),
            ("tenant", json!({"type": "string"})),
            ("team", text.clone()),
            (
                "role",
                json!({"enum": ["api", "dashboard", "owner", "admin"]}),
            ),
            ("label", text.clone()),
            (
                "models",
                json!({"type": ["array", "null"], "items": {"type": "string"}}),
            ),
            ("expires_at", time.clone()),
            ("created_at", time.clone()),
            ("last_used_at", time.clone()),
            ("revoked_at", time.clone()),
            ("replaces", text.clone()),
            ("source", json!({"enum": ["store", "config"]})),
        ])
    };
    let record_fields = |team: bool| {
        let mut fields = vec![("id", json!({"type": "string"})), ("name", text.clone())];
        if team {
            fields.insert(0, ("tenant", json!({"type": "string"})));
        }
        fields.extend([
            ("created_at", time.clone()),
            ("updated_at", time.clone()),
            ("source", json!({"enum": ["store", "config"]})),
        ]);
        with_limits(fields)
    };
    let list = |item: &str| json!({"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"$ref": item}}}, "required": ["object", "data"]});
    let mut minted = key_fields();
    minted.push((
        "key",
        json!({"type": "string", "description": "The plain key: shown here once, stored nowhere"}),
    ));
    let mut rotated = minted.clone();
    rotated.push((
        "replaced",
        object(
            vec![
                ("id", json!({"type": "string"})),
                ("expires_at", time.clone()),
            ],
            &["id", "expires_at"],
        ),
    ));
    let schemas = json!({
        "Key": object(key_fields(), &["id", "tenant", "role", "source"]),
        "KeyMinted": object(minted, &["key", "id", "tenant", "role", "source"]),
        "KeyRotated": object(rotated, &["key", "id", "replaced"]),
        "KeyList": list("#/components/schemas/Key"),
        "KeyCreate": object(with_limits(vec![
            ("id", json!({"type": "string", "description": "Default: a random `key_...`"})),
            ("tenant", json!({"type": "string", "description": "Required with an admin key; an owner's key makes keys of its own tenant"})),
            ("team", json!({"type": "string"})),
            ("role", json!({"enum": ["api", "dashboard", "owner", "admin"], "default": "api", "description": "`admin` only by an admin key"})),
            ("label", json!({"type": "string", "maxLength": 200})),
            ("models", json!({"type": "array", "items": {"type": "string"}, "description": "Models the key may use (default: its tenant's)"})),
            ("expires_at", json!({"type": "string", "format": "date-time"})),
        ]), &[]),
        "KeyUpdate": object(with_limits(vec![
            ("team", text.clone()),
            ("label", text.clone()),
            ("models", json!({"type": ["array", "null"], "items": {"type": "string"}})),
            ("expires_at", time.clone()),
        ]), &[]),
        "KeyRotate": object(vec![("grace_seconds", json!({"type": "integer", "minimum": 0, "maximum": 2_592_000, "default": 86400}))], &[]),
        "Tenant": object(record_fields(false), &["id", "source"]),
        "TenantList": list("#/components/schemas/Tenant"),
        "TenantCreate": object(with_limits(vec![("id", json!({"type": "string"})), ("name", json!({"type": "string"}))]), &["id"]),
        "Team": object(record_fields(true), &["tenant", "id", "source"]),
        "TeamList": list("#/components/schemas/Team"),
        "TeamCreate": object(with_limits(vec![("tenant", json!({"type": "string"})), ("id", json!({"type": "string"})), ("name", json!({"type": "string"}))]), &["id"]),
        "RecordUpdate": object(with_limits(vec![("name", text.clone())]), &[]),
        "AuditList": list("#/components/schemas/AuditEntry"),
        "AlertList": {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object"}}}, "required": ["data"]},
        "AuditEntry": object(vec![
            ("at", time.clone()),
            ("tenant", json!({"type": "string"})),
            ("actor", json!({"type": "string", "description": "The acting key's id, or `cli`"})),
            ("action", json!({"type": "string", "description": "e.g. key.create, key.rotate, key.revoke, team.update"})),
            ("target", json!({"type": "string"})),
            ("detail", json!({"type": ["object", "null"], "description": "The settings the change set"})),
        ], &["at", "tenant", "actor", "action", "target"]),
    });
    let (mut paths, mut schemas) = (paths, schemas);
    let (operator_paths, operator_schemas) = crate::handlers::operator_doc::parts(&errors);
    let (share_paths, share_schemas) = super::openapi_shares::parts();
    if let (Some(p), Some(s)) = (paths.as_object_mut(), schemas.as_object_mut()) {
        p.extend(operator_paths);
        s.extend(operator_schemas);
        for (into, from) in [(p, share_paths), (s, share_schemas)] {
            if let Value::Object(from) = from {
                into.extend(from);
            }
        }
    }
    (paths, schemas)
}
