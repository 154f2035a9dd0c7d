//! Shared helpers: a throwaway database per test, and event builders.

use std::future::Future;

use analytics::store::postgres::PostgresStore;
use analytics::UsageEvent;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use pricing::Cost;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs `body` with the URL of a new, empty database, then drops the database
/// whether `body` passed or panicked (it runs as its own task so a panic is caught).
pub async fn with_db<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("GATEWAY_TEST_POSTGRES_URL").unwrap_or(DEFAULT_URL.to_owned());
    let name = format!("gw_test_{}", Uuid::now_v7().simple());
    let (base, _) = admin_url.rsplit_once('/').expect("a database url");
    let url = format!("{base}/{name}");

    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("admin connection");
    // The name is generated above, never input: safe to splice.
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");

    let outcome = tokio::spawn(body(url)).await;

    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    admin.close().await.ok();
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// Login roles made for one test, in a database of its own that `owner` owns:
/// the owner (LOGIN CREATEROLE, not a superuser) migrates; `writer` and
/// `reader` are names for the serving logins, not created yet (`gateway
/// migrate --writer-role/--reader-role`, i.e. `PostgresStore::grant_login`,
/// creates them). Roles are cluster-wide, so the names are unique per run.
pub struct Logins {
    pub owner: String,
    pub writer: String,
    pub reader: String,
    /// A name for one more role a test may make (as the admin), dropped too.
    pub spare: String,
    base: String,
    database: String,
}

impl Logins {
    /// The server's superuser URL (to make what the owner may not).
    pub fn admin_url() -> String {
        std::env::var("GATEWAY_TEST_POSTGRES_URL").unwrap_or(DEFAULT_URL.to_owned())
    }

    /// The URL that logs `role` into the test database.
    pub fn url(&self, role: &str) -> String {
        let (scheme, rest) = self.base.split_once("://").expect("a url");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{role}@{host}/{}", self.database)
    }
}

/// Runs `body` with fresh [`Logins`], then drops the database and the three
/// roles whether `body` passed or panicked.
pub async fn with_logins<F, Fut>(body: F)
where
    F: FnOnce(Logins) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("GATEWAY_TEST_POSTGRES_URL").unwrap_or(DEFAULT_URL.to_owned());
    let id = Uuid::now_v7().simple().to_string();
    let database = format!("gw_test_{id}");
    let (base, _) = admin_url.rsplit_once('/').expect("a database url");
    let logins = Logins {
        owner: format!("gw_{id}_owner"),
        writer: format!("gw_{id}_writer"),
        reader: format!("gw_{id}_reader"),
        spare: format!("gw_{id}_spare"),
        base: base.to_owned(),
        database: database.clone(),
    };
    let roles = [
        logins.owner.clone(),
        logins.writer.clone(),
        logins.reader.clone(),
        logins.spare.clone(),
    ];
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("admin connection");
    // Names are generated above, never input: safe to splice.
    for statement in [
        format!("CREATE ROLE {} LOGIN CREATEROLE", roles[0]),
        format!("CREATE DATABASE {database} OWNER {}", roles[0]),
    ] {
        sqlx::query(&statement)
            .execute(&mut admin)
            .await
            .expect("create the owner and its database");
    }

    let outcome = tokio::spawn(body(logins)).await;

    sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    for role in roles.iter().rev() {
        sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
            .execute(&mut admin)
            .await
            .expect("drop test role");
    }
    admin.close().await.ok();
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// A connected, migrated store.
pub async fn store(url: &str) -> PostgresStore {
    let store = PostgresStore::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub fn days_ago(days: i64) -> NaiveDate {
    today() - TimeDelta::days(days)
}

/// `day` at midnight UTC plus `micros`.
pub fn at(day: NaiveDate, micros: i64) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::microseconds(micros)
}

/// A complete event; timestamps in Postgres' (microsecond) precision.
pub fn event(tenant: &str, occurred_at: DateTime<Utc>) -> UsageEvent {
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at,
        tenant_id: tenant.to_owned(),
        key_id: "key-1".to_owned(),
        team: Some("platform".to_owned()),
        user_tag: Some("0123456789abcdef".to_owned()),
        endpoint: "chat_completions".to_owned(),
        requested_model: "gpt-4o".to_owned(),
        routed_provider: Some("openai".to_owned()),
        routed_model: Some("gpt-4o-mini".to_owned()),
        route_reason: "cheaper_equivalent".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 1_000,
        completion_tokens: 100,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: Cost::parse_usd("0.00021").ok(),
        baseline_usd: Cost::parse_usd("0.0035").ok(),
        price_version: Some("openai/gpt-4o-mini@2026-11-25".to_owned()),
        baseline_price_version: Some("openai/gpt-4o@2026-11-25".to_owned()),
        latency_ms: 420,
        ttft_ms: None,
        upstream_ms: Some(400),
        client_family: "openai-python".to_owned(),
        ingress_format: Some("openai_chat".to_owned()),
        upstream_format: Some("openai_chat".to_owned()),
    }
}

/// Every row of `table` as text, in order: equal snapshots mean identical rows.
pub async fn snapshot(store: &PostgresStore, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT t::text FROM {table} t ORDER BY 1"))
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// A small deterministic generator (xorshift64*), so runs are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}
