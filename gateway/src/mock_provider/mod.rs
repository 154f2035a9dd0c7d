//! A simulated provider. Tests, benchmarks and offline trials use it in place of
//! real vendors, which this project never calls in tests. It speaks OpenAI's chat
//! completions and embeddings (`chat`, `embeddings`), Responses API (`responses`)
//! and legacy completions (`completions`), Anthropic's Messages API (`anthropic`)
//! and Google's Gemini API (`gemini`); the newer formats check requests as the
//! real APIs do, and all of them share what they say (`reply`) and how streams
//! misbehave (`sse`).
//!
//! Behaviour is chosen by the model name, so one mock serves every scenario and a
//! gateway config picks one per model: `key=value` pairs separated by `+`, e.g.
//! `mock+status=500`, `mock+delay_ms=200`, `mock+cut_after=3`. See [`Directives`].

mod anthropic;
mod chat;
mod completions;
mod directives;
mod embeddings;
mod gemini;
mod oversize;
mod reply;
mod responses;
#[cfg(test)]
mod shape;
mod sse;

#[cfg(test)]
pub(crate) use anthropic::check_request as check_anthropic_request;

/// The Gemini mock's request checks, which judge the Gemini translator's output.
#[cfg(test)]
pub(crate) mod gemini_judge {
    pub(crate) use super::gemini::{check_count_tokens, check_generate_content};
}

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use directives::{Directives, Safety};

/// What the mock has seen, for tests to inspect.
#[derive(Debug, Default)]
pub struct MockState {
    pub requests: AtomicU64,
    /// Streams whose client went away before the last event.
    pub streams_cancelled: AtomicU64,
    pub streams_completed: AtomicU64,
    /// Requests that arrived at the target of a `redirect=` answer.
    pub redirects_followed: AtomicU64,
    pub last_body: Mutex<Option<Bytes>>,
    pub last_authorization: Mutex<Option<String>>,
    /// Path and query of the last request.
    pub last_uri: Mutex<Option<String>>,
    /// Extra header values seen on the last request, by name, for config tests.
    pub last_headers: Mutex<Vec<(String, String)>>,
    /// Directives applied to every request on top of the model's own, e.g.
    /// `status=500` to make this whole mock fail; tests change it at run time.
    behaviour: Mutex<String>,
    /// The only API key the Anthropic and Gemini routes accept (any, if unset).
    api_key: Mutex<Option<String>>,
    /// Prompt prefixes the simulated Anthropic cache holds.
    prompt_cache: Mutex<HashSet<[u8; 32]>>,
    /// Ids of the Responses API answers given (for `previous_response_id`).
    responses: Mutex<HashSet<String>>,
}

impl MockState {
    fn observe(&self, uri: &axum::http::Uri, headers: &HeaderMap, body: &Bytes, keep: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !keep {
            return;
        }
        if let Ok(mut last) = self.last_body.lock() {
            *last = Some(body.clone());
        }
        if let Ok(mut last) = self.last_uri.lock() {
            *last = uri.path_and_query().map(|pq| pq.as_str().to_owned());
        }
        if let Ok(mut last) = self.last_authorization.lock() {
            *last = headers
                .get("authorization")
                .or_else(|| headers.get("api-key"))
                .or_else(|| headers.get("x-api-key"))
                .or_else(|| headers.get("x-goog-api-key"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        if let Ok(mut last) = self.last_headers.lock() {
            *last = headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
                .collect();
        }
    }

    /// Sets the directives every request gets (empty: none).
    pub fn set_behaviour(&self, directives: &str) {
        if let Ok(mut behaviour) = self.behaviour.lock() {
            directives.clone_into(&mut behaviour);
        }
    }

    /// Makes the Anthropic and Gemini routes accept only `key` (`None`: any key).
    pub fn require_api_key(&self, key: Option<&str>) {
        if let Ok(mut expected) = self.api_key.lock() {
            *expected = key.map(str::to_owned);
        }
    }

    fn accepts_key(&self, key: &str) -> bool {
        self.api_key
            .lock()
            .map(|expected| expected.as_deref().is_none_or(|e| e == key))
            .unwrap_or(false)
    }

    fn remember_response(&self, id: &str) {
        if let Ok(mut ids) = self.responses.lock() {
            ids.insert(id.to_owned());
        }
    }

    fn knows_response(&self, id: &str) -> bool {
        self.responses.lock().is_ok_and(|ids| ids.contains(id))
    }

    /// Records a cached prompt prefix; whether it was there already.
    fn remember_prefix(&self, key: [u8; 32]) -> bool {
        self.prompt_cache
            .lock()
            .map(|mut cache| !cache.insert(key))
            .unwrap_or(false)
    }

    /// The directives for a request for `model`: the model's, then this mock's.
    pub fn directives_for(&self, model: &str) -> Directives {
        let behaviour = self.behaviour.lock().map(|b| b.clone()).unwrap_or_default();
        Directives::parse(&format!("{model}+{behaviour}"))
    }

    pub fn last_body_json(&self) -> Option<serde_json::Value> {
        let body = self.last_body.lock().ok()?.clone()?;
        serde_json::from_slice(&body).ok()
    }
}

pub struct RunningMock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
    task: JoinHandle<()>,
}

impl RunningMock {
    /// Base URL for a gateway provider entry, e.g. `http://127.0.0.1:1234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    state: Arc<MockState>,
    /// Whether to keep copies of request bodies (off under load).
    keep_bodies: bool,
}

/// Starts the mock on `addr` (port 0 for any free port), keeping request copies.
pub async fn start(addr: SocketAddr) -> std::io::Result<RunningMock> {
    start_with(addr, true).await
}

pub async fn start_with(addr: SocketAddr, keep_bodies: bool) -> std::io::Result<RunningMock> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(MockState::default());
    let shared = Shared {
        state: state.clone(),
        keep_bodies,
    };
    let api = Router::new()
        .route("/chat/completions", post(chat_route))
        .route("/embeddings", post(embeddings_route))
        .route("/models", get(models_route))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(chat_route),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(embeddings_route),
        )
        .route("/redirect-target", any(redirect_target))
        .route("/messages", post(anthropic_messages))
        .route("/messages/count_tokens", post(anthropic_count_tokens))
        .route("/models/{*rest}", post(gemini_route))
        .route("/responses", post(responses_route))
        .route("/completions", post(completions_route));
    let app = Router::new()
        .route("/v1beta/models/{*rest}", post(gemini_route))
        .nest("/v1", api.clone())
        .merge(api)
        .with_state(shared);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RunningMock { addr, state, task })
}

/// An OpenAI-shaped error answer.
pub fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    (status, Json(body)).into_response()
}

/// A number for ids, unique in this process.
fn next_number() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Half of a JSON answer, then a failed body: the connection cut mid-answer.
fn cut_json(bytes: Bytes) -> Response {
    let half = bytes.slice(..bytes.len() / 2);
    let parts = futures_util::stream::iter([Ok(half), Err(std::io::Error::other("simulated cut"))]);
    let mut response = Body::from_stream(parts).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The request's head and body, recorded in the mock's state; `Err` if the body
/// cannot be read.
async fn read_parts(
    shared: &Shared,
    request: Request,
) -> Result<(axum::http::request::Parts, Bytes), ()> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .map_err(|_| ())?;
    shared
        .state
        .observe(&parts.uri, &parts.headers, &bytes, shared.keep_bodies);
    Ok((parts, bytes))
}

async fn read(shared: &Shared, request: Request) -> Result<Bytes, Response> {
    read_parts(shared, request)
        .await
        .map(|(_, bytes)| bytes)
        .map_err(|()| {
            error_response(
                StatusCode::BAD_REQUEST,
                "unreadable body",
                "invalid_request_error",
                None,
            )
        })
}

async fn anthropic_route(
    shared: Shared,
    request: Request,
    endpoint: anthropic::Endpoint,
) -> Response {
    match read_parts(&shared, request).await {
        Ok((parts, body)) => {
            anthropic::respond(shared.state.clone(), &parts.headers, &body, endpoint).await
        }
        Err(()) => (StatusCode::BAD_REQUEST, "unreadable body").into_response(),
    }
}

async fn completions_route(State(shared): State<Shared>, request: Request) -> Response {
    match read(&shared, request).await {
        Ok(body) => completions::respond(shared.state.clone(), &body).await,
        Err(response) => response,
    }
}

async fn responses_route(State(shared): State<Shared>, request: Request) -> Response {
    match read(&shared, request).await {
        Ok(body) => responses::respond(shared.state.clone(), &body).await,
        Err(response) => response,
    }
}

async fn gemini_route(
    State(shared): State<Shared>,
    Path(rest): Path<String>,
    request: Request,
) -> Response {
    match read_parts(&shared, request).await {
        Ok((parts, body)) => {
            gemini::respond(
                shared.state.clone(),
                &parts.headers,
                &parts.uri,
                &rest,
                &body,
            )
            .await
        }
        Err(()) => (StatusCode::BAD_REQUEST, "unreadable body").into_response(),
    }
}

async fn anthropic_messages(State(shared): State<Shared>, request: Request) -> Response {
    anthropic_route(shared, request, anthropic::Endpoint::Create).await
}

async fn anthropic_count_tokens(State(shared): State<Shared>, request: Request) -> Response {
    anthropic_route(shared, request, anthropic::Endpoint::CountTokens).await
}

async fn chat_route(State(shared): State<Shared>, request: Request) -> Response {
    match read(&shared, request).await {
        Ok(body) => chat::respond(shared.state.clone(), &body).await,
        Err(response) => response,
    }
}

async fn embeddings_route(State(shared): State<Shared>, request: Request) -> Response {
    match read(&shared, request).await {
        Ok(body) => embeddings::respond(&shared.state, &body).await,
        Err(response) => response,
    }
}

/// Where `redirect=` answers point: counts the visit and answers like a provider
/// would, so a gateway that followed the redirect would look successful.
async fn redirect_target(State(shared): State<Shared>) -> Response {
    shared
        .state
        .redirects_followed
        .fetch_add(1, Ordering::Relaxed);
    Json(serde_json::json!({
        "id": "chatcmpl-redirected", "object": "chat.completion", "created": 0,
        "model": "mock",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "followed a redirect"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
    }))
    .into_response()
}

async fn models_route() -> Response {
    Json(serde_json::json!({
        "object": "list",
        "data": [
            {"id": "mock", "object": "model", "created": 1_700_000_000, "owned_by": "mock"},
            {"id": "mock-embed", "object": "model", "created": 1_700_000_000, "owned_by": "mock"}
        ]
    }))
    .into_response()
}
