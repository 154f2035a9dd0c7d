//! Property runs over the fuzz entry points: random bytes, fixtures mutated
//! byte by byte, spliced and cut, and random llm event sequences. Nothing may
//! panic; the streams the encoder makes must stay well formed and decode back
//! to what went in. `FUZZ_ITERATIONS` sets the count (default 5,000 per
//! property; 1,000,000 for a long run).

use serde_json::Value;

use super::fixtures;
use crate::formats::responses::fuzz;
use crate::formats::responses::stream::{Decoder, Encoder};
use crate::formats::responses::wire::request::CreateResponse;
use crate::llm::StreamEvent;

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
}

fn seeds() -> Vec<Vec<u8>> {
    [
        "request_text.json",
        "request_tool_round_trip.json",
        "response_text.json",
        "response_function_call.json",
        "response_incomplete.json",
        "stream_text.sse",
        "stream_function_call.sse",
        "gateway_response_tools.json",
        "gateway_stream_thinking_tools.sse",
        "gateway_stream_failed.sse",
    ]
    .iter()
    .map(|name| fixtures::text(name).into_bytes())
    .collect()
}

fn mutate(rng: &mut fastrand::Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.usize(..seeds.len())].clone();
    for _ in 0..rng.usize(1..6) {
        if data.is_empty() {
            break;
        }
        let at = rng.usize(..data.len());
        match rng.u8(..6) {
            0 => data[at] = rng.u8(..),
            1 => data.truncate(at),
            2 => {
                let other = &seeds[rng.usize(..seeds.len())];
                let from = rng.usize(..other.len().max(1));
                data.splice(
                    at..at,
                    other[from.min(other.len())..].iter().take(64).copied(),
                );
            }
            3 => {
                let symbols = b"{}[]\":,0-9.enulltruefalse\\";
                data.insert(at, symbols[rng.usize(..symbols.len())]);
            }
            4 => {
                data.remove(at);
            }
            _ => {
                let end = (at + rng.usize(..32)).min(data.len());
                data.drain(at..end);
            }
        }
    }
    data
}

#[test]
fn no_input_makes_a_translator_panic() {
    let seeds = seeds();
    let mut rng = fastrand::Rng::with_seed(0x5e5_9a7e);
    let mut reached = 0usize;
    let n = iterations();
    for _ in 0..n {
        let data = if rng.bool() {
            mutate(&mut rng, &seeds)
        } else {
            (0..rng.usize(..256)).map(|_| rng.u8(..)).collect()
        };
        reached += usize::from(fuzz::all(&data) > 0);
    }
    // The mutated fixtures must often get past the parsers, or the run tests
    // nothing but refusal.
    assert!(
        reached > n / 4,
        "only {reached} of {n} inputs got past the parsers"
    );
    println!("{n} inputs, {reached} past the parsers");
}

#[test]
fn the_unmutated_fixtures_get_through() {
    for seed in seeds() {
        assert!(fuzz::all(&seed) > 0, "{}", String::from_utf8_lossy(&seed));
    }
    assert!(fuzz::ingress_request(fixtures::text("request_text.json").as_bytes()) >= 3);
    assert!(fuzz::upstream_response(fixtures::text("response_text.json").as_bytes()) >= 2);
    assert!(fuzz::upstream_stream(fixtures::text("stream_text.sse").as_bytes()) > 500);
}

/// Any llm event sequence encodes to a well-formed stream that decodes back
/// to the same text and tool calls.
#[test]
fn any_llm_stream_encodes_well_formed_and_decodes_back() {
    let mut rng = fastrand::Rng::with_seed(0x11_f0_77);
    for _ in 0..iterations() / 4 {
        let data: Vec<u8> = (0..rng.usize(..96)).map(|_| rng.u8(..)).collect();
        let events = fuzz::llm_events(&data);
        let mut encoder = Encoder::new(CreateResponse::default(), 0, "resp_p", "m");
        let mut out = Vec::new();
        for event in &events {
            out.extend(encoder.push(event));
        }
        out.extend(encoder.finish());
        let values: Vec<Value> = out
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect();
        super::stream::well_formed(&values);
        let mut decoder = Decoder::new();
        let mut back = Vec::new();
        for value in &values {
            match decoder.push(value.to_string().as_bytes()) {
                Ok(decoded) => back.extend(decoded),
                Err(error) => panic!("{error:?} from {events:?}"),
            }
        }
        let text = |events: &[StreamEvent]| -> String {
            events
                .iter()
                .filter_map(|e| match e {
                    StreamEvent::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(text(&back), text(&events), "{events:?}");
        // Arguments count only once their call has started.
        let mut started = Vec::new();
        let mut arguments = String::new();
        for event in &events {
            match event {
                StreamEvent::ToolCallStart { index, .. } => started.push(*index),
                StreamEvent::ToolCallArguments {
                    index,
                    arguments: a,
                } if started.contains(index) => arguments.push_str(a),
                _ => {}
            }
        }
        let back_arguments: String = back
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallArguments { arguments, .. } => Some(arguments.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(back_arguments.len(), arguments.len(), "{events:?}");
    }
}
