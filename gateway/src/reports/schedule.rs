//! When a schedule is due, and what it reports: pure functions of the
//! schedule and the time. A schedule's latest occurrence at or before now
//! (its weekday or day of the month, at its local time in its time zone) is
//! due; it reports the last period complete in UTC at that instant (the one
//! before the period holding the instant's UTC day), so the rollups of every
//! reported day are in. A local time that daylight saving skips is taken an
//! hour later; one it repeats, at its first occurrence.

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc,
};

use super::period::{Kind, Period};
use crate::config::reports::Schedule;

/// The instant `day` at the schedule's time is, in its zone.
fn instant(schedule: &Schedule, day: NaiveDate) -> DateTime<Utc> {
    let local = NaiveDateTime::new(day, schedule.at);
    match schedule.zone.from_local_datetime(&local).earliest() {
        Some(at) => at.with_timezone(&Utc),
        // Skipped by a daylight-saving change: an hour later exists.
        None => schedule
            .zone
            .from_local_datetime(&(local + TimeDelta::hours(1)))
            .earliest()
            .map_or_else(
                || Utc.from_utc_datetime(&local),
                |at| at.with_timezone(&Utc),
            ),
    }
}

/// The local day of the occurrence in the period (week or month) of `day`.
fn occurrence(schedule: &Schedule, day: NaiveDate) -> NaiveDate {
    match schedule.kind {
        Kind::Weekly => {
            let monday = Period::of(Kind::Weekly, day).start;
            let offset = u64::from(schedule.weekday.num_days_from_monday());
            monday.checked_add_days(Days::new(offset)).unwrap_or(monday)
        }
        Kind::Monthly => day.with_day(schedule.day).unwrap_or(day),
    }
}

/// The schedule's latest occurrence at or before `now`, and the period it
/// reports.
pub fn due(schedule: &Schedule, now: DateTime<Utc>) -> (DateTime<Utc>, Period) {
    let today = now.with_timezone(&schedule.zone).date_naive();
    let mut day = occurrence(schedule, today);
    let mut at = instant(schedule, day);
    if at > now {
        let earlier = match schedule.kind {
            Kind::Weekly => day.checked_sub_days(Days::new(7)),
            Kind::Monthly => day.checked_sub_months(Months::new(1)),
        };
        day = earlier.map_or(day, |earlier| occurrence(schedule, earlier));
        at = instant(schedule, day);
    }
    (at, Period::of(schedule.kind, at.date_naive()).previous())
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};
    use chrono_tz::Tz;

    use super::*;

    fn schedule(kind: Kind, weekday: Weekday, day: u32, at: &str, zone: Tz) -> Schedule {
        Schedule {
            tenant: "acme".to_owned(),
            kind,
            weekday,
            day,
            at: NaiveTime::parse_from_str(at, "%H:%M").unwrap_or_default(),
            zone,
            channels: vec!["hook".to_owned()],
        }
    }

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn the_latest_occurrence_reports_the_last_complete_period() {
        let berlin = chrono_tz::Europe::Berlin;
        let auckland = chrono_tz::Pacific::Auckland;
        let monday_8 = schedule(Kind::Weekly, Weekday::Mon, 1, "08:00", berlin);
        let monthly = schedule(Kind::Monthly, Weekday::Mon, 1, "08:00", berlin);
        let cases = [
            // Winter: 08:00 in Berlin is 07:00 UTC.
            (
                &monday_8,
                "2026-11-30T07:00:00Z",
                "2026-11-30T07:00:00Z",
                "2026-W48",
            ),
            (
                &monday_8,
                "2026-11-30T06:59:59Z",
                "2026-11-23T07:00:00Z",
                "2026-W47",
            ),
            (
                &monday_8,
                "2026-12-03T12:00:00Z",
                "2026-11-30T07:00:00Z",
                "2026-W48",
            ),
            // Summer: 06:00 UTC.
            (
                &monday_8,
                "2026-07-06T06:00:00Z",
                "2026-07-06T06:00:00Z",
                "2026-W27",
            ),
            (
                &monthly,
                "2026-12-01T07:00:00Z",
                "2026-12-01T07:00:00Z",
                "2026-11",
            ),
            (
                &monthly,
                "2026-12-01T06:00:00Z",
                "2026-11-01T07:00:00Z",
                "2026-10",
            ),
            (
                &monthly,
                "2027-01-15T00:00:00Z",
                "2027-01-01T07:00:00Z",
                "2026-12",
            ),
        ];
        for (schedule, now, at, name) in cases {
            let (due_at, period) = due(schedule, t(now));
            assert_eq!((due_at, period.name().as_str()), (t(at), name), "{now}");
        }
        // Monday 08:00 in Auckland is Sunday 19:00 UTC: that Sunday's week is
        // not over in UTC, so the week before is reported.
        let far = schedule(Kind::Weekly, Weekday::Mon, 1, "08:00", auckland);
        let (at, period) = due(&far, t("2026-11-29T19:00:00Z"));
        assert_eq!(
            (at, period.name().as_str()),
            (t("2026-11-29T19:00:00Z"), "2026-W47")
        );
    }

    #[test]
    fn daylight_saving_gaps_move_an_hour_later() {
        // 2027-03-28 02:30 does not exist in Berlin: 03:30 CEST = 01:30 UTC.
        let sunday = schedule(
            Kind::Weekly,
            Weekday::Sun,
            1,
            "02:30",
            chrono_tz::Europe::Berlin,
        );
        let (at, _) = due(&sunday, t("2027-03-28T12:00:00Z"));
        assert_eq!(at, t("2027-03-28T01:30:00Z"));
    }
}
