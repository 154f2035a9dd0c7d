//! Migrations and the partition manager.

use analytics::store::postgres::{PostgresStore, MIGRATIONS};
use chrono::TimeDelta;

use crate::support::{store, today, with_db};

#[tokio::test]
async fn migrations_apply_once_and_partitions_are_made_ahead() {
    with_db(|url| async move {
        let store = PostgresStore::connect(&url).await.unwrap();
        let first = store.migrate().await.unwrap();
        assert_eq!(
            first,
            MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
        );
        assert!(
            store.migrate().await.unwrap().is_empty(),
            "second run is a no-op"
        );
        // A second instance starting against the same database changes nothing.
        let other = store_again(&url).await;
        assert!(other.migrate().await.unwrap().is_empty());
        let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM gateway_schema_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(recorded, MIGRATIONS.len() as i64);

        // Every tenant table has Row-Level Security enabled and forced.
        let secured: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT relname::text, relrowsecurity, relforcerowsecurity FROM pg_class \
             WHERE relname IN ('usage_events', 'usage_daily', 'usage_weekly', 'usage_monthly') \
             ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(secured.len(), 4);
        assert!(
            secured.iter().all(|(_, on, forced)| *on && *forced),
            "{secured:?}"
        );

        let created = store.ensure_partitions(today(), 7).await.unwrap();
        assert_eq!(created, 8);
        assert_eq!(store.ensure_partitions(today(), 7).await.unwrap(), 0);
        let partitions: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'usage_events'::regclass ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let expected: Vec<String> = (0..8)
            .map(|n| {
                let day = today() + TimeDelta::days(n);
                format!("usage_events_{}", day.format("%Y%m%d"))
            })
            .collect();
        assert_eq!(partitions, expected);

        // Each partition covers exactly one UTC day.
        let bounds: String = sqlx::query_scalar(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.relname = $1",
        )
        .bind(&expected[0])
        .fetch_one(store.pool())
        .await
        .unwrap();
        let day = today();
        let next = day + TimeDelta::days(1);
        assert_eq!(
            bounds,
            format!("FOR VALUES FROM ('{day} 00:00:00+00') TO ('{next} 00:00:00+00')")
        );
    })
    .await;
}

async fn store_again(url: &str) -> PostgresStore {
    store(url).await
}
