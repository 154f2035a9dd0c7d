//! The figures every analytics table shows, and the one row model both answers
//! are written from: a [`Record`] is an ordered list of named cells, serialized
//! as a JSON object and written as a CSV row, so the two cannot disagree.
//!
//! Money is exact decimal USD text (every significant digit, from
//! [`Cost::usd`]); percentages are decimal text with two places, rounded half
//! away from zero; `null` (an empty CSV field) where a ratio has no denominator.
//! Money covers priced requests only; `unpriced_requests` says how many of the
//! `requests` were served by a model without a price and are not in it.

use analytics::store::queries::{Aggregate, Totals};
use pricing::Cost;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// One value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Int(i64),
    Bool(bool),
    /// Text the gateway wrote itself: dates, amounts, percentages.
    Text(String),
    /// A name that came from outside (a model a client asked for, a key id, a
    /// team): CSV guards it against spreadsheet formula injection.
    Label(String),
    Null,
}

impl Cell {
    pub fn opt_text(value: Option<String>) -> Cell {
        value.map_or(Cell::Null, Cell::Text)
    }

    pub fn opt_int(value: Option<i64>) -> Cell {
        value.map_or(Cell::Null, Cell::Int)
    }

    /// A stored dimension: `""` (absent) becomes `null`.
    pub fn dimension(value: &str) -> Cell {
        if value.is_empty() {
            Cell::Null
        } else {
            Cell::Label(value.to_owned())
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Int(value) => serializer.serialize_i64(*value),
            Cell::Bool(value) => serializer.serialize_bool(*value),
            Cell::Text(value) | Cell::Label(value) => serializer.serialize_str(value),
            Cell::Null => serializer.serialize_none(),
        }
    }
}

/// Named cells in column order: a JSON object, or a CSV row under a header of
/// the names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record(pub Vec<(&'static str, Cell)>);

impl Record {
    pub fn push(&mut self, name: &'static str, cell: Cell) {
        self.0.push((name, cell));
    }

    pub fn extend(&mut self, other: Record) {
        self.0.extend(other.0);
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|(name, _)| *name).collect()
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, cell) in &self.0 {
            map.serialize_entry(name, cell)?;
        }
        map.end()
    }
}

/// The figures of one group, from the rollups: totals, ratios and latency.
pub fn figures(aggregate: &Aggregate) -> Record {
    let t: &Totals = &aggregate.totals;
    let mut record = Record::default();
    record.push("requests", Cell::Int(t.requests));
    record.push("errors", Cell::Int(t.errors));
    record.push(
        "error_rate_pct",
        Cell::opt_text(percent(i128::from(t.errors), i128::from(t.requests))),
    );
    record.push("failovers", Cell::Int(t.failovers));
    record.push(
        "failover_rate_pct",
        Cell::opt_text(percent(i128::from(t.failovers), i128::from(t.requests))),
    );
    record.push("prompt_tokens", Cell::Int(t.prompt_tokens));
    record.push("completion_tokens", Cell::Int(t.completion_tokens));
    record.push("cached_tokens", Cell::Int(t.cached_tokens));
    record.push("unpriced_requests", Cell::Int(t.unpriced));
    money(&mut record, t.cost, t.baseline, t.savings);
    record.push(
        "latency_avg_ms",
        Cell::opt_int(rounded_mean(t.latency_ms_sum, t.latency_count)),
    );
    for (name, percent) in [("latency_p50_ms", 50), ("latency_p95_ms", 95)] {
        let value = aggregate.latency.percentile(percent).map(i64::from);
        record.push(name, Cell::opt_int(value));
    }
    record
}

/// Spend, baseline, savings and savings %, in that order: sums over priced
/// requests only (the stores and counters leave unpriced requests out of every
/// amount), so savings % is savings over the baseline of the same requests.
pub fn money(record: &mut Record, cost: Cost, baseline: Cost, savings: Cost) {
    record.push("spend_usd", Cell::Text(cost.usd()));
    record.push("baseline_usd", Cell::Text(baseline.usd()));
    record.push("savings_usd", Cell::Text(savings.usd()));
    record.push(
        "savings_pct",
        Cell::opt_text(percent(savings.0, baseline.0)),
    );
}

/// `100 * part / whole` with two decimals, rounded half away from zero;
/// `None` when `whole` is zero.
pub fn percent(part: i128, whole: i128) -> Option<String> {
    if whole == 0 {
        return None;
    }
    // Hundredths of a percent. i128 holds any amount of pico-USD times 10^4.
    let scaled = part.checked_mul(10_000)?;
    let mut hundredths = scaled / whole;
    let remainder = scaled % whole;
    if remainder.unsigned_abs() * 2 >= whole.unsigned_abs() {
        hundredths += if (scaled < 0) == (whole < 0) { 1 } else { -1 };
    }
    let sign = if hundredths < 0 { "-" } else { "" };
    let magnitude = hundredths.unsigned_abs();
    Some(format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100))
}

/// `sum / count` rounded half up; `None` when `count` is zero.
pub fn rounded_mean(sum: i64, count: i64) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let (sum, count) = (i128::from(sum), i128::from(count));
    i64::try_from((2 * sum + count).div_euclid(2 * count)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_away_from_zero() {
        assert_eq!(percent(1, 3).as_deref(), Some("33.33"));
        assert_eq!(percent(2, 3).as_deref(), Some("66.67"));
        assert_eq!(percent(1, 8).as_deref(), Some("12.50"));
        assert_eq!(percent(1, 80_000).as_deref(), Some("0.00"));
        assert_eq!(percent(1, 20_000).as_deref(), Some("0.01"));
        assert_eq!(percent(-1, 20_000).as_deref(), Some("-0.01"));
        assert_eq!(percent(-7, 2).as_deref(), Some("-350.00"));
        assert_eq!(percent(5, 5).as_deref(), Some("100.00"));
        assert_eq!(percent(0, 5).as_deref(), Some("0.00"));
        assert_eq!(percent(1, 0), None);
    }

    #[test]
    fn means_round_half_up() {
        assert_eq!(rounded_mean(5, 2), Some(3));
        assert_eq!(rounded_mean(4, 3), Some(1));
        assert_eq!(rounded_mean(5, 3), Some(2));
        assert_eq!(rounded_mean(0, 0), None);
    }

    #[test]
    fn records_serialize_in_order() {
        let mut record = Record::default();
        record.push("b", Cell::Int(1));
        record.push("a", Cell::dimension(""));
        record.push("c", Cell::Label("x".into()));
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"b":1,"a":null,"c":"x"}"#
        );
    }
}
