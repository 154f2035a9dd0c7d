//! Requests that change wire format on the way: failover from Anthropic to a
//! Gemini or OpenAI-compatible provider when Anthropic is overloaded (529) or
//! silent until its first-byte timeout, and substitution of a cheaper model of
//! another format under the `equivalent` policy. Three mocks, one per format,
//! each refusing what its real API refuses. Whatever served it, the client reads
//! its own format throughout (body, stream and errors), and cost and baseline
//! are the hand computation from the catalog.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

#[path = "common/clients.rs"]
mod clients;
mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use clients::{Answer, Client, CLIENTS};

use analytics::event::UsageEvent;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use pricing::{Cost, Price};
use serde_json::Value;

/// `claude-x` at Anthropic is the cheapest; Gemini and an OpenAI-compatible
/// vendor serve models of the same tier and capabilities at higher prices. The
/// providers' names are not the embedded catalog's, so its real models (which
/// would be candidates too) stay out of the way.
const FAILOVER_CATALOG: &str = r#"
source = "cross-format failover test"
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
input = "1"
output = "5"

[[models]]
provider = "gemini-api"
id = "gemini-x"
context_window = 1000000
max_output = 64000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "2"
output = "8"

[[models]]
provider = "compat"
id = "gpt-x"
context_window = 200000
max_output = 32000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "3"
output = "12"
"#;

/// The same three models with Gemini the cheapest and Anthropic the dearest:
/// a Claude request is substituted by Gemini's model under `equivalent`.
const SUBSTITUTION_CATALOG: &str = r#"
source = "cross-format substitution test"
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

[[models]]
provider = "gemini-api"
id = "gemini-x"
context_window = 1000000
max_output = 64000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "0.5"
output = "2"

[[models]]
provider = "compat"
id = "gpt-x"
context_window = 200000
max_output = 32000
capabilities = ["tools", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "4"
"#;

/// Input and output prices (USD per million tokens) of each catalog model.
fn prices(catalog: &str, model: &str) -> (&'static str, &'static str) {
    match (catalog == FAILOVER_CATALOG, model) {
        (true, "claude-x") => ("1", "5"),
        (true, "gemini-x") => ("2", "8"),
        (true, "gpt-x") => ("3", "12"),
        (false, "claude-x") => ("3", "15"),
        (false, "gemini-x") => ("0.5", "2"),
        (false, "gpt-x") => ("1", "4"),
        other => panic!("no price for {other:?}"),
    }
}

fn by_hand(catalog: &str, model: &str, prompt: u64, completion: u64) -> Cost {
    let (input, output) = prices(catalog, model);
    let price = |usd: &str| Price::from_usd_per_mtok(usd).unwrap();
    price(input).cost(prompt) + price(output).cost(completion)
}

const PROVIDER_KEY: &str = "sk-upstream-secret";

struct Setup {
    gateway: RunningGateway,
    anthropic: RunningMock,
    gemini: RunningMock,
    compat: RunningMock,
    key: String,
    client: reqwest::Client,
    catalog: &'static str,
}

async fn mock() -> RunningMock {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    mock.state.require_api_key(Some(PROVIDER_KEY));
    mock
}

async fn setup(catalog: &'static str) -> Setup {
    let (anthropic, gemini, compat) = (mock().await, mock().await, mock().await);
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-xformat-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog_path = dir.join("catalog.toml");
    std::fs::write(&catalog_path, catalog).unwrap();
    let key_file = dir.join("provider-key");
    std::fs::write(&key_file, PROVIDER_KEY).unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 10000

[catalog]
file = "{catalog}"

# Every request of a test must meet the faults it injects: no circuit opens
# and the retry budget does not run out.
[routing]
circuit_failures = 1000
retry_budget_reserve = 1000

[[providers]]
name = "claude-api"
flavor = "anthropic"
base_url = "{anthropic}"
api_key_file = "{key_file}"
first_byte_timeout_ms = 400

[[providers]]
name = "gemini-api"
flavor = "gemini"
base_url = "http://{gemini}"
api_key_file = "{key_file}"

[[providers]]
name = "compat"
base_url = "{compat}"
api_key_file = "{key_file}"

[[keys]]
id = "platform"
hash = "{hash}"
tenant = "acme"
policy = "equivalent"
"#,
        catalog = catalog_path.display(),
        anthropic = anthropic.base_url(),
        gemini = gemini.addr,
        compat = compat.base_url(),
        key_file = key_file.display(),
        hash = KeyHash::of(&key),
    ) + &common::analytics_toml();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let gateway = server::start(&config).await.unwrap();
    Setup {
        gateway,
        anthropic,
        gemini,
        compat,
        key,
        client: reqwest::Client::new(),
        catalog,
    }
}

impl Setup {
    fn base(&self) -> String {
        format!("http://{}", self.gateway.addr)
    }

    async fn ask(&self, client: Client, model: &str, stream: bool) -> Answer {
        client
            .ask(&self.client, &self.base(), &self.key, model, stream)
            .await
    }

    fn requests(mock: &RunningMock) -> u64 {
        mock.state.requests.load(Ordering::Relaxed)
    }

    async fn events(&self, expected: usize) -> Vec<UsageEvent> {
        clients::events(&self.gateway, "acme", expected).await
    }
}

#[tokio::test]
async fn an_overloaded_anthropic_is_failed_over_to_gemini_in_the_clients_format() {
    let s = setup(FAILOVER_CATALOG).await;
    s.anthropic.state.set_behaviour("status=529");
    let mut asked = 0;
    for client in CLIENTS {
        for stream in [false, true] {
            let answer = s.ask(client, "claude-x", stream).await;
            asked += 1;
            let case = format!("{client:?} stream={stream}: {answer:?}");
            assert_eq!(answer.provider, "gemini-api", "{case}");
            assert_eq!(answer.model, "gemini-x", "{case}");
            assert_eq!(answer.attempts, "2", "{case}");
            assert!(answer.prompt > 0 && answer.completion > 0, "{case}");
            // Billed at Gemini's price, against Claude's as the baseline.
            let cost = by_hand(s.catalog, "gemini-x", answer.prompt, answer.completion);
            assert_eq!(answer.cost, cost.usd().as_str(), "{case}");
            if !stream {
                let baseline = by_hand(s.catalog, "claude-x", answer.prompt, answer.completion);
                assert_eq!(answer.baseline, baseline.usd().as_str(), "{case}");
            }
            assert_eq!(Setup::requests(&s.anthropic), asked, "{case}");
            assert_eq!(Setup::requests(&s.gemini), asked, "{case}");
        }
    }
    assert_eq!(Setup::requests(&s.compat), 0);

    let events = s.events(6).await;
    assert_eq!(events.len(), 6, "{events:#?}");
    for client in CLIENTS {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.ingress_format.as_deref() == Some(client.label()))
            .collect();
        assert_eq!(mine.len(), 2, "{client:?}: {events:#?}");
        for event in mine {
            assert_eq!(
                event.upstream_format.as_deref(),
                Some("gemini"),
                "{event:?}"
            );
            assert_eq!(event.routed_provider.as_deref(), Some("gemini-api"));
            assert_eq!(event.attempts, 2);
            assert_eq!(event.status, 200);
            let cost = by_hand(
                s.catalog,
                "gemini-x",
                event.prompt_tokens,
                event.completion_tokens,
            );
            assert_eq!(event.cost_usd, Some(cost), "{event:?}");
            let baseline = by_hand(
                s.catalog,
                "claude-x",
                event.prompt_tokens,
                event.completion_tokens,
            );
            assert_eq!(event.baseline_usd, Some(baseline), "{event:?}");
        }
    }
}

#[tokio::test]
async fn a_silent_anthropic_and_a_failing_gemini_leave_the_openai_compatible_provider() {
    let s = setup(FAILOVER_CATALOG).await;
    // Anthropic says nothing until well after its first-byte timeout; Gemini
    // is unavailable.
    s.anthropic.state.set_behaviour("delay_ms=3000");
    s.gemini.state.set_behaviour("status=503");
    for client in CLIENTS {
        for stream in [false, true] {
            let started = std::time::Instant::now();
            let answer = s.ask(client, "claude-x", stream).await;
            let case = format!("{client:?} stream={stream}: {answer:?}");
            assert!(
                started.elapsed() < Duration::from_millis(2500),
                "the timeout cut Anthropic short: {case}"
            );
            assert_eq!(answer.provider, "compat", "{case}");
            assert_eq!(answer.model, "gpt-x", "{case}");
            assert_eq!(answer.attempts, "3", "{case}");
            let cost = by_hand(s.catalog, "gpt-x", answer.prompt, answer.completion);
            assert_eq!(answer.cost, cost.usd().as_str(), "{case}");
        }
    }
    let events = s.events(6).await;
    assert_eq!(events.len(), 6, "{events:#?}");
    assert!(events
        .iter()
        .all(|e| e.upstream_format.as_deref() == Some("openai_chat") && e.attempts == 3));
}

#[tokio::test]
async fn when_every_provider_fails_the_client_gets_its_own_error_shape() {
    let s = setup(FAILOVER_CATALOG).await;
    s.anthropic.state.set_behaviour("status=529");
    s.gemini.state.set_behaviour("status=503");
    s.compat.state.set_behaviour("status=503");
    for client in CLIENTS {
        let body = client.body("claude-x", false);
        let response = client.send(&s.client, &s.base(), &s.key, &body).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(
            status == 503 || status == 529,
            "{client:?}: {status} {body}"
        );
        client.assert_error(&body);
    }
}

#[tokio::test]
async fn a_claude_request_is_served_by_a_cheaper_gemini_model_under_equivalent() {
    let s = setup(SUBSTITUTION_CATALOG).await;
    for client in CLIENTS {
        for (model, stream) in [("claude-x", false), ("claude-x", true), ("gpt-x", false)] {
            let answer = s.ask(client, model, stream).await;
            let case = format!("{client:?} {model} stream={stream}: {answer:?}");
            assert_eq!(answer.provider, "gemini-api", "{case}");
            assert_eq!(answer.model, "gemini-x", "{case}");
            assert_eq!(answer.attempts, "1", "{case}");
            let cost = by_hand(s.catalog, "gemini-x", answer.prompt, answer.completion);
            assert_eq!(answer.cost, cost.usd().as_str(), "{case}");
            if !stream {
                // The baseline is the model asked for, at its own price.
                let baseline = by_hand(s.catalog, model, answer.prompt, answer.completion);
                assert_eq!(answer.baseline, baseline.usd().as_str(), "{case}");
                assert!(baseline > cost, "{case}");
            }
        }
    }
    assert_eq!(Setup::requests(&s.anthropic), 0);
    assert_eq!(Setup::requests(&s.compat), 0);
    let events = s.events(9).await;
    assert_eq!(events.len(), 9, "{events:#?}");
    for event in &events {
        assert_eq!(event.route_reason, "cheaper_equivalent", "{event:?}");
        assert_eq!(event.upstream_format.as_deref(), Some("gemini"));
        let (cost, baseline) = event.priced().unwrap();
        assert_eq!(
            cost,
            by_hand(
                s.catalog,
                "gemini-x",
                event.prompt_tokens,
                event.completion_tokens
            )
        );
        assert_eq!(
            baseline,
            by_hand(
                s.catalog,
                &event.requested_model,
                event.prompt_tokens,
                event.completion_tokens
            )
        );
    }
}
