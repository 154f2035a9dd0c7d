//! The analytics API against a seeded data set of two tenants: every figure of
//! the summary equals an independent computation over the raw events (money
//! exactly, as `pricing::Cost` decimal text), CSV holds the same cells as JSON
//! for every endpoint, tenant A's key never sees tenant B's data (an admin key
//! with `?tenant=` does), the real-time figures count today's events, bad
//! parameters are 400s naming the parameter. On the embedded SQLite store, and
//! the summary once more on Postgres.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::time::Duration;

use analytics::store::queries::latency::{bucket_of, bucket_value};
use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{NaiveDate, NaiveTime, TimeDelta, Utc};
use common::{start_with, TestGateway};
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::{json, Value};

#[path = "common/pg.rs"]
mod pg;

/// Keys besides the suite's own (`acme_team`: an API key of acme, team
/// `platform`, which reads its team's analytics): an API key of acme granted
/// the tenant's analytics, one without a team (it reads its own, and is the
/// seed's key `acme-k1`), a dashboard token of acme, an API key of globex
/// granted its tenant's, an admin key.
struct Keys {
    acme: String,
    acme_team: String,
    acme_solo: String,
    acme_dashboard: String,
    globex: String,
    admin: String,
}

fn extra_keys() -> (String, Keys) {
    let keys = Keys {
        acme: keys::mint().unwrap(),
        acme_team: String::new(),
        acme_solo: keys::mint().unwrap(),
        acme_dashboard: keys::mint().unwrap(),
        globex: keys::mint().unwrap(),
        admin: keys::mint().unwrap(),
    };
    let mut toml = String::new();
    for (id, key, tenant, settings) in [
        ("acme-analyst", &keys.acme, "acme", "analytics = \"tenant\""),
        ("acme-k1", &keys.acme_solo, "acme", ""),
        (
            "acme-dashboard",
            &keys.acme_dashboard,
            "acme",
            "role = \"dashboard\"",
        ),
        (
            "globex-api",
            &keys.globex,
            "globex",
            "analytics = \"tenant\"",
        ),
        ("ops-admin", &keys.admin, "ops", "role = \"admin\""),
    ] {
        toml.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n{settings}\n",
            KeyHash::of(key)
        ));
    }
    (toml, keys)
}

async fn start() -> (TestGateway, Keys) {
    let (toml, mut keys) = extra_keys();
    let gw = start_with(&toml).await;
    keys.acme_team.clone_from(&gw.key);
    (gw, keys)
}

/// Four days ending three days ago (inside the raw retention, outside the
/// housekeeping's own two-day rollup window, though re-rolling them is harmless).
fn days() -> Vec<NaiveDate> {
    let today = Utc::now().date_naive();
    (3..7).rev().map(|n| today - TimeDelta::days(n)).collect()
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

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// Events of acme and globex; every key id and one model are the tenant's own,
/// so a leak would show by name.
fn seed(days: &[NaiveDate]) -> Vec<UsageEvent> {
    let mut rng = Rng(0x00c0_ffee_1234_5678);
    let mut events = Vec::new();
    for tenant in ["acme", "globex"] {
        let routes: Vec<(String, Option<(&str, String)>)> = vec![
            ("gpt-4o".into(), Some(("openai", "gpt-4o-mini".into()))),
            ("gpt-4o".into(), Some(("openai", "gpt-4o".into()))),
            (
                "claude-sonnet".into(),
                Some(("anthropic", "claude-haiku".into())),
            ),
            (
                "auto".into(),
                Some(("groq", format!("{tenant}-only-model"))),
            ),
            (format!("{tenant}-unknown"), None),
            // Served by a model without a price: no cost, no baseline, no
            // savings; as asked, and standing in for a virtual name.
            ("llama-local".into(), Some(("local", "llama-local".into()))),
            ("auto".into(), Some(("local", "llama-local".into()))),
        ];
        let key_ids = [format!("{tenant}-k1"), format!("{tenant}-k2")];
        for (d, day) in days.iter().enumerate() {
            for n in 0..(30 + 10 * d as i64) {
                let (requested, routed) = rng.pick(&routes);
                let status = match routed {
                    None => 404,
                    Some(_) => rng.pick(&[200, 200, 200, 200, 200, 200, 500, 429]),
                };
                let cost = if routed.is_some() {
                    i128::from(rng.below(20_000_000_000)) + 1
                } else {
                    0
                };
                let baseline = match (routed.is_some(), rng.below(8)) {
                    (false, _) => 0,
                    (true, 0) => cost / 3,
                    (true, _) => cost + i128::from(rng.below(30_000_000_000)),
                };
                let unpriced = status == 200
                    && routed
                        .as_ref()
                        .is_some_and(|(provider, _)| *provider == "local");
                events.push(UsageEvent {
                    event_id: UsageEvent::new_id(),
                    occurred_at: day.and_time(NaiveTime::MIN).and_utc()
                        + TimeDelta::seconds(n * 1_000 + 7),
                    tenant_id: tenant.to_owned(),
                    key_id: rng.pick(&key_ids),
                    team: rng
                        .pick(&[Some("platform"), Some("research, \"ml\""), None])
                        .map(str::to_owned),
                    user_tag: None,
                    endpoint: "chat_completions".to_owned(),
                    requested_model: requested.clone(),
                    routed_provider: routed.as_ref().map(|(p, _)| (*p).to_owned()),
                    routed_model: routed.as_ref().map(|(_, m)| m.clone()),
                    route_reason: "requested".to_owned(),
                    // Some requests failed over once or twice (no draw: the
                    // rest of the data set stays as it was).
                    attempts: match n % 7 {
                        2 => 2,
                        5 => 3,
                        _ => 1,
                    },
                    stream: false,
                    status,
                    error_kind: (status >= 400).then(|| "upstream_status".to_owned()),
                    prompt_tokens: rng.below(4_000),
                    completion_tokens: rng.below(700),
                    cached_tokens: rng.below(200),
                    cache_write_tokens: 0,
                    reasoning_tokens: 0,
                    usage_estimated: false,
                    cost_usd: (!unpriced).then_some(Cost(cost)),
                    baseline_usd: (!unpriced).then_some(Cost(baseline)),
                    price_version: None,
                    baseline_price_version: None,
                    latency_ms: 5 + rng.below(4_000) as u32,
                    ttft_ms: None,
                    upstream_ms: None,
                    client_family: "curl".to_owned(),
                    ingress_format: Some("openai_chat".to_owned()),
                    upstream_format: Some("openai_chat".to_owned()),
                });
            }
        }
    }
    events
}

/// Writes `events` into the gateway's store and rolls their days up.
async fn load(gw: &TestGateway, events: &[UsageEvent], days: &[NaiveDate]) {
    let store = &gw.gateway.store;
    assert_eq!(store.write(events).await.unwrap(), events.len() as u64);
    store.rollup(days[0], days[days.len() - 1]).await.unwrap();
}

/// `100 * part / whole`, two decimals, half away from zero, from the definition.
fn percent(part: i128, whole: i128) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    let negative = (part < 0) != (whole < 0) && part != 0;
    let (part, whole) = (part.unsigned_abs(), whole.unsigned_abs());
    let hundredths = (part * 10_000 * 2 + whole) / (whole * 2);
    let sign = if negative && hundredths > 0 { "-" } else { "" };
    json!(format!(
        "{sign}{}.{:02}",
        hundredths / 100,
        hundredths % 100
    ))
}

/// Nearest-rank percentile of the raw latencies, reported as the API reports
/// it (the middle of its histogram bucket), after checking that this is within
/// 1/16 of the exact value.
fn percentile(latencies: &mut [u32], percent: usize) -> Value {
    if latencies.is_empty() {
        return Value::Null;
    }
    latencies.sort_unstable();
    let rank = (latencies.len() * percent).div_ceil(100).max(1);
    let exact = latencies[rank - 1];
    let reported = bucket_value(bucket_of(exact)).unwrap();
    assert!(u64::from(exact.abs_diff(reported)) * 16 <= u64::from(exact));
    json!(reported)
}

/// The summary figures of the events matching `keep`, computed from the raw
/// events alone.
fn expected_figures(events: &[&UsageEvent]) -> Value {
    let requests = events.len() as i128;
    let errors = events
        .iter()
        .filter(|e| e.status >= 400 || e.error_kind.is_some())
        .count() as i128;
    let failovers = events.iter().filter(|e| e.attempts > 1).count() as i128;
    // Money over priced requests only: an unpriced one has no cost and no
    // baseline, and must not count as a saving.
    let cost: Cost = events.iter().filter_map(|e| e.priced()).map(|p| p.0).sum();
    let baseline: Cost = events.iter().filter_map(|e| e.priced()).map(|p| p.1).sum();
    let unpriced = events.iter().filter(|e| e.priced().is_none()).count();
    let savings = baseline - cost;
    let latency_sum: u64 = events.iter().map(|e| u64::from(e.latency_ms)).sum();
    let mut latencies: Vec<u32> = events.iter().map(|e| e.latency_ms).collect();
    let avg = if events.is_empty() {
        Value::Null
    } else {
        let n = events.len() as u64;
        json!((latency_sum * 2 + n) / (2 * n))
    };
    json!({
        "requests": requests as i64,
        "errors": errors as i64,
        "error_rate_pct": percent(errors, requests),
        "failovers": failovers as i64,
        "failover_rate_pct": percent(failovers, requests),
        "prompt_tokens": events.iter().map(|e| e.prompt_tokens).sum::<u64>(),
        "completion_tokens": events.iter().map(|e| e.completion_tokens).sum::<u64>(),
        "cached_tokens": events.iter().map(|e| e.cached_tokens).sum::<u64>(),
        "unpriced_requests": unpriced,
        "spend_usd": cost.usd(),
        "baseline_usd": baseline.usd(),
        "savings_usd": savings.usd(),
        "savings_pct": percent(savings.0, baseline.0),
        "latency_avg_ms": avg,
        "latency_p50_ms": percentile(&mut latencies, 50),
        "latency_p95_ms": percentile(&mut latencies, 95),
    })
}

async fn get(gw: &TestGateway, key: &str, path_and_query: &str) -> reqwest::Response {
    gw.client
        .get(gw.url(path_and_query))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn get_json(gw: &TestGateway, key: &str, path_and_query: &str) -> Value {
    let response = get(gw, key, path_and_query).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path_and_query}: {body}");
    body
}

/// Checks that `summary` holds exactly `expected` (and the range fields).
fn assert_figures(summary: &Value, expected: &Value) {
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&summary[name], value, "{name} in {summary}");
    }
}

fn range(days: &[NaiveDate]) -> String {
    format!("from={}&to={}", days[0], days[days.len() - 1])
}

#[tokio::test]
async fn summary_equals_raw_events_to_the_cent() {
    let (gw, keys) = start().await;
    let days = days();
    let events = seed(&days);
    load(&gw, &events, &days).await;
    let of = |tenant: &str, keep: &dyn Fn(&UsageEvent) -> bool| -> Vec<&UsageEvent> {
        events
            .iter()
            .filter(|e| e.tenant_id == tenant && keep(e))
            .collect()
    };

    let summary = get_json(
        &gw,
        &keys.acme,
        &format!("/api/v1/analytics/summary?{}", range(&days)),
    )
    .await;
    assert_eq!(summary["tenant"], "acme");
    assert_eq!(summary["from"], days[0].to_string());
    assert_figures(&summary, &expected_figures(&of("acme", &|_| true)));
    // The data set is not trivial: errors, savings, and a saving below zero somewhere.
    assert!(summary["errors"].as_i64().unwrap() > 0);
    assert!(summary["failovers"].as_i64().unwrap() > 0);
    assert!(events.iter().any(|e| e.savings().is_some_and(|s| s.0 < 0)));
    assert!(summary["unpriced_requests"].as_i64().unwrap() > 0);

    // Filters and a sub-range.
    let filtered = get_json(
        &gw,
        &keys.acme_dashboard,
        &format!(
            "/api/v1/analytics/summary?from={}&to={}&team=platform&model=gpt-4o-mini",
            days[1], days[2]
        ),
    )
    .await;
    let keep = |e: &UsageEvent| {
        let day = e.occurred_at.date_naive();
        day >= days[1]
            && day <= days[2]
            && e.team.as_deref() == Some("platform")
            && (e.requested_model == "gpt-4o-mini"
                || e.routed_model.as_deref() == Some("gpt-4o-mini"))
    };
    assert_figures(&filtered, &expected_figures(&of("acme", &keep)));
    let by_key = get_json(
        &gw,
        &keys.acme,
        &format!(
            "/api/v1/analytics/summary?{}&key=acme-k2&provider=openai",
            range(&days)
        ),
    )
    .await;
    let keep =
        |e: &UsageEvent| e.key_id == "acme-k2" && e.routed_provider.as_deref() == Some("openai");
    assert_figures(&by_key, &expected_figures(&of("acme", &keep)));

    // An admin key reads globex; globex's own key reads the same.
    let admin = get_json(
        &gw,
        &keys.admin,
        &format!("/api/v1/analytics/summary?{}&tenant=globex", range(&days)),
    )
    .await;
    assert_eq!(admin["tenant"], "globex");
    assert_figures(&admin, &expected_figures(&of("globex", &|_| true)));
    let own = get_json(
        &gw,
        &keys.globex,
        &format!("/api/v1/analytics/summary?{}", range(&days)),
    )
    .await;
    assert_eq!(own, admin);

    // An empty range: zeros and nulls, not an error.
    let empty = get_json(
        &gw,
        &keys.acme,
        "/api/v1/analytics/summary?from=2001-01-01&to=2001-01-31",
    )
    .await;
    assert_figures(&empty, &expected_figures(&[]));

    // Series, breakdowns and the routing mix add up to the summary.
    let series = get_json(
        &gw,
        &keys.acme,
        &format!("/api/v1/analytics/timeseries?{}&interval=day", range(&days)),
    )
    .await;
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for (point, day) in points.iter().zip(&days) {
        assert_eq!(point["period"], day.to_string());
        let keep = |e: &UsageEvent| e.occurred_at.date_naive() == *day;
        assert_figures(point, &expected_figures(&of("acme", &keep)));
    }
    for by in ["requested_model", "routed_model", "provider", "key", "team"] {
        let breakdown = get_json(
            &gw,
            &keys.acme,
            &format!("/api/v1/analytics/breakdown?{}&by={by}", range(&days)),
        )
        .await;
        let rows = breakdown["rows"].as_array().unwrap();
        let spend: Cost = rows
            .iter()
            .map(|r| Cost::parse_usd(r["spend_usd"].as_str().unwrap()).unwrap())
            .sum();
        assert_eq!(spend.usd(), summary["spend_usd"].as_str().unwrap(), "{by}");
        let requests: i64 = rows.iter().map(|r| r["requests"].as_i64().unwrap()).sum();
        assert_eq!(requests, summary["requests"].as_i64().unwrap(), "{by}");
        let failovers: i64 = rows.iter().map(|r| r["failovers"].as_i64().unwrap()).sum();
        assert_eq!(failovers, summary["failovers"].as_i64().unwrap(), "{by}");
    }
    let mix = get_json(
        &gw,
        &keys.acme,
        &format!("/api/v1/analytics/routing-mix?{}", range(&days)),
    )
    .await;
    let substituted: Vec<&UsageEvent> = of("acme", &|e| {
        e.routed_model
            .as_deref()
            .is_some_and(|m| m != e.requested_model)
    });
    assert_eq!(mix["requests"], summary["requests"]);
    assert_eq!(mix["substituted_requests"], json!(substituted.len()));
    let saved: Cost = substituted.iter().filter_map(|e| e.savings()).sum();
    assert_eq!(mix["substitution_savings_usd"], saved.usd());
    assert!(substituted.iter().any(|e| e.savings().is_none()));
    let local = mix["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requested_model"] == "auto" && r["routed_model"] == "llama-local")
        .unwrap();
    let keep = |e: &UsageEvent| {
        e.requested_model == "auto" && e.routed_model.as_deref() == Some("llama-local")
    };
    assert_figures(local, &expected_figures(&of("acme", &keep)));
    let route = mix["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requested_model"] == "gpt-4o" && r["routed_model"] == "gpt-4o-mini")
        .unwrap();
    assert_eq!(route["substituted"], true);
    let keep = |e: &UsageEvent| {
        e.requested_model == "gpt-4o" && e.routed_model.as_deref() == Some("gpt-4o-mini")
    };
    assert_figures(route, &expected_figures(&of("acme", &keep)));
    gw.gateway.shutdown().await;
}

/// A minimal RFC 4180 reader: fields, quotes, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "CSV ends with CRLF");
    rows
}

/// A JSON cell as its CSV text.
fn as_csv(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks that the CSV rows hold the JSON records' keys (as the header, in
/// order) and values.
fn assert_same(records: &[Value], csv: &[Vec<String>]) {
    assert_eq!(csv.len(), records.len() + 1);
    for (record, row) in records.iter().zip(&csv[1..]) {
        let object = record.as_object().unwrap();
        assert_eq!(object.len(), csv[0].len());
        for (name, cell) in csv[0].iter().zip(row) {
            assert_eq!(&as_csv(&object[name]), cell, "{name}");
        }
    }
}

async fn get_csv(
    gw: &TestGateway,
    key: &str,
    path_and_query: &str,
    by_accept: bool,
) -> Vec<Vec<String>> {
    let mut request = gw.client.get(gw.url(path_and_query)).bearer_auth(key);
    if by_accept {
        request = request.header("accept", "text/csv");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    parse_csv(&response.text().await.unwrap())
}

#[tokio::test]
async fn csv_matches_json_for_every_endpoint() {
    let (gw, keys) = start().await;
    let days = days();
    load(&gw, &seed(&days), &days).await;
    let r = range(&days);
    let tables: Vec<(String, Option<&str>)> = vec![
        (format!("/api/v1/analytics/summary?{r}"), None),
        (format!("/api/v1/analytics/summary?{r}&team=platform"), None),
        (
            format!("/api/v1/analytics/timeseries?{r}&interval=day"),
            Some("points"),
        ),
        (
            format!("/api/v1/analytics/timeseries?{r}&interval=week"),
            Some("points"),
        ),
        (
            format!("/api/v1/analytics/timeseries?{r}&interval=month"),
            Some("points"),
        ),
        (
            format!("/api/v1/analytics/breakdown?{r}&by=requested_model"),
            Some("rows"),
        ),
        (
            format!("/api/v1/analytics/breakdown?{r}&by=routed_model"),
            Some("rows"),
        ),
        (
            format!("/api/v1/analytics/breakdown?{r}&by=provider"),
            Some("rows"),
        ),
        (
            format!("/api/v1/analytics/breakdown?{r}&by=key"),
            Some("rows"),
        ),
        (
            format!("/api/v1/analytics/breakdown?{r}&by=team"),
            Some("rows"),
        ),
        (format!("/api/v1/analytics/routing-mix?{r}"), Some("routes")),
        (
            "/api/v1/analytics/breakdown?from=2001-01-01&to=2001-01-02&by=team".to_owned(),
            Some("rows"),
        ),
    ];
    for (path, field) in &tables {
        let json = get_json(&gw, &keys.acme, path).await;
        let records = match field {
            None => vec![json.clone()],
            Some(field) => json[field].as_array().unwrap().clone(),
        };
        let separator = if path.contains('?') { '&' } else { '?' };
        let csv = get_csv(
            &gw,
            &keys.acme,
            &format!("{path}{separator}format=csv"),
            false,
        )
        .await;
        assert_same(&records, &csv);
        assert_eq!(get_csv(&gw, &keys.acme, path, true).await, csv, "{path}");
    }
    // The quoted team name survives the round trip.
    let csv = get_csv(
        &gw,
        &keys.acme,
        &format!("/api/v1/analytics/breakdown?{r}&by=team&format=csv"),
        false,
    )
    .await;
    assert!(
        csv.iter().any(|row| row[0] == "research, \"ml\""),
        "{csv:?}"
    );

    // Real-time: the tenant's day row holds the JSON `today` figures.
    emit_today(&gw, "acme", 3).await;
    let json = get_json(&gw, &keys.acme, "/api/v1/analytics/realtime").await;
    let csv = get_csv(
        &gw,
        &keys.acme,
        "/api/v1/analytics/realtime?format=csv",
        false,
    )
    .await;
    assert_eq!(&csv[0][..3], ["scope", "name", "window"]);
    let day = csv
        .iter()
        .find(|row| row[0] == "tenant" && row[2] == "day")
        .unwrap();
    for (name, cell) in csv[0].iter().zip(day).skip(3) {
        assert_eq!(&as_csv(&json["today"][name]), cell, "{name}");
    }
    gw.gateway.shutdown().await;
}

/// Emits `n` events of `tenant` now through the gateway's pipeline and waits
/// until the counters hold them.
async fn emit_today(gw: &TestGateway, tenant: &str, n: usize) -> Vec<UsageEvent> {
    let mut events = seed(&[Utc::now().date_naive()]);
    events.retain(|e| e.tenant_id == tenant);
    // A third unpriced (at least one when n >= 3): the real-time figures see both.
    let (unpriced, priced): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|e| e.priced().is_none());
    let events: Vec<UsageEvent> = unpriced
        .into_iter()
        .take(n / 3)
        .chain(priced)
        .take(n)
        .collect();
    emit(gw, events).await
}

/// Emits `events` now through the gateway's pipeline and waits until the
/// counters hold them.
async fn emit(gw: &TestGateway, mut events: Vec<UsageEvent>) -> Vec<UsageEvent> {
    let now = Utc::now();
    let stats = gw.gateway.state.events.stats().clone();
    let written = || stats.written.load(std::sync::atomic::Ordering::Relaxed);
    let before = written();
    for event in &mut events {
        event.occurred_at = now;
        gw.gateway.state.events.emit(event.clone());
    }
    // The writer applies a batch to the counters before writing it.
    for _ in 0..500 {
        if written() >= before + events.len() as u64 {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the writer did not take the events");
}

#[tokio::test]
async fn realtime_counts_todays_events_per_tenant() {
    let (gw, keys) = start().await;
    let acme = emit_today(&gw, "acme", 7).await;
    let globex = emit_today(&gw, "globex", 4).await;
    // The writer applies counters before writing, so counts are there once
    // the events are written; poll a little anyway.
    let mut json = Value::Null;
    for _ in 0..100 {
        json = get_json(&gw, &keys.acme, "/api/v1/analytics/realtime").await;
        if json["today"]["requests"] == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(json["source"], "memory");
    assert_eq!(json["tenant"], "acme");
    let cost: Cost = acme.iter().filter_map(|e| e.priced()).map(|p| p.0).sum();
    let baseline: Cost = acme.iter().filter_map(|e| e.priced()).map(|p| p.1).sum();
    let unpriced = acme.iter().filter(|e| e.priced().is_none()).count();
    assert!(unpriced > 0 && unpriced < acme.len());
    let today = &json["today"];
    assert_eq!(today["requests"], 7);
    assert_eq!(today["unpriced_requests"], json!(unpriced));
    assert_eq!(today["spend_usd"], cost.usd());
    assert_eq!(today["baseline_usd"], baseline.usd());
    assert_eq!(today["savings_usd"], (baseline - cost).usd());
    assert_eq!(
        today["savings_pct"],
        percent((baseline - cost).0, baseline.0)
    );
    assert_eq!(
        today["prompt_tokens"],
        json!(acme.iter().map(|e| e.prompt_tokens).sum::<u64>())
    );
    let minutes = json["this_minute"]["requests"].as_i64().unwrap()
        + json["previous_minute"]["requests"].as_i64().unwrap();
    assert_eq!(minutes, 7);
    let key_requests: i64 = json["by_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert!(k["key"].as_str().unwrap().starts_with("acme-"), "{k}");
            k["requests"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(key_requests, 7);
    assert!(!json.to_string().contains("globex"), "{json}");

    let other = get_json(&gw, &keys.admin, "/api/v1/analytics/realtime?tenant=globex").await;
    assert_eq!(other["today"]["requests"], json!(globex.len()));
    let forbidden = get(
        &gw,
        &keys.acme_dashboard,
        "/api/v1/analytics/realtime?tenant=globex",
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn tenant_a_never_sees_tenant_b() {
    let (gw, keys) = start().await;
    let days = days();
    load(&gw, &seed(&days), &days).await;
    emit_today(&gw, "globex", 5).await;
    let r = range(&days);
    let paths = [
        format!("/api/v1/analytics/summary?{r}"),
        format!("/api/v1/analytics/timeseries?{r}&interval=week"),
        format!("/api/v1/analytics/breakdown?{r}&by=key"),
        format!("/api/v1/analytics/breakdown?{r}&by=requested_model"),
        format!("/api/v1/analytics/breakdown?{r}&by=routed_model"),
        format!("/api/v1/analytics/routing-mix?{r}"),
        "/api/v1/analytics/realtime".to_owned(),
    ];
    for path in &paths {
        for key in [&keys.acme, &keys.acme_dashboard] {
            let body = get_json(&gw, key, path).await;
            assert!(!body.to_string().contains("globex"), "{path}: {body}");
            let sep = if path.contains('?') { '&' } else { '?' };
            let csv = get(&gw, key, &format!("{path}{sep}format=csv")).await;
            assert!(!csv.text().await.unwrap().contains("globex"), "{path}");
            // Naming the other tenant is refused for non-admin keys.
            let refused = get(&gw, key, &format!("{path}{sep}tenant=globex")).await;
            assert_eq!(refused.status(), 403, "{path}");
            let error: Value = refused.json().await.unwrap();
            assert_eq!(error["error"]["code"], "insufficient_permissions");
            // Naming its own tenant is fine.
            let own = get(&gw, key, &format!("{path}{sep}tenant=acme")).await;
            assert_eq!(own.status(), 200, "{path}");
        }
        // An admin sees globex when it asks for it, and acme's names are absent.
        let sep = if path.contains('?') { '&' } else { '?' };
        let admin = get_json(&gw, &keys.admin, &format!("{path}{sep}tenant=globex")).await;
        assert!(!admin.to_string().contains("acme"), "{path}: {admin}");
        let globex = get_json(&gw, &keys.globex, path).await;
        if !path.contains("realtime") {
            assert_eq!(admin, globex, "{path}");
            assert!(globex.to_string().contains("globex"), "{path}: {globex}");
        }
    }
    // The admin key's own tenant has no traffic.
    let own = get_json(&gw, &keys.admin, &format!("/api/v1/analytics/summary?{r}")).await;
    assert_eq!(own["tenant"], "ops");
    assert_eq!(own["requests"], 0);
    gw.gateway.shutdown().await;
}

/// An API key reads its own team's analytics (its own key's without a team)
/// unless its config grants `analytics = "tenant"`; a dashboard token reads
/// the tenant's. Naming another team or key is a 403; CSV and real time
/// follow the same scope.
#[tokio::test]
async fn api_keys_read_their_team_or_their_own_analytics() {
    let (gw, keys) = start().await;
    let days = days();
    let events = seed(&days);
    load(&gw, &events, &days).await;
    let acme = |keep: &dyn Fn(&UsageEvent) -> bool| -> Vec<&UsageEvent> {
        events
            .iter()
            .filter(|e| e.tenant_id == "acme" && keep(e))
            .collect()
    };
    let summary = format!("/api/v1/analytics/summary?{}", range(&days));
    let platform = acme(&|e| e.team.as_deref() == Some("platform"));
    let k1 = acme(&|e| e.key_id == "acme-k1");
    assert!(!platform.is_empty() && platform.len() < acme(&|_| true).len());
    for (key, expected) in [
        (&keys.acme_team, expected_figures(&platform)),
        (&keys.acme_solo, expected_figures(&k1)),
        (&keys.acme, expected_figures(&acme(&|_| true))),
        (&keys.acme_dashboard, expected_figures(&acme(&|_| true))),
    ] {
        let body = get_json(&gw, key, &summary).await;
        assert_figures(&body, &expected);
    }
    // Filters narrow within the scope; an empty filter is no filter.
    let body = get_json(
        &gw,
        &keys.acme_team,
        &format!("{summary}&team=&key=acme-k2"),
    )
    .await;
    assert_figures(
        &body,
        &expected_figures(&acme(&|e| {
            e.team.as_deref() == Some("platform") && e.key_id == "acme-k2"
        })),
    );

    // Breakdowns, series, routing mix and CSV hold the scope's rows only.
    let r = range(&days);
    let by_team = get_json(
        &gw,
        &keys.acme_team,
        &format!("/api/v1/analytics/breakdown?{r}&by=team"),
    )
    .await;
    let teams: Vec<&Value> = by_team["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["team"])
        .collect();
    assert_eq!(teams, [&json!("platform")], "{by_team}");
    let by_key = get_json(
        &gw,
        &keys.acme_solo,
        &format!("/api/v1/analytics/breakdown?{r}&by=key"),
    )
    .await;
    let named: Vec<&Value> = by_key["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["key"])
        .collect();
    assert_eq!(named, [&json!("acme-k1")], "{by_key}");
    for path in [
        format!("/api/v1/analytics/timeseries?{r}&interval=week"),
        format!("/api/v1/analytics/routing-mix?{r}"),
        format!("/api/v1/analytics/breakdown?{r}&by=team&format=csv"),
    ] {
        let text = get(&gw, &keys.acme_team, &path).await.text().await.unwrap();
        assert!(!text.contains("research"), "{path}: {text}");
    }

    // Another team or key: 403 in OpenAI's shape, whatever the format.
    for (key, query) in [
        (&keys.acme_team, "team=research"),
        (&keys.acme_team, "team=research&format=csv"),
        (&keys.acme_solo, "key=acme-k2"),
    ] {
        let refused = get(&gw, key, &format!("{summary}&{query}")).await;
        assert_eq!(refused.status(), 403, "{query}");
        let body: Value = refused.json().await.unwrap();
        let error = common::assert_openai_error(&body);
        assert_eq!(error["code"], "insufficient_permissions");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("analytics = \"tenant\""),
            "{body}"
        );
    }

    // Real time: the scope's keys only; minutes are per tenant, so null.
    let today = Utc::now().date_naive();
    let mut now = seed(&[today]);
    now.retain(|e| e.tenant_id == "acme");
    now.truncate(6);
    for (n, event) in now.iter_mut().enumerate() {
        event.key_id = ["test-all", "acme-k1", "acme-k2"][n % 3].to_owned();
    }
    emit(&gw, now).await;
    for (key, requests, scope) in [
        (&keys.acme_team, 2, ("team", "platform")),
        (&keys.acme_solo, 2, ("key", "acme-k1")),
    ] {
        let body = get_json(&gw, key, "/api/v1/analytics/realtime").await;
        assert_eq!(body["today"]["requests"], requests, "{body}");
        assert_eq!(body[scope.0], scope.1, "{body}");
        assert_eq!(body["previous_minute"], Value::Null);
        assert_eq!(body["by_model"], json!([]));
        assert_eq!(body["by_key"].as_array().unwrap().len(), 1, "{body}");
    }
    let tenant = get_json(&gw, &keys.acme, "/api/v1/analytics/realtime").await;
    assert_eq!(tenant["today"]["requests"], 6);
    assert!(tenant["previous_minute"].is_object());
    gw.gateway.shutdown().await;
}

/// Admin and dashboard keys read analytics; only API keys send traffic (403
/// in OpenAI's shape otherwise).
#[tokio::test]
async fn only_api_keys_are_accepted_for_inference() {
    let (gw, keys) = start().await;
    for (key, expect, says) in [
        (&keys.admin, 403, "admin key"),
        (&keys.acme_dashboard, 403, "dashboard token"),
        (&keys.acme, 200, ""),
    ] {
        let response = gw
            .client
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(&common::chat_body("mock-chat"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expect, "{says}");
        let models = gw
            .client
            .get(gw.url("/v1/models"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(models.status(), expect, "{says}");
        if expect == 403 {
            let body: Value = response.json().await.unwrap();
            let error = common::assert_openai_error(&body);
            assert_eq!(error["code"], "insufficient_permissions");
            assert!(error["message"].as_str().unwrap().contains(says), "{body}");
        }
    }
    // The admin key still reads any tenant's analytics.
    let body = get_json(&gw, &keys.admin, "/api/v1/analytics/summary?tenant=acme").await;
    assert_eq!(body["tenant"], "acme");
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them() {
    let (gw, keys) = start().await;
    let cases = [
        ("/api/v1/analytics/summary?from=2026-02-30", Some("from")),
        ("/api/v1/analytics/summary?to=tomorrow", Some("to")),
        (
            "/api/v1/analytics/summary?from=2026-03-02&to=2026-03-01",
            Some("from"),
        ),
        (
            "/api/v1/analytics/summary?from=1990-01-01&to=2026-01-01",
            Some("from"),
        ),
        ("/api/v1/analytics/summary?team=a&team=b", Some("team")),
        ("/api/v1/analytics/summary?format=xml", Some("format")),
        ("/api/v1/analytics/summary?form=2026-01-01", None),
        ("/api/v1/analytics/summary?interval=day", None),
        (
            "/api/v1/analytics/timeseries?interval=hour",
            Some("interval"),
        ),
        ("/api/v1/analytics/breakdown", Some("by")),
        ("/api/v1/analytics/breakdown?by=user", Some("by")),
        ("/api/v1/analytics/realtime?from=2026-01-01", None),
    ];
    for (path, param) in cases {
        let response = get(&gw, &keys.acme, path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        let error = common::assert_openai_error(&body);
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["param"], json!(param), "{path}: {body}");
    }
    let unknown = get(&gw, &keys.acme, "/api/v1/analytics/summary?form=x").await;
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`form`"));

    // No key, a wrong key: 401 in the OpenAI shape.
    let response = gw
        .client
        .get(gw.url("/api/v1/analytics/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = get(&gw, "sk-wrong", "/api/v1/analytics/summary").await;
    assert_eq!(response.status(), 401);
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn openapi_lists_every_endpoint() {
    let (gw, _keys) = start().await;
    let response = gw
        .client
        .get(gw.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/api/v1/analytics/summary",
        "/api/v1/analytics/timeseries",
        "/api/v1/analytics/breakdown",
        "/api/v1/analytics/routing-mix",
        "/api/v1/analytics/realtime",
        "/api/v1/roi",
    ] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    // The scope of each kind of key is described.
    let description = document["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("analytics = \"tenant\"") && description.contains("own team's"),
        "{description}"
    );
    assert!(document["components"]["schemas"]["Realtime"]["properties"]["team"].is_object());
    let figures = document["components"]["schemas"]["Figures"]["properties"]
        .as_object()
        .unwrap();
    for name in [
        "spend_usd",
        "savings_pct",
        "latency_p95_ms",
        "error_rate_pct",
        "failovers",
        "failover_rate_pct",
        "unpriced_requests",
    ] {
        assert!(figures.contains_key(name), "{name}");
    }
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn summary_on_postgres_equals_raw_events() {
    let db = pg::TestDb::create("gw_analytics_api").await;
    let (toml, mut keys) = extra_keys();
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    keys.acme_team = keys::mint().unwrap();
    let limited = keys::mint().unwrap();
    let text = common::config_text(mock.addr, &keys.acme_team, &limited, &toml).replace(
        "\n[analytics]\n",
        &format!("\n[analytics]\ndatabase_url = \"{}\"\n", db.url),
    );
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let gateway = gateway::server::start(&config).await.unwrap();
    let gw = TestGateway {
        gateway,
        mock,
        key: keys.acme_team.clone(),
        limited_key: limited,
        client: reqwest::Client::new(),
    };
    let days = days();
    let events = seed(&days);
    load(&gw, &events, &days).await;
    for (key, tenant) in [(&keys.acme, "acme"), (&keys.globex, "globex")] {
        let summary = get_json(
            &gw,
            key,
            &format!("/api/v1/analytics/summary?{}", range(&days)),
        )
        .await;
        let own: Vec<&UsageEvent> = events.iter().filter(|e| e.tenant_id == tenant).collect();
        assert_figures(&summary, &expected_figures(&own));
    }
    let admin = get_json(
        &gw,
        &keys.admin,
        &format!(
            "/api/v1/analytics/breakdown?{}&by=key&tenant=globex",
            range(&days)
        ),
    )
    .await;
    assert!(!admin.to_string().contains("acme"));
    gw.gateway.shutdown().await;
    db.drop_now().await;
}
