//! The real-time counters as the store has them: the sums the Redis counters
//! (`counters`, key scheme there) should hold for one UTC day and its recent
//! minutes, computed from raw events. Used to rebuild the counters after Redis
//! lost its data (`writer::recount`); nothing else reads it.
//!
//! One SQL text per part (tenant day, key day, model day, minute), the same for
//! Postgres and SQLite; only the time column, the money columns and the minute
//! expression differ, chosen from constants by [`Dialect`]. The four reads run
//! in one read transaction (Postgres: repeatable read), so the parts agree.
//! Money is read as integer pico-USD text and parsed exactly; a sum past what a
//! counter holds (i64) is clamped, like the counters' own increments.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError};
use crate::counters::{day_key, day_part_prefix, Increments, DAY_TTL_SECONDS, MINUTE_TTL_SECONDS};

/// What one SQL text groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Day,
    Key,
    Model,
    Minute,
}

/// The fragments that differ between the stores. Constants only.
struct Dialect {
    /// Events in the bound range: first bind inclusive, second exclusive.
    range: &'static str,
    /// Sums of cost, baseline and savings as integer pico-USD text.
    cost: &'static str,
    baseline: &'static str,
    savings: &'static str,
    /// Unpriced events (no cost): summed as 1/0.
    unpriced: &'static str,
    /// The `YYYYMMDDHHMM` of the event's UTC minute.
    minute: &'static str,
}

const POSTGRES: Dialect = Dialect {
    range: "occurred_at >= $1 AND occurred_at < $2",
    cost: "(coalesce(sum(cost_usd), 0) * 1000000000000)::numeric(50,0)::text",
    baseline: "(coalesce(sum(baseline_usd), 0) * 1000000000000)::numeric(50,0)::text",
    savings: "(coalesce(sum(baseline_usd - cost_usd), 0) * 1000000000000)::numeric(50,0)::text",
    unpriced: "cost_usd IS NULL",
    minute: "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MI')",
};

const SQLITE: Dialect = Dialect {
    range: "occurred_at_ns >= ?1 AND occurred_at_ns < ?2",
    cost: "CAST(coalesce(sum(cost_pusd), 0) AS TEXT)",
    baseline: "CAST(coalesce(sum(baseline_pusd), 0) AS TEXT)",
    savings: "CAST(coalesce(sum(baseline_pusd - cost_pusd), 0) AS TEXT)",
    unpriced: "cost_pusd IS NULL",
    minute: "strftime('%Y%m%d%H%M', occurred_at_ns / 1000000000, 'unixepoch')",
};

/// The statement for one part: rows of (tenant, part name, requests, errors,
/// prompt tokens, completion tokens, cost, baseline, savings, unpriced) over
/// events with `$1 <= time < $2`. Built from constants only.
fn sql(dialect: &Dialect, part: Part) -> String {
    let (name, filter) = match part {
        Part::Day => ("''", ""),
        Part::Key => ("key_id", ""),
        Part::Model => ("routed_model", " AND routed_model IS NOT NULL"),
        Part::Minute => (dialect.minute, ""),
    };
    format!(
        "SELECT tenant_id, {name} AS part, CAST(count(*) AS BIGINT), \
         CAST(sum(CASE WHEN status >= 400 OR error_kind IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(sum(prompt_tokens) AS BIGINT), CAST(sum(completion_tokens) AS BIGINT), \
         {cost}, {baseline}, {savings}, \
         CAST(sum(CASE WHEN {unpriced} THEN 1 ELSE 0 END) AS BIGINT) \
         FROM usage_events WHERE {range}{filter} \
         GROUP BY 1, 2",
        cost = dialect.cost,
        baseline = dialect.baseline,
        savings = dialect.savings,
        unpriced = dialect.unpriced,
        range = dialect.range,
    )
}

type Row = (
    String,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
);

/// Which rows to read: the day's parts over `day`, minutes from `minutes_from`
/// (inclusive) to `until` (exclusive).
#[derive(Debug, Clone, Copy)]
pub struct CounterWindow {
    pub day: NaiveDate,
    pub minutes_from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl CounterWindow {
    /// Today's window at `now`: the day's counters, and the minutes a minute key
    /// still lives for (its TTL) up to the end of today.
    pub fn at(now: DateTime<Utc>) -> CounterWindow {
        let day = now.date_naive();
        let end_of_day = day
            .succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .map_or(now, |t| t.and_utc());
        CounterWindow {
            day,
            minutes_from: now - chrono::TimeDelta::seconds(MINUTE_TTL_SECONDS),
            until: end_of_day,
        }
    }

    fn day_range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self
            .day
            .and_hms_opt(0, 0, 0)
            .map_or(self.until, |t| t.and_utc());
        let end = self
            .day
            .succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .map_or(self.until, |t| t.and_utc());
        (start, end)
    }
}

impl Store {
    /// The counters the stored events add up to in `window`, as increments onto
    /// empty counters (each key with its TTL).
    pub async fn counter_sums(&self, window: CounterWindow) -> Result<Increments, StoreError> {
        let (day_start, day_end) = window.day_range();
        let ranges = [
            (Part::Day, day_start, day_end),
            (Part::Key, day_start, day_end),
            (Part::Model, day_start, day_end),
            (Part::Minute, window.minutes_from, window.until),
        ];
        let mut increments = Increments::default();
        match self {
            Store::Postgres(store) => {
                let mut tx = store.pool().begin().await.map_err(StoreError::from_sqlx)?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                for (part, from, to) in ranges {
                    let rows: Vec<Row> = sqlx::query_as(&sql(&POSTGRES, part))
                        .bind(from)
                        .bind(to)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(StoreError::from_sqlx)?;
                    add_rows(&mut increments, window.day, part, rows);
                }
                tx.commit().await.map_err(StoreError::from_sqlx)?;
            }
            Store::Sqlite(store) => {
                let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
                let mut tx = store
                    .pool()
                    .begin()
                    .await
                    .map_err(super::sqlite::db_error)?;
                for (part, from, to) in ranges {
                    let rows: Vec<Row> = sqlx::query_as(&sql(&SQLITE, part))
                        .bind(nanos(from))
                        .bind(nanos(to))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(super::sqlite::db_error)?;
                    add_rows(&mut increments, window.day, part, rows);
                }
                tx.commit().await.map_err(super::sqlite::db_error)?;
            }
        }
        Ok(increments)
    }
}

fn add_rows(increments: &mut Increments, day: NaiveDate, part: Part, rows: Vec<Row>) {
    for (tenant, name, requests, errors, prompt, completion, cost, baseline, savings, unpriced) in
        rows
    {
        let name = name.unwrap_or_default();
        let (key, ttl) = match part {
            Part::Day => (day_key(&tenant, day), DAY_TTL_SECONDS),
            Part::Key => (
                format!("{}{name}", day_part_prefix(&tenant, day, "key")),
                DAY_TTL_SECONDS,
            ),
            Part::Model => (
                format!("{}{name}", day_part_prefix(&tenant, day, "model")),
                DAY_TTL_SECONDS,
            ),
            Part::Minute => (format!("gw:{tenant}:m:{name}"), MINUTE_TTL_SECONDS),
        };
        let values = [
            requests,
            errors,
            prompt,
            completion,
            pico(&cost),
            pico(&baseline),
            pico(&savings),
            unpriced,
        ];
        increments.add_values(key, ttl, values);
    }
}

/// Integer text as i64, clamped (a sum past i64 is not representable in a
/// counter either).
fn pico(text: &str) -> i64 {
    match text.trim().parse::<i128>() {
        Ok(value) => i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX }),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stores_differ_in_their_fragments_only() {
        let pg = sql(&POSTGRES, Part::Model);
        let lite = sql(&SQLITE, Part::Model);
        assert!(pg.contains("occurred_at >= $1 AND occurred_at < $2 AND routed_model IS NOT NULL"));
        assert!(lite.contains("occurred_at_ns >= ?1 AND occurred_at_ns < ?2"));
        assert!(sql(&SQLITE, Part::Minute).contains("SELECT tenant_id, strftime("));
        assert!(sql(&POSTGRES, Part::Day).contains("SELECT tenant_id, '' AS part"));
    }

    #[test]
    fn money_text_parses_exactly_and_clamps() {
        for (text, expected) in [
            ("0", 0),
            ("420000000", 420_000_000),
            ("-5", -5),
            ("99999999999999999999", i64::MAX),
            ("-99999999999999999999", i64::MIN),
            ("junk", 0),
        ] {
            assert_eq!(pico(text), expected, "{text}");
        }
    }

    #[test]
    fn the_window_is_today_and_two_hours_of_minutes() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 7, 1, 30, 0).unwrap();
        let window = CounterWindow::at(now);
        assert_eq!(window.day, now.date_naive());
        assert_eq!(
            window.minutes_from.to_rfc3339(),
            "2026-12-06T23:30:00+00:00"
        );
        assert_eq!(window.until.to_rfc3339(), "2026-12-08T00:00:00+00:00");
        let (start, end) = window.day_range();
        assert_eq!(
            (start.to_rfc3339(), end.to_rfc3339()),
            (
                "2026-12-07T00:00:00+00:00".to_owned(),
                "2026-12-08T00:00:00+00:00".to_owned()
            )
        );
    }
}
