//! Streamed answers: the recorded SSE transcripts, then the decoder's edges.

use serde_json::json;

use super::*;
use crate::formats::gemini::error::ErrorKind;
use crate::llm::{FinishReason, TokenUsage};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/",
            $name
        ))
    };
}

/// Every event of a whole SSE body, then the end of the stream.
fn decode_all(body: &[u8]) -> Result<Vec<StreamEvent>, StreamError> {
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for event in split_events(body) {
        events.extend(decoder.event(event)?);
    }
    events.extend(decoder.end()?);
    Ok(events)
}

fn frame(chunk: serde_json::Value) -> String {
    format!("data: {chunk}\r\n\r\n")
}

#[test]
fn text_transcript() {
    let events = decode_all(fixture!("stream_text.sse")).unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "mTxkaN3fK9SqgLUP4O6x8Ao".into(),
                model: "gemini-2.5-flash".into()
            },
            StreamEvent::Thinking {
                text: "The user wants a greeting.".into(),
                signature: None
            },
            StreamEvent::Text("Hello".into()),
            StreamEvent::Text(" there!".into()),
            StreamEvent::Finish(FinishReason::Stop),
            StreamEvent::Usage(TokenUsage {
                prompt_tokens: 9,
                completion_tokens: 31,
                cached_prompt_tokens: 0,
                cache_write_tokens: 0,
                reasoning_tokens: 28,
            }),
        ]
    );
}

#[test]
fn function_call_transcript() {
    let events = decode_all(fixture!("stream_function_call.sse")).unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "mTxkaN3fK9SqgLUP4O6x8Ao".into(),
                model: "gemini-2.5-flash".into()
            },
            StreamEvent::Text("Let me check.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "gcall_mTxkaN3fK9SqgLUP4O6x8Ao_0__ts__CiQBcsjafE2dNT4Dj1RtAXNzIC8x".into(),
                name: "get_weather".into(),
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(TokenUsage {
                prompt_tokens: 9,
                completion_tokens: 61,
                cached_prompt_tokens: 0,
                cache_write_tokens: 0,
                reasoning_tokens: 41,
            }),
        ]
    );
}

#[test]
fn calls_across_chunks_are_numbered_in_order() {
    let call = |name: &str| json!({"functionCall": {"name": name, "args": {"n": 1}}});
    let body = [
        frame(json!({"responseId": "r", "candidates": [{"content": {"parts": [call("a"), call("b")]}}]})),
        frame(json!({"responseId": "r", "candidates": [{"content": {"parts": [call("c")]}, "finishReason": "STOP"}],
                     "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6}})),
    ]
    .concat();
    let events = decode_all(body.as_bytes()).unwrap();
    let starts: Vec<(u32, String, String)> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart { index, id, name } => {
                Some((*index, id.clone(), name.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        vec![
            (0, "gcall_r_0".into(), "a".into()),
            (1, "gcall_r_1".into(), "b".into()),
            (2, "gcall_r_2".into(), "c".into()),
        ]
    );
    assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
}

#[test]
fn usage_after_finish_and_usage_unchanged() {
    let done = json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "MAX_TOKENS"}],
                      "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}});
    let later = json!({"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}});
    let mut decoder = StreamDecoder::new();
    let first = decoder.data(done.to_string().as_bytes()).unwrap();
    assert_eq!(first.len(), 4, "{first:?}");
    // The same counts again say nothing; new counts replace them.
    assert_eq!(decoder.data(done.to_string().as_bytes()).unwrap(), vec![]);
    let second = decoder.data(later.to_string().as_bytes()).unwrap();
    assert!(matches!(second.as_slice(), [StreamEvent::Usage(u)] if u.completion_tokens == 2));
    assert_eq!(decoder.end().unwrap(), vec![]);
    // Counts seen before the finishing chunk are sent when it comes without any.
    let mut decoder = StreamDecoder::new();
    decoder
        .data(
            json!({"candidates": [{"content": {"parts": [{"text": "x"}]}}],
                     "usageMetadata": {"promptTokenCount": 3}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
    let last = decoder
        .data(
            json!({"candidates": [{"finishReason": "STOP"}]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    assert!(
        matches!(last.as_slice(), [StreamEvent::Finish(FinishReason::Stop), StreamEvent::Usage(u)]
        if u.prompt_tokens == 3)
    );
}

#[test]
fn cut_blocked_and_failed_streams_are_errors() {
    // Cut before a finish reason.
    let text = frame(json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}));
    assert_eq!(decode_all(text.as_bytes()), Err(StreamError::Truncated));
    assert_eq!(decode_all(b""), Err(StreamError::Truncated));
    // A blocked prompt in the first chunk.
    let blocked = frame(json!({"promptFeedback": {"blockReason": "SAFETY"}}));
    assert_eq!(
        decode_all(blocked.as_bytes()),
        Err(StreamError::Chunk(ResponseError::Blocked {
            reason: "SAFETY".into()
        }))
    );
    // An error object inside the stream.
    let failed = [
        text,
        frame(json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})),
    ]
    .concat();
    match decode_all(failed.as_bytes()) {
        Err(StreamError::Chunk(ResponseError::Upstream(error))) => {
            assert_eq!(
                (error.kind, error.http_status),
                (ErrorKind::Overloaded, 503)
            );
        }
        other => panic!("{other:?}"),
    }
    // Not JSON.
    assert!(matches!(
        decode_all(b"data: {nope\n\n"),
        Err(StreamError::Chunk(ResponseError::Malformed { .. }))
    ));
}

#[test]
fn sse_framing() {
    assert_eq!(sse_data(b"data: {}\r\n"), Some(b"{}".to_vec()));
    assert_eq!(
        sse_data(b": comment\nevent: x\ndata:{\"a\":\ndata: 1}"),
        Some(b"{\"a\":\n1}".to_vec())
    );
    assert_eq!(sse_data(b": keep-alive"), None);
    assert_eq!(
        split_events(b"a\r\n\r\nb\n\nc"),
        vec![&b"a"[..], b"b", b"c"]
    );
    assert_eq!(split_events(b""), Vec::<&[u8]>::new());
    // Comments and keep-alives between chunks change nothing.
    let body = [
        ": ping\n\n",
        std::str::from_utf8(fixture!("stream_text.sse")).unwrap(),
    ]
    .concat();
    assert_eq!(
        decode_all(body.as_bytes()),
        decode_all(fixture!("stream_text.sse"))
    );
}
