//! Random inputs: mutated fixtures and random gateway values through every
//! translator. Parsers must refuse bad input without panicking; encoders must
//! accept any value. A long run is `ANTHROPIC_FUZZ_CASES=1000000 cargo test
//! --release -p gateway --lib formats::anthropic::tests::property`.

use fastrand::Rng;

use super::fixture;
use crate::formats::anthropic::egress::{to_request, StreamDecoder};
use crate::formats::anthropic::fuzz;
use crate::formats::anthropic::ingress::{response_body, StreamEncoder};
use crate::llm::{
    CacheControl, ChatRequest, ChatResponse, FinishReason, ImageSource, Message, Part, Reasoning,
    ResponseFormat, Role, StreamEvent, TokenUsage, Tool, ToolChoice,
};

const FIXTURES: &[&str] = &[
    "request_text.json",
    "request_tool_round_trip.json",
    "request_images_thinking.json",
    "request_count_tokens.json",
    "response_text.json",
    "response_tool_use.json",
    "response_thinking.json",
    "error_overloaded.json",
    "stream_text.sse",
    "stream_tool_use.sse",
    "stream_thinking.sse",
    "stream_overloaded.sse",
];

/// Pieces that steer mutations towards the interesting parts of the grammar.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "-1",
    "1e400",
    "0.5",
    "\"\"",
    "\"type\"",
    "\"text\"",
    "\"image\"",
    "\"tool_use\"",
    "\"tool_result\"",
    "\"thinking\"",
    "\"content\"",
    "\"role\"",
    "\"user\"",
    "\"assistant\"",
    "\"system\"",
    "\"cache_control\"",
    "\"ephemeral\"",
    "\"index\"",
    "\"delta\"",
    "\"message_delta\"",
    "\"content_block_start\"",
    "\"input_json_delta\"",
    "\"usage\"",
    "\"input_tokens\"",
    "18446744073709551615",
    "\"\\ud800\"",
    "\u{1F600}",
    "\n",
    "data: ",
    "event: error\n",
    "\n\n",
];

fn cases() -> usize {
    std::env::var("ANTHROPIC_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000)
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.usize(1..6) {
        let at = rng.usize(..=out.len());
        match rng.u8(..5) {
            0 if !out.is_empty() => {
                let end = (at + rng.usize(1..16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            1 => out.insert(at, rng.u8(..)),
            2 => out.truncate(at),
            _ => {
                let piece = PIECES[rng.usize(..PIECES.len())].as_bytes();
                out.splice(at..at, piece.iter().copied());
            }
        }
    }
    out
}

#[test]
fn mutated_fixtures_never_panic() {
    let inputs: Vec<Vec<u8>> = FIXTURES.iter().map(|f| fixture(f)).collect();
    let mut rng = Rng::with_seed(0x005e_eda1);
    let mut produced = 0;
    let n = cases();
    for i in 0..n {
        let input = mutate(&mut rng, &inputs[i % inputs.len()]);
        produced += fuzz::all(&input);
    }
    // The run reached past the parsers, not only into their errors.
    assert!(produced > n / 10, "{produced} values from {n} inputs");
    // And the unmutated fixtures all translate.
    for input in &inputs {
        assert!(fuzz::all(input) > 0);
    }
}

fn text(rng: &mut Rng) -> String {
    const ALPHABET: &[&str] = &[
        "a",
        " ",
        "\"",
        "\\",
        "\n",
        "{",
        "}",
        "é",
        "\u{0}",
        "\u{1F600}",
        "data: ",
        "\r\n\r\n",
    ];
    (0..rng.usize(..6))
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
        .collect()
}

fn number(rng: &mut Rng) -> f64 {
    match rng.u8(..6) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => -rng.f64(),
        3 => rng.f64() * 3.0,
        _ => rng.f64(),
    }
}

fn cache(rng: &mut Rng) -> Option<CacheControl> {
    rng.bool().then(|| CacheControl {
        ttl: rng.bool().then(|| text(rng)),
    })
}

fn part(rng: &mut Rng, depth: u8) -> Part {
    match rng.u8(..if depth > 0 { 3 } else { 6 }) {
        0 => Part::Text {
            text: text(rng),
            cache: cache(rng),
        },
        1 => Part::Image {
            source: if rng.bool() {
                ImageSource::Url(format!(
                    "{}{}",
                    ["data:image/png;base64,", "https://", "", "data:"][rng.usize(..4)],
                    text(rng)
                ))
            } else {
                ImageSource::Base64 {
                    media_type: ["image/png", "text/html"][rng.usize(..2)].into(),
                    data: text(rng),
                }
            },
            cache: cache(rng),
        },
        2 => Part::Thinking {
            text: text(rng),
            signature: rng.bool().then(|| text(rng)),
        },
        3 => Part::ToolCall {
            id: format!("c{}", rng.u8(..3)),
            name: text(rng),
            arguments: ["{}", "{\"a\":1}", "", "[", "null"][rng.usize(..5)].into(),
        },
        _ => Part::ToolResult {
            call_id: format!("c{}", rng.u8(..3)),
            content: (0..rng.usize(..3)).map(|_| part(rng, depth + 1)).collect(),
            is_error: rng.bool(),
            cache: cache(rng),
        },
    }
}

fn request(rng: &mut Rng) -> ChatRequest {
    let role = |rng: &mut Rng| [Role::User, Role::Assistant, Role::System][rng.usize(..3)];
    ChatRequest {
        model: text(rng),
        system: (0..rng.usize(..3)).map(|_| part(rng, 1)).collect(),
        messages: (0..rng.usize(..5))
            .map(|_| Message {
                role: role(rng),
                content: (0..rng.usize(..4)).map(|_| part(rng, 0)).collect(),
            })
            .collect(),
        max_tokens: rng.bool().then(|| rng.u64(..)),
        temperature: rng.bool().then(|| number(rng)),
        top_p: rng.bool().then(|| number(rng)),
        top_k: rng.bool().then(|| rng.u64(..)),
        stop: (0..rng.usize(..3)).map(|_| text(rng)).collect(),
        stream: rng.bool(),
        tools: (0..rng.usize(..3))
            .map(|_| Tool {
                name: text(rng),
                description: rng.bool().then(|| text(rng)),
                parameters: serde_json::json!({"type": "object"}),
                strict: rng.bool().then(|| rng.bool()),
                cache: cache(rng),
            })
            .collect(),
        tool_choice: match rng.u8(..5) {
            0 => None,
            1 => Some(ToolChoice::Auto),
            2 => Some(ToolChoice::None),
            3 => Some(ToolChoice::Required),
            _ => Some(ToolChoice::Tool(text(rng))),
        },
        parallel_tool_calls: rng.bool().then(|| rng.bool()),
        response_format: match rng.u8(..4) {
            0 => None,
            1 => Some(ResponseFormat::Text),
            2 => Some(ResponseFormat::JsonObject),
            _ => Some(ResponseFormat::JsonSchema {
                name: text(rng),
                schema: serde_json::json!({"type": (["object", "array"][rng.usize(..2)])}),
                strict: None,
            }),
        },
        reasoning: match rng.u8(..3) {
            0 => None,
            1 => Some(Reasoning::BudgetTokens(rng.u64(..))),
            _ => Some(Reasoning::Effort(
                ["low", "high", "max", "x"][rng.usize(..4)].into(),
            )),
        },
        seed: rng.bool().then(|| rng.i64(..)),
        presence_penalty: rng.bool().then(|| number(rng)),
        frequency_penalty: rng.bool().then(|| number(rng)),
        n: rng.bool().then(|| rng.u32(..3)),
        user: rng.bool().then(|| text(rng)),
    }
}

fn finish(rng: &mut Rng) -> FinishReason {
    match rng.u8(..7) {
        0 => FinishReason::Stop,
        1 => FinishReason::StopSequence(rng.bool().then(|| text(rng))),
        2 => FinishReason::Length,
        3 => FinishReason::ToolCalls,
        4 => FinishReason::ContentFilter,
        _ => FinishReason::Other(text(rng)),
    }
}

fn usage(rng: &mut Rng) -> TokenUsage {
    TokenUsage {
        prompt_tokens: rng.u64(..),
        completion_tokens: rng.u64(..),
        cached_prompt_tokens: rng.u64(..),
        cache_write_tokens: rng.u64(..),
        reasoning_tokens: rng.u64(..),
    }
}

fn event(rng: &mut Rng) -> StreamEvent {
    match rng.u8(..7) {
        0 => StreamEvent::Start {
            id: text(rng),
            model: text(rng),
        },
        1 => StreamEvent::Text(text(rng)),
        2 => StreamEvent::Thinking {
            text: text(rng),
            signature: rng.bool().then(|| text(rng)),
        },
        3 => StreamEvent::ToolCallStart {
            index: rng.u32(..3),
            id: text(rng),
            name: text(rng),
        },
        4 => StreamEvent::ToolCallArguments {
            index: rng.u32(..3),
            arguments: text(rng),
        },
        5 => StreamEvent::Finish(finish(rng)),
        _ => StreamEvent::Usage(usage(rng)),
    }
}

#[test]
fn random_gateway_values_always_translate() {
    let mut rng = Rng::with_seed(0x00a1_70b5);
    let n = cases();
    let mut sent = 0;
    for _ in 0..n {
        if let Ok((body, _)) = to_request(&request(&mut rng), rng.u64(..)) {
            assert!(serde_json::to_vec(&body).is_ok());
            sent += 1;
        }
        let response = ChatResponse {
            id: text(&mut rng),
            model: text(&mut rng),
            content: (0..rng.usize(..4)).map(|_| part(&mut rng, 0)).collect(),
            finish: finish(&mut rng),
            usage: rng.bool().then(|| usage(&mut rng)),
            created: None,
        };
        let body: serde_json::Value = serde_json::from_slice(&response_body(&response)).unwrap();
        assert_eq!(body["type"], "message");

        // Any event sequence encodes to a stream the decoder reads to its end.
        let mut encoder = StreamEncoder::new("m", "x");
        let mut frames = Vec::new();
        for _ in 0..rng.usize(..8) {
            encoder.push(&event(&mut rng), &mut frames);
        }
        encoder.finish(&mut frames);
        let mut decoder = StreamDecoder::default();
        let mut events = Vec::new();
        for frame in &frames {
            for payload in fuzz::data_payloads(frame) {
                decoder.push(payload, &mut events).unwrap();
            }
        }
        assert!(decoder.is_done());
    }
    // Most random requests are refused (out-of-range numbers, unmatched
    // results); enough must get through for the serializer to be exercised.
    assert!(sent > n / 50, "{sent} of {n} requests translated");
}
