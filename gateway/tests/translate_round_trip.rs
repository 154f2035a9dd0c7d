//! The round trip OpenAI chat -> Anthropic -> OpenAI chat keeps every field the
//! two formats share (issue 9, "Prove it"). A seeded generator writes valid
//! chat completion requests from the shared subset (a system prompt, user and
//! assistant text, images, tools with JSON Schemas, every `tool_choice`, tool
//! calls answered by id, `max_tokens`, `temperature` up to 1, `top_p`, `stop`,
//! `stream`, `user`, `parallel_tool_calls`); each goes through the gateway's
//! translators exactly as a request from an OpenAI client served by an
//! Anthropic model and then one from an Anthropic client served by an OpenAI
//! model would: chat ingress -> llm -> Anthropic egress body -> Anthropic
//! ingress -> llm -> chat egress body, which must equal the original.
//!
//! Equality is on the wire, after [`normalize`] writes both bodies in one
//! spelling of what OpenAI itself treats as the same request (a one-part text
//! list and a string, `stop: "x"` and `["x"]`, `stream: false` and no
//! `stream`, tool arguments compared as JSON rather than as text). Fields
//! Anthropic has no place for (`n`, `seed`, penalties, `logit_bias`, image
//! `detail`, a system message after the first turn) are not generated.
//!
//! `translate_fuzz` (benches/) includes this file to run the same property over
//! a million cases; the tests here run a few thousand.

use fastrand::Rng;
use gateway::formats::{anthropic, openai_chat};
use serde_json::{json, Map, Value};

/// The `max_tokens` Anthropic egress would fill in (never used: every
/// generated request sets its own).
const DEFAULT_MAX_TOKENS: u64 = 4096;

const WORDS: &[&str] = &[
    "hello",
    "Paris",
    "weather",
    "42",
    "\"quoted\"",
    "back\\slash",
    "new\nline",
    "日本語",
    "😀",
    "e\u{301}",
    "\u{200b}x",
    "data: [DONE]",
    "{\"json\": 1}",
    "</s>",
    "tab\t",
];

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// Non-blank text (Anthropic drops blank text blocks, and so does the real API).
fn prose(rng: &mut Rng) -> String {
    let mut out = String::from(pick(rng, &["a", "Hi", "ok", "Ω"]));
    for _ in 0..rng.usize(..8) {
        out.push(' ');
        out.push_str(pick(rng, WORDS));
    }
    if rng.u16(..500) == 0 {
        out.push_str(&"long ".repeat(rng.usize(1000..20_000)));
    }
    out
}

fn call_id(rng: &mut Rng) -> String {
    let mut id = String::from(pick(rng, &["call_", "toolu_", "fc_"]));
    for _ in 0..rng.usize(4..24) {
        id.push(rng.alphanumeric());
    }
    id
}

fn image(rng: &mut Rng) -> Value {
    let url = if rng.bool() {
        format!("https://example.com/{}.png", rng.u32(..))
    } else {
        let media = pick(rng, &["image/png", "image/jpeg", "image/gif", "image/webp"]);
        let data: String = (0..rng.usize(1..40) * 4)
            .map(|_| rng.alphanumeric())
            .collect();
        format!("data:{media};base64,{data}")
    };
    json!({"type": "image_url", "image_url": {"url": url}})
}

/// Message content: a string, or a list of text (and, for users, image) parts.
fn content(rng: &mut Rng, images: bool) -> Value {
    if rng.bool() {
        return json!(prose(rng));
    }
    let parts: Vec<Value> = (0..rng.usize(1..4))
        .map(|_| {
            if images && rng.u8(..3) == 0 {
                image(rng)
            } else {
                json!({"type": "text", "text": prose(rng)})
            }
        })
        .collect();
    Value::Array(parts)
}

fn schema(rng: &mut Rng) -> Value {
    let mut properties = Map::new();
    for key in ["city", "days", "unit", "tags"] {
        if rng.bool() {
            let node = match key {
                "city" => json!({"type": "string", "description": prose(rng)}),
                "days" => json!({"type": "integer", "minimum": 1, "maximum": 14}),
                "unit" => json!({"type": "string", "enum": ["c", "f"]}),
                _ => json!({"type": "array", "items": {"type": ["string", "null"]}}),
            };
            properties.insert(key.to_owned(), node);
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if rng.bool() {
        schema["required"] = json!(["city"]);
        schema["additionalProperties"] = json!(false);
    }
    schema
}

fn arguments(rng: &mut Rng) -> String {
    let mut args = Map::new();
    for key in ["city", "days", "nested", "ü"] {
        if rng.bool() {
            let value = match rng.u8(..4) {
                0 => json!(prose(rng)),
                1 => json!(rng.i64(..)),
                2 => json!({"a": [1, 2.5, null, true]}),
                _ => json!([]),
            };
            args.insert(key.to_owned(), value);
        }
    }
    Value::Object(args).to_string()
}

/// A valid chat completions request from the subset Anthropic shares.
pub fn request(rng: &mut Rng) -> Value {
    let tool_names: Vec<String> = (0..rng.usize(..4))
        .map(|i| format!("{}_{i}", pick(rng, &["get_weather", "search", "lookup"])))
        .collect();
    let mut messages = Vec::new();
    if rng.bool() {
        messages.push(json!({"role": "system", "content": content(rng, false)}));
    }
    let turns = rng.usize(1..5);
    for turn in 0..turns {
        messages.push(json!({"role": "user", "content": content(rng, true)}));
        // Turns alternate (Anthropic would merge two user turns into one);
        // the conversation may end on the user. Tool calls only where tools
        // are declared, as Anthropic requires.
        let last = turn + 1 == turns;
        let kinds = if tool_names.is_empty() { 2 } else { 3 };
        match rng.u8(u8::from(!last)..kinds) {
            0 => {}
            1 => messages.push(json!({"role": "assistant", "content": content(rng, false)})),
            _ => {
                let ids: Vec<String> = (0..rng.usize(1..4)).map(|_| call_id(rng)).collect();
                let calls: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        let name = tool_names[rng.usize(..tool_names.len())].clone();
                        json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments(rng)}})
                    })
                    .collect();
                let mut turn = json!({"role": "assistant", "tool_calls": calls});
                if rng.bool() {
                    turn["content"] = content(rng, false);
                }
                messages.push(turn);
                for id in &ids {
                    messages.push(
                        json!({"role": "tool", "tool_call_id": id, "content": content(rng, false)}),
                    );
                }
            }
        }
    }
    let mut body = Map::new();
    let model = pick(rng, &["gpt-4o", "claude-sonnet-4-5", "my-alias", "模型"]);
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if !tool_names.is_empty() {
        let tools: Vec<Value> = tool_names
            .iter()
            .map(|name| {
                let mut function = json!({"name": name, "parameters": schema(rng)});
                if rng.bool() {
                    function["description"] = json!(prose(rng));
                }
                if rng.bool() {
                    function["strict"] = json!(rng.bool());
                }
                json!({"type": "function", "function": function})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        match rng.u8(..5) {
            0 => {}
            1 => _ = body.insert("tool_choice".into(), json!("auto")),
            2 => _ = body.insert("tool_choice".into(), json!("none")),
            3 => _ = body.insert("tool_choice".into(), json!("required")),
            _ => {
                let name = &tool_names[rng.usize(..tool_names.len())];
                let choice = json!({"type": "function", "function": {"name": name}});
                body.insert("tool_choice".into(), choice);
            }
        }
        if rng.bool() {
            body.insert("parallel_tool_calls".into(), json!(rng.bool()));
        }
    }
    // From the least to the most a current Claude model takes (a larger
    // number is the upstream's to refuse, and both formats carry it alike).
    let max = pick(rng, &[1, 64, 4096, 32_000]);
    let key = if rng.bool() {
        "max_tokens"
    } else {
        "max_completion_tokens"
    };
    body.insert(key.into(), json!(max));
    if rng.bool() {
        let any = rng.f64();
        let t = pick(rng, &[0.0, 1.0, 0.5, any]);
        body.insert("temperature".into(), json!(t));
    }
    if rng.bool() {
        let any = rng.f64();
        let p = pick(rng, &[0.0, 1.0, 0.95, any]);
        body.insert("top_p".into(), json!(p));
    }
    match rng.u8(..4) {
        0 => _ = body.insert("stop".into(), json!(prose(rng))),
        1 => {
            let stops: Vec<String> = (0..rng.usize(1..5)).map(|_| prose(rng)).collect();
            body.insert("stop".into(), json!(stops));
        }
        _ => {}
    }
    if rng.bool() {
        let stream = rng.bool();
        body.insert("stream".into(), json!(stream));
        if stream && rng.bool() {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    if rng.bool() {
        body.insert("user".into(), json!(prose(rng)));
    }
    Value::Object(body)
}

/// `body` through chat ingress, Anthropic egress, Anthropic ingress and chat
/// egress; the chat body that comes out, or which step refused it.
pub fn round_trip(body: &Value) -> Result<Value, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| format!("serialize: {e}"))?;
    let first = openai_chat::request::decode(&bytes).map_err(|e| format!("chat ingress: {e}"))?;
    let (wire, _plan) = anthropic::egress::to_request(&first, DEFAULT_MAX_TOKENS)
        .map_err(|e| format!("Anthropic egress: {e}"))?;
    let wire = serde_json::to_vec(&wire).map_err(|e| format!("serialize Anthropic: {e}"))?;
    let second = anthropic::ingress::parse_request(&wire).map_err(|e| {
        format!(
            "Anthropic ingress: {e} (body {})",
            String::from_utf8_lossy(&wire)
        )
    })?;
    let out = openai_chat::request::encode(&second, &second.model);
    serde_json::from_slice(&out).map_err(|e| format!("chat egress wrote no JSON: {e}"))
}

/// The round trip of `body`, compared with it on every shared field.
pub fn check(body: &Value) -> Result<(), String> {
    let back = round_trip(body)?;
    compare(body, &back)
}

/// `Ok` when `original` and `back` say the same request once normalized; else
/// the first difference, with its path.
pub fn compare(original: &Value, back: &Value) -> Result<(), String> {
    let (a, b) = (normalize(original), normalize(back));
    match first_difference(&a, &b, String::new()) {
        None => Ok(()),
        Some(diff) => Err(format!("{diff}\nsent: {a}\nback: {b}")),
    }
}

/// One spelling for what OpenAI treats as the same request.
pub fn normalize(body: &Value) -> Value {
    let mut body = body.clone();
    let Some(map) = body.as_object_mut() else {
        return body;
    };
    if let Some(max) = map.remove("max_completion_tokens") {
        map.insert("max_tokens".into(), max);
    }
    match map.get("stop") {
        Some(Value::String(stop)) => {
            let stops = json!([stop]);
            map.insert("stop".into(), stops);
        }
        Some(Value::Array(stops)) if stops.is_empty() => _ = map.remove("stop"),
        _ => {}
    }
    if map.get("stream") == Some(&json!(false)) {
        map.remove("stream");
    }
    // Usage reporting is not a field of the request Anthropic shares: its
    // streams always carry usage.
    map.remove("stream_options");
    // Parallel calls mean nothing when no tool may be called.
    if map.get("tool_choice") == Some(&json!("none")) {
        map.remove("parallel_tool_calls");
    }
    if map.contains_key("parallel_tool_calls") && !map.contains_key("tool_choice") {
        map.insert("tool_choice".into(), json!("auto"));
    }
    if let Some(Value::Array(messages)) = map.get_mut("messages") {
        for message in messages {
            normalize_message(message);
        }
    }
    body
}

fn normalize_message(message: &mut Value) {
    let Some(map) = message.as_object_mut() else {
        return;
    };
    match map.get("content") {
        Some(Value::Null) => _ = map.remove("content"),
        Some(Value::Array(parts)) => {
            if let [part] = parts.as_slice() {
                if part["type"] == "text" {
                    let text = part["text"].clone();
                    map.insert("content".into(), text);
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Array(calls)) = map.get_mut("tool_calls") {
        for call in calls {
            let arguments = &mut call["function"]["arguments"];
            if let Some(parsed) = arguments
                .as_str()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
            {
                *arguments = parsed;
            }
        }
    }
}

fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let here = format!("{path}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => {
                        if let Some(diff) = first_difference(p, q, here) {
                            return Some(diff);
                        }
                    }
                    (Some(p), None) => return Some(format!("{here}: sent {p}, lost")),
                    (None, Some(q)) => return Some(format!("{here}: not sent, came back {q}")),
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if let Some(diff) = first_difference(p, q, format!("{path}[{i}]")) {
                    return Some(diff);
                }
            }
            (x.len() != y.len())
                .then(|| format!("{path}: {} items sent, {} came back", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{path}: sent {a}, came back {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property over a few thousand seeded requests, with a check that the
    /// generator reached every shared feature (so a passing run means
    /// something).
    #[test]
    fn openai_anthropic_openai_keeps_every_shared_field() {
        let mut seen: std::collections::BTreeMap<&str, usize> = Default::default();
        for seed in 0..3000u64 {
            let mut rng = Rng::with_seed(seed);
            let body = request(&mut rng);
            if let Err(error) = check(&body) {
                panic!("seed {seed}: {error}");
            }
            let text = body.to_string();
            for feature in [
                "\"system\"",
                "image_url",
                "data:image",
                "tool_calls",
                "tool_call_id",
                "\"tool_choice\":\"auto\"",
                "\"tool_choice\":\"none\"",
                "\"tool_choice\":\"required\"",
                "\"tool_choice\":{",
                "parallel_tool_calls",
                "\"temperature\"",
                "\"top_p\"",
                "\"stop\":[",
                "\"stop\":\"",
                "\"stream\":true",
                "\"user\"",
                "max_completion_tokens",
                "\"strict\"",
            ] {
                if text.contains(feature) {
                    *seen.entry(feature).or_default() += 1;
                }
            }
        }
        assert_eq!(seen.len(), 18, "features reached: {seen:?}");
        assert!(seen.values().all(|n| *n >= 100), "too rare: {seen:?}");
    }

    /// The comparison is not blind: a body that lost or changed any one shared
    /// field after a real round trip is told apart from the original.
    #[test]
    fn a_changed_shared_field_is_caught() {
        let mut rng = Rng::with_seed(7);
        let mut caught = 0;
        for _ in 0..200 {
            let body = request(&mut rng);
            let Ok(back) = round_trip(&body) else {
                panic!("round trip refused {body}");
            };
            let mut broken = back.clone();
            let path = match rng.u8(..8) {
                0 => "/model",
                1 => "/max_tokens",
                2 => "/messages/0",
                3 => "/temperature",
                4 => "/tools",
                5 => "/user",
                6 => "/stop",
                _ => "/tool_choice",
            };
            let Some(field) = broken.pointer_mut(path) else {
                continue;
            };
            *field = match field {
                Value::Number(_) => json!(0.25),
                Value::String(s) => json!(format!("{s}!")),
                _ => Value::Null,
            };
            assert!(compare(&body, &broken).is_err(), "{path} changed unseen");
            caught += 1;
        }
        assert!(caught > 100);
        // A tool call id changed (results then answer no call).
        let mut rng = Rng::with_seed(11);
        let body = loop {
            let body = request(&mut rng);
            if body.to_string().contains("tool_call_id") {
                break body;
            }
        };
        let back = round_trip(&body).map_err(|e| e.to_string());
        let Ok(mut back) = back else {
            panic!("{back:?}")
        };
        let text = back
            .to_string()
            .replacen("\"tool_call_id\":\"", "\"tool_call_id\":\"x", 1);
        back = serde_json::from_str(&text).unwrap();
        assert!(compare(&body, &back).is_err());
    }

    /// The Anthropic bodies the round trip goes through are ones the API
    /// takes: the project's strict Anthropic mock (which rejects what the real
    /// API rejects) answers each with 200. Streams are asked without streaming
    /// so every answer is one body.
    #[tokio::test]
    async fn the_anthropic_leg_is_accepted_by_the_strict_mock() {
        let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let url = format!("{}/messages", mock.base_url());
        let client = reqwest::Client::new();
        for seed in 0..1000u64 {
            let body = request(&mut Rng::with_seed(seed));
            let bytes = serde_json::to_vec(&body).unwrap();
            let chat = openai_chat::request::decode(&bytes).unwrap();
            let (mut wire, _) = anthropic::egress::to_request(&chat, DEFAULT_MAX_TOKENS).unwrap();
            wire.stream = None;
            let answer = client
                .post(&url)
                .header("x-api-key", "test")
                .header("anthropic-version", anthropic::egress::API_VERSION)
                .json(&wire)
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let text = answer.text().await.unwrap();
            assert_eq!(
                status,
                200,
                "seed {seed}: {text}\nbody: {}",
                serde_json::to_string(&wire).unwrap()
            );
        }
    }

    /// What the normalization treats as equal, and what it does not.
    #[test]
    fn normalization_merges_only_spellings() {
        let a = json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "stop": "x", "stream": false, "max_completion_tokens": 5});
        let b = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["x"], "max_tokens": 5});
        assert!(compare(&a, &b).is_ok());
        let c = json!({"model": "m", "messages": [{"role": "user", "content": "hi "}], "stop": ["x"], "max_tokens": 5});
        assert!(compare(&a, &c).is_err());
        let d = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["x"], "max_tokens": 5, "stream": true});
        assert!(compare(&b, &d).is_err());
    }
}
