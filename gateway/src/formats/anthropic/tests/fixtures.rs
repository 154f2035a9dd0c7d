//! The recorded-shape fixtures in `gateway/tests/fixtures/anthropic/`, read by
//! the translators, with the translated values checked.

use super::{fixture, fixture_json};
use crate::formats::anthropic::egress::{parse_response, EgressPlan, ResponseError, StreamDecoder};
use crate::formats::anthropic::fuzz::data_payloads;
use crate::formats::anthropic::ingress::{parse_count_tokens, parse_request};
use crate::formats::anthropic::wire::CountTokensResponse;
use crate::formats::anthropic::ErrorKind;
use crate::llm::{
    CacheControl, FinishReason, ImageSource, Part, Reasoning, Role, StreamEvent, TokenUsage,
    ToolChoice,
};

#[test]
fn request_text() {
    let r = parse_request(&fixture("request_text.json")).unwrap();
    assert_eq!(r.model, "claude-sonnet-4-6");
    assert_eq!(r.max_tokens, Some(1024));
    assert_eq!(r.system, [Part::text("You answer in one short sentence.")]);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].content, [Part::text("Say hello.")]);
    assert_eq!(r.stop, ["\n\nHuman:"]);
    assert_eq!(r.user.as_deref(), Some("5f0c7a2e-user-hash"));
    assert!(!r.stream);
}

#[test]
fn request_tool_round_trip() {
    let r = parse_request(&fixture("request_tool_round_trip.json")).unwrap();
    assert_eq!(
        r.system,
        [Part::Text {
            text: "You are a weather assistant.".into(),
            cache: Some(CacheControl::default())
        }]
    );
    assert_eq!(r.tools.len(), 1);
    assert_eq!(r.tools[0].name, "get_weather");
    assert_eq!(r.tools[0].parameters["required"][0], "location");
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.parallel_tool_calls, Some(true));
    assert_eq!(r.messages.len(), 3);
    assert_eq!(r.messages[1].role, Role::Assistant);
    match &r.messages[1].content[1] {
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            assert_eq!(id, "toolu_01A09q90qw90lq917835lq9");
            assert_eq!(name, "get_weather");
            let args: serde_json::Value = serde_json::from_str(arguments).unwrap();
            assert_eq!(
                args,
                serde_json::json!({"location": "Paris, France", "unit": "celsius"})
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.messages[2].content,
        [
            Part::ToolResult {
                call_id: "toolu_01A09q90qw90lq917835lq9".into(),
                content: vec![Part::text("15 degrees, light rain")],
                is_error: false,
                cache: None,
            },
            Part::text("Answer in one sentence."),
        ]
    );
}

#[test]
fn request_images_thinking() {
    let r = parse_request(&fixture("request_images_thinking.json")).unwrap();
    assert!(r.stream);
    assert_eq!(r.reasoning, Some(Reasoning::BudgetTokens(4096)));
    assert_eq!(r.max_tokens, Some(16000));
    let content = &r.messages[0].content;
    assert!(
        matches!(&content[0], Part::Image { source: ImageSource::Base64 { media_type, data }, cache: None }
        if media_type == "image/png" && data.starts_with("iVBORw0KGgo"))
    );
    assert_eq!(
        content[1],
        Part::Image {
            source: ImageSource::Url("https://example.com/chart.png".into()),
            cache: None
        }
    );
    assert_eq!(
        content[2],
        Part::Text {
            text: "What do these images show?".into(),
            cache: Some(CacheControl {
                ttl: Some("1h".into())
            })
        }
    );
}

#[test]
fn request_count_tokens() {
    let r = parse_count_tokens(&fixture("request_count_tokens.json")).unwrap();
    assert_eq!(r.system, [Part::text("You are terse.")]);
    assert_eq!(r.max_tokens, None);
    // A count_tokens body is not a valid create body.
    assert!(parse_request(&fixture("request_count_tokens.json")).is_err());
    let count: CountTokensResponse =
        serde_json::from_slice(&fixture("response_count_tokens.json")).unwrap();
    assert_eq!(count.input_tokens, 14);
}

fn usage(prompt: u64, completion: u64, cached: u64, written: u64, reasoning: u64) -> TokenUsage {
    TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_prompt_tokens: cached,
        cache_write_tokens: written,
        reasoning_tokens: reasoning,
    }
}

#[test]
fn responses() {
    let plan = EgressPlan::default();
    let text = parse_response(&fixture("response_text.json"), &plan).unwrap();
    assert_eq!(text.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(text.model, "claude-sonnet-4-6");
    assert_eq!(text.content, [Part::text("Hello!")]);
    assert_eq!(text.finish, FinishReason::Stop);
    assert_eq!(text.usage, Some(usage(12, 6, 0, 0, 0)));

    let stop = parse_response(&fixture("response_stop_sequence.json"), &plan).unwrap();
    assert_eq!(stop.finish, FinishReason::StopSequence(Some("time".into())));

    let tool = parse_response(&fixture("response_tool_use.json"), &plan).unwrap();
    assert_eq!(tool.finish, FinishReason::ToolCalls);
    assert_eq!(tool.usage, Some(usage(10 + 1510, 58, 0, 1510, 0)));
    assert_eq!(tool.content[0], Part::text("Let me check."));
    assert!(
        matches!(&tool.content[1], Part::ToolCall { id, name, arguments }
        if id == "toolu_01A09q90qw90lq917835lq9" && name == "get_weather" && arguments.contains("Paris, France"))
    );

    let thinking = parse_response(&fixture("response_thinking.json"), &plan).unwrap();
    assert_eq!(thinking.usage, Some(usage(1620 + 2048, 412, 2048, 0, 398)));
    assert_eq!(
        thinking.content[0],
        Part::Thinking {
            text: "The first image is a single pixel; the second is a chart.".into(),
            signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
        }
    );
}

#[test]
fn error_bodies() {
    for (file, kind, status) in [
        ("error_authentication.json", ErrorKind::Authentication, 401),
        ("error_invalid_request.json", ErrorKind::InvalidRequest, 400),
        ("error_overloaded.json", ErrorKind::Overloaded, 529),
        ("error_rate_limit.json", ErrorKind::RateLimit, 429),
    ] {
        let body = fixture(file);
        match parse_response(&body, &EgressPlan::default()) {
            Err(ResponseError::Upstream { kind: got, message }) => {
                assert_eq!(got, Some(kind), "{file}");
                assert_eq!(message, fixture_json(file)["error"]["message"]);
            }
            other => panic!("{file}: {other:?}"),
        }
        assert_eq!(kind.status(), status);
    }
}

fn decode(file: &str) -> (Vec<StreamEvent>, Option<String>, bool) {
    let text = fixture(file);
    let mut decoder = StreamDecoder::new(EgressPlan::default());
    let mut events = Vec::new();
    for payload in data_payloads(&text) {
        if let Err(e) = decoder.push(payload, &mut events) {
            return (events, Some(e.to_string()), decoder.is_done());
        }
    }
    (events, None, decoder.is_done())
}

#[test]
fn stream_text() {
    let (events, error, done) = decode("stream_text.sse");
    assert_eq!(error, None);
    assert!(done);
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
                model: "claude-sonnet-4-6".into()
            },
            StreamEvent::Text("Hello".into()),
            StreamEvent::Text("!".into()),
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Usage(usage(12, 6, 0, 0, 0)),
        ]
    );
}

#[test]
fn stream_tool_use() {
    let (events, error, _) = decode("stream_tool_use.sse");
    assert_eq!(error, None);
    assert_eq!(
        events[1..],
        [
            StreamEvent::Text("Let me check".into()),
            StreamEvent::Text(".".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into()
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                arguments: "{\"location\": \"Par".into()
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                arguments: "is, France\", \"unit\": \"celsius\"}".into()
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(usage(472, 89, 0, 0, 0)),
        ]
    );
}

#[test]
fn stream_thinking() {
    let (events, error, _) = decode("stream_thinking.sse");
    assert_eq!(error, None);
    assert_eq!(
        events[1..],
        [
            StreamEvent::Thinking {
                text: "The first image is a single pixel;".into(),
                signature: None
            },
            StreamEvent::Thinking {
                text: " the second is a chart.".into(),
                signature: None
            },
            StreamEvent::Thinking {
                text: String::new(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
            },
            StreamEvent::Text("A one-pixel image and a chart.".into()),
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Usage(usage(1620 + 2048, 412, 2048, 0, 398)),
        ]
    );
}

#[test]
fn stream_overloaded() {
    let (events, error, done) = decode("stream_overloaded.sse");
    assert_eq!(events.last(), Some(&StreamEvent::Text("Hello".into())));
    assert_eq!(
        error.as_deref(),
        Some("upstream error overloaded_error: Overloaded")
    );
    assert!(!done);
}

/// An OpenAI-chat-shaped conversation as the Anthropic egress sends it.
#[test]
fn egress_request_from_chat() {
    use crate::formats::anthropic::egress::to_request;
    use crate::llm::{ChatRequest, Message, Tool};
    let call = |id: &str, place: &str| Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: format!("{{\"location\": \"{place}\"}}"),
    };
    let result = |id: &str, text: &str| Message {
        role: Role::User,
        content: vec![Part::ToolResult {
            call_id: id.into(),
            content: vec![Part::text(text)],
            is_error: false,
            cache: None,
        }],
    };
    let request = ChatRequest {
        model: "claude-sonnet-4-6".into(),
        system: vec![Part::text("You are a travel assistant.")],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::text("Weather in Paris and Rome? Here is my map."),
                    Part::Image {
                        source: ImageSource::Url("data:image/png;base64,iVBORw0KGgo=".into()),
                        cache: None,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::text(""),
                    call("call_paris", "Paris"),
                    call("call_rome", "Rome"),
                ],
            },
            result("call_paris", "15C, rain"),
            result("call_rome", "24C, sun"),
            Message {
                role: Role::System,
                content: vec![Part::text("Answer in French from now on.")],
            },
            Message {
                role: Role::User,
                content: vec![Part::text("Which is warmer?")],
            },
        ],
        stop: vec!["###".into()],
        temperature: Some(0.7),
        stream: true,
        user: Some("team-a".into()),
        seed: Some(3),
        n: Some(1),
        tools: vec![Tool {
            name: "get_weather".into(),
            description: Some("Current weather at a place.".into()),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"]
            }),
            strict: None,
            cache: None,
        }],
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(true),
        ..ChatRequest::default()
    };
    let (wire, _) = to_request(&request, 8192).unwrap();
    assert_eq!(
        super::judged(&wire),
        fixture_json("egress_request_from_chat.json")
    );
}

/// Another provider's streamed answer as the Anthropic ingress writes it.
#[test]
fn encoded_stream_tool_use() {
    use crate::formats::anthropic::ingress::StreamEncoder;
    let events = [
        StreamEvent::Start {
            id: "chatcmpl-42".into(),
            model: "gpt-4.1".into(),
        },
        StreamEvent::Text("Let me check".into()),
        StreamEvent::Text(".".into()),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_paris".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: "{\"location\":".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: " \"Paris\"}".into(),
        },
        StreamEvent::Finish(FinishReason::ToolCalls),
        StreamEvent::Usage(usage(2224, 31, 1024, 0, 0)),
    ];
    let mut encoder = StreamEncoder::new("unused", "unused");
    let mut out = Vec::new();
    for event in &events {
        encoder.push(event, &mut out);
    }
    encoder.finish(&mut out);
    let written: Vec<u8> = out.concat();
    let wanted = fixture("encoded_stream_tool_use.sse");
    assert_eq!(
        String::from_utf8(written).unwrap(),
        String::from_utf8(wanted).unwrap()
    );
}
