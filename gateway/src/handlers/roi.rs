//! `POST /api/v1/roi`: the sales worksheet (scenario mode) and a tenant's
//! measured ROI from its own recorded traffic.

use axum::Router;

use crate::state::AppState;

/// Routes relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
