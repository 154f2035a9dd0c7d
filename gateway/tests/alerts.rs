//! Alerts that reach people (issue 10, "Prove it"): local receivers started
//! here (a webhook receiver, a Slack-format receiver, an SMTP server) get
//! signed, well-formed notices for a budget threshold, a spend spike and a
//! provider whose circuit stays open; a failing receiver is retried and the
//! failure recorded; a condition that holds is notified once and its end is
//! notified; the test alert works from the API and the CLI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure must stop the test"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/receivers.rs"]
mod receivers;

use std::process::Command;
use std::time::Duration;

use analytics::store::{EventStore, Store};
use analytics::UsageEvent;
use chrono::{DateTime, Days, Utc};
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use receivers::{HttpReceiver, Received, SmtpServer};
use serde_json::Value;
use sha2::{Digest, Sha256};

const HOOK_SECRET: &str = "whsec-test-0123456789";

/// HMAC-SHA256 written out here, apart from the gateway's, so the test checks
/// the signature against the definition rather than against itself.
fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a webhook request's signature, timestamp and idempotency key, and
/// returns its body.
fn verified(request: &Received) -> Value {
    let timestamp = request.header("x-gateway-timestamp");
    let sent_at: i64 = timestamp.parse().expect("a unix timestamp");
    assert!(
        (Utc::now().timestamp() - sent_at).abs() < 60,
        "fresh timestamp"
    );
    let mut signed = timestamp.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(&request.body);
    assert_eq!(
        request.header("x-gateway-signature"),
        format!("sha256={}", hmac_hex(HOOK_SECRET.as_bytes(), &signed)),
        "signature over timestamp.body"
    );
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    assert_eq!(
        request.header("idempotency-key"),
        body["id"].as_str().unwrap_or("?")
    );
    assert_eq!(
        request.header("x-gateway-event"),
        body["type"].as_str().unwrap_or("?")
    );
    body
}

fn event(tenant: &str, key: &str, at: DateTime<Utc>, cost: &str) -> UsageEvent {
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: at,
        tenant_id: tenant.to_owned(),
        key_id: key.to_owned(),
        team: None,
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: "mock-chat".to_owned(),
        routed_provider: Some("mock".to_owned()),
        routed_model: Some("mock".to_owned()),
        route_reason: "requested".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 10,
        completion_tokens: 10,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: Cost::parse_usd(cost).ok(),
        baseline_usd: Cost::parse_usd(cost).ok(),
        price_version: None,
        baseline_price_version: None,
        latency_ms: 10,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: None,
        upstream_format: None,
    }
}

fn channels_toml(hook: &HttpReceiver, smtp: &SmtpServer) -> String {
    format!(
        r#"
[[alerts.channels]]
name = "hook"
kind = "webhook"
url = "{}"
secret_env = "HOOK_SECRET"

[[alerts.channels]]
name = "slack"
kind = "slack"
url_env = "SLACK_URL"

[[alerts.channels]]
name = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
from = "Gateway <gateway@example.com>"
to = ["ops@example.com", "oncall@example.com"]
"#,
        hook.url("/hook"),
        smtp.addr.port()
    )
}

fn admin_key_toml(admin: &str) -> String {
    format!(
        "\n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"acme\"\nrole = \"admin\"\n",
        KeyHash::of(admin)
    )
}

async fn get_json(gw: &common::TestGateway, key: &str, path: &str) -> (u16, Value) {
    let response = gw
        .client
        .get(gw.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn of_type<'a>(bodies: &'a [Value], kind: &str) -> Vec<&'a Value> {
    bodies.iter().filter(|b| b["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_and_circuit_alerts_reach_every_channel_once_and_resolve() {
    let hook = HttpReceiver::start(&[]).await;
    let slack = HttpReceiver::start(&[]).await;
    let smtp = SmtpServer::start().await;
    let admin = keys::mint().expect("key");
    let slack_url = slack.url("/services/T0/B0/secret-token");
    let extra = format!(
        r#"
[routing]
circuit_failures = 1
circuit_open_ms = 600000

[[tenants]]
id = "acme"
budget_daily_usd = "10"

[alerts]
interval_ms = 100
backoff_ms = 20
{channels}
[[alerts.rules]]
name = "budgets"
kind = "budget"
channels = ["hook", "slack", "mail"]
thresholds = [50, 80, 100]
periods = ["daily"]

[[alerts.rules]]
name = "circuits"
kind = "provider_circuit"
channels = ["hook"]
open_for_ms = 300
providers = ["closed"]
{admin_key}"#,
        channels = channels_toml(&hook, &smtp),
        admin_key = admin_key_toml(&admin),
    );
    let gw = common::start_with_env(
        &extra,
        &[("HOOK_SECRET", HOOK_SECRET), ("SLACK_URL", &slack_url)],
    )
    .await;

    // $8.50 of a $10.00 daily budget: the 50% and 80% thresholds, not 100%.
    gw.gateway
        .store
        .write(&[
            event("acme", "test-all", Utc::now(), "5.25"),
            event("acme", "test-limited", Utc::now(), "3.25"),
        ])
        .await
        .expect("seeded");
    // The provider `closed` refuses connections: one failure opens its circuit.
    let response = gw
        .post("/v1/chat/completions", &common::chat_body("refused"))
        .await;
    assert!(response.status().is_server_error());

    let bodies: Vec<Value> = hook.wait_for(3).await.iter().map(verified).collect();
    let firing = of_type(&bodies, "alert.firing");
    assert_eq!(firing.len(), 3, "{bodies:#?}");
    let mut budget_subjects: Vec<&str> = firing
        .iter()
        .filter(|b| b["rule"] == "budgets")
        .map(|b| b["subject"].as_str().unwrap_or(""))
        .collect();
    budget_subjects.sort_unstable();
    assert_eq!(
        budget_subjects,
        ["tenant:acme/daily/50%", "tenant:acme/daily/80%"]
    );
    let eighty = firing
        .iter()
        .find(|b| b["subject"] == "tenant:acme/daily/80%")
        .expect("80%");
    assert_eq!(eighty["tenant"], "acme");
    assert_eq!(eighty["kind"], "budget");
    assert!(
        eighty["summary"]
            .as_str()
            .is_some_and(|s| s.contains("$8.50 of $10.00")),
        "{eighty}"
    );
    let circuit = firing
        .iter()
        .find(|b| b["rule"] == "circuits")
        .expect("circuit notice");
    assert_eq!(circuit["subject"], "provider:closed");
    assert!(circuit["tenant"].is_null());

    let slack_messages = slack.wait_for(2).await;
    for message in &slack_messages {
        let body = message.json();
        let text = body["text"].as_str().unwrap_or("");
        assert!(text.starts_with("[FIRING] tenant `acme`"), "{body}");
        assert_eq!(body["blocks"][0]["type"], "section");
        assert_eq!(body["blocks"][0]["text"]["type"], "mrkdwn");
        assert!(
            message.header("x-gateway-signature").is_empty(),
            "Slack is not signed"
        );
    }
    let mails = smtp.wait_for(2).await;
    for mail in &mails {
        assert_eq!(mail.from, "gateway@example.com");
        assert_eq!(mail.to, ["ops@example.com", "oncall@example.com"]);
        assert!(
            mail.data
                .contains("Subject: [gateway] [FIRING] tenant `acme`"),
            "{}",
            mail.data
        );
        assert!(
            mail.data.contains("Rule:    budgets (budget)"),
            "{}",
            mail.data
        );
    }

    // While the conditions hold, nothing more is sent (about 8 rounds).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.received().len(), 3);
    assert_eq!(slack.received().len(), 2);
    assert_eq!(smtp.mails().len(), 2);

    // The spend goes away (the store is the truth): both budget firings resolve.
    let Store::Sqlite(lite) = &*gw.gateway.store else {
        panic!("the embedded store")
    };
    sqlx::query("DELETE FROM usage_events")
        .execute(lite.pool())
        .await
        .expect("delete");
    let bodies: Vec<Value> = hook.wait_for(5).await.iter().map(verified).collect();
    let resolved = of_type(&bodies, "alert.resolved");
    assert_eq!(resolved.len(), 2, "{bodies:#?}");
    for notice in &resolved {
        assert_eq!(notice["rule"], "budgets");
        assert!(notice["resolved_at"].is_string());
        let firing_id = notice["firing_id"].as_str().unwrap_or("?");
        assert_eq!(notice["id"], format!("{firing_id}:resolved"));
    }
    let slack_bodies: Vec<Value> = slack.wait_for(4).await.iter().map(Received::json).collect();
    assert_eq!(
        slack_bodies
            .iter()
            .filter(|b| b["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[RESOLVED]")))
            .count(),
        2
    );
    smtp.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        hook.received().len(),
        5,
        "no more notices after the resolves"
    );

    // The API lists what happened; the circuit's firing is still open.
    let (status, firings) = get_json(&gw, &admin, "/api/v1/admin/alerts/firings").await;
    assert_eq!(status, 200, "{firings}");
    let rows = firings["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 3, "{firings}");
    let open: Vec<&Value> = rows.iter().filter(|f| f["state"] == "open").collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["subject"], "provider:closed");
    let (_, open_only) = get_json(&gw, &admin, "/api/v1/admin/alerts/firings?state=open").await;
    assert_eq!(open_only["data"].as_array().map(Vec::len), Some(1));
    let (status, deliveries) =
        get_json(&gw, &admin, "/api/v1/admin/alerts/deliveries?limit=1000").await;
    assert_eq!(status, 200);
    let rows = deliveries["data"].as_array().cloned().unwrap_or_default();
    // 2 budget firings x 3 channels x (firing + resolved) + 1 circuit notice.
    assert_eq!(rows.len(), 13, "{deliveries}");
    assert!(rows
        .iter()
        .all(|d| d["outcome"] == "delivered" && d["attempt"] == 1));

    // Rules and channels show no secret; only admin keys may read them.
    let (status, channels) = get_json(&gw, &admin, "/api/v1/admin/alerts/channels").await;
    assert_eq!(status, 200);
    let text = channels.to_string();
    assert!(
        !text.contains("secret-token") && !text.contains(HOOK_SECRET),
        "{text}"
    );
    assert_eq!(channels["data"][1]["kind"], "slack");
    let (_, rules) = get_json(&gw, &admin, "/api/v1/admin/alerts/rules").await;
    assert_eq!(
        rules["data"][0]["settings"]["thresholds"],
        serde_json::json!([50, 80, 100])
    );
    assert_eq!(rules["data"][1]["channels"], serde_json::json!(["hook"]));
    let (status, refused) = get_json(&gw, &gw.key, "/api/v1/admin/alerts/firings").await;
    assert_eq!(status, 403, "{refused}");
    common::assert_openai_error(&refused);
    let (status, bad) = get_json(&gw, &admin, "/api/v1/admin/alerts/firings?limit=0").await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["param"], "limit");

    gw.gateway.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spend_spike_is_signed_retried_after_a_500_and_recorded_in_postgres() {
    let db = pg::TestDb::create("alerts_spike").await;
    // The receiver fails the first notice once, then takes everything.
    let hook = HttpReceiver::start(&[500]).await;
    let slack = HttpReceiver::start(&[]).await;
    let smtp = SmtpServer::start().await;
    let admin = keys::mint().expect("key");
    let extra = format!(
        r#"
[alerts]
interval_ms = 150
backoff_ms = 50
{channels}
[[alerts.rules]]
name = "spikes"
kind = "spend_spike"
channels = ["hook"]
factor = 3
weeks = 4
min_usd = "1"
{admin_key}"#,
        channels = channels_toml(&hook, &smtp),
        admin_key = admin_key_toml(&admin),
    );
    let gw = common::start_with_env(
        &extra,
        &[
            ("HOOK_SECRET", HOOK_SECRET),
            ("SLACK_URL", &slack.url("/s")),
            ("GATEWAY__ANALYTICS__DATABASE_URL", &db.url),
        ],
    )
    .await;
    assert!(matches!(&*gw.gateway.store, Store::Postgres(_)));

    // $1.00 on the same weekday of each of the last 4 weeks (and $40 on
    // other days, which do not count), then $3.50 today: more than 3x $1.00.
    let now = Utc::now();
    let mut past = Vec::new();
    for weeks in 1..=4u64 {
        let day = now - Days::new(7 * weeks);
        past.push(event("acme", "test-all", day, "0.60"));
        past.push(event("acme", "test-all", day, "0.40"));
        past.push(event(
            "acme",
            "test-all",
            now - Days::new(7 * weeks - 1),
            "40",
        ));
    }
    gw.gateway.store.write(&past).await.expect("seeded");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(hook.received().is_empty(), "no spike yet");
    gw.gateway
        .store
        .write(&[event("acme", "test-limited", now, "3.5")])
        .await
        .expect("today");

    let received = hook.wait_for(2).await;
    let first = verified(&received[0]);
    let second = verified(&received[1]);
    assert_eq!(first, second, "the retry carries the same notice");
    assert_eq!(
        received[0].header("idempotency-key"),
        received[1].header("idempotency-key")
    );
    assert_eq!(first["type"], "alert.firing");
    assert_eq!(first["rule"], "spikes");
    assert_eq!(first["kind"], "spend_spike");
    assert_eq!(first["subject"], "tenant:acme");
    let summary = first["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("$3.50 spent today") && summary.contains("$1.00 average"),
        "{summary}"
    );

    // Both attempts are recorded: the 500 (retried) and the delivery.
    let firing_id = first["firing_id"].as_str().unwrap_or("?").to_owned();
    // (The delivery is recorded just after the receiver answered: wait for it.)
    let path = format!("/api/v1/admin/alerts/deliveries?firing={firing_id}");
    let mut deliveries = Value::Null;
    for _ in 0..100 {
        let (status, body) = get_json(&gw, &admin, &path).await;
        assert_eq!(status, 200, "{body}");
        deliveries = body;
        if deliveries["data"].as_array().map(Vec::len) == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut rows = deliveries["data"].as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|d| d["attempt"].as_u64());
    assert_eq!(rows.len(), 2, "{deliveries}");
    assert_eq!(rows[0]["outcome"], "retrying");
    assert_eq!(rows[0]["http_status"], 500);
    assert_eq!(rows[0]["error"], "the receiver answered 500");
    assert_eq!(rows[1]["outcome"], "delivered");
    assert_eq!(rows[1]["attempt"], 2);
    assert_eq!(rows[1]["tenant"], "acme");

    // The tenant's rows are under Row-Level Security like every tenant table.
    let Store::Postgres(store) = &*gw.gateway.store else {
        panic!("postgres")
    };
    let (policies,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_policy WHERE polrelid IN ('alert_firings'::regclass, 'alert_deliveries'::regclass) AND polname = 'reader_bound_tenant'",
    )
    .fetch_one(store.pool())
    .await
    .expect("policies");
    assert_eq!(policies, 2);

    // A test alert from the API goes out at once to each kind of channel.
    for (channel, received_before) in [("hook", 2), ("slack", 0)] {
        let response = gw
            .client
            .post(gw.url(&format!("/api/v1/admin/alerts/channels/{channel}/test")))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("test");
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["delivered"], true, "{report}");
        assert_eq!(report["attempts"][0]["outcome"], "delivered");
        let receiver = if channel == "hook" { &hook } else { &slack };
        let got = receiver.wait_for(received_before + 1).await;
        let last = got.last().expect("one");
        if channel == "hook" {
            assert_eq!(verified(last)["type"], "alert.test");
        } else {
            assert!(last.json()["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[TEST]")));
        }
    }
    let response = gw
        .client
        .post(gw.url("/api/v1/admin/alerts/channels/mail/test"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("test");
    assert_eq!(response.status(), 200);
    let mails = smtp.wait_for(1).await;
    assert!(
        mails[0].data.contains("[TEST] Test alert from the gateway"),
        "{}",
        mails[0].data
    );
    let response = gw
        .client
        .post(gw.url("/api/v1/admin/alerts/channels/nope/test"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("test");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["param"], "name");
    let (_, tests) = get_json(&gw, &admin, "/api/v1/admin/alerts/deliveries?channel=slack").await;
    assert_eq!(tests["data"][0]["notice"], "test");

    gw.gateway.shutdown().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sends_a_test_alert_and_fails_for_an_undeliverable_channel() {
    let hook = HttpReceiver::start(&[]).await;
    let slack = HttpReceiver::start(&[]).await;
    let smtp = SmtpServer::start().await;
    let dead = HttpReceiver::start(&[503, 503, 503]).await;
    let text = format!(
        "[alerts]\nmax_attempts = 3\nbackoff_ms = 10\n{}\n[[alerts.channels]]\nname = \"dead\"\nkind = \"slack\"\nurl = \"{}\"\n{}",
        channels_toml(&hook, &smtp),
        dead.url("/x"),
        common::analytics_toml()
    );
    let dir =
        std::env::temp_dir().join(format!("gateway-alerts-cli-{}", keys::mint().expect("key")));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).expect("config");
    let run = |channel: &str| {
        let path = path.clone();
        let channel = channel.to_owned();
        let slack_url = slack.url("/s");
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_gateway"))
                .args(["alerts", "test", "--config"])
                .arg(&path)
                .args(["--channel", &channel])
                .env_remove("GATEWAY_CONFIG")
                .env("HOOK_SECRET", HOOK_SECRET)
                .env("SLACK_URL", slack_url)
                .output()
                .expect("runs")
        })
    };

    let output = run("hook").await.expect("joined");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["channel"], "hook");
    assert_eq!(report["delivered"], true);
    let got = hook.wait_for(1).await;
    assert_eq!(verified(&got[0])["type"], "alert.test");

    let output = run("mail").await.expect("joined");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        smtp.wait_for(1).await[0].to,
        ["ops@example.com", "oncall@example.com"]
    );

    // Three 503s: three attempts, then failure and exit status 1.
    let output = run("dead").await.expect("joined");
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["delivered"], false);
    let outcomes: Vec<&str> = report["attempts"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes, ["retrying", "retrying", "failed"]);
    assert_eq!(dead.received().len(), 3);

    let output = run("nope").await.expect("joined");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no channel named `nope`"));
    let _ = std::fs::remove_dir_all(&dir);
}
