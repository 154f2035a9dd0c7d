//! Read-only share links against a real gateway (embedded store; the store
//! part once more on Postgres): owners make, list and revoke links of their
//! own tenant only; bad bodies are 400s naming the field; a link's every
//! public route shows its tenant's figures, the analytics API's own, and
//! nothing of another tenant; 10,000 random tokens are all refused; expired
//! and revoked links show a clear page; passwords are asked for and checked;
//! views are counted exactly; a token is never an API key; the public routes
//! are rate limited; every route and field is in the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail on any error"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/share_env.rs"]
mod share_env;

use analytics::control::ShareRecord;
use chrono::{TimeDelta, Utc};
use futures_util::StreamExt;
use gateway::shares::token;
use serde_json::{json, Value};
use share_env::{seed, start, Env, GLOBEX_SECRETS, UNLIMITED};

fn all_panels() -> Value {
    json!([
        "tiles",
        "timeseries",
        "models",
        "providers",
        "teams",
        "keys",
        "routing_mix"
    ])
}

fn path_of(made: &Value) -> String {
    made["path"].as_str().unwrap().to_owned()
}

/// The analytics API's answer with `key`, without its `tenant`.
async fn api(env: &Env, key: &str, path_and_query: &str) -> Value {
    let response = env
        .gw
        .client
        .get(env.gw.url(path_and_query))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path_and_query}");
    let mut body: Value = response.json().await.unwrap();
    body.as_object_mut().unwrap().remove("tenant");
    body
}

#[tokio::test]
async fn owners_manage_their_own_tenants_links_only() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(json!({"range": {"preset": "last_30_days"}}), json!({}))
        .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(token::well_formed(&token), "{token}");
    assert!(made["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/share/{token}")));
    assert_eq!(made["tenant"], "acme");
    assert_eq!(made["status"], "active");
    assert_eq!(made["has_password"], false);
    assert_eq!(
        made["view"]["panels"],
        json!(["tiles", "timeseries", "models", "providers", "routing_mix"]),
        "the default panels name no team and no key"
    );

    let (status, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains(&token[4..]), "a list never shows a token");
    assert!(!text.contains(&token::hash(&token)[7..]), "nor its hash");
    assert_eq!(list["data"][0]["id"], id.as_str());

    // Another tenant's owner sees none of it and can change none of it.
    let (status, theirs) = env
        .admin_call("GET", "/shares", &env.globex_owner, None)
        .await;
    assert_eq!((status, theirs["data"].as_array().unwrap().len()), (200, 0));
    let (status, _) = env
        .admin_call("DELETE", &format!("/shares/{id}"), &env.globex_owner, None)
        .await;
    assert_eq!(status, 404, "another tenant's link is answered as missing");
    let (status, _) = env
        .admin_call("GET", "/shares?tenant=acme", &env.globex_owner, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = env
        .admin_call(
            "POST",
            "/shares",
            &env.globex_owner,
            Some(json!({"tenant": "acme", "view": {"range": {"preset": "last_7_days"}}, "expires_in_days": 1})),
        )
        .await;
    assert_eq!(status, 403);
    // Readers are not owners; an admin names the tenant.
    let (status, _) = env
        .admin_call("GET", "/shares", &env.acme_reader, None)
        .await;
    assert_eq!(status, 403);
    let (status, body) = env.admin_call("GET", "/shares", &env.admin, None).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("tenant"))
    );
    let (status, body) = env
        .admin_call("GET", "/shares?tenant=acme", &env.admin, None)
        .await;
    assert_eq!(
        (status, body["data"][0]["id"].as_str()),
        (200, Some(id.as_str()))
    );

    // Revoked by its owner: listed as revoked, and the change is audited.
    let (status, revoked) = env
        .admin_call("DELETE", &format!("/shares/{id}"), &env.acme_owner, None)
        .await;
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    let (_, audit) = env.admin_call("GET", "/audit", &env.acme_owner, None).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"share.create") && actions.contains(&"share.revoke"),
        "{actions:?}"
    );
    assert!(!audit.to_string().contains(&token[4..]));
}

#[tokio::test]
async fn bad_bodies_are_400s_naming_the_field() {
    let env = start(UNLIMITED).await;
    let preset = json!({"range": {"preset": "last_7_days"}});
    for (body, field) in [
        (
            json!({"view": {"range": {"preset": "last_year"}}, "expires_in_days": 1}),
            "view.range.preset",
        ),
        (
            json!({"view": {"range": {}}, "expires_in_days": 1}),
            "view.range.from",
        ),
        (
            json!({"view": {"range": {"from": "2026-13-01", "to": "2026-12-01"}}, "expires_in_days": 1}),
            "view.range.from",
        ),
        (
            json!({"view": {"range": {"from": "2026-12-01", "to": "2026-11-01"}}, "expires_in_days": 1}),
            "view.range.from",
        ),
        (
            json!({"view": {"range": {"preset": "last_7_days", "to": "2026-11-01"}}, "expires_in_days": 1}),
            "view.range",
        ),
        (
            json!({"view": {"range": {"preset": "last_7_days"}, "panels": ["tiles", "secrets"]}, "expires_in_days": 1}),
            "view.panels[1]",
        ),
        (
            json!({"view": {"range": {"preset": "last_7_days"}, "panels": ["tiles", "tiles"]}, "expires_in_days": 1}),
            "view.panels",
        ),
        (
            json!({"view": {"range": {"preset": "last_7_days"}, "filters": {"colour": "x"}}, "expires_in_days": 1}),
            "view.filters",
        ),
        (json!({"view": preset}), "expires_in_days"),
        (
            json!({"view": preset, "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"view": preset, "expires_in_days": 366}),
            "expires_in_days",
        ),
        (
            json!({"view": preset, "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"view": preset, "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (
            json!({"view": preset, "expires_in_days": 1, "password": "short"}),
            "password",
        ),
        (
            json!({"view": preset, "expires_in_days": 1, "label": "a\u{7}b"}),
            "label",
        ),
        (
            json!({"view": preset, "expires_in_days": 1, "owner": "me"}),
            "owner",
        ),
    ] {
        let (status, answer) = env
            .admin_call("POST", "/shares", &env.acme_owner, Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = common::assert_openai_error(&answer);
        let param = error["param"].as_str().unwrap_or("");
        assert!(
            param.starts_with(field),
            "{body}: param {param}, expected {field}: {answer}"
        );
    }
    let (status, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    assert_eq!(
        (status, list["data"].as_array().unwrap().len()),
        (200, 0),
        "nothing was made"
    );
}

/// Every route a link reaches shows acme's figures (the analytics API's own,
/// panel by panel) and nothing of globex's: no name, no amount.
#[tokio::test]
async fn a_link_shows_its_tenants_figures_and_nothing_of_another() {
    let env = start(UNLIMITED).await;
    seed(&env.gw).await;
    let made = env
        .share(
            json!({"range": {"preset": "last_30_days"}, "panels": all_panels()}),
            json!({}),
        )
        .await;
    let path = path_of(&made);

    let (status, headers, data) = env.public(&format!("{path}/data"), &[]).await;
    assert_eq!(status, 200, "{data}");
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-robots-tag", "noindex, nofollow"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    let data: Value = serde_json::from_str(&data).unwrap();
    let today = Utc::now().date_naive();
    let range = format!("from={}&to={today}", today - TimeDelta::days(29));
    assert_eq!(
        (data["from"].as_str(), data["to"].as_str()),
        (Some(&range[5..15]), Some(&*today.to_string()))
    );
    assert!(data["generated_at"].is_string() && data["label"] == "Q4 savings");
    let r = &env.acme_reader;
    let summary = api(&env, r, &format!("/api/v1/analytics/summary?{range}")).await;
    assert!(
        summary["requests"].as_i64().unwrap() > 20,
        "seeded: {summary}"
    );
    let expected = [
        ("tiles", summary),
        (
            "timeseries",
            api(&env, r, &format!("/api/v1/analytics/timeseries?{range}")).await,
        ),
        (
            "models",
            api(
                &env,
                r,
                &format!("/api/v1/analytics/breakdown?{range}&by=requested_model"),
            )
            .await,
        ),
        (
            "providers",
            api(
                &env,
                r,
                &format!("/api/v1/analytics/breakdown?{range}&by=provider"),
            )
            .await,
        ),
        (
            "teams",
            api(
                &env,
                r,
                &format!("/api/v1/analytics/breakdown?{range}&by=team"),
            )
            .await,
        ),
        (
            "keys",
            api(
                &env,
                r,
                &format!("/api/v1/analytics/breakdown?{range}&by=key"),
            )
            .await,
        ),
        (
            "routing_mix",
            api(&env, r, &format!("/api/v1/analytics/routing-mix?{range}")).await,
        ),
    ];
    for (panel, answer) in &expected {
        assert_eq!(&data["panels"][panel], answer, "panel {panel}");
    }

    // What globex's link would show: its figures must appear nowhere in acme's.
    let theirs = api(
        &env,
        &env.globex_reader,
        &format!("/api/v1/analytics/summary?{range}"),
    )
    .await;
    let mut secrets: Vec<String> = GLOBEX_SECRETS.iter().map(|s| (*s).to_owned()).collect();
    for field in ["spend_usd", "baseline_usd", "savings_usd"] {
        secrets.push(theirs[field].as_str().unwrap().to_owned());
    }
    let (_, _, page) = env.public(&path, &[]).await;
    let (_, _, embed) = env.public(&format!("{path}/embed"), &[]).await;
    let (_, _, svg) = env.public(&format!("{path}/tiles.svg"), &[]).await;
    let data_text = data.to_string();
    for (route, body) in [
        ("page", &page),
        ("data", &data_text),
        ("embed", &embed),
        ("tiles.svg", &svg),
    ] {
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "{route} shows globex's `{secret}`"
            );
        }
        assert!(!body.contains("\"tenant\""), "{route} names the tenant");
    }
    // The embed and the image carry acme's headline figures, rounded as shown.
    let spend = data["panels"]["tiles"]["spend_usd"].as_str().unwrap();
    let shown = format!("${}", round_cents(spend));
    assert!(embed.contains(&shown), "{shown} in {embed}");
    assert!(svg.starts_with("<svg") && svg.contains(&shown), "{svg}");
    assert!(
        page.contains("/dashboard/assets/share.js"),
        "the page loads its script"
    );
}

/// `12.3456` -> `12.35` (half up; test amounts are positive and >= $1).
fn round_cents(text: &str) -> String {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<3}");
    let mut cents: u64 =
        whole.parse::<u64>().unwrap() * 100 + fraction[..2].parse::<u64>().unwrap();
    if fraction.as_bytes()[2] >= b'5' {
        cents += 1;
    }
    let whole = (cents / 100).to_string();
    let grouped: Vec<String> = whole
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    format!("{}.{:02}", grouped.join(","), cents % 100)
}

#[tokio::test]
async fn ten_thousand_random_tokens_are_all_refused() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let real = made["token"].as_str().unwrap().to_owned();
    let tokens: Vec<String> = (0..10_000).map(|_| token::mint().unwrap()).collect();
    assert!(!tokens.contains(&real));
    let statuses: Vec<(u16, String)> = futures_util::stream::iter(tokens)
        .map(|token| {
            let env = &env;
            async move {
                let response = env
                    .gw
                    .client
                    .get(env.gw.url(&format!("/share/{token}/data")))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (
                    status,
                    body["error"]["code"].as_str().unwrap_or("").to_owned(),
                )
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(statuses.len(), 10_000);
    let refused = statuses
        .iter()
        .filter(|(s, c)| *s == 404 && c == "not_found")
        .count();
    assert_eq!(refused, 10_000, "every random token is an unknown link");
    // Malformed ones too, on every route, and the real one still works.
    for bad in [
        "x",
        &real[..real.len() - 1],
        &real.replace("gws_", "sk-gw-"),
        "%2e%2e%2fadmin",
    ] {
        for suffix in ["", "/data", "/embed", "/tiles.svg"] {
            let (status, _, _) = env.public(&format!("/share/{bad}{suffix}"), &[]).await;
            assert_eq!(status, 404, "/share/{bad}{suffix}");
        }
    }
    let (status, _, _) = env.public(&format!("/share/{real}/data"), &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn expired_and_revoked_links_show_a_clear_page() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let path = path_of(&made);
    let (status, _) = env
        .admin_call(
            "DELETE",
            &format!("/shares/{}", made["id"].as_str().unwrap()),
            &env.acme_owner,
            None,
        )
        .await;
    assert_eq!(status, 200);

    // A link whose expiry has passed, as the store would hold it.
    let expired = token::mint().unwrap();
    let record = ShareRecord {
        share_id: "shr_expiredexpired".into(),
        tenant_id: "acme".into(),
        token_hash: token::hash(&expired),
        label: None,
        view_json: r#"{"range":{"preset":"last_7_days"},"panels":["tiles"]}"#.into(),
        password_hash: None,
        expires_ms: Utc::now().timestamp_millis() - 1_000,
        created_ms: Utc::now().timestamp_millis() - 10_000,
        created_by: "acme-owner".into(),
        revoked_ms: None,
        views: 0,
        last_viewed_ms: None,
    };
    let audit = analytics::control::AuditEntry {
        at_ms: 1,
        tenant_id: "acme".into(),
        actor: "test".into(),
        action: "share.create".into(),
        target: record.share_id.clone(),
        detail: None,
    };
    assert!(env
        .gw
        .gateway
        .state
        .control_store
        .create_share(&record, &audit)
        .await
        .unwrap());

    for (path, word) in [(path, "revoked"), (format!("/share/{expired}"), "expired")] {
        let (status, headers, page) = env.public(&path, &[]).await;
        assert_eq!(status, 410, "{page}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            page.contains("no longer available") && page.contains(word),
            "{page}"
        );
        let (status, _, data) = env.public(&format!("{path}/data"), &[]).await;
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            (status, data["error"]["code"].as_str()),
            (410, Some("link_gone"))
        );
        assert!(data["error"]["message"].as_str().unwrap().contains(word));
        let (status, _, embed) = env.public(&format!("{path}/embed"), &[]).await;
        assert!(status == 410 && embed.contains(word), "{embed}");
        let (status, _, svg) = env.public(&format!("{path}/tiles.svg"), &[]).await;
        assert!(status == 410 && svg.starts_with("<svg"), "{svg}");
    }
    // And an unknown one says so.
    let (status, _, page) = env
        .public(&format!("/share/{}", token::mint().unwrap()), &[])
        .await;
    assert!(status == 404 && page.contains("Link not found"), "{page}");
}

#[tokio::test]
async fn password_links_need_their_password() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(
            json!({"range": {"preset": "last_7_days"}}),
            json!({"password": "open sesame"}),
        )
        .await;
    assert_eq!(made["has_password"], true);
    assert!(!made.to_string().contains("open sesame"));
    let path = path_of(&made);
    let data = format!("{path}/data");
    let code = |body: &str| -> String {
        let body: Value = serde_json::from_str(body).unwrap();
        body["error"]["code"].as_str().unwrap_or("").to_owned()
    };
    let (status, _, body) = env.public(&data, &[]).await;
    assert_eq!((status, code(&body).as_str()), (401, "password_required"));
    let (status, _, body) = env
        .public(&data, &[("x-share-password", "open sesame!")])
        .await;
    assert_eq!((status, code(&body).as_str()), (401, "wrong_password"));
    let (status, _, body) = env
        .public(&data, &[("x-share-password", "open sesame")])
        .await;
    assert_eq!(status, 200, "{body}");
    // The page shell asks for it itself; embeds cannot send one.
    let (status, _, _) = env.public(&path, &[]).await;
    assert_eq!(status, 200);
    let (status, _, embed) = env.public(&format!("{path}/embed"), &[]).await;
    assert!(
        status == 401 && embed.contains("needs a password"),
        "{embed}"
    );
}

#[tokio::test]
async fn views_are_counted_exactly() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let path = path_of(&made);
    let views = |list: &Value| {
        (
            list["data"][0]["views"].as_i64().unwrap(),
            list["data"][0]["last_viewed_at"].clone(),
        )
    };
    let (_, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    assert_eq!(views(&list), (0, Value::Null));
    for _ in 0..37 {
        let (status, _, _) = env.public(&format!("{path}/data"), &[]).await;
        assert_eq!(status, 200);
    }
    for suffix in ["/embed", "/tiles.svg", ""] {
        env.public(&format!("{path}{suffix}"), &[]).await;
    }
    // 37 reads of the figures, one embed, one image; the page shell holds no
    // figures and is not a view (its data request is).
    let (_, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    let (count, last) = views(&list);
    assert_eq!(count, 39);
    assert!(last.is_string());
    let (_, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    assert_eq!(views(&list).0, 39, "a second flush adds nothing");
}

#[tokio::test]
async fn a_share_token_is_never_an_api_key() {
    let env = start(UNLIMITED).await;
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let token = made["token"].as_str().unwrap();
    for (method, path) in [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/api/v1/analytics/summary"),
        ("GET", "/api/v1/admin/shares"),
    ] {
        let response = env
            .gw
            .client
            .request(method.parse().unwrap(), env.gw.url(path))
            .bearer_auth(token)
            .json(&common::chat_body("mock-chat"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
}

#[tokio::test]
async fn share_routes_are_rate_limited_per_address() {
    let env = start("requests_per_minute = 5").await;
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let path = path_of(&made);
    for n in 0..5 {
        let (status, _, _) = env.public(&format!("{path}/data"), &[]).await;
        assert_eq!(status, 200, "request {n}");
    }
    let (status, headers, body) = env.public(&format!("{path}/data"), &[]).await;
    assert_eq!(status, 429, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Unknown tokens take from the same allowance: guessing is limited too.
    let (status, _, page) = env
        .public(&format!("/share/{}", token::mint().unwrap()), &[])
        .await;
    assert!(
        status == 429 && page.contains("Too many requests"),
        "{page}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_share_routes_and_fields() {
    let env = start(UNLIMITED).await;
    let document: Value = env
        .gw
        .client
        .get(env.gw.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &document["paths"];
    for (path, method) in [
        ("/api/v1/admin/shares", "post"),
        ("/api/v1/admin/shares", "get"),
        ("/api/v1/admin/shares/{id}", "delete"),
        ("/share/{token}", "get"),
        ("/share/{token}/data", "get"),
        ("/share/{token}/embed", "get"),
        ("/share/{token}/tiles.svg", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let schemas = &document["components"]["schemas"];
    let made = env
        .share(json!({"range": {"preset": "last_7_days"}}), json!({}))
        .await;
    let (_, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    let (_, _, data) = env.public(&format!("{}/data", path_of(&made)), &[]).await;
    let data: Value = serde_json::from_str(&data).unwrap();
    for (answer, schema) in [
        (&made, "ShareCreated"),
        (&list["data"][0], "Share"),
        (&data, "ShareData"),
    ] {
        let properties = schemas[schema]["properties"].as_object().unwrap();
        for field in answer.as_object().unwrap().keys() {
            assert!(properties.contains_key(field), "`{field}` of {schema}");
        }
    }
}

/// The store part on Postgres: make, read, count, revoke.
#[tokio::test]
async fn links_work_on_postgres() {
    let db = pg::TestDb::create("gw_shares").await;
    let [owner, reader] = std::array::from_fn(|_| gateway::keys::mint().unwrap());
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let toml = share_env::keys_toml(
        &[
            ("acme-owner", &owner, "acme", "role = \"owner\""),
            ("acme-reader", &reader, "acme", "analytics = \"tenant\""),
        ],
        UNLIMITED,
    );
    let [key, limited] = std::array::from_fn(|_| gateway::keys::mint().unwrap());
    let text = common::config_text(mock.addr, &key, &limited, &toml).replace(
        "\n[analytics]\n",
        &format!("\n[analytics]\ndatabase_url = \"{}\"\n", db.url),
    );
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let env = Env {
        gw: common::TestGateway {
            gateway: gateway::server::start(&config).await.unwrap(),
            mock,
            key,
            limited_key: limited,
            client: reqwest::Client::new(),
        },
        acme_owner: owner,
        globex_owner: String::new(),
        acme_reader: reader.clone(),
        globex_reader: String::new(),
        admin: String::new(),
    };
    seed(&env.gw).await;
    let made = env
        .share(
            json!({"range": {"preset": "last_7_days"}, "panels": ["tiles"]}),
            json!({"password": "pg password"}),
        )
        .await;
    let path = path_of(&made);
    let (status, _, data) = env
        .public(
            &format!("{path}/data"),
            &[("x-share-password", "pg password")],
        )
        .await;
    assert_eq!(status, 200, "{data}");
    let data: Value = serde_json::from_str(&data).unwrap();
    let today = Utc::now().date_naive();
    let summary = api(
        &env,
        &reader,
        &format!(
            "/api/v1/analytics/summary?from={}&to={today}",
            today - TimeDelta::days(6)
        ),
    )
    .await;
    assert_eq!(data["panels"]["tiles"], summary);
    assert!(!data.to_string().contains("globex"));
    let (_, list) = env
        .admin_call("GET", "/shares", &env.acme_owner, None)
        .await;
    assert_eq!(list["data"][0]["views"], 1);
    let id = made["id"].as_str().unwrap();
    let (status, _) = env
        .admin_call("DELETE", &format!("/shares/{id}"), &env.acme_owner, None)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = env
        .public(
            &format!("{path}/data"),
            &[("x-share-password", "pg password")],
        )
        .await;
    assert_eq!(status, 410);
    env.gw.gateway.shutdown().await;
    db.drop_now().await;
}
