//! Prompts built to make exact token counting expensive (one 400,000-character
//! word, as many bytes of punctuation, spaces, mixed scripts) against a model whose window puts
//! their byte bound "near", so the gateway counts them: each gets a clear answer,
//! and the gateway keeps serving everything else meanwhile, because counting runs
//! on its own threads within a budget (`routing::counting`).

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed request must stop the test"
)]

mod common;

use std::time::{Duration, Instant};

use common::assert_openai_error;
use gateway::mock_provider::{self, RunningMock};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// The gateway binary, run as its own process: a gateway whose async workers are
/// stalled must not stall the test's client (or its timeouts) with it.
struct Gateway {
    _child: Child,
    _mock: RunningMock,
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Gateway {
    async fn start(extra: &str) -> Gateway {
        let mock = mock_provider::start("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("mock starts");
        let key = gateway::keys::mint().expect("key");
        let port = common::closed_port();
        let config = common::config_text(mock.addr, &key, "unused", extra)
            .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
        let dir = std::env::temp_dir().join(format!(
            "gateway-adversarial-{}",
            gateway::keys::mint().expect("name")
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("gateway.toml");
        std::fs::write(&path, config).expect("config file");
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["serve", "--config"])
            .arg(&path)
            .env("TEST_MOCK_PROVIDER_KEY", "sk-provider-secret")
            .env("RUST_LOG", "error")
            .kill_on_drop(true)
            .spawn()
            .expect("gateway binary starts");
        let gateway = Gateway {
            _child: child,
            _mock: mock,
            base: format!("http://127.0.0.1:{port}"),
            key,
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while gateway.get("/readyz").await.map(|r| r.status()) != Some(reqwest::StatusCode::OK) {
            assert!(Instant::now() < deadline, "gateway did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gateway
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Option<reqwest::Response> {
        self.client
            .get(self.url(path))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()
    }
}

/// A 128k-token window (gpt-4o-mini's limits) at the mock: a 400 kB prompt's byte
/// bound is within 4x of it, so it is counted.
const SMALL_WINDOW: &str = r#"
[[models]]
name = "small-window"
provider = "mock"
upstream_model = "mock"
price_as = "openai/gpt-4o-mini"
"#;

/// For tests whose counts must finish: by default the counting thread runs at
/// the lowest priority and gives up after 500 ms, which a busy test machine
/// could turn into a (correct, but here unwanted) byte-bound answer.
const PATIENT_COUNTING: &str =
    "\n[routing]\ntoken_count_nice = 0\ntoken_count_timeout_ms = 30000\n";

/// Bytes of each prompt's text.
const BYTES: usize = 400_000;

/// `unit` repeated to [`BYTES`], cut back to a character boundary.
fn fill(unit: &str) -> String {
    let mut text = unit.repeat(BYTES / unit.len() + 1);
    let mut end = BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn prompt(text: &str) -> Value {
    json!({"model": "small-window", "messages": [{"role": "user", "content": text}]})
}

/// Sends `body` and returns (status, JSON body), failing the test if no answer
/// comes within a minute.
async fn send(gw: &Gateway, body: &Value) -> (u16, Value) {
    let response = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .json(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("an answer within a minute");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The value of one sample line of `/metrics`, 0 when absent.
async fn metric(gw: &Gateway, sample: &str) -> u64 {
    let text = gw
        .get("/metrics")
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0)
}

/// An answer the client can act on: served, or refused as too long for the
/// window in OpenAI's error shape.
fn assert_clear_answer(name: &str, status: u16, body: &Value) {
    match status {
        200 => assert_eq!(body["object"], "chat.completion", "{name}: {body}"),
        400 => {
            let error = assert_openai_error(body);
            assert_eq!(error["code"], "context_length_exceeded", "{name}: {body}");
        }
        other => panic!("{name}: status {other}: {body}"),
    }
}

#[tokio::test]
async fn adversarial_prompts_are_counted_and_answered() {
    let gw = Gateway::start(&format!("{SMALL_WINDOW}{PATIENT_COUNTING}")).await;
    // o200k: 50,000 tokens, 62,500 once scaled for any vendor: fits 128k.
    let (status, body) = send(&gw, &prompt(&fill("a"))).await;
    assert_eq!(status, 200, "{body}");
    // 0.7 tokens a byte: 280,000 tokens, too many for the window.
    let (status, body) = send(&gw, &prompt(&fill("!@#$%^&*()"))).await;
    assert_eq!(status, 400, "{body}");
    let error = assert_openai_error(&body);
    assert_eq!(error["code"], "context_length_exceeded");
    // Counted, not guessed: the message names the count, below the byte bound.
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("maximum context length is 128000"),
        "{message}"
    );
    assert!(!message.contains(&(BYTES + 7).to_string()), "{message}");
    let mixed = fill("日本語Ελληνικάрусскийעבריתالعربية한국어ไทยहिन्दी😀e\u{301}");
    let (status, body) = send(&gw, &prompt(&mixed)).await;
    assert_clear_answer("mixed scripts", status, &body);
    assert_eq!(
        metric(&gw, "gateway_token_counts_total{outcome=\"counted\"}").await,
        3
    );
}

#[tokio::test]
async fn health_checks_answer_while_adversarial_prompts_are_counted() {
    let gw = Gateway::start(SMALL_WINDOW).await;
    // More prompts than the gateway has async workers (one per core).
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let units = ["a", "!@#$%^&*()", " ", "a"];
    let mut in_flight = tokio::task::JoinSet::new();
    for i in 0..(2 * workers).max(4) {
        let text = fill(units[i % units.len()]);
        let client = gw.client.clone();
        let url = gw.url("/v1/chat/completions");
        let key = gw.key.clone();
        in_flight.spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&prompt(&text))
                .timeout(Duration::from_secs(120))
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            (i, status, response.json::<Value>().await.expect("JSON"))
        });
    }
    // Probe health until every prompt is answered. Counting inline on the two
    // async workers (as before) takes minutes per prompt and stalls the probes;
    // the bound is generous so a busy machine cannot fail it.
    let mut probes = 0;
    while !in_flight.is_empty() {
        let health = gw
            .get("/healthz")
            .await
            .expect("healthz answers within 5 s while prompts are counted");
        assert_eq!(health.status(), 200);
        probes += 1;
        while let Some(done) = in_flight.try_join_next() {
            let (i, status, body) = done.expect("request task");
            assert_clear_answer(&format!("prompt {i}"), status, &body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(probes >= 1);
}

#[tokio::test]
async fn over_its_budget_counting_keeps_the_byte_bound_and_says_so() {
    // 300 kB of prose: about 60,000 tokens (fits 128k), but a 300,000 byte bound.
    let text = "the gateway routes each request to a cheaper model ".repeat(6_000);
    let body = prompt(&text);

    // Too much input for the budget: not counted, refused on the byte bound.
    let gw = Gateway::start(&format!(
        "{SMALL_WINDOW}\n[routing]\ntoken_count_max_bytes = 100000\n"
    ))
    .await;
    let (status, answer) = send(&gw, &body).await;
    assert_eq!(status, 400, "{answer}");
    let message = assert_openai_error(&answer)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!("up to {}", text.len() + 4 + 3)),
        "{message}"
    );
    assert_eq!(
        metric(&gw, "gateway_token_counts_total{outcome=\"too_large\"}").await,
        1
    );

    // Too slow for the budget (no count of 300 kB takes under a millisecond).
    let gw = Gateway::start(&format!(
        "{SMALL_WINDOW}\n[routing]\ntoken_count_timeout_ms = 1\n"
    ))
    .await;
    let (status, answer) = send(&gw, &body).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        metric(&gw, "gateway_token_counts_total{outcome=\"timed_out\"}").await,
        1
    );

    // Within the budget: counted and served.
    let gw = Gateway::start(&format!("{SMALL_WINDOW}{PATIENT_COUNTING}")).await;
    let (status, answer) = send(&gw, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        metric(&gw, "gateway_token_counts_total{outcome=\"counted\"}").await,
        1
    );
}
