//! The OpenAI-compatible surface over real HTTP: a gateway on a free port in front
//! of the project's mock provider.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{assert_openai_error, chat_body, sse_data, start};
use serde_json::{json, Value};

#[tokio::test]
async fn plain_chat_is_relayed_with_explanation_headers() {
    let gw = start().await;
    let response = gw
        .post("/v1/chat/completions", &chat_body("mock-chat"))
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-gateway-provider"], "mock");
    assert_eq!(headers["x-gateway-model"], "mock");
    assert!(headers.contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the mock provider, friend."
    );
    assert_eq!(body["model"], "mock");
}

#[tokio::test]
async fn unknown_fields_pass_through_and_the_provider_key_replaces_the_client_key() {
    let gw = start().await;
    let request = json!({
        "model": "mock-chat",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.25, "seed": 42, "logprobs": true, "n": 2, "user": "u-1",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        "parallel_tool_calls": false, "vendor_extension": {"nested": [1, "two", null]}
    });
    let response = gw.post("/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"].as_array().unwrap().len(), 2);
    let seen = gw.mock.state.last_body_json().unwrap();
    let mut expected = request.clone();
    expected["model"] = json!("mock");
    assert_eq!(
        seen, expected,
        "everything but the model is forwarded as sent"
    );
    let auth = gw.mock.state.last_authorization.lock().unwrap().clone();
    assert_eq!(auth.as_deref(), Some("Bearer sk-provider-secret"));
    let headers = gw.mock.state.last_headers.lock().unwrap().clone();
    assert!(headers.contains(&("x-extra".to_owned(), "configured".to_owned())));
}

#[tokio::test]
async fn streaming_hides_the_usage_chunk_the_client_did_not_ask_for() {
    let gw = start().await;
    let mut request = chat_body("mock-chat");
    request["stream"] = json!(true);
    let response = gw.post("/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    for chunk in &data[..data.len() - 1] {
        let value: Value = serde_json::from_str(chunk).unwrap();
        assert!(
            value.get("usage").is_none(),
            "usage leaked to the client: {chunk}"
        );
        assert_eq!(value["choices"].as_array().unwrap().len(), 1);
    }
    let content: String = data[..data.len() - 1]
        .iter()
        .filter_map(|c| serde_json::from_str::<Value>(c).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(content, "Hello from the mock provider, friend.");
    // The gateway asked upstream for usage even though the client did not.
    let upstream = gw.mock.state.last_body_json().unwrap();
    assert_eq!(upstream["stream_options"]["include_usage"], true);
    // ... and learned the token counts from it.
    let metrics = gw
        .client
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gateway_tokens_total{")
                && l.contains("kind=\"completion\"")
                && l.ends_with(" 8")),
        "{metrics}"
    );
}

#[tokio::test]
async fn streaming_keeps_the_usage_chunk_when_the_client_asked() {
    let gw = start().await;
    let mut request = chat_body("mock-chat");
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let text = gw
        .post("/v1/chat/completions", &request)
        .await
        .text()
        .await
        .unwrap();
    let data = sse_data(&text);
    let usage_chunk: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 8);
    let first: Value = serde_json::from_str(&data[0]).unwrap();
    assert!(first.get("usage").is_some_and(Value::is_null));
}

#[tokio::test]
async fn streamed_events_arrive_one_by_one_not_buffered() {
    let gw = start().await;
    let mut request = chat_body("slow-chunks");
    request["stream"] = json!(true);
    let mut response = gw.post("/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    let started = std::time::Instant::now();
    let mut first_content_at = None;
    let mut frames = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        frames += 1;
        if first_content_at.is_none()
            && String::from_utf8_lossy(&chunk).contains("\"content\":\"Hello\"")
        {
            first_content_at = Some(started.elapsed());
        }
        if frames >= 3 {
            break;
        }
    }
    // 50 words at 200 ms each take 10 s in total; the first words come long before.
    let at = first_content_at.expect("first word arrived");
    assert!(at < Duration::from_secs(2), "first word after {at:?}");
}

#[tokio::test]
async fn tool_calls_stream_arguments_that_parse_as_json() {
    let gw = start().await;
    let request = json!({
        "model": "mock-chat", "stream": true,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}],
        "tool_choice": "auto"
    });
    let text = gw
        .post("/v1/chat/completions", &request)
        .await
        .text()
        .await
        .unwrap();
    let mut arguments = String::new();
    let mut name = None;
    let mut finish = None;
    for data in sse_data(&text) {
        if data == "[DONE]" {
            continue;
        }
        let chunk: Value = serde_json::from_str(&data).unwrap();
        let choice = &chunk["choices"][0];
        if let Some(call) = choice["delta"]["tool_calls"].get(0) {
            if let Some(n) = call["function"]["name"].as_str() {
                name = Some(n.to_owned());
            }
            arguments.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            finish = Some(f.to_owned());
        }
    }
    assert_eq!(name.as_deref(), Some("get_weather"));
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    let parsed: Value = serde_json::from_str(&arguments).unwrap();
    assert_eq!(parsed["location"], "Paris, France");
    let upstream = gw.mock.state.last_body_json().unwrap();
    assert_eq!(upstream["tools"], request["tools"]);
    assert_eq!(upstream["tool_choice"], "auto");
}

#[tokio::test]
async fn embeddings_and_models_are_served() {
    let gw = start().await;
    let response = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "mock-embed", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][1]["embedding"].as_array().unwrap().len(), 8);

    let all: Value = gw
        .client
        .get(gw.url("/v1/models"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["object"], "list");
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), common::MODELS.len() + 3);
    assert_eq!(ids[..3], ["auto", "auto:fast", "auto:strong"]);
    let limited: Value = gw
        .client
        .get(gw.url("/v1/models"))
        .bearer_auth(&gw.limited_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = limited["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock-chat"]);
    let one = gw
        .client
        .get(gw.url("/v1/models/mock-chat"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
}

#[tokio::test]
async fn gateway_errors_use_openai_shapes_and_statuses() {
    let gw = start().await;
    let cases: Vec<(reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .json(&chat_body("mock-chat")),
            401,
            None,
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth("sk-wrong")
                .json(&chat_body("mock-chat")),
            401,
            Some("invalid_api_key"),
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.key)
                .json(&chat_body("no-such-model")),
            404,
            Some("model_not_found"),
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.limited_key)
                .json(&chat_body("fail-500")),
            404,
            Some("model_not_found"),
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.key)
                .body("{not json"),
            400,
            None,
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.key)
                .json(&json!({"model": "mock-chat"})),
            400,
            None,
        ),
        (
            gw.client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.key)
                .body(vec![b' '; 2 * 1024 * 1024]),
            413,
            Some("request_too_large"),
        ),
        (
            gw.client
                .post(gw.url("/v1/embeddings"))
                .bearer_auth(&gw.key)
                .json(&chat_body("mock-chat")),
            400,
            None,
        ),
        (
            gw.client.get(gw.url("/v1/nope")).bearer_auth(&gw.key),
            404,
            None,
        ),
        (
            gw.client
                .get(gw.url("/v1/chat/completions"))
                .bearer_auth(&gw.key),
            405,
            None,
        ),
    ];
    for (i, (request, status, code)) in cases.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "case {i}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "case {i}"
        );
        let body: Value = response.json().await.unwrap();
        let error = assert_openai_error(&body);
        if let Some(code) = code {
            assert_eq!(error["code"], code, "case {i}: {body}");
        }
    }
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_body() {
    let gw = start().await;
    for (model, status) in [("fail-500", 500), ("fail-429", 429)] {
        let response = gw.post("/v1/chat/completions", &chat_body(model)).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["x-gateway-error-origin"], "upstream");
        if status == 429 {
            assert_eq!(response.headers()["retry-after"], "1");
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Simulated provider failure.");
    }
}

#[tokio::test]
async fn unreachable_slow_and_keyless_providers_map_to_502_504_503() {
    let gw = start().await;
    for (model, status, stream) in [
        ("refused", 502, false),
        ("slow-headers", 504, false),
        ("silent-stream", 504, true),
        ("no-key", 503, false),
    ] {
        let mut request = chat_body(model);
        request["stream"] = json!(stream);
        let started = std::time::Instant::now();
        let response = gw.post("/v1/chat/completions", &request).await;
        assert_eq!(response.status().as_u16(), status, "{model}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{model} took {:?}",
            started.elapsed()
        );
        let body: Value = response.json().await.unwrap();
        assert_openai_error(&body);
        if model == "no-key" {
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("TEST_UNSET_PROVIDER_KEY"), "{message}");
        }
    }
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_an_error_event_not_done() {
    let gw = start().await;
    let mut request = chat_body("cut-stream");
    request["stream"] = json!(true);
    let response = gw.post("/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let data = sse_data(&text);
    assert!(!data.iter().any(|d| d == "[DONE]"), "{text}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted");
    assert_eq!(
        data.len(),
        1 + 3 + 1,
        "role chunk, three words, error: {text}"
    );
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_stream() {
    let gw = start().await;
    let mut request = chat_body("slow-chunks");
    request["stream"] = json!(true);
    let mut response = gw.post("/v1/chat/completions", &request).await;
    let _ = response.chunk().await.unwrap();
    drop(response);
    for _ in 0..50 {
        if gw.mock.state.streams_cancelled.load(Ordering::Relaxed) == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the mock's stream was not cancelled");
}

#[tokio::test]
async fn rate_limited_keys_get_429_with_retry_after() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = gateway::keys::mint().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[[providers]]\nname = \"mock\"\nbase_url = \"{}\"\n[[models]]\nname = \"m\"\nprovider = \"mock\"\nupstream_model = \"mock\"\n[[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\nrpm = 2\n{}",
        mock.base_url(),
        gateway::keys::KeyHash::of(&key),
        common::analytics_toml()
    );
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let running = gateway::server::start(&config).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/chat/completions", running.addr);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client
            .post(&url)
            .bearer_auth(&key)
            .json(&chat_body("m"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(assert_openai_error(&body)["code"], "rate_limit_exceeded");
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_provider_and_model() {
    let gw = start().await;
    gw.post("/v1/chat/completions", &chat_body("mock-chat"))
        .await
        .bytes()
        .await
        .unwrap();
    gw.post("/v1/chat/completions", &chat_body("fail-500"))
        .await
        .bytes()
        .await
        .unwrap();
    gw.post("/v1/chat/completions", &chat_body("refused"))
        .await
        .bytes()
        .await
        .unwrap();
    let text = gw
        .client
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"gateway_requests_total{route="chat_completions",status="200",provider="mock",model="mock-chat"} 1"#,
        r#"gateway_requests_total{route="chat_completions",status="500",provider="mock",model="fail-500"} 1"#,
        r#"gateway_upstream_errors_total{provider="closed",kind="upstream_connect"} 1"#,
        r#"gateway_upstream_errors_total{provider="mock",kind="status"} 1"#,
        "gateway_request_duration_seconds_bucket",
        "gateway_upstream_duration_seconds_bucket",
        "gateway_in_flight_requests",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let ready = gw.client.get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let health = gw.client.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn shutdown_lets_an_open_stream_finish() {
    let gw = start().await;
    // 10 words at 50 ms: the stream runs for about half a second.
    let mut request = chat_body("short-chunks");
    request["stream"] = json!(true);
    let response = gw.post("/v1/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    let addr = gw.gateway.addr;
    let common::TestGateway { gateway, mock, .. } = gw;
    let shutdown = tokio::spawn(gateway.shutdown());
    // New connections are refused once the listener is closed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // The open stream still runs to its end within the 5 s grace.
    let text = response.text().await.unwrap();
    assert!(
        sse_data(&text).last().is_some_and(|d| d == "[DONE]"),
        "{text}"
    );
    shutdown.await.unwrap();
    drop(mock);
}

#[tokio::test]
async fn azure_flavor_uses_deployment_urls_api_key_header_and_query() {
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let key = gateway::keys::mint().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[providers]]\nname = \"azure\"\nflavor = \"azure\"\nbase_url = \"http://{}\"\napi_key_env = \"AZ\"\nquery = {{ \"api-version\" = \"2024-10-21\" }}\n\
         [[models]]\nname = \"gpt\"\nprovider = \"azure\"\nupstream_model = \"my-deployment\"\n\
         [[keys]]\nid = \"k\"\nhash = \"{}\"\ntenant = \"t\"\n",
        mock.addr,
        gateway::keys::KeyHash::of(&key)
    ) + &common::analytics_toml();
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |name| {
        (name == "AZ").then(|| "az-secret".to_owned())
    })
    .unwrap();
    let running = gateway::server::start(&config).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/chat/completions", running.addr))
        .bearer_auth(&key)
        .json(&chat_body("gpt"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let uri = mock.state.last_uri.lock().unwrap().clone().unwrap();
    assert_eq!(
        uri,
        "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
    );
    let headers = mock.state.last_headers.lock().unwrap().clone();
    assert!(
        headers.contains(&("api-key".to_owned(), "az-secret".to_owned())),
        "{headers:?}"
    );
    assert!(
        !headers.iter().any(|(k, _)| k == "authorization"),
        "the client's key must not be forwarded"
    );
}

/// One HTTP/1.1 answer read off a raw connection: its head (lowercased) and body.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helper: a failure stops the test"
)]
async fn read_answer(stream: &mut tokio::net::TcpStream) -> (String, String) {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.expect("the answer is readable");
        assert!(n > 0, "closed before an answer: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("a content-length");
    while seen.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed inside the body");
        seen.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&seen[head_end..head_end + length]).into_owned();
    (head, body)
}

/// A client that writes its whole body before it reads (urllib, most SDKs'
/// transports) must get an early answer (413 for an oversized body, 401 for a
/// wrong key) whole, not a reset mid-upload.
#[tokio::test]
async fn a_client_uploading_a_large_body_reads_an_early_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = start().await;
    let request = |key: &str, body_len: usize| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer {key}\r\n\
             content-type: application/json\r\ncontent-length: {body_len}\r\n\r\n"
        )
    };
    // More than loopback's socket buffers hold, so the server must read it.
    let oversized = vec![b' '; 16 * 1024 * 1024];
    for (key, status, code) in [
        (gw.key.as_str(), "413", "request_too_large"),
        ("sk-not-a-gateway-key", "401", "invalid_api_key"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(gw.gateway.addr)
            .await
            .unwrap();
        stream
            .write_all(request(key, oversized.len()).as_bytes())
            .await
            .unwrap();
        // The answer comes at once, but this client reads only after its upload:
        // a server that closed mid-upload would fail these writes.
        for piece in oversized.chunks(64 * 1024) {
            stream
                .write_all(piece)
                .await
                .expect("the upload is not cut off");
        }
        let (head, body) = read_answer(&mut stream).await;
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
        // Closed once the body is in, without a reset.
        assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest));
        assert_eq!(closed.await.expect("closed in time").unwrap(), 0);
    }
}
