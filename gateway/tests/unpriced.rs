//! Requests served by a model without a price claim no savings (issue 8, part 1).
//!
//! Through the real server, on the embedded store and on Postgres: a configured
//! model the catalog does not price (`llama-local`, route reason `requested`,
//! with `routing.baseline_model = "gpt-4o"` set, as in the report) answers
//! without cost, baseline or savings headers and with `x-gateway-priced: false`
//! (headers and the SSE comment); its events have unknown amounts (NULL), and
//! every savings figure of the analytics API (summary, series, breakdowns,
//! routing mix, real-time, CSV) and the measured ROI leaves it out, while
//! counting it as unpriced. Priced traffic in the same tenant keeps its exact
//! savings, so a formula that books the unpriced baseline as savings shows.
//!
//! Also: explicit per-model prices (zero included) and baselines, and a
//! configured model without a price reachable by its own name under every
//! policy (it was a 404 under `equivalent`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use analytics::store::{EventStore, Store};
use analytics::UsageEvent;
use chrono::{TimeDelta, Utc};
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use pricing::{Catalog, Cost, Price};
use serde_json::{json, Value};

#[path = "common/pg.rs"]
mod pg;

struct Setup {
    gateway: RunningGateway,
    _mock: RunningMock,
    /// Tenant `acme`, policy `strict`; reads the tenant's analytics.
    strict: String,
    /// Tenant `acme`, policy `equivalent`.
    equivalent: String,
    client: reqwest::Client,
}

/// One mock behind two providers: `openai` (the catalog's OpenAI models and
/// prices) and `local` (a self-hosted server the catalog knows nothing of).
async fn setup(database_url: Option<&str>) -> Setup {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let strict = keys::mint().unwrap();
    let equivalent = keys::mint().unwrap();
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[routing]
baseline_model = "gpt-4o"

[[providers]]
name = "openai"
base_url = "http://{mock}/v1"

[[providers]]
name = "local"
base_url = "http://{mock}/v1"

[[models]]
name = "llama-local"
provider = "local"

[[models]]
name = "local-embed"
provider = "local"
endpoint = "embeddings"

[[keys]]
id = "acme-strict"
hash = "{strict}"
tenant = "acme"
policy = "strict"
# It reads the tenant's analytics (an API key reads its own otherwise).
analytics = "tenant"

[[keys]]
id = "acme-equivalent"
hash = "{equivalent}"
tenant = "acme"
policy = "equivalent"
"#,
        mock = mock.addr,
        strict = KeyHash::of(&strict),
        equivalent = KeyHash::of(&equivalent),
    ) + &common::analytics_toml();
    if let Some(url) = database_url {
        text = text.replace(
            "\n[analytics]\n",
            &format!("\n[analytics]\ndatabase_url = \"{url}\"\n"),
        );
    }
    let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    Setup {
        gateway: server::start(&config).await.unwrap(),
        _mock: mock,
        strict,
        equivalent,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    async fn chat(&self, key: &str, model: &str, stream: bool) -> reqwest::Response {
        let body = json!({
            "model": model,
            "stream": stream,
            "messages": [{"role": "user", "content": "Say hello"}]
        });
        let response = self
            .client
            .post(self.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{model}");
        response
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.strict)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn get_csv(&self, path: &str) -> Vec<Vec<String>> {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.strict)
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.unwrap();
        // No field here holds a comma or a quote.
        text.lines()
            .map(|line| line.split(',').map(str::to_owned).collect())
            .collect()
    }

    /// Waits until the writer has stored `n` events in all.
    async fn written(&self, n: u64) {
        let stats = self.gateway.state.events.stats().clone();
        for _ in 0..1000 {
            if stats.written.load(Ordering::Relaxed) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the writer did not store {n} events");
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// What the priced requests cost and would have cost, read from their headers.
#[derive(Debug, Default, Clone, Copy)]
struct Money {
    cost: Cost,
    baseline: Cost,
}

impl Money {
    fn add(&mut self, response: &reqwest::Response) {
        self.cost += Cost::parse_usd(header(response, "x-gateway-cost-usd").unwrap()).unwrap();
        self.baseline +=
            Cost::parse_usd(header(response, "x-gateway-baseline-usd").unwrap()).unwrap();
    }

    fn savings(&self) -> Cost {
        self.baseline - self.cost
    }

    /// `100 * savings / baseline`, two decimals, half away from zero.
    fn pct(&self) -> String {
        let (part, whole) = (self.savings().0, self.baseline.0);
        assert!(part > 0 && whole > 0);
        let hundredths = (part * 10_000 * 2 + whole) / (whole * 2);
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    }
}

/// Sends the mixed traffic: 3 unpriced requests to `llama-local` (2 buffered,
/// 1 streamed), 2 to `auto` (priced, compared with `gpt-4o`: savings) and 1 to
/// `gpt-4o-mini` as asked (priced, no savings). Checks the headers and the SSE
/// comment; returns what the priced ones cost.
async fn traffic(s: &Setup) -> Money {
    let mut priced = Money::default();
    for _ in 0..2 {
        let response = s.chat(&s.strict, "llama-local", false).await;
        assert_eq!(
            header(&response, "x-gateway-route-reason"),
            Some("requested")
        );
        assert_eq!(header(&response, "x-gateway-provider"), Some("local"));
        for absent in [
            "x-gateway-cost-usd",
            "x-gateway-price",
            "x-gateway-baseline-usd",
            "x-gateway-baseline-price",
            "x-gateway-savings-usd",
        ] {
            assert_eq!(header(&response, absent), None, "{absent}");
        }
        assert_eq!(header(&response, "x-gateway-priced"), Some("false"));
        response.bytes().await.unwrap();
    }
    let stream = s
        .chat(&s.strict, "llama-local", true)
        .await
        .text()
        .await
        .unwrap();
    let comment = stream
        .lines()
        .find(|line| line.starts_with(": x-gateway-"))
        .unwrap_or_else(|| panic!("no bill comment in {stream}"));
    assert!(
        !comment.contains("baseline") && !comment.contains("savings") && !comment.contains("cost"),
        "{comment}"
    );
    assert!(comment.contains("x-gateway-priced=false"), "{comment}");
    assert!(stream.contains("data: [DONE]"));

    for _ in 0..2 {
        let response = s.chat(&s.strict, "auto", false).await;
        assert_eq!(header(&response, "x-gateway-route-reason"), Some("virtual"));
        assert_eq!(header(&response, "x-gateway-priced"), Some("true"));
        assert!(header(&response, "x-gateway-baseline-price")
            .unwrap()
            .starts_with("openai/gpt-4o@"));
        priced.add(&response);
    }
    let response = s.chat(&s.strict, "gpt-4o-mini", false).await;
    assert_eq!(
        header(&response, "x-gateway-route-reason"),
        Some("requested")
    );
    assert_eq!(header(&response, "x-gateway-savings-usd"), Some("0"));
    assert_eq!(
        header(&response, "x-gateway-cost-usd"),
        header(&response, "x-gateway-baseline-usd")
    );
    priced.add(&response);
    assert!(priced.savings().0 > 0);
    priced
}

/// The money figures and the unpriced count of a record of the analytics API.
fn assert_money(record: &Value, priced: Money, requests: i64, unpriced: i64, what: &str) {
    let check = |name: &str, expected: Value| {
        assert_eq!(record[name], expected, "{what}, {name}: {record}");
    };
    check("savings_pct", json!(priced.pct()));
    check("savings_usd", json!(priced.savings().usd()));
    check("baseline_usd", json!(priced.baseline.usd()));
    check("spend_usd", json!(priced.cost.usd()));
    check("requests", json!(requests));
    check("unpriced_requests", json!(unpriced));
}

/// Every savings figure of the API leaves the unpriced requests out.
async fn check_analytics(s: &Setup, priced: Money) {
    let today = Utc::now().date_naive();
    s.gateway.store.rollup(today, today).await.unwrap();
    let range = format!("from={today}&to={today}");

    let summary = s.get(&format!("/api/v1/analytics/summary?{range}")).await;
    assert_money(&summary, priced, 6, 3, "summary");
    let series = s
        .get(&format!(
            "/api/v1/analytics/timeseries?{range}&interval=day"
        ))
        .await;
    assert_money(&series["points"][0], priced, 6, 3, "series");

    let by_model = s
        .get(&format!(
            "/api/v1/analytics/breakdown?{range}&by=routed_model"
        ))
        .await;
    let rows = by_model["rows"].as_array().unwrap();
    let local = rows
        .iter()
        .find(|r| r["routed_model"] == "llama-local")
        .unwrap();
    assert_eq!(local["requests"], 3);
    assert_eq!(local["unpriced_requests"], 3);
    for (name, value) in [
        ("spend_usd", json!("0")),
        ("baseline_usd", json!("0")),
        ("savings_usd", json!("0")),
        ("savings_pct", Value::Null),
    ] {
        assert_eq!(local[name], value, "{name}: {local}");
    }
    let savings: Cost = rows
        .iter()
        .map(|r| Cost::parse_usd(r["savings_usd"].as_str().unwrap()).unwrap())
        .sum();
    assert_eq!(savings, priced.savings());
    let by_provider = s
        .get(&format!("/api/v1/analytics/breakdown?{range}&by=provider"))
        .await;
    let local = by_provider["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == "local")
        .unwrap();
    assert_eq!(local["savings_usd"], "0", "{local}");

    let mix = s
        .get(&format!("/api/v1/analytics/routing-mix?{range}"))
        .await;
    let route = mix["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requested_model"] == "llama-local")
        .unwrap();
    assert_eq!(route["substituted"], false);
    assert_eq!(route["savings_usd"], "0");
    assert_eq!(route["unpriced_requests"], 3);

    let csv = s
        .get_csv(&format!("/api/v1/analytics/summary?{range}"))
        .await;
    let cell = |name: &str| {
        let at = csv[0].iter().position(|c| c == name).unwrap();
        csv[1][at].clone()
    };
    assert_eq!(cell("unpriced_requests"), "3");
    assert_eq!(cell("savings_usd"), priced.savings().usd());
    assert_eq!(cell("savings_pct"), priced.pct());

    // Real time: the counters were updated before the events were written.
    let realtime = s.get("/api/v1/analytics/realtime").await;
    assert_money(&realtime["today"], priced, 6, 3, "realtime");
    let local = realtime["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["routed_model"] == "llama-local")
        .unwrap();
    assert_eq!(local["savings_usd"], "0", "{local}");
    assert_eq!(local["savings_pct"], Value::Null, "{local}");
}

/// Measured ROI over yesterday: the same events, a day earlier (measured mode
/// reads whole days), priced ones only on both sides.
async fn check_measured_roi(s: &Setup, events: Vec<UsageEvent>, priced: Money) {
    assert_eq!(events.len(), 6);
    let moved: Vec<UsageEvent> = events
        .into_iter()
        .map(|mut e| {
            e.event_id = UsageEvent::new_id();
            e.occurred_at -= TimeDelta::days(1);
            e
        })
        .collect();
    assert_eq!(s.gateway.store.write(&moved).await.unwrap(), 6);
    let yesterday = Utc::now().date_naive() - TimeDelta::days(1);
    s.gateway.store.rollup(yesterday, yesterday).await.unwrap();
    let response = s
        .client
        .post(s.url("/api/v1/roi"))
        .bearer_auth(&s.strict)
        .json(&json!({"mode": "measured", "seats": 1, "price_per_seat": "49", "days": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let month = |cost: Cost| Cost(cost.0 * 30).usd();
    assert_eq!(
        report["current_monthly_cost"],
        month(priced.baseline),
        "{report}"
    );
    assert_eq!(
        report["optimized_monthly_cost"],
        month(priced.cost),
        "{report}"
    );
    assert_eq!(report["measured"]["requests"], 6, "{report}");
    assert_eq!(report["measured"]["unpriced_requests"], 3, "{report}");
}

#[tokio::test]
async fn an_unpriced_model_claims_no_savings_anywhere_on_the_embedded_store() {
    let s = setup(None).await;
    let priced = traffic(&s).await;
    s.written(6).await;
    check_analytics(&s, priced).await;

    let Store::Sqlite(sqlite) = &*s.gateway.store else {
        panic!("expected the embedded store")
    };
    let hour = TimeDelta::hours(1);
    let events = sqlite
        .events("acme", Utc::now() - hour, Utc::now() + hour, 100)
        .await
        .unwrap();
    let unknown: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM usage_events \
         WHERE routed_model = 'llama-local' AND cost_pusd IS NULL AND baseline_pusd IS NULL \
           AND price_version IS NULL AND baseline_price_version IS NULL",
    )
    .fetch_one(sqlite.pool())
    .await
    .unwrap();
    assert_eq!(unknown, 3, "unpriced events store unknown (NULL) amounts");
    check_measured_roi(&s, events, priced).await;
    s.gateway.shutdown().await;
}

#[tokio::test]
async fn an_unpriced_model_claims_no_savings_anywhere_on_postgres() {
    let db = pg::TestDb::create("gw_unpriced").await;
    let s = setup(Some(&db.url)).await;
    let priced = traffic(&s).await;
    s.written(6).await;
    check_analytics(&s, priced).await;

    let Store::Postgres(postgres) = &*s.gateway.store else {
        panic!("expected Postgres")
    };
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT routed_model, cost_usd::text, baseline_usd::text FROM usage_events \
         ORDER BY routed_model",
    )
    .fetch_all(postgres.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 6);
    for (model, cost, baseline) in &rows {
        let unknown = model == "llama-local";
        assert_eq!(cost.is_none(), unknown, "{model}: cost {cost:?}");
        assert_eq!(
            baseline.is_none(),
            unknown,
            "{model}: baseline {baseline:?}"
        );
    }
    let hour = TimeDelta::hours(1);
    let events = postgres
        .events("acme", Utc::now() - hour, Utc::now() + hour, 100)
        .await
        .unwrap();
    check_measured_roi(&s, events, priced).await;
    s.gateway.shutdown().await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_configured_model_without_a_price_is_reachable_by_name_under_every_policy() {
    let s = setup(None).await;
    for key in [&s.equivalent, &s.strict] {
        let response = s.chat(key, "llama-local", false).await;
        assert_eq!(header(&response, "x-gateway-model"), Some("llama-local"));
        assert_eq!(
            header(&response, "x-gateway-route-reason"),
            Some("requested")
        );
        assert_eq!(header(&response, "x-gateway-baseline-usd"), None);
        assert_eq!(header(&response, "x-gateway-priced"), Some("false"));
        let embedding = s
            .client
            .post(s.url("/v1/embeddings"))
            .bearer_auth(key)
            .json(&json!({"model": "local-embed", "input": "hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(embedding.status(), 200);
        assert_eq!(header(&embedding, "x-gateway-baseline-usd"), None);
        assert_eq!(header(&embedding, "x-gateway-priced"), Some("false"));
    }
    // An unpriced `mock-embed`, as in the example config of c381eb6, under an
    // `equivalent` tenant (the example's own tenant policy then).
    let gw = common::start_with("\n[[tenants]]\nid = \"acme\"\npolicy = \"equivalent\"\n").await;
    let response = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "mock-embed", "input": "hi"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    s.gateway.shutdown().await;
    gw.gateway.shutdown().await;
}

/// The exact cost of a response's usage at `input`/`output` USD per million
/// tokens, the same usage at gpt-4o's list price, and the response's headers.
async fn billed(
    response: reqwest::Response,
    input: &str,
    output: &str,
) -> (Cost, Cost, impl Fn(&str) -> Option<String>) {
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    let prompt = body["usage"]["prompt_tokens"].as_u64().unwrap();
    let completion = body["usage"]["completion_tokens"].as_u64().unwrap();
    let at = |price: &str| Price::from_usd_per_mtok(price).unwrap();
    let expected = at(input).cost(prompt) + at(output).cost(completion);
    let catalog = Catalog::embedded().unwrap();
    let gpt_4o = catalog
        .get("openai", "gpt-4o")
        .unwrap()
        .current_price()
        .unwrap();
    let list = gpt_4o.version.input.cost(prompt) + gpt_4o.version.output.cost(completion);
    let get = move |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    (expected, list, get)
}

/// `[[models]]` with explicit prices: exact, named `provider/model@config`;
/// zero is a price (priced, saves nothing when asked for); a baseline is
/// claimed when the model stands in for another, or when the config names one.
#[tokio::test]
async fn explicit_model_prices_including_zero() {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = keys::mint().unwrap();
    let equivalent = keys::mint().unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[[providers]]
name = "openai"
base_url = "http://{mock}/v1"

[[providers]]
name = "local"
base_url = "http://{mock}/v1"

[[models]]
name = "llama-priced"
provider = "local"
upstream_model = "llama"
price = {{ input = "0.20", output = "0.60", cached_input = "0.05" }}

[[models]]
name = "llama-free"
provider = "local"
upstream_model = "llama"
price = {{ input = 0, output = "0" }}

[[models]]
name = "llama-as-4o"
provider = "local"
upstream_model = "llama"
price = {{ input = "0", output = "0" }}
baseline = "openai/gpt-4o"

[[models]]
name = "llama-tier4"
provider = "local"
upstream_model = "llama"
price_as = "openai/gpt-4o"
price = {{ input = "0", output = "0" }}

[[keys]]
id = "strict"
hash = "{strict}"
tenant = "acme"
policy = "strict"

[[keys]]
id = "equivalent"
hash = "{equivalent_hash}"
tenant = "acme"
policy = "equivalent"
"#,
        mock = mock.addr,
        strict = KeyHash::of(&key),
        equivalent_hash = KeyHash::of(&equivalent),
    ) + &common::analytics_toml();
    let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let s = Setup {
        gateway: server::start(&config).await.unwrap(),
        _mock: mock,
        strict: key,
        equivalent,
        client: reqwest::Client::new(),
    };
    let response = s.chat(&s.strict, "llama-priced", false).await;
    let (expected, _, get) = billed(response, "0.20", "0.60").await;
    assert!(expected.0 > 0);
    assert_eq!(get("x-gateway-cost-usd"), Some(expected.usd()));
    assert_eq!(
        get("x-gateway-price").as_deref(),
        Some("local/llama-priced@config")
    );
    assert_eq!(get("x-gateway-baseline-usd"), Some(expected.usd()));
    assert_eq!(get("x-gateway-savings-usd").as_deref(), Some("0"));
    assert_eq!(get("x-gateway-priced").as_deref(), Some("true"));

    // Self-hosted at zero, as asked: priced, nothing saved.
    let response = s.chat(&s.strict, "llama-free", false).await;
    let (_, _, get) = billed(response, "0", "0").await;
    assert_eq!(get("x-gateway-cost-usd").as_deref(), Some("0"));
    assert_eq!(get("x-gateway-baseline-usd").as_deref(), Some("0"));
    assert_eq!(get("x-gateway-savings-usd").as_deref(), Some("0"));
    assert_eq!(get("x-gateway-priced").as_deref(), Some("true"));

    // Zero, with a baseline the config names: the whole list price is saved.
    let response = s.chat(&s.strict, "llama-as-4o", false).await;
    let (_, list, get) = billed(response, "0", "0").await;
    assert_eq!(get("x-gateway-route-reason").as_deref(), Some("requested"));
    assert_eq!(get("x-gateway-cost-usd").as_deref(), Some("0"));
    assert_eq!(get("x-gateway-baseline-usd"), Some(list.usd()));
    assert_eq!(get("x-gateway-savings-usd"), Some(list.usd()));

    // Zero with gpt-4o's tier: `equivalent` routes gpt-4o to it (a substitution),
    // and the baseline is gpt-4o's list price.
    let response = s.chat(&s.equivalent, "gpt-4o", false).await;
    let (_, list, get) = billed(response, "0", "0").await;
    assert_eq!(
        get("x-gateway-route-reason").as_deref(),
        Some("cheaper_equivalent")
    );
    assert_eq!(get("x-gateway-model").as_deref(), Some("llama"));
    assert_eq!(
        get("x-gateway-price").as_deref(),
        Some("local/llama-tier4@config")
    );
    assert_eq!(get("x-gateway-savings-usd"), Some(list.usd()));
    // Asked for by name, the same model saves nothing.
    let response = s.chat(&s.strict, "llama-tier4", false).await;
    let (_, _, get) = billed(response, "0", "0").await;
    assert_eq!(get("x-gateway-savings-usd").as_deref(), Some("0"));
    s.gateway.shutdown().await;
}
