//! The whole loop against the running Gemini mock: a request rendered here,
//! sent over HTTP as an adapter would send it, and the mock's answer (whole,
//! streamed, or an error) read back here.

use serde_json::json;

use super::*;
use crate::llm::{ChatRequest, FinishReason, Message, Part, Role, StreamEvent, Tool};
use crate::mock_provider;

fn ask(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "gemini-2.5-flash".into(),
        system: vec![Part::text("Be brief.")],
        messages: vec![Message {
            role: Role::User,
            content: vec![Part::text("Weather in Paris?")],
        }],
        tools: vec![Tool {
            name: "get_weather".into(),
            description: Some("Weather.".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            strict: None,
            cache: None,
        }],
        reasoning: Some(crate::llm::Reasoning::BudgetTokens(512)),
        stream,
        ..ChatRequest::default()
    }
}

async fn send(base: &str, model: &str, request: &ChatRequest) -> (u16, Vec<u8>) {
    let out = outgoing(request, model).unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1beta/{}", out.path))
        .header(API_KEY_HEADER, "AIza-test")
        .header("content-type", "application/json")
        .body(out.body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    // What arrived before the connection ended (a cut body ends early).
    let mut answer = answer;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = answer.chunk().await {
        body.extend_from_slice(&chunk);
    }
    (status, body)
}

#[tokio::test]
async fn whole_streamed_and_failed_answers_read_back() {
    let mock = mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", mock.addr);

    let model = "mock+tool_calls=1+thinking=40+cache_read=64+prompt_tokens=10";
    let (status, body) = send(&base, model, &ask(false)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer = parse(&body).unwrap();
    assert_eq!(answer.finish, FinishReason::ToolCalls);
    let call = answer
        .content
        .iter()
        .find_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(call.1, "get_weather");
    assert!(answer
        .content
        .iter()
        .any(|p| matches!(p, Part::Thinking { .. })));
    let usage = answer.usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.cached_prompt_tokens,
            usage.reasoning_tokens
        ),
        (74, 64, 40)
    );

    // The tool round trip goes back and is accepted, signature and all.
    let mut next = ask(false);
    next.messages.push(Message {
        role: Role::Assistant,
        content: answer.content.clone(),
    });
    next.messages.push(Message {
        role: Role::User,
        content: vec![Part::ToolResult {
            call_id: call.0,
            content: vec![Part::text("15C")],
            is_error: false,
            cache: None,
        }],
    });
    let (status, body) = send(&base, "mock", &next).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(parse(&body).unwrap().finish, FinishReason::Stop);

    // Streamed: the events add up to the same kind of answer.
    let (status, body) = send(&base, model, &ask(true)).await;
    assert_eq!(status, 200);
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for event in stream::split_events(&body) {
        events.extend(decoder.event(event).unwrap());
    }
    events.extend(decoder.end().unwrap());
    assert!(matches!(events.first(), Some(StreamEvent::Start { .. })));
    assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
    assert!(events
        .iter()
        .any(|e| matches!(e, StreamEvent::ToolCallStart { name, .. } if name == "get_weather")));
    assert!(matches!(events.last(), Some(StreamEvent::Usage(u)) if u.reasoning_tokens == 40));

    // A cut stream is an error, not a short answer.
    let (_, body) = send(&base, "mock+cut_after=1+words=20", &ask(true)).await;
    let mut decoder = StreamDecoder::new();
    let mut outcome = Ok(Vec::new());
    for event in stream::split_events(&body) {
        outcome = decoder.event(event);
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() {
        outcome = decoder.end();
    }
    assert!(outcome.is_err(), "{}", String::from_utf8_lossy(&body));

    // Errors classify; a blocked prompt is a clear error.
    let (status, body) = send(&base, "mock+status=429", &ask(false)).await;
    let error = classify(status, &body);
    assert_eq!(
        (error.kind, error.retryable()),
        (ErrorKind::RateLimited, true)
    );
    let (status, body) = send(&base, "mock+status=503", &ask(false)).await;
    assert_eq!(classify(status, &body).kind, ErrorKind::Overloaded);
    let (_, body) = send(&base, "mock+safety=prompt", &ask(false)).await;
    assert!(matches!(parse(&body), Err(ResponseError::Blocked { .. })));
    let (_, body) = send(&base, "mock+safety=response", &ask(false)).await;
    assert_eq!(parse(&body).unwrap().finish, FinishReason::ContentFilter);

    // countTokens with the whole request.
    let counted = render_count_tokens(
        &ask(false),
        "mock+prompt_tokens=33",
        &RenderOptions::default(),
    )
    .unwrap();
    let answer = reqwest::Client::new()
        .post(format!(
            "{base}/v1beta/{}",
            path("mock+prompt_tokens=33", Method::CountTokens).unwrap()
        ))
        .header(API_KEY_HEADER, "AIza-test")
        .json(&counted)
        .send()
        .await
        .unwrap();
    assert_eq!(parse_count_tokens(&answer.bytes().await.unwrap()), Ok(33));
}
