//! `/dashboard`: the savings dashboard, served from assets embedded in the binary.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
