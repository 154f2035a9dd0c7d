//! Routing and failover over real HTTP: three mock providers behind one gateway,
//! priced by a catalog file, with faults injected per provider at run time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use pricing::{Cost, Price};
use serde_json::{json, Value};

const CATALOG: &str = r#"
source = "failover test"
retrieved = "2026-01-01"

[[models]]
provider = "cheap"
id = "m"
context_window = 100000
capabilities = ["tools", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "2"

[[models]]
provider = "pricey"
id = "m"
context_window = 100000
capabilities = ["tools", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "2"
output = "4"

[[models]]
provider = "premium"
id = "big"
context_window = 100000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "10"
output = "30"

[[models]]
provider = "cheap"
id = "alt4"
context_window = 100000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "0.5"
output = "1"
"#;

struct Setup {
    gateway: RunningGateway,
    cheap: RunningMock,
    pricey: RunningMock,
    premium: RunningMock,
    key: String,
    equivalent_key: String,
    shadow_key: String,
    client: reqwest::Client,
}

async fn mock() -> RunningMock {
    mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn setup(routing: &str) -> Setup {
    let (cheap, pricey, premium) = (mock().await, mock().await, mock().await);
    let key = keys::mint().unwrap();
    let equivalent_key = keys::mint().unwrap();
    let shadow_key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-failover-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog.toml"), CATALOG).unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 5000

[catalog]
file = "catalog.toml"

[routing]
{routing}

[[providers]]
name = "cheap"
base_url = "{}"
first_byte_timeout_ms = 300
idle_timeout_ms = 300

[[providers]]
name = "pricey"
base_url = "{}"

[[providers]]
name = "premium"
base_url = "{}"

[[keys]]
id = "strict"
hash = "{}"
tenant = "acme"

[[keys]]
id = "equivalent"
hash = "{}"
tenant = "acme"
policy = "equivalent"

[[keys]]
id = "shadow"
hash = "{}"
tenant = "acme"
policy = "shadow"
"#,
        cheap.base_url(),
        pricey.base_url(),
        premium.base_url(),
        KeyHash::of(&key),
        KeyHash::of(&equivalent_key),
        KeyHash::of(&shadow_key),
    );
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text + &common::analytics_toml()).unwrap();
    let config = Config::load(&path).unwrap();
    let gateway = server::start(&config).await.unwrap();
    Setup {
        gateway,
        cheap,
        pricey,
        premium,
        key,
        equivalent_key,
        shadow_key,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    async fn chat(&self, key: &str, model: &str, stream: bool) -> reqwest::Response {
        self.client
            .post(format!("http://{}/v1/chat/completions", self.gateway.addr))
            .bearer_auth(key)
            .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello there"}]}))
            .send()
            .await
            .unwrap()
    }

    fn requests(mock: &RunningMock) -> u64 {
        mock.state.requests.load(Ordering::Relaxed)
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

/// Exact cost in USD text of `usage` at (input, output) USD per million tokens.
fn cost(usage: &Value, input: &str, output: &str) -> Cost {
    let prompt = usage["prompt_tokens"].as_u64().unwrap();
    let completion = usage["completion_tokens"].as_u64().unwrap();
    Price::from_usd_per_mtok(input).unwrap().cost(prompt)
        + Price::from_usd_per_mtok(output).unwrap().cost(completion)
}

#[tokio::test]
async fn the_cheapest_provider_serves_and_the_bill_is_exact() {
    let s = setup("").await;
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "cheap");
    assert_eq!(header(&response, "x-gateway-route-reason"), "requested");
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    assert_eq!(header(&response, "x-gateway-price"), "cheap/m@2026-01-01");
    let overhead: f64 = header(&response, "x-gateway-overhead-ms").parse().unwrap();
    assert!((0.0..50.0).contains(&overhead), "{overhead}");
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    let expected = cost(&body["usage"], "1", "2");
    assert_eq!(headers["x-gateway-cost-usd"], expected.usd().as_str());
    // The baseline of a strict request is the requested model's cheapest price.
    assert_eq!(headers["x-gateway-baseline-usd"], expected.usd().as_str());
    assert_eq!(headers["x-gateway-savings-usd"], "0");
}

#[tokio::test]
async fn retryable_failures_before_the_first_byte_fail_over() {
    for (behaviour, stream) in [
        ("status=500", false),
        ("status=429", false),
        ("status=503", true),
        ("delay_ms=1000", false),
        ("silent=1", true),
        ("abort=1", true),
    ] {
        let s = setup("").await;
        s.cheap.state.set_behaviour(behaviour);
        let response = s.chat(&s.key, "m", stream).await;
        assert_eq!(response.status(), 200, "{behaviour}");
        assert_eq!(
            header(&response, "x-gateway-provider"),
            "pricey",
            "{behaviour}"
        );
        assert_eq!(header(&response, "x-gateway-attempts"), "2", "{behaviour}");
        let text = response.text().await.unwrap();
        if stream {
            assert!(text.contains("data: [DONE]"), "{behaviour}: {text}");
            assert!(
                text.contains(": x-gateway-cost-usd="),
                "{behaviour}: {text}"
            );
        }
        assert_eq!(Setup::requests(&s.cheap), 1, "{behaviour}");
        assert_eq!(Setup::requests(&s.pricey), 1, "{behaviour}");
    }
}

/// A `requested` route is compared with its own price: failing over to the same
/// model at a dearer provider is not a negative saving against the cheaper one.
#[tokio::test]
async fn a_failover_to_the_same_model_elsewhere_is_billed_against_its_own_price() {
    let s = setup("").await;
    s.cheap.state.set_behaviour("status=500");
    for stream in [false, true] {
        let response = s.chat(&s.key, "m", stream).await;
        assert_eq!(header(&response, "x-gateway-provider"), "pricey");
        assert_eq!(header(&response, "x-gateway-route-reason"), "requested");
        if stream {
            let text = response.text().await.unwrap();
            let comment = text
                .lines()
                .find(|l| l.starts_with(": x-gateway-cost-usd="))
                .unwrap();
            assert!(
                comment.contains("x-gateway-baseline-price=pricey/m@2026-01-01")
                    && comment.contains("x-gateway-savings-usd=0;"),
                "{comment}"
            );
            continue;
        }
        assert_eq!(
            header(&response, "x-gateway-baseline-price"),
            "pricey/m@2026-01-01"
        );
        assert_eq!(header(&response, "x-gateway-savings-usd"), "0");
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        let paid = cost(&body["usage"], "2", "4");
        assert_eq!(headers["x-gateway-cost-usd"], paid.usd().as_str());
        assert_eq!(headers["x-gateway-baseline-usd"], paid.usd().as_str());
    }
}

#[tokio::test]
async fn a_refused_connection_fails_over() {
    let pricey = mock().await;
    let key = keys::mint().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[providers]]\nname = \"down\"\ncatalog = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nconnect_timeout_ms = 300\n\
         [[providers]]\nname = \"up\"\ncatalog = \"openai\"\nbase_url = \"{}\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\n",
        common::closed_port(),
        pricey.base_url(),
        KeyHash::of(&key)
    ) + &common::analytics_toml();
    let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let gateway = server::start(&config).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/chat/completions", gateway.addr))
        .bearer_auth(&key)
        .json(&common::chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "up");
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
}

#[tokio::test]
async fn a_stream_cut_after_the_first_byte_is_an_error_not_a_retry() {
    let s = setup("").await;
    s.cheap.state.set_behaviour("cut_after=2");
    let response = s.chat(&s.key, "m", true).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("stream_interrupted"), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(
        Setup::requests(&s.pricey),
        0,
        "no retry after bytes reached the client"
    );
}

#[tokio::test]
async fn when_every_candidate_fails_the_last_error_is_relayed() {
    let s = setup("").await;
    s.cheap.state.set_behaviour("status=500");
    s.pricey.state.set_behaviour("status=503");
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Simulated provider failure.");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let s = setup("").await;
    s.cheap.state.set_behaviour("status=400");
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(response.status(), 400);
    assert_eq!(Setup::requests(&s.pricey), 0);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_recovers() {
    let s = setup("circuit_failures = 2\ncircuit_open_ms = 400").await;
    s.cheap.state.set_behaviour("status=500");
    for _ in 0..2 {
        let response = s.chat(&s.key, "m", false).await;
        assert_eq!(header(&response, "x-gateway-provider"), "pricey");
    }
    assert_eq!(Setup::requests(&s.cheap), 2);
    // Open: "cheap" is skipped without a request.
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(header(&response, "x-gateway-provider"), "pricey");
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    assert_eq!(Setup::requests(&s.cheap), 2);

    // The provider heals; after the open period one probe closes the circuit.
    s.cheap.state.set_behaviour("");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(header(&response, "x-gateway-provider"), "cheap");
    let response = s.chat(&s.key, "m", false).await;
    assert_eq!(header(&response, "x-gateway-provider"), "cheap");
    assert_eq!(Setup::requests(&s.cheap), 4);
}

#[tokio::test]
async fn a_failed_probe_reopens_the_circuit() {
    let s = setup("circuit_failures = 1\ncircuit_open_ms = 300").await;
    s.cheap.state.set_behaviour("status=500");
    s.chat(&s.key, "m", false).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    s.chat(&s.key, "m", false).await; // the probe fails
    assert_eq!(Setup::requests(&s.cheap), 2);
    s.chat(&s.key, "m", false).await; // open again: skipped
    assert_eq!(Setup::requests(&s.cheap), 2);
}

#[tokio::test]
async fn the_retry_budget_caps_failover_load() {
    let s =
        setup("retry_budget_percent = 0\nretry_budget_reserve = 2\ncircuit_failures = 1000").await;
    s.cheap.state.set_behaviour("status=500");
    let mut attempts = Vec::new();
    for _ in 0..5 {
        let response = s.chat(&s.key, "m", false).await;
        attempts.push((
            response.status().as_u16(),
            header(&response, "x-gateway-attempts").to_owned(),
        ));
    }
    assert_eq!(
        attempts,
        [
            (200, "2".to_owned()),
            (200, "2".to_owned()),
            (500, "1".to_owned()),
            (500, "1".to_owned()),
            (500, "1".to_owned())
        ]
    );
    assert_eq!(Setup::requests(&s.pricey), 2);
    let metrics = s
        .client
        .get(format!("http://{}/metrics", s.gateway.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_retry_budget_exhausted_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gateway_failovers_total{provider="cheap",model="m"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn equivalent_routing_substitutes_and_reports_savings() {
    let s = setup("").await;
    let response = s.chat(&s.equivalent_key, "big", false).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-gateway-route-reason"),
        "cheaper_equivalent"
    );
    assert_eq!(header(&response, "x-gateway-model"), "alt4");
    assert_eq!(
        header(&response, "x-gateway-baseline-price"),
        "premium/big@2026-01-01"
    );
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    let paid = cost(&body["usage"], "0.5", "1");
    let baseline = cost(&body["usage"], "10", "30");
    assert_eq!(headers["x-gateway-cost-usd"], paid.usd().as_str());
    assert_eq!(headers["x-gateway-baseline-usd"], baseline.usd().as_str());
    assert_eq!(
        headers["x-gateway-savings-usd"],
        (baseline - paid).usd().as_str()
    );
    assert_eq!(Setup::requests(&s.premium), 0);
}

#[tokio::test]
async fn shadow_routing_forwards_the_request_unchanged_and_reports_what_it_would_save() {
    let s = setup("").await;
    let response = s.chat(&s.shadow_key, "big", true).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-route-reason"), "shadow");
    assert_eq!(header(&response, "x-gateway-provider"), "premium");
    let text = response.text().await.unwrap();
    let comment = text
        .lines()
        .find(|l| l.starts_with(": x-gateway-cost-usd="))
        .unwrap_or_else(|| panic!("no bill comment in {text}"));
    assert!(
        comment.contains("x-gateway-shadow-price=cheap/alt4@2026-01-01"),
        "{comment}"
    );
    assert!(comment.contains("x-gateway-savings-usd=0;"), "{comment}");
    assert_eq!(Setup::requests(&s.premium), 1);
    assert_eq!(Setup::requests(&s.cheap), 0);
}

#[tokio::test]
async fn models_lists_virtual_names_and_reachable_catalog_models() {
    let s = setup("").await;
    let list: Value = s
        .client
        .get(format!("http://{}/v1/models", s.gateway.addr))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["auto", "auto:fast", "auto:strong", "m", "alt4", "big"]
    );
    let response = s.chat(&s.key, "auto:strong", false).await;
    assert_eq!(header(&response, "x-gateway-model"), "alt4");
    assert_eq!(header(&response, "x-gateway-route-reason"), "virtual");
}

#[tokio::test]
async fn a_bad_catalog_on_reload_keeps_the_running_one() {
    let s = setup("").await;
    let dir = std::env::temp_dir().join(format!("gateway-reload-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[catalog]\nfile = \"catalog.toml\"\n\
         [[providers]]\nname = \"cheap\"\nbase_url = \"{}\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\n",
        s.cheap.base_url(),
        KeyHash::of(&s.key)
    );
    std::fs::write(dir.join("gateway.toml"), config + &common::analytics_toml()).unwrap();
    std::fs::write(dir.join("catalog.toml"), CATALOG).unwrap();
    let path = dir.join("gateway.toml");
    let gateway = server::start(&Config::load(&path).unwrap()).await.unwrap();
    let chat = || async {
        reqwest::Client::new()
            .post(format!("http://{}/v1/chat/completions", gateway.addr))
            .bearer_auth(&s.key)
            .json(&common::chat_body("m"))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(
        header(&chat().await, "x-gateway-price"),
        "cheap/m@2026-01-01"
    );

    // A negative price: refused, naming the entry; the old catalog keeps serving.
    std::fs::write(
        dir.join("catalog.toml"),
        CATALOG.replacen("input = \"1\"", "input = \"-1\"", 1),
    )
    .unwrap();
    let error = gateway.reload(&path).unwrap_err().to_string();
    assert!(
        error.contains("models[0] (cheap/m)") && error.contains("negative"),
        "{error}"
    );
    assert_eq!(
        header(&chat().await, "x-gateway-price"),
        "cheap/m@2026-01-01"
    );

    // A new price version: picked up by the reload, old costs keep their version.
    let updated = CATALOG.replacen(
        "input = \"1\"\noutput = \"2\"",
        "input = \"1\"\noutput = \"2\"\n[[models.prices]]\neffective = \"2026-02-01\"\ninput = \"0.8\"\noutput = \"1.6\"",
        1,
    );
    std::fs::write(dir.join("catalog.toml"), updated).unwrap();
    gateway.reload(&path).unwrap();
    assert_eq!(
        header(&chat().await, "x-gateway-price"),
        "cheap/m@2026-02-01"
    );
}
