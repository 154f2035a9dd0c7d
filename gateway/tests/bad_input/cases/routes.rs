//! Methods, paths and query strings: the served routes with the wrong method,
//! `/v1/models/{id}` with ids that are odd once percent-decoded (invalid UTF-8,
//! NUL, slashes, 5,000 characters), near-misses of real paths, and random ones.
//! Every one must get an OpenAI-shaped answer from the app, 404 and 405 included.

use fastrand::Rng;
use reqwest::Method;

use super::auth::with_auth;
use super::seeds::seed_body;
use super::{ascii, http_case, pick, random_bytes, Case, Endpoint, Expect, HttpCase, Keys};

pub(super) fn route_case(rng: &mut Rng, keys: &Keys) -> Case {
    let method = match rng.usize(0..13) {
        0 | 1 => Method::GET,
        2 | 3 => Method::POST,
        4 => Method::PUT,
        5 => Method::DELETE,
        6 => Method::PATCH,
        7 => Method::OPTIONS,
        8 => Method::HEAD,
        9 => Method::TRACE,
        _ => Method::from_bytes(pick(rng, &[&b"FOO"[..], b"get", b"PROPFIND", b"M-SEARCH"]))
            .unwrap_or(Method::GET),
    };
    let path = path(rng);
    let query = match rng.usize(0..6) {
        0 => "?".to_owned(),
        1 => "?a=%FF&&=&b".to_owned(),
        2 => "?stream=true&model=mock-chat".to_owned(),
        3 => format!("?{}={}", ascii(rng, 10), percent_encode("\u{0}\u{ff}")),
        _ => String::new(),
    };
    let body = match rng.usize(0..3) {
        0 => serde_json::to_vec(&seed_body(rng, Endpoint::Chat)).unwrap_or_default(),
        1 => {
            let len = rng.usize(0..300);
            random_bytes(rng, len)
        }
        _ => Vec::new(),
    };
    let (headers, _) = with_auth(rng, keys);
    let label = format!("routes/{}", method.as_str().to_ascii_uppercase());
    let http = HttpCase {
        method,
        path: format!("{path}{query}"),
        headers,
        body,
        h2: rng.usize(0..100) < 15,
    };
    http_case(label, http, Expect::Anything)
}

fn path(rng: &mut Rng) -> String {
    match rng.usize(0..4) {
        0 => pick(
            rng,
            &[
                "/v1/chat/completions",
                "/chat/completions",
                "/v1/embeddings",
                "/embeddings",
                "/v1/models",
                "/models",
                "/healthz",
                "/readyz",
                "/metrics",
            ],
        )
        .to_owned(),
        1 => format!(
            "{}/models/{}",
            if rng.bool() { "/v1" } else { "" },
            model_id(rng)
        ),
        2 => pick(
            rng,
            &[
                "/",
                "/v1",
                "/v1/",
                "/v2/chat/completions",
                "/v1/chat/completions/",
                "/v1//chat/completions",
                "//v1/models",
                "/V1/MODELS",
                "/v1/chat",
                "/v1/completions",
                "/v1/models/",
                "/v1/models/a/b",
                "/v1/../v1/models",
                "/v1/./models",
                "/%76%31/models",
                "/v1/healthz",
                "/v1/v1/models",
                "/v1/chat/completions%00",
                "/v1/embeddings;x=1",
            ],
        )
        .to_owned(),
        _ => {
            let segments: Vec<String> = (0..rng.usize(1..6))
                .map(|_| {
                    let len = rng.usize(1..12);
                    ascii(rng, len)
                })
                .collect();
            if rng.usize(0..10) == 0 {
                format!("/{}", ascii(rng, 8_000))
            } else {
                format!("/{}", segments.join("/"))
            }
        }
    }
}

/// A model id for `/v1/models/{id}`, already percent-encoded.
fn model_id(rng: &mut Rng) -> String {
    match rng.usize(0..8) {
        0 => pick(rng, &["mock-chat", "mock-embed", "fail-500", "refused"]).to_owned(),
        1 => percent_encode("h\u{e9}llo \u{4e16}\u{754c} \u{1f389}"),
        2 => pick(
            rng,
            &[
                "%2F", "a%2Fb", "%00", "..", "%20", "%25", "%", "%zz", "a%2", "%FF", "%C0%80",
            ],
        )
        .to_owned(),
        3 => ascii(rng, 5_000),
        4 => {
            let text: String = (0..rng.usize(1..20))
                .map(|_| rng.char('\u{1}'..='\u{10ffff}'))
                .collect();
            percent_encode(&text)
        }
        _ => {
            let len = rng.usize(1..30);
            ascii(rng, len)
        }
    }
}

/// Percent-encodes every byte of `text` that is not unreserved.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
