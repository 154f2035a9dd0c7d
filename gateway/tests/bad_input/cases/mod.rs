//! The seeded cases the barrage sends, and what each must get back.
//!
//! Generation is pure: one seed always gives the same cases, so a failure can be
//! replayed. Each submodule makes one kind of case; `generate` mixes them:
//! - `body`: JSON bodies for the chat and embeddings endpoints, mutated field by
//!   field (with `values`) or byte by byte (with `bytes`), starting from the valid
//!   requests in `seeds`;
//! - `headers` and `auth`: odd header sections and credentials;
//! - `routes`: methods, paths and query strings the gateway does not serve;
//! - `raw` and `framing`: requests written byte by byte for raw TCP, well framed
//!   and broken.
//!
//! How an answer is judged lives in `check`, not here; a case only says what it
//! needs beyond the general contract (its [`Expect`]) and whether hyper may answer
//! for the app (`framing`).

mod auth;
mod body;
mod bytes;
mod framing;
mod headers;
mod raw;
mod routes;
mod seeds;
mod values;

use fastrand::Rng;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;

use crate::check::shown;

pub use headers::exceeds_header_limits;

/// `max_body_bytes` in `common::config_text`.
pub const MAX_BODY: usize = 1_048_576;

/// What a case needs beyond "a valid answer or an OpenAI error".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Any valid answer or OpenAI error.
    Anything,
    /// An untouched, authorized request: must succeed (proves requests get through).
    Success,
    /// Not JSON sent to a JSON endpoint: must be a 4xx, never forwarded.
    ClientError,
}

/// A request reqwest can send (over HTTP/1.1 or h2 with prior knowledge).
pub struct HttpCase {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
    pub h2: bool,
}

/// Bytes written to a fresh TCP connection.
pub struct RawCase {
    pub bytes: Vec<u8>,
    /// Shut down our write side right after sending (the request is incomplete).
    pub half_close: bool,
}

pub enum Input {
    Http(HttpCase),
    Raw(RawCase),
}

pub struct Case {
    /// `category/op+op`, e.g. `chat/deep_nesting@messages+truncate`.
    pub label: String,
    pub input: Input,
    /// Malformed HTTP framing: hyper may answer on its own or close the connection.
    pub framing: bool,
    pub expect: Expect,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Embeddings,
}

/// The gateway's keys: one for every model, one limited to `mock-chat`.
pub struct Keys {
    pub all: String,
    pub limited: String,
}

type Generator = fn(&mut Rng, &Keys) -> Case;

/// All cases of one run, shuffled.
pub fn generate(rng: &mut Rng, keys: &Keys) -> Vec<Case> {
    let plan: [(usize, Generator); 5] = [
        (450, |rng, keys| body::body_case(rng, keys, Endpoint::Chat)),
        (170, |rng, keys| {
            body::body_case(rng, keys, Endpoint::Embeddings)
        }),
        (200, headers::headers_case),
        (170, routes::route_case),
        (340, raw::raw_case),
    ];
    let mut cases = Vec::new();
    for (count, make) in plan {
        for _ in 0..count {
            cases.push(make(rng, keys));
        }
    }
    rng.shuffle(&mut cases);
    cases
}

impl Case {
    /// The case as shown in a failure report.
    pub fn describe(&self) -> String {
        match &self.input {
            Input::Http(http) => {
                let headers: Vec<String> = http
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {}", shown(v.as_bytes(), 120)))
                    .collect();
                format!(
                    "{} {} over {}\n    headers: [{}]\n    body ({} bytes): {}",
                    http.method,
                    shown(http.path.as_bytes(), 300),
                    if http.h2 { "h2" } else { "HTTP/1.1" },
                    headers.join(", "),
                    http.body.len(),
                    shown(&http.body, 1_500)
                )
            }
            Input::Raw(raw) => format!(
                "raw TCP, {} bytes, half_close={}: {}",
                raw.bytes.len(),
                raw.half_close,
                shown(&raw.bytes, 2_000)
            ),
        }
    }
}

/// An HTTP case; framing is malformed only where hyper's header limits apply.
fn http_case(label: String, http: HttpCase, expect: Expect) -> Case {
    Case {
        label,
        framing: exceeds_header_limits(&http.headers, http.h2),
        input: Input::Http(http),
        expect,
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

fn ascii(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = random_bytes(rng, len);
    for byte in &mut bytes {
        *byte = ALPHABET[usize::from(*byte) % ALPHABET.len()];
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes);
    bytes
}

/// Whether bytes are JSON as far as any parser could agree (syntax and UTF-8).
fn is_json(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}
