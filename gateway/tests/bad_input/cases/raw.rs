//! Requests written byte by byte for raw TCP, where no client library tidies
//! them up. Here: the base request every raw case starts from (a valid POST or
//! GET with `Connection: close`), and the variants whose framing is fine, so the
//! app itself must answer: a damaged body with an honest length,
//! `Expect: 100-continue`, chunked encoding, non-ASCII header bytes, pipelining,
//! HTTP/1.0, absolute-form targets, odd methods. Broken framing is in `framing`.

use fastrand::Rng;

use super::bytes::mutate_bytes;
use super::headers::legal_value_bytes;
use super::seeds::seed_body;
use super::{framing, is_json, pick, Case, Endpoint, Expect, Input, Keys, RawCase};

pub(super) type RawHeaders = Vec<(Vec<u8>, Vec<u8>)>;

/// The well-formed request a raw case starts from.
pub(super) struct Base {
    pub method: &'static str,
    pub path: &'static str,
    /// `METHOD path HTTP/1.1`.
    pub line: Vec<u8>,
    /// Host, `Connection: close`, Authorization, Content-Type; no length yet.
    pub headers: RawHeaders,
    pub body: Vec<u8>,
    /// Sent as it is, it must succeed: a valid key on a served route.
    pub succeeds: bool,
}

impl Base {
    fn new(rng: &mut Rng, keys: &Keys) -> Self {
        let (method, path, body): (&str, &str, Vec<u8>) = match rng.usize(0..4) {
            0 | 1 => (
                "POST",
                "/v1/chat/completions",
                serde_json::to_vec(&seed_body(rng, Endpoint::Chat)).unwrap_or_default(),
            ),
            2 => (
                "POST",
                "/v1/embeddings",
                serde_json::to_vec(&seed_body(rng, Endpoint::Embeddings)).unwrap_or_default(),
            ),
            _ => (
                "GET",
                pick(
                    rng,
                    &["/v1/models", "/v1/models/mock-chat", "/models", "/v1/nope"],
                ),
                Vec::new(),
            ),
        };
        let valid_key = rng.usize(0..10) < 8;
        let auth = if valid_key {
            format!("Bearer {}", keys.all).into_bytes()
        } else {
            b"Bearer sk-wrong".to_vec()
        };
        Base {
            method,
            path,
            line: format!("{method} {path} HTTP/1.1").into_bytes(),
            headers: vec![
                (b"Host".to_vec(), b"gateway.test".to_vec()),
                (b"Connection".to_vec(), b"close".to_vec()),
                (b"Authorization".to_vec(), auth),
                (b"Content-Type".to_vec(), b"application/json".to_vec()),
            ],
            body,
            succeeds: valid_key && path != "/v1/nope",
        }
    }

    /// What the untouched request (or one changed in no way that matters) must get.
    fn ok(&self) -> Expect {
        if self.succeeds {
            Expect::Success
        } else {
            Expect::Anything
        }
    }

    /// The whole request with the body's true `Content-Length`.
    fn honest(&self) -> Vec<u8> {
        assemble(
            &self.line,
            &with_length(&self.headers, &self.body),
            &self.body,
        )
    }
}

/// A raw request and how it must be judged.
pub(super) struct Raw {
    op: &'static str,
    bytes: Vec<u8>,
    half_close: bool,
    framing: bool,
    expect: Expect,
}

impl Raw {
    /// A well-framed request: the app must answer it.
    pub fn complete(op: &'static str, bytes: Vec<u8>, expect: Expect) -> Raw {
        Raw {
            op,
            bytes,
            half_close: false,
            framing: false,
            expect,
        }
    }

    /// Broken framing: hyper may answer or close instead of the app.
    /// `half_close`: the request is incomplete, so say no more bytes will come.
    pub fn framing(op: &'static str, bytes: Vec<u8>, half_close: bool) -> Raw {
        Raw {
            op,
            bytes,
            half_close,
            framing: true,
            expect: Expect::Anything,
        }
    }
}

/// Of the 24 raw variants, this many are well framed (the rest are in `framing`).
const WELL_FRAMED: usize = 10;

pub(super) fn raw_case(rng: &mut Rng, keys: &Keys) -> Case {
    let base = Base::new(rng, keys);
    let roll = rng.usize(0..24);
    let raw = if roll < WELL_FRAMED {
        well_framed(rng, base, roll)
    } else {
        framing::malformed(rng, base, roll - WELL_FRAMED)
    };
    Case {
        label: format!("raw/{}", raw.op),
        input: Input::Raw(RawCase {
            bytes: raw.bytes,
            half_close: raw.half_close,
        }),
        framing: raw.framing,
        expect: raw.expect,
    }
}

fn well_framed(rng: &mut Rng, mut base: Base, roll: usize) -> Raw {
    let ok = base.ok();
    match roll {
        0 => Raw::complete("valid", base.honest(), ok),
        1 => {
            base.headers
                .push((b"Expect".to_vec(), b"100-continue".to_vec()));
            Raw::complete("expect_continue", base.honest(), ok)
        }
        2 => {
            let op = mutate_bytes(rng, &mut base.body);
            let expect = if base.method == "POST" && !is_json(&base.body) {
                Expect::ClientError
            } else {
                Expect::Anything
            };
            Raw::complete(op, base.honest(), expect)
        }
        3 => {
            let junk: Vec<u8> = (0..rng.usize(1..40)).map(|_| rng.u8(0x80..=0xff)).collect();
            let value = [&b"Bearer "[..], &junk].concat();
            set_raw(&mut base.headers, "Authorization", value);
            Raw::complete("nonascii_auth", base.honest(), Expect::ClientError)
        }
        4 => {
            let value = legal_value_bytes(rng, 100);
            base.headers.push((b"X-Junk".to_vec(), value));
            Raw::complete("nonascii_header", base.honest(), ok)
        }
        5 => {
            let encoded = chunked(rng, &base.body, true);
            set_raw(&mut base.headers, "Transfer-Encoding", b"chunked".to_vec());
            let bytes = assemble(&base.line, &base.headers, &encoded);
            Raw::complete("chunked_ok", bytes, ok)
        }
        6 => {
            let mut first = with_length(&base.headers, &base.body);
            set_raw(&mut first, "Connection", b"keep-alive".to_vec());
            let bytes = [assemble(&base.line, &first, &base.body), base.honest()].concat();
            Raw::complete("pipelined", bytes, ok)
        }
        7 => {
            base.headers.retain(|(n, _)| n.as_slice() != b"Connection");
            base.line = format!("{} {} HTTP/1.0", base.method, base.path).into_bytes();
            Raw::complete("http10", base.honest(), ok)
        }
        8 => {
            let (method, path) = (base.method, base.path);
            base.line = format!("{method} http://gateway.test{path} HTTP/1.1").into_bytes();
            Raw::complete("absolute_form", base.honest(), ok)
        }
        _ => {
            let line: &[u8] = pick(
                rng,
                &[
                    &b"CONNECT gateway.test:443 HTTP/1.1"[..],
                    b"OPTIONS * HTTP/1.1",
                    b"TRACE / HTTP/1.1",
                    b"get /v1/models HTTP/1.1",
                    b"DELETE /v1/models/mock-chat HTTP/1.1",
                    b"PURGE /metrics HTTP/1.1",
                ],
            );
            let bytes = assemble(line, &with_length(&base.headers, &[]), &[]);
            Raw::complete("odd_method", bytes, Expect::Anything)
        }
    }
}

/// A request line, headers and body, joined as HTTP/1.1 writes them.
pub(super) fn assemble(request_line: &[u8], headers: &RawHeaders, body: &[u8]) -> Vec<u8> {
    let mut out = request_line.to_vec();
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The headers plus the true `Content-Length` of `body`.
pub(super) fn with_length(headers: &RawHeaders, body: &[u8]) -> RawHeaders {
    let mut headers = headers.clone();
    let length = body.len().to_string().into_bytes();
    set_raw(&mut headers, "Content-Length", length);
    headers
}

/// Replaces every header called `name` by one with `value`.
pub(super) fn set_raw(headers: &mut RawHeaders, name: &str, value: Vec<u8>) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()));
    headers.push((name.as_bytes().to_vec(), value));
}

/// `body` in valid chunked encoding, in random chunk sizes; with `extensions`,
/// sometimes with chunk extensions and a trailer.
pub(super) fn chunked(rng: &mut Rng, body: &[u8], extensions: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let take = rng.usize(1..=rest.len().min(64));
        out.extend_from_slice(format!("{take:x}").as_bytes());
        if extensions && rng.bool() {
            out.extend_from_slice(b";name=value;flag");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..take]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[take..];
    }
    out.extend_from_slice(b"0\r\n");
    if extensions && rng.bool() {
        out.extend_from_slice(b"x-trailer: 1\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
