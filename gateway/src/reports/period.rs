//! Report periods: an ISO week (Monday to Sunday, named `2026-W48`) or a
//! calendar month (`2026-11`), of UTC days, as the rollups count days. Pure:
//! parsing, naming, the period before, the period a day falls in.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

pub use crate::config::reports::Kind;

/// One reported period: its kind and its first and last UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: Kind,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// The period of `kind` that `day` falls in.
    pub fn of(kind: Kind, day: NaiveDate) -> Period {
        match kind {
            Kind::Weekly => {
                let back = u64::from(day.weekday().num_days_from_monday());
                let start = day.checked_sub_days(Days::new(back)).unwrap_or(day);
                Period {
                    kind,
                    start,
                    end: start.checked_add_days(Days::new(6)).unwrap_or(start),
                }
            }
            Kind::Monthly => {
                let start = day.with_day(1).unwrap_or(day);
                let end = start
                    .checked_add_months(Months::new(1))
                    .and_then(|next| next.pred_opt())
                    .unwrap_or(start);
                Period { kind, start, end }
            }
        }
    }

    /// `2026-W48` (ISO week) or `2026-11` (month); `None` for anything else.
    pub fn parse(text: &str) -> Option<Period> {
        let (year, rest) = text.split_once('-')?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let two_digits = |t: &str| {
            (t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u32>().ok())
                .flatten()
        };
        if let Some(week) = rest.strip_prefix('W') {
            let start = NaiveDate::from_isoywd_opt(year, two_digits(week)?, Weekday::Mon)?;
            Some(Period::of(Kind::Weekly, start))
        } else {
            let start = NaiveDate::from_ymd_opt(year, two_digits(rest)?, 1)?;
            Some(Period::of(Kind::Monthly, start))
        }
    }

    /// The period of `kind` that begins on `start`; `None` if none does.
    pub fn starting(kind: Kind, start: NaiveDate) -> Option<Period> {
        let period = Period::of(kind, start);
        (period.start == start).then_some(period)
    }

    /// Its name, as [`Period::parse`] reads it.
    pub fn name(&self) -> String {
        match self.kind {
            Kind::Weekly => {
                let week = self.start.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Kind::Monthly => format!("{:04}-{:02}", self.start.year(), self.start.month()),
        }
    }

    /// The period just before.
    pub fn previous(&self) -> Period {
        Period::of(self.kind, self.start.pred_opt().unwrap_or(self.start))
    }

    /// Days in the period.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.start
            .iter_days()
            .take_while(|day| *day <= self.end)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn names_parse_to_their_days_and_back() {
        let cases = [
            ("2026-W48", Kind::Weekly, "2026-11-23", "2026-11-29"),
            ("2026-W01", Kind::Weekly, "2025-12-29", "2026-01-04"),
            ("2026-W53", Kind::Weekly, "2026-12-28", "2027-01-03"),
            ("2026-11", Kind::Monthly, "2026-11-01", "2026-11-30"),
            ("2028-02", Kind::Monthly, "2028-02-01", "2028-02-29"),
            ("2026-12", Kind::Monthly, "2026-12-01", "2026-12-31"),
        ];
        for (name, kind, start, end) in cases {
            let period = Period::parse(name);
            assert_eq!(
                period,
                Some(Period {
                    kind,
                    start: d(start),
                    end: d(end)
                }),
                "{name}"
            );
            assert_eq!(period.map(|p| p.name()).as_deref(), Some(name));
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for text in [
            "",
            "2026",
            "2026-W",
            "2026-W54",
            "2025-W53",
            "2026-W0",
            "2026-W00",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026-11-01",
            "2026-w48",
            "x026-11",
            "2026-+1",
        ] {
            assert_eq!(Period::parse(text), None, "{text}");
        }
    }

    #[test]
    fn periods_of_days_and_before() {
        let week = Period::of(Kind::Weekly, d("2026-12-03"));
        assert_eq!((week.start, week.end), (d("2026-11-30"), d("2026-12-06")));
        assert_eq!(week.previous().name(), "2026-W48");
        assert_eq!(week.days().len(), 7);
        let month = Period::of(Kind::Monthly, d("2026-03-31"));
        assert_eq!(month.previous().name(), "2026-02");
        assert_eq!(month.previous().days().len(), 28);
        assert_eq!(
            Period::of(Kind::Monthly, d("2027-01-15")).previous().name(),
            "2026-12"
        );
        assert_eq!(
            Period::starting(Kind::Weekly, d("2026-11-23")).map(|p| p.name()),
            Some("2026-W48".to_owned())
        );
        assert_eq!(Period::starting(Kind::Weekly, d("2026-11-24")), None);
        assert_eq!(Period::starting(Kind::Monthly, d("2026-11-02")), None);
    }
}
