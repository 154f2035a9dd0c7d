//! The public side of share links, outside `/api/v1` and `/v1`: no API key,
//! the link's token in the path is the only credential, and it opens one
//! saved view of one tenant, read-only.
//!
//! - `GET /share/{token}`: the page (`dashboards/share.html`, `share.js`),
//!   which reads `/share/{token}/data`; a password link asks for it there.
//! - `GET /share/{token}/data`: the view's figures as JSON, from the same
//!   functions the analytics API answers with (`data`); errors in OpenAI's
//!   shape. A password comes in the `x-share-password` header.
//! - `GET /share/{token}/embed`: the headline tiles as a small page any site
//!   may frame (`[shares] frame_ancestors`); `GET /share/{token}/tiles.svg`:
//!   the same as an image. Neither takes a password: a password link shows
//!   a page (an image) that says so.
//!
//! Every request is rate limited per client address and per link
//! (`shares::limiter`) before the store is read. An unknown token is a 404,
//! an expired or revoked link a 410, each a clear page (JSON on `/data`).
//! Answers are never cached, never indexed, and send no referrer.

mod access;
mod data;
mod render;
mod text;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use self::access::{open, Password};
use crate::error::GatewayError;
use crate::state::AppState;

/// Header a password is sent in (never in a URL, which logs and referrers keep).
pub const PASSWORD_HEADER: &str = "x-share-password";

/// Routes at the root: `/share/...`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/share/{token}", get(page))
        .route("/share/{token}/data", get(figures))
        .route("/share/{token}/embed", get(embed))
        .route("/share/{token}/tiles.svg", get(tiles_svg))
}

/// The client's address, as the accept loop put it on the request.
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn address(peer: &Peer) -> Option<std::net::IpAddr> {
    peer.as_ref().map(|Extension(ConnectInfo(addr))| addr.ip())
}

/// Headers of every share answer: not cached, not indexed, no referrer.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// One view of a link's figures: opened, computed, counted.
async fn read(
    state: &AppState,
    peer: &Peer,
    token: &str,
    password: Password,
) -> Result<serde_json::Value, GatewayError> {
    let link = open(state, address(peer), token, password).await?;
    let figures = data::figures(state, &link).await?;
    access::viewed(state, &link);
    Ok(figures)
}

async fn page(State(state): State<AppState>, peer: Peer, Path(token): Path<String>) -> Response {
    let response = match open(&state, address(&peer), &token, Password::NotAsked).await {
        Ok(_) => render::page(),
        Err(error) => render::error_page(&error, render::Framing::Deny),
    };
    private(response)
}

async fn figures(
    State(state): State<AppState>,
    peer: Peer,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let password = headers
        .get(PASSWORD_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let answer = read(&state, &peer, &token, Password::Given(password)).await;
    private(match answer {
        Ok(figures) => Json(figures).into_response(),
        Err(error) => error.into_response(),
    })
}

async fn embed(State(state): State<AppState>, peer: Peer, Path(token): Path<String>) -> Response {
    let framing = render::Framing::Allow(state.shares.settings.frame_ancestors.clone());
    let answer = read(&state, &peer, &token, Password::Refused).await;
    private(match answer {
        Ok(figures) => render::embed(&figures, framing),
        Err(error) => render::error_page(&error, framing),
    })
}

async fn tiles_svg(
    State(state): State<AppState>,
    peer: Peer,
    Path(token): Path<String>,
) -> Response {
    let answer = read(&state, &peer, &token, Password::Refused).await;
    private(match answer {
        Ok(figures) => render::svg(StatusCode::OK, &render::tiles_svg(&figures)),
        Err(error) => render::svg(error.status(), &render::error_svg(&error)),
    })
}
