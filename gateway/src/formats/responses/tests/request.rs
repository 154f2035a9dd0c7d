//! The request translator, field by field, and its round trip through the
//! egress renderer.

use serde_json::{json, Value};

use crate::formats::responses::egress;
use crate::formats::responses::error::RequestError;
use crate::formats::responses::request::{parse, Parsed};
use crate::llm::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

fn parsed(body: Value) -> Parsed {
    match parse(body.to_string().as_bytes()) {
        Ok(parsed) => parsed,
        Err(error) => panic!("{body} was refused: {error:?}"),
    }
}

fn chat(body: Value) -> ChatRequest {
    parsed(body).chat
}

fn refused(body: Value) -> RequestError {
    match parse(body.to_string().as_bytes()) {
        Ok(parsed) => panic!("{body} was accepted: {parsed:?}"),
        Err(error) => error,
    }
}

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::text(text)],
    }
}

fn base(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-5.4", "input": "hi"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

#[test]
fn string_input_is_one_user_turn_and_instructions_are_the_system_prompt() {
    let chat =
        chat(json!({"model": "gpt-5.4", "input": "Say hello.", "instructions": "Be brief."}));
    assert_eq!(chat.model, "gpt-5.4");
    assert_eq!(chat.system, vec![Part::text("Be brief.")]);
    assert_eq!(chat.messages, vec![user("Say hello.")]);
}

/// What must hold of the translated request.
type Holds = Box<dyn Fn(&ChatRequest) -> bool>;

#[test]
fn each_setting_maps_to_its_field() {
    let table: Vec<(Value, Holds)> = vec![
        (
            json!({"max_output_tokens": 256}),
            Box::new(|c| c.max_tokens == Some(256)),
        ),
        (
            json!({"temperature": 0.25}),
            Box::new(|c| c.temperature == Some(0.25)),
        ),
        (json!({"top_p": 0.5}), Box::new(|c| c.top_p == Some(0.5))),
        (json!({"stream": true}), Box::new(|c| c.stream)),
        (json!({"stream": null}), Box::new(|c| !c.stream)),
        (
            json!({"parallel_tool_calls": false}),
            Box::new(|c| c.parallel_tool_calls == Some(false)),
        ),
        (
            json!({"user": "u-1"}),
            Box::new(|c| c.user.as_deref() == Some("u-1")),
        ),
        (
            json!({"safety_identifier": "s-1", "user": "u-1"}),
            Box::new(|c| c.user.as_deref() == Some("s-1")),
        ),
        (
            json!({"reasoning": {"effort": "low"}}),
            Box::new(|c| c.reasoning == Some(Reasoning::Effort("low".into()))),
        ),
        (
            json!({"reasoning": {"summary": "auto"}}),
            Box::new(|c| c.reasoning.is_none()),
        ),
        (
            json!({"tool_choice": "auto"}),
            Box::new(|c| c.tool_choice == Some(ToolChoice::Auto)),
        ),
        (
            json!({"tool_choice": "none"}),
            Box::new(|c| c.tool_choice == Some(ToolChoice::None)),
        ),
        (
            json!({"tool_choice": "required"}),
            Box::new(|c| c.tool_choice == Some(ToolChoice::Required)),
        ),
        (
            json!({"tool_choice": {"type": "function", "name": "f"}}),
            Box::new(|c| c.tool_choice == Some(ToolChoice::Tool("f".into()))),
        ),
        (
            json!({"text": {"format": {"type": "text"}}}),
            Box::new(|c| c.response_format == Some(ResponseFormat::Text)),
        ),
        (
            json!({"text": {"format": {"type": "json_object"}}}),
            Box::new(|c| c.response_format == Some(ResponseFormat::JsonObject)),
        ),
        (
            json!({"text": {"verbosity": "low"}}),
            Box::new(|c| c.response_format.is_none()),
        ),
        (
            json!({"text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}}}),
            Box::new(|c| {
                c.response_format
                    == Some(ResponseFormat::JsonSchema {
                        name: "answer".into(),
                        schema: json!({"type": "object"}),
                        strict: Some(true),
                    })
            }),
        ),
        (
            json!({"metadata": {"k": "v"}, "include": ["reasoning.encrypted_content"], "store": false, "prompt_cache_key": "p", "service_tier": "auto", "truncation": "disabled", "max_tool_calls": 3, "top_logprobs": 0, "stream_options": {"include_obfuscation": false}}),
            Box::new(|c| c.messages == vec![user("hi")]),
        ),
    ];
    for (extra, holds) in table {
        let body = base(extra.clone());
        assert!(holds(&chat(body)), "{extra} did not map");
    }
}

#[test]
fn function_tools_are_translated_and_other_tools_refused() {
    let chat = chat(base(json!({"tools": [
        {"type": "function", "name": "get_weather", "description": "Weather.", "parameters": {"type": "object"}, "strict": true},
        {"type": "function", "name": "bare"}
    ]})));
    assert_eq!(
        chat.tools,
        vec![
            Tool {
                name: "get_weather".into(),
                description: Some("Weather.".into()),
                parameters: json!({"type": "object"}),
                strict: Some(true),
                cache: None
            },
            Tool {
                name: "bare".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
                strict: None,
                cache: None
            },
        ]
    );
    for (tool, param) in [
        (json!({"type": "web_search"}), "tools[0].type"),
        (
            json!({"type": "file_search", "vector_store_ids": []}),
            "tools[0].type",
        ),
        (json!({"type": "function"}), "tools[0].name"),
    ] {
        let error = refused(base(json!({"tools": [tool]})));
        assert_eq!(error.param(), Some(param), "{error:?}");
        assert_eq!(error.status(), 400);
    }
    assert!(matches!(
        refused(base(json!({"tools": [{"type": "web_search"}]}))),
        RequestError::Unsupported { .. }
    ));
    let error = refused(base(json!({"tool_choice": {"type": "file_search"}})));
    assert!(
        matches!(error, RequestError::Unsupported { .. }),
        "{error:?}"
    );
    assert_eq!(
        refused(base(json!({"tool_choice": "always"}))).param(),
        Some("tool_choice")
    );
}

#[test]
fn input_items_become_turns() {
    let chat = chat(json!({"model": "m", "input": [
        {"role": "developer", "content": "You are terse."},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "high"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
        ]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Look."}], "encrypted_content": "sig"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "A cat.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "look", "arguments": "{}"},
        {"type": "function_call", "call_id": "call_2", "name": "look", "arguments": "{\"x\":1}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "cat"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "dog"}]},
        {"role": "system", "content": "Now be kind."},
        {"role": "user", "content": "Thanks"}
    ]}));
    assert_eq!(chat.system, vec![Part::text("You are terse.")]);
    assert_eq!(
        chat.messages,
        vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::text("What is this?"),
                    Part::Image {
                        source: ImageSource::Url("https://example.com/a.png".into()),
                        cache: None
                    },
                    Part::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "AAAA".into()
                        },
                        cache: None
                    },
                ]
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "Look.".into(),
                        signature: Some("sig".into())
                    },
                    Part::text("A cat."),
                    Part::ToolCall {
                        id: "call_1".into(),
                        name: "look".into(),
                        arguments: "{}".into()
                    },
                    Part::ToolCall {
                        id: "call_2".into(),
                        name: "look".into(),
                        arguments: "{\"x\":1}".into()
                    },
                ]
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult {
                        call_id: "call_1".into(),
                        content: vec![Part::text("cat")],
                        is_error: false,
                        cache: None
                    },
                    Part::ToolResult {
                        call_id: "call_2".into(),
                        content: vec![Part::text("dog")],
                        is_error: false,
                        cache: None
                    },
                ]
            },
            Message {
                role: Role::System,
                content: vec![Part::text("Now be kind.")]
            },
            user("Thanks"),
        ]
    );
}

#[test]
fn reasoning_text_content_wins_over_the_summary() {
    let chat = chat(json!({"model": "m", "input": [
        {"role": "user", "content": "q"},
        {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "short"}], "content": [{"type": "reasoning_text", "text": "long thought"}]},
        {"type": "reasoning", "id": "rs2", "summary": []}
    ]}));
    assert_eq!(
        chat.messages[1].content,
        vec![Part::Thinking {
            text: "long thought".into(),
            signature: None
        }]
    );
}

#[test]
fn bad_requests_are_refused_with_the_param_at_fault() {
    let table = [
        (
            json!({"model": "m", "input": "hi", "messages": []}),
            "messages",
            Some("unknown_parameter"),
        ),
        (
            json!({"input": "hi"}),
            "model",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m"}),
            "input",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": 5, "input": "hi"}),
            "model",
            Some("invalid_type"),
        ),
        (
            json!({"model": "m", "input": 5}),
            "input",
            Some("invalid_type"),
        ),
        (
            json!({"model": "m", "input": "hi", "temperature": 2.5}),
            "temperature",
            Some("decimal_above_max_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "temperature": -1}),
            "temperature",
            Some("decimal_below_min_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "top_p": 1.5}),
            "top_p",
            Some("decimal_above_max_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "max_output_tokens": 8}),
            "max_output_tokens",
            Some("integer_below_min_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "max_output_tokens": -1}),
            "max_output_tokens",
            Some("invalid_type"),
        ),
        (
            json!({"model": "m", "input": "hi", "reasoning": {"effort": "huge"}}),
            "reasoning.effort",
            Some("invalid_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "text": {"format": {"type": "xml"}}}),
            "text.format.type",
            Some("invalid_value"),
        ),
        (
            json!({"model": "m", "input": "hi", "text": {"format": {"type": "json_schema", "schema": {}}}}),
            "text.format.name",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": "hi", "text": {"format": {"type": "json_schema", "name": "n"}}}),
            "text.format.schema",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
            "input[0].role",
            Some("invalid_value"),
        ),
        (
            json!({"model": "m", "input": [{"content": "x"}]}),
            "input[0].role",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"role": "user"}]}),
            "input[0].content",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}),
            "input[0].content[0].type",
            Some("invalid_value"),
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]}),
            "input[0].content[0].text",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}),
            "input[0].call_id",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}),
            "input",
            Some("invalid_value"),
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}, {"type": "function_call_output", "call_id": "c"}]}),
            "input[1].output",
            Some("missing_required_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
            "input[0].content[0].type",
            Some("unsupported_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}),
            "input[0].content[0].file_id",
            Some("unsupported_parameter"),
        ),
        (
            json!({"model": "m", "input": [{"type": "web_search_call", "id": "w"}]}),
            "input[0].type",
            Some("unsupported_parameter"),
        ),
    ];
    for (body, param, code) in table {
        let error = refused(body.clone());
        assert_eq!(
            (error.param(), error.code()),
            (Some(param), code),
            "{body}: {error:?}"
        );
        let rendered: Value = serde_json::from_slice(&error.body()).unwrap_or_default();
        assert_eq!(rendered["error"]["param"], param, "{rendered}");
        assert_eq!(rendered["error"]["type"], "invalid_request_error");
        assert!(rendered["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn broken_json_is_invalid_json() {
    for body in [
        &b"{"[..],
        b"not json",
        b"{\"model\":\"m\",\"input\":\"hi\"} trailing",
        b"",
    ] {
        assert!(
            matches!(parse(body), Err(RequestError::InvalidJson(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn stateful_requests_are_set_aside_for_the_route() {
    let table = [
        (
            json!({"previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (json!({"conversation": "conv_1"}), "conversation"),
        (json!({"background": true}), "background"),
        (json!({"prompt": {"id": "pmpt_1"}}), "prompt"),
        (
            json!({"input": [{"type": "item_reference", "id": "msg_1"}]}),
            "input[0].type",
        ),
    ];
    for (extra, param) in table {
        let parsed = parsed(base(extra.clone()));
        let error = parsed.require_stateless().err();
        assert!(
            matches!(&error, Some(RequestError::NeedsState { param: p, .. }) if p == param),
            "{extra}: {error:?}"
        );
        assert_eq!(
            error.and_then(|e| e.code()),
            Some("unsupported_stateful_request")
        );
    }
    // A tool output answering a stored call is fine once state is allowed.
    let parsed = parsed(json!({"model": "m", "previous_response_id": "resp_1",
        "input": [{"type": "function_call_output", "call_id": "call_stored", "output": "ok"}]}));
    assert!(parsed.require_stateless().is_err());
    assert_eq!(parsed.chat.messages.len(), 1);
    // `prompt` alone stands in for `input`.
    assert!(parse(
        json!({"model": "m", "prompt": {"id": "p"}})
            .to_string()
            .as_bytes()
    )
    .is_ok());
    for extra in [
        json!({}),
        json!({"store": false}),
        json!({"store": null}),
        // Nothing is stored, and nothing later needs it.
        json!({"store": true}),
        json!({"background": false}),
    ] {
        assert!(parsed_ok(base(extra.clone())), "{extra}");
    }
}

fn parsed_ok(body: Value) -> bool {
    parsed(body).require_stateless().is_ok()
}

#[test]
fn the_settings_keep_everything_but_the_input() {
    let body = base(
        json!({"metadata": {"a": "b"}, "instructions": "x", "tools": [{"type": "function", "name": "f"}]}),
    );
    let settings = parsed(body).settings;
    assert!(settings.input.is_none());
    assert_eq!(settings.instructions.as_deref(), Some("x"));
    assert_eq!(settings.metadata.map(|m| m.len()), Some(1));
    assert_eq!(settings.tools.map(|t| t.len()), Some(1));
}

/// Responses -> llm -> Responses -> llm gives the same llm request.
#[test]
fn requests_round_trip_through_the_egress_renderer() {
    let bodies = [
        json!({"model": "m", "input": "hi", "instructions": "Be brief.", "max_output_tokens": 64, "temperature": 0.5, "top_p": 0.9, "stream": true, "parallel_tool_calls": false, "safety_identifier": "u", "reasoning": {"effort": "high"}, "text": {"format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}, "strict": true}}, "tool_choice": {"type": "function", "name": "f"}, "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": false}]}),
        json!({"model": "m", "input": [
            {"role": "system", "content": [{"type": "input_text", "text": "one"}, {"type": "input_text", "text": "two"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "q"}, {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/"}]},
            {"type": "reasoning", "id": "rs", "summary": [], "content": [{"type": "reasoning_text", "text": "t"}], "encrypted_content": "enc"},
            {"role": "assistant", "content": "a"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "r1"}, {"type": "input_image", "image_url": "https://x/y.png"}]},
            {"role": "developer", "content": "later"},
            {"role": "user", "content": "more"}
        ], "tool_choice": "required", "text": {"format": {"type": "json_object"}}}),
        super::fixtures::json("request_text.json"),
        super::fixtures::json("request_tool_round_trip.json"),
    ];
    for body in bodies {
        let first = chat(body.clone());
        let rendered = egress::request(&first);
        assert_eq!(rendered.store, Some(false));
        let bytes = serde_json::to_vec(&rendered).unwrap_or_default();
        let again = match parse(&bytes) {
            Ok(parsed) => parsed.chat,
            Err(error) => panic!(
                "the rendered request was refused: {error:?}\n{}",
                String::from_utf8_lossy(&bytes)
            ),
        };
        assert_eq!(first, again, "{body}");
    }
}

#[test]
fn the_fixture_requests_translate() {
    let text = chat(super::fixtures::json("request_text.json"));
    assert_eq!(
        text.system,
        vec![Part::text("You answer in one short sentence.")]
    );
    assert_eq!(text.messages, vec![user("Say hello.")]);
    assert_eq!(text.max_tokens, Some(256));
    let tools = parsed(super::fixtures::json("request_tool_round_trip.json"));
    let chat = &tools.chat;
    assert!(chat.stream);
    assert_eq!(
        chat.system,
        vec![Part::text("You are a weather assistant.")]
    );
    assert_eq!(chat.tools.len(), 1);
    assert_eq!(chat.tools[0].strict, Some(true));
    assert_eq!(chat.reasoning, Some(Reasoning::Effort("low".into())));
    assert_eq!(chat.messages.len(), 3);
    assert!(
        matches!(&chat.messages[1].content[..], [Part::ToolCall { id, .. }] if id == "call_Kp2rVq8dN3xS")
    );
    assert!(
        matches!(&chat.messages[2].content[..], [Part::ToolResult { call_id, .. }] if call_id == "call_Kp2rVq8dN3xS")
    );
    assert!(tools.require_stateless().is_ok());
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    for body in [&br#"["gpt-x", "hi"]"#[..], b"  [1]", b"\"hi\"", b"42"] {
        let error = crate::formats::responses::request::parse(body).unwrap_err();
        assert_eq!(error.status(), 400, "{error:?}");
    }
}
