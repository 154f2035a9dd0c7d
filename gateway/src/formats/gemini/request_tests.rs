//! The request translator, field by field, judged by the Gemini mock's own
//! request checks where the output is a whole body.

use serde_json::{json, Value};

use super::*;
use crate::llm::{CacheControl, Message, Part as P, Tool as LlmTool};
use crate::mock_provider::gemini_judge;

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![P::text(text)],
    }
}

fn base() -> ChatRequest {
    ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![user("Hi")],
        ..ChatRequest::default()
    }
}

fn weather() -> LlmTool {
    LlmTool {
        name: "get_weather".into(),
        description: Some("Weather.".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"], "additionalProperties": false}),
        strict: Some(true),
        cache: None,
    }
}

/// The body as JSON, after the mock has accepted it.
fn body(request: &ChatRequest, options: &RenderOptions) -> Value {
    let rendered = render(request, options).unwrap();
    let body = serde_json::to_value(&rendered).unwrap();
    gemini_judge::check_generate_content(&body)
        .unwrap_or_else(|e| panic!("the mock refuses {body}: {e}"));
    body
}

fn default_body(request: &ChatRequest) -> Value {
    body(request, &RenderOptions::default())
}

#[test]
fn generation_config_fields_map_one_to_one() {
    type Edit = fn(&mut ChatRequest);
    let cases: Vec<(Edit, Value)> = vec![
        (
            |r| r.max_tokens = Some(100),
            json!({"maxOutputTokens": 100}),
        ),
        (|r| r.temperature = Some(0.7), json!({"temperature": 0.7})),
        (|r| r.top_p = Some(0.9), json!({"topP": 0.9})),
        (|r| r.top_k = Some(40), json!({"topK": 40})),
        (
            |r| r.stop = vec!["END".into(), String::new(), "STOP".into()],
            json!({"stopSequences": ["END", "STOP"]}),
        ),
        (|r| r.seed = Some(-7), json!({"seed": -7})),
        // Gemini 2.5 and later refuse penalties: dropped unless the options say.
        (|r| r.presence_penalty = Some(0.5), Value::Null),
        (|r| r.frequency_penalty = Some(-1.0), Value::Null),
        (
            |r| r.response_format = Some(ResponseFormat::JsonObject),
            json!({"responseMimeType": "application/json"}),
        ),
        (
            |r| {
                r.response_format = Some(ResponseFormat::JsonSchema {
                    name: "p".into(),
                    schema: json!({"type": "object", "properties": {"n": {"type": "integer"}},
                                   "additionalProperties": false}),
                    strict: Some(true),
                })
            },
            json!({"responseMimeType": "application/json",
                   "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}}}),
        ),
        // An empty object schema is JSON mode (Gemini refuses an OBJECT without properties).
        (
            |r| {
                r.response_format = Some(ResponseFormat::JsonSchema {
                    name: "any".into(),
                    schema: json!({"type": "object", "additionalProperties": false}),
                    strict: None,
                })
            },
            json!({"responseMimeType": "application/json"}),
        ),
        (
            |r| r.reasoning = Some(Reasoning::BudgetTokens(2048)),
            json!({"thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}}),
        ),
        (
            |r| r.reasoning = Some(Reasoning::BudgetTokens(0)),
            json!({"thinkingConfig": {"thinkingBudget": 0}}),
        ),
        (
            |r| r.reasoning = Some(Reasoning::Effort("medium".into())),
            json!({"thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": true}}),
        ),
        (
            |r| r.reasoning = Some(Reasoning::Effort("minimal".into())),
            json!({"thinkingConfig": {"thinkingBudget": 0}}),
        ),
        (|r| r.n = Some(1), Value::Null),
        (
            |r| r.response_format = Some(ResponseFormat::Text),
            Value::Null,
        ),
        // Nothing Gemini can say: these leave no trace.
        (
            |r| {
                r.user = Some("u-1".into());
                r.parallel_tool_calls = Some(false);
                r.stream = true;
            },
            Value::Null,
        ),
    ];
    for (i, (edit, expected)) in cases.into_iter().enumerate() {
        let mut request = base();
        edit(&mut request);
        let got = default_body(&request);
        assert_eq!(got["generationConfig"], expected, "case {i}: {got}");
        assert!(got.get("user").is_none() && got.get("model").is_none());
    }
}

#[test]
fn penalties_only_where_the_model_takes_them() {
    let mut request = base();
    request.presence_penalty = Some(0.5);
    request.frequency_penalty = Some(-1.0);
    let got = body(&request, &RenderOptions::for_model("gemini-2.0-flash"));
    assert_eq!(
        got["generationConfig"],
        json!({"presencePenalty": 0.5, "frequencyPenalty": -1.0})
    );
    for model in ["gemini-2.5-flash", "gemini-3-pro-preview"] {
        let got = body(&request, &RenderOptions::for_model(model));
        assert!(got.get("generationConfig").is_none(), "{model}: {got}");
    }
    // Out of range is refused whatever the model.
    request.presence_penalty = Some(3.0);
    assert!(render(&request, &RenderOptions::default()).is_err());
}

#[test]
fn thinking_follows_the_models_style() {
    let effort = |e: &str| Reasoning::Effort(e.into());
    let cases = [
        (
            "gemini-2.5-pro",
            effort("minimal"),
            json!({"thinkingBudget": 128, "includeThoughts": true}),
        ),
        (
            "gemini-2.5-flash",
            effort("high"),
            json!({"thinkingBudget": 24576, "includeThoughts": true}),
        ),
        (
            "gemini-3-pro-preview",
            effort("high"),
            json!({"thinkingLevel": "HIGH", "includeThoughts": true}),
        ),
        (
            "models/gemini-3-flash",
            effort("LOW"),
            json!({"thinkingLevel": "LOW", "includeThoughts": true}),
        ),
        (
            "gemini-3-flash",
            effort("none"),
            json!({"thinkingLevel": "MINIMAL", "includeThoughts": true}),
        ),
        (
            "gemini-3-flash",
            Reasoning::BudgetTokens(500),
            json!({"thinkingBudget": 500, "includeThoughts": true}),
        ),
    ];
    for (model, reasoning, expected) in cases {
        let mut request = base();
        request.reasoning = Some(reasoning);
        let got = body(&request, &RenderOptions::for_model(model));
        assert_eq!(
            got["generationConfig"]["thinkingConfig"], expected,
            "{model}"
        );
    }
}

#[test]
fn bad_values_are_refused_before_sending() {
    type Edit = fn(&mut ChatRequest);
    let cases: Vec<(Edit, RequestError)> = vec![
        (
            |r| r.temperature = Some(2.5),
            RequestError::OutOfRange {
                field: "temperature",
                reason: "Gemini takes 0 to 2",
            },
        ),
        (
            |r| r.temperature = Some(f64::NAN),
            RequestError::OutOfRange {
                field: "temperature",
                reason: "Gemini takes 0 to 2",
            },
        ),
        (
            |r| r.top_p = Some(1.5),
            RequestError::OutOfRange {
                field: "top_p",
                reason: "Gemini takes 0 to 1",
            },
        ),
        (
            |r| r.max_tokens = Some(0),
            RequestError::OutOfRange {
                field: "max_tokens",
                reason: "must be at least 1",
            },
        ),
        (
            |r| r.max_tokens = Some(1 << 31),
            RequestError::OutOfRange {
                field: "max_tokens",
                reason: "above 2147483647",
            },
        ),
        (
            |r| r.seed = Some(1 << 40),
            RequestError::OutOfRange {
                field: "seed",
                reason: "Gemini's seed is a 32-bit integer",
            },
        ),
        (
            |r| r.stop = (0..6).map(|i| i.to_string()).collect(),
            RequestError::OutOfRange {
                field: "stop",
                reason: "Gemini takes at most 5 stop sequences",
            },
        ),
        (
            |r| r.n = Some(2),
            RequestError::Unsupported("more than one choice (n > 1)"),
        ),
        (
            |r| r.reasoning = Some(Reasoning::Effort("extreme".into())),
            RequestError::UnknownEffort("extreme".into()),
        ),
        (|r| r.messages.clear(), RequestError::EmptyConversation),
        (
            |r| r.messages = vec![user("")],
            RequestError::EmptyConversation,
        ),
        (
            |r| {
                r.system = vec![P::Image {
                    source: ImageSource::Url("https://x/a.png".into()),
                    cache: None,
                }]
            },
            RequestError::Unsupported("non-text content in a system prompt"),
        ),
        (
            |r| r.tool_choice = Some(ToolChoice::Required),
            RequestError::ToolChoiceWithoutTools,
        ),
        (
            |r| {
                r.tools = vec![weather()];
                r.tool_choice = Some(ToolChoice::Tool("other".into()));
            },
            RequestError::UnknownToolChoice("other".into()),
        ),
        (
            |r| {
                let mut bad = weather();
                bad.name = "get weather".into();
                r.tools = vec![bad];
            },
            RequestError::InvalidToolName("get weather".into()),
        ),
        (
            |r| {
                let mut bad = weather();
                bad.parameters = json!({"type": "object", "properties": {"a": false}});
                r.tools = vec![bad];
            },
            RequestError::ToolSchema {
                tool: "get_weather".into(),
                error: schema::SchemaError {
                    path: "#/properties/a".into(),
                    reason: "a schema no value matches",
                },
            },
        ),
        (
            |r| {
                r.messages.push(Message {
                    role: Role::User,
                    content: vec![P::ToolResult {
                        call_id: "nope".into(),
                        content: vec![],
                        is_error: false,
                        cache: None,
                    }],
                })
            },
            RequestError::UnmatchedToolResult("nope".into()),
        ),
        (
            |r| {
                r.messages.push(Message {
                    role: Role::Assistant,
                    content: vec![P::ToolCall {
                        id: "c".into(),
                        name: "f".into(),
                        arguments: "[1]".into(),
                    }],
                })
            },
            RequestError::ArgumentsNotObject("c".into()),
        ),
        // Two calls, one result.
        (
            |r| {
                r.messages.push(Message {
                    role: Role::Assistant,
                    content: vec![
                        P::ToolCall {
                            id: "a".into(),
                            name: "f".into(),
                            arguments: "{}".into(),
                        },
                        P::ToolCall {
                            id: "b".into(),
                            name: "f".into(),
                            arguments: "{}".into(),
                        },
                    ],
                });
                r.messages.push(Message {
                    role: Role::User,
                    content: vec![P::ToolResult {
                        call_id: "a".into(),
                        content: vec![],
                        is_error: false,
                        cache: None,
                    }],
                });
            },
            RequestError::ToolResultsMismatch {
                turn: 2,
                calls: 2,
                results: 1,
            },
        ),
        // A result for a call two turns back.
        (
            |r| {
                r.messages.insert(
                    0,
                    Message {
                        role: Role::Assistant,
                        content: vec![P::ToolCall {
                            id: "a".into(),
                            name: "f".into(),
                            arguments: "{}".into(),
                        }],
                    },
                );
                r.messages.push(Message {
                    role: Role::Assistant,
                    content: vec![P::text("ok")],
                });
                r.messages.push(Message {
                    role: Role::User,
                    content: vec![P::ToolResult {
                        call_id: "a".into(),
                        content: vec![],
                        is_error: false,
                        cache: None,
                    }],
                });
            },
            RequestError::ToolResultsMismatch {
                turn: 3,
                calls: 0,
                results: 1,
            },
        ),
        (
            |r| {
                r.messages.push(Message {
                    role: Role::User,
                    content: vec![P::Image {
                        source: ImageSource::Url("http://x/a.png".into()),
                        cache: None,
                    }],
                })
            },
            RequestError::UnsupportedImageUrl("by plain http: URL"),
        ),
        (
            |r| {
                r.messages.push(Message {
                    role: Role::User,
                    content: vec![P::Image {
                        source: ImageSource::Url("data:image/png,AAAA".into()),
                        cache: None,
                    }],
                })
            },
            RequestError::BadDataUrl,
        ),
    ];
    for (i, (edit, expected)) in cases.into_iter().enumerate() {
        let mut request = base();
        edit(&mut request);
        assert_eq!(
            render(&request, &RenderOptions::default()),
            Err(expected),
            "case {i}"
        );
    }
}

#[test]
fn tool_choice_becomes_function_calling_config() {
    let cases = [
        (None, Value::Null),
        (
            Some(ToolChoice::Auto),
            json!({"functionCallingConfig": {"mode": "AUTO"}}),
        ),
        (
            Some(ToolChoice::None),
            json!({"functionCallingConfig": {"mode": "NONE"}}),
        ),
        (
            Some(ToolChoice::Required),
            json!({"functionCallingConfig": {"mode": "ANY"}}),
        ),
        (
            Some(ToolChoice::Tool("get_weather".into())),
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}),
        ),
    ];
    for (choice, expected) in cases {
        let mut request = base();
        request.tools = vec![weather()];
        request.tool_choice = choice.clone();
        let got = default_body(&request);
        assert_eq!(got["toolConfig"], expected, "{choice:?}");
        assert_eq!(
            got["tools"],
            json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather.",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}])
        );
    }
    // Without tools, auto and none say nothing.
    for choice in [ToolChoice::Auto, ToolChoice::None] {
        let mut request = base();
        request.tool_choice = Some(choice);
        let got = default_body(&request);
        assert!(got.get("toolConfig").is_none() && got.get("tools").is_none());
    }
}

#[test]
fn tools_without_arguments_and_json_schema_dialect() {
    let mut request = base();
    let mut bare = weather();
    bare.name = "now".into();
    bare.description = None;
    bare.parameters = json!({"type": "object", "properties": {}});
    request.tools = vec![bare, weather()];
    let got = default_body(&request);
    assert_eq!(
        got["tools"][0]["functionDeclarations"][0],
        json!({"name": "now"})
    );

    let options = RenderOptions {
        schemas: SchemaDialect::JsonSchema,
        ..RenderOptions::default()
    };
    request.response_format = Some(ResponseFormat::JsonSchema {
        name: "x".into(),
        schema: json!({"type": "object", "additionalProperties": false}),
        strict: None,
    });
    let got = body(&request, &options);
    assert_eq!(
        got["tools"][0]["functionDeclarations"][1]["parametersJsonSchema"],
        weather().parameters
    );
    assert_eq!(
        got["generationConfig"],
        json!({"responseMimeType": "application/json",
               "responseJsonSchema": {"type": "object", "additionalProperties": false}})
    );
}

/// A conversation with every kind of part, through both translators' ids.
fn conversation() -> ChatRequest {
    let signed = ids::encode(None, Some("resp1"), 0, Some("CiQBcsjafE2dNT4Dj1RtAXNzIC8x"));
    let plain = ids::encode(None, Some("resp1"), 1, None);
    ChatRequest {
        system: vec![P::text("Be brief."), P::text("")],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    P::Text {
                        text: "What is in these?".into(),
                        cache: Some(CacheControl::default()),
                    },
                    P::Image {
                        source: ImageSource::Url("data:image/png;base64,iVBORw0KGgo=".into()),
                        cache: None,
                    },
                    P::Image {
                        source: ImageSource::Url("https://example.com/cat.JPG?size=2".into()),
                        cache: None,
                    },
                    P::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/webp".into(),
                            data: "UklGRg==".into(),
                        },
                        cache: None,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    P::Thinking {
                        text: "hmm".into(),
                        signature: Some("sig".into()),
                    },
                    P::text("Checking."),
                    P::ToolCall {
                        id: signed.clone(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                    P::ToolCall {
                        id: plain.clone(),
                        name: "now".into(),
                        arguments: String::new(),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![P::ToolResult {
                    call_id: plain,
                    content: vec![P::text("12:00")],
                    is_error: false,
                    cache: None,
                }],
            },
            // OpenAI sends each tool result as its own message: merged into one turn.
            Message {
                role: Role::User,
                content: vec![
                    P::text("and?"),
                    P::ToolResult {
                        call_id: signed,
                        content: vec![P::text(r#"{"temp": 15}"#)],
                        is_error: true,
                        cache: None,
                    },
                ],
            },
            Message {
                role: Role::System,
                content: vec![P::text("Now in French.")],
            },
            Message {
                role: Role::Assistant,
                content: vec![P::text("Il fait 15.")],
            },
            Message {
                role: Role::Assistant,
                content: vec![P::ToolCall {
                    id: "toolu_01".into(),
                    name: "now".into(),
                    arguments: "{}".into(),
                }],
            },
            Message {
                role: Role::User,
                content: vec![P::ToolResult {
                    call_id: "toolu_01".into(),
                    content: vec![],
                    is_error: false,
                    cache: None,
                }],
            },
        ],
        ..base()
    }
}

#[test]
fn turns_parts_and_tool_round_trips() {
    let got = default_body(&conversation());
    let expected = json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Now in French."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "What is in these?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=2"}},
                {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
            ]},
            {"role": "model", "parts": [
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": "CiQBcsjafE2dNT4Dj1RtAXNzIC8x"},
                {"functionCall": {"name": "now"}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "now", "response": {"output": "12:00"}}},
                {"functionResponse": {"name": "get_weather", "response": {"error": {"temp": 15}}}},
                {"text": "and?"},
            ]},
            {"role": "model", "parts": [
                {"text": "Il fait 15."},
                {"functionCall": {"id": "toolu_01", "name": "now"}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "toolu_01", "name": "now", "response": {"output": ""}}},
            ]},
        ],
    });
    assert_eq!(got, expected);
}

#[test]
fn gemini_3_signs_unsigned_calls() {
    let got = body(
        &conversation(),
        &RenderOptions::for_model("gemini-3-pro-preview"),
    );
    let model_turns: Vec<&Value> = got["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .collect();
    // The signed call keeps its own signature; the second call of that turn needs none.
    assert_eq!(
        model_turns[0]["parts"][1]["thoughtSignature"],
        "CiQBcsjafE2dNT4Dj1RtAXNzIC8x"
    );
    assert!(model_turns[0]["parts"][2].get("thoughtSignature").is_none());
    // A call begun with another model gets the documented placeholder.
    assert_eq!(
        model_turns[1]["parts"][1]["thoughtSignature"],
        SKIP_SIGNATURE
    );
}

#[test]
fn count_tokens_wraps_the_whole_request() {
    let counted = render_count_tokens(
        &conversation(),
        "models/gemini-2.5-flash",
        &RenderOptions::default(),
    )
    .unwrap();
    let value = serde_json::to_value(&counted).unwrap();
    gemini_judge::check_count_tokens(&value).unwrap();
    assert_eq!(
        value["generateContentRequest"]["model"],
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        value["generateContentRequest"]["contents"],
        default_body(&conversation())["contents"]
    );
    assert_eq!(
        render_count_tokens(&base(), "bad/model", &RenderOptions::default()),
        Err(RequestError::BadModelName("bad/model".into()))
    );
}

#[test]
fn render_body_is_the_json_of_render() {
    let request = conversation();
    let bytes = render_body(&request, &RenderOptions::default()).unwrap();
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed, default_body(&request));
}

#[test]
fn outgoing_picks_path_and_options_from_the_model() {
    let mut request = base();
    request.reasoning = Some(Reasoning::Effort("high".into()));
    request.stream = true;
    let out = outgoing(&request, "gemini-3-pro-preview").unwrap();
    assert_eq!(
        out.path,
        "models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
    );
    let body: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        body["generationConfig"]["thinkingConfig"]["thinkingLevel"],
        "HIGH"
    );
    request.stream = false;
    let out = outgoing(&request, "gemini-2.5-flash").unwrap();
    assert_eq!(out.path, "models/gemini-2.5-flash:generateContent");
    let body: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        body["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        24576
    );
    let error = outgoing(&request, "x?y").unwrap_err();
    assert!(!error.is_client_error() && error.param().is_none());
}

#[test]
fn errors_name_the_field_at_fault() {
    let cases = [
        (
            RequestError::OutOfRange {
                field: "temperature",
                reason: "r",
            },
            Some("temperature"),
        ),
        (
            RequestError::Unsupported("more than one choice (n > 1)"),
            Some("n"),
        ),
        (
            RequestError::UnknownToolChoice("x".into()),
            Some("tool_choice"),
        ),
        (
            RequestError::UnmatchedToolResult("x".into()),
            Some("messages"),
        ),
        (RequestError::Encoding, None),
    ];
    for (error, param) in cases {
        assert_eq!(error.param(), param, "{error}");
    }
    assert!(RequestError::BadDataUrl.is_client_error());
}
