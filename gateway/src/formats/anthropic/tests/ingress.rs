//! Client request bytes -> ChatRequest, field by field.

use serde_json::{json, Value};

use crate::formats::anthropic::ingress::{parse_count_tokens, parse_request, IngressError};
use crate::llm::{
    CacheControl, ChatRequest, ImageSource, Part, Reasoning, ResponseFormat, Role, ToolChoice,
};

fn base() -> Value {
    json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

fn with(fields: Value) -> Value {
    let mut body = base();
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn parse(body: &Value) -> Result<ChatRequest, IngressError> {
    parse_request(body.to_string().as_bytes())
}

fn ok(body: &Value) -> ChatRequest {
    parse(body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn err(body: &Value) -> String {
    match parse(body) {
        Ok(r) => panic!("accepted {body}: {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_basic_fields_arrive() {
    let r = ok(&with(json!({
        "stop_sequences": ["END", "STOP"],
        "temperature": 0.3, "top_p": 0.9, "top_k": 40,
        "stream": true,
        "metadata": {"user_id": "u-123"}
    })));
    assert_eq!(r.model, "claude-sonnet-4-6");
    assert_eq!(r.max_tokens, Some(100));
    assert_eq!(r.stop, ["END", "STOP"]);
    assert_eq!(r.temperature, Some(0.3));
    assert_eq!(r.top_p, Some(0.9));
    assert_eq!(r.top_k, Some(40));
    assert!(r.stream);
    assert_eq!(r.user.as_deref(), Some("u-123"));
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].role, Role::User);
    assert_eq!(r.messages[0].content, [Part::text("Hi")]);
    let plain = ok(&base());
    assert!(!plain.stream);
    assert_eq!(plain.user, None);
    assert!(plain.stop.is_empty());
}

#[test]
fn the_system_prompt_is_a_string_or_text_blocks() {
    assert_eq!(
        ok(&with(json!({"system": "Be brief."}))).system,
        [Part::text("Be brief.")]
    );
    let r = ok(&with(json!({"system": [
        {"type": "text", "text": "One", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Two", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "Three"}
    ]})));
    assert_eq!(
        r.system,
        [
            Part::Text {
                text: "One".into(),
                cache: Some(CacheControl { ttl: None })
            },
            Part::Text {
                text: "Two".into(),
                cache: Some(CacheControl {
                    ttl: Some("1h".into())
                })
            },
            Part::text("Three"),
        ]
    );
    assert!(ok(&with(json!({"system": ""}))).system.is_empty());
    let e = err(&with(
        json!({"system": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}),
    ));
    assert!(e.contains("system.0"), "{e}");
    let e = err(&with(json!({"system": 5})));
    assert!(e.starts_with("system"), "{e}");
}

#[test]
fn max_tokens_is_required_except_for_counting() {
    let mut body = base();
    body.as_object_mut().unwrap().remove("max_tokens");
    assert_eq!(parse(&body), Err(IngressError::Missing("max_tokens")));
    assert_eq!(err(&body), "max_tokens: Field required");
    let counted = parse_count_tokens(body.to_string().as_bytes()).unwrap();
    assert_eq!(counted.max_tokens, None);
    assert_eq!(counted.messages.len(), 1);
}

#[test]
fn sampling_ranges_are_the_apis() {
    for (field, value, wanted) in [
        (
            "temperature",
            json!(1.5),
            Some("temperature: Input should be less than or equal to 1"),
        ),
        (
            "temperature",
            json!(-0.1),
            Some("temperature: Input should be greater than or equal to 0"),
        ),
        ("temperature", json!(1.0), None),
        ("temperature", json!(0), None),
        (
            "top_p",
            json!(1.01),
            Some("top_p: Input should be less than or equal to 1"),
        ),
        ("top_p", json!(0.5), None),
        ("top_k", json!(-1), Some("top_k")),
    ] {
        let body = with(json!({ field: value }));
        match wanted {
            Some(w) => assert!(err(&body).starts_with(w), "{body}: {}", err(&body)),
            None => {
                ok(&body);
            }
        }
    }
}

#[test]
fn tools_and_tool_choice() {
    let tools = json!([{
        "name": "get_weather", "description": "Weather.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        "cache_control": {"type": "ephemeral"}, "strict": true
    }]);
    let r = ok(&with(json!({"tools": tools})));
    assert_eq!(r.tools.len(), 1);
    let t = &r.tools[0];
    assert_eq!(t.name, "get_weather");
    assert_eq!(t.description.as_deref(), Some("Weather."));
    assert_eq!(t.parameters["properties"]["city"]["type"], "string");
    assert_eq!(t.strict, Some(true));
    assert_eq!(t.cache, Some(CacheControl::default()));
    assert_eq!(r.tool_choice, None);
    assert_eq!(r.parallel_tool_calls, None);

    let table = [
        (json!({"type": "auto"}), ToolChoice::Auto, None),
        (json!({"type": "any"}), ToolChoice::Required, None),
        (
            json!({"type": "tool", "name": "get_weather"}),
            ToolChoice::Tool("get_weather".into()),
            None,
        ),
        (json!({"type": "none"}), ToolChoice::None, None),
        (
            json!({"type": "auto", "disable_parallel_tool_use": true}),
            ToolChoice::Auto,
            Some(false),
        ),
        (
            json!({"type": "any", "disable_parallel_tool_use": false}),
            ToolChoice::Required,
            Some(true),
        ),
        (
            json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}),
            ToolChoice::Tool("get_weather".into()),
            Some(false),
        ),
    ];
    for (choice, wanted, parallel) in table {
        let r = ok(&with(json!({"tools": tools, "tool_choice": choice})));
        assert_eq!(r.tool_choice, Some(wanted), "{choice}");
        assert_eq!(r.parallel_tool_calls, parallel, "{choice}");
    }
    let e = err(&with(json!({"tools": tools, "tool_choice": "auto"})));
    assert!(e.starts_with("tool_choice"), "{e}");
    let e = err(&with(json!({"tool_choice": {"type": "sometimes"}})));
    assert!(e.starts_with("tool_choice"), "{e}");
}

#[test]
fn tools_the_gateway_cannot_carry_are_refused_by_name() {
    let e = err(&with(
        json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
    ));
    assert!(
        e.contains("web_search_20250305") && e.contains("not supported"),
        "{e}"
    );
    let e = err(&with(
        json!({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}),
    ));
    assert!(e.starts_with("tools.0.name"), "{e}");
    let e = err(&with(json!({"tools": [{"name": "x"}]})));
    assert!(e.starts_with("tools.0.input_schema"), "{e}");
    // `"type": "custom"` is a custom tool.
    ok(&with(
        json!({"tools": [{"type": "custom", "name": "x", "input_schema": {"type": "object"}}]}),
    ));
}

#[test]
fn content_blocks_become_parts() {
    let r = ok(&with(json!({"messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"},
             "cache_control": {"type": "ephemeral", "ttl": "5m"}},
            {"type": "text", "text": "What is this?"}
        ]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"q": 1}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found", "is_error": true},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                {"type": "text", "text": "a"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/b.png"}}
            ], "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": "toolu_3"}
        ]}
    ]})));
    let m = &r.messages;
    assert_eq!(
        m[0].content,
        [
            Part::Image {
                source: ImageSource::Base64 {
                    media_type: "image/png".into(),
                    data: "AAAA".into()
                },
                cache: None,
            },
            Part::Image {
                source: ImageSource::Url("https://example.com/a.png".into()),
                cache: Some(CacheControl {
                    ttl: Some("5m".into())
                }),
            },
            Part::text("What is this?"),
        ]
    );
    assert_eq!(m[1].role, Role::Assistant);
    assert_eq!(
        m[1].content,
        [
            Part::Thinking {
                text: "Hmm.".into(),
                signature: Some("sig".into())
            },
            Part::text("Checking."),
            Part::ToolCall {
                id: "toolu_1".into(),
                name: "look".into(),
                arguments: r#"{"q":1}"#.into()
            },
        ]
    );
    assert_eq!(
        m[2].content,
        [
            Part::ToolResult {
                call_id: "toolu_1".into(),
                content: vec![Part::text("found")],
                is_error: true,
                cache: None,
            },
            Part::ToolResult {
                call_id: "toolu_2".into(),
                content: vec![
                    Part::text("a"),
                    Part::Image {
                        source: ImageSource::Url("https://example.com/b.png".into()),
                        cache: None
                    },
                ],
                is_error: false,
                cache: Some(CacheControl::default()),
            },
            Part::ToolResult {
                call_id: "toolu_3".into(),
                content: vec![],
                is_error: false,
                cache: None
            },
        ]
    );
}

#[test]
fn blocks_in_the_wrong_place_or_unsupported_are_refused() {
    let table = [
        (json!({"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]}), "messages.0.content.0: `tool_use` blocks can only be in `assistant` messages"),
        (json!({"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}), "messages.0.content.0: `tool_result` blocks can only be in `user` messages"),
        (json!({"role": "user", "content": [{"type": "thinking", "thinking": "x", "signature": "s"}]}), "messages.0.content.0: `thinking` blocks can only be in `assistant` messages"),
        (json!({"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]}), "messages.0.content.0: a `document` block is not supported by this gateway"),
        (json!({"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}), "messages.0.content.0.source: an image from the Files API (`file_id`) is not supported by this gateway"),
        (json!({"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "x"}}]}), "messages.0.content.0.source.media_type"),
        (json!({"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "persistent"}}]}), "messages.0.content.0.type: Input should be 'ephemeral'"),
        (json!({"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}]}), "messages.0.content.0.ttl"),
        (json!({"role": "user", "content": [{"type": "video"}]}), "messages.0.content.0"),
        (json!({"role": "robot", "content": "x"}), "messages.0.role"),
        (json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": [1]}]}), "messages.0.content.0.input"),
    ];
    for (message, wanted) in table {
        let e = err(&with(json!({"messages": [message]})));
        assert!(e.starts_with(wanted), "{message}: got {e}");
    }
    let e = err(&with(json!({"messages": []})));
    assert_eq!(e, "messages: at least one message is required");
    let e = err(&with(json!({"model": ""})));
    assert!(e.starts_with("model"), "{e}");
}

#[test]
fn a_system_message_inside_messages_stays_a_turn() {
    let r = ok(&with(json!({"messages": [
        {"role": "user", "content": "a"},
        {"role": "system", "content": "Now be formal."},
        {"role": "user", "content": "b"}
    ]})));
    assert_eq!(r.messages[1].role, Role::System);
    assert_eq!(r.messages[1].content, [Part::text("Now be formal.")]);
}

#[test]
fn top_level_cache_control_marks_the_last_block() {
    let r = ok(&with(json!({
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}
        ]
    })));
    assert_eq!(r.messages[0].content, [Part::text("first")]);
    match &r.messages[2].content[0] {
        Part::ToolResult { cache, .. } => assert_eq!(
            cache,
            &Some(CacheControl {
                ttl: Some("1h".into())
            })
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn thinking_effort_and_output_format() {
    let r = ok(&with(
        json!({"max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 2048}}),
    ));
    assert_eq!(r.reasoning, Some(Reasoning::BudgetTokens(2048)));
    assert_eq!(
        ok(&with(json!({"thinking": {"type": "disabled"}}))).reasoning,
        None
    );
    assert_eq!(
        ok(&with(json!({"thinking": {"type": "adaptive"}}))).reasoning,
        None
    );
    let r = ok(&with(json!({"output_config": {"effort": "high"}})));
    assert_eq!(r.reasoning, Some(Reasoning::Effort("high".into())));
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let r = ok(&with(
        json!({"output_config": {"format": {"type": "json_schema", "schema": schema}}}),
    ));
    assert_eq!(
        r.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "output".into(),
            schema,
            strict: None
        })
    );
    let e = err(&with(json!({"thinking": {"type": "enabled"}})));
    assert!(e.starts_with("thinking"), "{e}");
}

#[test]
fn broken_bodies_are_clear_errors() {
    for (body, wanted) in [
        (
            &b"not json"[..],
            "There was an error parsing the body of your request",
        ),
        (
            &b"{\"model\": \"m\", \"max_tokens\": 5, \"messages\": []} trailing"[..],
            "trailing characters",
        ),
        (
            &b"[]"[..],
            "There was an error parsing the body of your request",
        ),
        (
            &b""[..],
            "There was an error parsing the body of your request",
        ),
        (&b"{\"model\": 5}"[..], "model:"),
        (
            &b"{\"model\": \"m\", \"max_tokens\": -1, \"messages\": []}"[..],
            "max_tokens:",
        ),
    ] {
        let e = parse_request(body).unwrap_err();
        assert!(
            e.to_string().starts_with(wanted),
            "{:?}: {e}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(e.kind().as_str(), "invalid_request_error");
    }
}
