//! The arithmetic of the rules, pure and exact (money in pico-USD): when a
//! budget threshold is crossed, when today's spend is a spike (UTC days).
//! Budget periods are the limits' own (`limits::period`). `evaluate` gathers
//! the figures and calls these.

use chrono::{DateTime, Days, NaiveDate, Utc};
use pricing::Cost;

/// Whether `spent` reached `threshold` percent of `budget`.
pub fn budget_crossed(spent: Cost, budget: Cost, threshold: u32) -> bool {
    budget.0 > 0 && spent.0.saturating_mul(100) >= budget.0.saturating_mul(i128::from(threshold))
}

/// Whether today's spend so far is a spike: at least `min`, and more than
/// `factor_percent`/100 times the average of `past` (the same weekday of past
/// weeks; a day without events counts as zero spend).
pub fn is_spike(today: Cost, past: &[Cost], factor_percent: u32, min: Cost) -> bool {
    if today.0 < min.0 || today.0 <= 0 || past.is_empty() {
        return false;
    }
    let sum: i128 = past.iter().map(|c| c.0).sum();
    let weeks = i128::try_from(past.len()).unwrap_or(i128::MAX);
    // today > factor * sum / weeks, without dividing.
    today.0.saturating_mul(100).saturating_mul(weeks)
        > sum.saturating_mul(i128::from(factor_percent))
}

/// 00:00 UTC of `day`.
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The same weekday `1..=weeks` weeks before `today`, newest first.
pub fn same_weekdays(today: NaiveDate, weeks: u32) -> Vec<NaiveDate> {
    (1..=weeks)
        .filter_map(|w| today.checked_sub_days(Days::new(7 * u64::from(w))))
        .collect()
}

/// `$12.5` style text of an amount, cut to cents (rounded down).
pub fn dollars(cost: Cost) -> String {
    let cents = cost.0 / 10_000_000_000;
    format!("${}.{:02}", cents / 100, (cents % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Cost {
        Cost::parse_usd(text).unwrap_or(Cost::ZERO)
    }

    #[test]
    fn thresholds_are_crossed_at_their_exact_amount() {
        let cases = [
            ("7.99", "10", 80, false),
            ("8", "10", 80, true),
            ("8.000000000001", "10", 80, true),
            ("10", "10", 100, true),
            ("9.999999999999", "10", 100, false),
            ("0", "10", 50, false),
            ("5", "0", 50, false),
        ];
        for (spent, budget, threshold, crossed) in cases {
            assert_eq!(
                budget_crossed(usd(spent), usd(budget), threshold),
                crossed,
                "{spent} of {budget} at {threshold}%"
            );
        }
    }

    #[test]
    fn a_spike_is_more_than_factor_times_the_average_and_at_least_min() {
        let past = [usd("1"), usd("2"), usd("0"), usd("1")]; // average 1
        let cases = [
            ("3", 300, "1", false), // equal to 3x: not more
            ("3.01", 300, "1", true),
            ("2.5", 200, "1", true),
            ("2.5", 200, "5", false), // below min
            ("0", 100, "0", false),
        ];
        for (today, factor, min, spike) in cases {
            assert_eq!(
                is_spike(usd(today), &past, factor, usd(min)),
                spike,
                "{today} vs x{factor}% min {min}"
            );
        }
        assert!(
            is_spike(usd("1"), &[Cost::ZERO; 4], 300, usd("1")),
            "no history, over min"
        );
        assert!(!is_spike(usd("1"), &[], 300, usd("1")), "no weeks asked");
    }

    #[test]
    fn past_weekdays_and_dollars() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T13:45:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let days: Vec<String> = same_weekdays(now.date_naive(), 2)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(days, ["2026-11-30", "2026-11-23"]);
        assert_eq!(dollars(usd("8.109")), "$8.10");
        assert_eq!(dollars(usd("0.05")), "$0.05");
    }
}
