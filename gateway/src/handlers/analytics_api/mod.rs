//! The analytics API under `/api/v1/analytics/`: tenant-scoped figures read from
//! the rollups (and today's counters), never by scanning raw events.

use axum::Router;

use crate::state::AppState;

/// Routes of the analytics API, relative to `/api/v1/analytics`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
