//! The operator's view (`GET /api/v1/admin/operator/tenants`) against a real
//! gateway on both stores: a few tenants with traffic of known days, keys and
//! teams; every figure of every row equals a computation over the raw events
//! written (money exactly), for 7 and 30 days, with trends, the health score
//! from its documented formula (with the latest ROI promise of one tenant), and
//! the churn and expansion flags (a team over its budget, promised seats all
//! in use). Also:
//! sorting and filtering, CSV with the JSON's cells, a tenant owner's key and an
//! API key get 403s, bad parameters 400s naming them, and the answer's fields
//! are in the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::collections::BTreeSet;

use analytics::promises::NewPromise;
use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use common::TestGateway;
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::Value;

#[path = "common/pg.rs"]
mod pg;

struct Keys {
    admin: String,
    owner: String,
}

/// Keys besides the suite's own two of acme (`test-all`, team `platform`;
/// `test-limited`, no team): an admin of tenant ops, acme's owner, two API
/// keys of acme in team `red` (daily budget 0.05 USD), two of globex.
fn extra() -> (String, Keys) {
    let keys = Keys {
        admin: keys::mint().unwrap(),
        owner: keys::mint().unwrap(),
    };
    let mut toml =
        String::from("\n[[teams]]\ntenant = \"acme\"\nid = \"red\"\nbudget_daily_usd = \"0.05\"\n");
    for (id, tenant, settings, key) in [
        ("ops-admin", "ops", "role = \"admin\"", keys.admin.clone()),
        ("acme-owner", "acme", "role = \"owner\"", keys.owner.clone()),
        ("acme-k1", "acme", "team = \"red\"", keys::mint().unwrap()),
        ("acme-k2", "acme", "team = \"red\"", keys::mint().unwrap()),
        ("globex-k1", "globex", "", keys::mint().unwrap()),
        ("globex-k2", "globex", "", keys::mint().unwrap()),
    ] {
        toml.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n{settings}\n",
            KeyHash::of(&key)
        ));
    }
    (toml, keys)
}

/// Live API keys per tenant, as configured above.
fn api_keys(tenant: &str) -> Vec<&'static str> {
    match tenant {
        "acme" => vec!["acme-k1", "acme-k2", "test-all", "test-limited"],
        "globex" => vec!["globex-k1", "globex-k2"],
        _ => vec![],
    }
}

/// One batch of events: tenant, key, team, age in days, count, cost and
/// baseline each (`""`: unpriced), how many of them failed.
type Batch = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    &'static str,
    &'static str,
    i64,
);

const BATCHES: &[Batch] = &[
    // Today team red spends 3 x 0.02 = 0.06, over its 0.05 daily budget.
    ("acme", "acme-k1", "red", 0, 3, "0.02", "0.05", 0),
    ("acme", "acme-k2", "red", 3, 5, "0.001", "0.004", 1),
    ("acme", "acme-k2", "red", 2, 1, "", "", 0),
    ("acme", "test-all", "platform", 5, 2, "0.0105", "0.0105", 0),
    ("acme", "acme-k1", "red", 9, 4, "0.003", "0.009", 2),
    ("acme", "test-limited", "", 35, 6, "0.5", "0.75", 0),
    // Globex: 3 requests in the last 14 days against 10 before: churn risk.
    ("globex", "globex-k1", "", 1, 3, "0.1", "0.3", 0),
    ("globex", "globex-k2", "", 20, 10, "0.2", "0.2", 3),
    ("globex", "globex-k1", "", 45, 2, "1", "2", 0),
];

fn events(today: NaiveDate) -> Vec<UsageEvent> {
    let amount = |text: &str| (!text.is_empty()).then(|| Cost::parse_usd(text).unwrap());
    let mut out = Vec::new();
    for &(tenant, key, team, age, count, cost, baseline, failed) in BATCHES {
        let day = today - TimeDelta::days(age);
        for n in 0..count {
            let status = if n < failed { 500 } else { 200 };
            out.push(UsageEvent {
                event_id: UsageEvent::new_id(),
                occurred_at: day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::seconds(n + 1),
                tenant_id: tenant.to_owned(),
                key_id: key.to_owned(),
                team: (!team.is_empty()).then(|| team.to_owned()),
                user_tag: None,
                endpoint: "chat_completions".to_owned(),
                requested_model: "gpt-4o".to_owned(),
                routed_provider: Some("openai".to_owned()),
                routed_model: Some("gpt-4o-mini".to_owned()),
                route_reason: "cheaper_equivalent".to_owned(),
                attempts: 1,
                stream: false,
                status,
                error_kind: (status >= 400).then(|| "upstream_status".to_owned()),
                prompt_tokens: 100,
                completion_tokens: 10,
                cached_tokens: 0,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
                usage_estimated: false,
                cost_usd: amount(cost),
                baseline_usd: amount(baseline),
                price_version: None,
                baseline_price_version: None,
                latency_ms: 100,
                ttft_ms: None,
                upstream_ms: None,
                client_family: "curl".to_owned(),
                ingress_format: Some("openai_chat".to_owned()),
                upstream_format: Some("openai_chat".to_owned()),
            });
        }
    }
    out
}

/// Figures of one tenant's events with an age in `ages`, from the events.
#[derive(Debug, Default)]
struct Expected {
    spend: Cost,
    baseline: Cost,
    requests: i64,
    errors: i64,
    unpriced: i64,
    keys: BTreeSet<String>,
    teams: BTreeSet<String>,
}

fn expected(
    events: &[UsageEvent],
    tenant: &str,
    today: NaiveDate,
    ages: std::ops::Range<i64>,
) -> Expected {
    let mut e = Expected::default();
    for event in events.iter().filter(|e| e.tenant_id == tenant) {
        let age = (today - event.occurred_at.date_naive()).num_days();
        if !ages.contains(&age) {
            continue;
        }
        e.requests += 1;
        e.errors += i64::from(event.status >= 400);
        match event.priced() {
            Some((cost, baseline)) => {
                e.spend += cost;
                e.baseline += baseline;
            }
            None => e.unpriced += 1,
        }
        e.keys.insert(event.key_id.clone());
        if let Some(team) = &event.team {
            e.teams.insert(team.clone());
        }
    }
    e
}

/// `num / den` in basis points, rounded half up (non-negative inputs).
fn bp(num: i128, den: i128) -> Option<i128> {
    (den > 0).then(|| (num * 10_000 * 2 + den) / (den * 2))
}

/// A ratio in basis points as the API writes percentages.
fn pct(bp: Option<i128>) -> Value {
    bp.map_or(Value::Null, |bp| {
        Value::String(format!("{}.{:02}", bp / 100, bp % 100))
    })
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap()
}

/// Globex's promise: two seats, 0.80 USD of gross savings a month (its
/// savings of the last 30 days are 0.60: 75%), since the 1st of this month.
/// Version 1 promised more; only the latest counts.
async fn promise(gw: &TestGateway, today: NaiveDate) {
    for (gross, seats) in [("100", 50), (PROMISED_GROSS, 2)] {
        let new = NewPromise {
            created_at_ms: 1,
            created_by: "cli".to_owned(),
            start_month: today.with_day(1).unwrap(),
            seats,
            fee_monthly: Cost::parse_usd("0.1").unwrap(),
            promised_gross_monthly: Cost::parse_usd(gross).unwrap(),
            inputs: "{}".to_owned(),
        };
        gw.gateway.store.save_promise("globex", new).await.unwrap();
    }
}

const PROMISED_GROSS: &str = "0.8";

/// Checks one row against the events, for a period of `days`.
fn check_row(row: &Value, events: &[UsageEvent], today: NaiveDate, days: i64) {
    let tenant = row["tenant"].as_str().unwrap();
    let now = expected(events, tenant, today, 0..days);
    let before = expected(events, tenant, today, days..2 * days);
    let savings = now.baseline - now.spend;
    let at = |field: &str| &row[field];
    assert_eq!(at("spend_usd"), &Value::String(now.spend.usd()), "{tenant}");
    assert_eq!(
        at("baseline_usd"),
        &Value::String(now.baseline.usd()),
        "{tenant}"
    );
    assert_eq!(at("savings_usd"), &Value::String(savings.usd()), "{tenant}");
    assert_eq!(
        at("savings_pct"),
        &pct(bp(savings.0, now.baseline.0)),
        "{tenant}"
    );
    assert_eq!(at("requests"), now.requests, "{tenant}");
    assert_eq!(at("errors"), now.errors, "{tenant}");
    assert_eq!(at("unpriced_requests"), now.unpriced, "{tenant}");
    assert_eq!(
        at("error_rate_pct"),
        &pct(bp(now.errors.into(), now.requests.into())),
        "{tenant}"
    );
    assert_eq!(at("active_keys"), count(now.keys.len()), "{tenant}");
    assert_eq!(at("teams"), count(now.teams.len()), "{tenant}");
    assert_eq!(
        row["trend"]["spend_usd"]["previous"],
        Value::String(before.spend.usd()),
        "{tenant}"
    );
    assert_eq!(
        row["trend"]["requests"]["previous"], before.requests,
        "{tenant}"
    );
    let direction = match now.requests.cmp(&before.requests) {
        _ if (now.requests - before.requests).abs() * 20 <= before.requests => "flat",
        std::cmp::Ordering::Greater => "up",
        _ => "down",
    };
    assert_eq!(row["trend"]["requests"]["direction"], direction, "{tenant}");

    // Adoption and the health score, from the documented formula.
    let week = expected(events, tenant, today, 0..7);
    let prev_week = expected(events, tenant, today, 7..14);
    let keys = api_keys(tenant);
    let used = keys.iter().filter(|k| week.keys.contains(**k)).count();
    assert_eq!(at("keys"), count(keys.len()), "{tenant}");
    assert_eq!(at("keys_used_7d"), count(used), "{tenant}");
    let adoption = bp(used as i128, keys.len() as i128);
    assert_eq!(at("adoption_pct"), &pct(adoption), "{tenant}");
    let reliability = bp(week.errors.into(), week.requests.into()).map(|rate| 10_000 - rate);
    let usage = if prev_week.requests > 0 {
        let change = i128::from(week.requests - prev_week.requests) * 10_000
            / i128::from(prev_week.requests);
        (5_000 + change).clamp(0, 10_000)
    } else if week.requests > 0 {
        10_000
    } else {
        0
    };
    // Only globex has a promise; without one, achievement is left out.
    let promised = (tenant == "globex").then(|| Cost::parse_usd(PROMISED_GROSS).unwrap());
    let month = expected(events, tenant, today, 0..30);
    let achievement = promised.map(|p| {
        bp((month.baseline - month.spend).0, p.0)
            .unwrap()
            .min(10_000)
    });
    let parts = [
        (adoption.unwrap_or(0), 30),
        (achievement.unwrap_or(-1), 30),
        (reliability.unwrap_or(-1), 20),
        (usage, 20),
    ];
    let (sum, weights) = parts
        .iter()
        .filter(|(c, _)| *c >= 0)
        .fold((0, 0), |(s, w), (c, weight)| (s + c * weight, w + weight));
    let score = (sum + weights * 50) / (weights * 100);
    assert_eq!(
        at("health_score"),
        i64::try_from(score).unwrap(),
        "{tenant}"
    );
    assert_eq!(
        row["health"]["achievement_pct"],
        pct(achievement),
        "{tenant}"
    );
    assert_eq!(row["health"]["usage_pct"], pct(Some(usage)), "{tenant}");

    let last14 = expected(events, tenant, today, 0..14).requests;
    let prev14 = expected(events, tenant, today, 14..28).requests;
    let churn = prev14 > 0 && last14 * 10 <= prev14 * 7;
    let flags: Vec<&str> = row["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(flags.contains(&"churn_risk"), churn, "{tenant}: {flags:?}");
    // Expansion: a team at its budget, or keys active in 30 days >= seats.
    let seats = (tenant == "globex").then_some(2);
    assert_eq!(row["seats"], serde_json::json!(seats), "{tenant}");
    let mut reasons = Vec::new();
    if tenant == "acme" {
        reasons.push("team_at_budget");
    }
    if seats.is_some_and(|s| count(month.keys.len()) >= s) {
        reasons.push("seats_full");
    }
    assert_eq!(
        row["expansion_reasons"],
        serde_json::json!(reasons),
        "{tenant}"
    );
    assert_eq!(
        flags.contains(&"expansion"),
        !reasons.is_empty(),
        "{tenant}: {flags:?}"
    );
}

async fn get(gw: &TestGateway, key: &str, query: &str) -> (u16, String) {
    let response = gw
        .client
        .get(gw.url(&format!("/api/v1/admin/operator/tenants{query}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn list(gw: &TestGateway, key: &str, query: &str) -> Vec<Value> {
    let (status, body) = get(gw, key, query).await;
    assert_eq!(status, 200, "{query}: {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["data"].as_array().unwrap().clone()
}

fn tenants(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["tenant"].as_str().unwrap()).collect()
}

/// The whole check, on whichever store `gw` runs.
async fn check(gw: &TestGateway, keys: &Keys) {
    let today = Utc::now().date_naive();
    let events = events(today);
    let store = &gw.gateway.store;
    assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);
    store
        .rollup(today - TimeDelta::days(59), today)
        .await
        .unwrap();
    promise(gw, today).await;

    for days in [7, 30] {
        let rows = list(gw, &keys.admin, &format!("?days={days}&sort=tenant")).await;
        // Every tenant the key table knows, with or without traffic.
        assert_eq!(tenants(&rows), ["acme", "globex", "ops"], "{days}");
        for row in &rows {
            check_row(row, &events, today, days);
        }
        assert_eq!(rows[0]["teams_at_budget"], serde_json::json!(["red"]));
        assert_eq!(rows[0]["flags"], serde_json::json!(["expansion"]));
        assert_eq!(rows[1]["health"]["achievement_pct"], "75.00");
        assert_eq!(
            rows[1]["flags"],
            serde_json::json!(["churn_risk", "expansion"])
        );
    }

    // Sorting, both ways; ties and missing values keep a stable order.
    let by_requests = list(gw, &keys.admin, "?days=30&sort=requests&order=asc").await;
    assert_eq!(tenants(&by_requests), ["ops", "globex", "acme"]);
    let by_spend = list(gw, &keys.admin, "?days=7&sort=spend_usd").await;
    assert_eq!(tenants(&by_spend), ["globex", "acme", "ops"]);
    let by_rate = list(gw, &keys.admin, "?days=30&sort=error_rate_pct&order=asc").await;
    assert_eq!(tenants(&by_rate), ["acme", "globex", "ops"], "no rate last");
    // Filters.
    assert_eq!(tenants(&list(gw, &keys.admin, "?q=GLO").await), ["globex"]);
    assert_eq!(
        tenants(&list(gw, &keys.admin, "?flag=expansion&sort=tenant").await),
        ["acme", "globex"]
    );
    assert_eq!(
        tenants(&list(gw, &keys.admin, "?flag=churn_risk&q=acme").await),
        Vec::<&str>::new()
    );

    // CSV: the JSON's cells, one line per tenant.
    let (status, csv) = get(gw, &keys.admin, "?days=7&sort=tenant&format=csv").await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        &header[..4],
        ["tenant", "name", "spend_usd", "baseline_usd"]
    );
    let rows = list(gw, &keys.admin, "?days=7&sort=tenant").await;
    assert_eq!(lines.len(), rows.len() + 1);
    for (line, row) in lines[1..].iter().zip(&rows) {
        for (cell, column) in line.split(',').zip(&header) {
            let expected = match &row[*column] {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                // The flags: space-separated in one cell.
                Value::Array(items) => items
                    .iter()
                    .map(|f| f.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            assert_eq!(cell, expected, "{column} of {line}");
        }
    }

    // Only admin keys: a tenant owner and an API key are refused, and the
    // access check (any key) says so without a refusal.
    assert_eq!(get(gw, &keys.owner, "").await.0, 403);
    assert_eq!(get(gw, &gw.key, "").await.0, 403);
    // gw.key reads its team's figures only; the admin and owner keys their
    // tenant's.
    for (key, allowed, tenant_figures) in [
        (&keys.admin, true, true),
        (&keys.owner, false, true),
        (&gw.key, false, false),
    ] {
        let access: Value = gw
            .client
            .get(gw.url("/api/v1/operator/access"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            access,
            serde_json::json!({ "operator": allowed, "tenant_figures": tenant_figures })
        );
    }
    // Bad parameters: 400s naming them.
    for (query, param) in [
        ("?days=14", "days"),
        ("?sort=password", "sort"),
        ("?order=up", "order"),
        ("?flag=vip", "flag"),
        ("?format=xml", "format"),
        ("?tenant=acme", "tenant"),
    ] {
        let (status, body) = get(gw, &keys.admin, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            common::assert_openai_error(&body)["param"],
            param,
            "{query}"
        );
    }
}

#[tokio::test]
async fn operator_view_on_sqlite() {
    let (toml, keys) = extra();
    let gw = common::start_with(&toml).await;
    check(&gw, &keys).await;
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn operator_view_on_postgres() {
    let db = pg::TestDb::create("gw_operator").await;
    let (toml, keys) = extra();
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = keys::mint().unwrap();
    let limited = keys::mint().unwrap();
    let text = common::config_text(mock.addr, &key, &limited, &toml).replace(
        "\n[analytics]\n",
        &format!("\n[analytics]\ndatabase_url = \"{}\"\n", db.url),
    );
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let gateway = gateway::server::start(&config).await.unwrap();
    let gw = TestGateway {
        gateway,
        mock,
        key,
        limited_key: limited,
        client: reqwest::Client::new(),
    };
    check(&gw, &keys).await;
    gw.gateway.shutdown().await;
    db.drop_now().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_operator_view() {
    let (toml, keys) = extra();
    let gw = common::start_with(&toml).await;
    let document: Value = gw
        .client
        .get(gw.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/api/v1/operator/access"]["get"].is_object());
    let path = &document["paths"]["/api/v1/admin/operator/tenants"]["get"];
    assert!(path["description"]
        .as_str()
        .unwrap()
        .contains("Health score"));
    let schemas = &document["components"]["schemas"];
    let rows = list(&gw, &keys.admin, "").await;
    assert!(!rows.is_empty());
    for row in &rows {
        let properties = schemas["OperatorTenant"]["properties"].as_object().unwrap();
        for field in row.as_object().unwrap().keys() {
            assert!(
                properties.contains_key(field),
                "`{field}` is not documented"
            );
        }
        let trends = properties["trend"]["properties"].as_object().unwrap();
        for field in row["trend"].as_object().unwrap().keys() {
            assert!(
                trends.contains_key(field),
                "trend `{field}` is not documented"
            );
        }
    }
    gw.gateway.shutdown().await;
}
