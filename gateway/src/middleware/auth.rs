//! Bearer-key authentication and the per-key rate limit. The presented key is
//! hashed and looked up; it is never logged, stored or echoed back.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;
use crate::usage_event::DraftSlot;

/// The key from `Authorization: Bearer <key>`, or Azure-style `api-key: <key>`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, key) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| key.trim())
            .filter(|k| !k.is_empty());
    }
    headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// For the OpenAI-compatible API: `api` and `admin` keys.
pub async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, GatewayError> {
    admit(state, request, next, |role| role != KeyRole::Dashboard).await
}

/// For the analytics API and the ROI calculator: every key, dashboard tokens too.
pub async fn authenticate_reader(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, GatewayError> {
    admit(state, request, next, |_| true).await
}

async fn admit(
    state: AppState,
    mut request: Request,
    next: Next,
    allowed: impl Fn(KeyRole) -> bool,
) -> Result<Response, GatewayError> {
    let presented = presented_key(request.headers()).ok_or(GatewayError::MissingKey)?;
    let snapshot = state.snapshot();
    let key: Arc<ApiKey> = snapshot
        .keys
        .find(presented)
        .cloned()
        .ok_or(GatewayError::InvalidKey)?;
    if !allowed(key.role) {
        return Err(GatewayError::Forbidden(
            "the OpenAI API (it is a dashboard token)",
        ));
    }
    if let Some(draft) = request.extensions().get::<DraftSlot>() {
        draft.update(|d| {
            d.tenant = Some(key.tenant.clone());
            d.key_id.clone_from(&key.id);
            d.team.clone_from(&key.team);
        });
    }
    if let Some(limiter) = &key.limiter {
        limiter
            .check()
            .map_err(|retry_after| GatewayError::RateLimited { retry_after })?;
    }
    request.extensions_mut().insert(key);
    // The request works with this one snapshot to the end, even across a reload.
    request.extensions_mut().insert(snapshot);
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_bearer_and_api_key_headers() {
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer sk-1")])),
            Some("sk-1")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer  sk-1 ")])),
            Some("sk-1")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer ")])),
            None
        );
        assert_eq!(
            presented_key(&headers(&[("api-key", "sk-2")])),
            Some("sk-2")
        );
        assert_eq!(presented_key(&headers(&[])), None);
    }
}
