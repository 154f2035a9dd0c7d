//! Mock embeddings: deterministic vectors derived from the input text, as floats
//! or base64 little-endian f32 (the official SDKs ask for base64 by default).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{error_response, MockState};

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<Value>),
}

#[derive(Deserialize)]
struct EmbeddingsBody {
    model: String,
    input: Input,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    // FNV-1a seeds a tiny LCG: same text, same vector.
    let mut seed = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..dimensions)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub async fn respond(state: &MockState, raw: &[u8]) -> Response {
    let body: EmbeddingsBody = match serde_json::from_slice(raw) {
        Ok(body) => body,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("Invalid embeddings request: {error}"),
                "invalid_request_error",
                None,
            )
        }
    };
    let directives = state.directives_for(&body.model);
    if let Some(status) = directives.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error_response(status, "Simulated provider failure.", "server_error", None);
    }
    let texts: Vec<String> = match body.input {
        Input::One(text) => vec![text],
        Input::Many(items) => items.iter().map(Value::to_string).collect(),
    };
    let dimensions = body.dimensions.unwrap_or(8).clamp(1, 4096);
    let base64_wanted = body.encoding_format.as_deref() == Some("base64");
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let v = vector(text, dimensions);
            let embedding = if base64_wanted {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(crate::base64::encode(&bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens: u64 = texts.iter().map(|t| (t.len() as u64 / 4).max(1)).sum();
    Json(json!({
        "object": "list",
        "data": data,
        "model": body.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_and_bounded() {
        assert_eq!(vector("a", 4), vector("a", 4));
        assert_ne!(vector("a", 4), vector("b", 4));
        assert!(vector("x", 64).iter().all(|f| (-1.0..=1.0).contains(f)));
    }
}
