//! Entry points for fuzz and property runs over the Responses translators.
//! Each takes arbitrary bytes and drives them as far through the translators
//! as they get in the gateway: parsing must refuse, never panic; whatever a
//! parse produces is rendered again. Each returns how many values it produced,
//! so a harness can see its inputs reach past the parsers.

use crate::llm::{ChatResponse, FinishReason, Part, StreamEvent, TokenUsage};

use super::stream::{frames, Decoder, Encoder};
use super::wire::request::CreateResponse;
use super::{egress, request, response};

/// A client's `/v1/responses` body through ingress, egress and the whole
/// Response renderer.
pub fn ingress_request(data: &[u8]) -> usize {
    let Ok(parsed) = request::parse(data) else {
        return 0;
    };
    let _ = parsed.require_stateless();
    let body = serde_json::to_vec(&egress::request(&parsed.chat)).map_or(0, |b| b.len());
    let answer = ChatResponse {
        id: "resp_fuzz".to_owned(),
        model: parsed.chat.model.clone(),
        content: parsed
            .chat
            .messages
            .iter()
            .flat_map(|m| m.content.iter().cloned())
            .collect(),
        finish: FinishReason::Stop,
        usage: None,
        created: None,
    };
    let rendered = response::render(&answer, &parsed.settings, 0);
    1 + usize::from(body > 0) + serde_json::to_vec(&rendered).map_or(0, |_| 1)
}

/// An upstream's Response body decoded and rendered again.
pub fn upstream_response(data: &[u8]) -> usize {
    match response::decode_bytes(data) {
        Some(answer) => {
            let rendered = response::render(&answer, &CreateResponse::default(), 0);
            1 + serde_json::to_vec(&rendered).map_or(0, |_| 1)
        }
        None => 0,
    }
}

/// An upstream's SSE bytes decoded and encoded again for a client.
pub fn upstream_stream(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let mut decoder = Decoder::new();
    let mut encoder = Encoder::new(CreateResponse::default(), 0, "resp_fuzz", "fuzz");
    let mut events = Vec::new();
    let mut failed = None;
    for payload in super::stream::data_payloads(&text) {
        match decoder.push(payload.as_bytes()) {
            Ok(decoded) => decoded.iter().for_each(|e| events.extend(encoder.push(e))),
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    match failed {
        Some(error) => events.extend(encoder.fail(&error)),
        None => events.extend(encoder.finish()),
    }
    frames(&events).len()
}

/// Arbitrary llm stream events (read from the bytes) through the encoder,
/// and the whole answer they make through the Response renderer.
pub fn llm_values(data: &[u8]) -> usize {
    let events = llm_events(data);
    let mut encoder = Encoder::new(CreateResponse::default(), 0, "resp_fuzz", "fuzz");
    let mut out = Vec::new();
    for event in &events {
        out.extend(encoder.push(event));
    }
    out.extend(encoder.finish());
    let mut content = Vec::new();
    let mut finish = FinishReason::Stop;
    for event in &events {
        match event {
            StreamEvent::Text(text) => content.push(Part::text(text.clone())),
            StreamEvent::Thinking { text, signature } => content.push(Part::Thinking {
                text: text.clone(),
                signature: signature.clone(),
            }),
            StreamEvent::ToolCallStart { id, name, .. } => content.push(Part::ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: String::new(),
            }),
            StreamEvent::Finish(reason) => finish = reason.clone(),
            _ => {}
        }
    }
    let answer = ChatResponse {
        id: String::from_utf8_lossy(data.get(..4).unwrap_or_default()).into_owned(),
        model: String::new(),
        content,
        finish,
        usage: None,
        created: None,
    };
    let rendered = response::render(&answer, &CreateResponse::default(), 0);
    out.len() + serde_json::to_vec(&rendered).map_or(0, |_| 1)
}

/// llm stream events spelled by `data`: each byte picks an event, the next
/// few give its text or numbers. Every sequence is allowed, sensible or not
/// (arguments before their call, two finishes, events after the finish).
pub fn llm_events(data: &[u8]) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    let mut rest = data;
    let mut take = |n: usize| -> String {
        let n = n.min(rest.len());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        String::from_utf8_lossy(head).into_owned()
    };
    let mut bytes = data.iter().copied();
    let mut guard = 0;
    while let Some(b) = bytes.next() {
        guard += 1;
        if guard > 256 {
            break;
        }
        let n = usize::from(bytes.next().unwrap_or(0) % 8);
        let index = u32::from(b >> 4) % 4;
        events.push(match b % 9 {
            0 => StreamEvent::Start {
                id: take(n),
                model: take(n),
            },
            1 | 2 => StreamEvent::Text(take(n)),
            3 => StreamEvent::Thinking {
                text: take(n),
                signature: (b & 0x10 != 0).then(|| take(n)),
            },
            4 => StreamEvent::ToolCallStart {
                index,
                id: take(n),
                name: take(n),
            },
            5 => StreamEvent::ToolCallArguments {
                index,
                arguments: take(n),
            },
            6 => StreamEvent::Finish(match b >> 4 {
                0 => FinishReason::Length,
                1 => FinishReason::ContentFilter,
                2 => FinishReason::ToolCalls,
                3 => FinishReason::StopSequence(Some(take(n))),
                4 => FinishReason::Other(take(n)),
                _ => FinishReason::Stop,
            }),
            7 => StreamEvent::Usage(TokenUsage {
                prompt_tokens: u64::from(b) << 56,
                completion_tokens: u64::MAX - u64::from(b),
                cached_prompt_tokens: u64::from(b),
                cache_write_tokens: 1,
                reasoning_tokens: 2,
            }),
            _ => StreamEvent::Text(String::new()),
        });
    }
    events
}

/// What a passthrough reads: a body for routing only, and each line as a
/// passed-through stream event.
pub fn passthrough(data: &[u8]) -> usize {
    let routed = usize::from(super::lenient::parse_for_passthrough(data).is_some());
    let mut watcher = super::stream::Watcher::new();
    for line in data.split(|&b| b == b'\n') {
        watcher.observe(line);
    }
    routed + usize::from(watcher.done()) + usize::from(watcher.usage().is_some())
}

/// All of the above on one input.
pub fn all(data: &[u8]) -> usize {
    ingress_request(data)
        + upstream_response(data)
        + upstream_stream(data)
        + llm_values(data)
        + passthrough(data)
}
