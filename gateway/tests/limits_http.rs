//! Limits and budgets seen by a client of a real gateway (in process, local
//! engine, mock provider): each refusal is a 429 in the client's format with
//! `Retry-After` and the OpenAI-style and gateway headers of the contract
//! (README, "Limits and budgets"), admitted answers carry `x-ratelimit-*`,
//! every refusal leaves its usage event, and a config reload keeps the counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail on any error"
)]

mod common;

use analytics::store::Store;
use analytics::UsageEvent;
use chrono::Utc;
use common::{assert_openai_error, chat_body, start_with, TestGateway};
use serde_json::{json, Value};

async fn events_of(store: &Store, tenant: &str) -> Vec<UsageEvent> {
    let Store::Sqlite(sqlite) = store else {
        panic!("expected the embedded store")
    };
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    sqlite.events(tenant, from, to, 100_000).await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Posts `body` until a 429 (at most `tries`); returns it and the statuses before.
async fn until_refused(
    gw: &TestGateway,
    body: &Value,
    tries: usize,
) -> (reqwest::Response, Vec<u16>) {
    let mut statuses = Vec::new();
    for _ in 0..tries {
        let response = gw.post("/v1/chat/completions", body).await;
        if response.status() == 429 {
            return (response, statuses);
        }
        statuses.push(response.status().as_u16());
        response.bytes().await.unwrap();
    }
    panic!("never refused: {statuses:?}");
}

#[tokio::test]
async fn rpm_refusals_carry_openai_headers_survive_a_reload_and_leave_an_event() {
    let extra = "[[teams]]\ntenant = \"acme\"\nid = \"platform\"\nrpm = 2\n";
    let gw = start_with(extra).await;
    let store = gw.gateway.store.clone();
    let first = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&first, "x-ratelimit-remaining-requests"), "1");
    assert!(header(&first, "x-ratelimit-reset-requests").ends_with('s'));
    first.bytes().await.unwrap();
    let second = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(header(&second, "x-ratelimit-remaining-requests"), "0");
    second.bytes().await.unwrap();

    let refused = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((25..=30).contains(&retry_after), "{retry_after}");
    assert!(header(&refused, "retry-after-ms").parse::<u64>().unwrap() > 25_000);
    assert_eq!(header(&refused, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&refused, "x-ratelimit-remaining-requests"), "0");
    assert_eq!(header(&refused, "x-gateway-limit"), "rpm");
    assert_eq!(header(&refused, "x-gateway-limit-scope"), "team");
    let body: Value = refused.json().await.unwrap();
    let error = assert_openai_error(&body);
    assert_eq!(error["type"], "requests");
    assert_eq!(error["code"], "rate_limit_exceeded");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("team") && message.contains("2 requests per minute"),
        "{message}"
    );
    assert!(!message.contains(&gw.key));

    // A reload builds a new snapshot and key store; the counts stay.
    let text = common::config_text(gw.mock.addr, &gw.key, &gw.limited_key, extra);
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |name| {
        (name == "TEST_MOCK_PROVIDER_KEY").then(|| "sk-provider-secret".to_owned())
    })
    .unwrap();
    gw.gateway.state.reload(&config).unwrap();
    let after_reload = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(after_reload.status(), 429);
    after_reload.bytes().await.unwrap();
    // The other key of the tenant has no team: not limited.
    let other = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.limited_key)
        .json(&chat_body("mock-chat"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    other.bytes().await.unwrap();
    let metrics = gw
        .client
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_limits_refused_total{scope=\"team\",limit=\"rpm\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_limits_redis_up 0"),
        "no Redis configured"
    );
    assert!(metrics.contains("gateway_limits_fallback_total 0"));

    gw.gateway.shutdown().await;
    let events = events_of(&store, "acme").await;
    let refusals: Vec<&UsageEvent> = events.iter().filter(|e| e.status == 429).collect();
    assert_eq!(refusals.len(), 2);
    for event in refusals {
        assert_eq!(event.error_kind.as_deref(), Some("rate_limited"));
        assert_eq!(event.requested_model, "mock-chat");
        assert_eq!(event.key_id, "test-all");
    }
    assert_eq!(events.len(), 5);
}

#[tokio::test]
async fn tpm_refusals_name_tokens() {
    let gw = start_with("[[tenants]]\nid = \"acme\"\ntpm = 100\n").await;
    let mut body = chat_body("mock-chat");
    body["max_tokens"] = json!(90);
    let (refused, before) = until_refused(&gw, &body, 5).await;
    assert!(
        !before.is_empty() && before.iter().all(|s| *s == 200),
        "{before:?}"
    );
    assert_eq!(header(&refused, "x-gateway-limit"), "tpm");
    assert_eq!(header(&refused, "x-gateway-limit-scope"), "tenant");
    assert_eq!(header(&refused, "x-ratelimit-limit-tokens"), "100");
    assert_eq!(header(&refused, "x-ratelimit-remaining-tokens"), "0");
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    let error = assert_openai_error(&body);
    assert_eq!(error["type"], "tokens");
    assert_eq!(error["code"], "rate_limit_exceeded");
    gw.gateway.shutdown().await;
}

#[tokio::test]
async fn concurrency_refusals_end_when_a_request_does() {
    let gw =
        start_with("[[teams]]\ntenant = \"acme\"\nid = \"platform\"\nmax_concurrent = 1\n").await;
    let store = gw.gateway.store.clone();
    let mut streaming = chat_body("short-chunks");
    streaming["stream"] = json!(true);
    let open = gw.post("/v1/chat/completions", &streaming).await;
    assert_eq!(open.status(), 200);
    let refused = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-gateway-limit"), "concurrency");
    assert_eq!(header(&refused, "x-gateway-concurrency-limit"), "1");
    assert_eq!(header(&refused, "retry-after"), "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        assert_openai_error(&body)["code"],
        "concurrency_limit_exceeded"
    );
    // The stream ends: its slot frees.
    open.bytes().await.unwrap();
    let mut status = 0;
    for _ in 0..50 {
        let next = gw
            .post("/v1/chat/completions", &chat_body("mock-chat"))
            .await;
        status = next.status().as_u16();
        next.bytes().await.unwrap();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    gw.gateway.shutdown().await;
    let events = events_of(&store, "acme").await;
    let refused = events.iter().find(|e| e.status == 429).unwrap();
    assert_eq!(refused.error_kind.as_deref(), Some("rate_limited"));
}

#[tokio::test]
async fn budget_refusals_say_what_is_left_in_every_format_and_leave_an_event() {
    let extra = "[[models]]\nname = \"priced\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n\
                 endpoint = \"chat\"\nprice = { input = \"1000\", output = \"1000\" }\n\
                 [[teams]]\ntenant = \"acme\"\nid = \"platform\"\nbudget_daily_usd = \"0.2\"\n";
    let gw = start_with(extra).await;
    let store = gw.gateway.store.clone();
    let mut body = chat_body("priced");
    body["max_tokens"] = json!(5);
    let (refused, before) = until_refused(&gw, &body, 40).await;
    assert!(
        !before.is_empty() && before.iter().all(|s| *s == 200),
        "{before:?}"
    );
    assert_eq!(header(&refused, "x-gateway-limit"), "budget_daily");
    assert_eq!(header(&refused, "x-gateway-limit-scope"), "team");
    assert_eq!(header(&refused, "x-gateway-budget-period"), "day");
    assert_eq!(header(&refused, "x-gateway-budget-limit-usd"), "0.2");
    let remaining =
        pricing::Cost::parse_usd(header(&refused, "x-gateway-budget-remaining-usd")).unwrap();
    assert!(
        remaining >= pricing::Cost::ZERO && remaining < pricing::Cost::parse_usd("0.2").unwrap()
    );
    let reset =
        chrono::DateTime::parse_from_rfc3339(header(&refused, "x-gateway-budget-reset")).unwrap();
    assert!(reset > Utc::now() && reset <= Utc::now() + chrono::Duration::days(1));
    let retry_after: i64 = header(&refused, "retry-after").parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 86_400);
    let body_json: Value = refused.json().await.unwrap();
    let error = assert_openai_error(&body_json);
    assert_eq!(error["type"], "insufficient_quota");
    assert_eq!(error["code"], "budget_exceeded");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("team's daily budget"));

    // An Anthropic client gets Anthropic's envelope, with the same headers.
    let messages = gw
        .client
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &gw.key)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({
            "model": "priced",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "Say hello"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(messages.status(), 429);
    assert_eq!(header(&messages, "x-gateway-limit"), "budget_daily");
    let envelope: Value = messages.json().await.unwrap();
    assert_eq!(envelope["type"], "error", "{envelope}");
    assert_eq!(envelope["error"]["type"], "rate_limit_error", "{envelope}");

    gw.gateway.shutdown().await;
    let events = events_of(&store, "acme").await;
    let spent: i128 = events.iter().filter_map(|e| e.cost_usd).map(|c| c.0).sum();
    assert!(
        spent <= pricing::Cost::parse_usd("0.2").unwrap().0,
        "spent {spent}"
    );
    let refusals: Vec<&UsageEvent> = events.iter().filter(|e| e.status == 429).collect();
    assert_eq!(refusals.len(), 2);
    assert!(refusals
        .iter()
        .all(|e| e.error_kind.as_deref() == Some("budget_exceeded")
            && e.cost_usd == Some(pricing::Cost::ZERO)));
}

/// With Redis: after answers, upstream errors, a stream cut mid-way and a
/// client that leaves mid-stream, the budget's spend in Redis is exactly the
/// sum of the events' costs (no reservation leaked) and no concurrency lease
/// is held.
#[tokio::test]
async fn no_reservation_or_lease_leaks_after_failures_cuts_and_disconnects() {
    use redis::AsyncCommands;
    let tag = gateway::keys::mint().unwrap()[6..18].to_lowercase();
    let (tenant, prefix) = (format!("leak{tag}"), format!("test:lim:{tag}"));
    let key = gateway::keys::mint().unwrap();
    let mut extra = format!(
        "[limits]\nredis_prefix = \"{prefix}\"\n\
         [[keys]]\nid = \"leak-{tag}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\nmax_concurrent = 10\n\
         [[tenants]]\nid = \"{tenant}\"\nbudget_daily_usd = \"100\"\nbudget_monthly_usd = \"1000\"\n",
        gateway::keys::KeyHash::of(&key)
    );
    for (name, upstream) in [
        ("priced", "mock"),
        ("priced-500", "mock+status=500"),
        ("priced-cut", "mock+cut_after=3"),
        ("priced-slow", "mock+chunk_delay_ms=200+words=50"),
    ] {
        extra.push_str(&format!(
            "[[models]]\nname = \"{name}\"\nprovider = \"mock\"\nupstream_model = \"{upstream}\"\n\
             endpoint = \"chat\"\nprice = {{ input = \"1000\", output = \"3000\" }}\n"
        ));
    }
    let redis_url = "redis://127.0.0.1:6379";
    let gw = common::start_with_env(&extra, &[("GATEWAY__ANALYTICS__REDIS_URL", redis_url)]).await;
    let store = gw.gateway.store.clone();
    let post = |body: Value| {
        gw.client
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let stream = |model: &str| {
        let mut body = chat_body(model);
        body["stream"] = json!(true);
        body
    };
    assert_eq!(post(chat_body("priced")).await.unwrap().status(), 200);
    let streamed = post(stream("priced")).await.unwrap().text().await.unwrap();
    assert!(streamed.contains("[DONE]"), "{streamed}");
    assert_eq!(post(chat_body("priced-500")).await.unwrap().status(), 500);
    let _ = post(stream("priced-cut")).await.unwrap().bytes().await;
    let mut left = post(stream("priced-slow")).await.unwrap();
    left.chunk().await.unwrap();
    drop(left);
    gw.gateway.shutdown().await;

    let events = events_of(&store, &tenant).await;
    assert_eq!(events.len(), 5);
    let nano = |pico: i128| (pico + 999) / 1_000;
    let expected: i128 = events
        .iter()
        .filter_map(|e| e.cost_usd)
        .map(|c| nano(c.0))
        .sum();
    assert!(expected > 0, "some requests cost something");
    let mut redis = redis::Client::open(redis_url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let scope = format!("{prefix}:tenant:{tenant}");
    let now = Utc::now();
    let day: i64 = redis
        .get(format!("{scope}:spend:d:{}", now.format("%Y%m%d")))
        .await
        .unwrap();
    let month: i64 = redis
        .get(format!("{scope}:spend:m:{}", now.format("%Y%m")))
        .await
        .unwrap();
    assert_eq!((i128::from(day), i128::from(month)), (expected, expected));
    let leases: u64 = redis
        .zcard(format!("{prefix}:key:leak-{tag}:conc"))
        .await
        .unwrap();
    assert_eq!(leases, 0);
    for pattern in [format!("{prefix}:*"), format!("gw:{tenant}:*")] {
        let keys: Vec<String> = redis.keys(pattern).await.unwrap();
        if !keys.is_empty() {
            let _: () = redis.del(keys).await.unwrap();
        }
    }
}
