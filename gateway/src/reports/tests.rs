//! The renderers, from one report made here (no store): the JSON carries the
//! analytics records' cells, the HTML escapes names and inlines both charts,
//! the CSV guards formula-like names, the text and the PDF show the same
//! figures (the PDF read back with a real parser).

use analytics::store::queries::{Aggregate, Totals};
use pricing::Cost;

use super::build::{Report, RoiToDate};
use super::period::Period;
use super::{html, json, message, pdf, view};
use crate::handlers::analytics_api::figures::figures;

fn usd(text: &str) -> Cost {
    Cost::parse_usd(text).unwrap_or_default()
}

fn group(a: &str, b: &str, requests: i64, cost: &str, baseline: &str) -> Aggregate {
    Aggregate {
        group: (a.to_owned(), b.to_owned()),
        totals: Totals {
            requests,
            errors: 1,
            cost: usd(cost),
            baseline: usd(baseline),
            savings: usd(baseline) - usd(cost),
            ..Totals::default()
        },
        ..Aggregate::default()
    }
}

fn sample() -> Report {
    let period = Period::parse("2026-W48").unwrap_or(Period::of(
        super::period::Kind::Weekly,
        chrono::NaiveDate::default(),
    ));
    Report {
        tenant: "acme".to_owned(),
        period,
        complete: true,
        current: group("", "", 4, "1.5", "6"),
        previous: group("", "", 2, "3", "3"),
        top_models: vec![
            group("=cmd()", "", 3, "1.25", "5"),
            group("b", "", 1, "0.25", "1"),
        ],
        top_teams: vec![group("<script>", "", 4, "1.5", "6")],
        routes: vec![
            group("=cmd()", "cheap", 3, "1.25", "5"),
            group("b", "b", 1, "0.25", "1"),
        ],
        previous_routes: vec![group("b", "b", 2, "3", "3")],
        days: period
            .days()
            .into_iter()
            .map(|d| (d, group(&d.to_string(), "", 0, "0", "0")))
            .collect(),
        roi: None,
    }
}

#[test]
fn json_carries_the_analytics_records() {
    let report = sample();
    let value = json::json(&report);
    let records = serde_json::to_value(figures(&report.current)).unwrap_or_default();
    assert_eq!(value["figures"], records);
    assert_eq!(value["figures"]["savings_pct"], "75.00");
    assert_eq!(value["period"], "2026-W48");
    assert_eq!(value["from"], "2026-11-23");
    assert_eq!(value["previous"]["period"], "2026-W47");
    assert_eq!(value["changes"]["spend_change_pct"], "-50.00");
    assert_eq!(value["changes"]["requests_change_pct"], "100.00");
    assert_eq!(value["top_models"][0]["requested_model"], "=cmd()");
    assert_eq!(value["routing_mix"]["substitution_rate_pct"], "75.00");
    assert_eq!(
        value["routing_mix"]["previous_substitution_rate_pct"],
        "0.00"
    );
    let routes = value["routing_mix"]["routes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[1]["previous_share_pct"], "100.00");
    assert_eq!(routes[0]["substituted"], true);
    assert_eq!(value["daily"].as_array().map(Vec::len), Some(7));
    assert!(value["roi_to_date"].is_null());
    let with_roi = Report {
        roi: Some(RoiToDate {
            version: 2,
            start_month: report.period.start,
            measured: usd("3"),
            promised: usd("4"),
            projected_year: usd("36"),
            promised_year: usd("48"),
            complete_months: 1,
            months: 2,
        }),
        ..report
    };
    let roi = &json::json(&with_roi)["roi_to_date"];
    assert_eq!(roi["achievement_pct"], "75.00");
    assert_eq!(roi["projected_year_savings_usd"], "36");
    let page = html::html(&view::view(&with_roi));
    assert!(page.contains("ROI to date (promise v2") && page.contains("<td>1 of 2</td>"));
}

#[test]
fn html_escapes_names_and_inlines_both_charts() {
    let shown = view::view(&sample());
    let page = html::html(&shown);
    assert_eq!(page.matches("<svg ").count(), 2);
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
    assert!(page.contains("<td>1.5</td>") && page.contains("<td>75.00</td>"));
    let text = html::text(&shown);
    for label in [
        "Spend (USD)",
        "Would have cost (USD)",
        "Savings (USD)",
        "Requests",
        "Error rate %",
        "Top teams",
    ] {
        assert!(text.contains(label), "{label} in {text}");
    }
}

#[test]
fn the_csv_has_one_row_per_section_and_guards_formulas() {
    let report = sample();
    let csv = message::csv(&report);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("section,name,requests,errors,"),
        "{csv}"
    );
    assert!(lines[1].starts_with("period,2026-W48,4,1,"), "{csv}");
    assert!(lines[2].starts_with("previous_period,2026-W47,2,"), "{csv}");
    assert!(lines[3].starts_with("model,'=cmd(),3,"), "{csv}");
    // 2 periods, 2 models, 1 team, 7 days, and the header.
    assert_eq!(lines.len(), 13);
    assert_eq!(message::csv_name(&report), "report-acme-2026-W48.csv");
}

#[test]
fn the_pdf_reads_back_with_the_figures() {
    let bytes = pdf::pdf(&view::view(&sample()));
    let document = match lopdf::Document::load_mem(&bytes) {
        Ok(document) => document,
        Err(error) => panic!("{error}"),
    };
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    let text = document.extract_text(&pages).unwrap_or_default();
    for line in [
        "Weekly report 2026-W48 for acme",
        "Spend (USD): 1.5   (previous 3, change -50.00%)",
        "Savings %: 75.00",
        "Requests: 4",
        "<script>",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

#[test]
fn every_channel_gets_the_same_report() {
    let report = sample();
    let run = message::RunRef {
        id: "run1".to_owned(),
        origin: "manual".to_owned(),
    };
    let out = message::outgoing(&report, &run, "hook");
    assert_eq!(out.id, "run1:hook");
    assert_eq!(out.event, "report.weekly");
    assert_eq!(out.webhook["id"], "run1:hook");
    assert_eq!(out.webhook["report"], json::json(&report));
    assert!(out.slack["text"]
        .as_str()
        .is_some_and(|t| t.contains("spend $1.5") && t.contains("(75.00%)")));
    assert!(out
        .email
        .subject
        .contains("Weekly report 2026-W48 for acme"));
    assert_eq!(out.email.attachments.len(), 1);
    assert!(out
        .email
        .html
        .as_deref()
        .is_some_and(|h| h.contains("<svg ")));
}
