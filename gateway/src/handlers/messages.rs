//! Anthropic's Messages API for Claude Code and the Anthropic SDKs.
//!
//! - `POST /v1/messages` goes the translated ingress path (`translated`):
//!   routed by the catalog like any chat request, passed through untouched to
//!   an Anthropic provider, translated for any other; answers and errors in
//!   Anthropic's shapes.
//! - `POST /v1/messages/count_tokens` is answered here, without any provider:
//!   `{"input_tokens": N}` counted by the gateway's own tokenizer. For Claude
//!   models this is an estimate (Anthropic's tokenizer is not public), leaning
//!   high (see `pricing::tokens`), good for what clients use it for: deciding
//!   when a conversation nears the window. It bills nothing and leaves no
//!   usage event (`Route::records_usage`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;

use super::{count_in_budget, read_body, translated};
use crate::error::{echo, GatewayError};
use crate::formats::anthropic::ingress;
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::routing::prompt;
use crate::state::{AppState, Snapshot};

pub async fn messages(
    state: State<AppState>,
    key: Extension<Arc<ApiKey>>,
    snapshot: Extension<Arc<Snapshot>>,
    request: Request,
) -> Response {
    translated::handle(IngressFormat::Anthropic, state, key, snapshot, request).await
}

pub async fn count_tokens(
    State(state): State<AppState>,
    Extension(snapshot): Extension<Arc<Snapshot>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let counted = match read_body(body, &parts.headers, snapshot.max_body_bytes).await {
        Ok(body) => count(&state, &snapshot, &body).await,
        Err(error) => Err(error),
    };
    match counted {
        Ok(input_tokens) => {
            let mut response =
                (StatusCode::OK, ingress::count_tokens_body(input_tokens)).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => error.render(IngressFormat::Anthropic),
    }
}

/// The prompt's tokens: counted on a counting thread within the configured
/// budget, or, over it, the estimate routing uses (about four bytes a token).
async fn count(state: &AppState, snapshot: &Snapshot, body: &Bytes) -> Result<u64, GatewayError> {
    let request = ingress::parse_count_tokens(body)
        .map_err(|error| GatewayError::invalid(error.to_string(), None))?;
    if !snapshot.table.knows(&request.model) {
        return Err(GatewayError::ModelNotFound(echo(&request.model)));
    }
    let needs = prompt::requirements(&request);
    let texts = prompt::texts(&request);
    let counted = count_in_budget(
        state,
        snapshot,
        needs.prompt.text_bytes,
        move |keep_going| prompt::count(&texts, keep_going).map(Some),
    )
    .await;
    Ok(counted.unwrap_or_else(|| needs.expected_prompt_tokens()))
}
