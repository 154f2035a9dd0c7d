//! `x-request-id`: kept from the client when it is a short token, minted otherwise,
//! and returned on every response so a client-side report can be found in our logs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// `req_` + a per-process random prefix + a counter: unique without a syscall.
fn mint() -> HeaderValue {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // Without OS randomness the prefix is 0; ids stay unique within the process.
        let _ = getrandom::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Hex digits written in place: no formatting machinery on the hot path.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = *b"req_0000000000000000000000000000";
    let digits = (u128::from(prefix) << 48) | u128::from(n & 0xffff_ffff_ffff);
    for (i, byte) in id[4..].iter_mut().enumerate() {
        *byte = HEX[((digits >> (4 * (27 - i))) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("req_unknown"))
}

/// The request's id: the client's when acceptable, else a new one. Put on the
/// request as a [`RequestId`] extension; the caller puts it on the answer with
/// [`answer_with`].
pub fn assign(request: &mut Request) -> HeaderValue {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| acceptable(v))
        .cloned()
        .unwrap_or_else(mint);
    request.extensions_mut().insert(RequestId(id.clone()));
    id
}

/// Puts the request's id on its answer.
pub fn answer_with(response: &mut Response, id: HeaderValue) {
    response.headers_mut().insert(REQUEST_ID.clone(), id);
}

/// A layer of its own, for routers without the `observe` layer (which assigns
/// the id itself, saving a layer on the request path).
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = assign(&mut request);
    let mut response = next.run(request).await;
    answer_with(&mut response, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tokens_and_rejects_junk() {
        assert!(acceptable(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!acceptable(&HeaderValue::from_static("has space")));
        assert!(!acceptable(&HeaderValue::from_static("")));
        let a = mint();
        let b = mint();
        assert_ne!(a, b);
    }
}
