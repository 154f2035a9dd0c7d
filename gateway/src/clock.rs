//! The one place the gateway reads the calendar day, for picking price versions.

use std::time::{SystemTime, UNIX_EPOCH};

use pricing::Date;

/// Today (UTC).
pub fn today() -> Date {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Date::from_unix_seconds(seconds)
}
