//! Budget periods: the calendar day and month a moment falls in, in the
//! configured time zone (`[limits] time_zone`), with the instants they start
//! and end and the names their spend counters carry.
//!
//! The zone is UTC or a fixed offset (`+05:30`, `-08:00`): budgets reset at
//! that offset's midnight all year. IANA names with daylight saving are not
//! taken (the `chrono-tz` database would add a large crate for one setting);
//! an operator in such a zone picks the offset they want budgets to follow.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

/// A day or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    Day,
    Month,
}

impl Span {
    /// `day` or `month`, as the `x-gateway-budget-period` header says.
    pub fn label(self) -> &'static str {
        match self {
            Span::Day => "day",
            Span::Month => "month",
        }
    }
}

/// One concrete period: which span, its first local day, and the UTC instants
/// it starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub span: Span,
    /// `d:YYYYMMDD` or `m:YYYYMM`: the suffix of its spend counter.
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Reads `UTC`, `Z` or a fixed offset `+HH:MM` / `-HH:MM` (hours up to 14).
pub fn parse_zone(text: &str) -> Option<FixedOffset> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("utc") || text == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The period of `span` that `at` falls in, in `zone`.
pub fn period_of(span: Span, at: DateTime<Utc>, zone: FixedOffset) -> Period {
    let local = at.with_timezone(&zone).date_naive();
    let (first, next, name) = match span {
        Span::Day => (
            local,
            local.succ_opt().unwrap_or(local),
            format!("d:{}", local.format("%Y%m%d")),
        ),
        Span::Month => {
            let first = local.with_day(1).unwrap_or(local);
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first);
            (first, next, format!("m:{}", first.format("%Y%m")))
        }
    };
    Period {
        span,
        name,
        start: midnight(first, zone),
        end: midnight(next, zone),
    }
}

/// Local midnight of `day` in `zone`, as a UTC instant.
fn midnight(day: NaiveDate, zone: FixedOffset) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&naive)
        .single()
        .map_or_else(|| naive.and_utc(), |local| local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn zones_are_utc_or_fixed_offsets() {
        let table = [
            ("UTC", Some(0)),
            ("utc", Some(0)),
            ("Z", Some(0)),
            ("+05:30", Some(19_800)),
            ("-08:00", Some(-28_800)),
            ("+14:00", Some(50_400)),
            ("+15:00", None),
            ("+5:30", None),
            ("Europe/Paris", None),
            ("", None),
        ];
        for (text, seconds) in table {
            assert_eq!(
                parse_zone(text).map(|z| z.local_minus_utc()),
                seconds,
                "{text}"
            );
        }
    }

    #[test]
    fn periods_start_at_local_midnight() {
        let utc0 = parse_zone("UTC").unwrap();
        let tokyo = parse_zone("+09:00").unwrap();
        let la = parse_zone("-08:00").unwrap();
        // (span, at, zone, name, start, end)
        let table = [
            (
                Span::Day,
                "2026-12-07T12:00:00Z",
                utc0,
                "d:20261207",
                "2026-12-07T00:00:00Z",
                "2026-12-08T00:00:00Z",
            ),
            (
                Span::Day,
                "2026-12-07T16:00:00Z",
                tokyo,
                "d:20261208",
                "2026-12-07T15:00:00Z",
                "2026-12-08T15:00:00Z",
            ),
            (
                Span::Day,
                "2027-01-01T03:00:00Z",
                la,
                "d:20261231",
                "2026-12-31T08:00:00Z",
                "2027-01-01T08:00:00Z",
            ),
            (
                Span::Month,
                "2027-01-01T03:00:00Z",
                la,
                "m:202612",
                "2026-12-01T08:00:00Z",
                "2027-01-01T08:00:00Z",
            ),
            (
                Span::Month,
                "2028-02-29T23:59:59Z",
                utc0,
                "m:202802",
                "2028-02-01T00:00:00Z",
                "2028-03-01T00:00:00Z",
            ),
        ];
        for (span, at, zone, name, start, end) in table {
            let period = period_of(span, utc(at), zone);
            assert_eq!(period.name, name, "{at}");
            assert_eq!(period.start, utc(start), "{at}");
            assert_eq!(period.end, utc(end), "{at}");
        }
    }
}
