//! Gemini as the egress of the other formats: client requests recorded in
//! `tests/fixtures/{openai,anthropic}/` go through their ingress decoder and
//! then out as Gemini bodies the mock accepts (one of them pinned in
//! `tests/fixtures/gemini/egress_from_openai_tool_round_trip.json`); Gemini
//! answers come back out in the clients' formats with nothing lost; and the
//! billing a Gemini answer leads to is the catalog's price, by hand.

use serde_json::Value;

use super::*;
use crate::formats::{anthropic, openai_chat};
use crate::llm::{FinishReason, Part};
use crate::mock_provider::gemini_judge;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

fn gemini_body(request: &crate::llm::ChatRequest) -> Value {
    let rendered = render(request, &RenderOptions::for_model("gemini-2.5-flash")).unwrap();
    let body = serde_json::to_value(&rendered).unwrap();
    gemini_judge::check_generate_content(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    body
}

#[test]
fn openai_requests_go_out_as_gemini_bodies() {
    let request =
        openai_chat::request::decode(fixture!("openai/request_tool_round_trip.json")).unwrap();
    let body = gemini_body(&request);
    let expected: Value =
        serde_json::from_slice(fixture!("gemini/egress_from_openai_tool_round_trip.json")).unwrap();
    assert_eq!(
        body,
        expected,
        "{}",
        serde_json::to_string_pretty(&body).unwrap()
    );

    let request = openai_chat::request::decode(fixture!("openai/request_text.json")).unwrap();
    gemini_body(&request);
}

#[test]
fn anthropic_requests_go_out_as_gemini_bodies() {
    for raw in [
        &fixture!("anthropic/request_text.json")[..],
        fixture!("anthropic/request_tool_round_trip.json"),
        fixture!("anthropic/request_images_thinking.json"),
    ] {
        let request = anthropic::ingress::parse_request(raw).unwrap();
        let body = gemini_body(&request);
        assert!(body["contents"].as_array().is_some_and(|c| !c.is_empty()));
    }
    let request =
        anthropic::ingress::parse_request(fixture!("anthropic/request_images_thinking.json"))
            .unwrap();
    let body = gemini_body(&request);
    assert_eq!(
        body["generationConfig"],
        serde_json::json!({"maxOutputTokens": 16000, "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": true}})
    );
    assert_eq!(
        body["contents"][0]["parts"][1]["fileData"]["fileUri"],
        "https://example.com/chart.png"
    );
}

#[test]
fn gemini_answers_reach_openai_clients_whole() {
    for raw in [
        &fixture!("gemini/response_text.json")[..],
        fixture!("gemini/response_function_call.json"),
        fixture!("gemini/response_max_tokens.json"),
        fixture!("gemini/response_safety.json"),
    ] {
        let answer = parse(raw).unwrap();
        let encoded = openai_chat::response::encode(&answer, 1_700_000_000);
        let back = openai_chat::response::decode(&encoded).unwrap();
        assert_eq!(back.content, answer.content);
        assert_eq!(back.finish, answer.finish);
        assert_eq!(back.usage, answer.usage);
    }
    // The thoughts are not OpenAI's to show, but their tokens are billed.
    let answer = parse(fixture!("gemini/response_thinking_cached.json")).unwrap();
    let back = openai_chat::response::decode(&openai_chat::response::encode(&answer, 0)).unwrap();
    assert_eq!(back.content, vec![Part::text("Hello there!")]);
    assert_eq!(back.usage, answer.usage);
    assert_eq!(back.finish, FinishReason::Stop);
}

#[test]
fn gemini_answers_reach_anthropic_clients() {
    let answer = parse(fixture!("gemini/response_function_call.json")).unwrap();
    let message: Value =
        serde_json::from_slice(&anthropic::ingress::response_body(&answer)).unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    let ids: Vec<&str> = message["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|block| block["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    // Anthropic's tool_use ids must match ^[a-zA-Z0-9_-]+$; ours carry the signature and still do.
    for id in ids {
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{id}"
        );
    }
}

#[test]
fn thinking_and_cached_tokens_cost_what_the_catalog_says() {
    let answer = parse(fixture!("gemini/response_thinking_cached.json")).unwrap();
    let usage = answer.usage.unwrap();
    let catalog = pricing::Catalog::embedded().unwrap();
    let prices = catalog
        .get("gemini", "gemini-2.5-pro")
        .unwrap()
        .current_price()
        .unwrap()
        .version
        .clone();
    // gemini-2.5-pro: $1.25 in, $0.125 cached in, $10 out per million tokens; no
    // reasoning price, so thoughts are output. 2,100 prompt tokens of which
    // 2,048 cached; 3 answer and 48 thought tokens.
    //   52 x 1.25 + 2,048 x 0.125 + (3 + 48) x 10 = 65 + 256 + 510 = 831 micro-USD.
    let cost = pricing::cost_of(&prices, &usage);
    assert_eq!(cost.total(), pricing::Cost::parse_usd("0.000831").unwrap());
    assert_eq!(
        cost.cached_input,
        pricing::Cost::parse_usd("0.000256").unwrap()
    );
    assert_eq!(cost.reasoning, pricing::Cost::parse_usd("0.00048").unwrap());
}
