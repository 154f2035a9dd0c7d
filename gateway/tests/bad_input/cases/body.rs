//! Bodies for the JSON endpoints: a valid seed request, then one or two
//! structural mutations of its top-level fields, a byte-level mutation, both, or
//! a replacement by something that is not the expected object at all. One in
//! twenty is left untouched as a control that must succeed.

use fastrand::Rng;
use reqwest::Method;
use serde_json::Value;

use super::auth::with_auth;
use super::bytes::mutate_bytes;
use super::headers::{header, odd_content_type};
use super::seeds::{endpoint_path, seed_body};
use super::values::{deep_nesting, odd_model, weird_value};
use super::{ascii, http_case, is_json, pick, random_bytes, Case, Endpoint, Expect, HttpCase};
use super::{Keys, MAX_BODY};

/// A JSON object as (key as JSON text, value as text), so mutations can splice in
/// text serde_json would never write: duplicates, `1e999`, 10,000 levels of nesting.
type Fields = Vec<(String, String)>;

pub(super) fn body_case(rng: &mut Rng, keys: &Keys, endpoint: Endpoint) -> Case {
    let category = match endpoint {
        Endpoint::Chat => "chat",
        Endpoint::Embeddings => "embeddings",
    };
    let seed = seed_body(rng, endpoint);
    let control = rng.usize(0..20) == 0;
    let mut ops: Vec<String> = Vec::new();
    let body = if control {
        ops.push("control".to_owned());
        serde_json::to_vec(&seed).unwrap_or_default()
    } else {
        let mode = rng.usize(0..10);
        let mut body = if mode == 0 {
            let (op, body) = replacement_body(rng);
            ops.push(op.to_owned());
            body
        } else {
            let mut fields = fields_of(&seed);
            if mode < 8 {
                for _ in 0..rng.usize(1..=2) {
                    ops.push(mutate_fields(rng, &mut fields, endpoint));
                }
            }
            render(&fields)
        };
        if mode >= 5 {
            ops.push(mutate_bytes(rng, &mut body).to_owned());
        }
        body
    };
    let (mut headers, valid_key) = if control {
        let value = format!("Bearer {}", keys.all);
        (
            header("authorization", value.as_bytes())
                .into_iter()
                .collect(),
            true,
        )
    } else {
        with_auth(rng, keys)
    };
    let roll = rng.usize(0..100);
    if roll < 80 || control {
        headers.extend(header("content-type", b"application/json"));
    } else if roll < 95 {
        let value = odd_content_type(rng);
        headers.extend(header("content-type", &value));
    }
    let expect = if control && valid_key {
        Expect::Success
    } else if !is_json(&body) {
        Expect::ClientError
    } else {
        Expect::Anything
    };
    let http = HttpCase {
        method: Method::POST,
        path: endpoint_path(rng, endpoint),
        headers,
        body,
        h2: rng.usize(0..100) < 15,
    };
    http_case(format!("{category}/{}", ops.join("+")), http, expect)
}

fn fields_of(value: &Value) -> Fields {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(k, v)| (Value::String(k.clone()).to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn set_field(fields: &mut Fields, key: &str, text: String) {
    let quoted = Value::String(key.to_owned()).to_string();
    match fields.iter_mut().find(|(k, _)| *k == quoted) {
        Some(field) => field.1 = text,
        None => fields.push((quoted, text)),
    }
}

fn render(fields: &Fields) -> Vec<u8> {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", inner.join(",")).into_bytes()
}

/// One structural mutation of an object's fields; returns its name.
fn mutate_fields(rng: &mut Rng, fields: &mut Fields, endpoint: Endpoint) -> String {
    match rng.usize(0..10) {
        0..=4 => weird_field(rng, fields, endpoint),
        5 => {
            if !fields.is_empty() {
                let i = rng.usize(..fields.len());
                fields.remove(i);
            }
            "remove_field".to_owned()
        }
        6 => {
            // Duplicates, including an escaped spelling of the same key.
            let (key, value) = match rng.usize(0..4) {
                0 => ("\"mo\\u0064el\"".to_owned(), "\"mock-embed\"".to_owned()),
                1 => ("\"model\"".to_owned(), "\"fail-500\"".to_owned()),
                2 => ("\"stream\"".to_owned(), "false".to_owned()),
                _ => fields
                    .get(rng.usize(..fields.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| ("\"model\"".to_owned(), "\"x\"".to_owned())),
            };
            let at = rng.usize(..=fields.len());
            fields.insert(at, (key, value));
            "duplicate_key".to_owned()
        }
        7 => {
            // Distinct unknown keys, up to ~60,000 (~0.9 MiB): the duplicate-key
            // check must stay fast however many there are.
            let count = pick(rng, &[1_000, 20_000, 60_000]);
            for i in 0..count {
                fields.push((format!("\"x_{i}\""), i.to_string()));
            }
            "many_fields".to_owned()
        }
        8 => {
            let long = if rng.bool() { MAX_BODY + 1 } else { 1_000_000 };
            let text = format!(
                "[{{\"role\":\"user\",\"content\":\"{}\"}}]",
                ascii(rng, long)
            );
            let key = match endpoint {
                Endpoint::Chat => "messages",
                Endpoint::Embeddings => "input",
            };
            set_field(fields, key, text);
            if long > MAX_BODY {
                "over_limit".to_owned()
            } else {
                "near_limit".to_owned()
            }
        }
        _ => {
            let model = odd_model(rng);
            set_field(fields, "model", Value::String(model.to_owned()).to_string());
            "odd_model".to_owned()
        }
    }
}

/// Puts a weird value in a field the endpoint reads (or one it does not know).
fn weird_field(rng: &mut Rng, fields: &mut Fields, endpoint: Endpoint) -> String {
    let targets: &[&str] = match endpoint {
        Endpoint::Chat => &[
            "model",
            "messages",
            "stream",
            "stream_options",
            "tools",
            "tool_choice",
            "n",
            "max_tokens",
            "temperature",
            "messages[0].content",
            "messages[0].role",
            "messages[0]",
            "vendor_extension",
        ],
        Endpoint::Embeddings => &[
            "model",
            "input",
            "input[0]",
            "encoding_format",
            "dimensions",
            "vendor_extension",
        ],
    };
    let target = pick(rng, targets);
    let (kind, text) = weird_value(rng, endpoint);
    let (key, text) = match target {
        "messages[0].content" => (
            "messages",
            format!("[{{\"role\":\"user\",\"content\":{text}}}]"),
        ),
        "messages[0].role" => (
            "messages",
            format!("[{{\"role\":{text},\"content\":\"hi\"}}]"),
        ),
        "messages[0]" => ("messages", format!("[{text}]")),
        "input[0]" => ("input", format!("[{text}]")),
        other => (other, text),
    };
    set_field(fields, key, text);
    format!("{kind}@{target}")
}

/// A whole body that is not the expected object at all.
fn replacement_body(rng: &mut Rng) -> (&'static str, Vec<u8>) {
    const CHAT: &[u8] = br#"{"model":"mock-chat","messages":[{"role":"user","content":"hi"}]}"#;
    let body: Vec<u8> = match rng.usize(0..16) {
        0 => Vec::new(),
        1 => b"   \r\n\t ".to_vec(),
        2 => b"null".to_vec(),
        3 => b"[]".to_vec(),
        4 => b"\"a string\"".to_vec(),
        5 => b"0".to_vec(),
        6 => b"{}".to_vec(),
        7 => b"{}{}".to_vec(),
        8 => [CHAT, b" trailing"].concat(),
        9 => [&b"\xef\xbb\xbf"[..], CHAT].concat(),
        10 => deep_nesting(rng).into_bytes(),
        11 => String::from_utf8_lossy(CHAT)
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect(),
        12 => b"{\"model\":\"mock-chat\"}\n{\"model\":\"mock-chat\"}\n".to_vec(),
        13 => b"model=mock-chat&messages=hi".to_vec(),
        14 => b"<chat><model>mock-chat</model></chat>".to_vec(),
        _ => {
            let len = rng.usize(1..2_000);
            random_bytes(rng, len)
        }
    };
    ("replace_body", body)
}
