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

        // Every tenant table (any table with a tenant_id) has Row-Level
        // Security and exactly two policies, bound to roles: the reader's
        // (its bound tenant) and the writer's. PUBLIC has no rights.
        let tables: Vec<(String, bool, bool, Vec<String>, bool)> = sqlx::query_as(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                    ARRAY(SELECT p.polname || ' ' || p.polcmd::text || ' ' || \
                                 array_to_string(ARRAY(SELECT r::regrole::text FROM unnest(p.polroles) r), ',') || \
                                 ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '') \
                          FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1), \
                    coalesce(array_to_string(c.relacl, ','), '') ~ '(^|,)=' \
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
             WHERE c.relnamespace = current_schema()::regnamespace \
               AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(tables.len() >= 5, "{tables:?}");
        for (table, on, forced, policies, public) in &tables {
            assert!(*on && !*forced, "{table}");
            assert!(!*public, "{table}: PUBLIC has rights");
            assert_eq!(
                policies,
                &[
                    "reader_bound_tenant r gateway_reader (tenant_id = ( SELECT gateway_reader_tenant() AS gateway_reader_tenant))".to_owned(),
                    "writer_all_tenants * gateway_writer true".to_owned(),
                ],
                "{table}"
            );
        }

        // No function of the gateway is PUBLIC's; every SECURITY DEFINER one
        // has a fixed search_path.
        let functions: Vec<(String, bool, bool, Vec<String>)> = sqlx::query_as(
            "SELECT p.proname::text, p.prosecdef, \
                    coalesce(array_to_string(p.proacl, ','), '') ~ '(^|,)=' OR p.proacl IS NULL, \
                    coalesce(p.proconfig, '{}') \
             FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace \
               AND p.proname LIKE 'gateway\\_%' ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(functions.len() >= 10, "{functions:?}");
        for (name, definer, public, config) in &functions {
            assert!(!*public, "{name} is executable by PUBLIC");
            if *definer {
                assert!(
                    config.iter().any(|c| c == "search_path=public, pg_temp"),
                    "{name}: {config:?}"
                );
            }
        }

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
        // Partitions are reached through usage_events only: Row-Level Security
        // without a policy shuts out direct readers.
        let open: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'usage_events'::regclass AND NOT c.relrowsecurity",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(open.is_empty(), "{open:?}");

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
