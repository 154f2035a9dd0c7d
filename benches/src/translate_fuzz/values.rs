//! Random pieces every format's generator draws from: text that stresses
//! JSON and SSE (unicode, quotes, control characters, event separators, huge
//! and empty strings), numbers at and past the limits the formats state, ids,
//! arbitrary JSON, and JSON Schemas. Nothing here knows a wire format.

use fastrand::Rng;
use serde_json::{json, Map, Value};

/// A top-level field of a generated body and how to make its value.
pub type Setting = (&'static str, fn(&mut Rng) -> Value);

/// One item of `items` (which must not be empty).
pub fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// True with probability `percent` / 100.
pub fn chance(rng: &mut Rng, percent: u8) -> bool {
    rng.u8(..100) < percent
}

/// `Some(make())` about half the time.
pub fn maybe<T>(rng: &mut Rng, make: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    if rng.bool() {
        Some(make(rng))
    } else {
        None
    }
}

const WORDS: &[&str] = &[
    "hello",
    "weather",
    "Paris",
    "the",
    "answer",
    "is",
    "42",
    "tool",
    "call",
    "json",
    "{",
    "}",
    "\"quoted\"",
    "back\\slash",
    "new\nline",
    "tab\there",
    "data: [DONE]",
    "\n\nevent: ping\n\n",
    "\r\n",
    "null",
    "true",
    "</s>",
    "日本語",
    "Ωμέγα",
    "עברית",
    "مرحبا",
    "😀",
    "👩‍👩‍👧",
    "e\u{301}",
    "\u{200b}",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{0}",
    "\u{1b}[31m",
    "${x}",
    "%s",
    "🦀",
];

/// A string: usually a few words, sometimes empty, one repeated character, a
/// long run of mixed scripts, or a huge one.
pub fn text(rng: &mut Rng) -> String {
    match rng.u8(..100) {
        0..=4 => String::new(),
        5..=7 => " ".repeat(rng.usize(1..4)),
        8..=9 => pick(rng, &["a", "é", "😀", "\\", "\""]).repeat(rng.usize(1..5000)),
        10 => "x".repeat(rng.usize(100_000..300_000)),
        11..=14 => (0..rng.usize(1..40))
            .map(|_| char::from_u32(rng.u32(..0x11_0000)).unwrap_or('?'))
            .collect(),
        _ => {
            let n = rng.usize(1..12);
            let mut out = String::new();
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(pick(rng, WORDS));
            }
            out
        }
    }
}

/// Non-empty, mostly plain text (what a valid request's prose looks like).
pub fn prose(rng: &mut Rng) -> String {
    let mut out = text(rng);
    if out.trim().is_empty() {
        out.push_str(pick(
            rng,
            &["hi", "What is 2+2?", "ok", "日本語で", "😀 yes"],
        ));
    }
    out
}

/// An identifier of `prefix` plus alphanumerics (`call_`, `toolu_`, `fc_`...).
pub fn id(rng: &mut Rng, prefix: &str) -> String {
    let len = rng.usize(4..24);
    let mut out = prefix.to_owned();
    for _ in 0..len {
        out.push(rng.alphanumeric());
    }
    out
}

/// A function name in the form every format accepts.
pub fn name(rng: &mut Rng) -> String {
    let base = pick(
        rng,
        &[
            "get_weather",
            "search",
            "lookup",
            "run_sql",
            "calc",
            "read_file",
            "f",
            "Tool-1",
        ],
    );
    if rng.bool() {
        (*base).to_owned()
    } else {
        format!("{base}_{}", rng.u16(..1000))
    }
}

/// A token count: small, or at one of the limits the formats meet (u32, i64,
/// u64 bounds).
pub fn count(rng: &mut Rng) -> u64 {
    match rng.u8(..20) {
        0 => 0,
        1 => u64::from(u32::MAX),
        2 => u64::from(u32::MAX) + 1,
        3 => i64::MAX as u64,
        4 => u64::MAX,
        5 => u64::MAX - 1,
        _ => rng.u64(1..100_000),
    }
}

/// A sampling number in range `0..=max`, or at or past its edges.
pub fn unit(rng: &mut Rng, max: f64) -> f64 {
    match rng.u8(..20) {
        0 => 0.0,
        1 => max,
        2 => max + 1e-9,
        3 => -0.0,
        4 => -1.0,
        5 => 1e308,
        6 => f64::MIN_POSITIVE,
        _ => (rng.f64() * max * 1000.0).round() / 1000.0,
    }
}

/// Any JSON value, at most `depth` levels deep.
pub fn any(rng: &mut Rng, depth: u32) -> Value {
    let top = if depth == 0 { 5 } else { 7 };
    match rng.u8(..top) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => json!(count(rng)),
        3 => json!(rng.i64(..)),
        4 => Value::String(text(rng)),
        5 => Value::Array((0..rng.usize(..4)).map(|_| any(rng, depth - 1)).collect()),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.usize(..4) {
                map.insert(text(rng), any(rng, depth - 1));
            }
            Value::Object(map)
        }
    }
}

/// A JSON object of arguments (what a tool call carries).
pub fn arguments(rng: &mut Rng) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.usize(..4) {
        let key = pick(rng, &["city", "query", "n", "unit", "deep", "ü", ""]);
        map.insert((*key).to_owned(), any(rng, 2));
    }
    Value::Object(map)
}

const SCHEMA_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// A JSON Schema for tool parameters or a response format: an object at the
/// root, with the keywords the schema translators meet (enums, formats,
/// nullable types, `anyOf`, `$ref`/`$defs`, `additionalProperties`, bounds).
pub fn schema(rng: &mut Rng) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for _ in 0..rng.usize(..5) {
        let key = name(rng);
        if rng.bool() {
            required.push(Value::String(key.clone()));
        }
        properties.insert(key, schema_node(rng, 3));
    }
    let mut root = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        root["required"] = Value::Array(required);
    }
    if rng.bool() {
        root["additionalProperties"] = Value::Bool(rng.bool());
    }
    if chance(rng, 10) {
        root["$defs"] = json!({"node": schema_node(rng, 1)});
        root["properties"]["ref"] = json!({"$ref": "#/$defs/node"});
    }
    root
}

fn schema_node(rng: &mut Rng, depth: u32) -> Value {
    let kind = if depth == 0 {
        pick(rng, &SCHEMA_TYPES[..4])
    } else {
        pick(rng, SCHEMA_TYPES)
    };
    let mut node = json!({"type": kind});
    match kind {
        "string" => {
            if rng.bool() {
                node["enum"] = json!(["a", "b", "ü"]);
            }
            if chance(rng, 20) {
                node["format"] = json!(pick(rng, &["date-time", "email", "uri", "enum"]));
            }
        }
        "number" | "integer" if rng.bool() => {
            node["minimum"] = json!(rng.i32(..));
            node["maximum"] = json!(count(rng));
        }
        "array" => node["items"] = schema_node(rng, depth - 1),
        "object" => {
            node["properties"] = json!({"inner": schema_node(rng, depth - 1)});
        }
        _ => {}
    }
    if chance(rng, 10) {
        node = json!({"anyOf": [node, {"type": "null"}]});
    } else if chance(rng, 10) {
        node["type"] = json!([kind, "null"]);
    }
    if rng.bool() {
        node["description"] = Value::String(text(rng));
    }
    node
}

/// Base64 text (not always of a real image: translators must not decode it).
pub fn base64(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let len = rng.usize(..64) * 4;
    (0..len).map(|_| char::from(pick(rng, ALPHABET))).collect()
}

/// An image media type, mostly one every format takes.
pub fn media_type(rng: &mut Rng) -> &'static str {
    pick(
        rng,
        &[
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "image/bmp",
            "text/plain",
            "",
        ],
    )
}

/// An image URL: https, data, or something no format takes.
pub fn image_url(rng: &mut Rng) -> String {
    match rng.u8(..10) {
        0..=4 => format!("https://example.com/{}.png", rng.u32(..)),
        5..=8 => format!("data:{};base64,{}", media_type(rng), base64(rng)),
        _ => text(rng),
    }
}
