//! The client formats the gateway serves, as a test speaks them: one request
//! per format for a model, and the answer read back in that format only (a
//! body or a stream in another format fails the read), with what the gateway
//! said about it. Tests that run one scenario through every ingress share this.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a malformed answer must stop the test"
)]

use std::time::Duration;

use analytics::event::UsageEvent;
use analytics::store::Store;
use chrono::Utc;
use gateway::server::RunningGateway;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    OpenAiChat,
    Anthropic,
    Responses,
}

pub const CLIENTS: [Client; 3] = [Client::OpenAiChat, Client::Anthropic, Client::Responses];

impl Client {
    /// The usage event's `ingress_format` of this client.
    pub fn label(self) -> &'static str {
        match self {
            Client::OpenAiChat => "openai_chat",
            Client::Anthropic => "anthropic",
            Client::Responses => "responses",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Client::OpenAiChat => "/v1/chat/completions",
            Client::Anthropic => "/v1/messages",
            Client::Responses => "/v1/responses",
        }
    }

    /// A short request for `model` with a system prompt, as this client writes it.
    pub fn body(self, model: &str, stream: bool) -> Value {
        match self {
            Client::OpenAiChat => json!({
                "model": model,
                "stream": stream,
                "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "hello there"}
                ]
            }),
            Client::Anthropic => json!({
                "model": model,
                "max_tokens": 300,
                "stream": stream,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "hello there"}]
            }),
            Client::Responses => json!({
                "model": model,
                "stream": stream,
                "instructions": "Be brief.",
                "input": "hello there"
            }),
        }
    }

    /// `body` sent with `key` as this client's SDK sends it.
    pub async fn send(
        self,
        http: &reqwest::Client,
        base: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        let request = http.post(format!("{base}{}", self.path())).json(body);
        let request = match self {
            Client::OpenAiChat | Client::Responses => request.bearer_auth(key),
            Client::Anthropic => request
                .header("x-api-key", key)
                .header("anthropic-version", "2023-06-01"),
        };
        request.send().await.unwrap()
    }

    /// Asks `model` and reads a successful answer.
    pub async fn ask(
        self,
        http: &reqwest::Client,
        base: &str,
        key: &str,
        model: &str,
        stream: bool,
    ) -> Answer {
        let response = self.send(http, base, key, &self.body(model, stream)).await;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
        };
        let mut answer = Answer {
            provider: header("x-gateway-provider"),
            model: header("x-gateway-model"),
            attempts: header("x-gateway-attempts"),
            cost: header("x-gateway-cost-usd"),
            baseline: header("x-gateway-baseline-usd"),
            text: String::new(),
            prompt: 0,
            completion: 0,
        };
        let content_type = header("content-type");
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{self:?} {model} stream={stream}: {body}");
        if stream {
            assert!(
                content_type.starts_with("text/event-stream"),
                "{content_type}"
            );
            // A stream's cost comes at its end, as an SSE comment.
            answer.cost = body
                .lines()
                .find_map(|l| l.strip_prefix(": x-gateway-cost-usd="))
                .unwrap_or_else(|| panic!("no cost comment: {body}"))
                .split([';', ' '])
                .next()
                .unwrap()
                .to_owned();
            self.read_stream(&body, &mut answer);
        } else {
            self.read_whole(&body, &mut answer);
        }
        answer
    }

    /// A whole answer, checked to be in this client's format.
    fn read_whole(self, body: &str, answer: &mut Answer) {
        let body: Value = serde_json::from_str(body).unwrap();
        match self {
            Client::OpenAiChat => {
                assert_eq!(body["object"], "chat.completion", "{body}");
                assert_eq!(body["choices"][0]["message"]["role"], "assistant", "{body}");
                answer.text = body["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                answer.prompt = body["usage"]["prompt_tokens"].as_u64().unwrap();
                answer.completion = body["usage"]["completion_tokens"].as_u64().unwrap();
            }
            Client::Anthropic => {
                assert_eq!(body["type"], "message", "{body}");
                assert_eq!(body["role"], "assistant", "{body}");
                assert_eq!(body["content"][0]["type"], "text", "{body}");
                assert_eq!(body["stop_reason"], "end_turn", "{body}");
                answer.text = body["content"][0]["text"].as_str().unwrap().to_owned();
                answer.prompt = anthropic_prompt(&body["usage"]);
                answer.completion = body["usage"]["output_tokens"].as_u64().unwrap();
            }
            Client::Responses => {
                assert_eq!(body["object"], "response", "{body}");
                assert_eq!(body["status"], "completed", "{body}");
                answer.text = responses_text(&body);
                answer.prompt = body["usage"]["input_tokens"].as_u64().unwrap();
                answer.completion = body["usage"]["output_tokens"].as_u64().unwrap();
            }
        }
    }

    /// A stream, checked to be in this client's format from its first event
    /// to its last.
    fn read_stream(self, body: &str, answer: &mut Answer) {
        match self {
            Client::OpenAiChat => {
                let data = crate::common::sse_data(body);
                assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
                for chunk in data.iter().filter(|d| *d != "[DONE]") {
                    let chunk: Value = serde_json::from_str(chunk).unwrap();
                    assert_eq!(chunk["object"], "chat.completion.chunk", "{chunk}");
                    if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str() {
                        answer.text.push_str(text);
                    }
                    if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
                        answer.prompt = usage["prompt_tokens"].as_u64().unwrap();
                        answer.completion = usage["completion_tokens"].as_u64().unwrap();
                    }
                }
            }
            Client::Anthropic => {
                let mut names = Vec::new();
                for (name, data) in named_events(body) {
                    match name.as_str() {
                        "message_start" => {
                            answer.prompt = anthropic_prompt(&data["message"]["usage"])
                        }
                        "content_block_delta" => answer
                            .text
                            .push_str(data["delta"]["text"].as_str().unwrap_or("")),
                        "message_delta" => {
                            answer.completion = data["usage"]["output_tokens"].as_u64().unwrap();
                            // A translated stream learns the prompt's size at its end.
                            if data["usage"]["input_tokens"].is_u64() {
                                answer.prompt = anthropic_prompt(&data["usage"]);
                            }
                        }
                        "error" => panic!("the stream failed: {body}"),
                        _ => {}
                    }
                    if names.last() != Some(&name) {
                        names.push(name);
                    }
                }
                assert_eq!(
                    names.first().map(String::as_str),
                    Some("message_start"),
                    "{body}"
                );
                assert_eq!(
                    names.last().map(String::as_str),
                    Some("message_stop"),
                    "{body}"
                );
            }
            Client::Responses => {
                let events = named_events(body);
                let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names.first(), Some(&"response.created"), "{body}");
                assert_eq!(names.last(), Some(&"response.completed"), "{body}");
                for (i, (name, data)) in events.iter().enumerate() {
                    assert_eq!(data["sequence_number"], i, "{body}");
                    match name.as_str() {
                        "response.output_text.delta" => {
                            answer.text.push_str(data["delta"].as_str().unwrap());
                        }
                        "response.completed" => {
                            let response = &data["response"];
                            assert_eq!(responses_text(response), answer.text, "{body}");
                            answer.prompt = response["usage"]["input_tokens"].as_u64().unwrap();
                            answer.completion =
                                response["usage"]["output_tokens"].as_u64().unwrap();
                        }
                        "error" | "response.failed" => panic!("the stream failed: {body}"),
                        _ => {}
                    }
                }
            }
        }
        assert!(!answer.text.is_empty(), "{body}");
    }

    /// Checks that `body` is an error in this client's shape.
    pub fn assert_error(self, body: &Value) {
        match self {
            Client::OpenAiChat | Client::Responses => {
                crate::common::assert_openai_error(body);
            }
            Client::Anthropic => {
                assert_eq!(body["type"], "error", "{body}");
                assert!(body["error"]["type"].is_string(), "{body}");
                assert!(body["error"]["message"].is_string(), "{body}");
            }
        }
    }
}

/// The text of a Responses API answer's output messages.
fn responses_text(response: &Value) -> String {
    let mut text = String::new();
    for item in response["output"].as_array().unwrap() {
        if item["type"] != "message" {
            continue;
        }
        assert_eq!(item["role"], "assistant", "{item}");
        for part in item["content"].as_array().unwrap() {
            if part["type"] == "output_text" {
                text.push_str(part["text"].as_str().unwrap());
            }
        }
    }
    text
}

/// An Anthropic usage object's whole prompt: plain, cache-read and cache-written.
fn anthropic_prompt(usage: &Value) -> u64 {
    [
        "input_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    ]
    .iter()
    .map(|field| usage[field].as_u64().unwrap_or(0))
    .sum()
}

/// The events of a stream with named events (`event:` and `data:`), each
/// checked to carry its name as its `type`.
pub fn named_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|event| event.contains("data: "))
        .map(|event| {
            let name = event
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_else(|| panic!("an event without a name: {event}"));
            let data: Value = serde_json::from_str(
                event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(data["type"], name, "{event}");
            (name.to_owned(), data)
        })
        .collect()
}

/// What a client read, and what the gateway said about it.
#[derive(Debug)]
pub struct Answer {
    pub provider: String,
    pub model: String,
    pub attempts: String,
    /// The cost header, or a stream's closing cost comment.
    pub cost: String,
    /// The baseline header (whole answers only).
    pub baseline: String,
    pub text: String,
    pub prompt: u64,
    pub completion: u64,
}

/// The tenant's events of the last hour, once at least `expected` are stored
/// (or after five seconds).
pub async fn events(gateway: &RunningGateway, tenant: &str, expected: usize) -> Vec<UsageEvent> {
    let from = Utc::now() - chrono::Duration::hours(1);
    let to = Utc::now() + chrono::Duration::hours(1);
    let read = || async {
        match gateway.store.as_ref() {
            Store::Sqlite(store) => store.events(tenant, from, to, 1000).await.unwrap(),
            Store::Postgres(store) => store.events(tenant, from, to, 1000).await.unwrap(),
        }
    };
    for _ in 0..250 {
        if read().await.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    read().await
}
