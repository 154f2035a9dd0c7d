//! The client formats the load generator speaks: OpenAI chat completions and
//! Anthropic's Messages API. For each, what differs on the wire and nothing else:
//! the standard path, the header that carries the key, the request body (the same
//! prompt, so the formats compare like for like) and the event that ends a stream.
//! How requests are sent and timed is `client`'s and `runner`'s business.

use bytes::Bytes;
use clap::ValueEnum;
use hyper::header::{HeaderName, HeaderValue, InvalidHeaderValue, AUTHORIZATION};
use serde_json::{json, Value};

/// The Messages API version every request states (the SDKs' default).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The prompt every body carries, whatever its format.
const SYSTEM: &str = "You are a concise assistant for a software team. Answer in plain English.";
const USER: &str = "Summarize the main risks of rolling out a new payment service on a Friday afternoon, in three short bullet points.";
const TEMPERATURE: f64 = 0.2;
const MAX_TOKENS: u32 = 256;
const END_USER: &str = "bench-user-1";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// OpenAI chat completions: `POST /v1/chat/completions`, bearer key.
    #[default]
    Chat,
    /// Anthropic Messages: `POST /v1/messages`, `x-api-key` and `anthropic-version`.
    Messages,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Messages => "messages",
        }
    }

    /// Where the API is served, for a URL given without a path.
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "/v1/chat/completions",
            Api::Messages => "/v1/messages",
        }
    }

    /// The header that carries `key`, with its value.
    pub fn credential(self, key: &str) -> Result<(HeaderName, HeaderValue), InvalidHeaderValue> {
        match self {
            Api::Chat => Ok((
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {key}"))?,
            )),
            Api::Messages => Ok((
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_str(key)?,
            )),
        }
    }

    /// Headers the API requires besides the key.
    pub fn extra_headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Api::Chat => &[],
            Api::Messages => &[("anthropic-version", ANTHROPIC_VERSION)],
        }
    }

    /// A small, realistic request body (about 400 bytes), the same prompt in
    /// either format.
    pub fn body(self, model: &str, stream: bool) -> Bytes {
        let mut body = match self {
            Api::Chat => chat(model),
            Api::Messages => messages(model),
        };
        if stream {
            body["stream"] = Value::Bool(true);
        }
        Bytes::from(body.to_string())
    }

    /// The SSE field and value of the line that marks the last event of a
    /// complete stream.
    fn stream_end(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Api::Chat => (b"data", b"[DONE]"),
            Api::Messages => (b"event", b"message_stop"),
        }
    }

    /// Whether a stream whose last bytes are `tail` ended as the API ends a
    /// complete stream: its last event is `data: [DONE]` (chat) or
    /// `event: message_stop` (messages). Comments (`: ...` lines, which SSE
    /// clients ignore; the gateway's cost trailer is one) do not count as events.
    /// `tail` must hold the whole last event and any comments after it.
    pub fn stream_complete(self, tail: &[u8]) -> bool {
        let (field, value) = self.stream_end();
        let is_end = |line: &[u8]| {
            line.strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(b":"))
                .map(|rest| rest.strip_prefix(b" ").unwrap_or(rest))
                == Some(value)
        };
        tail.split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .rev()
            // Blank lines and comments after the last event.
            .skip_while(|line| line.is_empty() || line.starts_with(b":"))
            // The last event's lines, up to the blank line before it.
            .take_while(|line| !line.is_empty())
            .any(is_end)
    }
}

fn chat(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER}
        ],
        "temperature": TEMPERATURE,
        "max_tokens": MAX_TOKENS,
        "user": END_USER
    })
}

/// The chat body's content as the Messages API takes it: the system prompt at the
/// top level, the end user in `metadata` (the API refuses a top-level `user`).
fn messages(model: &str) -> Value {
    json!({
        "model": model,
        "system": SYSTEM,
        "messages": [
            {"role": "user", "content": USER}
        ],
        "temperature": TEMPERATURE,
        "max_tokens": MAX_TOKENS,
        "metadata": {"user_id": END_USER}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &Bytes) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn chat_bodies_carry_the_prompt_and_the_model() {
        let body = parse(&Api::Chat.body("m\"x", true));
        assert_eq!(body["model"], "m\"x");
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][0]["content"], SYSTEM);
        assert_eq!(body["messages"][1]["content"], USER);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["user"], "bench-user-1");
        assert!(parse(&Api::Chat.body("m", false)).get("stream").is_none());
    }

    #[test]
    fn messages_bodies_say_the_same_in_anthropic_s_shape() {
        let body = parse(&Api::Messages.body("claude\"x", false));
        assert_eq!(body["model"], "claude\"x");
        assert_eq!(body["system"], SYSTEM);
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"][0]["content"], USER);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["temperature"], 0.2);
        assert_eq!(body["metadata"]["user_id"], "bench-user-1");
        assert!(body.get("stream").is_none());
        // What the Messages API refuses at the top level.
        for field in ["user", "n", "stream_options"] {
            assert!(body.get(field).is_none(), "{field}");
        }
        assert_eq!(parse(&Api::Messages.body("m", true))["stream"], true);
    }

    #[test]
    fn both_bodies_are_about_the_same_size() {
        let chat = Api::Chat.body("mock", false).len() as f64;
        let messages = Api::Messages.body("mock", false).len() as f64;
        assert!((300.0..500.0).contains(&chat), "{chat}");
        assert!((messages / chat - 1.0).abs() < 0.1, "{chat} vs {messages}");
    }

    #[test]
    fn credentials_go_where_each_api_reads_them() {
        let (name, value) = Api::Chat.credential("k").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer k")
        );
        let (name, value) = Api::Messages.credential("k").unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("x-api-key", "k"));
        assert!(Api::Messages.credential("bad\nkey").is_err());
        assert!(Api::Chat.extra_headers().is_empty());
        assert_eq!(
            Api::Messages.extra_headers(),
            &[("anthropic-version", "2023-06-01")]
        );
    }

    #[test]
    fn a_chat_stream_ends_at_done() {
        let complete: &[&[u8]] = &[
            b"data: {\"a\":1}\n\ndata: [DONE]\n\n",
            b"data: [DONE]",
            b"x\r\n\r\ndata:[DONE]\r\n\r\n",
        ];
        for tail in complete {
            assert!(Api::Chat.stream_complete(tail), "{tail:?}");
            assert!(!Api::Messages.stream_complete(tail), "{tail:?}");
        }
        let incomplete: &[&[u8]] = &[
            b"data: {\"a\":1}\n\n",
            b"data: [DONE]\n\ndata: {\"a\":1}\n\n",
            b"data: [DONE]x\n\n",
            b"",
            b"\n\n",
        ];
        for tail in incomplete {
            assert!(!Api::Chat.stream_complete(tail), "{tail:?}");
        }
    }

    #[test]
    fn a_messages_stream_ends_at_message_stop() {
        let stop = b"event: message_delta\ndata: {\"type\":\"message_delta\"}\n\n\
            event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        assert!(Api::Messages.stream_complete(stop));
        assert!(!Api::Chat.stream_complete(stop));
        assert!(Api::Messages
            .stream_complete(b"event:message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"));
        let incomplete: &[&[u8]] = &[
            // Cut before the last event.
            b"event: message_delta\ndata: {\"type\":\"message_delta\"}\n\n",
            // An error after message_stop is the last event.
            b"event: message_stop\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\"}\n\n",
            // Only the data line of a stop: no event name.
            b"data: {\"type\":\"message_stop\"}\n\n",
            b"event: message_stopped\ndata: {}\n\n",
            b"",
        ];
        for tail in incomplete {
            assert!(!Api::Messages.stream_complete(tail), "{tail:?}");
        }
    }

    #[test]
    fn comments_after_the_last_event_do_not_count() {
        let trailer = b": x-gateway-cost-usd=0.0000069; x-gateway-priced=true\n\n";
        let stop = [
            &b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"[..],
            trailer,
        ]
        .concat();
        assert!(Api::Messages.stream_complete(&stop));
        let done = [&b"data: [DONE]\n\n"[..], trailer, b":\n\n"].concat();
        assert!(Api::Chat.stream_complete(&done));
        // A comment does not complete a stream cut before its end.
        let cut = [&b"event: message_delta\ndata: {}\n\n"[..], trailer].concat();
        assert!(!Api::Messages.stream_complete(&cut));
        assert!(!Api::Chat.stream_complete(trailer));
    }
}
