//! `store::queries` on Postgres (a throwaway database on
//! `GATEWAY_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`):
//! every grouping and filter equals the figures computed from the raw events,
//! and the latency histogram answers through Row-Level Security.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

mod queries_support;

use analytics::store::Store;
use sqlx::{Connection, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[tokio::test]
async fn rollup_reads_equal_raw_event_figures_through_rls() {
    let admin_url = std::env::var("GATEWAY_TEST_POSTGRES_URL").unwrap_or(DEFAULT_URL.to_owned());
    let name = format!("gw_test_{}", uuid::Uuid::now_v7().simple());
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    // The name is generated above, never input.
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();

    let outcome = tokio::spawn(async move {
        let store = Store::open_postgres(&url).await.unwrap();
        queries_support::check(&store).await;
        let Store::Postgres(pg) = &store else {
            unreachable!()
        };
        // RLS: a tenant transaction sees its own histogram rows only, even
        // without a WHERE clause.
        let all: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_daily_latency")
            .fetch_one(pg.pool())
            .await
            .unwrap();
        let acme_only: i64 =
            sqlx::query_scalar("SELECT count(*) FROM usage_daily_latency WHERE tenant_id = 'acme'")
                .fetch_one(pg.pool())
                .await
                .unwrap();
        let seen = pg
            .with_tenant("acme", |conn| {
                Box::pin(
                    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM usage_daily_latency")
                        .fetch_one(conn),
                )
            })
            .await
            .unwrap();
        assert!(acme_only > 0 && all > acme_only);
        assert_eq!(seen, acme_only);
        pg.pool().close().await;
    })
    .await;

    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
