//! The view a share link shows: a date range (a preset that moves with the
//! calendar, or fixed days), the analytics filters, and which panels. Read
//! from the admin API's body (every problem a 400 naming the field), kept as
//! JSON in the store, and turned into days when the link is read.

use analytics::store::queries::Filter;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;

/// Longest range of fixed days (the analytics API's own bound).
pub const MAX_RANGE_DAYS: i64 = 3660;
/// Longest filter value (the analytics API's own bound).
const MAX_FILTER_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    #[serde(rename = "last_7_days")]
    Last7Days,
    #[serde(rename = "last_30_days")]
    Last30Days,
    MonthToDate,
    LastMonth,
}

/// What `range` holds: `{"preset": ...}` or `{"from": ..., "to": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// A part of the savings page a link may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Panel {
    /// Spend, baseline, savings, savings %, requests.
    Tiles,
    Timeseries,
    /// By requested model.
    Models,
    Providers,
    Teams,
    /// Key ids: shown only when a view asks for them.
    Keys,
    RoutingMix,
}

/// Panels of a view that names none: no team names, no key ids.
const DEFAULT_PANELS: [Panel; 5] = [
    Panel::Tiles,
    Panel::Timeseries,
    Panel::Models,
    Panel::Providers,
    Panel::RoutingMix,
];

/// A checked view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareView {
    pub range: Range,
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub panels: Vec<Panel>,
}

impl ShareView {
    /// Checks a view as the admin API received it: one form of range, fixed
    /// days in order and bounded, filter values plain, panels without
    /// repeats (none given: [`DEFAULT_PANELS`]). Empty filters are dropped.
    pub fn checked(mut self) -> Result<ShareView, GatewayError> {
        let range = &self.range;
        match (range.preset, range.from, range.to) {
            (Some(_), None, None) => {}
            (None, Some(from), Some(to)) => {
                if from > to {
                    return Err(GatewayError::invalid(
                        format!("`from` ({from}) is after `to` ({to})."),
                        Some("view.range.from"),
                    ));
                }
                if (to - from).num_days() >= MAX_RANGE_DAYS {
                    return Err(GatewayError::invalid(
                        format!("A fixed range may cover at most {MAX_RANGE_DAYS} days."),
                        Some("view.range.from"),
                    ));
                }
            }
            (Some(_), _, _) => {
                return Err(GatewayError::invalid(
                    "`range` takes either `preset` or `from` and `to`, not both.",
                    Some("view.range"),
                ))
            }
            (None, None, _) => {
                return Err(GatewayError::invalid(
                    "`range` needs `preset` (last_7_days, last_30_days, month_to_date, \
                     last_month) or `from` and `to` (YYYY-MM-DD).",
                    Some("view.range.from"),
                ))
            }
            (None, Some(_), None) => {
                return Err(GatewayError::invalid(
                    "`range.to` is required with `range.from`.",
                    Some("view.range.to"),
                ))
            }
        }
        let f = &mut self.filters;
        for (value, field) in [
            (&mut f.team, "view.filters.team"),
            (&mut f.key, "view.filters.key"),
            (&mut f.model, "view.filters.model"),
            (&mut f.provider, "view.filters.provider"),
        ] {
            if value.as_deref() == Some("") {
                *value = None;
            }
            if let Some(text) = value {
                if text.len() > MAX_FILTER_LEN || text.chars().any(char::is_control) {
                    return Err(GatewayError::invalid(
                        format!("A filter is at most {MAX_FILTER_LEN} bytes of plain text."),
                        Some(field),
                    ));
                }
            }
        }
        if self.panels.is_empty() {
            self.panels = DEFAULT_PANELS.to_vec();
        }
        for (i, panel) in self.panels.iter().enumerate() {
            if self.panels[..i].contains(panel) {
                return Err(GatewayError::invalid(
                    "A panel is named twice.",
                    Some("view.panels"),
                ));
            }
        }
        Ok(self)
    }

    /// The days the view covers on `today` (UTC), both included.
    pub fn days(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match (self.range.preset, self.range.from, self.range.to) {
            (Some(preset), _, _) => preset_days(preset, today),
            (None, Some(from), Some(to)) => (from, to),
            // Not a checked view; read as the default range.
            _ => preset_days(Preset::Last30Days, today),
        }
    }

    pub fn filter(&self) -> Filter {
        Filter {
            team: self.filters.team.clone(),
            key: self.filters.key.clone(),
            model: self.filters.model.clone(),
            provider: self.filters.provider.clone(),
        }
    }

    pub fn shows(&self, panel: Panel) -> bool {
        self.panels.contains(&panel)
    }
}

fn preset_days(preset: Preset, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let back = |days: u64| today.checked_sub_days(Days::new(days)).unwrap_or(today);
    let first_of_month = today.with_day(1).unwrap_or(today);
    match preset {
        Preset::Last7Days => (back(6), today),
        Preset::Last30Days => (back(29), today),
        Preset::MonthToDate => (first_of_month, today),
        Preset::LastMonth => {
            let last = first_of_month.pred_opt().unwrap_or(first_of_month);
            let first = first_of_month
                .checked_sub_months(Months::new(1))
                .unwrap_or(last);
            (first, last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn view(json: serde_json::Value) -> Result<ShareView, GatewayError> {
        serde_json::from_value::<ShareView>(json).unwrap().checked()
    }

    #[test]
    fn presets_cover_their_days() {
        for (preset, today, from, to) in [
            (Preset::Last7Days, "2026-12-07", "2026-12-01", "2026-12-07"),
            (Preset::Last30Days, "2026-12-07", "2026-11-08", "2026-12-07"),
            (
                Preset::MonthToDate,
                "2026-12-07",
                "2026-12-01",
                "2026-12-07",
            ),
            (
                Preset::MonthToDate,
                "2026-12-01",
                "2026-12-01",
                "2026-12-01",
            ),
            (Preset::LastMonth, "2026-12-07", "2026-11-01", "2026-11-30"),
            (Preset::LastMonth, "2026-03-31", "2026-02-01", "2026-02-28"),
            (Preset::LastMonth, "2027-01-15", "2026-12-01", "2026-12-31"),
        ] {
            assert_eq!(
                preset_days(preset, d(today)),
                (d(from), d(to)),
                "{preset:?} on {today}"
            );
        }
    }

    #[test]
    fn views_are_checked_and_name_the_field() {
        let fixed = view(serde_json::json!({
            "range": {"from": "2026-11-01", "to": "2026-11-30"},
            "filters": {"model": "gpt-4o", "team": ""},
        }))
        .unwrap();
        assert_eq!(
            fixed.days(d("2030-01-01")),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(fixed.filters.team, None);
        assert_eq!(fixed.panels, DEFAULT_PANELS);
        assert!(!fixed.shows(Panel::Keys));
        for (json, field) in [
            (serde_json::json!({"range": {}}), "view.range.from"),
            (
                serde_json::json!({"range": {"preset": "last_7_days", "from": "2026-01-01"}}),
                "view.range",
            ),
            (
                serde_json::json!({"range": {"from": "2026-02-01", "to": "2026-01-01"}}),
                "view.range.from",
            ),
            (
                serde_json::json!({"range": {"from": "2000-01-01", "to": "2026-01-01"}}),
                "view.range.from",
            ),
            (
                serde_json::json!({"range": {"from": "2026-01-01"}}),
                "view.range.to",
            ),
            (
                serde_json::json!({"range": {"preset": "last_7_days"}, "panels": ["tiles", "tiles"]}),
                "view.panels",
            ),
            (
                serde_json::json!({"range": {"preset": "last_7_days"}, "filters": {"key": "a\nb"}}),
                "view.filters.key",
            ),
        ] {
            let error = view(json.clone()).unwrap_err();
            assert_eq!(error.param(), Some(field), "{json}");
        }
    }

    #[test]
    fn a_stored_view_reads_back_the_same() {
        let made = view(serde_json::json!({
            "range": {"preset": "month_to_date"},
            "panels": ["tiles", "keys"],
            "filters": {"provider": "openai"},
        }))
        .unwrap();
        let text = serde_json::to_string(&made).unwrap();
        assert_eq!(serde_json::from_str::<ShareView>(&text).unwrap(), made);
        assert!(made.shows(Panel::Keys) && !made.shows(Panel::Models));
    }
}
