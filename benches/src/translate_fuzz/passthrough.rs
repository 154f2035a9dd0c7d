//! Feeds for the readers of what passes through untouched: the request read
//! for routing only (Anthropic's and the Responses API's lenient readings),
//! an Anthropic answer body read for its usage, and upstream SSE bytes split
//! into events as the relay splits them and watched as the relay watches them
//! (`PassWatch`: Anthropic's stream watch, the Responses watcher, OpenAI's
//! usage filter). Their input is whatever a provider or client sends, so
//! besides never panicking each keeps its promise: an Anthropic or Responses
//! event leaves exactly as it came, OpenAI's filter changes an event only to
//! drop its `usage`, and a stream ends once at most.

use bytes::Bytes;
use gateway::formats::anthropic;
use gateway::formats::codec::EgressFormat;
use gateway::formats::IngressFormat;
use gateway::sse::{single_data, EventSplitter};
use serde_json::Value;

/// A client body read for routing, as an Anthropic and as a Responses client
/// would have sent it, and as an Anthropic answer read for its usage.
pub fn request(data: &[u8]) -> usize {
    let mut out = 0;
    for format in [IngressFormat::Anthropic, IngressFormat::Responses] {
        if let Some(request) = format.decode_for_passthrough(data) {
            out += 1 + request.messages.len();
        }
    }
    out + usize::from(anthropic::passthrough::body_usage(data).is_some())
}

/// An Anthropic answer body read for its usage.
pub fn body(data: &[u8]) -> usize {
    usize::from(anthropic::passthrough::body_usage(data).is_some())
}

/// Upstream SSE bytes watched as `format` passes them through.
pub fn stream(format: EgressFormat, data: &[u8]) -> Result<usize, String> {
    let mut events = 0;
    for client_wants_usage in [false, true] {
        events += watch(format, client_wants_usage, data)?;
    }
    Ok(events)
}

fn watch(format: EgressFormat, client_wants_usage: bool, data: &[u8]) -> Result<usize, String> {
    let mut watch = format.pass_watch(client_wants_usage);
    let mut splitter = EventSplitter::default();
    splitter.push(data);
    let mut passed = 0;
    let mut ends = 0;
    while let Some(event) = splitter.next_event() {
        let Ok(out) = watch.on_event(event.clone()) else {
            // Not the format at all: the relay stops here.
            break;
        };
        passed += 1;
        ends += usize::from(out.last);
        if watch.failed() && !watch.done() {
            return Err("a failed stream is not over".into());
        }
        let untouched = matches!(format, EgressFormat::Anthropic | EgressFormat::Responses)
            || client_wants_usage;
        match out.event {
            Some(sent) if sent != event => {
                if untouched {
                    return Err(format!("{format:?} rewrote an event it must pass as is"));
                }
                usage_dropped(&event, &sent)?;
            }
            Some(_) => {}
            None if untouched => return Err(format!("{format:?} hid an event")),
            None => {}
        }
    }
    if ends > 1 {
        return Err(format!("{format:?}: the stream ended {ends} times"));
    }
    std::hint::black_box((watch.usage(), watch.done()));
    Ok(passed)
}

/// OpenAI's filter rewrote `event` into `sent`: that is allowed only to take
/// the top-level `usage` out of a JSON chunk, leaving the rest.
fn usage_dropped(event: &Bytes, sent: &Bytes) -> Result<(), String> {
    let (Some(before), Some(after)) = (single_data(event), single_data(sent)) else {
        return Err("the usage filter sent an event that is not one data line".into());
    };
    let Ok(Value::Object(mut before)) = serde_json::from_slice::<Value>(before) else {
        // Not JSON to begin with: the client gets garbage either way.
        return Ok(());
    };
    let after: Value = serde_json::from_slice(after)
        .map_err(|e| format!("the usage filter broke a JSON chunk: {e}"))?;
    before.remove("usage");
    if after != Value::Object(before) {
        return Err("the usage filter changed more than `usage`".into());
    }
    Ok(())
}
