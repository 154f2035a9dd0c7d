//! The production store: Postgres (DESIGN.md, "Storage").
//!
//! - `migrate`: the SQL files of `migrations/postgres/`, embedded and applied in
//!   order, each once.
//! - `write`: the batch writer behind [`EventStore`]: COPY into a per-connection
//!   staging table, then one `INSERT .. ON CONFLICT DO NOTHING`, so replays are
//!   ignored.
//! - `partitions`: the partition manager for the daily partitions of
//!   `usage_events` (create ahead, drop after the raw retention).
//! - `rollup`: daily, weekly and monthly aggregates, recomputed in SQL.
//! - `tenant`: tenant-scoped reads, always through Row-Level Security.
//! - `pools`: the two system-side connection pools (the writer's own, and the
//!   one for everything else), built in one place.
//! - `readers`: the tenant readers' pools, one per tenant, each connection
//!   bound to its tenant.
//! - `roles`: what the serving logins may do, and granting them (migrate).
//!
//! The two system-side pools log in with the serving URL: in a least-privilege
//! setup a member of `gateway_writer`, whose policies let it work across
//! tenants (writer, rollups, partitions). Tenant reads never run there: they
//! go through [`PostgresStore::tenant_transaction`], on a reader connection
//! that the database itself binds to one tenant (migration
//! `20261208100000_least_privilege` says how, and why no session setting can
//! widen it).

mod migrate;
mod partitions;
mod pools;
mod readers;
mod roles;
mod rollup;
mod tenant;
mod write;

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

pub use migrate::{Migration, MIGRATIONS, UNPRICED};
pub use pools::PoolSettings;
pub use roles::{problems, LoginFacts, Problem, Side};
pub use rollup::{AggregatesDropped, RollupReport};
pub use tenant::{DailyPoint, TenantFuture, UsageTotals};

use self::readers::Readers;
use super::{EventStore, StoreError};
use crate::event::UsageEvent;

/// Run on every new connection of both system-side pools: create the staging
/// table the writer COPYs into (emptied at every commit).
const SESSION_SETUP: &str = "
CREATE TEMP TABLE IF NOT EXISTS gateway_staging (
    event_id uuid, occurred_at timestamptz, tenant_id text, key_id text, team text,
    user_tag text, endpoint text, requested_model text, routed_provider text,
    routed_model text, route_reason text, attempts integer, stream boolean,
    status integer, error_kind text, prompt_tokens bigint, completion_tokens bigint,
    cached_tokens bigint, cache_write_tokens bigint, reasoning_tokens bigint,
    usage_estimated boolean, cost_usd numeric(30,12), baseline_usd numeric(30,12),
    price_version text, baseline_price_version text, latency_ms bigint, ttft_ms bigint,
    upstream_ms bigint, client_family text, ingress_format text, upstream_format text
) ON COMMIT DELETE ROWS;
";

/// Postgres-backed event store. Cheap to clone: clones share the pools and the
/// partition cache.
#[derive(Clone)]
pub struct PostgresStore {
    /// Tenant reads, rollups, housekeeping, migrations.
    pool: PgPool,
    /// The event writer's own connections (see `pools`).
    writer: PgPool,
    /// Tenant reads (see `readers`).
    readers: Arc<Readers>,
    /// Longest one batch write may take (the writer sessions' `statement_timeout`).
    write_timeout: Duration,
    /// Days whose `usage_events` partition is known to exist.
    known_days: Arc<Mutex<HashSet<NaiveDate>>>,
}

impl PostgresStore {
    /// Connects now with the default [`PoolSettings`]; fails if the database
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(url, PoolSettings::default()).await
    }

    /// Connects now; fails if the database cannot be reached.
    pub async fn connect_with(
        url: &str,
        settings: PoolSettings,
    ) -> Result<PostgresStore, StoreError> {
        let options = connect_options(url)?;
        let (pool, writer) = pools::build(&options, settings)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(PostgresStore::from_pools(pool, writer, settings, options))
    }

    /// Connects on first use, so a gateway can start while Postgres is down.
    pub fn connect_lazy(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_lazy_with(url, PoolSettings::default())
    }

    /// Connects on first use, with `settings`.
    pub fn connect_lazy_with(
        url: &str,
        settings: PoolSettings,
    ) -> Result<PostgresStore, StoreError> {
        let options = connect_options(url)?;
        let (pool, writer) = pools::build_lazy(&options, settings);
        Ok(PostgresStore::from_pools(pool, writer, settings, options))
    }

    /// Tenant reads log in with `url` (a member of `gateway_reader` only)
    /// instead of the serving URL. Connects on first use.
    pub fn with_reader_login(self, url: &str) -> Result<PostgresStore, StoreError> {
        let options = connect_options(url)?;
        Ok(PostgresStore {
            readers: Arc::new(Readers::new(options, self.pool.clone())),
            ..self
        })
    }

    /// The first and last days that have a raw event partition, if any.
    pub(crate) async fn raw_days(&self) -> Result<Option<(NaiveDate, NaiveDate)>, StoreError> {
        let (first, last): (Option<NaiveDate>, Option<NaiveDate>) =
            sqlx::query_as("SELECT min(d), max(d) FROM gateway_partition_days() AS d")
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(first.zip(last))
    }

    /// The system-side pool: its connections see every tenant. The writer's
    /// connections are separate (see `pools`).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn from_pools(
        pool: PgPool,
        writer: PgPool,
        settings: PoolSettings,
        options: PgConnectOptions,
    ) -> PostgresStore {
        PostgresStore {
            readers: Arc::new(Readers::new(options, pool.clone())),
            pool,
            writer,
            write_timeout: settings.write_timeout,
            known_days: Arc::new(Mutex::new(HashSet::new())),
        }
    }
}

impl EventStore for PostgresStore {
    async fn write(&self, events: &[UsageEvent]) -> Result<u64, StoreError> {
        write::write(self, events).await
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url)
        .map(|options| options.application_name("gateway"))
        .map_err(|err| StoreError::Rejected(format!("invalid database url: {err}")))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};

    use super::*;

    fn send<T: Send>(_: T) {}

    /// Every operation can run in a spawned task (a compile-time check: the futures
    /// are made, never polled, so no database is needed).
    #[tokio::test]
    async fn futures_are_send() {
        let store = PostgresStore::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
        let day = NaiveDate::default();
        send(store.migrate());
        send(store.write(&[]));
        send(store.ensure_partitions(day, 1));
        send(store.drop_partitions_older_than(day, 1));
        send(store.rollup(day, day));
        send(store.drop_aggregates_older_than(day, 1));
        send(store.tenant_transaction("t"));
        send(store.check_schema());
        send(store.writer_login());
        send(store.reader_login());
        send(store.grant_login(Side::Reader, "r"));
        send(store.summary("t", day, day));
        send(store.daily_series("t", day, day));
        send(store.events("t", Utc::now(), Utc::now(), 1));
        send(store.with_tenant("t", |conn| {
            Box::pin(sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(conn))
        }));
    }

    #[tokio::test]
    async fn bad_urls_are_rejected() {
        assert!(matches!(
            PostgresStore::connect_lazy("postgres://host:port/db"),
            Err(StoreError::Rejected(_))
        ));
    }
}
