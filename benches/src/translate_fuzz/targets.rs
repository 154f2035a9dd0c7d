//! The translators under test, one [`Target`] per format and direction, and
//! how each case's input reaches every translator that would meet it in the
//! gateway: a parsed request goes on through every egress renderer, a parsed
//! answer through every ingress renderer, decoded stream events through every
//! stream encoder. Anything a translator returns is serialized, so the whole
//! path runs. The count a feed returns is how many values came out (a run
//! whose inputs never got past the parsers would show it).

use std::path::Path;

use fastrand::Rng;
use gateway::formats::responses::wire::request::CreateResponse;
use gateway::formats::{anthropic, gemini, openai_chat, responses};
use gateway::llm::{ChatRequest, ChatResponse, StreamEvent};
use serde_json::Value;

use gateway::formats::codec::EgressFormat;

use super::passthrough;
use super::{anthropic as anthropic_gen, gemini as gemini_gen, llm, mutate, openai, round_trip};
use super::{responses as responses_gen, values::chance};

/// Where a case's input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Valid,
    Mutated,
    Fixture,
    Random,
}

/// One case's input.
#[derive(Debug)]
pub enum Input {
    Bytes(Vec<u8>),
    Request(Box<ChatRequest>),
    Response(ChatResponse),
    Events(Vec<StreamEvent>),
    RoundTrip(Value),
}

impl Input {
    /// The input for a failure report, cut at `limit` bytes.
    pub fn show(&self, limit: usize) -> String {
        let full = match self {
            Input::Bytes(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            Input::RoundTrip(body) => body.to_string(),
            other => format!("{other:?}"),
        };
        match full.char_indices().nth(limit) {
            Some((cut, _)) => format!("{}... ({} bytes in all)", &full[..cut], full.len()),
            None => full,
        }
    }
}

/// How a target makes its inputs.
enum Source {
    /// One JSON document (a request or a whole answer).
    Document {
        valid: fn(&mut Rng) -> Value,
        keys: &'static [&'static str],
    },
    /// A stream of JSON events and how the format frames them as SSE.
    Stream {
        valid: fn(&mut Rng) -> Vec<Value>,
        frame: fn(&[Value], &mut Rng) -> Vec<u8>,
        keys: &'static [&'static str],
    },
    /// Values of the gateway's model, made directly.
    Typed(fn(&mut Rng) -> Input),
}

/// One translator (or chain of translators) under test.
pub struct Target {
    pub name: &'static str,
    source: Source,
    /// Fixture files of this direction, for mutation.
    corpus: Vec<Vec<u8>>,
    feed: fn(&Input) -> Result<usize, String>,
}

impl Target {
    /// The input of the case `rng` was seeded for.
    pub fn input(&self, rng: &mut Rng) -> (Input, Origin) {
        match &self.source {
            Source::Typed(make) => (make(rng), Origin::Valid),
            Source::Document { valid, keys } => {
                let roll = rng.u8(..100);
                if roll < 4 {
                    return (Input::Bytes(mutate::random(rng)), Origin::Random);
                }
                if roll < 12 && !self.corpus.is_empty() {
                    let mut bytes = self.corpus[rng.usize(..self.corpus.len())].clone();
                    if rng.u8(..4) > 0 {
                        mutate::bytes(rng, &mut bytes, keys);
                    }
                    return (Input::Bytes(bytes), Origin::Fixture);
                }
                let mut value = valid(rng);
                if roll < 50 {
                    return (Input::Bytes(json(&value)), Origin::Valid);
                }
                if rng.bool() {
                    mutate::value(rng, &mut value);
                }
                let mut bytes = json(&value);
                if roll < 75 || rng.bool() {
                    mutate::bytes(rng, &mut bytes, keys);
                }
                (Input::Bytes(bytes), Origin::Mutated)
            }
            Source::Stream { valid, frame, keys } => {
                let roll = rng.u8(..100);
                if roll < 4 {
                    return (Input::Bytes(mutate::random(rng)), Origin::Random);
                }
                if roll < 12 && !self.corpus.is_empty() {
                    let mut bytes = self.corpus[rng.usize(..self.corpus.len())].clone();
                    if rng.u8(..4) > 0 {
                        mutate::bytes(rng, &mut bytes, keys);
                    }
                    return (Input::Bytes(bytes), Origin::Fixture);
                }
                let mut events = valid(rng);
                if roll < 50 {
                    return (Input::Bytes(frame(&events, rng)), Origin::Valid);
                }
                match rng.u8(..4) {
                    0 if !events.is_empty() => {
                        let at = rng.usize(..events.len());
                        mutate::value(rng, &mut events[at]);
                    }
                    1 if !events.is_empty() => {
                        events.remove(rng.usize(..events.len()));
                    }
                    2 if !events.is_empty() => {
                        let copy = events[rng.usize(..events.len())].clone();
                        events.insert(rng.usize(..=events.len()), copy);
                    }
                    _ => rng.shuffle(&mut events),
                }
                let mut bytes = frame(&events, rng);
                if chance(rng, 50) {
                    mutate::bytes(rng, &mut bytes, keys);
                }
                (Input::Bytes(bytes), Origin::Mutated)
            }
        }
    }

    /// Runs the case: the count of values produced, or why a property failed.
    pub fn feed(&self, input: &Input) -> Result<usize, String> {
        (self.feed)(input)
    }
}

fn json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The fixture files of `dir` (under gateway/tests/fixtures) whose names start
/// with one of `prefixes`.
fn corpus(dir: &str, prefixes: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gateway/tests/fixtures")
        .join(dir);
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            prefixes.iter().any(|p| name.starts_with(p))
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Every target, in report order.
pub fn all() -> Vec<Target> {
    let document = |valid, keys| Source::Document { valid, keys };
    vec![
        Target {
            name: "openai_chat.request",
            source: document(openai::request, openai::KEYS),
            corpus: corpus("openai", &["request_"]),
            feed: |input| bytes(input).map(chat_request),
        },
        Target {
            name: "openai_chat.response",
            source: document(openai::response, openai::KEYS),
            corpus: corpus("openai", &["response_"]),
            feed: |input| bytes(input).map(chat_response),
        },
        Target {
            name: "openai_chat.stream",
            source: Source::Stream {
                valid: openai::stream,
                frame: openai::frame,
                keys: openai::KEYS,
            },
            corpus: corpus("openai", &["stream_"]),
            feed: |input| bytes(input).map(chat_stream),
        },
        Target {
            name: "anthropic.request",
            source: document(anthropic_gen::request, anthropic_gen::KEYS),
            corpus: corpus("anthropic", &["request_", "egress_"]),
            feed: |input| bytes(input).map(anthropic_request),
        },
        Target {
            name: "anthropic.response",
            source: document(anthropic_gen::response, anthropic_gen::KEYS),
            corpus: corpus("anthropic", &["response_", "error_"]),
            feed: |input| bytes(input).map(anthropic_response),
        },
        Target {
            name: "anthropic.stream",
            source: Source::Stream {
                valid: anthropic_gen::stream,
                frame: anthropic_gen::frame,
                keys: anthropic_gen::KEYS,
            },
            corpus: corpus("anthropic", &["stream_", "encoded_"]),
            feed: |input| bytes(input).map(anthropic_stream),
        },
        Target {
            name: "gemini.response",
            source: document(gemini_gen::response, gemini_gen::KEYS),
            corpus: corpus("gemini", &["response_", "error_"]),
            feed: |input| bytes(input).map(gemini_response),
        },
        Target {
            name: "gemini.stream",
            source: Source::Stream {
                valid: gemini_gen::stream,
                frame: gemini_gen::frame,
                keys: gemini_gen::KEYS,
            },
            corpus: corpus("gemini", &["stream_"]),
            feed: |input| bytes(input).map(gemini_stream),
        },
        Target {
            name: "responses.request",
            source: document(responses_gen::request, responses_gen::KEYS),
            corpus: corpus("openai-responses", &["request_"]),
            feed: |input| bytes(input).map(responses_request),
        },
        Target {
            name: "responses.response",
            source: document(responses_gen::response, responses_gen::KEYS),
            corpus: corpus(
                "openai-responses",
                &["response_", "gateway_response", "error_"],
            ),
            feed: |input| bytes(input).map(responses_response),
        },
        Target {
            name: "responses.stream",
            source: Source::Stream {
                valid: responses_gen::stream,
                frame: responses_gen::frame,
                keys: responses_gen::KEYS,
            },
            corpus: corpus("openai-responses", &["stream_", "gateway_stream"]),
            feed: |input| bytes(input).map(responses_stream),
        },
        Target {
            name: "passthrough.anthropic.request",
            source: document(anthropic_gen::request, anthropic_gen::KEYS),
            corpus: corpus("anthropic", &["request_", "egress_"]),
            feed: |input| bytes(input).map(passthrough::request),
        },
        Target {
            name: "passthrough.responses.request",
            source: document(responses_gen::request, responses_gen::KEYS),
            corpus: corpus("openai-responses", &["request_"]),
            feed: |input| bytes(input).map(passthrough::request),
        },
        Target {
            name: "passthrough.anthropic.body",
            source: document(anthropic_gen::response, anthropic_gen::KEYS),
            corpus: corpus("anthropic", &["response_", "error_"]),
            feed: |input| bytes(input).map(passthrough::body),
        },
        Target {
            name: "passthrough.anthropic.stream",
            source: Source::Stream {
                valid: anthropic_gen::stream,
                frame: anthropic_gen::frame,
                keys: anthropic_gen::KEYS,
            },
            corpus: corpus("anthropic", &["stream_", "encoded_"]),
            feed: |input| passthrough::stream(EgressFormat::Anthropic, bytes(input)?),
        },
        Target {
            name: "passthrough.responses.stream",
            source: Source::Stream {
                valid: responses_gen::stream,
                frame: responses_gen::frame,
                keys: responses_gen::KEYS,
            },
            corpus: corpus("openai-responses", &["stream_", "gateway_stream"]),
            feed: |input| passthrough::stream(EgressFormat::Responses, bytes(input)?),
        },
        Target {
            name: "passthrough.openai_chat.stream",
            source: Source::Stream {
                valid: openai::stream,
                frame: openai::frame,
                keys: openai::KEYS,
            },
            corpus: corpus("openai", &["stream_"]),
            feed: |input| passthrough::stream(EgressFormat::OpenAiChat, bytes(input)?),
        },
        Target {
            name: "llm.request -> every egress",
            source: Source::Typed(|rng| Input::Request(Box::new(llm::request(rng)))),
            corpus: Vec::new(),
            feed: |input| match input {
                Input::Request(request) => Ok(egress_all(request)),
                _ => Err("not a request".into()),
            },
        },
        Target {
            name: "llm.response -> every ingress",
            source: Source::Typed(|rng| Input::Response(llm::response(rng))),
            corpus: Vec::new(),
            feed: |input| match input {
                Input::Response(response) => Ok(ingress_all(response)),
                _ => Err("not a response".into()),
            },
        },
        Target {
            name: "llm.stream -> every encoder",
            source: Source::Typed(|rng| Input::Events(llm::stream(rng))),
            corpus: Vec::new(),
            feed: |input| match input {
                Input::Events(events) => Ok(encode_all(events)),
                _ => Err("not events".into()),
            },
        },
        Target {
            name: "round trip openai->anthropic->openai",
            source: Source::Typed(|rng| Input::RoundTrip(round_trip::request(rng))),
            corpus: Vec::new(),
            feed: |input| match input {
                Input::RoundTrip(body) => round_trip::check(body).map(|()| 1),
                _ => Err("not a round trip".into()),
            },
        },
    ]
}

/// A target that fails on purpose (a panic on about one input in 16, a broken
/// property on another): `--self-test` adds it to show that the run catches,
/// counts and reports both, and exits non-zero.
pub fn self_test() -> Target {
    Target {
        name: "self-test (fails on purpose)",
        source: Source::Typed(|rng| Input::Bytes(mutate::random(rng))),
        corpus: Vec::new(),
        feed: |input| {
            let data = bytes(input)?;
            match data.first().map(|b| b % 16) {
                Some(0) => deliberate_panic(data.len()),
                Some(1) => Err("deliberately broken property".into()),
                _ => Ok(data.len()),
            }
        },
    }
}

#[expect(clippy::panic, reason = "the self-test target must panic")]
fn deliberate_panic(len: usize) -> Result<usize, String> {
    panic!("deliberate panic on a {len}-byte input")
}

fn bytes(input: &Input) -> Result<&[u8], String> {
    match input {
        Input::Bytes(bytes) => Ok(bytes),
        _ => Err("not bytes".into()),
    }
}

/// The `data:` payloads of an SSE text, one per line that has one.
fn data_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| *b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.strip_prefix(b"data:")
            .map(|rest| rest.strip_prefix(b" ").unwrap_or(rest))
    })
}

/// `request` through every egress renderer, serialized.
fn egress_all(request: &ChatRequest) -> usize {
    let mut out = 0;
    if let Ok((body, _plan)) = anthropic::egress::to_request(request, 4096) {
        out += serde_json::to_vec(&body).map_or(0, |b| usize::from(!b.is_empty()));
    }
    out += gemini::fuzz::render_request(request);
    out += usize::from(!openai_chat::request::encode(request, "upstream").is_empty());
    let body = responses::egress::request(request);
    out += serde_json::to_vec(&body).map_or(0, |b| usize::from(!b.is_empty()));
    out
}

/// `response` through every ingress renderer.
fn ingress_all(response: &ChatResponse) -> usize {
    let mut out = usize::from(!openai_chat::response::encode(response, 0).is_empty());
    out += usize::from(!anthropic::ingress::response_body(response).is_empty());
    let object = responses::response::render(response, &CreateResponse::default(), 0);
    out += serde_json::to_vec(&object).map_or(0, |b| usize::from(!b.is_empty()));
    out
}

/// `events` through every stream encoder, to the end of each stream.
fn encode_all(events: &[StreamEvent]) -> usize {
    let mut out = 0;
    let mut chat = openai_chat::stream::Encoder::new(0, true);
    for event in events {
        out += chat.encode(event).map_or(0, |b| b.len().min(1));
    }
    out += usize::from(!chat.finish().is_empty());
    let mut claude = anthropic::ingress::StreamEncoder::new("msg_fuzz", "fuzz");
    let mut frames = Vec::new();
    for event in events {
        claude.push(event, &mut frames);
    }
    claude.finish(&mut frames);
    out += frames.len();
    let mut typed = responses::stream::Encoder::new(CreateResponse::default(), 0, "fuzz", "fuzz");
    let mut sent = Vec::new();
    for event in events {
        sent.extend(typed.push(event));
    }
    sent.extend(typed.finish());
    out += usize::from(!responses::stream::frames(&sent).is_empty());
    out
}

fn chat_request(data: &[u8]) -> usize {
    openai_chat::request::decode(data).map_or(0, |request| 1 + egress_all(&request))
}

fn chat_response(data: &[u8]) -> usize {
    openai_chat::response::decode(data).map_or(0, |response| 1 + ingress_all(&response))
}

fn chat_stream(data: &[u8]) -> usize {
    let mut decoder = openai_chat::stream::Decoder::default();
    let mut events = Vec::new();
    for payload in data_lines(data) {
        match decoder.decode(payload) {
            Ok(found) => events.extend(found),
            Err(_) => break,
        }
        if decoder.done() {
            break;
        }
    }
    std::hint::black_box(encode_all(&events));
    events.len()
}

fn anthropic_request(data: &[u8]) -> usize {
    let mut out = anthropic::fuzz::ingress_request(data);
    if let Ok(request) = anthropic::ingress::parse_request(data) {
        out += egress_all(&request);
    }
    out
}

fn anthropic_response(data: &[u8]) -> usize {
    let mut out = anthropic::fuzz::upstream_response(data);
    let _ = anthropic::error::parse_error(data);
    if let Ok(response) = anthropic::egress::parse_response(data, &Default::default()) {
        out += ingress_all(&response);
    }
    out
}

fn anthropic_stream(data: &[u8]) -> usize {
    std::hint::black_box(anthropic::fuzz::upstream_stream(data));
    let mut decoder = anthropic::egress::StreamDecoder::new(Default::default());
    let mut events = Vec::new();
    for payload in data_lines(data) {
        if decoder.push(payload, &mut events).is_err() {
            break;
        }
    }
    std::hint::black_box(encode_all(&events));
    events.len()
}

fn gemini_response(data: &[u8]) -> usize {
    let mut out = gemini::fuzz::parse_upstream_bytes(data);
    if let Ok(response) = gemini::response::parse(data) {
        out += ingress_all(&response);
    }
    out
}

fn gemini_stream(data: &[u8]) -> usize {
    std::hint::black_box(gemini::fuzz::parse_upstream_bytes(data));
    let mut decoder = gemini::StreamDecoder::new();
    let mut events = Vec::new();
    for event in gemini::stream::split_events(data) {
        match decoder.event(event) {
            Ok(found) => events.extend(found),
            Err(_) => break,
        }
    }
    if let Ok(found) = decoder.end() {
        events.extend(found);
    }
    std::hint::black_box(encode_all(&events));
    events.len()
}

fn responses_request(data: &[u8]) -> usize {
    match responses::request::parse(data) {
        Ok(parsed) => {
            let _ = parsed.require_stateless();
            1 + egress_all(&parsed.chat)
                + serde_json::to_vec(&parsed.settings).map_or(0, |b| b.len().min(1))
        }
        Err(error) => usize::from(error.body().is_empty()),
    }
}

fn responses_response(data: &[u8]) -> usize {
    responses::response::decode_bytes(data).map_or(0, |response| 1 + ingress_all(&response))
}

fn responses_stream(data: &[u8]) -> usize {
    let mut decoder = responses::stream::Decoder::new();
    let mut events = Vec::new();
    for payload in data_lines(data) {
        match decoder.push(payload) {
            Ok(found) => events.extend(found),
            Err(_) => break,
        }
    }
    std::hint::black_box(encode_all(&events));
    events.len()
}
