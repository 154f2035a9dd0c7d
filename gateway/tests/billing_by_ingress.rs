//! Exact money through every ingress: a Claude request with cache reads and
//! cache writes (served by Anthropic's Messages API) and a Gemini request with
//! thinking and cached tokens (served by Gemini's API), each asked in every
//! client format the gateway speaks, whole and streamed. The cost the client
//! is told, the usage event stored and the daily rollup all equal the hand
//! computation from the catalog, on both stores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

#[path = "common/clients.rs"]
mod clients;
mod common;
#[path = "common/pg.rs"]
mod pg;

use chrono::Utc;
use clients::CLIENTS;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use pricing::{Cost, Price};
use serde_json::Value;

/// Provider names that are not the embedded catalog's, so only these two
/// models are served.
const CATALOG: &str = r#"
source = "billing by ingress test"
retrieved = "2026-01-01"

[[models]]
provider = "claude-api"
id = "claude-x"
context_window = 200000
max_output = 64000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "3"
output = "15"
cached_input = "0.3"
cache_write = "3.75"

[[models]]
provider = "gemini-api"
id = "gemini-x"
context_window = 1000000
max_output = 64000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "1.25"
output = "10"
cached_input = "0.125"
reasoning = "12"
"#;

/// The mocks report these counts on every answer.
const CLAUDE_USAGE: &str = "prompt_tokens=100+cache_read=1000+cache_write=200";
const GEMINI_USAGE: &str = "prompt_tokens=100+cache_read=1000+thinking=50";

fn price(usd: &str) -> Price {
    Price::from_usd_per_mtok(usd).unwrap()
}

/// The catalog's prices applied by hand to the counts the mock reported:
/// every kind of token at its own price.
fn by_hand(model: &str, completion: u64) -> Cost {
    match model {
        // 100 plain input, 1,000 read from the cache, 200 written to it.
        "claude-x" => {
            price("3").cost(100)
                + price("0.3").cost(1000)
                + price("3.75").cost(200)
                + price("15").cost(completion)
        }
        // 100 plain input, 1,000 cached; of the output, 50 are thoughts at
        // the reasoning price and the rest is answer at the output price.
        "gemini-x" => {
            price("1.25").cost(100)
                + price("0.125").cost(1000)
                + price("12").cost(50)
                + price("10").cost(completion - 50)
        }
        other => panic!("no price for {other}"),
    }
}

const PROVIDER_KEY: &str = "sk-upstream-secret";

struct Setup {
    gateway: RunningGateway,
    _claude: RunningMock,
    _gemini: RunningMock,
    key: String,
    client: reqwest::Client,
}

async fn mock(usage: &str) -> RunningMock {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    mock.state.require_api_key(Some(PROVIDER_KEY));
    mock.state.set_behaviour(usage);
    mock
}

async fn setup(database_url: Option<&str>) -> Setup {
    let (claude, gemini) = (mock(CLAUDE_USAGE).await, mock(GEMINI_USAGE).await);
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-billing-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let key_file = dir.join("provider-key");
    std::fs::write(&key_file, PROVIDER_KEY).unwrap();
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[catalog]
file = "{catalog}"

[[providers]]
name = "claude-api"
flavor = "anthropic"
base_url = "{claude}"
api_key_file = "{key_file}"

[[providers]]
name = "gemini-api"
flavor = "gemini"
base_url = "http://{gemini}"
api_key_file = "{key_file}"

# A model with no price anywhere: served, never billed, never a saving.
[[models]]
name = "local-x"
provider = "gemini-api"

[[keys]]
id = "billing"
hash = "{hash}"
tenant = "acme"
policy = "strict"
analytics = "tenant"
"#,
        catalog = catalog.display(),
        claude = claude.base_url(),
        gemini = gemini.addr,
        key_file = key_file.display(),
        hash = KeyHash::of(&key),
    ) + &common::analytics_toml();
    if let Some(url) = database_url {
        text = text.replace(
            "\n[analytics]\n",
            &format!("\n[analytics]\ndatabase_url = \"{url}\"\n"),
        );
    }
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    Setup {
        gateway: server::start(&config).await.unwrap(),
        _claude: claude,
        _gemini: gemini,
        key,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }
}

async fn every_ingress_is_billed_exactly(database_url: Option<&str>) {
    let s = setup(database_url).await;
    let mut told = Cost::ZERO;
    let mut asked = 0;
    for client in CLIENTS {
        for model in ["claude-x", "gemini-x"] {
            for stream in [false, true] {
                let base = format!("http://{}", s.gateway.addr);
                let answer = client.ask(&s.client, &base, &s.key, model, stream).await;
                asked += 1;
                let expected = by_hand(model, answer.completion);
                assert_eq!(
                    answer.cost,
                    expected.usd().as_str(),
                    "{client:?} {model} stream={stream}"
                );
                told += expected;
            }
        }
    }

    let events = clients::events(&s.gateway, "acme", asked).await;
    assert_eq!(events.len(), asked, "{events:#?}");
    let mut stored = Cost::ZERO;
    for event in &events {
        let case = format!("{event:?}");
        assert!(!event.usage_estimated, "{case}");
        match event.requested_model.as_str() {
            "claude-x" => {
                assert_eq!(
                    event.upstream_format.as_deref(),
                    Some("anthropic"),
                    "{case}"
                );
                assert_eq!(event.prompt_tokens, 1300, "{case}");
                assert_eq!(event.cached_tokens, 1000, "{case}");
                assert_eq!(event.cache_write_tokens, 200, "{case}");
                assert_eq!(event.reasoning_tokens, 0, "{case}");
            }
            "gemini-x" => {
                assert_eq!(event.upstream_format.as_deref(), Some("gemini"), "{case}");
                assert_eq!(event.prompt_tokens, 1100, "{case}");
                assert_eq!(event.cached_tokens, 1000, "{case}");
                assert_eq!(event.cache_write_tokens, 0, "{case}");
                assert_eq!(event.reasoning_tokens, 50, "{case}");
            }
            other => panic!("unexpected model {other}"),
        }
        let cost = by_hand(&event.requested_model, event.completion_tokens);
        assert_eq!(event.cost_usd, Some(cost), "{case}");
        // Served as asked: the baseline is the model's own price.
        assert_eq!(event.baseline_usd, Some(cost), "{case}");
        stored += cost;
    }
    for client in CLIENTS {
        let n = events
            .iter()
            .filter(|e| e.ingress_format.as_deref() == Some(client.label()))
            .count();
        assert_eq!(n, 4, "{client:?}: {events:#?}");
    }
    assert_eq!(stored, told, "the events hold what the clients were told");

    let today = Utc::now().date_naive();
    s.gateway.store.rollup(today, today).await.unwrap();
    let summary: Value = s
        .client
        .get(s.url(&format!(
            "/api/v1/analytics/summary?from={today}&to={today}"
        )))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["spend_usd"], told.usd(), "{summary}");
    assert_eq!(summary["baseline_usd"], told.usd(), "{summary}");
    assert_eq!(summary["requests"], asked, "{summary}");
    let by_model: Value = s
        .client
        .get(s.url(&format!(
            "/api/v1/analytics/breakdown?from={today}&to={today}&by=routed_model"
        )))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for model in ["claude-x", "gemini-x"] {
        let row = by_model["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["routed_model"] == model)
            .unwrap_or_else(|| panic!("no {model} row: {by_model}"));
        let spent = events
            .iter()
            .filter(|e| e.requested_model == model)
            .fold(Cost::ZERO, |sum, e| sum + e.cost_usd.unwrap());
        assert_eq!(row["spend_usd"], spent.usd(), "{row}");
    }
}

#[tokio::test]
async fn every_ingress_is_billed_exactly_on_the_embedded_store() {
    every_ingress_is_billed_exactly(None).await;
}

#[tokio::test]
async fn every_ingress_is_billed_exactly_on_postgres() {
    let db = pg::TestDb::create("gw_billing").await;
    every_ingress_is_billed_exactly(Some(&db.url)).await;
    db.drop_now().await;
}

/// A model without a price, asked through every ingress: served, but neither
/// billed nor counted as a saving, in the headers or the event.
#[tokio::test]
async fn an_unpriced_model_is_never_a_saving_through_any_ingress() {
    let s = setup(None).await;
    let base = format!("http://{}", s.gateway.addr);
    for client in CLIENTS {
        let answer = client.ask(&s.client, &base, &s.key, "local-x", false).await;
        assert_eq!(answer.provider, "gemini-api", "{client:?}: {answer:?}");
        assert_eq!(answer.cost, "", "no cost header: {client:?}: {answer:?}");
        assert_eq!(answer.baseline, "", "no baseline: {client:?}: {answer:?}");
    }
    let events = clients::events(&s.gateway, "acme", CLIENTS.len()).await;
    assert_eq!(events.len(), CLIENTS.len(), "{events:#?}");
    for event in &events {
        assert_eq!(event.requested_model, "local-x", "{event:?}");
        assert!(event.priced().is_none(), "{event:?}");
        assert_eq!(
            (event.cost_usd, event.baseline_usd),
            (None, None),
            "{event:?}"
        );
        assert!(event.savings().is_none(), "{event:?}");
    }
}
