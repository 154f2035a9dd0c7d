//! ROI promised vs achieved over real HTTP ("Prove it" of issue 11): a tenant
//! with a saved scenario and synthetic raw events over the three months
//! before this one (and this one, in progress), rolled up; the achievement
//! `GET /api/v1/roi/achievement` answers equals a hand computation from the
//! events written, in JSON and CSV, on the embedded store and on Postgres.
//! Also: who may save and read, the 400s, versions, and the document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;

use analytics::promises::month_of;
use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::{json, Value};

use common::TestGateway;

struct Keys {
    admin: String,
    acme: String,
    globex: String,
}

/// A gateway (on Postgres at `database_url`, else the embedded store) with an
/// admin key and dashboard keys of acme and globex; the suite's own key is an
/// API key of acme's `platform` team (it reads its team's analytics only).
/// Raw events are kept long enough for the months the tests write.
async fn start(database_url: Option<&str>) -> (TestGateway, Keys) {
    let keys = Keys {
        admin: keys::mint().unwrap(),
        acme: keys::mint().unwrap(),
        globex: keys::mint().unwrap(),
    };
    let mut toml = String::new();
    for (id, key, tenant, role) in [
        ("ops-admin", &keys.admin, "ops", "admin"),
        ("acme-dashboard", &keys.acme, "acme", "dashboard"),
        ("globex-dashboard", &keys.globex, "globex", "dashboard"),
    ] {
        toml.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\nrole = \"{role}\"\n",
            KeyHash::of(key)
        ));
    }
    let database = database_url.map_or(String::new(), |url| format!("database_url = \"{url}\"\n"));
    let analytics = format!("{database}raw_retention_days = 400\naggregate_retention_days = 800");
    let gw = common::start_with_analytics(&toml, &analytics).await;
    (gw, keys)
}

/// The DESIGN.md worked example: gross $3,465, fee 50 x $49 = $2,450.
fn worksheet(tenant: &str, start: &str) -> Value {
    json!({"tenant": tenant, "start_month": start, "seats": 50, "price_per_seat": "49",
           "current_monthly_cost": "6600", "optimized_monthly_cost": "3135"})
}

/// xorshift64*: deterministic.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A raw event; `money` is `(cost, baseline)` in pico-USD, `None` unpriced.
fn event(tenant: &str, at: DateTime<Utc>, money: Option<(i128, i128)>, status: u16) -> UsageEvent {
    let usd = |pico: i128| Cost(pico).usd();
    serde_json::from_value(json!({
        "event_id": UsageEvent::new_id(), "occurred_at": at, "tenant_id": tenant,
        "key_id": format!("{tenant}-k1"), "team": "platform", "user_tag": null,
        "endpoint": "chat_completions", "requested_model": "gpt-4o",
        "routed_provider": if money.is_some() { "openai" } else { "local" },
        "routed_model": if money.is_some() { "gpt-4o-mini" } else { "llama-local" },
        "route_reason": "cheaper_equivalent", "attempts": 1, "stream": false,
        "status": status, "error_kind": if status >= 400 { Some("upstream_status") } else { None },
        "prompt_tokens": 1000, "completion_tokens": 100, "cached_tokens": 0,
        "cache_write_tokens": 0, "reasoning_tokens": 0, "usage_estimated": false,
        "cost_usd": money.map(|(cost, _)| usd(cost)),
        "baseline_usd": money.map(|(_, baseline)| usd(baseline)),
        "price_version": money.map(|_| "openai/gpt-4o-mini@2026-11-25"),
        "baseline_price_version": money.map(|_| "openai/gpt-4o@2026-11-25"),
        "latency_ms": 300, "ttft_ms": null, "upstream_ms": 250,
        "client_family": "openai-python", "ingress_format": "openai_chat",
        "upstream_format": "openai_chat"
    }))
    .unwrap()
}

/// The 1st of the month `back` months before this one.
fn months_ago(back: u32) -> NaiveDate {
    month_of(Utc::now().date_naive()) - Months::new(back)
}

/// Synthetic traffic: acme's first request four months ago, then every day
/// of the last three months some priced requests (savings up to $0.03 each,
/// some negative: a route that cost more), failures that cost nothing, and
/// two months ago one unpriced request; a few this month. Globex saves a lot
/// in the same months, which must never count for acme.
fn traffic() -> Vec<UsageEvent> {
    let mut rng = Rng(0x005e_ed0f_0011);
    let at = |day: NaiveDate, second: u64| {
        day.and_hms_opt(0, 0, 0).unwrap().and_utc() + TimeDelta::seconds(second as i64)
    };
    let mut events = vec![event(
        "acme",
        at(months_ago(4) + TimeDelta::days(14), 60),
        Some((1, 5)),
        200,
    )];
    for back in 1..=3 {
        let first = months_ago(back);
        let days = (first + Months::new(1) - first).num_days();
        for day in 0..days {
            let day = first + TimeDelta::days(day);
            for _ in 0..(1 + rng.below(3)) {
                let cost = i128::from(rng.below(20_000_000_000)) + 1;
                let baseline = cost + i128::from(rng.below(30_000_000_000)) - 5_000_000_000;
                let second = rng.below(86_400);
                events.push(event(
                    "acme",
                    at(day, second),
                    Some((cost, baseline.max(0))),
                    200,
                ));
                if rng.below(10) == 0 {
                    events.push(event("acme", at(day, second), Some((0, 0)), 502));
                }
            }
            events.push(event(
                "globex",
                at(day, 7),
                Some((1, 1_000_000_000_000)),
                200,
            ));
        }
    }
    events.push(event(
        "acme",
        at(months_ago(2) + TimeDelta::days(9), 3),
        None,
        200,
    ));
    for second in [1, 2, 3] {
        events.push(event(
            "acme",
            at(months_ago(0), second),
            Some((10, 20_000_000_000)),
            200,
        ));
    }
    events
}

/// `100 * part / whole`, two places, half away from zero, from the definition.
fn percent(part: i128, whole: i128) -> Value {
    let negative = part < 0;
    let (part, whole) = (part.unsigned_abs(), whole.unsigned_abs());
    let hundredths = (part * 10_000 * 2 + whole) / (whole * 2);
    let sign = if negative && hundredths > 0 { "-" } else { "" };
    json!(format!(
        "{sign}{}.{:02}",
        hundredths / 100,
        hundredths % 100
    ))
}

/// The savings of acme's priced events, by month (raw events only).
fn savings_by_month(events: &[UsageEvent], month: NaiveDate) -> i128 {
    events
        .iter()
        .filter(|e| e.tenant_id == "acme" && month_of(e.occurred_at.date_naive()) == month)
        .filter_map(|e| Some(e.baseline_usd?.0 - e.cost_usd?.0))
        .sum()
}

async fn prove_it(gw: TestGateway, keys: Keys) {
    let events = traffic();
    let store = &gw.gateway.store;
    assert_eq!(store.write(&events).await.unwrap(), events.len() as u64);
    store
        .rollup(months_ago(4), Utc::now().date_naive())
        .await
        .unwrap();

    let start = months_ago(3).format("%Y-%m").to_string();
    let (status, saved) = gw
        .call(
            "POST",
            "/api/v1/roi/promises",
            &keys.admin,
            Some(worksheet("acme", &start)),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["start_month"], start.as_str());
    assert_eq!(saved["scenario"]["gross_monthly_savings"], "3465");

    let (status, body) = gw
        .call("GET", "/api/v1/roi/achievement", &keys.acme, None)
        .await;
    assert_eq!(status, 200, "{body}");
    let gross: i128 = 3_465 * 1_000_000_000_000;
    let fee: i128 = 2_450 * 1_000_000_000_000;
    let months: Vec<NaiveDate> = (0..=3).rev().map(months_ago).collect();
    let reasons: [&[&str]; 4] = [&[], &["unpriced_requests"], &[], &["month_in_progress"]];
    let lines = body["months"].as_array().unwrap();
    assert_eq!(lines.len(), 4, "{body}");
    let mut measured = Vec::new();
    for ((line, month), reasons) in lines.iter().zip(&months).zip(reasons) {
        let savings = savings_by_month(&events, *month);
        assert_ne!(savings, 0, "every month has traffic");
        measured.push(savings);
        let expected = json!({
            "month": month.format("%Y-%m").to_string(),
            "promised_gross_usd": "3465",
            "promised_net_usd": "1015",
            "measured_savings_usd": Cost(savings).usd(),
            "fee_usd": "2450",
            "achieved_net_usd": Cost(savings - fee).usd(),
            "achievement_pct": percent(savings, gross),
            "complete": reasons.is_empty(),
            "incomplete_reasons": reasons,
        });
        assert_eq!(line, &expected);
    }
    let to_date: i128 = measured.iter().sum();
    assert_eq!(body["to_date_measured_usd"], Cost(to_date).usd());
    assert_eq!(body["to_date_promised_usd"], Cost(4 * gross).usd());
    assert_eq!(body["to_date_achievement_pct"], percent(to_date, 4 * gross));
    // Complete: three months ago and last month; ten more at their average.
    let complete = measured[0] + measured[2];
    let average_times_ten = complete * 10 / 2;
    assert_eq!(complete * 10 % 2, 0);
    assert_eq!(
        body["projected_year_savings_usd"],
        Cost(complete + average_times_ten).usd()
    );
    assert_eq!(body["promised_year_savings_usd"], "41580");
    assert_eq!(body["projection_basis_months"], 2);
    assert_eq!(body["promise"]["version"], 1);

    // The CSV holds the same cells, one row per month.
    let csv = gw
        .client
        .get(gw.url("/api/v1/roi/achievement?format=csv"))
        .bearer_auth(&keys.acme)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert_eq!(rows[0][5], "measured_savings_usd");
    for (row, line) in rows[1..].iter().zip(lines) {
        assert_eq!(row[0], "acme");
        assert_eq!(row[1], "1");
        assert_eq!(row[2], line["month"]);
        assert_eq!(row[5], line["measured_savings_usd"]);
        assert_eq!(row[8], line["achievement_pct"]);
        assert_eq!(
            row[10],
            line["incomplete_reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(";")
        );
    }

    // A new scenario is a new version; the achievement follows the latest,
    // the first stays as it was.
    let mut second = worksheet("acme", &months_ago(1).format("%Y-%m").to_string());
    second["optimized_monthly_cost"] = json!("6000");
    let (status, saved) = gw
        .call("POST", "/api/v1/roi/promises", &keys.admin, Some(second))
        .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["version"], 2);
    let (_, body) = gw
        .call(
            "GET",
            "/api/v1/roi/achievement?tenant=acme",
            &keys.admin,
            None,
        )
        .await;
    assert_eq!(body["promise"]["version"], 2);
    assert_eq!(body["months"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["months"][0]["achievement_pct"],
        percent(measured[2], 600 * 1_000_000_000_000)
    );
    let (status, list) = gw
        .call("GET", "/api/v1/roi/promises", &keys.acme, None)
        .await;
    assert_eq!(status, 200);
    let versions = list["data"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["promised_gross_monthly_usd"], "3465");
    assert_eq!(versions[0]["inputs"], worksheet("acme", &start));
    assert_eq!(versions[1]["promised_gross_monthly_usd"], "600");

    // Globex has no promise, and sees nothing of acme's.
    let (status, body) = gw
        .call("GET", "/api/v1/roi/achievement", &keys.globex, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["promise"], Value::Null);
    assert_eq!(body["months"], json!([]));
    let (status, _) = gw
        .call(
            "GET",
            "/api/v1/roi/achievement?tenant=acme",
            &keys.globex,
            None,
        )
        .await;
    assert_eq!(status, 403);
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn achievement_equals_a_hand_computation_from_raw_events_on_sqlite() {
    let (gw, keys) = start(None).await;
    prove_it(gw, keys).await;
}

#[tokio::test]
async fn achievement_equals_a_hand_computation_from_raw_events_on_postgres() {
    let db = pg::TestDb::create("gw_roi_promises").await;
    let (gw, keys) = start(Some(&db.url)).await;
    prove_it(gw, keys).await;
    db.drop_now().await;
}

#[tokio::test]
async fn only_admin_keys_save_and_bad_bodies_name_their_field() {
    let (gw, keys) = start(None).await;
    let path = "/api/v1/roi/promises";
    for key in [&keys.acme, &gw.key] {
        let (status, body) = gw
            .call("POST", path, key, Some(worksheet("acme", "2026-01")))
            .await;
        assert_eq!(status, 403, "{body}");
    }
    let with = |field: &str, value: Value| {
        let mut body = worksheet("acme", "2026-01");
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = worksheet("acme", "2026-01");
        body.as_object_mut().unwrap().remove(field);
        body
    };
    for (body, param) in [
        (without("tenant"), "tenant"),
        (with("tenant", json!("")), "tenant"),
        (with("tenant", json!("a b")), "tenant"),
        (with("tenant", json!(7)), "tenant"),
        (with("start_month", json!("2026-13")), "start_month"),
        (with("start_month", json!("2026-01-01")), "start_month"),
        (with("start_month", json!(202601)), "start_month"),
        (with("mode", json!("measured")), "mode"),
        (with("seats", json!(-1)), "seats"),
        (with("price_per_seat", json!("abc")), "price_per_seat"),
        (without("optimized_monthly_cost"), "optimized_monthly_cost"),
    ] {
        let (status, answer) = gw.call("POST", path, &keys.admin, Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(
            common::assert_openai_error(&answer)["param"],
            param,
            "{body}"
        );
    }
    let (status, answer) = gw
        .call("POST", path, &keys.admin, Some(with("days", json!(3))))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        gw.call("GET", path, &keys.acme, None).await.1["data"],
        json!([])
    );
    // Nothing saved by any refused request; no route changes a promise.
    let (status, _) = gw
        .call(
            "POST",
            path,
            &keys.admin,
            Some(worksheet("acme", "2026-01")),
        )
        .await;
    assert_eq!(status, 201);
    for method in ["PUT", "PATCH", "DELETE"] {
        let (status, _) = gw.call(method, path, &keys.admin, None).await;
        assert_eq!(status, 405, "{method}");
    }
    let (_, list) = gw.call("GET", path, &keys.acme, None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // A key that reads its team's analytics does not read the tenant's ROI.
    for path in [path, "/api/v1/roi/achievement"] {
        let (status, body) = gw.call("GET", path, &gw.key, None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_field_of_the_answers() {
    let (gw, keys) = start(None).await;
    let document: Value = gw
        .client
        .get(gw.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/api/v1/roi/promises", "post"),
        ("/api/v1/roi/promises", "get"),
        ("/api/v1/roi/achievement", "get"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let description = document["paths"]["/api/v1/roi/achievement"]["get"]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("Projection for the year"),
        "{description}"
    );
    let check = |answer: &Value, schema: &str| common::assert_documented(&document, answer, schema);
    let start = months_ago(1).format("%Y-%m").to_string();
    let (_, saved) = gw
        .call(
            "POST",
            "/api/v1/roi/promises",
            &keys.admin,
            Some(worksheet("acme", &start)),
        )
        .await;
    check(&saved, "RoiPromiseSaved");
    let (_, list) = gw
        .call("GET", "/api/v1/roi/promises", &keys.acme, None)
        .await;
    check(&list, "RoiPromiseList");
    check(&list["data"][0], "RoiPromise");
    let (_, achievement) = gw
        .call("GET", "/api/v1/roi/achievement", &keys.acme, None)
        .await;
    check(&achievement, "RoiAchievement");
    check(&achievement["months"][0], "RoiMonth");
    gw.gateway.shutdown().await;
}
