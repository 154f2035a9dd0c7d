//! The share links' part of the OpenAPI document: the admin routes that make,
//! list and revoke links, and the public `/share/{token}/...` routes a link
//! opens (no key: the token is the credential). Merged into the admin part
//! by `openapi::parts`; `tests/shares.rs` checks every route and field.

use serde_json::{json, Value};

/// `(paths, schemas)` of share links.
pub fn parts() -> (Value, Value) {
    let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let admin_errors = json!({
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": error("Not an admin or tenant owner's key, or another tenant for an owner"),
        "404": error("No such link in the tenant (another tenant's is answered the same)"),
        "503": {"$ref": "#/components/responses/Unavailable"}
    });
    let answer = |status: &str, description: &str, schema: &str| {
        let mut responses = admin_errors.clone();
        if let Some(map) = responses.as_object_mut() {
            map.insert(status.to_owned(), json!({"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}}));
        }
        responses
    };
    let tenant = json!({"name": "tenant", "in": "query", "required": false, "description": "Whose links (required with an admin key)", "schema": {"type": "string"}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let token = json!({"name": "token", "in": "path", "required": true, "description": "The link's token (`gws_...`)", "schema": {"type": "string"}});
    let public_errors = |ok: Value| {
        json!({
            "200": ok,
            "401": error("A password link: no password (`password_required`) or a wrong one (`wrong_password`)"),
            "404": error("No link with this token"),
            "410": error("The link has expired or was revoked (`link_gone`)"),
            "429": error("Too many requests from this address or for this link; see Retry-After")
        })
    };
    let html = |description: &str| json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}});
    let paths = json!({
        "/api/v1/admin/shares": {
            "post": {"summary": "Make a read-only share link of a saved view; its URL and token are in this answer only", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ShareCreate"}}}}, "responses": answer("201", "The link, with its URL (shown once)", "#/components/schemas/ShareCreated")},
            "get": {"summary": "The tenant's share links (expired and revoked too), with their views", "parameters": [tenant.clone()], "responses": answer("200", "The links", "#/components/schemas/ShareList")}
        },
        "/api/v1/admin/shares/{id}": {
            "parameters": [id, tenant],
            "delete": {"summary": "Revoke a share link: it answers 410 from now on", "responses": answer("200", "The link, revoked", "#/components/schemas/Share")}
        },
        "/share/{token}": {
            "parameters": [token.clone()],
            "get": {"summary": "The shared view's page (no key); it reads /share/{token}/data", "responses": public_errors(html("The page"))}
        },
        "/share/{token}/data": {
            "parameters": [token.clone(), {"name": "x-share-password", "in": "header", "required": false, "description": "The link's password, if it has one", "schema": {"type": "string"}}],
            "get": {"summary": "The shared view's figures, from the analytics API's own answers (no key)", "responses": public_errors(json!({"description": "The figures", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ShareData"}}}}))}
        },
        "/share/{token}/embed": {
            "parameters": [token.clone()],
            "get": {"summary": "The headline tiles as a page any site may frame (no script, no cookies)", "responses": public_errors(html("The tiles"))}
        },
        "/share/{token}/tiles.svg": {
            "parameters": [token],
            "get": {"summary": "The headline tiles as an SVG image", "responses": public_errors(json!({"description": "The image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}))}
        }
    });
    let text = json!({"type": ["string", "null"]});
    let time = json!({"type": ["string", "null"], "format": "date-time"});
    let view = json!({
        "type": "object",
        "properties": {
            "range": {"type": "object", "description": "`{preset}` or `{from, to}` (days, UTC, both included)", "properties": {
                "preset": {"enum": ["last_7_days", "last_30_days", "month_to_date", "last_month"]},
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"}
            }, "additionalProperties": false},
            "filters": {"type": "object", "properties": {"team": {"type": "string"}, "key": {"type": "string"}, "model": {"type": "string"}, "provider": {"type": "string"}}, "additionalProperties": false},
            "panels": {"type": "array", "items": {"enum": ["tiles", "timeseries", "models", "providers", "teams", "keys", "routing_mix"]}, "description": "Default: tiles, timeseries, models, providers, routing_mix (no team names, no key ids)"}
        },
        "required": ["range"],
        "additionalProperties": false
    });
    let link = vec![
        ("id", json!({"type": "string"})),
        ("tenant", json!({"type": "string"})),
        ("label", text.clone()),
        ("view", json!({"$ref": "#/components/schemas/ShareView"})),
        ("status", json!({"enum": ["active", "expired", "revoked"]})),
        ("expires_at", time.clone()),
        ("has_password", json!({"type": "boolean"})),
        ("created_at", time.clone()),
        (
            "created_by",
            json!({"type": "string", "description": "The key id that made it"}),
        ),
        ("revoked_at", time.clone()),
        (
            "views",
            json!({"type": "integer", "description": "Reads of its figures (page, embed, image), exact once counted views are flushed (every 10 s, and before this list)"}),
        ),
        ("last_viewed_at", time.clone()),
    ];
    let object = |fields: Vec<(&str, Value)>, required: &[&str]| {
        let properties: serde_json::Map<String, Value> =
            fields.into_iter().map(|(n, s)| (n.to_owned(), s)).collect();
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
    };
    let mut created = link.clone();
    created.extend([
        (
            "url",
            json!({"type": "string", "description": "The link to share; shown once"}),
        ),
        ("path", json!({"type": "string"})),
        (
            "token",
            json!({"type": "string", "description": "256 random bits; stored only as its SHA-256"}),
        ),
    ]);
    let schemas = json!({
        "ShareView": view,
        "ShareCreate": object(vec![
            ("tenant", json!({"type": "string", "description": "Required with an admin key"})),
            ("label", json!({"type": "string", "maxLength": 200})),
            ("view", json!({"$ref": "#/components/schemas/ShareView"})),
            ("expires_in_days", json!({"type": "integer", "minimum": 1, "maximum": 365})),
            ("expires_at", json!({"type": "string", "format": "date-time", "description": "Instead of expires_in_days; at most 365 days ahead"})),
            ("password", json!({"type": "string", "minLength": 8, "maxLength": 256})),
        ], &["view"]),
        "Share": object(link, &["id", "tenant", "view", "status", "expires_at", "has_password", "views"]),
        "ShareCreated": object(created, &["url", "token", "id"]),
        "ShareList": {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"$ref": "#/components/schemas/Share"}}}, "required": ["object", "data"]},
        "ShareData": object(vec![
            ("label", text),
            ("generated_at", json!({"type": "string", "format": "date-time"})),
            ("expires_at", time),
            ("from", json!({"type": "string", "format": "date"})),
            ("to", json!({"type": "string", "format": "date"})),
            ("view", json!({"$ref": "#/components/schemas/ShareView"})),
            ("panels", json!({"type": "object", "description": "One entry per panel of the view: `tiles` as /analytics/summary answers, `timeseries` as /analytics/timeseries, `models`/`providers`/`teams`/`keys` as /analytics/breakdown by requested_model/provider/team/key, `routing_mix` as /analytics/routing-mix; each without `tenant`"})),
        ], &["generated_at", "from", "to", "view", "panels"]),
    });
    (paths, schemas)
}
