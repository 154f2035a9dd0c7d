//! ROI promised vs achieved over HTTP (issue 11):
//!
//! - `POST /api/v1/roi/promises` (`save`): admin keys only (sales records it
//!   at signing). The body of `POST /api/v1/roi` in scenario mode, plus
//!   `tenant` (required) and `start_month` (`YYYY-MM`, default this month).
//!   The scenario is worked as `POST /api/v1/roi` works it and saved with its
//!   figures as the tenant's next version; 201 with the promise and the report.
//! - `GET /api/v1/roi/promises` (`read`): every version of a tenant's promise.
//! - `GET /api/v1/roi/achievement` (`read`): the latest promise month by month
//!   against the tenant's measured savings, JSON or CSV (`format=csv`).
//!
//! Reads are scoped like the analytics API (an admin key may pass `tenant`),
//! and need the tenant's whole analytics: a key that reads only its team's or
//! its own figures would otherwise see the tenant's savings. The figures
//! themselves are `analytics::promises`; `views` shapes them, `openapi`
//! documents them.

pub mod openapi;
mod read;
mod save;
mod views;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Routes relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/roi/promises", get(read::promises).post(save::save))
        .route("/roi/achievement", get(read::achievement))
}
