//! Entry points for fuzz and property runs: each feeds arbitrary bytes to one
//! translator and then on through the translators that would follow it in the
//! gateway, so a run covers parsing (which must refuse, never panic) and the
//! serialization of whatever the parse produced. They return how many values
//! were produced, so a harness can see its inputs reach past the parsers.

use bytes::Bytes;

use super::egress::{self, EgressPlan, StreamDecoder};
use super::ingress::{self, StreamEncoder};

/// A client's `/v1/messages` body through ingress, egress and back out.
pub fn ingress_request(data: &[u8]) -> usize {
    let mut produced = 0;
    if let Ok(request) = ingress::parse_count_tokens(data) {
        produced += 1;
        let _ = egress::to_request(&request, 4096).map(|(body, _)| serde_json::to_vec(&body));
    }
    if let Ok(request) = ingress::parse_request(data) {
        produced += 1;
        if let Ok((body, _)) = egress::to_request(&request, 4096) {
            produced += serde_json::to_vec(&body).map_or(0, |_| 1);
        }
    }
    produced
}

/// An Anthropic answer body through egress and back out to an Anthropic client,
/// once plainly and once with a response-format tool planned.
pub fn upstream_response(data: &[u8]) -> usize {
    let plans = [
        EgressPlan::default(),
        EgressPlan {
            format_tool: Some("json_output".into()),
        },
    ];
    let mut produced = 0;
    for plan in &plans {
        if let Ok(response) = egress::parse_response(data, plan) {
            produced += usize::from(!ingress::response_body(&response).is_empty());
        }
    }
    produced
}

/// An Anthropic SSE byte stream, split into events at blank lines, decoded and
/// encoded again for an Anthropic client.
pub fn upstream_stream(data: &[u8]) -> usize {
    let mut decoder = StreamDecoder::new(EgressPlan {
        format_tool: Some("json_output".into()),
    });
    let mut encoder = StreamEncoder::new("msg_fuzz", "fuzz");
    let mut events = Vec::new();
    let mut frames: Vec<Bytes> = Vec::new();
    for payload in data_payloads(data) {
        events.clear();
        let failed = decoder.push(payload, &mut events).is_err();
        for event in &events {
            encoder.push(event, &mut frames);
        }
        if failed {
            break;
        }
    }
    encoder.finish(&mut frames);
    frames.len()
}

/// The `data:` lines of an SSE text: Anthropic sends each event's JSON on one
/// `data:` line, so each is one event's payload.
pub fn data_payloads(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| *b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.strip_prefix(b"data:")
            .map(|rest| rest.strip_prefix(b" ").unwrap_or(rest))
    })
}

/// All of the above on one input.
pub fn all(data: &[u8]) -> usize {
    ingress_request(data) + upstream_response(data) + upstream_stream(data)
}
