//! The translators against the recorded shapes in `tests/fixtures/openai/`, by
//! table, and round trips through the gateway's model.

use axum::http::StatusCode;
use pricing::TokenUsage;

use super::{request, response, stream};
use crate::llm::{
    ChatRequest, ChatResponse, FinishReason, ImageSource, Message, Part, Reasoning, ResponseFormat,
    Role, StreamEvent, ToolChoice,
};
use crate::sse::{single_data, EventSplitter};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::text(text)],
    }
}

fn result(call_id: &str, text: &str) -> Part {
    Part::ToolResult {
        call_id: call_id.into(),
        content: vec![Part::text(text)],
        is_error: false,
        cache: None,
    }
}

fn call(id: &str, city: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: format!("{{\"city\":\"{city}\"}}"),
    }
}

#[test]
fn reads_a_plain_request() {
    let request = request::decode(&fixture("request_text.json")).unwrap();
    assert_eq!(
        request,
        ChatRequest {
            model: "gpt-4o-mini".into(),
            system: vec![
                Part::text("You are terse."),
                Part::text("Answer in French.")
            ],
            messages: vec![user("Say hello.")],
            max_tokens: Some(64),
            temperature: Some(0.2),
            top_p: Some(0.9),
            stop: vec!["\n\n".into()],
            seed: Some(7),
            presence_penalty: Some(0.1),
            frequency_penalty: Some(0.3),
            n: Some(1),
            user: Some("user-1234".into()),
            ..ChatRequest::default()
        }
    );
}

#[test]
fn reads_tools_images_and_tool_results() {
    let request = request::decode(&fixture("request_tool_round_trip.json")).unwrap();
    assert_eq!(
        request.system,
        vec![Part::text("You can look up the weather.")]
    );
    let expected = vec![
        Message {
            role: Role::User,
            content: vec![
                Part::text("What is the weather in Paris and Rome? Here is a map."),
                Part::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    },
                    cache: None,
                },
                Part::Image {
                    source: ImageSource::Url("https://example.com/map.jpg".into()),
                    cache: None,
                },
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![call("call_1", "Paris"), call("call_2", "Rome")],
        },
        Message {
            role: Role::User,
            content: vec![
                result("call_1", "18C, cloudy"),
                result("call_2", "24C, sunny"),
            ],
        },
        Message {
            role: Role::System,
            content: vec![Part::text("Be brief.")],
        },
        user("Thanks. Which is warmer?"),
    ];
    assert_eq!(request.messages, expected);
    assert_eq!(request.tools.len(), 1);
    assert_eq!(request.tools[0].name, "get_weather");
    assert_eq!(request.tools[0].strict, Some(true));
    assert_eq!(request.tools[0].parameters["required"][0], "city");
    assert_eq!(
        request.tool_choice,
        Some(ToolChoice::Tool("get_weather".into()))
    );
    assert_eq!(request.parallel_tool_calls, Some(false));
    assert!(matches!(
        &request.response_format,
        Some(ResponseFormat::JsonSchema { name, strict: Some(true), .. }) if name == "answer"
    ));
    assert_eq!(request.reasoning, Some(Reasoning::Effort("low".into())));
    assert_eq!(request.max_tokens, Some(512));
    assert!(request.stream);
}

#[test]
fn requests_survive_a_round_trip_through_the_wire() {
    for name in ["request_text.json", "request_tool_round_trip.json"] {
        let read = request::decode(&fixture(name)).unwrap();
        let written = request::encode(&read, &read.model);
        let again = request::decode(&written).unwrap();
        assert_eq!(again, read, "{name}: {}", String::from_utf8_lossy(&written));
    }
}

#[test]
fn written_requests_have_the_upstream_model_and_ask_for_stream_usage() {
    let mut read = request::decode(&fixture("request_tool_round_trip.json")).unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&request::encode(&read, "up-model")).unwrap();
    assert_eq!(body["model"], "up-model");
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_completion_tokens"], 512);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["messages"][3]["role"], "tool");
    assert_eq!(body["messages"][3]["tool_call_id"], "call_1");
    assert_eq!(
        body["messages"][1]["content"][1]["image_url"]["url"],
        "data:image/png;base64,iVBORw0KGgo="
    );
    read.stream = false;
    read.reasoning = Some(Reasoning::BudgetTokens(20_000));
    let body: serde_json::Value =
        serde_json::from_slice(&request::encode(&read, "up-model")).unwrap();
    assert!(body.get("stream").is_none() && body.get("stream_options").is_none());
    assert_eq!(body["reasoning_effort"], "high");
}

#[test]
fn bad_requests_are_400s_that_say_where() {
    let cases = [
        (r#"{"model":"m","messages":[]}"#, "empty array"),
        (r#"{"model":"m"}"#, "messages"),
        (
            r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#,
            "messages[0]",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"audio"}]}]}"#,
            "messages[0]",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}"#,
            "tool_choice",
        ),
        (
            r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
            "tool_call_id",
        ),
        ("{", "EOF"),
        (r#"{"model":5,"messages":[]}"#, "model"),
    ];
    for (body, expected) in cases {
        let error = request::decode(body.as_bytes()).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body}");
        let message = error.to_string();
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[test]
fn reads_whole_answers() {
    let text = response::decode(&fixture("response_text.json")).unwrap();
    assert_eq!(
        text,
        ChatResponse {
            id: "chatcmpl-abc123".into(),
            model: "gpt-4o-mini-2024-07-18".into(),
            content: vec![Part::text("Bonjour !")],
            finish: FinishReason::Stop,
            usage: Some(TokenUsage {
                prompt_tokens: 21,
                completion_tokens: 4,
                cached_prompt_tokens: 8,
                ..TokenUsage::default()
            }),
            created: Some(1765000000),
        }
    );
    let tools = response::decode(&fixture("response_tool_calls.json")).unwrap();
    assert_eq!(
        tools.content,
        vec![call("call_a", "Paris"), call("call_b", "Rome")]
    );
    assert_eq!(tools.finish, FinishReason::ToolCalls);
    assert_eq!(tools.usage.unwrap().reasoning_tokens, 16);
    assert!(
        response::decode(br#"{"id":"x","object":"chat.completion","model":"m","choices":[]}"#)
            .is_err()
    );
    assert!(response::decode(b"[]").is_err());
}

#[test]
fn answers_survive_a_round_trip_through_the_wire() {
    for name in ["response_text.json", "response_tool_calls.json"] {
        let read = response::decode(&fixture(name)).unwrap();
        let written = response::encode(&read, 0);
        assert_eq!(response::decode(&written).unwrap(), read, "{name}");
    }
    let answer = ChatResponse {
        id: "x".into(),
        model: "m".into(),
        content: vec![Part::text("a")],
        finish: FinishReason::StopSequence(Some("END".into())),
        usage: None,
        created: None,
    };
    let body: serde_json::Value = serde_json::from_slice(&response::encode(&answer, 42)).unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["created"], 42);
    assert_eq!(body["object"], "chat.completion");
}

fn data_events(sse: &[u8]) -> Vec<Vec<u8>> {
    let mut splitter = EventSplitter::default();
    splitter.push(sse);
    let mut out = Vec::new();
    while let Some(event) = splitter.next_event() {
        if let Some(data) = single_data(&event) {
            out.push(data.to_vec());
        }
    }
    out
}

fn decode_stream(sse: &[u8]) -> (Vec<StreamEvent>, bool) {
    let mut decoder = stream::Decoder::default();
    let mut events = Vec::new();
    for data in data_events(sse) {
        events.extend(decoder.decode(&data).unwrap());
    }
    (events, decoder.done())
}

#[test]
fn reads_streams() {
    let (events, done) = decode_stream(&fixture("stream_text.sse"));
    assert!(done);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "chatcmpl-s1".into(),
                model: "gpt-4o-mini".into()
            },
            StreamEvent::Text("Bon".into()),
            StreamEvent::Text("jour !".into()),
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Usage(TokenUsage {
                prompt_tokens: 21,
                completion_tokens: 3,
                ..TokenUsage::default()
            }),
        ]
    );
    let (events, _) = decode_stream(&fixture("stream_tool_calls.sse"));
    let start = |index, id: &str| StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: "get_weather".into(),
    };
    let args = |index, arguments: &str| StreamEvent::ToolCallArguments {
        index,
        arguments: arguments.into(),
    };
    assert_eq!(
        events[1..6],
        [
            start(0, "call_a"),
            args(0, "{\"city\":"),
            args(0, "\"Paris\"}"),
            start(1, "call_b"),
            args(1, "{\"city\":\"Rome\"}"),
        ]
    );
    assert_eq!(events[6], StreamEvent::Finish(FinishReason::ToolCalls));
    assert!(
        matches!(events[7], StreamEvent::Usage(u) if u.cached_prompt_tokens == 64 && u.reasoning_tokens == 16)
    );
}

#[test]
fn an_error_chunk_is_an_upstream_error() {
    let mut decoder = stream::Decoder::default();
    let error = decoder
        .decode(br#"{"error":{"message":"overloaded","type":"server_error"}}"#)
        .unwrap_err();
    assert!(matches!(error, stream::ChunkError::Upstream));
    assert!(decoder.decode(b"{not json").is_err());
}

#[test]
fn streams_survive_a_round_trip_through_the_wire() {
    for name in ["stream_text.sse", "stream_tool_calls.sse"] {
        let (events, _) = decode_stream(&fixture(name));
        let mut encoder = stream::Encoder::new(1765000000, true);
        let mut written = Vec::new();
        for event in &events {
            if let Some(bytes) = encoder.encode(event) {
                written.extend_from_slice(&bytes);
            }
        }
        written.extend_from_slice(&encoder.finish());
        let (again, done) = decode_stream(&written);
        assert!(done);
        assert_eq!(
            again,
            events,
            "{name}: {}",
            String::from_utf8_lossy(&written)
        );
    }
}

#[test]
fn usage_is_sent_only_to_clients_that_asked_and_thinking_not_at_all() {
    let events = [
        StreamEvent::Start {
            id: "i".into(),
            model: "m".into(),
        },
        StreamEvent::Thinking {
            text: "hmm".into(),
            signature: None,
        },
        StreamEvent::Usage(TokenUsage {
            prompt_tokens: 3,
            completion_tokens: 1,
            ..TokenUsage::default()
        }),
        StreamEvent::Text("hi".into()),
        StreamEvent::Finish(FinishReason::Length),
    ];
    let mut encoder = stream::Encoder::new(1, false);
    let mut written = Vec::new();
    for event in &events {
        if let Some(bytes) = encoder.encode(event) {
            written.extend_from_slice(&bytes);
        }
    }
    assert_eq!(encoder.usage().map(|u| u.total()), Some(4));
    written.extend_from_slice(&encoder.finish());
    let text = String::from_utf8(written).unwrap();
    assert!(!text.contains("usage") && !text.contains("hmm"), "{text}");
    assert!(text.contains("\"finish_reason\":\"length\""));
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn finish_reasons_map_both_ways() {
    let table = [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tool_calls", FinishReason::ToolCalls),
        ("content_filter", FinishReason::ContentFilter),
        ("something_new", FinishReason::Other("something_new".into())),
    ];
    for (text, reason) in table {
        assert_eq!(response::finish_reason(text), reason, "{text}");
        assert_eq!(response::finish_reason_text(&reason), text);
    }
    assert_eq!(
        response::finish_reason("function_call"),
        FinishReason::ToolCalls
    );
    assert_eq!(
        response::finish_reason_text(&FinishReason::StopSequence(Some("END".into()))),
        "stop"
    );
}
