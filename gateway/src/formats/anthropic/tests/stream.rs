//! The stream encoder (gateway events -> Anthropic SSE) and decoder (Anthropic
//! SSE -> gateway events), alone and against each other.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::formats::anthropic::egress::{EgressPlan, StreamDecoder, StreamError};
use crate::formats::anthropic::fuzz::data_payloads;
use crate::formats::anthropic::ingress::StreamEncoder;
use crate::formats::anthropic::ErrorKind;
use crate::llm::{FinishReason, StreamEvent, TokenUsage};

fn encode(events: &[StreamEvent]) -> Vec<Bytes> {
    let mut encoder = StreamEncoder::new("msg_fallback", "fallback-model");
    let mut out = Vec::new();
    for event in events {
        encoder.push(event, &mut out);
    }
    encoder.finish(&mut out);
    assert!(encoder.is_done());
    out
}

/// `(event name, data)` of each frame; the name must match the data's type.
fn frames(frames: &[Bytes]) -> Vec<(String, Value)> {
    frames
        .iter()
        .map(|f| {
            let text = std::str::from_utf8(f).unwrap();
            assert!(text.ends_with("\n\n"), "{text:?}");
            let mut lines = text.lines();
            let name = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_owned();
            let data: Value =
                serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn names(out: &[(String, Value)]) -> Vec<&str> {
    out.iter().map(|(n, _)| n.as_str()).collect()
}

fn usage() -> TokenUsage {
    TokenUsage {
        prompt_tokens: 100,
        completion_tokens: 30,
        cached_prompt_tokens: 60,
        cache_write_tokens: 10,
        reasoning_tokens: 5,
    }
}

fn text_answer() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "gpt-x".into(),
        },
        StreamEvent::Thinking {
            text: "Let me see.".into(),
            signature: None,
        },
        StreamEvent::Thinking {
            text: String::new(),
            signature: Some("sig".into()),
        },
        StreamEvent::Text("Hel".into()),
        StreamEvent::Text("lo".into()),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_a".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: "{\"x\":".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: "1}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_b".into(),
            name: "g".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::Finish(FinishReason::ToolCalls),
        StreamEvent::Usage(usage()),
    ]
}

#[test]
fn the_encoder_writes_anthropics_sequence() {
    let out = frames(&encode(&text_answer()));
    assert_eq!(
        names(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let start = &out[0].1["message"];
    assert_eq!(start["id"], "msg_1");
    assert_eq!(start["model"], "gpt-x");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(
        out[1].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        out[3].1["delta"],
        json!({"type": "signature_delta", "signature": "sig"})
    );
    assert_eq!(
        out[5].1,
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})
    );
    assert_eq!(
        out[9].1["content_block"],
        json!({"type": "tool_use", "id": "call_a", "name": "f", "input": {}})
    );
    assert_eq!(
        out[10].1["delta"],
        json!({"type": "input_json_delta", "partial_json": "{\"x\":"})
    );
    assert_eq!(out[14].1["index"], 3);
    assert_eq!(
        out[16].1,
        json!({"type": "message_delta",
               "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": {"input_tokens": 30, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 60,
                         "output_tokens": 30, "output_tokens_details": {"thinking_tokens": 5}}})
    );
}

#[test]
fn usage_before_or_after_the_finish_lands_in_message_delta() {
    let after = [
        StreamEvent::Text("a".into()),
        StreamEvent::Finish(FinishReason::Length),
        StreamEvent::Usage(usage()),
    ];
    let before = [
        StreamEvent::Text("a".into()),
        StreamEvent::Usage(usage()),
        StreamEvent::Finish(FinishReason::Length),
    ];
    for events in [&after[..], &before[..]] {
        let mut encoder = StreamEncoder::new("m", "x");
        let mut out = Vec::new();
        for e in events {
            encoder.push(e, &mut out);
        }
        // Done without waiting for `finish`.
        assert!(encoder.is_done());
        let out = frames(&out);
        let delta = &out[out.len() - 2].1;
        assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
        assert_eq!(delta["usage"]["output_tokens"], 30);
        assert_eq!(names(&out).last(), Some(&"message_stop"));
    }
}

#[test]
fn an_encoder_without_events_still_writes_a_whole_message() {
    let out = frames(&encode(&[]));
    assert_eq!(
        names(&out),
        ["message_start", "message_delta", "message_stop"]
    );
    assert_eq!(out[0].1["message"]["id"], "msg_fallback");
    assert_eq!(out[1].1["delta"]["stop_reason"], "end_turn");
}

#[test]
fn stop_reasons_on_the_way_out() {
    for (finish, reason, sequence) in [
        (FinishReason::Stop, "end_turn", Value::Null),
        (
            FinishReason::StopSequence(Some("##".into())),
            "stop_sequence",
            json!("##"),
        ),
        (FinishReason::Length, "max_tokens", Value::Null),
        (FinishReason::ToolCalls, "tool_use", Value::Null),
        (FinishReason::ContentFilter, "refusal", Value::Null),
        (
            FinishReason::Other("pause_turn".into()),
            "pause_turn",
            Value::Null,
        ),
        (FinishReason::Other("weird".into()), "end_turn", Value::Null),
    ] {
        let out = frames(&encode(&[StreamEvent::Finish(finish.clone())]));
        let delta = &out[out.len() - 2].1["delta"];
        assert_eq!(delta["stop_reason"], reason, "{finish:?}");
        assert_eq!(delta["stop_sequence"], sequence, "{finish:?}");
    }
}

#[test]
fn arguments_of_an_unknown_call_and_events_after_the_end_are_ignored() {
    let out = frames(&encode(&[
        StreamEvent::ToolCallArguments {
            index: 4,
            arguments: "{}".into(),
        },
        StreamEvent::Finish(FinishReason::Stop),
        StreamEvent::Usage(usage()),
        StreamEvent::Text("late".into()),
    ]));
    assert_eq!(
        names(&out),
        ["message_start", "message_delta", "message_stop"]
    );
}

fn decode_all(frames: &[Bytes], plan: EgressPlan) -> Vec<StreamEvent> {
    let mut decoder = StreamDecoder::new(plan);
    let mut events = Vec::new();
    for frame in frames {
        for payload in data_payloads(frame) {
            decoder.push(payload, &mut events).unwrap();
        }
    }
    assert!(decoder.is_done());
    events
}

#[test]
fn encoded_streams_decode_to_the_same_events() {
    let events = text_answer();
    let back = decode_all(&encode(&events), EgressPlan::default());
    // The decoder reports thinking text and signature apart, as Anthropic sends them.
    assert_eq!(back, events);
}

#[test]
fn the_decoder_skips_pings_and_unknown_events_and_blocks() {
    let lines = [
        json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "model": "c",
               "content": [], "stop_reason": null, "stop_sequence": null,
               "usage": {"input_tokens": 7, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "ping"}),
        json!({"type": "brand_new_event", "payload": [1, 2]}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"q\""}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "citations_delta", "citation": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ok"}}),
        json!({"type": "content_block_delta", "index": 9, "delta": {"type": "text_delta", "text": "stray"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 12}}),
        json!({"type": "message_stop"}),
    ];
    let mut decoder = StreamDecoder::new(EgressPlan::default());
    let mut events = Vec::new();
    for line in &lines {
        decoder
            .push(line.to_string().as_bytes(), &mut events)
            .unwrap();
    }
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "m".into(),
                model: "c".into()
            },
            StreamEvent::Text("ok".into()),
            StreamEvent::Finish(FinishReason::Stop),
            // Input counts from message_start, output from message_delta.
            StreamEvent::Usage(TokenUsage {
                prompt_tokens: 10,
                completion_tokens: 12,
                cached_prompt_tokens: 3,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
            }),
        ]
    );
}

#[test]
fn the_format_tool_streams_as_text() {
    let lines = [
        json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "fmt", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 4}}),
    ];
    let mut decoder = StreamDecoder::new(EgressPlan {
        format_tool: Some("fmt".into()),
    });
    let mut events = Vec::new();
    for line in &lines {
        decoder
            .push(line.to_string().as_bytes(), &mut events)
            .unwrap();
    }
    assert_eq!(events[1], StreamEvent::Text("{\"a\":1}".into()));
    assert_eq!(events[2], StreamEvent::Finish(FinishReason::Stop));
}

#[test]
fn stream_errors() {
    let mut decoder = StreamDecoder::new(EgressPlan::default());
    let mut events = Vec::new();
    let error =
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}});
    assert_eq!(
        decoder.push(error.to_string().as_bytes(), &mut events),
        Err(StreamError::Upstream {
            kind: Some(ErrorKind::RateLimit),
            message: "slow down".into()
        })
    );
    assert!(matches!(
        decoder.push(b"{not json", &mut events),
        Err(StreamError::Malformed(_))
    ));
    assert!(matches!(
        decoder.push(br#"{"type":"content_block_delta"}"#, &mut events),
        Err(StreamError::Malformed(_))
    ));
    assert!(events.is_empty());
}

#[test]
fn sse_data_and_ping() {
    use crate::formats::anthropic::egress::sse_data;
    assert_eq!(
        sse_data(b"event: ping\ndata: {\"type\": \"ping\"}\n\n"),
        Some(&b"{\"type\": \"ping\"}"[..])
    );
    assert_eq!(sse_data(b"event: x\r\ndata:{}\r\n\r\n"), Some(&b"{}"[..]));
    assert_eq!(sse_data(b": comment\n\n"), None);
    let ping = StreamEncoder::ping();
    let mut decoder = StreamDecoder::default();
    let mut events = Vec::new();
    decoder.push(sse_data(&ping).unwrap(), &mut events).unwrap();
    assert!(events.is_empty());
    assert_eq!(frames(&[ping])[0].0, "ping");
}

/// Builds the message a client SDK accumulates from a stream (as
/// `messages.stream()` does: blocks by index, deltas appended, tool input
/// parsed from its JSON pieces, `message_delta` usage over `message_start`'s).
fn accumulate(frames: &[Bytes]) -> Value {
    let mut message = Value::Null;
    let mut partial: Vec<String> = Vec::new();
    for (name, data) in self::frames(frames) {
        match name.as_str() {
            "message_start" => message = data["message"].clone(),
            "content_block_start" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(
                    index,
                    message["content"].as_array().unwrap().len(),
                    "blocks in order"
                );
                message["content"]
                    .as_array_mut()
                    .unwrap()
                    .push(data["content_block"].clone());
                partial.push(String::new());
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                let block = &mut message["content"][index];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = block["text"].as_str().unwrap().to_owned();
                        block["text"] = json!(text + delta["text"].as_str().unwrap());
                    }
                    "thinking_delta" => {
                        let text = block["thinking"].as_str().unwrap().to_owned();
                        block["thinking"] = json!(text + delta["thinking"].as_str().unwrap());
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        partial[index].push_str(delta["partial_json"].as_str().unwrap());
                        block["input"] = serde_json::from_str(&partial[index]).unwrap_or(json!({}));
                    }
                    other => panic!("{other}"),
                }
            }
            "content_block_stop" | "ping" | "message_stop" => {}
            "message_delta" => {
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                for (k, v) in data["usage"].as_object().unwrap() {
                    message["usage"][k] = v.clone();
                }
            }
            other => panic!("{other}"),
        }
    }
    message
}

/// What a client accumulates from the stream is the message the same answer
/// gets unstreamed.
#[test]
fn streamed_and_whole_answers_agree() {
    use crate::formats::anthropic::ingress::response_message;
    use crate::llm::{ChatResponse, Part};
    let events = text_answer();
    let streamed = accumulate(&encode(&events));
    let whole = ChatResponse {
        id: "msg_1".into(),
        model: "gpt-x".into(),
        content: vec![
            Part::Thinking {
                text: "Let me see.".into(),
                signature: Some("sig".into()),
            },
            Part::text("Hello"),
            Part::ToolCall {
                id: "call_a".into(),
                name: "f".into(),
                arguments: "{\"x\":1}".into(),
            },
            Part::ToolCall {
                id: "call_b".into(),
                name: "g".into(),
                arguments: "{}".into(),
            },
        ],
        finish: FinishReason::ToolCalls,
        usage: Some(usage()),
        created: None,
    };
    assert_eq!(
        streamed,
        serde_json::to_value(response_message(&whole)).unwrap()
    );
}
