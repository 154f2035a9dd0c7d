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

/// A database written before the unpriced migration: events served by a model
/// without a price were stored as free (one with a phantom gpt-4o baseline) and
/// rolled up as savings. Opening it migrates them to unknown (NULL) amounts and
/// rebuilds the rollups of their days: no phantom savings, two unpriced requests.
#[tokio::test]
async fn unpriced_history_is_repaired_and_rolled_up_again() {
    use analytics::store::postgres::UNPRICED;
    use analytics::store::queries::{Filter, GroupBy};
    use analytics::store::Store;
    use pricing::Cost;
    use sha2::{Digest, Sha256};

    with_db(|url| async move {
        let legacy = PostgresStore::connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TABLE gateway_schema_migrations (version bigint PRIMARY KEY, \
             name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .execute(legacy.pool())
        .await
        .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < UNPRICED) {
            sqlx::raw_sql(m.sql).execute(legacy.pool()).await.unwrap();
            let checksum: String = Sha256::digest(m.sql.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            sqlx::query("INSERT INTO gateway_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.name)
                .bind(checksum)
                .execute(legacy.pool())
                .await
                .unwrap();
        }
        let day = today() - TimeDelta::days(3);
        legacy.ensure_partitions(day, 1).await.unwrap();
        /// Model, status, prompt tokens, cost, baseline (USD), price versions.
        type Legacy = (&'static str, i32, i64, &'static str, &'static str, Option<&'static str>, Option<&'static str>);
        let rows: [Legacy; 4] = [
            ("llama-local", 200, 1000, "0", "0.0035", None, Some("openai/gpt-4o@2026-11-25")),
            ("llama-local", 200, 500, "0", "0", None, None),
            ("llama-local", 429, 0, "0", "0", None, None),
            (
                "gpt-4o-mini",
                200,
                1000,
                "0.00021",
                "0.0035",
                Some("openai/gpt-4o-mini@2026-11-25"),
                Some("openai/gpt-4o@2026-11-25"),
            ),
        ];
        for (n, (model, status, prompt, cost, baseline, price, baseline_price)) in
            rows.iter().enumerate()
        {
            sqlx::query(
                "INSERT INTO usage_events VALUES (gen_random_uuid(), $1, 'acme', 'k', NULL, NULL, \
                 'chat_completions', $2, 'local', $2, 'requested', 1, false, $3, NULL, $4, $4 / 100, \
                 0, 0, 0, false, $5::numeric, $6::numeric, $7, $8, 100, NULL, NULL, 'curl')",
            )
            .bind(day.and_hms_opt(1, 0, 0).unwrap().and_utc() + TimeDelta::seconds(n as i64))
            .bind(model)
            .bind(status)
            .bind(prompt)
            .bind(cost)
            .bind(baseline)
            .bind(price)
            .bind(baseline_price)
            .execute(legacy.pool())
            .await
            .unwrap();
        }
        // What the old rollup made of it: the phantom baseline as savings.
        sqlx::query(
            "INSERT INTO usage_daily VALUES ('acme', $1, 'k', '', 'llama-local', 'local', \
             'llama-local', 3, 1, 1500, 15, 0, 0, 0.0035, 0.0035, 300, 3, 0)",
        )
        .bind(day)
        .execute(legacy.pool())
        .await
        .unwrap();
        legacy.pool().close().await;

        let store = Store::open_postgres(&url).await.unwrap();
        let Store::Postgres(postgres) = &store else {
            unreachable!()
        };
        let amounts: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT trim_scale(cost_usd)::text, trim_scale(baseline_usd)::text, \
             baseline_price_version FROM usage_events ORDER BY occurred_at",
        )
        .fetch_all(postgres.pool())
        .await
        .unwrap();
        let text = |t: &str| Some(t.to_owned());
        assert_eq!(
            amounts,
            [
                (None, None, None),
                (None, None, None),
                (text("0"), text("0"), None),
                (text("0.00021"), text("0.0035"), text("openai/gpt-4o@2026-11-25")),
            ]
        );
        let total = store
            .aggregate("acme", day, day, &Filter::default(), GroupBy::Total)
            .await
            .unwrap();
        let t = total[0].totals;
        assert_eq!((t.requests, t.unpriced), (4, 2));
        let usd = |t: &str| Cost::parse_usd(t).unwrap();
        assert_eq!(
            (t.cost, t.baseline, t.savings),
            (usd("0.00021"), usd("0.0035"), usd("0.00329"))
        );
        // Both amounts or neither, from now on.
        let refused = sqlx::query(
            "INSERT INTO usage_events (event_id, occurred_at, tenant_id, key_id, endpoint, \
             requested_model, route_reason, attempts, stream, status, prompt_tokens, \
             completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, \
             usage_estimated, cost_usd, baseline_usd, latency_ms, client_family) VALUES \
             (gen_random_uuid(), $1, 'acme', 'k', 'e', 'm', 'none', 1, false, 200, 0, 0, 0, 0, 0, \
             false, 1, NULL, 1, 'curl')",
        )
        .bind(day.and_hms_opt(2, 0, 0).unwrap().and_utc())
        .execute(postgres.pool())
        .await;
        assert!(refused.is_err(), "a cost without a baseline is refused");
    })
    .await;
}
