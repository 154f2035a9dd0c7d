//! The e-mail's two bodies, pure functions of the [`View`]: HTML with the
//! charts inline as `<svg>` (no images to fetch, nothing remote), and the
//! plain-text alternative with the same tables as aligned columns. Every
//! text that came from outside (model and team names, the tenant) is
//! escaped.

use std::fmt::Write as _;

use super::chart::{escape, svg};
use super::view::{Table, View};

fn html_table(out: &mut String, table: &Table) {
    let _ = write!(
        out,
        "<h2 style=\"font-size:15px;margin:18px 0 6px\">{}</h2>\
         <table cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\"><tr>",
        escape(&table.title)
    );
    for column in &table.columns {
        let _ = write!(
            out,
            "<th align=\"left\" style=\"border-bottom:1px solid #999\">{}</th>",
            escape(column)
        );
    }
    out.push_str("</tr>");
    if table.rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\">(no traffic)</td></tr>",
            table.columns.len()
        );
    }
    for row in &table.rows {
        out.push_str("<tr>");
        for value in row {
            let _ = write!(out, "<td>{}</td>", escape(value));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// The HTML body.
pub fn html(view: &View) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:Helvetica,Arial,sans-serif;color:#111\">\
         <h1 style=\"font-size:20px\">{title}</h1><p>{subtitle}</p>",
        title = escape(&view.title),
        subtitle = escape(&view.subtitle)
    );
    html_table(&mut out, &view.headline);
    for chart in &view.charts {
        let _ = write!(
            out,
            "<h2 style=\"font-size:15px;margin:18px 0 6px\">{}</h2><div>{}</div>",
            escape(&chart.title),
            svg(chart)
        );
    }
    for table in &view.tables {
        html_table(&mut out, table);
    }
    for note in &view.notes {
        let _ = write!(
            out,
            "<p style=\"font-size:12px;color:#555\">{}</p>",
            escape(note)
        );
    }
    out.push_str("<p style=\"font-size:12px;color:#555\">The attached CSV holds these figures with every column of the analytics API.</p></body></html>");
    out
}

fn text_table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "\n{}", table.title);
    let mut widths: Vec<usize> = table.columns.iter().map(|c| c.chars().count()).collect();
    for row in &table.rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(value.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "  {}", padded.join("  ").trim_end());
    };
    line(out, table.columns.clone());
    if table.rows.is_empty() {
        let _ = writeln!(out, "  (no traffic)");
    }
    for row in &table.rows {
        line(out, row.iter().map(String::as_str).collect());
    }
}

/// The plain-text body.
pub fn text(view: &View) -> String {
    let mut out = format!("{}\n{}\n", view.title, view.subtitle);
    text_table(&mut out, &view.headline);
    for table in &view.tables {
        text_table(&mut out, table);
    }
    out.push('\n');
    for note in &view.notes {
        let _ = writeln!(out, "{note}");
    }
    out
}
