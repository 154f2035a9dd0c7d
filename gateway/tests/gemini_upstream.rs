//! Gemini as an upstream over real HTTP: OpenAI chat clients served by the
//! mock speaking Gemini's `generateContent` API (which refuses what the real
//! API refuses, so a sloppy translation fails here), billed from Gemini's
//! cached and thinking token counts at the shipped catalog's prices, and
//! failed over to an OpenAI-compatible provider when Gemini is overloaded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

#[path = "common/pg.rs"]
mod pg;

use std::sync::atomic::Ordering;
use std::time::Duration;

use analytics::store::Store;
use analytics::UsageEvent;
use chrono::Utc;
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};
use pricing::{Catalog, Cost, Price};
use serde_json::{json, Value};

const GEMINI_KEY: &str = "gemini-test-secret";

/// The model the tests ask for: Gemini's, priced by the shipped catalog.
const MODEL: &str = "gemini-2.5-flash";

/// A dearer second home for the same model, so Gemini is tried first and the
/// OpenAI-compatible provider is the failover.
const CATALOG: &str = r#"
source = "gemini upstream test"
retrieved = "2026-01-01"

[[models]]
provider = "compat"
id = "gemini-2.5-flash"
context_window = 1048576
max_output = 65536
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "5"
"#;

struct Setup {
    gateway: RunningGateway,
    gemini: RunningMock,
    compat: RunningMock,
    key: String,
    client: reqwest::Client,
}

async fn mock() -> RunningMock {
    mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn setup() -> Setup {
    setup_with(None).await
}

/// With `database_url`, usage goes to that Postgres database instead of the
/// embedded store.
async fn setup_with(database_url: Option<&str>) -> Setup {
    let (gemini, compat) = (mock().await, mock().await);
    gemini.state.require_api_key(Some(GEMINI_KEY));
    let key = keys::mint().unwrap();
    let dir = std::env::temp_dir().join(format!("gateway-gemini-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let key_file = dir.join("gemini-key");
    std::fs::write(&key_file, GEMINI_KEY).unwrap();
    // The Gemini base URL names no version: the adapter adds `/v1beta`.
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 5000

[catalog]
file = "{}"

[[providers]]
name = "gemini"
flavor = "gemini"
base_url = "http://{}"
api_key_file = "{}"

[[providers]]
name = "compat"
base_url = "{}"

# A configured name for a Gemini model, served by the Gemini provider.
[[models]]
name = "house-flash"
provider = "gemini"
upstream_model = "gemini-2.5-flash-lite"
price_as = "gemini/gemini-2.5-flash-lite"

[[keys]]
id = "strict"
hash = "{}"
tenant = "acme"
analytics = "tenant"
"#,
        catalog.display(),
        gemini.addr,
        key_file.display(),
        compat.base_url(),
        KeyHash::of(&key),
    ) + &common::analytics_toml();
    let text = match database_url {
        Some(url) => text.replace(
            "\n[analytics]\n",
            &format!("\n[analytics]\ndatabase_url = \"{url}\"\n"),
        ),
        None => text,
    };
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let gateway = server::start(&config).await.unwrap();
    Setup {
        gateway,
        gemini,
        compat,
        key,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    async fn chat(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("http://{}/v1/chat/completions", self.gateway.addr))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    fn requests(mock: &RunningMock) -> u64 {
        mock.state.requests.load(Ordering::Relaxed)
    }

    fn last_uri(mock: &RunningMock) -> String {
        mock.state
            .last_uri
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn hello(stream: bool) -> Value {
    json!({
        "model": MODEL,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"}
        ]
    })
}

/// The JSON payloads of an OpenAI stream and whether it ended with `[DONE]`.
fn chunks(text: &str) -> (Vec<Value>, bool) {
    let data = common::sse_data(text);
    let done = data.last().is_some_and(|d| d == "[DONE]");
    let chunks = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (chunks, done)
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn cost_comment(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(": x-gateway-cost-usd="))
        .unwrap_or_else(|| panic!("no cost comment: {text}"))
        .split([';', ' '])
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_openai_client_is_served_by_gemini_plain_and_streamed() {
    let s = setup().await;
    let response = s.chat(&hello(false)).await;
    if response.status() != 200 {
        panic!("{}", response.text().await.unwrap());
    }
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    assert_eq!(header(&response, "x-gateway-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion", "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert!(!message["content"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        Setup::last_uri(&s.gemini),
        format!("/v1beta/models/{MODEL}:generateContent")
    );
    // The system prompt went as Gemini's system instruction, the key in its header.
    let sent = s.gemini.state.last_body_json().unwrap();
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["contents"][0]["role"], "user");
    assert_eq!(
        s.gemini.state.last_authorization.lock().unwrap().as_deref(),
        Some(GEMINI_KEY)
    );

    let response = s.chat(&hello(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "{text}"
    );
    assert!(!streamed_text(&chunks).is_empty(), "{text}");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop"),
        "{text}"
    );
    // The client asked for no usage chunk: none reaches it, but it is billed.
    assert!(chunks.iter().all(|c| c["usage"].is_null()), "{text}");
    cost_comment(&text);
    assert_eq!(
        Setup::last_uri(&s.gemini),
        format!("/v1beta/models/{MODEL}:streamGenerateContent?alt=sse")
    );
    assert_eq!(Setup::requests(&s.compat), 0);
    assert_eq!(Setup::requests(&s.gemini), 2);
}

#[tokio::test]
async fn an_overloaded_gemini_fails_over_to_the_openai_compatible_provider() {
    for (status, stream) in [(503, false), (503, true), (429, false), (500, true)] {
        let s = setup().await;
        s.gemini.state.set_behaviour(&format!("status={status}"));
        let response = s.chat(&hello(stream)).await;
        assert_eq!(response.status(), 200, "{status} stream={stream}");
        assert_eq!(header(&response, "x-gateway-provider"), "compat");
        assert_eq!(header(&response, "x-gateway-attempts"), "2");
        let text = response.text().await.unwrap();
        if stream {
            assert!(text.contains("data: [DONE]"), "{text}");
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["object"], "chat.completion");
        }
        assert_eq!(Setup::requests(&s.gemini), 1);
        assert_eq!(Setup::requests(&s.compat), 1);
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    }})
}

#[tokio::test]
async fn tool_calls_round_trip_through_gemini() {
    let s = setup().await;
    let ask = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [weather_tool()],
        "tool_choice": "auto"
    });
    let response = s.chat(&ask).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls", "{body}");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(arguments.is_object(), "{arguments}");
    let id = call["id"].as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let sent = s.gemini.state.last_body_json().unwrap();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert_eq!(
        sent["toolConfig"]["functionCallingConfig"]["mode"], "AUTO",
        "{sent}"
    );

    // The result goes back under the call's id; Gemini pairs it with the
    // call by name and position, and the mock refuses a result that answers
    // no call of the turn before.
    let mut again = ask.clone();
    again["messages"] = json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": id, "content": "{\"temp_c\": 21}"}
    ]);
    again["tool_choice"] = json!("none");
    let response = s.chat(&again).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
    assert!(
        body["choices"][0]["message"]["content"].is_string(),
        "{body}"
    );
    let sent = s.gemini.state.last_body_json().unwrap();
    let turns = sent["contents"].as_array().unwrap();
    assert_eq!(turns.len(), 3, "{sent}");
    assert_eq!(turns[1]["role"], "model");
    assert_eq!(turns[1]["parts"][0]["functionCall"]["name"], "get_weather");
    assert_eq!(turns[2]["role"], "user");
    let answer = &turns[2]["parts"][0]["functionResponse"];
    assert_eq!(answer["name"], "get_weather", "{sent}");
    assert_eq!(answer["response"]["output"]["temp_c"], 21, "{sent}");

    // A result for a call that was never made is the client's error, in its
    // shape, and nothing is sent.
    let before = Setup::requests(&s.gemini);
    let mut wrong = again.clone();
    wrong["messages"][2]["tool_call_id"] = json!("call_unknown");
    let response = s.chat(&wrong).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    common::assert_openai_error(&body);
    assert_eq!(Setup::requests(&s.gemini), before);

    // Streamed, the call arrives as OpenAI tool-call deltas.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let response = s.chat(&streamed).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert_eq!(calls[0]["function"]["name"], "get_weather", "{text}");
    assert!(calls[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert!(
        serde_json::from_str::<Value>(&arguments)
            .unwrap()
            .is_object(),
        "{arguments}"
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"),
        "{text}"
    );
}

/// A 1x1 PNG.
const PIXEL: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn with_image(url: &str) -> Value {
    json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}]
    })
}

#[tokio::test]
async fn images_go_inline_and_a_plain_http_image_is_a_clear_400() {
    let s = setup().await;
    let response = s
        .chat(&with_image(&format!("data:image/png;base64,{PIXEL}")))
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["choices"][0]["message"]["content"].is_string());
    let sent = s.gemini.state.last_body_json().unwrap();
    let parts = &sent["contents"][0]["parts"];
    assert_eq!(parts[0]["text"], "What is in this picture?");
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png", "{sent}");
    assert_eq!(parts[1]["inlineData"]["data"], PIXEL);

    // An https URL goes as file data, for Gemini to fetch.
    let response = s.chat(&with_image("https://example.com/cat.png")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let sent = s.gemini.state.last_body_json().unwrap();
    let file = &sent["contents"][0]["parts"][1]["fileData"];
    assert_eq!(file["fileUri"], "https://example.com/cat.png", "{sent}");
    assert_eq!(file["mimeType"], "image/png", "{sent}");

    // Gemini fetches no http: URL: the client hears so before anything is sent.
    let before = Setup::requests(&s.gemini);
    let response = s.chat(&with_image("http://example.com/cat.png")).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let error = common::assert_openai_error(&body);
    assert_eq!(error["type"], "invalid_request_error");
    assert!(
        error["message"].as_str().unwrap().contains("image"),
        "{body}"
    );
    assert_eq!(Setup::requests(&s.gemini), before);
    assert_eq!(Setup::requests(&s.compat), 0);
}

#[tokio::test]
async fn a_json_schema_response_format_becomes_gemini_s_response_schema() {
    let s = setup().await;
    let ask = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": "A city and its country, please."}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "place",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "country": {"type": "string", "enum": ["FR", "DE"]}
                },
                "required": ["city", "country"],
                "additionalProperties": false
            }
        }}
    });
    let response = s.chat(&ask).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let sent = s.gemini.state.last_body_json().unwrap();
    let config = &sent["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json", "{sent}");
    let schema = config
        .get("responseSchema")
        .or_else(|| config.get("responseJsonSchema"))
        .unwrap_or_else(|| panic!("no response schema: {sent}"));
    let city = &schema["properties"]["city"]["type"];
    assert!(city == "STRING" || city == "string", "{schema}");
    assert_eq!(schema["properties"]["country"]["enum"], json!(["FR", "DE"]));

    // A schema Gemini's subset cannot express is refused with a 400 naming
    // the field, not sent.
    let before = Setup::requests(&s.gemini);
    let mut bad = ask.clone();
    bad["response_format"]["json_schema"]["schema"] = json!({"$ref": "#/nowhere"});
    let response = s.chat(&bad).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let error = common::assert_openai_error(&body);
    assert_eq!(error["param"], "response_format", "{body}");
    assert_eq!(Setup::requests(&s.gemini), before);
}

#[tokio::test]
async fn a_blocked_prompt_is_a_400_content_filter_and_a_blocked_answer_a_content_filter_finish() {
    for stream in [false, true] {
        let s = setup().await;
        s.gemini.state.set_behaviour("safety=prompt");
        let response = s.chat(&hello(stream)).await;
        assert_eq!(response.status(), 400, "stream={stream}");
        let body: Value = response.json().await.unwrap();
        let error = common::assert_openai_error(&body);
        assert_eq!(error["code"], "content_filter", "{body}");
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        assert_eq!(error["param"], "messages", "{body}");
        assert!(
            error["message"].as_str().unwrap().contains("SAFETY"),
            "{body}"
        );
        // Not routed around: the other candidate never saw the prompt.
        assert_eq!(Setup::requests(&s.compat), 0, "stream={stream}");
        assert_eq!(Setup::requests(&s.gemini), 1);

        s.gemini.state.set_behaviour("safety=response");
        let response = s.chat(&hello(stream)).await;
        assert_eq!(response.status(), 200, "stream={stream}");
        let text = response.text().await.unwrap();
        if stream {
            let (chunks, done) = chunks(&text);
            assert!(done, "{text}");
            assert!(
                chunks
                    .iter()
                    .any(|c| c["choices"][0]["finish_reason"] == "content_filter"),
                "{text}"
            );
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                body["choices"][0]["finish_reason"], "content_filter",
                "{body}"
            );
        }
        assert_eq!(Setup::requests(&s.compat), 0);
    }
}

#[tokio::test]
async fn gemini_errors_reach_an_openai_client_in_its_shape() {
    // Refusals about the request keep their status and are not tried elsewhere.
    for (status, kind) in [
        (400, "invalid_request_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
    ] {
        let s = setup().await;
        s.gemini.state.set_behaviour(&format!("status={status}"));
        let response = s.chat(&hello(false)).await;
        assert_eq!(response.status(), status);
        assert_eq!(header(&response, "x-gateway-attempts"), "1");
        let body: Value = response.json().await.unwrap();
        let error = common::assert_openai_error(&body);
        assert_eq!(error["type"], kind, "{body}");
        assert!(!error["message"].as_str().unwrap().is_empty(), "{body}");
        assert_eq!(Setup::requests(&s.compat), 0, "{status}");
    }

    // Every candidate unavailable: both tried, the last error in OpenAI's shape.
    let s = setup().await;
    s.gemini.state.set_behaviour("status=503");
    s.compat.state.set_behaviour("status=503");
    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "x-gateway-attempts"), "2");
    common::assert_openai_error(&response.json::<Value>().await.unwrap());

    // A wrong key: Gemini says 400 API_KEY_INVALID; the client gets that
    // message in its own shape, never the key.
    let s = setup().await;
    s.gemini.state.require_api_key(Some("another-key"));
    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(!text.contains(GEMINI_KEY), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let error = common::assert_openai_error(&body);
    assert!(
        error["message"].as_str().unwrap().contains("API key"),
        "{body}"
    );

    // A stream Gemini cuts before its finish ends with an error event, never
    // as a silent success.
    let s = setup().await;
    s.gemini.state.set_behaviour("cut_after=2+words=12");
    let response = s.chat(&hello(true)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("data: [DONE]"), "{text}");
    let last: Value = serde_json::from_str(common::sse_data(&text).last().unwrap()).unwrap();
    common::assert_openai_error(&last);
}

/// The shipped catalog's prices for Gemini's `gemini-2.5-flash`, applied by
/// hand: uncached input at the input price, `cachedContentTokenCount` at the
/// cached-input price, and every output token (thoughts included) at the
/// output price, as the catalog gives no separate reasoning price (nor does
/// the LiteLLM table it comes from: its reasoning price is the output price).
fn by_hand(uncached: u64, cached: u64, output: u64) -> Cost {
    let catalog = Catalog::embedded().unwrap();
    let entry = catalog.get("gemini", MODEL).unwrap();
    let prices = entry.current_price().unwrap().version;
    let usd = |text: &str| Price::from_usd_per_mtok(text).unwrap();
    // The LiteLLM snapshot's figures (USD per million tokens).
    assert_eq!(prices.input, usd("0.3"));
    assert_eq!(prices.cached_input, Some(usd("0.03")));
    assert_eq!(prices.output, usd("2.5"));
    assert_eq!(prices.reasoning, None);
    prices.input.cost(uncached)
        + prices.cached_input.unwrap().cost(cached)
        + prices.output.cost(output)
}

async fn events_of(store: &Store, tenant: &str, count: usize) -> Vec<UsageEvent> {
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    for _ in 0..200 {
        let events = match store {
            Store::Sqlite(sqlite) => sqlite.events(tenant, from, to, 1000).await.unwrap(),
            Store::Postgres(postgres) => postgres.events(tenant, from, to, 1000).await.unwrap(),
        };
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} events were written");
}

#[tokio::test]
async fn thinking_and_cached_tokens_are_billed_at_the_catalog_s_prices_on_the_embedded_store() {
    let s = setup().await;
    thinking_and_cached_tokens_are_billed_at_the_catalog_s_prices(&s).await;
}

#[tokio::test]
async fn thinking_and_cached_tokens_are_billed_at_the_catalog_s_prices_on_postgres() {
    let db = pg::TestDb::create("gw_gemini").await;
    let s = setup_with(Some(&db.url)).await;
    assert!(matches!(&*s.gateway.store, Store::Postgres(_)));
    thinking_and_cached_tokens_are_billed_at_the_catalog_s_prices(&s).await;
    s.gateway.shutdown().await;
    db.drop_now().await;
}

/// A request with thinking and cached tokens, whole and streamed, costs
/// exactly the hand computation in the headers, the SSE comment, each usage
/// event and the daily rollup.
async fn thinking_and_cached_tokens_are_billed_at_the_catalog_s_prices(s: &Setup) {
    s.gemini
        .state
        .set_behaviour("prompt_tokens=100+cache_read=1000+thinking=64");

    let response = s.chat(&hello(false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    let cost = header(&response, "x-gateway-cost-usd").to_owned();
    let body: Value = response.json().await.unwrap();
    let usage = &body["usage"];
    // promptTokenCount includes the cached tokens; the thoughts are output.
    assert_eq!(usage["prompt_tokens"], 1100, "{usage}");
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], 1000,
        "{usage}"
    );
    assert_eq!(
        usage["completion_tokens_details"]["reasoning_tokens"], 64,
        "{usage}"
    );
    let output = usage["completion_tokens"].as_u64().unwrap();
    assert!(output > 64, "{usage}");
    let plain = by_hand(100, 1000, output);
    assert_eq!(cost, plain.usd());
    // Neither the price of the same tokens without the cache, nor without
    // the thoughts.
    assert_ne!(cost, by_hand(1100, 0, output).usd());
    assert_ne!(cost, by_hand(100, 1000, output - 64).usd());

    let mut streamed = hello(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let response = s.chat(&streamed).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let (chunks, done) = chunks(&text);
    assert!(done, "{text}");
    let usage = chunks
        .iter()
        .find(|c| !c["usage"].is_null())
        .map(|c| c["usage"].clone())
        .unwrap_or_else(|| panic!("no usage chunk: {text}"));
    assert_eq!(usage["prompt_tokens"], 1100, "{usage}");
    assert_eq!(
        usage["completion_tokens_details"]["reasoning_tokens"], 64,
        "{usage}"
    );
    let stream_output = usage["completion_tokens"].as_u64().unwrap();
    let streamed_cost = by_hand(100, 1000, stream_output);
    assert_eq!(cost_comment(&text), streamed_cost.usd());

    // One event per request, with the counts and the same exact cost.
    let events = events_of(&s.gateway.store, "acme", 2).await;
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event.routed_provider.as_deref(), Some("gemini"));
        assert_eq!(event.ingress_format.as_deref(), Some("openai_chat"));
        assert_eq!(event.upstream_format.as_deref(), Some("gemini"));
        assert_eq!(event.routed_model.as_deref(), Some(MODEL));
        assert_eq!(event.status, 200);
        assert!(!event.usage_estimated);
        assert_eq!(
            (
                event.prompt_tokens,
                event.cached_tokens,
                event.reasoning_tokens
            ),
            (1100, 1000, 64)
        );
        assert_eq!(event.cache_write_tokens, 0);
        let expected = if event.stream { streamed_cost } else { plain };
        assert_eq!(
            event.completion_tokens,
            if event.stream { stream_output } else { output }
        );
        assert_eq!(event.cost_usd, Some(expected), "stream={}", event.stream);
        assert!(event
            .price_version
            .as_deref()
            .is_some_and(|v| v.starts_with("gemini/gemini-2.5-flash@")));
    }

    // The daily rollup adds them up to the same money.
    let today = Utc::now().date_naive();
    s.gateway.store.rollup(today, today).await.unwrap();
    let summary: Value = s
        .client
        .get(format!(
            "http://{}/api/v1/analytics/summary?from={today}&to={today}",
            s.gateway.addr
        ))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["requests"], 2, "{summary}");
    assert_eq!(
        summary["spend_usd"],
        json!((plain + streamed_cost).usd()),
        "{summary}"
    );
}

#[test]
fn check_config_accepts_a_gemini_provider_with_google_s_default_url() {
    let dir = std::env::temp_dir().join(format!("gateway-gemini-cli-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gemini.toml");
    std::fs::write(
        &path,
        "[[providers]]\nname = \"gemini\"\nflavor = \"gemini\"\napi_key_env = \"GEMINI_API_KEY\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("GATEWAY_CONFIG")
        .env("GEMINI_API_KEY", "k")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("ok: 1 providers"), "{stdout}");
    // It serves the catalog's Gemini models: nothing to warn about.
    assert!(!stderr.contains("warning"), "{stderr}");

    // Another flavor still needs its base URL.
    std::fs::write(&path, "[[providers]]\nname = \"openai\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("GATEWAY_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`providers[0].base_url`"), "{stderr}");
}

#[tokio::test]
async fn a_configured_model_of_the_gemini_provider_routes_there_with_its_effort() {
    let s = setup().await;
    let response = s
        .chat(&json!({
            "model": "house-flash",
            "reasoning_effort": "low",
            "messages": [{"role": "user", "content": "hello"}]
        }))
        .await;
    let status = response.status();
    assert_eq!(header(&response, "x-gateway-provider"), "gemini");
    assert!(
        header(&response, "x-gateway-price").starts_with("gemini/gemini-2.5-flash-lite@"),
        "{:?}",
        response.headers()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        Setup::last_uri(&s.gemini),
        "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    );
    // The effort became Gemini's thinking config.
    let sent = s.gemini.state.last_body_json().unwrap();
    assert!(
        sent["generationConfig"]["thinkingConfig"].is_object(),
        "{sent}"
    );
}

#[tokio::test]
async fn an_answer_cut_by_max_tokens_finishes_with_length() {
    let s = setup().await;
    for stream in [false, true] {
        let mut ask = hello(stream);
        ask["max_tokens"] = json!(3);
        ask["stop"] = json!(["END"]);
        let response = s.chat(&ask).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let sent = s.gemini.state.last_body_json().unwrap();
        assert_eq!(sent["generationConfig"]["maxOutputTokens"], 3, "{sent}");
        assert_eq!(
            sent["generationConfig"]["stopSequences"],
            json!(["END"]),
            "{sent}"
        );
        let finish = if stream {
            let (chunks, done) = chunks(&text);
            assert!(done, "{text}");
            chunks
                .iter()
                .find_map(|c| c["choices"][0]["finish_reason"].as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            body["choices"][0]["finish_reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(finish, "length", "stream={stream}: {text}");
    }
}
