//! Header sections the gateway must survive: odd content types and encodings,
//! long or non-ASCII values, repeated headers, broken credentials, and now and
//! then a section larger than hyper accepts. The requests themselves are valid,
//! so apart from those over hyper's limits, the app must answer each one.

use fastrand::Rng;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;

use super::auth::auth_variant;
use super::seeds::{endpoint_path, seed_body};
use super::{ascii, http_case, pick, Case, Endpoint, Expect, HttpCase, Keys};

pub(super) fn headers_case(rng: &mut Rng, keys: &Keys) -> Case {
    let (method, path, body) = match rng.usize(0..4) {
        0 | 1 => {
            let seed = seed_body(rng, Endpoint::Chat);
            let path = endpoint_path(rng, Endpoint::Chat);
            (
                Method::POST,
                path,
                serde_json::to_vec(&seed).unwrap_or_default(),
            )
        }
        2 => {
            let seed = seed_body(rng, Endpoint::Embeddings);
            let path = endpoint_path(rng, Endpoint::Embeddings);
            (
                Method::POST,
                path,
                serde_json::to_vec(&seed).unwrap_or_default(),
            )
        }
        _ => {
            let path = pick(rng, &["/v1/models", "/models", "/v1/models/mock-chat"]);
            (Method::GET, path.to_owned(), Vec::new())
        }
    };
    let (pairs, _) = auth_variant(rng, keys);
    let mut headers: Vec<(HeaderName, HeaderValue)> = pairs
        .iter()
        .filter_map(|(name, value)| header(name, value))
        .collect();
    headers.extend(odd_headers(rng));
    // A header section hyper refuses (431), over HTTP/1.1 only.
    let huge = rng.usize(0..40) == 0;
    if huge {
        let value = ascii(rng, 500_000);
        headers.extend(header("x-huge", value.as_bytes()));
    }
    let label = format!("headers/{}", if huge { "huge_section" } else { "odd" });
    let http = HttpCase {
        method,
        path,
        headers,
        body,
        h2: !huge && rng.usize(0..100) < 15,
    };
    http_case(label, http, Expect::Anything)
}

/// Whether hyper refuses the header section before the app sees it: more than
/// 100 headers or ~400 KB over HTTP/1.1, a header list over 16 KB over h2.
pub fn exceeds_header_limits(headers: &[(HeaderName, HeaderValue)], h2: bool) -> bool {
    // reqwest adds a few of its own (host, accept, content-length, ...).
    let count = headers.len() + 5;
    let size: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 32)
        .sum::<usize>()
        + 200;
    if h2 {
        size > 16 * 1024
    } else {
        count > 100 || size > 400 * 1024
    }
}

/// A header reqwest can send, or `None` where the `http` crate refuses the bytes.
pub(super) fn header(name: &str, value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_bytes()).ok()?,
        HeaderValue::from_bytes(value).ok()?,
    ))
}

/// Header value bytes that HTTP allows (visible ASCII, space, tab, obs-text).
pub(super) fn legal_value_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| match rng.usize(0..4) {
            0 => rng.u8(0x80..=0xff),
            1 => b'\t',
            _ => rng.u8(0x20..0x7f),
        })
        .collect()
}

pub(super) fn odd_content_type(rng: &mut Rng) -> Vec<u8> {
    match rng.usize(0..12) {
        0 => b"text/plain".to_vec(),
        1 => b"application/x-www-form-urlencoded".to_vec(),
        2 => b"multipart/form-data; boundary=----x".to_vec(),
        3 => b"application/json; charset=utf-16".to_vec(),
        4 => b"application/xml".to_vec(),
        5 => Vec::new(),
        6 => b"*/*".to_vec(),
        7 => b"application/json\t;;;".to_vec(),
        8 => b"\xff\xfe".to_vec(),
        9 => ascii(rng, 4_096).into_bytes(),
        10 => b"application/json, application/json".to_vec(),
        _ => b"application/octet-stream".to_vec(),
    }
}

/// A few unusual but legal extra headers.
fn odd_headers(rng: &mut Rng) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..6) {
        let made = match rng.usize(0..11) {
            0 => {
                let value = odd_content_type(rng);
                header("content-type", &value)
            }
            1 => header(
                "content-encoding",
                pick(rng, &[&b"gzip"[..], b"br", b"deflate, gzip", b"\xff"]),
            ),
            2 => {
                let len = pick(rng, &[1, 128, 129, 10_000]);
                let value = legal_value_bytes(rng, len);
                header("x-request-id", &value)
            }
            3 => header(
                "accept",
                pick(
                    rng,
                    &[
                        &b"text/event-stream"[..],
                        b"application/xml",
                        b"*/*;q=x",
                        b"",
                    ],
                ),
            ),
            4 => {
                let name = format!("x-{}", ascii(rng, 12)).to_lowercase();
                let len = rng.usize(0..200);
                let value = legal_value_bytes(rng, len);
                header(&name, &value)
            }
            5 => {
                let value = ascii(rng, 32_000);
                header("x-long", value.as_bytes())
            }
            6 => {
                for _ in 0..50 {
                    out.extend(header("x-repeated", b"1"));
                }
                None
            }
            7 => header("user-agent", &legal_value_bytes(rng, 300)),
            8 => header("x-forwarded-for", b"999.999.999.999, ::zz, \xff"),
            9 => header("range", b"bytes=0-"),
            _ => header("cookie", b"a=b; a=c; ;;"),
        };
        out.extend(made);
    }
    out
}
