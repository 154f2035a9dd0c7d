//! What a person reads: the report laid out as a title, a table of headline
//! figures (this period, the one before, the change), tables of top models,
//! teams, routes and reliability, two charts and notes. Built once from the
//! [`Report`] with the JSON's own cells, so the e-mail, its text part and the
//! PDF show the API's numbers; each renders this view its way.

use analytics::store::queries::Aggregate;

use super::build::Report;
use super::chart::Chart;
use super::json::{cell, change, mix_rows, substitution_rate};
use crate::handlers::analytics_api::figures::{figures, percent, Cell, Record};

/// A table: a title, column names, rows of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub title: String,
    pub subtitle: String,
    /// `(figure, this period, previous period, change)`.
    pub headline: Table,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
    pub notes: Vec<String>,
}

/// A cell as text: `n/a` for null.
pub fn text(cell: &Cell) -> String {
    match cell {
        Cell::Int(value) => value.to_string(),
        Cell::Bool(value) => if *value { "yes" } else { "no" }.to_owned(),
        Cell::Text(value) | Cell::Label(value) => value.clone(),
        Cell::Null => "n/a".to_owned(),
    }
}

/// A cell's text, `None` for null.
fn text_of(cell: &Cell) -> Option<String> {
    (*cell != Cell::Null).then(|| text(cell))
}

fn field(record: &Record, name: &str) -> String {
    text(cell(record, name))
}

fn pct(value: Option<String>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v}%"))
}

const SPEND: [u8; 3] = [37, 99, 235];
const BASELINE: [u8; 3] = [203, 213, 225];

fn figures_table(title: &str, dimension: &'static str, groups: &[Aggregate]) -> Table {
    Table {
        title: title.to_owned(),
        columns: vec![
            dimension,
            "Requests",
            "Spend (USD)",
            "Savings (USD)",
            "Savings %",
        ],
        rows: groups
            .iter()
            .map(|group| {
                let record = figures(group);
                let name = text(&Cell::dimension(&group.group.0));
                vec![
                    if name == "n/a" {
                        "(none)".to_owned()
                    } else {
                        name
                    },
                    field(&record, "requests"),
                    field(&record, "spend_usd"),
                    field(&record, "savings_usd"),
                    pct(text_of(cell(&record, "savings_pct"))),
                ]
            })
            .collect(),
    }
}

/// The view of `report`.
pub fn view(report: &Report) -> View {
    let (period, previous) = (report.period, report.period.previous());
    let now = figures(&report.current);
    let before = figures(&report.previous);
    let (c, p) = (&report.current.totals, &report.previous.totals);
    let line = |label: &str, name: &str, changed: Option<String>| {
        vec![
            label.to_owned(),
            field(&now, name),
            field(&before, name),
            pct(changed),
        ]
    };
    let headline = Table {
        title: "Figures".to_owned(),
        columns: vec!["Figure", "This period", "Previous", "Change"],
        rows: vec![
            line("Spend (USD)", "spend_usd", change(c.cost.0, p.cost.0)),
            line(
                "Would have cost (USD)",
                "baseline_usd",
                change(c.baseline.0, p.baseline.0),
            ),
            line(
                "Savings (USD)",
                "savings_usd",
                change(c.savings.0, p.savings.0),
            ),
            line("Savings %", "savings_pct", None),
            line(
                "Requests",
                "requests",
                change(i128::from(c.requests), i128::from(p.requests)),
            ),
            line("Unpriced requests", "unpriced_requests", None),
        ],
    };
    let reliability = Table {
        title: "Reliability".to_owned(),
        columns: vec!["Figure", "This period", "Previous"],
        rows: [
            ("Error rate %", "error_rate_pct"),
            ("Failover rate %", "failover_rate_pct"),
            ("Latency p50 (ms)", "latency_p50_ms"),
            ("Latency p95 (ms)", "latency_p95_ms"),
        ]
        .iter()
        .map(|(label, name)| vec![(*label).to_owned(), field(&now, name), field(&before, name)])
        .collect(),
    };
    let mut routes = Table {
        title: format!(
            "Routing mix (served by another model: {} of requests, previous {})",
            pct(substitution_rate(&report.routes)),
            pct(substitution_rate(&report.previous_routes))
        ),
        columns: vec![
            "Requested",
            "Served by",
            "Share %",
            "Previous %",
            "Savings (USD)",
        ],
        rows: Vec::new(),
    };
    for record in mix_rows(report) {
        routes.rows.push(vec![
            field(&record, "requested_model"),
            field(&record, "routed_model"),
            field(&record, "share_pct"),
            field(&record, "previous_share_pct"),
            field(&record, "savings_usd"),
        ]);
    }
    let mut tables = vec![
        figures_table("Top models (by spend)", "Model", &report.top_models),
        figures_table("Top teams (by spend)", "Team", &report.top_teams),
        routes,
        reliability,
    ];
    if let Some(roi) = &report.roi {
        tables.push(Table {
            title: format!(
                "ROI to date (promise v{}, from {})",
                roi.version, roi.start_month
            ),
            columns: vec!["Figure", "Value"],
            rows: vec![
                vec!["Measured savings (USD)".into(), roi.measured.usd()],
                vec!["Promised savings (USD)".into(), roi.promised.usd()],
                vec![
                    "Achieved %".into(),
                    pct(percent(roi.measured.0, roi.promised.0)),
                ],
                vec![
                    "Projected first-year savings (USD)".into(),
                    roi.projected_year.usd(),
                ],
                vec![
                    "Promised first-year savings (USD)".into(),
                    roi.promised_year.usd(),
                ],
                vec![
                    "Complete months".into(),
                    format!("{} of {}", roi.complete_months, roi.months),
                ],
            ],
        });
    }
    let daily = Chart {
        title: "Spend and what it would have cost, by day (USD)".to_owned(),
        labels: report
            .days
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect(),
        series: vec![("would have cost", BASELINE), ("spend", SPEND)],
        values: report
            .days
            .iter()
            .map(|(_, g)| vec![g.totals.baseline.0, g.totals.cost.0])
            .collect(),
    };
    let models = Chart {
        title: "Top models: spend and what it would have cost (USD)".to_owned(),
        labels: report
            .top_models
            .iter()
            .map(|g| g.group.0.clone())
            .collect(),
        series: vec![("would have cost", BASELINE), ("spend", SPEND)],
        values: report
            .top_models
            .iter()
            .map(|g| vec![g.totals.baseline.0, g.totals.cost.0])
            .collect(),
    };
    let mut notes = vec![
        "Days are UTC days, as the rollups count them. Money covers priced requests only; \
         unpriced requests carry no savings."
            .to_owned(),
    ];
    if !report.complete {
        notes.push("The period has not ended: its figures are to date.".to_owned());
    }
    View {
        title: format!(
            "{} report {} for {}",
            capitalized(period.kind.as_str()),
            period.name(),
            report.tenant
        ),
        subtitle: format!(
            "{} to {} (previous: {} to {})",
            period.start, period.end, previous.start, previous.end
        ),
        headline,
        tables,
        charts: vec![daily, models],
        notes,
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
