//! The stream encoder and decoder: event order and sequence numbers as OpenAI
//! sends them, the recorded streams decoded and re-encoded to the same event
//! sequence, failures, and the committed gateway streams.

use serde_json::{json, Value};

use super::fixtures;
use super::response::{settings, usage};
use crate::formats::responses::error::ErrorObject;
use crate::formats::responses::stream::{data_payloads, frames, Decoder, Encoder};
use crate::formats::responses::wire::events::Event;
use crate::llm::{FinishReason, StreamEvent};

fn encode(events: &[StreamEvent]) -> Vec<Event> {
    let mut encoder = Encoder::new(
        settings(json!({"model": "m", "input": "hi"})),
        1_796_619_770,
        "fallback",
        "m",
    );
    let mut out: Vec<Event> = events.iter().flat_map(|e| encoder.push(e)).collect();
    out.extend(encoder.finish());
    out
}

fn values(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn decode_all(events: &[Value]) -> Result<Vec<StreamEvent>, ErrorObject> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for event in events {
        out.extend(decoder.push(event.to_string().as_bytes())?);
    }
    Ok(out)
}

/// What each llm event adds up to: text, thinking, calls with their whole
/// arguments, finish, usage (deltas may be split differently).
fn summary(events: &[StreamEvent]) -> Value {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut signature = Value::Null;
    let mut calls: Vec<Value> = Vec::new();
    let mut finish = Value::Null;
    let mut counted = Value::Null;
    for event in events {
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::Text(t) => text.push_str(t),
            StreamEvent::Thinking {
                text: t,
                signature: s,
            } => {
                thinking.push_str(t);
                if let Some(s) = s {
                    signature = json!(s);
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                calls.push(json!({"index": index, "id": id, "name": name, "arguments": ""}))
            }
            StreamEvent::ToolCallArguments { index, arguments } => {
                if let Some(call) = calls.iter_mut().find(|c| c["index"] == json!(index)) {
                    let whole = format!(
                        "{}{arguments}",
                        call["arguments"].as_str().unwrap_or_default()
                    );
                    call["arguments"] = json!(whole);
                }
            }
            StreamEvent::Finish(reason) => finish = json!(format!("{reason:?}")),
            StreamEvent::Usage(u) => {
                counted = json!([
                    u.prompt_tokens,
                    u.completion_tokens,
                    u.cached_prompt_tokens,
                    u.cache_write_tokens,
                    u.reasoning_tokens
                ])
            }
        }
    }
    json!({"text": text, "thinking": thinking, "signature": signature, "calls": calls, "finish": finish, "usage": counted})
}

/// Checks what every Responses stream must satisfy.
pub(super) fn well_formed(events: &[Value]) {
    let kinds = kinds(events);
    assert!(kinds.len() >= 3, "{kinds:?}");
    assert_eq!(
        &kinds[..2],
        ["response.created", "response.in_progress"],
        "{kinds:?}"
    );
    let last = kinds.last().cloned().unwrap_or_default();
    assert!(
        [
            "response.completed",
            "response.incomplete",
            "response.failed"
        ]
        .contains(&last.as_str()),
        "{kinds:?}"
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(i), "{kinds:?}");
    }
    // Every item added is done (unless the response failed), once, in place.
    let added: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.added")
        .collect();
    let done: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .collect();
    for (n, item) in added.iter().enumerate() {
        assert_eq!(item["output_index"], json!(n), "{kinds:?}");
    }
    if last != "response.failed" {
        assert_eq!(added.len(), done.len(), "{kinds:?}");
        let output = &events[events.len() - 1]["response"]["output"];
        for item in &done {
            let index = item["output_index"].as_u64().unwrap_or(u64::MAX) as usize;
            assert_eq!(output[index], item["item"], "{kinds:?}");
        }
    }
    // Deltas name an item that is open.
    for (i, event) in events.iter().enumerate() {
        if let Some(id) = event.get("item_id") {
            let opened = events[..i]
                .iter()
                .any(|e| e["type"] == "response.output_item.added" && &e["item"]["id"] == id);
            let closed = events[..i]
                .iter()
                .any(|e| e["type"] == "response.output_item.done" && &e["item"]["id"] == id);
            assert!(
                opened && !closed,
                "{} at {i} names {id}, which is not open",
                kinds[i]
            );
        }
    }
}

#[test]
fn text_streams_in_openais_order() {
    let events = values(&encode(&[
        StreamEvent::Start {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
        },
        StreamEvent::Text("Hello".into()),
        StreamEvent::Text(" there!".into()),
        StreamEvent::Finish(FinishReason::Stop),
        StreamEvent::Usage(usage()),
    ]));
    well_formed(&events);
    assert_eq!(
        kinds(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(events[0]["response"]["id"], "resp_chatcmpl-1");
    assert_eq!(events[0]["response"]["status"], "in_progress");
    assert_eq!(events[0]["response"]["model"], "gpt-4o");
    assert!(events[0]["response"]["usage"].is_null());
    assert_eq!(events[6]["text"], "Hello there!");
    let last = &events[9]["response"];
    assert_eq!(last["status"], "completed");
    assert_eq!(last["output"][0]["content"][0]["text"], "Hello there!");
    assert_eq!(last["usage"]["input_tokens_details"]["cached_tokens"], 2048);
    assert_eq!(
        last["usage"]["output_tokens_details"]["reasoning_tokens"],
        64
    );
}

#[test]
fn the_recorded_streams_decode_and_encode_to_the_same_sequence() {
    for name in ["stream_text.sse", "stream_function_call.sse"] {
        let recorded = fixtures::events(name);
        let llm = decode_all(&recorded).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(
            matches!(llm.first(), Some(StreamEvent::Start { id, .. }) if id.starts_with("resp_")),
            "{name}"
        );
        let encoded = values(&encode(&llm));
        well_formed(&encoded);
        // The recorded reasoning item is empty (no text, no signature): nothing to carry.
        let meaningful = |events: &[Value]| -> Vec<String> {
            events
                .iter()
                .filter(|e| e["item"]["type"] != "reasoning")
                .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(meaningful(&encoded), meaningful(&recorded), "{name}");
        assert_eq!(
            encoded.last().map(|e| &e["response"]["usage"]),
            recorded.last().map(|e| &e["response"]["usage"]),
            "{name}"
        );
        assert_eq!(
            encoded[0]["response"]["id"], recorded[0]["response"]["id"],
            "{name}"
        );
        assert_eq!(
            summary(&decode_all(&encoded).unwrap_or_default()),
            summary(&llm),
            "{name}"
        );
    }
    let calls =
        summary(&decode_all(&fixtures::events("stream_function_call.sse")).unwrap_or_default());
    assert_eq!(calls["calls"][0]["id"], "call_Kp2rVq8dN3xS");
    assert_eq!(
        calls["calls"][0]["arguments"],
        "{\"location\":\"Paris, France\",\"unit\":\"celsius\"}"
    );
    assert_eq!(calls["finish"], "ToolCalls");
    let text = summary(&decode_all(&fixtures::events("stream_text.sse")).unwrap_or_default());
    assert_eq!(
        (&text["text"], &text["finish"]),
        (&json!("Hello there!"), &json!("Stop"))
    );
}

fn thinking_and_tools() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "msg_01ABC".into(),
            model: "claude-sonnet-4-5".into(),
        },
        StreamEvent::Thinking {
            text: "The user wants ".into(),
            signature: None,
        },
        StreamEvent::Thinking {
            text: "the weather.".into(),
            signature: None,
        },
        StreamEvent::Thinking {
            text: String::new(),
            signature: Some("EqQBCkYIBxgCKkB".into()),
        },
        StreamEvent::Text("Checking.".into()),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "toolu_01A".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "toolu_01B".into(),
            name: "get_time".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: "{\"location\":".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::ToolCallArguments {
            index: 0,
            arguments: "\"Paris\"}".into(),
        },
        StreamEvent::Usage(usage()),
        StreamEvent::Finish(FinishReason::ToolCalls),
    ]
}

#[test]
fn thinking_text_and_interleaved_calls_round_trip() {
    let llm = thinking_and_tools();
    let events = values(&encode(&llm));
    well_formed(&events);
    let reasoning_done = events
        .iter()
        .find(|e| e["type"] == "response.output_item.done" && e["item"]["type"] == "reasoning");
    assert_eq!(
        reasoning_done.map(|e| &e["item"]["encrypted_content"]),
        Some(&json!("EqQBCkYIBxgCKkB"))
    );
    let last = &events[events.len() - 1];
    assert_eq!(last["type"], "response.completed");
    assert_eq!(
        last["response"]["output"][2]["arguments"],
        "{\"location\":\"Paris\"}"
    );
    assert_eq!(last["response"]["output"][3]["arguments"], "{}");
    let back = summary(&decode_all(&events).unwrap_or_default());
    assert_eq!(back, summary(&llm));
    assert_eq!(back["thinking"], "The user wants the weather.");
}

#[test]
fn a_cut_answer_ends_incomplete() {
    let events = values(&encode(&[
        StreamEvent::Text("Once".into()),
        StreamEvent::Finish(FinishReason::Length),
    ]));
    well_formed(&events);
    let last = &events[events.len() - 1];
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    assert_eq!(
        summary(&decode_all(&events).unwrap_or_default())["finish"],
        "Length"
    );
}

#[test]
fn failures_end_the_stream_in_the_responses_shape() {
    let limited = ErrorObject::from_gateway(&crate::error::GatewayError::RateLimited {
        retry_after: std::time::Duration::from_secs(1),
    });
    // Before anything was sent: the Response begins, then fails.
    let mut encoder = Encoder::new(settings(json!({"model": "m", "input": "hi"})), 0, "r", "m");
    let early = values(&encoder.fail(&limited));
    well_formed(&early);
    assert_eq!(
        kinds(&early),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    let failed = &early[2]["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "rate_limit_exceeded");
    assert!(failed["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("Rate limit")));
    assert_eq!(failed["output"], json!([]));
    // The `error` event, for routes that need one.
    let event = serde_json::to_value(limited.event(7)).unwrap_or_default();
    assert_eq!(
        event,
        json!({"type": "error", "code": "rate_limit_exceeded", "message": limited.message, "param": null, "sequence_number": 7})
    );
    assert!(encoder.push(&StreamEvent::Text("late".into())).is_empty());
    assert!(encoder.finish().is_empty());
    // After: `response.failed` with what was produced.
    let mut encoder = Encoder::new(settings(json!({"model": "m", "input": "hi"})), 0, "r", "m");
    let mut events = encoder.push(&StreamEvent::Text("Half".into()));
    let cut = ErrorObject::from_gateway(&crate::error::GatewayError::UpstreamProtocol {
        provider: "anthropic".into(),
    });
    events.extend(encoder.fail(&cut));
    let events = values(&events);
    well_formed(&events);
    let last = &events[events.len() - 1];
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["status"], "failed");
    assert_eq!(last["response"]["error"]["code"], "server_error");
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "Half");
    assert!(encoder.finish().is_empty());
    // The decoder hands both back as errors.
    assert_eq!(
        decode_all(&events).err().and_then(|e| e.code),
        Some("server_error".into())
    );
    assert_eq!(
        decode_all(&early).err().map(|e| e.message),
        Some(limited.message.clone())
    );
    let event = serde_json::to_value(limited.event(0)).unwrap_or_default();
    assert_eq!(
        decode_all(&[event]).err().and_then(|e| e.code),
        Some("rate_limit_exceeded".into())
    );
}

#[test]
fn frames_carry_the_event_name_and_the_json() {
    let events = encode(&[StreamEvent::Text("hi".into())]);
    let bytes = frames(&events);
    let text = String::from_utf8_lossy(&bytes);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    let data: Vec<Value> = data_payloads(&text)
        .map(|d| serde_json::from_str(d).unwrap_or_default())
        .collect();
    assert_eq!(names.len(), events.len());
    assert_eq!(kinds(&data), names);
    assert!(text.ends_with("\n\n"));
    assert_eq!(text.matches("\n\n").count(), events.len());
}

#[test]
fn rendered_streams_match_the_committed_fixtures() {
    let request = settings(
        json!({"model": "claude-sonnet-4-5", "input": "What is the weather in Paris?", "store": false,
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}, "strict": false},
                  {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}, "strict": false}]}),
    );
    let mut encoder = Encoder::new(request, 1_796_619_770, "fallback", "m");
    let mut events: Vec<Event> = thinking_and_tools()
        .iter()
        .flat_map(|e| encoder.push(e))
        .collect();
    events.extend(encoder.finish());
    fixtures::golden(
        "gateway_stream_thinking_tools.sse",
        &String::from_utf8_lossy(&frames(&events)),
    );

    let mut encoder = Encoder::new(
        settings(json!({"model": "gpt-4o", "input": "hi", "store": false})),
        1_796_619_770,
        "chatcmpl-9",
        "gpt-4o",
    );
    let mut events = encoder.push(&StreamEvent::Text("Hel".into()));
    events.extend(encoder.fail(&ErrorObject::from_gateway(
        &crate::error::GatewayError::UpstreamTimeout {
            provider: "openai".into(),
            phase: "between chunks",
        },
    )));
    fixtures::golden(
        "gateway_stream_failed.sse",
        &String::from_utf8_lossy(&frames(&events)),
    );

    let mut encoder = Encoder::new(
        settings(json!({"model": "gpt-5.4", "input": "hi", "store": false})),
        1_796_619_770,
        "resp_0a1b2c",
        "gpt-5.4",
    );
    let events = encoder.fail(&ErrorObject::from_gateway(
        &crate::error::GatewayError::RateLimited {
            retry_after: std::time::Duration::from_secs(3),
        },
    ));
    fixtures::golden(
        "gateway_stream_failed_early.sse",
        &String::from_utf8_lossy(&frames(&events)),
    );
}
