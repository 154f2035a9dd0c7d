//! Row-Level Security: a tenant query sees its own rows only, even with no WHERE.

use analytics::store::postgres::PostgresStore;
use analytics::store::EventStore;
use sqlx::{Connection, PgConnection};

use crate::support::{at, event, store, today, with_db};

const TABLES: [&str; 4] = [
    "usage_events",
    "usage_daily",
    "usage_weekly",
    "usage_monthly",
];

/// `SELECT count(*)` of every tenant table, no WHERE clause.
async fn counts(conn: &mut PgConnection) -> Vec<i64> {
    let mut out = Vec::new();
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        out.push(n);
    }
    out
}

/// Rows of tenant `tenant` visible in every tenant table.
async fn counts_of(conn: &mut PgConnection, tenant: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        out.push(n);
    }
    out
}

async fn seeded(url: &str) -> PostgresStore {
    let store = store(url).await;
    let mut events = Vec::new();
    for n in 0..3 {
        events.push(event("tenant-a", at(today(), n)));
    }
    for n in 0..2 {
        let mut e = event("tenant-b", at(today(), 10 + n));
        e.key_id = format!("key-b{n}");
        events.push(e);
    }
    assert_eq!(store.write(&events).await.unwrap(), 5);
    store.rollup(today(), today()).await.unwrap();
    store
}

#[tokio::test]
async fn the_app_role_sees_only_the_tenant_in_its_session() {
    with_db(|url| async move {
        let store = seeded(&url).await;
        // The system side (the store's pool) sees everyone: 5 events, and one daily,
        // weekly and monthly row for A's key plus two for B's keys.
        assert_eq!(
            counts(&mut store.pool().acquire().await.unwrap()).await,
            [5, 3, 3, 3]
        );

        // A plain session (connected as a superuser, which bypasses RLS) switched to the
        // application role.
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query("SET ROLE gateway_app")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            counts(&mut conn).await,
            [0, 0, 0, 0],
            "no tenant set: nothing"
        );

        sqlx::query("SELECT set_config('gateway.tenant_id', 'tenant-a', false)")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(counts(&mut conn).await, [3, 1, 1, 1]);
        assert_eq!(counts_of(&mut conn, "tenant-b").await, [0, 0, 0, 0]);

        sqlx::query("SELECT set_config('gateway.tenant_id', 'tenant-b', false)")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(counts(&mut conn).await, [2, 2, 2, 2]);
        assert_eq!(counts_of(&mut conn, "tenant-a").await, [0, 0, 0, 0]);

        // Once set, "unset" reads back as '' — which must match nothing either.
        sqlx::query("SELECT set_config('gateway.tenant_id', '', false)")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(counts(&mut conn).await, [0, 0, 0, 0]);

        // The role cannot go around the parent table, nor write.
        let partition = format!("usage_events_{}", today().format("%Y%m%d"));
        let direct = sqlx::query(&format!("SELECT count(*) FROM {partition}"))
            .execute(&mut conn)
            .await;
        assert!(
            direct.is_err(),
            "partitions are not readable by the app role"
        );
        let insert = sqlx::query("DELETE FROM usage_daily")
            .execute(&mut conn)
            .await;
        assert!(insert.is_err(), "the app role only reads");
        conn.close().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn tenant_scoped_helpers_go_through_rls() {
    with_db(|url| async move {
        let store = seeded(&url).await;
        for (tenant, expected) in [("tenant-a", [3, 1, 1, 1]), ("tenant-b", [2, 2, 2, 2])] {
            let seen = store
                .with_tenant(tenant, |conn| {
                    Box::pin(async move { Ok(counts(conn).await) })
                })
                .await
                .unwrap();
            assert_eq!(seen, expected, "{tenant}");
        }
        assert_eq!(
            store
                .with_tenant("nobody", |conn| Box::pin(
                    async move { Ok(counts(conn).await) }
                ))
                .await
                .unwrap(),
            [0, 0, 0, 0]
        );

        // The explicit transaction form; it cannot see other tenants or write.
        let mut tx = store.tenant_transaction("tenant-b").await.unwrap();
        assert_eq!(counts_of(&mut tx, "tenant-a").await, [0, 0, 0, 0]);
        tx.commit().await.unwrap();

        // After a tenant transaction the pooled connection is the system side again.
        assert_eq!(
            counts(&mut store.pool().acquire().await.unwrap()).await,
            [5, 3, 3, 3]
        );

        let a = store.summary("tenant-a", today(), today()).await.unwrap();
        assert_eq!(a.requests, 3);
        assert_eq!(a.cost.usd(), "0.00063");
        assert_eq!(a.savings.usd(), "0.00987");
        let b = store.summary("tenant-b", today(), today()).await.unwrap();
        assert_eq!(b.requests, 2);
        // Naming another tenant in the query does not help: the session is A's.
        let leak: i64 = store
            .with_tenant("tenant-a", |conn| {
                Box::pin(
                    sqlx::query_scalar(
                        "SELECT count(*) FROM usage_events WHERE tenant_id = 'tenant-b'",
                    )
                    .fetch_one(conn),
                )
            })
            .await
            .unwrap();
        assert_eq!(leak, 0);
    })
    .await;
}
