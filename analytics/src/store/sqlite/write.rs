//! Raw events in and out: the batch writer behind [`EventStore`] and the
//! tenant-scoped read of raw events. Events are checked and converted before the
//! transaction starts (costs to exact integer pico-USD, times to nanoseconds), so
//! a batch is written entirely or not at all.

use chrono::{DateTime, Utc};
use pricing::Cost;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{corrupt, db_error, narrow, time_ns, SqliteStore, BEGIN_WRITE};
use crate::event::UsageEvent;
use crate::store::{EventStore, StoreError};

/// The 31 columns of `usage_events`, in insert and select order.
macro_rules! event_columns {
    () => {
        "event_id, occurred_at_ns, tenant_id, key_id, team, user_tag, endpoint, \
         requested_model, routed_provider, routed_model, route_reason, attempts, stream, \
         status, error_kind, prompt_tokens, completion_tokens, cached_tokens, \
         cache_write_tokens, reasoning_tokens, usage_estimated, cost_pusd, baseline_pusd, \
         price_version, baseline_price_version, latency_ms, ttft_ms, upstream_ms, \
         client_family, ingress_format, upstream_format"
    };
}

const EVENT_COLUMNS: usize = 31;
/// `SQLITE_MAX_VARIABLE_NUMBER` of the SQLite sqlx bundles (3.32 and later).
const MAX_BIND_PARAMS: usize = 32_766;
/// Rows per INSERT statement. sqlx caches each distinct SQL text as a prepared
/// statement per connection; with a size per batch length, a busy gateway would
/// cache hundreds of statements of up to 32,000 binds (measured: RSS growing past
/// 170 MB). Full chunks of this fixed size share one cached statement; the last,
/// shorter chunk of a batch is prepared without caching.
const ROWS_PER_INSERT: usize = 64;

impl EventStore for SqliteStore {
    /// One transaction of multi-row inserts, chunked under SQLite's bind limit;
    /// ids already stored, or repeated in the batch, are skipped. An event whose
    /// amounts exceed i64 pico-USD rejects the whole batch.
    async fn write(&self, events: &[UsageEvent]) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let rows = events
            .iter()
            .map(EventRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
        let mut written = 0;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(concat!(
                "INSERT INTO usage_events (",
                event_columns!(),
                ") "
            ));
            insert.push_values(chunk, |mut values, row| {
                let e = row.event;
                values
                    .push_bind(row.event_id.as_str())
                    .push_bind(row.occurred_at_ns)
                    .push_bind(e.tenant_id.as_str())
                    .push_bind(e.key_id.as_str())
                    .push_bind(e.team.as_deref())
                    .push_bind(e.user_tag.as_deref())
                    .push_bind(e.endpoint.as_str())
                    .push_bind(e.requested_model.as_str())
                    .push_bind(e.routed_provider.as_deref())
                    .push_bind(e.routed_model.as_deref())
                    .push_bind(e.route_reason.as_str())
                    .push_bind(i64::from(e.attempts))
                    .push_bind(e.stream)
                    .push_bind(i64::from(e.status))
                    .push_bind(e.error_kind.as_deref())
                    .push_bind(row.tokens[0])
                    .push_bind(row.tokens[1])
                    .push_bind(row.tokens[2])
                    .push_bind(row.tokens[3])
                    .push_bind(row.tokens[4])
                    .push_bind(e.usage_estimated)
                    .push_bind(row.cost_pusd)
                    .push_bind(row.baseline_pusd)
                    .push_bind(e.price_version.as_deref())
                    .push_bind(e.baseline_price_version.as_deref())
                    .push_bind(i64::from(e.latency_ms))
                    .push_bind(e.ttft_ms.map(i64::from))
                    .push_bind(e.upstream_ms.map(i64::from))
                    .push_bind(e.client_family.as_str())
                    .push_bind(e.ingress_format.as_deref())
                    .push_bind(e.upstream_format.as_deref());
            });
            insert.push(" ON CONFLICT (event_id) DO NOTHING");
            written += insert
                .build()
                .persistent(chunk.len() == ROWS_PER_INSERT)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_error)?;
        Ok(written)
    }
}

impl SqliteStore {
    /// A tenant's raw events with `from <= occurred_at < to`, oldest first, at
    /// most `limit` of them.
    pub async fn events(
        &self,
        tenant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UsageEvent>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM usage_events WHERE tenant_id = ?1 AND occurred_at_ns >= ?2",
            " AND occurred_at_ns < ?3 ORDER BY occurred_at_ns, event_id LIMIT ?4"
        ))
        .bind(tenant_id)
        .bind(time_ns(from))
        .bind(time_ns(to))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(event_from_row).collect()
    }
}

/// An event checked and converted for insertion.
struct EventRow<'a> {
    event: &'a UsageEvent,
    event_id: String,
    occurred_at_ns: i64,
    /// Prompt, completion, cached, cache write, reasoning.
    tokens: [i64; 5],
    /// `None` (NULL) for an unpriced request: both or neither.
    cost_pusd: Option<i64>,
    baseline_pusd: Option<i64>,
}

impl<'a> EventRow<'a> {
    fn new(event: &'a UsageEvent) -> Result<EventRow<'a>, StoreError> {
        let reject = |what: &str| {
            StoreError::Rejected(format!("event {}: {what} out of range", event.event_id))
        };
        let token = |n: u64| i64::try_from(n).map_err(|_| reject("token count"));
        let money = |cost: Cost, what: &str| i64::try_from(cost.0).map_err(|_| reject(what));
        let (cost, baseline) = event.priced().unzip();
        Ok(EventRow {
            event,
            event_id: event.event_id.to_string(),
            occurred_at_ns: event
                .occurred_at
                .timestamp_nanos_opt()
                .ok_or_else(|| reject("occurred_at"))?,
            tokens: [
                token(event.prompt_tokens)?,
                token(event.completion_tokens)?,
                token(event.cached_tokens)?,
                token(event.cache_write_tokens)?,
                token(event.reasoning_tokens)?,
            ],
            cost_pusd: cost.map(|c| money(c, "cost_usd")).transpose()?,
            baseline_pusd: baseline.map(|b| money(b, "baseline_usd")).transpose()?,
        })
    }
}

fn event_from_row(row: &SqliteRow) -> Result<UsageEvent, StoreError> {
    let text =
        |column: &str| -> Result<String, StoreError> { row.try_get(column).map_err(db_error) };
    let optional = |column: &str| -> Result<Option<String>, StoreError> {
        row.try_get(column).map_err(db_error)
    };
    let int = |column: &str| -> Result<i64, StoreError> { row.try_get(column).map_err(db_error) };
    let flag = |column: &str| -> Result<bool, StoreError> { row.try_get(column).map_err(db_error) };
    let count = |column: &'static str| narrow::<u64>(int(column)?, column);
    let optional_ms = |column: &'static str| -> Result<Option<u32>, StoreError> {
        let value: Option<i64> = row.try_get(column).map_err(db_error)?;
        value.map(|v| narrow(v, column)).transpose()
    };
    let usd = |column: &str| -> Result<Option<Cost>, StoreError> {
        let value: Option<i64> = row.try_get(column).map_err(db_error)?;
        Ok(value.map(|pico| Cost(i128::from(pico))))
    };
    Ok(UsageEvent {
        event_id: Uuid::parse_str(&text("event_id")?).map_err(|_| corrupt("event_id"))?,
        occurred_at: DateTime::from_timestamp_nanos(int("occurred_at_ns")?),
        tenant_id: text("tenant_id")?,
        key_id: text("key_id")?,
        team: optional("team")?,
        user_tag: optional("user_tag")?,
        endpoint: text("endpoint")?,
        requested_model: text("requested_model")?,
        routed_provider: optional("routed_provider")?,
        routed_model: optional("routed_model")?,
        route_reason: text("route_reason")?,
        attempts: narrow(int("attempts")?, "attempts")?,
        stream: flag("stream")?,
        status: narrow(int("status")?, "status")?,
        error_kind: optional("error_kind")?,
        prompt_tokens: count("prompt_tokens")?,
        completion_tokens: count("completion_tokens")?,
        cached_tokens: count("cached_tokens")?,
        cache_write_tokens: count("cache_write_tokens")?,
        reasoning_tokens: count("reasoning_tokens")?,
        usage_estimated: flag("usage_estimated")?,
        cost_usd: usd("cost_pusd")?,
        baseline_usd: usd("baseline_pusd")?,
        price_version: optional("price_version")?,
        baseline_price_version: optional("baseline_price_version")?,
        latency_ms: narrow(int("latency_ms")?, "latency_ms")?,
        ttft_ms: optional_ms("ttft_ms")?,
        upstream_ms: optional_ms("upstream_ms")?,
        client_family: text("client_family")?,
        ingress_format: optional("ingress_format")?,
        upstream_format: optional("upstream_format")?,
    })
}

const _: () = assert!(ROWS_PER_INSERT * EVENT_COLUMNS <= MAX_BIND_PARAMS);

#[cfg(test)]
mod tests {
    #[test]
    fn event_columns_are_counted_right() {
        assert_eq!(event_columns!().split(',').count(), super::EVENT_COLUMNS);
    }
}
