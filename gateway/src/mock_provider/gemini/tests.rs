//! The Gemini mock: the rejections a translation could trip on, answers in the
//! shapes of `tests/fixtures/gemini/`, and the directives.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde_json::{json, Value};

use super::respond;
use crate::mock_provider::shape::{fixture, fixture_json, same_shape, sse_events};
use crate::mock_provider::MockState;

struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap().to_owned()
    }
}

async fn call_on(state: Arc<MockState>, path: &str, key: Option<&str>, body: &Value) -> Answer {
    let uri: Uri = format!("/v1beta/models/{path}").parse().unwrap();
    let rest = path.split('?').next().unwrap();
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        headers.insert("x-goog-api-key", HeaderValue::from_str(key).unwrap());
    }
    let response = respond(state, &headers, &uri, rest, body.to_string().as_bytes()).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn generate(model: &str, body: &Value) -> Answer {
    call_on(
        Arc::new(MockState::default()),
        &format!("{model}:generateContent"),
        Some("AIza-test"),
        body,
    )
    .await
}

async fn stream(model: &str, body: &Value) -> Answer {
    call_on(
        Arc::new(MockState::default()),
        &format!("{model}:streamGenerateContent?alt=sse"),
        Some("AIza-test"),
        body,
    )
    .await
}

fn hello() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn weather_tool() -> Value {
    json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}]}])
}

fn call_part() -> Value {
    json!({"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}})
}

fn response_part() -> Value {
    json!({"functionResponse": {"name": "get_weather", "response": {"temperature": 15}}})
}

/// Bodies the real API refuses with a 400, and a piece of each message.
fn rejected() -> Vec<(&'static str, Value, &'static str)> {
    let contents = |list: Value| json!({ "contents": list });
    vec![
        ("no contents", json!({}), "contents is not specified"),
        ("empty contents", contents(json!([])), "contents is not specified"),
        ("openai messages", json!({"messages": [{"role": "user", "content": "Hi"}]}), "Unknown name \"messages\": Cannot find field."),
        ("assistant role", contents(json!([{"role": "user", "parts": [{"text": "a"}]}, {"role": "assistant", "parts": [{"text": "b"}]}])), "Please use a valid role: user, model."),
        ("system role", contents(json!([{"role": "system", "parts": [{"text": "a"}]}])), "Please use a valid role: user, model."),
        ("function role", contents(json!([{"role": "function", "parts": [response_part()]}])), "Please use a valid role"),
        ("empty parts", contents(json!([{"role": "user", "parts": []}])), "contents.parts must not be empty"),
        ("part without data", contents(json!([{"role": "user", "parts": [{}]}])), "required oneof field 'data' must have one initialized field"),
        ("part with two data", contents(json!([{"role": "user", "parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AA=="}}]}])), "Oneof field 'data' is already set"),
        ("openai content part", contents(json!([{"role": "user", "parts": [{"type": "text", "text": "a"}]}])), "Unknown name \"type\" at 'contents[0].parts[0]'"),
        ("string parts", contents(json!([{"role": "user", "parts": "Hi"}])), "is repeated"),
        (
            "function response without a call",
            contents(json!([{"role": "user", "parts": [{"text": "a"}]}, {"role": "user", "parts": [response_part()]}])),
            "Please ensure that function response turn comes immediately after a function call turn.",
        ),
        (
            "fewer responses than calls",
            contents(json!([
                {"role": "user", "parts": [{"text": "a"}]},
                {"role": "model", "parts": [call_part(), call_part()]},
                {"role": "user", "parts": [response_part()]}
            ])),
            "number of function response parts is equal to the number of function call parts",
        ),
        (
            "call after a model turn",
            contents(json!([
                {"role": "user", "parts": [{"text": "a"}]},
                {"role": "model", "parts": [{"text": "b"}]},
                {"role": "model", "parts": [call_part()]}
            ])),
            "function call turn comes immediately after a user turn",
        ),
        ("call in a user turn", contents(json!([{"role": "user", "parts": [call_part()]}])), "function call turns come from the model role"),
        ("openai tool shape", with(hello(), "tools", json!([{"type": "function", "function": {"name": "f"}}])), "at 'tools[0]': Cannot find field."),
        (
            "bad function name",
            with(hello(), "tools", json!([{"functionDeclarations": [{"name": "get weather"}]}])),
            "Invalid function name",
        ),
        (
            "json schema keyword in parameters",
            with(hello(), "tools", json!([{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "additionalProperties": false}}]}])),
            "Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters'",
        ),
        (
            "both parameter schemas",
            with(hello(), "tools", json!([{"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}, "parametersJsonSchema": {"type": "object"}}]}])),
            "mutually exclusive",
        ),
        ("bad schema type", with(hello(), "tools", json!([{"functionDeclarations": [{"name": "f", "parameters": {"type": "dict"}}]}])), "parameters.type"),
        (
            "allowed names outside ANY",
            with(hello(), "toolConfig", json!({"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["get_weather"]}})),
            "allowed_function_names",
        ),
        ("lowercase mode", with(hello(), "toolConfig", json!({"functionCallingConfig": {"mode": "auto"}})), "function_calling_config.mode"),
        ("openai tool_choice", with(hello(), "tool_choice", json!("auto")), "Unknown name \"tool_choice\""),
        ("top-level temperature", with(hello(), "temperature", json!(0.5)), "Unknown name \"temperature\": Cannot find field."),
        ("max_tokens in config", with(hello(), "generationConfig", json!({"max_tokens": 5})), "Unknown name \"max_tokens\" at 'generation_config'"),
        ("temperature above 2", with(hello(), "generationConfig", json!({"temperature": 2.5})), "temperature must be in the range [0, 2]"),
        ("top_p above 1", with(hello(), "generationConfig", json!({"topP": 1.5})), "topP must be in the range"),
        ("string temperature", with(hello(), "generationConfig", json!({"temperature": "hot"})), "(TYPE_FLOAT)"),
        ("zero output tokens", with(hello(), "generationConfig", json!({"maxOutputTokens": 0})), "max_output_tokens must be positive"),
        ("nine candidates", with(hello(), "generationConfig", json!({"candidateCount": 9})), "candidate_count"),
        ("six stop sequences", with(hello(), "generationConfig", json!({"stopSequences": ["a", "b", "c", "d", "e", "f"]})), "at most 5"),
        ("schema without json", with(hello(), "generationConfig", json!({"responseSchema": {"type": "OBJECT"}})), "response_mime_type"),
        ("bad mime type", with(hello(), "generationConfig", json!({"responseMimeType": "application/xml"})), "allowed mimetypes"),
        (
            "budget and level",
            with(hello(), "generationConfig", json!({"thinkingConfig": {"thinkingBudget": 100, "thinkingLevel": "LOW"}})),
            "You can only set only one of thinking budget and thinking level.",
        ),
        ("openai response_format", with(hello(), "generationConfig", json!({"response_format": {"type": "json_object"}})), "Unknown name \"response_format\""),
        ("vertex-only labels", with(hello(), "labels", json!({"team": "a"})), "Unknown name \"labels\""),
        ("system instruction with a call", with(hello(), "systemInstruction", json!({"parts": [call_part()]})), "system_instruction.parts"),
        ("bad harm category", with(hello(), "safetySettings", json!([{"category": "VIOLENCE", "threshold": "BLOCK_NONE"}])), "safety_settings[0].category"),
    ]
}

#[tokio::test]
async fn rejects_what_the_real_api_rejects() {
    for (name, body, message) in rejected() {
        let answer = generate("gemini-2.5-flash", &body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.body
        );
        assert_eq!(
            answer.json()["error"]["status"],
            "INVALID_ARGUMENT",
            "{name}"
        );
        assert_eq!(answer.json()["error"]["code"], 400, "{name}");
        let said = answer.message();
        assert!(said.contains(message), "{name}: {said:?} lacks {message:?}");
    }
    let unknown = generate("g", &json!({"bogus": 1})).await;
    same_shape(
        &unknown.json(),
        &fixture_json("gemini/error_invalid_argument.json"),
        "$",
    )
    .unwrap();
    let role = generate(
        "g",
        &json!({"contents": [{"role": "bot", "parts": [{"text": "x"}]}]}),
    )
    .await;
    same_shape(
        &role.json(),
        &fixture_json("gemini/error_invalid_request.json"),
        "$",
    )
    .unwrap();
}

#[tokio::test]
async fn accepts_what_the_real_api_accepts() {
    let accepted = [
        ("fixture: text", fixture_json("gemini/request_text.json")),
        (
            "fixture: function calling",
            fixture_json("gemini/request_function_calling.json"),
        ),
        (
            "fixture: json schema",
            fixture_json("gemini/request_json_schema.json"),
        ),
        (
            "snake_case fields",
            json!({"contents": [{"role": "user", "parts": [{"text": "a"}]}],
            "system_instruction": {"parts": [{"text": "s"}]}, "generation_config": {"max_output_tokens": 10}}),
        ),
        (
            "no role on a single turn",
            json!({"contents": [{"parts": [{"text": "a"}]}]}),
        ),
        (
            "lowercase schema types",
            with(hello(), "tools", weather_tool()),
        ),
        (
            "model turn first",
            json!({"contents": [{"role": "model", "parts": [{"text": "Hi!"}]}, {"role": "user", "parts": [{"text": "a"}]}]}),
        ),
        (
            "parallel calls and responses",
            json!({"contents": [
                {"role": "user", "parts": [{"text": "a"}]},
                {"role": "model", "parts": [call_part(), call_part()]},
                {"role": "user", "parts": [response_part(), response_part()]}
            ]}),
        ),
        (
            "int64 as a string",
            with(
                hello(),
                "generationConfig",
                json!({"maxOutputTokens": "64", "seed": "7"}),
            ),
        ),
        (
            "enum as a number",
            with(
                hello(),
                "toolConfig",
                json!({"functionCallingConfig": {"mode": 1}}),
            ),
        ),
        (
            "null means unset",
            with(hello(), "generationConfig", json!({"temperature": null})),
        ),
        (
            "cached content",
            with(hello(), "cachedContent", json!("cachedContents/abc123")),
        ),
    ];
    for (name, body) in accepted {
        let answer = generate("gemini-2.5-flash", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
    }
}

#[tokio::test]
async fn keys_and_paths_are_checked() {
    let state = Arc::new(MockState::default());
    let none = call_on(state.clone(), "g:generateContent", None, &hello()).await;
    assert_eq!(
        (none.status, none.json()["error"]["status"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );
    same_shape(
        &none.json(),
        &fixture_json("gemini/error_permission_denied.json"),
        "$",
    )
    .unwrap();
    // The key may come in the query.
    let query = call_on(
        state.clone(),
        "g:generateContent?key=AIza-q",
        None,
        &hello(),
    )
    .await;
    assert_eq!(query.status, StatusCode::OK);
    state.require_api_key(Some("AIza-right"));
    let wrong = call_on(
        state.clone(),
        "g:generateContent",
        Some("AIza-wrong"),
        &hello(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    same_shape(
        &wrong.json(),
        &fixture_json("gemini/error_api_key_invalid.json"),
        "$",
    )
    .unwrap();
    assert_eq!(
        call_on(
            state.clone(),
            "g:generateContent",
            Some("AIza-right"),
            &hello()
        )
        .await
        .status,
        StatusCode::OK
    );
    let unknown = call_on(state, "g:embedEverything", Some("AIza-right"), &hello()).await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn answers_have_the_real_shapes() {
    let text = generate("gemini-2.5-flash", &hello()).await.json();
    same_shape(&text, &fixture_json("gemini/response_text.json"), "$").unwrap();
    assert_eq!(
        text["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from the mock provider, friend."
    );
    assert_eq!(text["modelVersion"], "gemini-2.5-flash");
    let usage = &text["usageMetadata"];
    assert_eq!(usage["candidatesTokenCount"], 8);
    assert_eq!(
        usage["totalTokenCount"].as_u64(),
        Some(usage["promptTokenCount"].as_u64().unwrap() + 8)
    );

    let short = generate(
        "g",
        &with(hello(), "generationConfig", json!({"maxOutputTokens": 1})),
    )
    .await
    .json();
    same_shape(
        &short,
        &fixture_json("gemini/response_max_tokens.json"),
        "$",
    )
    .unwrap();
    assert_eq!(short["candidates"][0]["finishReason"], "MAX_TOKENS");
    let stopped = generate(
        "g",
        &with(
            hello(),
            "generationConfig",
            json!({"stopSequences": ["mock"]}),
        ),
    )
    .await
    .json();
    assert_eq!(
        stopped["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from the "
    );
    assert_eq!(stopped["candidates"][0]["finishReason"], "STOP");

    let thinking = generate(
        "g+thinking=48+cache_read=2048+prompt_tokens=52",
        &with(
            hello(),
            "generationConfig",
            json!({"thinkingConfig": {"includeThoughts": true}}),
        ),
    )
    .await
    .json();
    same_shape(
        &thinking,
        &fixture_json("gemini/response_thinking_cached.json"),
        "$",
    )
    .unwrap();
    let usage = &thinking["usageMetadata"];
    assert_eq!(
        (
            usage["promptTokenCount"].as_u64(),
            usage["cachedContentTokenCount"].as_u64(),
            usage["thoughtsTokenCount"].as_u64()
        ),
        (Some(2100), Some(2048), Some(48))
    );
    assert_eq!(usage["totalTokenCount"], 2100 + 8 + 48);
    assert_eq!(
        thinking["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );

    let calls = generate(
        "g+tool_calls=2+text_first=1+thinking=60",
        &with(hello(), "tools", weather_tool()),
    )
    .await
    .json();
    same_shape(
        &calls,
        &fixture_json("gemini/response_function_call.json"),
        "$",
    )
    .unwrap();
    let parts = calls["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(
        parts[1]["functionCall"]["args"],
        json!({"location": "Paris, France", "unit": "celsius"})
    );
    assert!(
        parts[1].get("thoughtSignature").is_some() && parts[2].get("thoughtSignature").is_none()
    );
    // Thoughts are billed, but not shown unless asked for.
    assert_eq!(calls["usageMetadata"]["thoughtsTokenCount"], 60);
    // The function response is answered with text; NONE never calls.
    let answered = generate("g", &fixture_json("gemini/request_function_calling.json"))
        .await
        .json();
    assert!(answered["candidates"][0]["content"]["parts"][0]["text"].is_string());
    let none = generate("g", &fixture_json("gemini/request_json_schema.json"))
        .await
        .json();
    assert!(none["candidates"][0]["content"]["parts"][0]["text"].is_string());
    let any = generate(
        "g",
        &with(with(hello(), "tools", weather_tool()), "toolConfig", json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})),
    )
    .await
    .json();
    assert_eq!(
        any["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
}

#[tokio::test]
async fn safety_blocks_on_request() {
    let prompt = generate("g+safety=prompt", &hello()).await.json();
    same_shape(
        &prompt,
        &fixture_json("gemini/response_prompt_blocked.json"),
        "$",
    )
    .unwrap();
    assert_eq!(prompt["promptFeedback"]["blockReason"], "SAFETY");
    assert!(prompt.get("candidates").is_none());
    let response = generate("g+safety=response", &hello()).await.json();
    same_shape(&response, &fixture_json("gemini/response_safety.json"), "$").unwrap();
    assert_eq!(response["candidates"][0]["finishReason"], "SAFETY");
    // A blocked stream is one chunk of the same.
    let streamed = stream("g+safety=prompt", &hello()).await;
    let events = sse_events(&streamed.body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["promptFeedback"]["blockReason"], "SAFETY");
}

#[tokio::test]
async fn streams_are_sse_chunks_that_add_up() {
    let cases = [
        (
            "g+thinking=28+prompt_tokens=9",
            with(
                hello(),
                "generationConfig",
                json!({"thinkingConfig": {"includeThoughts": true}}),
            ),
            "gemini/stream_text.sse",
        ),
        (
            "g+text_first=1+thinking=41+prompt_tokens=9",
            with(hello(), "tools", weather_tool()),
            "gemini/stream_function_call.sse",
        ),
    ];
    for (model, body, transcript) in cases {
        let answer = stream(model, &body).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.body.ends_with("}\r\n\r\n"),
            "frames end with CRLF CRLF"
        );
        assert!(!answer.body.contains("event:"));
        let chunks = sse_events(&answer.body);
        let expected = sse_events(&fixture(transcript));
        let (last, rest) = chunks.split_last().unwrap();
        let (expected_last, expected_rest) = expected.split_last().unwrap();
        same_shape(&last.1, &expected_last.1, transcript).unwrap();
        for (i, (_, chunk)) in rest.iter().enumerate() {
            // A middle chunk looks like the fixture's middle chunk with the same part kind.
            let part_keys = |c: &Value| {
                c["candidates"][0]["content"]["parts"][0]
                    .as_object()
                    .map(|m| m.keys().cloned().collect::<Vec<_>>())
            };
            let twin = expected_rest
                .iter()
                .find(|(_, e)| part_keys(e) == part_keys(chunk))
                .map(|(_, e)| e)
                .unwrap_or(&expected_rest[0].1);
            same_shape(chunk, twin, &format!("{transcript}[{i}]")).unwrap();
        }
        // Concatenated, the chunks say what the whole answer says.
        let whole = generate(model, &body).await.json();
        let text = |c: &Value| -> String {
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p.get("thought").is_none())
                .filter_map(|p| p["text"].as_str())
                .collect()
        };
        let streamed: String = chunks.iter().map(|(_, c)| text(c)).collect();
        assert_eq!(streamed, text(&whole), "{transcript}");
        let mut usage = last.1["usageMetadata"].clone();
        let mut whole_usage = whole["usageMetadata"].clone();
        usage["promptTokenCount"] = json!(0);
        whole_usage["promptTokenCount"] = json!(0);
        assert_eq!(
            usage["candidatesTokenCount"],
            whole_usage["candidatesTokenCount"]
        );
        assert_eq!(
            usage["thoughtsTokenCount"],
            whole_usage["thoughtsTokenCount"]
        );
    }
    // Without alt=sse the same chunks come as one JSON array.
    let array = call_on(
        Arc::new(MockState::default()),
        "g:streamGenerateContent",
        Some("k"),
        &hello(),
    )
    .await
    .json();
    assert_eq!(array.as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn faults_and_injected_errors() {
    for (status, name, file) in [
        (
            429,
            "RESOURCE_EXHAUSTED",
            "gemini/error_resource_exhausted.json",
        ),
        (503, "UNAVAILABLE", "gemini/error_unavailable.json"),
        (500, "INTERNAL", "gemini/error_internal.json"),
    ] {
        let answer = generate(&format!("g+status={status}"), &hello()).await;
        assert_eq!(answer.status.as_u16(), status);
        assert_eq!(answer.json()["error"]["status"], name);
        same_shape(&answer.json(), &fixture_json(file), "$").unwrap();
    }
    // cut_after: the stream breaks after that many chunks, never reaching the last.
    for (k, sent) in [(3, 3), (99, 7)] {
        let response = respond(
            Arc::new(MockState::default()),
            &{
                let mut h = HeaderMap::new();
                h.insert("x-goog-api-key", HeaderValue::from_static("k"));
                h
            },
            &"/v1beta/models/g:streamGenerateContent?alt=sse"
                .parse()
                .unwrap(),
            &format!("g+cut_after={k}:streamGenerateContent"),
            hello().to_string().as_bytes(),
        )
        .await;
        let mut body = response.into_body().into_data_stream();
        let mut text = String::new();
        let mut failed = false;
        while let Some(piece) = futures_util::StreamExt::next(&mut body).await {
            match piece {
                Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "cut_after={k}");
        assert_eq!(text.matches("data: ").count(), sent, "cut_after={k}");
        assert!(!text.contains("finishReason"));
    }
}

#[tokio::test]
async fn count_tokens_counts_and_validates() {
    let state = Arc::new(MockState::default());
    let body = fixture_json("gemini/request_count_tokens.json");
    let answer = call_on(state.clone(), "g:countTokens", Some("k"), &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    same_shape(
        &answer.json(),
        &fixture_json("gemini/response_count_tokens.json"),
        "$",
    )
    .unwrap();
    let wrapped =
        json!({"generateContentRequest": {"model": "models/g", "contents": body["contents"]}});
    assert_eq!(
        call_on(
            state.clone(),
            "g+prompt_tokens=7:countTokens",
            Some("k"),
            &wrapped
        )
        .await
        .json()["totalTokens"],
        7
    );
    let bad = call_on(
        state,
        "g:countTokens",
        Some("k"),
        &json!({"contents": [], "model": "g"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
