//! The Responses API mock: rejections, answers in the shapes of
//! `tests/fixtures/openai-responses/`, streams that add up, `previous_response_id`.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::respond;
use crate::mock_provider::shape::{fixture, fixture_json, same_shape, sse_events};
use crate::mock_provider::MockState;

async fn call_on(state: Arc<MockState>, body: &Value) -> (StatusCode, String) {
    let answer = respond(state, body.to_string().as_bytes()).await;
    let status = answer.status();
    let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn call(body: &Value) -> (StatusCode, String) {
    call_on(Arc::new(MockState::default()), body).await
}

async fn ok(body: &Value) -> Value {
    let (status, text) = call(body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn tool() -> Value {
    json!({"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}, "strict": false})
}

#[tokio::test]
async fn rejects_what_the_real_api_rejects() {
    let cases = [
        (
            json!({"input": "hi"}),
            "model",
            "missing_required_parameter",
        ),
        (json!({"model": "m"}), "input", "missing_required_parameter"),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            "messages",
            "unknown_parameter",
        ),
        (
            json!({"model": "m", "input": "hi", "max_tokens": 10}),
            "max_tokens",
            "unknown_parameter",
        ),
        (
            json!({"model": "m", "input": "hi", "response_format": {"type": "json_object"}}),
            "response_format",
            "unknown_parameter",
        ),
        (
            json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
            "input[0].role",
            "invalid_value",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}),
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "call_1", "output": "x"}]}),
            "input",
            "invalid_value",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
            "tools[0].name",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [tool()], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
            "tool_choice.name",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "input": "hi", "temperature": 3}),
            "temperature",
            "decimal_above_max_value",
        ),
        (
            json!({"model": "m", "input": "hi", "max_output_tokens": 5}),
            "max_output_tokens",
            "integer_below_min_value",
        ),
        (
            json!({"model": "m", "input": "hi", "previous_response_id": "resp_unknown"}),
            "previous_response_id",
            "previous_response_not_found",
        ),
        (
            json!({"model": "m", "input": "hi", "text": {"format": {"type": "json_schema"}}}),
            "text.format.name",
            "missing_required_parameter",
        ),
    ];
    for (body, param, code) in cases {
        let (status, text) = call(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (
                error["error"]["param"].as_str(),
                error["error"]["code"].as_str()
            ),
            (Some(param), Some(code)),
            "{body}: {text}"
        );
        same_shape(
            &error,
            &fixture_json("openai-responses/error_unknown_parameter.json"),
            "$",
        )
        .unwrap();
    }
}

#[tokio::test]
async fn answers_have_the_real_shapes() {
    let text = ok(&fixture_json("openai-responses/request_text.json")).await;
    let mut expected = fixture_json("openai-responses/response_text.json");
    same_shape(&text, &expected, "$").unwrap();
    assert_eq!(
        text["output"][0]["content"][0]["text"],
        "Hello from the mock provider, friend."
    );
    assert_eq!(text["instructions"], "You answer in one short sentence.");

    let tools = fixture_json("openai-responses/request_tool_round_trip.json")["tools"].clone();
    let calls = ok(
        &json!({"model": "m+thinking=64+cache_read=2048+prompt_tokens=52", "input": "weather?",
        "tools": tools, "reasoning": {"effort": "low"}}),
    )
    .await;
    expected = fixture_json("openai-responses/response_function_call.json");
    same_shape(&calls, &expected, "$").unwrap();
    assert_eq!(calls["usage"]["input_tokens"], 2100);
    assert_eq!(
        calls["usage"]["input_tokens_details"]["cached_tokens"],
        2048
    );
    assert_eq!(
        calls["usage"]["output_tokens_details"]["reasoning_tokens"],
        64
    );
    assert_eq!(
        calls["output"][1]["arguments"],
        r#"{"location":"Paris, France","unit":"celsius"}"#
    );

    let short = ok(&json!({"model": "m+words=40", "input": "hi", "max_output_tokens": 16})).await;
    same_shape(
        &short,
        &fixture_json("openai-responses/response_incomplete.json"),
        "$",
    )
    .unwrap();
    assert_eq!(short["status"], "incomplete");

    // A tool round trip is answered with text.
    let answered = ok(
        &fixture_json("openai-responses/request_tool_round_trip.json")
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.remove("stream");
                Value::Object(m)
            })
            .unwrap(),
    )
    .await;
    assert_eq!(
        answered["output"].as_array().unwrap().last().unwrap()["type"],
        "message"
    );
}

#[tokio::test]
async fn streams_are_typed_events_that_add_up() {
    for (body, transcript) in [
        (
            json!({"model": "m+prompt_tokens=9", "input": "hi", "stream": true}),
            "openai-responses/stream_text.sse",
        ),
        (
            json!({"model": "m+thinking=64+prompt_tokens=9", "input": "weather?", "reasoning": {"effort": "low"}, "stream": true,
                "tools": fixture_json("openai-responses/request_tool_round_trip.json")["tools"]}),
            "openai-responses/stream_function_call.sse",
        ),
    ] {
        let (status, text) = call(&body).await;
        assert_eq!(status, StatusCode::OK);
        let events = sse_events(&text);
        let expected = sse_events(&fixture(transcript));
        let names = |list: &[(String, Value)]| {
            let mut out: Vec<String> = Vec::new();
            for (name, _) in list {
                if out.last() != Some(name) {
                    out.push(name.clone());
                }
            }
            out
        };
        assert_eq!(names(&events), names(&expected), "{transcript}");
        for (i, (name, data)) in events.iter().enumerate() {
            assert_eq!(data["type"].as_str(), Some(name.as_str()));
            assert_eq!(data["sequence_number"], i);
            let twin = expected
                .iter()
                .find(|(n, d)| n == name && d["item"]["type"] == data["item"]["type"])
                .map(|(_, d)| d)
                .unwrap();
            same_shape(data, twin, &format!("{transcript}[{i}]")).unwrap();
        }
        let completed = &events.last().unwrap().1["response"];
        let mut plain_body = body.clone();
        plain_body["stream"] = json!(false);
        let plain = ok(&plain_body).await;
        assert_eq!(
            completed["output"].as_array().unwrap().len(),
            plain["output"].as_array().unwrap().len()
        );
        assert_eq!(
            completed["usage"]["output_tokens"],
            plain["usage"]["output_tokens"]
        );
        let deltas: String = events
            .iter()
            .filter(|(n, _)| {
                n == "response.output_text.delta" || n == "response.function_call_arguments.delta"
            })
            .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
            .collect();
        let whole: String = plain["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| match item["type"].as_str().unwrap() {
                "message" => item["content"][0]["text"].as_str().unwrap().to_owned(),
                "function_call" => item["arguments"].as_str().unwrap().to_owned(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(deltas, whole, "{transcript}");
    }
}

#[tokio::test]
async fn previous_response_ids_of_this_mock_are_known() {
    let state = Arc::new(MockState::default());
    let (_, first) = call_on(state.clone(), &json!({"model": "m", "input": "hi"})).await;
    let id = serde_json::from_str::<Value>(&first).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = call_on(
        state.clone(),
        &json!({"model": "m", "input": "again", "previous_response_id": id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Not stored: not known.
    let (_, unstored) = call_on(
        state.clone(),
        &json!({"model": "m", "input": "hi", "store": false}),
    )
    .await;
    let id = serde_json::from_str::<Value>(&unstored).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = call_on(
        state,
        &json!({"model": "m", "input": "again", "previous_response_id": id}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&json!({"model": "m+status=429", "input": "hi"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
