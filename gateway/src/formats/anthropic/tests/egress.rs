//! ChatRequest -> Anthropic request body, field by field; every body that is
//! produced must pass the mock provider's checks (the real API's rules).

use serde_json::{json, Value};

use super::judged;
use crate::formats::anthropic::egress::{parse_response, to_request, EgressError, EgressPlan};
use crate::llm::{
    CacheControl, ChatRequest, FinishReason, ImageSource, Message, Part, Reasoning, ResponseFormat,
    Role, Tool, ToolChoice,
};

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::text(text)],
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-6".into(),
        messages: vec![user("Hi")],
        ..ChatRequest::default()
    }
}

fn weather() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Weather at a place.".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        strict: None,
        cache: None,
    }
}

fn call(id: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
    }
}

fn result(id: &str, text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::ToolResult {
            call_id: id.into(),
            content: vec![Part::text(text)],
            is_error: false,
            cache: None,
        }],
    }
}

fn body(r: &ChatRequest) -> Value {
    let (body, _) = to_request(r, 4096).unwrap_or_else(|e| panic!("{e}"));
    judged(&body)
}

#[test]
fn max_tokens_comes_from_the_client_or_the_catalog() {
    assert_eq!(body(&request())["max_tokens"], 4096);
    let r = ChatRequest {
        max_tokens: Some(77),
        ..request()
    };
    assert_eq!(body(&r)["max_tokens"], 77);
}

#[test]
fn plain_fields_and_what_is_dropped() {
    let r = ChatRequest {
        stop: vec!["END".into()],
        temperature: Some(0.5),
        top_p: Some(0.8),
        top_k: Some(20),
        stream: true,
        user: Some("u-1".into()),
        seed: Some(7),
        presence_penalty: Some(0.4),
        frequency_penalty: Some(0.2),
        n: Some(1),
        ..request()
    };
    let b = body(&r);
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["temperature"], 0.5);
    assert_eq!(b["top_p"], 0.8);
    assert_eq!(b["top_k"], 20);
    assert_eq!(b["stream"], true);
    assert_eq!(b["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(b["messages"], json!([{"role": "user", "content": "Hi"}]));
    for dropped in [
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "user",
        "system",
        "tools",
        "tool_choice",
        "thinking",
    ] {
        assert!(b.get(dropped).is_none(), "{dropped} in {b}");
    }
    // Defaults stay unsaid.
    let b = body(&request());
    for absent in ["stop_sequences", "stream", "temperature", "metadata"] {
        assert!(b.get(absent).is_none(), "{absent} in {b}");
    }
}

#[test]
fn out_of_range_and_openai_only_values_are_refused() {
    let table = [
        (
            ChatRequest {
                temperature: Some(1.5),
                ..request()
            },
            EgressError::Temperature(1.5),
        ),
        (
            ChatRequest {
                temperature: Some(-0.5),
                ..request()
            },
            EgressError::Temperature(-0.5),
        ),
        (
            ChatRequest {
                top_p: Some(1.2),
                ..request()
            },
            EgressError::TopP(1.2),
        ),
        (
            ChatRequest {
                n: Some(3),
                ..request()
            },
            EgressError::MultipleChoices(3),
        ),
    ];
    for (r, wanted) in table {
        assert_eq!(to_request(&r, 4096).unwrap_err(), wanted);
    }
    assert!(to_request(
        &ChatRequest {
            temperature: Some(f64::NAN),
            ..request()
        },
        4096
    )
    .is_err());
    // The edges are Anthropic's own.
    body(&ChatRequest {
        temperature: Some(1.0),
        top_p: Some(0.0),
        ..request()
    });
    assert_eq!(
        EgressError::Temperature(1.5).to_string(),
        "temperature 1.5 is outside Anthropic's range 0 to 1"
    );
}

#[test]
fn system_text_is_kept_apart_and_later_system_turns_join_it() {
    let r = ChatRequest {
        system: vec![Part::Text {
            text: "Rules.".into(),
            cache: Some(CacheControl::default()),
        }],
        messages: vec![
            user("a"),
            Message {
                role: Role::System,
                content: vec![Part::text("Be formal.")],
            },
            user("b"),
        ],
        ..request()
    };
    let b = body(&r);
    assert_eq!(
        b["system"],
        json!([
            {"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be formal."}
        ])
    );
    // The two user turns around the system turn become one.
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])
    );
    let b = body(&ChatRequest {
        system: vec![Part::text("Only.")],
        ..request()
    });
    assert_eq!(b["system"], "Only.");
    let r = ChatRequest {
        system: vec![Part::Image {
            source: ImageSource::Url("https://x/y.png".into()),
            cache: None,
        }],
        ..request()
    };
    assert_eq!(to_request(&r, 10).unwrap_err(), EgressError::SystemContent);
}

#[test]
fn openai_style_tool_turns_merge_and_match() {
    // As OpenAI chat has it: one assistant message with two calls, one `tool`
    // message per result, then the user's next words.
    let r = ChatRequest {
        tools: vec![weather()],
        messages: vec![
            user("Weather in Paris and Rome?"),
            Message {
                role: Role::Assistant,
                content: vec![Part::text(""), call("call_1"), call("call_2")],
            },
            result("call_1", "15C"),
            result("call_2", "20C"),
            user("Thanks; which is warmer?"),
        ],
        ..request()
    };
    let b = body(&r);
    assert_eq!(
        b["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "15C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "20C"},
                {"type": "text", "text": "Thanks; which is warmer?"}
            ]}
        ])
    );
    assert_eq!(b["tools"][0]["input_schema"], weather().parameters);
    assert_eq!(b["tools"][0]["description"], "Weather at a place.");
}

#[test]
fn tool_results_come_first_in_their_turn() {
    let r = ChatRequest {
        tools: vec![weather()],
        messages: vec![
            user("Go"),
            Message {
                role: Role::Assistant,
                content: vec![call("c1")],
            },
            user("(note)"),
            result("c1", "done"),
        ],
        ..request()
    };
    let b = body(&r);
    assert_eq!(b["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(b["messages"][2]["content"][1]["text"], "(note)");
}

#[test]
fn a_tool_result_without_its_call_is_an_error() {
    let r = ChatRequest {
        tools: vec![weather()],
        messages: vec![user("Go"), result("call_9", "x")],
        ..request()
    };
    assert_eq!(
        to_request(&r, 100).unwrap_err(),
        EgressError::UnmatchedToolResult("call_9".into())
    );
    // A call two turns back does not count.
    let r = ChatRequest {
        tools: vec![weather()],
        messages: vec![
            user("Go"),
            Message {
                role: Role::Assistant,
                content: vec![call("c1")],
            },
            result("c1", "x"),
            Message {
                role: Role::Assistant,
                content: vec![Part::text("ok")],
            },
            result("c1", "again"),
        ],
        ..request()
    };
    assert_eq!(
        to_request(&r, 100).unwrap_err(),
        EgressError::UnmatchedToolResult("c1".into())
    );
}

#[test]
fn tool_arguments_must_be_a_json_object() {
    for (arguments, wanted) in [
        ("", Ok(json!({}))),
        ("  ", Ok(json!({}))),
        ("{\"a\":[1]}", Ok(json!({"a": [1]}))),
        ("[1]", Err(())),
        ("{oops", Err(())),
    ] {
        let r = ChatRequest {
            tools: vec![weather()],
            messages: vec![
                user("Go"),
                Message {
                    role: Role::Assistant,
                    content: vec![Part::ToolCall {
                        id: "c".into(),
                        name: "get_weather".into(),
                        arguments: arguments.into(),
                    }],
                },
                result("c", "r"),
            ],
            ..request()
        };
        match wanted {
            Ok(input) => assert_eq!(
                body(&r)["messages"][1]["content"][0]["input"],
                input,
                "{arguments}"
            ),
            Err(()) => assert_eq!(
                to_request(&r, 100).unwrap_err(),
                EgressError::ToolArguments("c".into())
            ),
        }
    }
}

#[test]
fn tool_choice_and_parallel_calls() {
    let table = [
        (None, None, None),
        (Some(ToolChoice::Auto), None, Some(json!({"type": "auto"}))),
        (
            Some(ToolChoice::Required),
            None,
            Some(json!({"type": "any"})),
        ),
        (Some(ToolChoice::None), None, Some(json!({"type": "none"}))),
        (
            Some(ToolChoice::Tool("get_weather".into())),
            None,
            Some(json!({"type": "tool", "name": "get_weather"})),
        ),
        (
            None,
            Some(false),
            Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
        ),
        (
            Some(ToolChoice::Required),
            Some(false),
            Some(json!({"type": "any", "disable_parallel_tool_use": true})),
        ),
        (
            Some(ToolChoice::Auto),
            Some(true),
            Some(json!({"type": "auto", "disable_parallel_tool_use": false})),
        ),
    ];
    for (choice, parallel, wanted) in table {
        let r = ChatRequest {
            tools: vec![weather()],
            tool_choice: choice.clone(),
            parallel_tool_calls: parallel,
            ..request()
        };
        let b = body(&r);
        assert_eq!(
            b.get("tool_choice").cloned(),
            wanted,
            "{choice:?} {parallel:?}"
        );
    }
    // Without tools there is nothing to choose (OpenAI allows `none` alone;
    // Anthropic does not want tool_choice without tools).
    let r = ChatRequest {
        tool_choice: Some(ToolChoice::None),
        parallel_tool_calls: Some(false),
        ..request()
    };
    assert!(body(&r).get("tool_choice").is_none());
}

#[test]
fn images_from_urls_and_data_urls() {
    let image = |url: &str| ChatRequest {
        messages: vec![Message {
            role: Role::User,
            content: vec![
                Part::Image {
                    source: ImageSource::Url(url.into()),
                    cache: Some(CacheControl {
                        ttl: Some("1h".into()),
                    }),
                },
                Part::text("What?"),
            ],
        }],
        ..request()
    };
    let b = body(&image("data:image/png;base64,iVBORw0KGgo="));
    assert_eq!(
        b["messages"][0]["content"][0],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
               "cache_control": {"type": "ephemeral", "ttl": "1h"}})
    );
    let b = body(&image("https://example.com/cat.jpg"));
    assert_eq!(
        b["messages"][0]["content"][0]["source"],
        json!({"type": "url", "url": "https://example.com/cat.jpg"})
    );
    for bad in [
        "data:image/png,rawbytes",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "ftp://x/y.png",
        "data:nothing",
    ] {
        assert!(
            matches!(to_request(&image(bad), 100), Err(EgressError::Image(_))),
            "{bad}"
        );
    }
    let b = body(&ChatRequest {
        messages: vec![Message {
            role: Role::User,
            content: vec![Part::Image {
                source: ImageSource::Base64 {
                    media_type: "image/webp".into(),
                    data: "UklGRg==".into(),
                },
                cache: None,
            }],
        }],
        ..request()
    });
    assert_eq!(
        b["messages"][0]["content"][0]["source"]["media_type"],
        "image/webp"
    );
}

#[test]
fn cache_control_passes_through_every_block() {
    let cached = Some(CacheControl::default());
    let r = ChatRequest {
        tools: vec![Tool {
            cache: cached.clone(),
            ..weather()
        }],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![Part::Text {
                    text: "Long doc".into(),
                    cache: cached.clone(),
                }],
            },
            Message {
                role: Role::Assistant,
                content: vec![call("c1")],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "c1".into(),
                    content: vec![Part::Text {
                        text: "r".into(),
                        cache: None,
                    }],
                    is_error: true,
                    cache: Some(CacheControl {
                        ttl: Some("5m".into()),
                    }),
                }],
            },
        ],
        ..request()
    };
    let b = body(&r);
    assert_eq!(b["tools"][0]["cache_control"], json!({"type": "ephemeral"}));
    assert_eq!(
        b["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        b["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "c1", "content": "r", "is_error": true,
               "cache_control": {"type": "ephemeral", "ttl": "5m"}})
    );
}

#[test]
fn thinking_from_a_budget_or_an_effort() {
    let r = ChatRequest {
        max_tokens: Some(8000),
        reasoning: Some(Reasoning::BudgetTokens(2000)),
        ..request()
    };
    assert_eq!(
        body(&r)["thinking"],
        json!({"type": "enabled", "budget_tokens": 2000})
    );
    for (budget, max) in [(500, 8000), (8000, 8000)] {
        let r = ChatRequest {
            max_tokens: Some(max),
            reasoning: Some(Reasoning::BudgetTokens(budget)),
            ..request()
        };
        assert_eq!(
            to_request(&r, 0).unwrap_err(),
            EgressError::ThinkingBudget {
                budget,
                max_tokens: max
            }
        );
    }
    assert!(body(&ChatRequest {
        reasoning: Some(Reasoning::BudgetTokens(0)),
        ..request()
    })
    .get("thinking")
    .is_none());
    for (effort, max, wanted) in [
        ("low", 10_000, Some(2048)),
        ("medium", 10_000, Some(8192)),
        ("high", 10_000, Some(9999)),
        ("minimal", 10_000, Some(1024)),
        ("high", 1000, None),
        ("none", 10_000, None),
    ] {
        let r = ChatRequest {
            max_tokens: Some(max),
            reasoning: Some(Reasoning::Effort(effort.into())),
            ..request()
        };
        let b = body(&r);
        assert_eq!(
            b["thinking"]["budget_tokens"].as_u64(),
            wanted,
            "{effort} {max}"
        );
    }
    let thinking = ChatRequest {
        max_tokens: Some(8000),
        reasoning: Some(Reasoning::BudgetTokens(2000)),
        ..request()
    };
    let r = ChatRequest {
        temperature: Some(0.2),
        ..thinking.clone()
    };
    assert!(matches!(
        to_request(&r, 0),
        Err(EgressError::WithThinking(_))
    ));
    let r = ChatRequest {
        top_k: Some(5),
        ..thinking.clone()
    };
    assert!(matches!(
        to_request(&r, 0),
        Err(EgressError::WithThinking(_))
    ));
    body(&ChatRequest {
        temperature: Some(1.0),
        ..thinking
    });
}

#[test]
fn assistant_thinking_is_sent_back_only_with_its_signature() {
    let r = ChatRequest {
        messages: vec![
            user("a"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "mine".into(),
                        signature: Some("sig".into()),
                    },
                    Part::Thinking {
                        text: "another provider's".into(),
                        signature: None,
                    },
                    Part::text("answer"),
                ],
            },
            user("b"),
        ],
        ..request()
    };
    let b = body(&r);
    assert_eq!(
        b["messages"][1]["content"],
        json!([{"type": "thinking", "thinking": "mine", "signature": "sig"}, {"type": "text", "text": "answer"}])
    );
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]})
}

#[test]
fn a_json_schema_goes_through_a_forced_tool_and_comes_back_as_text() {
    let r = ChatRequest {
        response_format: Some(ResponseFormat::JsonSchema {
            name: "reply.v1".into(),
            schema: schema(),
            strict: Some(true),
        }),
        ..request()
    };
    let (wire, plan) = to_request(&r, 1000).unwrap();
    let b = judged(&wire);
    assert_eq!(
        plan,
        EgressPlan {
            format_tool: Some("replyv1".into())
        }
    );
    assert_eq!(b["tools"][0]["name"], "replyv1");
    assert_eq!(b["tools"][0]["input_schema"], schema());
    assert_eq!(b["tool_choice"], json!({"type": "tool", "name": "replyv1"}));

    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "replyv1", "input": {"answer": "yes"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 3}
    });
    let response = parse_response(answer.to_string().as_bytes(), &plan).unwrap();
    assert_eq!(response.content, [Part::text(r#"{"answer":"yes"}"#)]);
    assert_eq!(response.finish, FinishReason::Stop);
    // Without the plan the same answer is a tool call.
    let plain = parse_response(answer.to_string().as_bytes(), &EgressPlan::default()).unwrap();
    assert_eq!(plain.finish, FinishReason::ToolCalls);
    assert!(matches!(plain.content[0], Part::ToolCall { .. }));
}

#[test]
fn a_json_format_with_client_tools_lets_the_model_call_either() {
    let tools = vec![
        weather(),
        Tool {
            name: "json_object".into(),
            ..weather()
        },
    ];
    let r = ChatRequest {
        tools,
        response_format: Some(ResponseFormat::JsonObject),
        ..request()
    };
    let (wire, plan) = to_request(&r, 1000).unwrap();
    let b = judged(&wire);
    // The format tool's name does not collide with the client's.
    assert_eq!(plan.format_tool.as_deref(), Some("json_object_"));
    assert_eq!(b["tools"][2]["input_schema"], json!({"type": "object"}));
    assert_eq!(b["tool_choice"], json!({"type": "any"}));
    let r = ChatRequest {
        tools: vec![weather()],
        tool_choice: Some(ToolChoice::Tool("get_weather".into())),
        response_format: Some(ResponseFormat::JsonObject),
        ..request()
    };
    assert_eq!(
        body(&r)["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );
    let r = ChatRequest {
        response_format: Some(ResponseFormat::Text),
        ..request()
    };
    assert!(body(&r).get("tools").is_none());
    let r = ChatRequest {
        response_format: Some(ResponseFormat::JsonSchema {
            name: "x".into(),
            schema: json!({"type": "array"}),
            strict: None,
        }),
        ..request()
    };
    assert_eq!(
        to_request(&r, 10).unwrap_err(),
        EgressError::SchemaNotObject
    );
    let r = ChatRequest {
        max_tokens: Some(9000),
        reasoning: Some(Reasoning::BudgetTokens(2000)),
        response_format: Some(ResponseFormat::JsonObject),
        ..request()
    };
    assert!(matches!(
        to_request(&r, 0),
        Err(EgressError::WithThinking(_))
    ));
}

#[test]
fn empty_text_and_empty_turns_are_left_out() {
    let r = ChatRequest {
        messages: vec![
            user("a"),
            Message {
                role: Role::Assistant,
                content: vec![Part::text("   ")],
            },
            user("b"),
        ],
        ..request()
    };
    assert_eq!(
        body(&r)["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])
    );
}
