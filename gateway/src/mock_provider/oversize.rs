//! Misbehaving answers for the gateway's upstream limits: a redirect, a body of
//! any size and an SSE event of any size. Large bodies are generated in pieces as
//! they are sent, so "endless" costs the mock no memory and stops as soon as the
//! gateway hangs up.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};

/// Size of each generated piece.
const PIECE: usize = 64 * 1024;

/// Where a redirect points: a route of this mock that would answer the request.
pub const REDIRECT_TARGET: &str = "/v1/redirect-target";

/// A 3xx answer pointing at [`REDIRECT_TARGET`].
pub fn redirect(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    let mut response = (status, "").into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(REDIRECT_TARGET));
    response
}

/// `prefix`, then `pad` bytes of `x`, then `suffix`, in pieces of at most 64 KiB.
pub fn padded(
    prefix: String,
    pad: u64,
    suffix: String,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let filler = Bytes::from(vec![b'x'; PIECE]);
    let pieces = stream::unfold(pad, move |left| {
        let filler = filler.clone();
        async move {
            if left == 0 {
                return None;
            }
            let take = usize::try_from(left).map_or(PIECE, |left| left.min(PIECE));
            Some((Ok(filler.slice(..take)), left - take as u64))
        }
    });
    stream::once(async move { Ok(Bytes::from(prefix)) })
        .chain(pieces)
        .chain(stream::once(async move { Ok(Bytes::from(suffix)) }))
}

/// A chat completion of exactly `total` bytes (or its fixed parts, if larger).
pub fn big_completion(model: &str, total: u64, declare_length: bool) -> Response {
    let model = serde_json::Value::String(model.to_owned());
    let prefix = format!(
        r#"{{"id":"chatcmpl-big","object":"chat.completion","created":0,"model":{model},"choices":[{{"index":0,"message":{{"role":"assistant","content":""#
    );
    let suffix = r#""},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#.to_owned();
    let fixed = (prefix.len() + suffix.len()) as u64;
    let length = total.max(fixed);
    let mut response = Body::from_stream(padded(prefix, length - fixed, suffix)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if declare_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// One `data:` event of about `total` bytes: a content delta of `x`s.
pub fn big_event(
    model: &str,
    total: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let model = serde_json::Value::String(model.to_owned());
    let prefix = format!(
        r#"data: {{"id":"chatcmpl-big","object":"chat.completion.chunk","created":0,"model":{model},"choices":[{{"index":0,"delta":{{"content":""#
    );
    let suffix = "\"},\"finish_reason\":null}]}\n\n".to_owned();
    let fixed = (prefix.len() + suffix.len()) as u64;
    padded(prefix, total.saturating_sub(fixed), suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(s: impl Stream<Item = Result<Bytes, std::io::Error>>) -> Vec<u8> {
        s.map(|piece| piece.unwrap().to_vec()).concat().await
    }

    #[tokio::test]
    async fn a_big_completion_has_exactly_the_asked_size_and_is_json() {
        for total in [10, 300, 200_000] {
            let body =
                axum::body::to_bytes(big_completion("m", total, false).into_body(), usize::MAX)
                    .await
                    .unwrap();
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["object"], "chat.completion");
            if total > 300 {
                assert_eq!(body.len() as u64, total);
            }
        }
    }

    #[tokio::test]
    async fn a_big_event_is_one_whole_event() {
        let event = collect(big_event("m", 150_000)).await;
        assert_eq!(event.len(), 150_000);
        let data = event.strip_prefix(b"data: ").unwrap();
        let data = data.strip_suffix(b"\n\n").unwrap();
        let value: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(value["object"], "chat.completion.chunk");
    }
}
