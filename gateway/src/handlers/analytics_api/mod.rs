//! The analytics API under `/api/v1/analytics/`: tenant-scoped figures read from
//! the rollups (`usage_daily` and its latency histogram) and, for `realtime`,
//! today's counters; never by scanning raw events.
//!
//! - `params`: the query string, checked (400 naming the parameter; 403 for a
//!   non-admin key naming another tenant).
//! - `figures`: the figures of a group and the record both formats are written
//!   from; `csv`: the CSV rendering.
//! - `summary`, `series`, `breakdowns` (breakdowns and the routing mix),
//!   `realtime`: one endpoint each.
//! - `openapi`: the OpenAPI 3.1 document, served at `/api/v1/openapi.json`.
//!
//! The ROI promise reads (`handlers::roi_promises`) answer through the same
//! parameters, records and CSV rendering.
//!
//! Every endpoint answers JSON, or CSV with `?format=csv` / `Accept: text/csv`.
//! Figures of today come from the rollups as of their last run (the
//! housekeeping interval); `realtime` is up to date to the writer's last flush.

mod breakdowns;
pub(crate) mod csv;
pub(crate) mod figures;
pub mod openapi;
pub(crate) mod params;
mod realtime;
mod series;
mod summary;

use analytics::store::StoreError;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Serialize;

pub(crate) use self::breakdowns::{breakdown_of, routing_mix_of};
pub(crate) use self::csv::Table;
pub(crate) use self::figures::{Cell, Record};
pub(crate) use self::params::{Format, Params, Scope};
pub(crate) use self::series::series_of;
pub(crate) use self::summary::summary_of;
use crate::error::GatewayError;
use crate::state::AppState;

/// Routes of the analytics API, relative to `/api/v1/analytics`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/summary", get(summary::summary))
        .route("/timeseries", get(series::timeseries))
        .route("/breakdown", get(breakdowns::breakdown))
        .route("/routing-mix", get(breakdowns::routing_mix))
        .route("/realtime", get(realtime::realtime))
}

/// An answer: its JSON body, and the table its CSV export holds.
pub(crate) trait Answer: Serialize {
    /// The CSV file's name, without `.csv`.
    fn file_name(&self) -> String;
    fn table(&self) -> Table;
}

pub(crate) fn respond<A: Answer>(format: Format, answer: &A) -> Response {
    match format {
        Format::Json => Json(answer).into_response(),
        Format::Csv => csv::response(&answer.file_name(), &answer.table()),
    }
}

/// A failed store read: logged here, answered without its details.
pub(crate) fn store_error(error: StoreError) -> GatewayError {
    tracing::warn!(%error, "analytics query failed");
    GatewayError::AnalyticsStore {
        transient: error.is_transient(),
    }
}

/// Today, UTC.
fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}
