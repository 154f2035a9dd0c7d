//! Scheduled reports (issue 11): per tenant, a weekly or monthly report of
//! spend, what it would have cost, savings, top models and teams, routing mix
//! changes, reliability and ROI to date, delivered by e-mail (HTML with inline
//! SVG charts, a CSV attachment) and webhook (JSON) at a configured local time,
//! and served by the API as JSON and as a PDF.
//!
//! - `period`: weeks and months of UTC days; `schedule`: when a schedule is
//!   due and what it reports.
//! - `build`: the report, read from the rollups with the analytics API's
//!   queries; `json`, `view`, `chart`, `html`, `pdf`, `message`: pure
//!   renderings of it.
//! - `deliver`: runs claimed once in the store, deliveries leased, retried
//!   and recorded; `http`: the API (`/api/v1/reports/...`, "send now"),
//!   documented in `handlers::reports_openapi`; `cli`: `gateway reports send`.
//!
//! Channels are `[[alerts.channels]]`: a report goes where alerts go, signed
//! and retried the same way.

pub mod build;
pub mod chart;
pub mod cli;
pub mod deliver;
pub mod html;
pub mod http;
pub mod json;
pub mod message;
pub mod pdf;
pub mod period;
pub mod schedule;
pub mod view;

use tokio::sync::watch;

pub use deliver::Reports;

/// The schedule task; [`Running::shutdown`] stops it between rounds (an
/// attempt under way is finished and recorded first).
pub use crate::alerts::Running;

/// Runs `reports`' rounds every `every`, the first at once.
pub fn start(reports: Reports, every: std::time::Duration) -> Running {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            reports.round(chrono::Utc::now()).await;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stopped.changed() => return,
            }
        }
    });
    Running::new(stop, task)
}

#[cfg(test)]
mod tests;
