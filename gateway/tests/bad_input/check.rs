//! Judging answers. The contract: the app answers every well-framed request with
//! a valid response (2xx JSON or SSE, or the plain-text operational endpoints) or
//! an OpenAI-shaped error with a 4xx/5xx status; it marks every answer with
//! `x-request-id`. An answer without that header came from hyper itself, which
//! is allowed only for malformed framing, and only as an empty 4xx.
//!
//! There are no exemptions here: a breach is a failure of the barrage.

use serde_json::Value;

use crate::cases::Expect;
use crate::common;

/// One HTTP answer as received.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    /// Carries `x-request-id`, which the app adds to every answer it makes.
    pub from_app: bool,
    pub body: Vec<u8>,
}

/// What came back, for the summary.
#[derive(Debug)]
pub enum Seen {
    /// The app answered with this status.
    App(u16),
    /// hyper answered on its own (malformed framing).
    Hyper(u16),
    /// The connection closed without an HTTP/1.1 answer (malformed framing).
    Closed,
}

impl Seen {
    pub fn status(&self) -> Option<u16> {
        match self {
            Seen::App(status) | Seen::Hyper(status) => Some(*status),
            Seen::Closed => None,
        }
    }
}

/// Judges one answer. `may_be_hyper`: hyper may have answered instead of the app
/// (malformed framing, or leftover bytes after a request).
pub fn judge(answer: &Answer, head: bool, may_be_hyper: bool) -> Result<Seen, String> {
    if !answer.from_app {
        let empty_4xx = (400..500).contains(&answer.status) && answer.body.is_empty();
        return match (may_be_hyper, empty_4xx) {
            (true, true) => Ok(Seen::Hyper(answer.status)),
            (true, false) => Err(format!(
                "hyper-level answer {} with {} body bytes",
                answer.status,
                answer.body.len()
            )),
            (false, _) => Err(format!(
                "status {} without x-request-id for a well-framed request",
                answer.status
            )),
        };
    }
    check_answer(head, answer.status, &answer.content_type, &answer.body)
        .map(|()| Seen::App(answer.status))
        .map_err(|why| {
            format!(
                "status {}: {why}; body: {}",
                answer.status,
                shown(&answer.body, 600)
            )
        })
}

/// What the case itself asked for, beyond the general contract.
pub fn judge_expectation(expect: Expect, status: u16) -> Result<(), String> {
    match expect {
        Expect::Success if !(200..300).contains(&status) => {
            Err(format!("an untouched, authorized request got {status}"))
        }
        Expect::ClientError if !(400..500).contains(&status) => {
            Err(format!("a body that is not JSON got {status}, not a 4xx"))
        }
        _ => Ok(()),
    }
}

/// An answer the app produced: a valid response or an OpenAI-shaped error.
pub fn check_answer(
    head: bool,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let success = (200..300).contains(&status);
    if !success && !(400..600).contains(&status) {
        return Err(format!("status {status} is neither a success nor an error"));
    }
    if success {
        return if head {
            Ok(())
        } else {
            check_success(content_type, body)
        };
    }
    if !content_type.starts_with("application/json") {
        return Err(format!("error with content-type `{content_type}`"));
    }
    if head {
        return Ok(());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("error body is not JSON: {e}"))?;
    check_error_shape(&value)
}

fn check_success(content_type: &str, body: &[u8]) -> Result<(), String> {
    if content_type.starts_with("text/event-stream") {
        return check_sse(body);
    }
    if content_type.starts_with("application/json") {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("2xx body is not JSON: {e}"))?;
        if !value.is_object() || value.get("error").is_some() {
            return Err("2xx body is not a result object".into());
        }
        return Ok(());
    }
    // The operational endpoints answer in text.
    let ops = (content_type.starts_with("text/plain") && (body == b"ok" || body == b"ready"))
        || (content_type.starts_with("application/openmetrics-text") && body.ends_with(b"# EOF\n"));
    if ops {
        Ok(())
    } else {
        Err(format!("2xx with content-type `{content_type}`"))
    }
}

fn check_error_shape(value: &Value) -> Result<(), String> {
    let error = value
        .get("error")
        .filter(|e| e.is_object())
        .ok_or("no `error` object")?;
    if !error["message"].is_string() {
        return Err("error.message is not a string".into());
    }
    if !error["type"].is_string() {
        return Err("error.type is not a string".into());
    }
    for field in ["param", "code"] {
        match error.get(field) {
            Some(Value::Null | Value::String(_)) => {}
            Some(_) => return Err(format!("error.{field} is neither null nor a string")),
            None => return Err(format!("error.{field} is missing")),
        }
    }
    Ok(())
}

/// Every event is a JSON object; the stream ends with `[DONE]`, or early with an
/// OpenAI-shaped error event.
fn check_sse(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|_| "SSE body is not UTF-8".to_owned())?;
    let data = common::sse_data(text);
    let last = data.last().ok_or("SSE stream without data events")?;
    for (i, payload) in data.iter().enumerate() {
        if payload == "[DONE]" {
            if i + 1 != data.len() {
                return Err("events after [DONE]".into());
            }
            continue;
        }
        let value: Value = serde_json::from_str(payload)
            .map_err(|e| format!("SSE data is not JSON ({e}): {payload}"))?;
        if !value.is_object() {
            return Err(format!("SSE data is not an object: {payload}"));
        }
    }
    if last != "[DONE]" {
        let value: Value = serde_json::from_str(last).map_err(|e| e.to_string())?;
        check_error_shape(&value)
            .map_err(|e| format!("stream ends without [DONE] or error event: {e}"))?;
    }
    Ok(())
}

/// At most `limit` bytes, escaped for printing, with a note of how many more.
pub fn shown(bytes: &[u8], limit: usize) -> String {
    let head = &bytes[..bytes.len().min(limit)];
    let mut text = head.escape_ascii().to_string();
    if bytes.len() > limit {
        text.push_str(&format!("... ({} more bytes)", bytes.len() - limit));
    }
    text
}
