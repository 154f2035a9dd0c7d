//! Bearer-key authentication. The presented key is hashed and looked up; it is
//! never logged, stored or echoed back. Its limits are `crate::limits`'.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::KeyRole;
use crate::error::GatewayError;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::route::Route;
use crate::state::AppState;

/// The key from `Authorization: Bearer <key>`, or Anthropic-style `x-api-key:
/// <key>` (what the Anthropic SDKs send with `ANTHROPIC_API_KEY`), or
/// Azure-style `api-key: <key>`.
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
        .get("x-api-key")
        .or_else(|| headers.get("api-key"))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// For the OpenAI-compatible API: `api` keys only.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let format = ingress(&request);
    admit(state, request, next, openai_access, format).await
}

/// For the analytics API and the ROI calculator: every key, dashboard tokens too.
pub async fn authenticate_reader(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    admit(state, request, next, |_| Ok(()), IngressFormat::OpenAiChat).await
}

/// For the admin API: admin keys and tenant owners' keys.
pub async fn authenticate_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    admit(
        state,
        request,
        next,
        admin_access,
        IngressFormat::OpenAiChat,
    )
    .await
}

/// The format the route's errors are written in (see [`Route`]).
fn ingress(request: &Request) -> IngressFormat {
    request
        .extensions()
        .get::<Route>()
        .map_or(IngressFormat::OpenAiChat, |route| route.ingress())
}

/// Which keys may send traffic: `api` keys. A dashboard token is read-only; an
/// admin key reads every tenant's analytics, so it sends no traffic that
/// would be billed to its own tenant and could be confused with a tenant's.
fn openai_access(role: KeyRole) -> Result<(), &'static str> {
    match role {
        KeyRole::Api => Ok(()),
        KeyRole::Dashboard => Err("the OpenAI API (it is a dashboard token)"),
        KeyRole::Admin => Err("the OpenAI API (it is an admin key, for analytics only)"),
        KeyRole::Owner => Err("the OpenAI API (it is a tenant owner's key, for the admin API)"),
    }
}

/// Which keys reach the admin API: admin keys, and tenant owners' keys (the
/// handlers keep those to their own tenant).
fn admin_access(role: KeyRole) -> Result<(), &'static str> {
    match role {
        KeyRole::Admin | KeyRole::Owner => Ok(()),
        KeyRole::Api | KeyRole::Dashboard => {
            Err("the admin API (it needs an admin key or a tenant owner's key)")
        }
    }
}

/// Runs the request as the caller whose key it presents, or answers with why
/// not. Once the key is known it is on the answer too (for the usage event),
/// a refusal by its limits included.
async fn admit(
    state: AppState,
    mut request: Request,
    next: Next,
    allowed: impl Fn(KeyRole) -> Result<(), &'static str>,
    format: IngressFormat,
) -> Response {
    let Some(presented) = presented_key(request.headers()) else {
        return GatewayError::MissingKey.render(format);
    };
    let Some(key) = state.keys().find(presented).cloned() else {
        return GatewayError::InvalidKey.render(format);
    };
    let now = crate::state::now_ms();
    if key.life.expired(now) {
        return GatewayError::InvalidKey.render(format);
    }
    key.life.used(now);
    let snapshot = state.snapshot();
    if let Err(what) = allowed(key.role) {
        return GatewayError::Forbidden(what).render(format);
    }
    // Limits and budgets are taken where the request's tokens and cost are
    // known (`crate::proxy`), after its body is read.
    request.extensions_mut().insert(key.clone());
    // The request works with this one snapshot to the end, even across a reload.
    request.extensions_mut().insert(snapshot);
    let mut response = next.run(request).await;
    response.extensions_mut().insert::<Arc<ApiKey>>(key);
    response
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
    fn only_api_keys_send_traffic() {
        assert_eq!(openai_access(KeyRole::Api), Ok(()));
        let dashboard = openai_access(KeyRole::Dashboard).unwrap_err();
        assert!(dashboard.contains("dashboard token"), "{dashboard}");
        let admin = openai_access(KeyRole::Admin).unwrap_err();
        assert!(admin.contains("admin key"), "{admin}");
        // Rendered as a 403 in OpenAI's error shape.
        let error = GatewayError::Forbidden(admin);
        assert_eq!(error.status(), axum::http::StatusCode::FORBIDDEN);
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
        assert_eq!(
            presented_key(&headers(&[("x-api-key", "sk-3")])),
            Some("sk-3")
        );
        assert_eq!(
            presented_key(&headers(&[("x-api-key", "sk-3"), ("api-key", "sk-2")])),
            Some("sk-3")
        );
        assert_eq!(
            presented_key(&headers(&[
                ("x-api-key", " "),
                ("authorization", "Bearer sk-1")
            ])),
            Some("sk-1")
        );
        assert_eq!(presented_key(&headers(&[])), None);
    }
}
