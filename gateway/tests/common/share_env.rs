//! Test support for share links: a gateway with owner, reader and admin keys
//! of two tenants whose traffic differs in every name and amount (so a leak
//! of one into the other's link shows by name), and calls of the admin API.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed setup must stop the test"
)]

use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{NaiveTime, TimeDelta, Utc};
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::{json, Value};

use super::common::{self, TestGateway};

pub struct Env {
    pub gw: TestGateway,
    pub acme_owner: String,
    pub globex_owner: String,
    /// API keys that read their whole tenant's analytics.
    pub acme_reader: String,
    pub globex_reader: String,
    pub admin: String,
}

/// Names only globex's traffic carries.
pub const GLOBEX_SECRETS: &[&str] = &[
    "globex",
    "globex-secret-model",
    "globex-key-7",
    "globex-team-z",
    "globex-cloud",
];

/// The keys' TOML, and `shares` (`[shares]` settings).
pub fn keys_toml(keys: &[(&str, &str, &str, &str)], shares: &str) -> String {
    let mut toml = format!("\n[shares]\n{shares}\n");
    for (id, key, tenant, settings) in keys {
        toml.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n{settings}\n",
            KeyHash::of(key)
        ));
    }
    toml
}

/// A gateway with `[shares]` settings `shares`.
pub async fn start(shares: &str) -> Env {
    let [acme_owner, globex_owner, acme_reader, globex_reader, admin] =
        std::array::from_fn(|_| keys::mint().unwrap());
    let toml = keys_toml(
        &[
            ("acme-owner", &acme_owner, "acme", "role = \"owner\""),
            ("globex-owner", &globex_owner, "globex", "role = \"owner\""),
            (
                "acme-reader",
                &acme_reader,
                "acme",
                "analytics = \"tenant\"",
            ),
            (
                "globex-reader",
                &globex_reader,
                "globex",
                "analytics = \"tenant\"",
            ),
            ("ops-admin", &admin, "ops", "role = \"admin\""),
        ],
        shares,
    );
    Env {
        gw: common::start_with(&toml).await,
        acme_owner,
        globex_owner,
        acme_reader,
        globex_reader,
        admin,
    }
}

/// High rates: tests that make many requests are not limited.
pub const UNLIMITED: &str = "requests_per_minute = 1000000\nlink_requests_per_minute = 1000000";

fn event(tenant: &str, n: i64, days_ago: i64) -> UsageEvent {
    let day = Utc::now().date_naive() - TimeDelta::days(days_ago);
    let acme = tenant == "acme";
    let pick = |a: &str, b: &str| if acme { a.to_owned() } else { b.to_owned() };
    // acme: whole thousandths of a dollar; globex: runs of sevens.
    let cost = if acme {
        1_000_000_000 * (n + 1)
    } else {
        7_777_777_777 * (n + 3)
    };
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::seconds(60 * n + 5),
        tenant_id: tenant.to_owned(),
        key_id: pick(
            if n % 2 == 0 {
                "acme-key-1"
            } else {
                "acme-key-2"
            },
            "globex-key-7",
        ),
        team: Some(pick("acme-web", "globex-team-z")),
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: pick(
            if n % 3 == 0 { "gpt-4o" } else { "acme-model-x" },
            "globex-secret-model",
        ),
        routed_provider: Some(pick("openai", "globex-cloud")),
        routed_model: Some(pick("gpt-4o-mini", "globex-secret-model")),
        route_reason: "requested".to_owned(),
        attempts: 1,
        stream: false,
        status: if n % 5 == 4 { 500 } else { 200 },
        error_kind: (n % 5 == 4).then(|| "upstream_status".to_owned()),
        prompt_tokens: 100 + n as u64,
        completion_tokens: 10,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: Some(Cost(i128::from(cost))),
        baseline_usd: Some(Cost(i128::from(cost) * 3)),
        price_version: None,
        baseline_price_version: None,
        latency_ms: 20 + 7 * n as u32,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: None,
        upstream_format: None,
    }
}

/// Traffic of both tenants over the last few days, rolled up.
pub async fn seed(gw: &TestGateway) {
    let mut events = Vec::new();
    for days_ago in 1..5 {
        for n in 0..(6 + days_ago) {
            events.push(event("acme", n, days_ago));
            events.push(event("globex", n + 2, days_ago));
        }
    }
    let store = &gw.gateway.store;
    assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);
    let today = Utc::now().date_naive();
    store
        .rollup(today - TimeDelta::days(6), today)
        .await
        .unwrap();
}

impl Env {
    /// Calls the admin API with `key`: (status, body).
    pub async fn admin_call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .gw
            .client
            .request(
                method.parse().unwrap(),
                self.gw.url(&format!("/api/v1/admin{path}")),
            )
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

    /// Makes a link of acme's with `view` (and `extra` fields); returns the answer.
    pub async fn share(&self, view: Value, extra: Value) -> Value {
        let mut body = json!({"view": view, "expires_in_days": 7, "label": "Q4 savings"});
        for (name, value) in extra.as_object().unwrap() {
            body[name] = value.clone();
        }
        let (status, made) = self
            .admin_call("POST", "/shares", &self.acme_owner, Some(body))
            .await;
        assert_eq!(status, 201, "{made}");
        made
    }

    /// GETs `path` without any key: (status, headers, body text).
    pub async fn public(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self.gw.client.get(self.gw.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }
}
