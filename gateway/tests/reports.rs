//! Scheduled reports (issue 11, "Prove it"): a local SMTP server and a webhook
//! receiver started here get the weekly report exactly once across a restart
//! of the gateway on the same store; the e-mail's HTML part has inline SVG
//! charts and its CSV attachment the API's figures; the webhook's report is
//! the API's JSON. A delivery answered with a 500 is retried (after a
//! restart too) and every attempt recorded; "send now" always sends. The PDF
//! parses with a real parser and its text carries the API's figures.

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

use std::time::Duration;

use analytics::store::{EventStore, Store};
use analytics::UsageEvent;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use gateway::config::reports::Kind;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::reports::period::Period;
use gateway::server::{self, RunningGateway};
use pricing::Cost;
use receivers::{HttpReceiver, Received, SmtpServer};
use serde_json::Value;

const HOOK_SECRET: &str = "whsec-reports-0123456789";

/// One event; `cost` `None`: served by a model without a price.
#[allow(clippy::too_many_arguments, reason = "a table of test events")]
fn event(
    at: DateTime<Utc>,
    team: Option<&str>,
    requested: &str,
    routed: &str,
    cost: Option<&str>,
    baseline: &str,
    status: u16,
    attempts: u16,
    latency_ms: u32,
) -> UsageEvent {
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: at,
        tenant_id: "acme".to_owned(),
        key_id: "test-all".to_owned(),
        team: team.map(str::to_owned),
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: requested.to_owned(),
        routed_provider: Some("mock".to_owned()),
        routed_model: Some(routed.to_owned()),
        route_reason: "cheapest".to_owned(),
        attempts,
        stream: false,
        status,
        error_kind: (status >= 400).then(|| "upstream_error".to_owned()),
        prompt_tokens: 100,
        completion_tokens: 50,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: cost.map(|c| Cost::parse_usd(c).unwrap()),
        baseline_usd: cost.map(|_| Cost::parse_usd(baseline).unwrap()),
        price_version: None,
        baseline_price_version: None,
        latency_ms,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: None,
        upstream_format: None,
    }
}

/// The week before this one (UTC): what a weekly schedule due now reports.
fn last_week() -> Period {
    Period::of(Kind::Weekly, Utc::now().date_naive()).previous()
}

fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0).unwrap().and_utc()
}

/// Traffic of last week (two teams, a substituted route, an error, a
/// failover, an unpriced request) and the week before, rolled up.
async fn seed(store: &Store) {
    let week = last_week();
    let before = week.previous();
    let d = |n: u64| noon(week.start + Days::new(n));
    let events = vec![
        event(
            d(0),
            Some("platform"),
            "premium",
            "mock",
            Some("1.25"),
            "4.5",
            200,
            1,
            120,
        ),
        event(
            d(0),
            Some("platform"),
            "premium",
            "premium",
            Some("4.5"),
            "4.5",
            200,
            1,
            300,
        ),
        event(
            d(2),
            Some("data"),
            "premium",
            "mock",
            Some("0.75"),
            "3.125",
            200,
            2,
            900,
        ),
        event(
            d(3),
            Some("data"),
            "mock-chat",
            "mock-chat",
            Some("0.5"),
            "0.5",
            502,
            1,
            40,
        ),
        event(d(6), None, "mock-chat", "mock-chat", None, "0", 200, 1, 60),
        event(
            noon(before.start + Days::new(1)),
            Some("platform"),
            "premium",
            "premium",
            Some("2"),
            "2",
            200,
            1,
            200,
        ),
    ];
    assert_eq!(store.write(&events).await.unwrap(), 6);
    store.rollup(before.start, week.end).await.unwrap();
}

/// Config text of a gateway with `extra`, an admin key, and the receivers'
/// channels (the same text starts it again: the same SQLite file).
struct Setup {
    text: String,
    admin: String,
    key: String,
    mock: gateway::mock_provider::RunningMock,
}

async fn setup(extra: &str, hook: &HttpReceiver, smtp: &SmtpServer) -> Setup {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = keys::mint().unwrap();
    let limited = keys::mint().unwrap();
    let admin = keys::mint().unwrap();
    let channels = format!(
        r#"
[[alerts.channels]]
name = "hook"
kind = "webhook"
url = "{}"
secret_env = "HOOK_SECRET"

[[alerts.channels]]
name = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
from = "Gateway <gateway@example.com>"
to = ["finance@example.com"]

[[keys]]
id = "ops-admin"
hash = "{}"
tenant = "ops"
role = "admin"
"#,
        hook.url("/reports"),
        smtp.addr.port(),
        KeyHash::of(&admin)
    );
    let text = common::config_text(mock.addr, &key, &limited, &format!("{extra}{channels}"));
    Setup {
        text,
        admin,
        key,
        mock,
    }
}

async fn start(setup: &Setup, database_url: Option<&str>) -> RunningGateway {
    let vars: Vec<(String, String)> = database_url
        .map(|url| {
            vec![(
                "GATEWAY__ANALYTICS__DATABASE_URL".to_owned(),
                url.to_owned(),
            )]
        })
        .unwrap_or_default();
    let config = Config::from_toml(&setup.text, vars, |name| match name {
        "HOOK_SECRET" => Some(HOOK_SECRET.to_owned()),
        "TEST_MOCK_PROVIDER_KEY" => Some("sk-provider".to_owned()),
        _ => None,
    })
    .unwrap();
    server::start(&config).await.unwrap()
}

/// The embedded store's file named in the config text.
fn sqlite_path(text: &str) -> std::path::PathBuf {
    let line = text
        .lines()
        .find(|l| l.starts_with("sqlite_path = "))
        .unwrap();
    line["sqlite_path = ".len()..].trim_matches('"').into()
}

fn weekly_due_now(channels: &str, extra: &str) -> String {
    let weekday = Utc::now().weekday().to_string().to_ascii_lowercase();
    format!(
        "\n[reports]\ninterval_ms = 100\n[[reports.schedules]]\ntenant = \"acme\"\nperiod = \"weekly\"\n\
         weekday = \"{weekday}\"\nat = \"00:00\"\ntime_zone = \"UTC\"\nchannels = {channels}\n{extra}"
    )
}

async fn get(gw: &RunningGateway, key: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("http://{}{path}", gw.addr))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn get_json(gw: &RunningGateway, key: &str, path: &str) -> (u16, Value) {
    let response = get(gw, key, path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// acme's report of `period`, read by an admin key.
async fn report_of(gw: &RunningGateway, admin: &str, period: Period) -> (u16, Value) {
    get_json(
        gw,
        admin,
        &format!("/api/v1/reports/{}?tenant=acme", period.name()),
    )
    .await
}

/// acme's analytics summary of the days of `period`.
async fn summary_of(gw: &RunningGateway, admin: &str, period: Period) -> (u16, Value) {
    let path = format!(
        "/api/v1/analytics/summary?tenant=acme&from={}&to={}",
        period.start, period.end
    );
    get_json(gw, admin, &path).await
}

/// Base64 (RFC 4648), whitespace ignored.
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == byte).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The decoded bodies of a mail's MIME parts, with each part's headers.
fn parts(data: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for chunk in data.split("\n--") {
        let Some((head, body)) = chunk.split_once("\n\n") else {
            continue;
        };
        let head = head.to_ascii_lowercase();
        if !head.contains("content-transfer-encoding: base64") {
            continue;
        }
        let body = body.split("\n--").next().unwrap_or("");
        let decoded = String::from_utf8(base64(body)).unwrap();
        found.push((head, decoded));
    }
    found
}

/// A JSON cell as the CSV writes it.
fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The summary's figures without its range columns.
fn figures_only(mut summary: Value) -> Value {
    for name in ["tenant", "from", "to"] {
        summary.as_object_mut().unwrap().remove(name);
    }
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_report_is_mailed_and_posted_once_across_a_restart() {
    let hook = HttpReceiver::start(&[]).await;
    let smtp = SmtpServer::start().await;
    let setup = setup(&weekly_due_now("[\"mail\", \"hook\"]", ""), &hook, &smtp).await;
    // Last week's traffic is in the store before the gateway starts.
    let store = Store::open_sqlite(&sqlite_path(&setup.text)).await.unwrap();
    seed(&store).await;
    // Sales promised $4 a month from the month of the traffic on.
    let promise = analytics::promises::NewPromise {
        created_at_ms: 1,
        created_by: "cli".to_owned(),
        start_month: last_week().previous().start.with_day(1).unwrap(),
        seats: 2,
        fee_monthly: Cost::parse_usd("98").unwrap(),
        promised_gross_monthly: Cost::parse_usd("4").unwrap(),
        inputs: "{}".to_owned(),
    };
    store.save_promise("acme", promise).await.unwrap();
    if let Store::Sqlite(lite) = &store {
        lite.close().await;
    }

    let gw = start(&setup, None).await;
    let mails = smtp.wait_for(1).await;
    let posts = hook.wait_for(1).await;
    let week = last_week();
    let (status, api) = report_of(&gw, &setup.admin, week).await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["period"], week.name());
    assert_eq!(api["figures"]["requests"], 5);
    assert_eq!(api["figures"]["spend_usd"], "7");
    assert_eq!(api["figures"]["baseline_usd"], "12.625");
    assert_eq!(api["figures"]["unpriced_requests"], 1);
    assert_eq!(api["previous"]["figures"]["spend_usd"], "2");
    assert_eq!(api["top_models"][0]["requested_model"], "premium");
    assert_eq!(api["top_teams"][0]["team"], "platform");
    assert_eq!(api["routing_mix"]["substitution_rate_pct"], "40.00");
    assert_eq!(api["routing_mix"]["previous_substitution_rate_pct"], "0.00");
    assert_eq!(api["reliability"]["error_rate_pct"], "20.00");
    assert_eq!(api["daily"].as_array().map(Vec::len), Some(7));
    // ROI to date: every saving since the promise's start month is measured.
    let roi = &api["roi_to_date"];
    assert_eq!(roi["promise_version"], 1, "{roi}");
    assert_eq!(roi["measured_savings_usd"], "5.625");
    assert_eq!(roi["promised_year_savings_usd"], "48");
    // The same figures as the analytics API's summary of the same days.
    let (_, summary) = summary_of(&gw, &setup.admin, week).await;
    assert_eq!(api["figures"], figures_only(summary));

    // The webhook: signed, keyed by run and channel, carrying the API's report.
    let post: &Received = &posts[0];
    let body = post.json();
    assert_eq!(post.header("x-gateway-event"), "report.weekly");
    assert!(post.header("x-gateway-signature").starts_with("sha256="));
    let run_id = body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(post.header("idempotency-key"), format!("{run_id}:hook"));
    assert_eq!(body["id"], format!("{run_id}:hook"));
    assert_eq!(body["origin"], "scheduled");
    assert_eq!(body["report"], api);

    // The e-mail: text and HTML (with inline SVG charts) and the CSV.
    let mail = &mails[0];
    assert_eq!(mail.from, "gateway@example.com");
    assert_eq!(mail.to, ["finance@example.com"]);
    assert!(mail
        .data
        .contains(&format!("Weekly report {} for acme", week.name())));
    let parts = parts(&mail.data);
    let html = parts
        .iter()
        .find(|(head, _)| head.contains("text/html"))
        .map(|(_, body)| body.clone())
        .expect("an HTML part");
    assert!(
        html.contains("<svg") && html.matches("<svg").count() == 2,
        "{html}"
    );
    assert!(html.contains("<td>12.625</td>"), "{html}");
    assert!(html.contains("ROI to date (promise v1"), "{html}");
    let text = parts
        .iter()
        .find(|(head, _)| head.contains("text/plain"))
        .map(|(_, body)| body.clone())
        .expect("a text part");
    assert!(
        text.contains("Spend (USD)") && text.contains("12.625"),
        "{text}"
    );
    let (csv_head, csv) = parts
        .iter()
        .find(|(head, _)| head.contains("text/csv"))
        .expect("a CSV attachment");
    assert!(csv_head.contains(&format!(
        "report-acme-{}.csv",
        week.name().to_ascii_lowercase()
    )));
    let lines: Vec<&str> = csv.lines().collect();
    let columns: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!((row[0], row[1]), ("period", week.name().as_str()));
    assert_eq!(columns.len(), row.len());
    for (name, value) in columns.iter().zip(&row).skip(2) {
        assert_eq!(*value, csv_cell(&api["figures"][*name]), "{name}");
    }
    assert!(lines.iter().any(|l| l.starts_with("model,premium,")));

    // Stopped and started again on the same store: nothing is sent twice.
    gw.shutdown().await;
    let gw = start(&setup, None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 1, "one mail in all");
    assert_eq!(hook.received().len(), 1, "one webhook in all");
    let runs = gw.store.report_runs(Some("acme"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].id.as_str(), runs[0].status.as_str()),
        (run_id.as_str(), "delivered")
    );
    let attempts = gw.store.report_attempts(&run_id).await.unwrap();
    let outcomes: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| (a.channel.as_str(), a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [("hook", "delivered"), ("mail", "delivered")]);

    // The API's answers to bad periods, and to another tenant's key.
    for (path, status) in [
        ("/api/v1/reports/2026-13?tenant=acme", 400),
        ("/api/v1/reports/2026-W54?tenant=acme", 400),
        ("/api/v1/reports/2999-01?tenant=acme", 400),
        ("/api/v1/reports/2026-11?tenant=globex", 403),
    ] {
        let key = if status == 403 {
            &setup.key
        } else {
            &setup.admin
        };
        let (got, body) = get_json(&gw, key, path).await;
        assert_eq!(got, status, "{path}: {body}");
        if status == 400 {
            assert_eq!(body["error"]["param"], "period", "{body}");
        }
    }
    gw.shutdown().await;

    // `gateway reports send`: a manual run on the same store, to the
    // schedule's channels; a period not begun is refused.
    let file = sqlite_path(&setup.text).with_file_name("gateway.toml");
    std::fs::write(&file, &setup.text).unwrap();
    let cli = |period: String| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["reports", "send", "--tenant", "acme", "--period", &period])
            .arg("--config")
            .arg(&file)
            .env("HOOK_SECRET", HOOK_SECRET)
            .env("TEST_MOCK_PROVIDER_KEY", "sk-provider")
            .output()
    };
    let output = cli(week.name()).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sent: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sent["attempts"].as_array().map(Vec::len), Some(2), "{sent}");
    let posts = hook.wait_for(2).await;
    assert_eq!(posts[1].json()["origin"], "manual");
    assert_eq!(posts[1].json()["report"], api);
    smtp.wait_for(2).await;
    let output = cli("2999-01".to_owned()).await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has not begun"));
    drop(setup.mock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_after_a_restart_and_recorded_on_postgres() {
    let db = pg::TestDb::create("reports_retry").await;
    // The first attempt gets a 500; the retry waits 1.5 s, long enough for
    // the gateway to be stopped and started again in between.
    let hook = HttpReceiver::start(&[500]).await;
    let smtp = SmtpServer::start().await;
    let extra = weekly_due_now("[\"hook\"]", "\n[alerts]\nbackoff_ms = 1500\n");
    let setup = setup(&extra, &hook, &smtp).await;
    let store = Store::open_postgres(&db.url).await.unwrap();
    seed(&store).await;

    let gw = start(&setup, Some(&db.url)).await;
    assert!(matches!(&*gw.store, Store::Postgres(_)));
    let first = hook.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.shutdown().await;
    assert_eq!(hook.received().len(), 1, "no retry before the backoff");
    let run_id = first[0].json()["run_id"].as_str().unwrap().to_owned();
    let pending = store.report_deliveries(&run_id).await.unwrap();
    assert_eq!(
        (pending[0].state.as_str(), pending[0].attempts),
        ("pending", 1)
    );

    let gw = start(&setup, Some(&db.url)).await;
    let posts = hook.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.received().len(), 2, "delivered once, then never again");
    assert_eq!(
        posts[0].json(),
        posts[1].json(),
        "the retry sends the same report"
    );
    assert_eq!(
        posts[0].header("idempotency-key"),
        posts[1].header("idempotency-key")
    );
    let attempts = store.report_attempts(&run_id).await.unwrap();
    let seen: Vec<(i64, &str, Option<i64>, Option<&str>)> = attempts
        .iter()
        .map(|a| {
            (
                a.attempt,
                a.outcome.as_str(),
                a.http_status,
                a.error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "retrying", Some(500), Some("the receiver answered 500")),
            (2, "delivered", Some(200), None)
        ]
    );
    assert_eq!(
        store.report_runs(Some("acme"), 10).await.unwrap()[0].status,
        "delivered"
    );

    // "Send now" always sends, as a manual run, to the schedule's channels
    // or to those named.
    let client = reqwest::Client::new();
    let send = |body: Value| {
        client
            .post(format!("http://{}/api/v1/admin/reports/send", gw.addr))
            .bearer_auth(&setup.admin)
            .json(&body)
            .send()
    };
    let week = last_week().name();
    let response = send(serde_json::json!({"tenant": "acme", "period": week, "kind": "weekly"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent: Value = response.json().await.unwrap();
    assert_eq!(sent["attempts"][0]["channel"], "hook");
    assert_eq!(sent["attempts"][0]["outcome"], "delivered", "{sent}");
    let posts = hook.wait_for(3).await;
    assert_eq!(posts[2].json()["origin"], "manual");
    assert_eq!(posts[2].json()["report"], posts[1].json()["report"]);
    let response =
        send(serde_json::json!({"tenant": "acme", "period": week, "channels": ["mail"]}))
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let mails = smtp.wait_for(1).await;
    assert!(mails[0].data.contains("multipart/mixed"));
    let runs = store.report_runs(Some("acme"), 10).await.unwrap();
    assert_eq!(
        runs.iter().filter(|r| r.origin == "manual").count(),
        2,
        "{runs:?}"
    );
    for (body, param) in [
        (
            serde_json::json!({"tenant": "acme", "period": "2026-13"}),
            "period",
        ),
        (
            serde_json::json!({"tenant": "acme", "period": week, "kind": "monthly"}),
            "kind",
        ),
        (
            serde_json::json!({"tenant": "acme", "period": week, "channels": ["fax"]}),
            "channels",
        ),
        (
            serde_json::json!({"tenant": "globex", "period": week}),
            "channels",
        ),
        (
            serde_json::json!({"tenant": "acme", "period": week, "cc": "x"}),
            "",
        ),
    ] {
        let response = send(body.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        if !param.is_empty() {
            assert_eq!(error["error"]["param"], param, "{error}");
        }
    }
    gw.shutdown().await;
    drop(store);
    db.drop_now().await;
}

/// Text after `label` on its line of `text`, up to the first space.
fn figure_after<'t>(text: &'t str, label: &str) -> &'t str {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` in {text}"));
    line[label.len()..].split_whitespace().next().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pdf_parses_and_carries_the_api_figures() {
    let hook = HttpReceiver::start(&[]).await;
    let smtp = SmtpServer::start().await;
    let setup = setup("", &hook, &smtp).await;
    let gw = start(&setup, None).await;
    seed(&gw.store).await;
    let week = last_week();

    let response = get(
        &gw,
        &setup.admin,
        &format!("/api/v1/reports/{}.pdf?tenant=acme", week.name()),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    let document = lopdf::Document::load_mem(&bytes).expect("a PDF a parser reads");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    assert!(!pages.is_empty());
    let text = document.extract_text(&pages).unwrap();

    let (_, api) = report_of(&gw, &setup.admin, week).await;
    let (_, summary) = summary_of(&gw, &setup.admin, week).await;
    assert!(
        text.contains(&format!("Weekly report {} for acme", week.name())),
        "{text}"
    );
    for (label, name) in [
        ("Spend (USD): ", "spend_usd"),
        ("Would have cost (USD): ", "baseline_usd"),
        ("Savings (USD): ", "savings_usd"),
        ("Savings %: ", "savings_pct"),
        ("Requests: ", "requests"),
        ("Unpriced requests: ", "unpriced_requests"),
    ] {
        let shown = figure_after(&text, label);
        assert_eq!(shown, csv_cell(&api["figures"][name]), "{label}");
        assert_eq!(shown, csv_cell(&summary[name]), "{label}");
    }
    assert_eq!(figure_after(&text, "Spend (USD): "), "7");
    // The tables made it too: the top model and the reliability figures.
    assert!(text.contains("premium"), "{text}");
    assert!(text.contains("Error rate %"), "{text}");

    // The CSV of the API is the e-mail's attachment.
    let csv = get(
        &gw,
        &setup.admin,
        &format!("/api/v1/reports/{}?tenant=acme&format=csv", week.name()),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(csv.starts_with("section,name,requests,"), "{csv}");

    // Every route is documented, and every field of the real answer.
    let (_, document) = get_json(&gw, &setup.admin, "/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/reports/{period}", "get"),
        ("/api/v1/reports/{period}.pdf", "get"),
        ("/api/v1/admin/reports/send", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let schemas = &document["components"]["schemas"];
    let documented = |answer: &Value, schema: &Value, at: &str| {
        for field in answer.as_object().unwrap().keys() {
            assert!(
                schema["properties"][field].is_object(),
                "`{at}.{field}` is not documented"
            );
        }
    };
    let report = &schemas["Report"];
    documented(&api, report, "report");
    documented(&api["figures"], &schemas["Figures"], "figures");
    for part in ["previous", "changes", "routing_mix", "reliability"] {
        documented(&api[part], &report["properties"][part], part);
    }
    documented(
        &api["daily"][0],
        &report["properties"]["daily"]["items"],
        "daily",
    );
    documented(
        &api["routing_mix"]["routes"][0],
        &report["properties"]["routing_mix"]["properties"]["routes"]["items"],
        "routes",
    );
    gw.shutdown().await;
}
