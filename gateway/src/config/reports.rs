//! The `[reports]` section: when each tenant's weekly or monthly report goes
//! out and to which channels (`[[reports.schedules]]`, channels named from
//! `[[alerts.channels]]`, so a webhook's secret or a mail relay is configured
//! once), and how often the schedules are checked. Deliveries are retried by
//! `[alerts]`' policy (attempts, backoff, timeout). Errors name the key at
//! fault (`reports.schedules[0].time_zone`).
//!
//! A schedule's time is local to its IANA time zone (`Europe/Berlin`), so
//! "Monday 08:00" stays 08:00 across daylight saving; the reported period is
//! still made of UTC days, like the rollups.

use std::time::Duration;

use super::alerts::ChannelConfig;
use super::raw::{RawReports, RawSchedule};
use super::ConfigError;
use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;

const DEFAULT_INTERVAL_MS: u64 = 60_000;

/// Weekly or monthly (the periods themselves are `reports::period`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Weekly,
    Monthly,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "weekly" => Some(Kind::Weekly),
            "monthly" => Some(Kind::Monthly),
            _ => None,
        }
    }
}

/// `[reports]`, validated.
#[derive(Debug, Clone)]
pub struct ReportsConfig {
    pub interval: Duration,
    pub schedules: Vec<Schedule>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
            schedules: Vec::new(),
        }
    }
}

/// One tenant's report of one kind, when and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub tenant: String,
    pub kind: Kind,
    /// Weekly reports: the weekday they go out.
    pub weekday: Weekday,
    /// Monthly reports: the day of the month they go out.
    pub day: u32,
    pub at: NaiveTime,
    pub zone: Tz,
    /// Channel names, each in `[[alerts.channels]]`.
    pub channels: Vec<String>,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

pub(super) fn validate_reports(
    raw: RawReports,
    channels: &[ChannelConfig],
) -> Result<ReportsConfig, ConfigError> {
    let interval = match raw.interval_ms.unwrap_or(DEFAULT_INTERVAL_MS) {
        0 => return Err(invalid("reports.interval_ms", "must be more than 0")),
        ms => Duration::from_millis(ms),
    };
    let mut schedules: Vec<Schedule> = Vec::with_capacity(raw.schedules.len());
    for (i, raw) in raw.schedules.into_iter().enumerate() {
        let path = format!("reports.schedules[{i}]");
        let schedule = validate_schedule(&path, raw, channels)?;
        if schedules
            .iter()
            .any(|s| s.tenant == schedule.tenant && s.kind == schedule.kind)
        {
            return Err(invalid(
                format!("{path}.period"),
                format!(
                    "tenant `{}` has a {} schedule already",
                    schedule.tenant,
                    schedule.kind.as_str()
                ),
            ));
        }
        schedules.push(schedule);
    }
    Ok(ReportsConfig {
        interval,
        schedules,
    })
}

fn validate_schedule(
    path: &str,
    raw: RawSchedule,
    channels: &[ChannelConfig],
) -> Result<Schedule, ConfigError> {
    if raw.tenant.is_empty() {
        return Err(invalid(format!("{path}.tenant"), "must not be empty"));
    }
    let kind = Kind::parse(&raw.period).ok_or_else(|| {
        invalid(
            format!("{path}.period"),
            format!("unknown period `{}` (weekly or monthly)", raw.period),
        )
    })?;
    match kind {
        Kind::Weekly if raw.day.is_some() => {
            return Err(invalid(format!("{path}.day"), "applies to monthly reports"))
        }
        Kind::Monthly if raw.weekday.is_some() => {
            return Err(invalid(
                format!("{path}.weekday"),
                "applies to weekly reports",
            ))
        }
        _ => {}
    }
    let weekday = match raw.weekday.as_deref() {
        None => Weekday::Mon,
        Some(text) => text
            .parse::<Weekday>()
            .ok()
            .filter(|_| text.len() == 3)
            .ok_or_else(|| {
                invalid(
                    format!("{path}.weekday"),
                    format!("`{text}` is not a weekday (mon, tue, ... sun)"),
                )
            })?,
    };
    let day = raw.day.unwrap_or(1);
    if !(1..=28).contains(&day) {
        return Err(invalid(
            format!("{path}.day"),
            "must be 1 to 28 (a day every month has)",
        ));
    }
    let at = match raw.at.as_deref() {
        None => NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        Some(text) => NaiveTime::parse_from_str(text, "%H:%M")
            .ok()
            .filter(|_| text.len() == 5)
            .ok_or_else(|| {
                invalid(
                    format!("{path}.at"),
                    format!("`{text}` is not a time as HH:MM"),
                )
            })?,
    };
    let zone = match raw.time_zone.as_deref() {
        None => Tz::UTC,
        Some(text) => text.parse::<Tz>().map_err(|_| {
            invalid(
                format!("{path}.time_zone"),
                format!("`{text}` is not an IANA time zone such as `Europe/Berlin` or `UTC`"),
            )
        })?,
    };
    if raw.channels.is_empty() {
        return Err(invalid(
            format!("{path}.channels"),
            "needs at least one channel",
        ));
    }
    for (j, name) in raw.channels.iter().enumerate() {
        if !channels.iter().any(|c| &c.name == name) {
            return Err(invalid(
                format!("{path}.channels[{j}]"),
                format!("unknown channel `{name}` (channels are [[alerts.channels]])"),
            ));
        }
        if raw.channels[..j].contains(name) {
            return Err(invalid(
                format!("{path}.channels[{j}]"),
                format!("channel `{name}` is listed twice"),
            ));
        }
    }
    Ok(Schedule {
        tenant: raw.tenant,
        kind,
        weekday,
        day,
        at,
        zone,
        channels: raw.channels,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    use super::*;

    const CHANNELS: &str = "[[alerts.channels]]\nname = \"hook\"\nkind = \"webhook\"\n\
        url = \"http://127.0.0.1:9/h\"\nsecret_env = \"HOOK_SECRET\"\n";

    fn load(reports: &str) -> Result<Config, ConfigError> {
        let lookup = |name: &str| (name == "HOOK_SECRET").then(|| "s3cret".to_owned());
        Config::from_toml(&format!("{CHANNELS}{reports}"), Vec::new(), lookup)
    }

    #[test]
    fn a_schedule_loads_with_defaults() {
        let config = load(
            "[reports]\ninterval_ms = 500\n[[reports.schedules]]\ntenant = \"acme\"\n\
             period = \"weekly\"\ntime_zone = \"Europe/Berlin\"\nchannels = [\"hook\"]\n\
             [[reports.schedules]]\ntenant = \"acme\"\nperiod = \"monthly\"\nday = 3\n\
             at = \"17:30\"\nchannels = [\"hook\"]\n",
        );
        let reports = match config {
            Ok(config) => config.reports,
            Err(error) => panic!("{error}"),
        };
        assert_eq!(reports.interval, Duration::from_millis(500));
        let weekly = &reports.schedules[0];
        assert_eq!(
            (weekly.kind, weekly.weekday, weekly.zone),
            (Kind::Weekly, Weekday::Mon, chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            weekly.at,
            NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()
        );
        let monthly = &reports.schedules[1];
        assert_eq!(
            (monthly.kind, monthly.day, monthly.zone),
            (Kind::Monthly, 3, Tz::UTC)
        );
        assert_eq!(
            monthly.at,
            NaiveTime::from_hms_opt(17, 30, 0).unwrap_or_default()
        );
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let schedule = |body: &str| {
            format!("[[reports.schedules]]\ntenant = \"acme\"\nchannels = [\"hook\"]\n{body}\n")
        };
        let cases = [
            (schedule("period = \"daily\""), "reports.schedules[0].period", "weekly or monthly"),
            (schedule("period = \"weekly\"\nweekday = \"monday\""), "reports.schedules[0].weekday", "not a weekday"),
            (schedule("period = \"weekly\"\nday = 2"), "reports.schedules[0].day", "monthly"),
            (schedule("period = \"monthly\"\nday = 31"), "reports.schedules[0].day", "1 to 28"),
            (schedule("period = \"monthly\"\nat = \"8:00\""), "reports.schedules[0].at", "HH:MM"),
            (schedule("period = \"monthly\"\nat = \"24:00\""), "reports.schedules[0].at", "HH:MM"),
            (schedule("period = \"weekly\"\ntime_zone = \"Mars/Olympus\""), "reports.schedules[0].time_zone", "IANA"),
            (
                "[[reports.schedules]]\ntenant = \"acme\"\nperiod = \"weekly\"\nchannels = [\"nope\"]\n".to_owned(),
                "reports.schedules[0].channels[0]",
                "unknown channel",
            ),
            (
                "[[reports.schedules]]\ntenant = \"acme\"\nperiod = \"weekly\"\nchannels = []\n".to_owned(),
                "reports.schedules[0].channels",
                "at least one",
            ),
            (
                format!("{}{}", schedule("period = \"weekly\""), schedule("period = \"weekly\"")),
                "reports.schedules[1].period",
                "already",
            ),
            ("[reports]\ninterval_ms = 0\n".to_owned(), "reports.interval_ms", "more than 0"),
            ("[reports]\nintervall_ms = 5\n".to_owned(), "reports", "unknown field"),
        ];
        for (text, path, words) in cases {
            let error = match load(&text) {
                Ok(_) => "loaded".to_owned(),
                Err(error) => error.to_string(),
            };
            assert!(
                error.contains(&format!("`{path}")) && error.contains(words),
                "{path}: {error}"
            );
        }
    }
}
