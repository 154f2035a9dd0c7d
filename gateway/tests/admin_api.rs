//! The admin API against a real gateway (embedded store, the project's mock
//! provider): keys minted, shown once, used at once, listed without their
//! secret, changed, rotated with a grace period and revoked; tenants and teams
//! with their budgets; owners kept to their own tenant; every change audited
//! without a key; bad bodies answered with 400s naming the field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail on any error"
)]

mod common;

use gateway::keys::{self, KeyHash};
use serde_json::{json, Value};

struct Admin {
    gw: common::TestGateway,
    admin: String,
    owner: String,
    other_owner: String,
}

async fn start() -> Admin {
    let admin = keys::mint().unwrap();
    let owner = keys::mint().unwrap();
    let other_owner = keys::mint().unwrap();
    let extra = format!(
        "\n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"ops\"\nrole = \"admin\"\n\
         \n[[keys]]\nid = \"acme-owner\"\nhash = \"{}\"\ntenant = \"acme\"\nrole = \"owner\"\n\
         \n[[keys]]\nid = \"globex-owner\"\nhash = \"{}\"\ntenant = \"globex\"\nrole = \"owner\"\n",
        KeyHash::of(&admin),
        KeyHash::of(&owner),
        KeyHash::of(&other_owner)
    );
    Admin {
        gw: common::start_with(&extra).await,
        admin,
        owner,
        other_owner,
    }
}

impl Admin {
    async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let url = self.gw.url(&format!("/api/v1/admin{path}"));
        let mut request = self
            .gw
            .client
            .request(method.parse().unwrap(), url)
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn chat(&self, key: &str) -> u16 {
        self.gw
            .client
            .post(self.gw.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(&common::chat_body("mock-chat"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn an_owner_mints_a_key_that_works_at_once_then_revokes_it() {
    let t = start().await;
    let (status, minted) = t
        .call(
            "POST",
            "/keys",
            &t.owner,
            Some(json!({"label": "ci bot", "team": "web", "models": ["mock-chat"], "budget_daily_usd": "2.50"})),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let plain = minted["key"].as_str().unwrap().to_owned();
    let id = minted["id"].as_str().unwrap().to_owned();
    assert!(plain.starts_with("sk-gw-"));
    assert_eq!(minted["prefix"], plain[..10]);
    assert_eq!(
        minted["tenant"], "acme",
        "an owner's key goes to its own tenant"
    );
    assert_eq!(minted["budget_daily_usd"], "2.5");
    assert_eq!(minted["source"], "store");
    assert_eq!(
        t.chat(&plain).await,
        200,
        "usable as soon as the answer is back"
    );

    let (status, list) = t.call("GET", "/keys", &t.owner, None).await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains(&plain), "a list never shows a key");
    assert!(
        !text.contains(&KeyHash::of(&plain).to_string()[7..]),
        "nor its hash"
    );
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&"test-all"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"globex-owner"),
        "another tenant's keys are not listed: {ids:?}"
    );
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap();
    assert!(
        listed["last_used_at"].is_string(),
        "the use is shown: {listed}"
    );
    let (_, again) = t.call("GET", &format!("/keys/{id}"), &t.owner, None).await;
    assert!(
        again.get("key").is_none(),
        "the key is shown once only: {again}"
    );

    let (status, revoked) = t
        .call("POST", &format!("/keys/{id}/revoke"), &t.owner, None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(t.chat(&plain).await, 401, "a revoked key is refused");
    let (_, list) = t
        .call("GET", "/keys?include_revoked=true", &t.owner, None)
        .await;
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id.as_str() && k["revoked_at"].is_string()));
    let (_, list) = t.call("GET", "/keys", &t.owner, None).await;
    assert!(
        !list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id.as_str()),
        "revoked keys are left out by default"
    );

    let (status, audit) = t.call("GET", "/audit", &t.owner, None).await;
    assert_eq!(status, 200);
    let actions: Vec<(&str, &str)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("key.revoke", "acme-owner"), ("key.create", "acme-owner")]
    );
    assert!(
        !audit.to_string().contains(&plain[6..]),
        "the audit log holds no key"
    );
    t.gw.gateway.shutdown().await;
}

#[tokio::test]
async fn owners_stay_in_their_tenant_and_api_keys_stay_out() {
    let t = start().await;
    let (status, body) = t
        .call("POST", "/keys", &t.owner, Some(json!({"tenant": "globex"})))
        .await;
    assert_eq!(status, 403, "{body}");
    common::assert_openai_error(&body);
    let (status, _) = t
        .call("POST", "/keys", &t.owner, Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, 403, "an owner cannot mint admin keys");
    let (status, _) = t
        .call("POST", "/tenants", &t.owner, Some(json!({"id": "new"})))
        .await;
    assert_eq!(status, 403, "an owner cannot make tenants");
    let (_, theirs) = t
        .call("POST", "/keys", &t.other_owner, Some(json!({})))
        .await;
    let theirs = theirs["id"].as_str().unwrap().to_owned();
    let (status, _) = t
        .call("GET", &format!("/keys/{theirs}"), &t.owner, None)
        .await;
    assert_eq!(status, 404, "another tenant's key is not even found");
    let (status, _) = t
        .call("POST", &format!("/keys/{theirs}/revoke"), &t.owner, None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = t.call("GET", "/keys", &t.gw.key, None).await;
    assert_eq!(status, 403, "an API key has no admin rights: {body}");
    let (status, _) = t.call("GET", "/keys", "sk-gw-nope", None).await;
    assert_eq!(status, 401);
    // An admin names the tenant, and sees both.
    let (status, body) = t.call("POST", "/keys", &t.admin, Some(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "tenant");
    let (_, all) = t.call("GET", "/keys", &t.admin, None).await;
    assert!(all["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == theirs.as_str()));
    // An owner key itself serves no traffic.
    assert_eq!(t.chat(&t.owner).await, 403);
    t.gw.gateway.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_get_400s_naming_the_field() {
    let t = start().await;
    for (body, param) in [
        (json!({"rpm": 0}), "rpm"),
        (json!({"rpm": "ten"}), "rpm"),
        (json!({"budget_daily_usd": 1.5}), "budget_daily_usd"),
        (json!({"budget_monthly_usd": "-3"}), "budget_monthly_usd"),
        (json!({"models": ["no-such-model"]}), "models"),
        (json!({"models": vec!["mock-chat"; 1_000]}), "models"),
        (json!({"team": "a b"}), "team"),
        (json!({"expires_at": "tomorrow"}), "expires_at"),
        (json!({"role": "root"}), "role"),
        (json!({"lable": "typo"}), "lable"),
    ] {
        let (status, answer) = t.call("POST", "/keys", &t.owner, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = common::assert_openai_error(&answer);
        let named = format!("{} {}", error["param"], error["message"]);
        assert!(named.contains(param), "{body}: {answer}");
    }
    let response =
        t.gw.client
            .post(t.gw.url("/api/v1/admin/keys"))
            .bearer_auth(&t.owner)
            .body("{not json")
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 400);
    // A body past the server's limit is refused before it is parsed.
    let (status, _) = t
        .call(
            "POST",
            "/keys",
            &t.owner,
            Some(json!({"models": vec!["mock-chat"; 100_000]})),
        )
        .await;
    assert_eq!(status, 413);
    let (status, _) = t
        .call("PATCH", "/keys/test-all", &t.owner, Some(json!({"rpm": 5})))
        .await;
    assert_eq!(status, 409, "config keys are changed in the config file");
    t.gw.gateway.shutdown().await;
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_its_grace_period_only() {
    let t = start().await;
    let (_, first) = t
        .call("POST", "/keys", &t.owner, Some(json!({"label": "deploy"})))
        .await;
    let old_key = first["key"].as_str().unwrap().to_owned();
    let old_id = first["id"].as_str().unwrap().to_owned();
    let (status, rotated) = t
        .call(
            "POST",
            &format!("/keys/{old_id}/rotate"),
            &t.owner,
            Some(json!({"grace_seconds": 3600})),
        )
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(rotated["replaces"], old_id.as_str());
    assert_eq!(rotated["label"], "deploy", "settings carry over");
    assert!(rotated["replaced"]["expires_at"].is_string());
    assert_eq!(t.chat(&old_key).await, 200, "within its grace period");
    assert_eq!(t.chat(&new_key).await, 200);

    let new_id = rotated["id"].as_str().unwrap().to_owned();
    let (status, again) = t
        .call(
            "POST",
            &format!("/keys/{new_id}/rotate"),
            &t.owner,
            Some(json!({"grace_seconds": 0})),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(t.chat(&new_key).await, 401, "no grace: refused at once");
    assert_eq!(t.chat(again["key"].as_str().unwrap()).await, 200);
    t.gw.gateway.shutdown().await;
}

#[tokio::test]
async fn teams_and_tenants_carry_budgets_and_limits() {
    let t = start().await;
    let (status, team) = t
        .call(
            "POST",
            "/teams",
            &t.owner,
            Some(json!({"id": "web", "budget_monthly_usd": "100", "rpm": 1})),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    assert_eq!(team["budget_monthly_usd"], "100");
    let (status, _) = t
        .call("POST", "/teams", &t.owner, Some(json!({"id": "web"})))
        .await;
    assert_eq!(status, 409);
    let (status, team) = t
        .call(
            "PATCH",
            "/teams/acme/web",
            &t.owner,
            Some(json!({"budget_daily_usd": "5.00", "rpm": null})),
        )
        .await;
    assert_eq!(status, 200, "{team}");
    assert_eq!(
        (team["budget_daily_usd"].as_str(), team["rpm"].is_null()),
        (Some("5"), true)
    );
    let (_, listed) = t.call("GET", "/teams", &t.owner, None).await;
    assert_eq!(listed["data"][0]["budget_daily_usd"], "5");

    // A key's own rpm applies as soon as it is set.
    let (_, minted) = t
        .call("POST", "/keys", &t.owner, Some(json!({"rpm": 1})))
        .await;
    let key = minted["key"].as_str().unwrap();
    assert_eq!(t.chat(key).await, 200);
    assert_eq!(
        t.chat(key).await,
        429,
        "rpm 1: the second request in the minute is refused"
    );

    // The tenant, known from the config's keys, gets a store record on change.
    let (status, tenant) = t
        .call(
            "PATCH",
            "/tenants/acme",
            &t.owner,
            Some(json!({"tpm": 100000})),
        )
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["tpm"], 100000);
    let (status, _) = t
        .call(
            "PATCH",
            "/tenants/globex",
            &t.owner,
            Some(json!({"tpm": 1})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, made) = t
        .call(
            "POST",
            "/tenants",
            &t.admin,
            Some(json!({"id": "initech", "budget_monthly_usd": "250"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, all) = t.call("GET", "/tenants", &t.admin, None).await;
    assert!(all["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == "initech"));
    t.gw.gateway.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_admin_route_and_answer_field() {
    let t = start().await;
    let document: Value =
        t.gw.client
            .get(t.gw.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let paths = document["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/admin/keys", &["get", "post"][..]),
        ("/api/v1/admin/keys/{id}", &["get", "patch"]),
        ("/api/v1/admin/keys/{id}/rotate", &["post"]),
        ("/api/v1/admin/keys/{id}/revoke", &["post"]),
        ("/api/v1/admin/tenants", &["get", "post"]),
        ("/api/v1/admin/tenants/{id}", &["get", "patch"]),
        ("/api/v1/admin/teams", &["get", "post"]),
        ("/api/v1/admin/teams/{tenant}/{id}", &["get", "patch"]),
        ("/api/v1/admin/audit", &["get"]),
        ("/api/v1/admin/alerts/rules", &["get"]),
        ("/api/v1/admin/alerts/channels", &["get"]),
        ("/api/v1/admin/alerts/channels/{name}/test", &["post"]),
        ("/api/v1/admin/alerts/firings", &["get"]),
        ("/api/v1/admin/alerts/deliveries", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
    // Every field of real answers is a documented property of its schema.
    let schemas = &document["components"]["schemas"];
    let check = |answer: &Value, schema: &str| {
        let properties = schemas[schema]["properties"].as_object().unwrap();
        for field in answer.as_object().unwrap().keys() {
            assert!(
                properties.contains_key(field),
                "`{field}` of {schema} is not documented"
            );
        }
    };
    let (_, minted) = t
        .call("POST", "/keys", &t.owner, Some(json!({"rpm": 5})))
        .await;
    check(&minted, "KeyMinted");
    let id = minted["id"].as_str().unwrap();
    let (_, rotated) = t
        .call("POST", &format!("/keys/{id}/rotate"), &t.owner, None)
        .await;
    check(&rotated, "KeyRotated");
    let (_, listed) = t.call("GET", "/keys", &t.owner, None).await;
    for key in listed["data"].as_array().unwrap() {
        check(key, "Key");
    }
    let (_, team) = t
        .call("POST", "/teams", &t.owner, Some(json!({"id": "web"})))
        .await;
    check(&team, "Team");
    let (_, audit) = t.call("GET", "/audit", &t.owner, None).await;
    check(&audit["data"][0], "AuditEntry");
    t.gw.gateway.shutdown().await;
}
