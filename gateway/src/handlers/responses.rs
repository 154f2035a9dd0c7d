//! OpenAI's Responses API, for Codex CLI and newer OpenAI SDK code.
//!
//! - `POST /v1/responses` goes the translated ingress path (`translated`):
//!   routed by the catalog like any chat request, passed through untouched to
//!   a provider configured with `responses_api` (OpenAI itself), translated to
//!   the provider's format for any other (chat completions, Anthropic,
//!   Gemini); answers, typed stream events and errors in the Responses shapes.
//!   The gateway keeps no state: a request that needs the provider's stored
//!   state (`previous_response_id`, `conversation`,
//!   `background`, stored prompts) is served only by `responses_api`
//!   providers, and refused with a 400 (`unsupported_stateful_request`) when
//!   the routed model has none.
//! - `GET` and `DELETE /v1/responses/{id}` (and its `input_items` and
//!   `cancel`) are answered here with OpenAI's 404 shape: there is nothing
//!   stored to read back.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::Extension;

use super::translated;
use crate::error::{echo, GatewayError};
use crate::formats::IngressFormat;
use crate::keys::ApiKey;
use crate::state::{AppState, Snapshot};

pub async fn create(
    state: State<AppState>,
    key: Extension<Arc<ApiKey>>,
    snapshot: Extension<Arc<Snapshot>>,
    request: Request,
) -> Response {
    translated::handle(IngressFormat::Responses, state, key, snapshot, request).await
}

/// `GET`/`DELETE /v1/responses/{id}` and `.../{id}/{input_items,cancel}`.
pub async fn stored(Path(path): Path<String>) -> Response {
    let id = path.split('/').next().unwrap_or_default();
    GatewayError::ResponseNotStored(echo(id)).render(IngressFormat::Responses)
}
