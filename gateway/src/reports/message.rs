//! A report written for each kind of channel: the webhook's JSON (the API's
//! report under `report`, with the run and an idempotency key of run and
//! channel), a one-line Slack message, and the e-mail (HTML with inline SVG
//! charts, the text alternative, the figures as a CSV attachment). Pure.

use serde_json::json;

use super::build::Report;
use super::html::{html, text};
use super::json::{cell, csv_rows, json};
use super::period::Kind;
use super::view::{text as cell_text, view};
use crate::alerts::channels::{Attachment, Email, Outgoing};
use crate::handlers::analytics_api::csv::{render, Table};
use crate::handlers::analytics_api::figures::figures;

/// Which run a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: String,
    /// `scheduled` or `manual`.
    pub origin: String,
}

/// The webhook's `x-gateway-event` and `type`.
pub fn event(kind: Kind) -> &'static str {
    match kind {
        Kind::Weekly => "report.weekly",
        Kind::Monthly => "report.monthly",
    }
}

/// `text` with anything but letters, digits, `-` and `_` as `_` (a file name).
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The report's CSV file: a header of the columns, one row per section.
pub fn csv(report: &Report) -> String {
    let rows = csv_rows(report);
    let columns = rows.first().map(|r| r.names()).unwrap_or_default();
    render(&Table { columns, rows })
}

/// The CSV attachment's file name.
pub fn csv_name(report: &Report) -> String {
    format!(
        "report-{}-{}.csv",
        file_safe(&report.tenant),
        report.period.name()
    )
}

/// `report` for channel `channel` of run `run`.
pub fn outgoing(report: &Report, run: &RunRef, channel: &str) -> Outgoing {
    let id = format!("{}:{channel}", run.id);
    let event = event(report.period.kind);
    let shown = view(report);
    let now = figures(&report.current);
    let summary = format!(
        "{}: spend ${} (would have cost ${}), savings ${} ({}%), {} requests",
        shown.title,
        cell_text(cell(&now, "spend_usd")),
        cell_text(cell(&now, "baseline_usd")),
        cell_text(cell(&now, "savings_usd")),
        cell_text(cell(&now, "savings_pct")),
        cell_text(cell(&now, "requests")),
    );
    Outgoing {
        webhook: json!({
            "id": id,
            "type": event,
            "run_id": run.id,
            "origin": run.origin,
            "tenant": report.tenant,
            "period": report.period.name(),
            "report": json(report),
        }),
        slack: json!({"text": summary}),
        email: Email {
            subject: format!("[gateway] {}", shown.title),
            text: text(&shown),
            html: Some(html(&shown)),
            attachments: vec![Attachment {
                file_name: csv_name(report),
                content_type: "text/csv; charset=utf-8",
                body: csv(report).into_bytes(),
            }],
        },
        id,
        event,
    }
}
