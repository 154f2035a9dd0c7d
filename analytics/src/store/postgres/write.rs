//! The batch writer: one transaction per batch that COPYs the events (CSV) into the
//! connection's staging table and moves them into `usage_events` with
//! `ON CONFLICT DO NOTHING`, so an event already stored (a replay) is skipped and the
//! count returned is the number of new rows.
//!
//! Values are normalised on the way in so one odd event cannot fail a whole batch:
//! NUL characters (which Postgres text cannot hold) are removed, costs are written as
//! canonical exact decimals, counters saturate at the column's range, and timestamps
//! are cut to microseconds (Postgres' precision: a replay cuts the same way).
//!
//! Writes run on the writer's own pool and are bounded in time: the session's
//! `statement_timeout` on the server, and a client-side timeout for when the
//! server's answer cannot arrive. A connection that failed for a transient
//! reason is closed, not reused.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use pricing::Cost;
use sqlx::{Connection, PgConnection};

use super::PostgresStore;
use crate::event::UsageEvent;
use crate::store::StoreError;

/// The columns of `usage_events`, in the order [`encode`] writes them.
macro_rules! columns {
    () => {
        "event_id, occurred_at, tenant_id, key_id, team, user_tag, endpoint, requested_model, \
         routed_provider, routed_model, route_reason, attempts, stream, status, error_kind, \
         prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, \
         usage_estimated, cost_usd, baseline_usd, price_version, baseline_price_version, \
         latency_ms, ttft_ms, upstream_ms, client_family, ingress_format, upstream_format"
    };
}

const COPY: &str = concat!(
    "COPY gateway_staging (",
    columns!(),
    ") FROM STDIN (FORMAT csv)"
);

const INSERT: &str = concat!(
    "INSERT INTO usage_events (",
    columns!(),
    ") SELECT ",
    columns!(),
    " FROM gateway_staging ON CONFLICT DO NOTHING"
);

/// Largest magnitude `numeric(30,12)` holds, in pico-USD (1e18 USD).
const MAX_PICO: i128 = 1_000_000_000_000_000_000_000_000_000_000;

/// Postgres SQLSTATE for "no partition of relation found for row".
const NO_PARTITION: &str = "23514";

/// How much longer than the server's `statement_timeout` the client waits for a
/// write before it gives up on the connection (a black-holed network, where the
/// server's timeout never reaches us).
const CLIENT_GRACE: Duration = Duration::from_secs(1);

pub(super) async fn write(store: &PostgresStore, events: &[UsageEvent]) -> Result<u64, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    let days: BTreeSet<_> = events.iter().map(|e| e.occurred_at.date_naive()).collect();
    let csv = encode(events);
    let mut conn = store
        .writer
        .acquire()
        .await
        .map_err(StoreError::from_sqlx)?;
    let limit = store.write_timeout.saturating_add(CLIENT_GRACE);
    let outcome = tokio::time::timeout(limit, write_on(store, &mut conn, &days, &csv))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "no answer from Postgres within {} ms",
                limit.as_millis()
            )))
        });
    if outcome.as_ref().is_err_and(StoreError::is_transient) {
        // Not back into the pool: the connection may hang (a black hole), sit on
        // a server that became read-only (a demoted primary after a failover),
        // or be mid-protocol. The next write connects afresh.
        conn.close_on_drop();
    }
    outcome
}

async fn write_on(
    store: &PostgresStore,
    conn: &mut PgConnection,
    days: &BTreeSet<NaiveDate>,
    csv: &str,
) -> Result<u64, StoreError> {
    store.ensure_days(conn, days).await?;
    let first = copy_insert(conn, csv).await;
    if !first.as_ref().is_err_and(is_missing_partition) {
        return first.map_err(StoreError::from_sqlx);
    }
    // Another instance dropped a partition this one still had cached.
    store.forget(days);
    store.ensure_days(conn, days).await?;
    copy_insert(conn, csv).await.map_err(StoreError::from_sqlx)
}

fn is_missing_partition(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code == NO_PARTITION),
        _ => false,
    }
}

async fn copy_insert(conn: &mut PgConnection, csv: &str) -> Result<u64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut copy = tx.copy_in_raw(COPY).await?;
    if let Err(err) = copy.send(csv.as_bytes()).await {
        // Best effort: the transaction is rolled back when dropped either way.
        let _ = copy.abort(err.to_string()).await;
        return Err(err);
    }
    copy.finish().await?;
    let inserted = sqlx::query(INSERT).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(inserted)
}

/// The events as CSV rows in [`COLUMNS`] order. NULL is an empty unquoted field;
/// every text value is quoted, so an empty string stays an empty string.
pub(super) fn encode(events: &[UsageEvent]) -> String {
    let mut out = String::with_capacity(events.len() * 512);
    for e in events {
        let mut row = Row {
            out: &mut out,
            first: true,
        };
        row.raw(&e.event_id.hyphenated().to_string());
        row.raw(&timestamp(e.occurred_at));
        row.text(Some(&e.tenant_id));
        row.text(Some(&e.key_id));
        row.text(e.team.as_deref());
        row.text(e.user_tag.as_deref());
        row.text(Some(&e.endpoint));
        row.text(Some(&e.requested_model));
        row.text(e.routed_provider.as_deref());
        row.text(e.routed_model.as_deref());
        row.text(Some(&e.route_reason));
        row.int(Some(u64::from(e.attempts)));
        row.bool(e.stream);
        row.int(Some(u64::from(e.status)));
        row.text(e.error_kind.as_deref());
        row.int(Some(e.prompt_tokens));
        row.int(Some(e.completion_tokens));
        row.int(Some(e.cached_tokens));
        row.int(Some(e.cache_write_tokens));
        row.int(Some(e.reasoning_tokens));
        row.bool(e.usage_estimated);
        // An unpriced request stores both amounts as NULL (unknown, not zero).
        let (cost, baseline) = e.priced().unzip();
        row.raw(&money(e, cost));
        row.raw(&money(e, baseline));
        row.text(e.price_version.as_deref());
        row.text(e.baseline_price_version.as_deref());
        row.int(Some(u64::from(e.latency_ms)));
        row.int(e.ttft_ms.map(u64::from));
        row.int(e.upstream_ms.map(u64::from));
        row.text(Some(&e.client_family));
        row.text(e.ingress_format.as_deref());
        row.text(e.upstream_format.as_deref());
        out.push('\n');
    }
    out
}

/// Appends the fields of one CSV row, adding the separators.
struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl Row<'_> {
    fn sep(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
    }

    fn raw(&mut self, value: &str) {
        self.sep();
        self.out.push_str(value);
    }

    fn text(&mut self, value: Option<&str>) {
        self.sep();
        let Some(value) = value else { return };
        self.out.push('"');
        for c in value.chars() {
            match c {
                '"' => self.out.push_str("\"\""),
                '\0' => {}
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    /// Unsigned counters saturate at `bigint`'s maximum (the widest column).
    fn int(&mut self, value: Option<u64>) {
        self.sep();
        if let Some(value) = value {
            let _ = write!(self.out, "{}", value.min(i64::MAX as u64));
        }
    }

    fn bool(&mut self, value: bool) {
        self.raw(if value { "t" } else { "f" });
    }
}

/// UTC, cut (not rounded) to microseconds, so the row stays in its day's partition.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// An amount as exact decimal text, `None` as NULL (an empty field). An amount
/// that does not fit `numeric(30,12)` is stored as 0 and logged.
fn money(event: &UsageEvent, amount: Option<Cost>) -> String {
    match amount {
        None => String::new(),
        Some(cost) if cost.0.abs() < MAX_PICO => cost.usd(),
        Some(cost) => {
            tracing::warn!(event_id = %event.event_id, amount = %cost, "unusable amount stored as 0");
            Cost::ZERO.usd()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;

    #[test]
    fn quotes_text_and_leaves_null_empty() {
        let mut event = sample(
            "t\"1",
            DateTime::from_timestamp(86_399, 999_999_999).unwrap(),
        );
        event.team = None;
        event.key_id = "a,b\nc\0".to_owned();
        event.error_kind = Some(String::new());
        event.ttft_ms = None;
        event.prompt_tokens = u64::MAX;
        let csv = encode(&[event.clone()]);
        let fields: Vec<&str> = csv.trim_end_matches('\n').split(',').collect();
        assert_eq!(fields[1], "1970-01-01 23:59:59.999999+00");
        assert_eq!(fields[2], "\"t\"\"1\"");
        assert_eq!(fields[3], "\"a");
        assert_eq!(fields[4], "b\nc\"");
        assert_eq!(fields[5], "", "team None is NULL");
        assert_eq!(fields[15], "\"\"", "Some(\"\") stays an empty string");
        assert_eq!(fields[16], i64::MAX.to_string());
        assert_eq!(fields[22], "0.00021");
        assert_eq!(fields[27], "", "ttft None is NULL");
        assert!(csv.ends_with("\"openai-python\",\"openai_chat\",\"openai_chat\"\n"));
        assert_eq!(csv.matches('\n').count(), 2);
    }

    #[test]
    fn amounts_are_canonical_and_bounded() {
        let event = sample("t", Utc::now());
        let money = |text: &str| money(&event, Some(Cost::parse_usd(text).unwrap()));
        assert_eq!(money("0.000000000001"), "0.000000000001");
        assert_eq!(money("1.500"), "1.5");
        assert_eq!(money("7.5e-08"), "0.000000075");
        assert_eq!(
            money("999999999999999999.999999999999"),
            "999999999999999999.999999999999"
        );
        assert_eq!(money("1000000000000000000"), "0");
        assert_eq!(super::money(&event, None), "", "unknown is NULL");
    }

    #[test]
    fn an_unpriced_event_stores_null_amounts() {
        let mut event = sample("t", Utc::now());
        event.cost_usd = None;
        let csv = encode(&[event]);
        let fields: Vec<&str> = csv.trim_end_matches('\n').split(',').collect();
        assert_eq!((fields[21], fields[22]), ("", ""), "cost and baseline NULL");
    }
}
