//! Invalid inputs made from valid ones: value-level changes (a field of the
//! wrong type, a field dropped, an unknown field) before serialization, and
//! byte-level ones after (truncation, flipped and inserted bytes, duplicated
//! keys, deep nesting, numbers past every limit, splices, random bytes). Each
//! keeps most of the input intact so it gets far into a parser before failing.

use fastrand::Rng;
use serde_json::{Map, Value};

use super::values::{any, chance, pick, text};

/// A random change to one node of `value`: a wrong type, a removed or added
/// field, or an emptied container.
pub fn value(rng: &mut Rng, value: &mut Value) {
    let steps = rng.usize(1..4);
    for _ in 0..steps {
        let Some(target) = node(rng, value) else {
            continue;
        };
        match rng.u8(..5) {
            0 => *target = wrong_type(rng, target),
            1 => match target {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(rng.usize(..map.len())).cloned();
                    if let Some(key) = key {
                        map.remove(&key);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    items.remove(rng.usize(..items.len()));
                }
                _ => *target = Value::Null,
            },
            2 => match target {
                Value::Object(map) => {
                    let key = pick(rng, &["type", "role", "content", "id", "index", "x"]);
                    map.insert((*key).to_owned(), any(rng, 2));
                }
                Value::Array(items) => items.push(any(rng, 2)),
                _ => *target = any(rng, 3),
            },
            3 => match target {
                Value::Array(items) if !items.is_empty() => {
                    let copy = items[rng.usize(..items.len())].clone();
                    items.insert(rng.usize(..=items.len()), copy);
                }
                _ => *target = Value::Object(Map::new()),
            },
            _ => *target = any(rng, 2),
        }
    }
}

/// A random node of `value` (the root included), reached by a random walk.
fn node<'a>(rng: &mut Rng, value: &'a mut Value) -> Option<&'a mut Value> {
    let len = match &*value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if len == 0 || rng.u8(..4) == 0 {
        return Some(value);
    }
    let index = rng.usize(..len);
    match value {
        Value::Object(map) => map.values_mut().nth(index).and_then(|next| node(rng, next)),
        Value::Array(items) => items.get_mut(index).and_then(|next| node(rng, next)),
        _ => None,
    }
}

fn wrong_type(rng: &mut Rng, old: &Value) -> Value {
    loop {
        let new = any(rng, 1);
        let same = std::mem::discriminant(&new) == std::mem::discriminant(old);
        if !same {
            return new;
        }
    }
}

/// Byte-level damage to serialized JSON or SSE text; `keys` are field names of
/// the format, for duplicated keys.
pub fn bytes(rng: &mut Rng, data: &mut Vec<u8>, keys: &[&str]) {
    let steps = rng.usize(1..4);
    for _ in 0..steps {
        match rng.u8(..10) {
            0 => data.truncate(rng.usize(..=data.len())),
            1 => {
                for _ in 0..rng.usize(1..8) {
                    if !data.is_empty() {
                        let i = rng.usize(..data.len());
                        data[i] ^= 1 << rng.u8(..8);
                    }
                }
            }
            2 => {
                let at = rng.usize(..=data.len());
                let junk: Vec<u8> = (0..rng.usize(1..16)).map(|_| rng.u8(..)).collect();
                data.splice(at..at, junk);
            }
            3 => {
                if !data.is_empty() {
                    let from = rng.usize(..data.len());
                    let to = rng.usize(from..=data.len().min(from + 64));
                    data.drain(from..to);
                }
            }
            4 => duplicate_key(rng, data, keys),
            5 => nest(rng, data),
            6 => big_number(rng, data),
            7 => {
                // A structural character where a value was.
                let at = rng.usize(..=data.len());
                let piece: &[u8] = pick(
                    rng,
                    &[
                        &b"{"[..],
                        b"}",
                        b"[",
                        b"]",
                        b",",
                        b":",
                        b"\"",
                        b"\\u",
                        b"\n\n",
                    ],
                );
                data.splice(at..at, piece.iter().copied());
            }
            8 => {
                // Repeat a slice (a duplicated event or field).
                if !data.is_empty() {
                    let from = rng.usize(..data.len());
                    let to = rng.usize(from..=data.len().min(from + 200));
                    let copy = data[from..to].to_vec();
                    let at = rng.usize(..=data.len());
                    data.splice(at..at, copy);
                }
            }
            _ => {
                let at = rng.usize(..=data.len());
                let word = text(rng);
                data.splice(at..at, word.into_bytes());
            }
        }
    }
}

/// After a random `{`, the same field again (or a known field of the format)
/// with another value.
fn duplicate_key(rng: &mut Rng, data: &mut Vec<u8>, keys: &[&str]) {
    let braces: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'{')
        .map(|(i, _)| i)
        .collect();
    if braces.is_empty() || keys.is_empty() {
        return;
    }
    let at = pick(rng, &braces) + 1;
    let value = serde_json::to_string(&any(rng, 1)).unwrap_or_default();
    let field = format!("\"{}\":{},", pick(rng, keys), value);
    data.splice(at..at, field.into_bytes());
}

/// Arrays or objects nested far past any parser's recursion limit.
fn nest(rng: &mut Rng, data: &mut Vec<u8>) {
    let depth = if chance(rng, 50) {
        rng.usize(100..200)
    } else {
        rng.usize(1000..20_000)
    };
    let (open, close): (&[u8], &[u8]) = if rng.bool() {
        (b"[", b"]")
    } else {
        (b"{\"a\":", b"}")
    };
    let mut piece = Vec::with_capacity(depth * (open.len() + close.len()));
    for _ in 0..depth {
        piece.extend_from_slice(open);
    }
    piece.push(b'1');
    if rng.bool() {
        for _ in 0..depth {
            piece.extend_from_slice(close);
        }
    }
    // In place of a value when there is a `:` to follow, else anywhere.
    let colons: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b':')
        .map(|(i, _)| i + 1)
        .collect();
    let at = if colons.is_empty() {
        rng.usize(..=data.len())
    } else {
        pick(rng, &colons)
    };
    data.splice(at..at, piece);
}

/// A number past every limit in place of a digit run.
fn big_number(rng: &mut Rng, data: &mut Vec<u8>) {
    let digits: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let Some(start) = (!digits.is_empty()).then(|| pick(rng, &digits)) else {
        return;
    };
    let mut end = start;
    while end < data.len() && data[end].is_ascii_digit() {
        end += 1;
    }
    let number = pick(
        rng,
        &[
            "18446744073709551616",
            "-1",
            "1e400",
            "-1e400",
            "4294967296",
            "9223372036854775808",
            "0.5",
            "1E+2",
            "-0",
            "00",
            "1.7976931348623157e309",
            "99999999999999999999999999999999999999",
        ],
    );
    data.splice(start..end, number.bytes());
}

/// Random bytes, sometimes shaped like SSE or JSON.
pub fn random(rng: &mut Rng) -> Vec<u8> {
    let len = rng.usize(..512);
    match rng.u8(..3) {
        0 => (0..len).map(|_| rng.u8(..)).collect(),
        1 => (0..len)
            .map(|_| pick(rng, b"{}[]\":,0123456789.-eEtruefalsn \n\\abc"))
            .collect(),
        _ => {
            let mut out = Vec::new();
            for _ in 0..rng.usize(..8) {
                let head: &[u8] = pick(rng, &[&b"data: "[..], b"event: ", b"data:", b": ping"]);
                out.extend_from_slice(head);
                let body: &[u8] = pick(
                    rng,
                    &[
                        &b"{}"[..],
                        b"[DONE]",
                        b"{\"type\":\"message_stop\"}",
                        b"",
                        b"{",
                    ],
                );
                out.extend_from_slice(body);
                let end: &[u8] = pick(rng, &[&b"\n\n"[..], b"\n", b"\r\n\r\n", b"\r"]);
                out.extend_from_slice(end);
            }
            out
        }
    }
}
