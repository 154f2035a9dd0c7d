//! Whole answers: the recorded shapes in `tests/fixtures/gemini/`, and the
//! finish reason and usage tables.

use serde_json::json;

use super::*;
use crate::formats::gemini::error::ErrorKind;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/",
            $name
        ))
    };
}

fn tokens(prompt: u64, completion: u64, cached: u64, reasoning: u64) -> TokenUsage {
    TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_prompt_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: reasoning,
    }
}

#[test]
fn fixtures_read_as_the_gateways_answers() {
    let cases: Vec<(&[u8], ChatResponse)> = vec![
        (
            fixture!("response_text.json"),
            ChatResponse {
                id: "mTxkaN3fK9SqgLUP4O6x8Ao".into(),
                model: "gemini-2.5-flash".into(),
                content: vec![Part::text("Hello there!")],
                finish: FinishReason::Stop,
                usage: Some(tokens(9, 3, 0, 0)),
                created: None,
            },
        ),
        (
            fixture!("response_max_tokens.json"),
            ChatResponse {
                id: "mTxkaN3fK9SqgLUP4O6x8Ap".into(),
                model: "gemini-2.5-flash".into(),
                content: vec![Part::text("Hello")],
                finish: FinishReason::Length,
                usage: Some(tokens(9, 1, 0, 0)),
                created: None,
            },
        ),
        (
            fixture!("response_thinking_cached.json"),
            ChatResponse {
                id: "nDxkaK2fK9SqgLUP4O6x8Aq".into(),
                model: "gemini-2.5-pro".into(),
                content: vec![
                    Part::Thinking {
                        text: "The user wants a greeting.".into(),
                        signature: None,
                    },
                    Part::text("Hello there!"),
                ],
                finish: FinishReason::Stop,
                // 2100 prompt (2048 of them cached), 3 + 48 thought out.
                usage: Some(tokens(2100, 51, 2048, 48)),
                created: None,
            },
        ),
        (
            fixture!("response_function_call.json"),
            ChatResponse {
                id: "oDxkaK2fK9SqgLUP4O6x8Ar".into(),
                model: "gemini-2.5-flash".into(),
                content: vec![
                    Part::text("Let me check."),
                    Part::ToolCall {
                        id: "gcall_oDxkaK2fK9SqgLUP4O6x8Ar_0__ts__CiQBcsjafE2dNT4Dj1RtAXNzIC8x"
                            .into(),
                        name: "get_weather".into(),
                        arguments: r#"{"location":"Paris, France","unit":"celsius"}"#.into(),
                    },
                    Part::ToolCall {
                        id: "gcall_oDxkaK2fK9SqgLUP4O6x8Ar_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"location":"Lyon, France","unit":"celsius"}"#.into(),
                    },
                ],
                finish: FinishReason::ToolCalls,
                usage: Some(tokens(60, 90, 0, 60)),
                created: None,
            },
        ),
        (
            fixture!("response_safety.json"),
            ChatResponse {
                id: "qDxkaK2fK9SqgLUP4O6x8At".into(),
                model: "gemini-2.5-flash".into(),
                content: vec![],
                finish: FinishReason::ContentFilter,
                usage: Some(tokens(9, 0, 0, 0)),
                created: None,
            },
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), Ok(expected));
    }
}

#[test]
fn a_blocked_prompt_is_an_error_not_an_empty_answer() {
    assert_eq!(
        parse(fixture!("response_prompt_blocked.json")),
        Err(ResponseError::Blocked {
            reason: "SAFETY".into()
        })
    );
    let other = br#"{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}"#;
    assert_eq!(
        parse(other),
        Err(ResponseError::Blocked {
            reason: "PROHIBITED_CONTENT".into()
        })
    );
    let error = parse(other).unwrap_err().to_string();
    assert!(
        error.contains("blocked by Gemini's safety filters"),
        "{error}"
    );
}

#[test]
fn finish_reasons_map() {
    let cases = [
        (Some("STOP"), false, FinishReason::Stop),
        (Some("STOP"), true, FinishReason::ToolCalls),
        (Some("MAX_TOKENS"), true, FinishReason::Length),
        (Some("SAFETY"), false, FinishReason::ContentFilter),
        (Some("RECITATION"), false, FinishReason::ContentFilter),
        (Some("BLOCKLIST"), false, FinishReason::ContentFilter),
        (
            Some("PROHIBITED_CONTENT"),
            false,
            FinishReason::ContentFilter,
        ),
        (Some("SPII"), false, FinishReason::ContentFilter),
        (Some("IMAGE_SAFETY"), false, FinishReason::ContentFilter),
        (
            Some("MALFORMED_FUNCTION_CALL"),
            false,
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
        ),
        (
            Some("UNEXPECTED_TOOL_CALL"),
            false,
            FinishReason::Other("UNEXPECTED_TOOL_CALL".into()),
        ),
        (
            Some("LANGUAGE"),
            false,
            FinishReason::Other("LANGUAGE".into()),
        ),
        (Some("OTHER"), false, FinishReason::Other("OTHER".into())),
        (None, true, FinishReason::ToolCalls),
        (
            None,
            false,
            FinishReason::Other("FINISH_REASON_UNSPECIFIED".into()),
        ),
    ];
    for (reason, called, expected) in cases {
        assert_eq!(
            finish_reason(reason, called),
            expected,
            "{reason:?} {called}"
        );
    }
}

#[test]
fn usage_counts_each_token_once() {
    let meta = |v: serde_json::Value| -> UsageMetadata { serde_json::from_value(v).unwrap() };
    let cases = [
        (json!({}), tokens(0, 0, 0, 0)),
        (
            json!({"promptTokenCount": 10, "candidatesTokenCount": 5}),
            tokens(10, 5, 0, 0),
        ),
        (
            json!({"promptTokenCount": 100, "cachedContentTokenCount": 80, "candidatesTokenCount": 5,
                   "thoughtsTokenCount": 20, "totalTokenCount": 125}),
            tokens(100, 25, 80, 20),
        ),
        // Tool-use prompt tokens are input, counted apart from promptTokenCount.
        (
            json!({"promptTokenCount": 10, "toolUsePromptTokenCount": 7, "candidatesTokenCount": 1,
                   "totalTokenCount": 18}),
            tokens(17, 1, 0, 0),
        ),
        // An over-reported cache count is clamped to the prompt.
        (
            json!({"promptTokenCount": 5, "cachedContentTokenCount": 9}),
            tokens(5, 0, 5, 0),
        ),
        (
            json!({"promptTokenCount": u64::MAX, "toolUsePromptTokenCount": 1,
                   "candidatesTokenCount": u64::MAX, "thoughtsTokenCount": 2}),
            tokens(u64::MAX, u64::MAX, 0, 2),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(usage(&meta(input.clone())), expected, "{input}");
    }
}

#[test]
fn odd_answers_are_clear_errors() {
    type Check = fn(&ResponseError) -> bool;
    let cases: Vec<(&[u8], Check)> = vec![
        (b"", |e| matches!(e, ResponseError::Malformed { .. })),
        (b"{\"candidates\": [", |e| {
            matches!(e, ResponseError::Malformed { .. })
        }),
        (b"[]", |e| matches!(e, ResponseError::Malformed { .. })),
        (br#"{"candidates": "no"}"#, |e| {
            matches!(e, ResponseError::Malformed { .. })
        }),
        (b"{}", |e| *e == ResponseError::NoCandidate),
        (br#"{"candidates": [{"index": 1}]}"#, |e| {
            *e == ResponseError::NoCandidate
        }),
        (
            fixture!("error_unavailable.json"),
            |e| matches!(e, ResponseError::Upstream(u) if u.kind == ErrorKind::Overloaded && u.retryable()),
        ),
    ];
    for (body, check) in cases {
        let error = parse(body).unwrap_err();
        assert!(
            check(&error),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn malformed_errors_do_not_quote_the_body() {
    let error = parse(br#"{"candidates": [{"content": {"parts": [{"text": 5}]}}], "x": "SECRET"}"#)
        .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("SECRET"));
    let error = parse(br#"{"usageMetadata": {"promptTokenCount": "SECRET"}}"#).unwrap_err();
    assert!(
        !format!("{error} {error:?}").contains("SECRET"),
        "{error:?}"
    );
}

#[test]
fn odd_but_valid_parts_read_sensibly() {
    let body = json!({
        "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "a"}, {"text": ""}, {"text": "b"},
            {"functionCall": {"id": "fc_9", "name": "now"}},
            {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        ]}}],
    });
    let answer = parse(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        answer.content,
        vec![
            Part::text("ab"),
            Part::ToolCall {
                id: "fc_9".into(),
                name: "now".into(),
                arguments: "{}".into()
            },
            Part::Image {
                source: ImageSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBO".into()
                },
                cache: None,
            },
        ]
    );
    assert_eq!(answer.finish, FinishReason::ToolCalls);
    assert_eq!((answer.id.as_str(), answer.usage), ("", None));
}

#[test]
fn count_tokens_answers() {
    assert_eq!(
        parse_count_tokens(fixture!("response_count_tokens.json")),
        Ok(7)
    );
    assert_eq!(
        parse_count_tokens(br#"{"totalTokens": 12, "cachedContentTokenCount": 4}"#),
        Ok(12)
    );
    assert!(matches!(
        parse_count_tokens(b"nope"),
        Err(ResponseError::Malformed { .. })
    ));
    assert!(matches!(
        parse_count_tokens(fixture!("error_resource_exhausted.json")),
        Err(ResponseError::Upstream(_))
    ));
}

#[test]
fn error_fixtures_classify() {
    let cases: [(&[u8], u16, ErrorKind); 7] = [
        (fixture!("error_api_key_invalid.json"), 400, ErrorKind::Auth),
        (fixture!("error_internal.json"), 500, ErrorKind::Internal),
        (
            fixture!("error_invalid_argument.json"),
            400,
            ErrorKind::InvalidRequest,
        ),
        (
            fixture!("error_invalid_request.json"),
            400,
            ErrorKind::InvalidRequest,
        ),
        (
            fixture!("error_permission_denied.json"),
            403,
            ErrorKind::Auth,
        ),
        (
            fixture!("error_resource_exhausted.json"),
            429,
            ErrorKind::RateLimited,
        ),
        (
            fixture!("error_unavailable.json"),
            503,
            ErrorKind::Overloaded,
        ),
    ];
    for (body, status, kind) in cases {
        let error = crate::formats::gemini::error::classify(status, body);
        assert_eq!(error.kind, kind, "{}", String::from_utf8_lossy(body));
        assert!(error.message.is_some());
    }
    let limited =
        crate::formats::gemini::error::classify(429, fixture!("error_resource_exhausted.json"));
    assert_eq!(
        limited.retry_after,
        Some(std::time::Duration::from_secs(31))
    );
}
