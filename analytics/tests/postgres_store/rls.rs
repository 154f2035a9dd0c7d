//! Tenant isolation. As least-privilege logins (real LOGIN roles made by the
//! test): a tenant session sees its own rows only in every tenant table, and
//! no statement it may run widens that: not session settings, not `RESET
//! ROLE`, not `SET ROLE` to the owner or the writer role, not the binding
//! functions. With one URL (a trial, the owner serving): a query that forgets
//! its WHERE still sees one tenant.

use analytics::control::{
    AuditEntry, ControlStore, KeyRecord, Limits, ShareRecord, TeamRecord, TenantRecord,
};
use analytics::promises::NewPromise;
use analytics::store::postgres::{problems, LoginFacts, PostgresStore, Side};
use analytics::store::{EventStore, Store};
use chrono::Datelike;
use pricing::Cost;
use sqlx::{Connection, PgConnection};

use crate::support::{at, event, store, today, with_db, with_logins, Logins};

/// Every table of the schema with a `tenant_id` column (partitions aside),
/// from the catalog, so a tenant table added later is probed too.
async fn tenant_tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
         WHERE c.relnamespace = current_schema()::regnamespace \
           AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT a.attisdropped \
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// Rows of `tenant` each table shows this session (0 for a table it may not
/// read at all would hide a failure: every count must succeed).
async fn visible(conn: &mut PgConnection, tables: &[String], tenant: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for table in tables {
        // Table names come from the catalog query above, not from input.
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|err| panic!("{table}: {err}"));
        out.push(n);
    }
    out
}

/// Rows each table shows this session, no WHERE at all.
async fn all_rows(conn: &mut PgConnection, tables: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|err| panic!("{table}: {err}"));
        out.push(n);
    }
    out
}

/// Three events of tenant-a, two of tenant-b (two keys), rolled up (daily,
/// weekly, monthly and latency rows).
async fn seed(store: &PostgresStore) {
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
    let store = Store::Postgres(store.clone());
    store.rollup(today(), today()).await.unwrap();
    // The control tables (tenants, teams, keys, audit) are tenant tables too.
    let control = ControlStore::of(&store);
    for tenant in ["tenant-a", "tenant-b"] {
        let audit = |action: &str| AuditEntry {
            at_ms: 1,
            tenant_id: tenant.to_owned(),
            actor: "test".to_owned(),
            action: action.to_owned(),
            target: tenant.to_owned(),
            detail: None,
        };
        let record = TenantRecord {
            tenant_id: tenant.to_owned(),
            name: None,
            limits: Limits::default(),
            created_ms: 1,
            updated_ms: 1,
        };
        control
            .create_tenant(&record, &audit("tenant.create"))
            .await
            .unwrap()
            .unwrap();
        let team = TeamRecord {
            tenant_id: tenant.to_owned(),
            team_id: "web".to_owned(),
            name: None,
            limits: Limits::default(),
            created_ms: 1,
            updated_ms: 1,
        };
        control
            .create_team(&team, &audit("team.create"))
            .await
            .unwrap()
            .unwrap();
        let key = KeyRecord {
            key_id: format!("{tenant}-key"),
            tenant_id: tenant.to_owned(),
            team_id: None,
            key_hash: format!("sha256:{tenant}"),
            prefix: "sk-gw-xxxx".to_owned(),
            role: "api".to_owned(),
            label: None,
            models: None,
            limits: Limits::default(),
            expires_ms: None,
            created_ms: 1,
            updated_ms: 1,
            last_used_ms: None,
            revoked_ms: None,
            replaces: None,
        };
        control
            .create_key(&key, &audit("key.create"))
            .await
            .unwrap()
            .unwrap();
        // A share link of the tenant.
        let share = ShareRecord {
            share_id: format!("{tenant}-share"),
            tenant_id: tenant.to_owned(),
            token_hash: format!("sha256:share-{tenant}"),
            label: None,
            view_json: "{}".to_owned(),
            password_hash: None,
            expires_ms: i64::MAX,
            created_ms: 1,
            created_by: "test".to_owned(),
            revoked_ms: None,
            views: 0,
            last_viewed_ms: None,
        };
        assert!(control
            .create_share(&share, &audit("share.create"))
            .await
            .unwrap());
        // And the alert history.
        let Store::Postgres(pg) = &store else {
            unreachable!("a Postgres store")
        };
        sqlx::query(
            "INSERT INTO alert_firings (id, tenant_id, rule, kind, subject, summary, started_at) \
             VALUES ($1, $2, 'budget', 'budget_threshold', $2, 'test', now())",
        )
        .bind(format!("{tenant}-firing"))
        .bind(tenant)
        .execute(pg.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO alert_deliveries (id, tenant_id, firing_id, channel, notice, attempt, at, outcome) \
             VALUES ($1, $2, $3, 'hook', 'firing', 1, now(), 'delivered')",
        )
        .bind(format!("{tenant}-delivery"))
        .bind(tenant)
        .bind(format!("{tenant}-firing"))
        .execute(pg.pool())
        .await
        .unwrap();
        // And the ROI promises.
        let promise = NewPromise {
            created_at_ms: 1,
            created_by: "test".to_owned(),
            start_month: today().with_day(1).unwrap(),
            seats: 1,
            fee_monthly: Cost(1),
            promised_gross_monthly: Cost(2),
            inputs: "{}".to_owned(),
        };
        store.save_promise(tenant, promise).await.unwrap();
        // And a report run, its delivery and an attempt.
        let run = analytics::store::reports::NewRun {
            id: format!("{tenant}-run"),
            tenant_id: tenant.to_owned(),
            kind: "weekly".to_owned(),
            period_start: "2026-11-23".parse().unwrap(),
            origin: analytics::store::reports::RunOrigin::Manual,
            created_ms: 1,
            due_ms: 1,
            channels: vec!["hook".to_owned()],
        };
        assert!(store.claim_report_run(&run).await.unwrap());
        let due = store.report_deliveries(&run.id).await.unwrap();
        let attempt = store
            .lease_report_delivery(&due[0], 2, 3)
            .await
            .unwrap()
            .unwrap();
        let settled = analytics::store::reports::Settlement {
            outcome: analytics::store::alerts::DeliveryOutcome::Delivered,
            at_ms: 2,
            http_status: Some(200),
            error: None,
            next_ms: 2,
        };
        store
            .settle_report_delivery(&due[0], attempt, &settled)
            .await
            .unwrap();
    }
}

/// Runs `statements` in order; the first error stops.
async fn run(conn: &mut PgConnection, statements: &[String]) -> Result<(), sqlx::Error> {
    for statement in statements {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Statements a tenant session might run to widen its view: (what, SQL,
/// whether Postgres accepts it). Each runs alone, inside a savepoint.
fn escapes(logins: &Logins) -> Vec<(&'static str, Vec<String>, bool)> {
    let partition = format!("usage_events_{}", today().format("%Y%m%d"));
    let owner = &logins.owner;
    let one = |what, sql: String, accepted| (what, vec![sql], accepted);
    vec![
        one(
            "claim the system role",
            "SELECT set_config('gateway.role', 'system', true)".into(),
            true,
        ),
        one(
            "claim another tenant",
            "SELECT set_config('gateway.tenant_id', 'tenant-b', true)".into(),
            true,
        ),
        one(
            "settings for the whole session",
            "SELECT set_config('gateway.role', 'system', false), \
             set_config('gateway.tenant_id', 'tenant-b', false)"
                .into(),
            true,
        ),
        one("RESET ROLE", "RESET ROLE".into(), true),
        one("SET ROLE NONE", "SET ROLE NONE".into(), true),
        (
            "all at once",
            vec![
                "SELECT set_config('gateway.role', 'system', true), \
                 set_config('gateway.tenant_id', 'tenant-b', true)"
                    .into(),
                "RESET ROLE".into(),
            ],
            true,
        ),
        one(
            "forge the session secret",
            "SELECT set_config('gateway.reader_session', 'forged', false)".into(),
            true,
        ),
        one("SET ROLE to the owner", format!("SET ROLE {owner}"), false),
        one(
            "SET ROLE gateway_writer",
            "SET ROLE gateway_writer".into(),
            false,
        ),
        one(
            "SET SESSION AUTHORIZATION",
            format!("SET SESSION AUTHORIZATION {owner}"),
            false,
        ),
        one(
            "mint a grant for another tenant",
            "SELECT gateway_grant_reader('tenant-b')".into(),
            false,
        ),
        one(
            "redeem a guessed grant",
            "SELECT gateway_bind_reader(repeat('0', 64))".into(),
            false,
        ),
        one(
            "read the bindings",
            "SELECT count(*) FROM gateway_reader_sessions".into(),
            false,
        ),
        one(
            "read the grants",
            "SELECT count(*) FROM gateway_reader_grants".into(),
            false,
        ),
        one(
            "read a partition directly",
            format!("SELECT count(*) FROM {partition}"),
            false,
        ),
        one(
            "write a rollup row",
            "DELETE FROM usage_daily".into(),
            false,
        ),
    ]
}

#[tokio::test]
async fn a_tenant_session_cannot_widen_its_view_as_a_least_privilege_login() {
    with_logins(|logins| async move {
        // The owner migrates and makes the two serving logins.
        let owner = PostgresStore::connect(&logins.url(&logins.owner))
            .await
            .unwrap();
        owner.migrate().await.unwrap();
        let writer = owner
            .grant_login(Side::Writer, &logins.writer)
            .await
            .unwrap();
        let reader = owner
            .grant_login(Side::Reader, &logins.reader)
            .await
            .unwrap();
        assert_eq!(problems(Side::Writer, &writer), []);
        assert_eq!(problems(Side::Reader, &reader), []);
        // Granting again changes nothing.
        assert_eq!(
            owner
                .grant_login(Side::Reader, &logins.reader)
                .await
                .unwrap(),
            reader
        );

        let store = PostgresStore::connect(&logins.url(&logins.writer))
            .await
            .unwrap()
            .with_reader_login(&logins.url(&logins.reader))
            .unwrap();
        assert_eq!(store.writer_login().await.unwrap(), writer);
        assert_eq!(store.reader_login().await.unwrap(), reader);
        store.check_schema().await.unwrap();
        seed(&store).await;

        let mut system = store.pool().acquire().await.unwrap();
        let tables = tenant_tables(&mut system).await;
        for known in [
            "alert_deliveries",
            "alert_firings",
            "control_audit",
            "control_keys",
            "control_teams",
            "control_tenants",
            "report_attempts",
            "report_deliveries",
            "report_runs",
            "share_links",
            "usage_daily",
            "usage_daily_latency",
            "usage_events",
            "usage_monthly",
            "usage_weekly",
        ] {
            assert!(tables.iter().any(|t| t == known), "{known} in {tables:?}");
        }
        // The writer side sees both tenants in every table, so every probe
        // below has rows of tenant-b it could leak.
        let a_rows = visible(&mut system, &tables, "tenant-a").await;
        let b_rows = visible(&mut system, &tables, "tenant-b").await;
        assert!(a_rows.iter().chain(&b_rows).all(|n| *n > 0), "{b_rows:?}");
        drop(system);

        let zeros = vec![0; tables.len()];
        let mut tx = store.tenant_transaction("tenant-a").await.unwrap();
        assert_eq!(all_rows(&mut tx, &tables).await, a_rows);
        assert_eq!(visible(&mut tx, &tables, "tenant-b").await, zeros);
        for (what, sql, accepted) in escapes(&logins) {
            sqlx::query("SAVEPOINT escape")
                .execute(&mut *tx)
                .await
                .unwrap();
            let outcome = run(&mut tx, &sql).await;
            assert_eq!(outcome.is_ok(), accepted, "{what}: {outcome:?}");
            if outcome.is_err() {
                sqlx::query("ROLLBACK TO SAVEPOINT escape")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            assert_eq!(
                visible(&mut tx, &tables, "tenant-b").await,
                zeros,
                "after: {what}"
            );
            // A forged secret loses the session its own rows too.
            let own = if what.contains("forge") {
                &zeros
            } else {
                &a_rows
            };
            assert_eq!(&all_rows(&mut tx, &tables).await, own, "after: {what}");
            let role: String = sqlx::query_scalar("SELECT current_user::text")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert!(
                role == "gateway_reader" || role == logins.reader,
                "after {what}: {role}"
            );
            if outcome.is_ok() {
                sqlx::query("ROLLBACK TO SAVEPOINT escape")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
        tx.rollback().await.unwrap();

        // Settings changed for the whole session and committed stay with
        // tenant-a's connection; tenant-b's session is unaffected, and
        // tenant-a's own connection sees no more than before.
        store
            .with_tenant("tenant-a", |conn| {
                Box::pin(async move {
                    let statements = [
                        "SELECT set_config('gateway.tenant_id', 'tenant-b', false), \
                         set_config('gateway.role', 'system', false)"
                            .to_owned(),
                        "RESET ROLE".to_owned(),
                    ];
                    run(conn, &statements).await
                })
            })
            .await
            .unwrap();
        let mut tx = store.tenant_transaction("tenant-a").await.unwrap();
        assert_eq!(visible(&mut tx, &tables, "tenant-b").await, zeros);
        tx.rollback().await.unwrap();
        let mut tx = store.tenant_transaction("tenant-b").await.unwrap();
        assert_eq!(all_rows(&mut tx, &tables).await, b_rows);
        assert_eq!(visible(&mut tx, &tables, "tenant-a").await, zeros);
        tx.rollback().await.unwrap();

        // The reader login on a connection of its own (no binding) sees nothing,
        // whatever it sets.
        let mut plain = PgConnection::connect(&logins.url(&logins.reader))
            .await
            .unwrap();
        let statements = [
            "SELECT set_config('gateway.role', 'system', false), \
             set_config('gateway.tenant_id', 'tenant-b', false)"
                .to_owned(),
            "SET ROLE gateway_reader".to_owned(),
        ];
        run(&mut plain, &statements).await.unwrap();
        assert_eq!(all_rows(&mut plain, &tables).await, zeros);
        plain.close().await.unwrap();

        // The figures through the store's own reads are the tenant's.
        let a = store.summary("tenant-a", today(), today()).await.unwrap();
        assert_eq!(a.requests, 3);
        let b = store.summary("tenant-b", today(), today()).await.unwrap();
        assert_eq!(b.requests, 2);
    })
    .await;
}

#[tokio::test]
async fn unsafe_logins_are_reported() {
    with_logins(|logins| async move {
        let owner = PostgresStore::connect(&logins.url(&logins.owner))
            .await
            .unwrap();
        owner.migrate().await.unwrap();
        // The owner as the reader login: it can become the owner, and it may
        // grant itself anything.
        let as_owner = PostgresStore::connect(&logins.url(&logins.owner))
            .await
            .unwrap()
            .with_reader_login(&logins.url(&logins.owner))
            .unwrap();
        let facts = as_owner.reader_login().await.unwrap();
        let texts: Vec<&str> = problems(Side::Reader, &facts)
            .iter()
            .map(|p| p.text)
            .collect();
        assert!(
            texts.iter().any(|t| t.contains("owns the tables")),
            "{texts:?}"
        );
        // The owner as the writer: works, but more than needed.
        let found = problems(Side::Writer, &as_owner.writer_login().await.unwrap());
        assert!(!found.is_empty() && found.iter().all(|p| !p.blocking));

        // A login in both groups must not read tenants.
        owner
            .grant_login(Side::Writer, &logins.reader)
            .await
            .unwrap();
        let both = owner
            .grant_login(Side::Reader, &logins.reader)
            .await
            .unwrap();
        let found = problems(Side::Reader, &both);
        assert!(
            found
                .iter()
                .any(|p| p.blocking && p.text.contains("gateway_writer")),
            "{found:?}"
        );
        // A role the login may SET ROLE to counts as the login: BYPASSRLS through
        // membership is blocking.
        owner
            .grant_login(Side::Writer, &logins.writer)
            .await
            .unwrap();
        let mut admin = PgConnection::connect(&Logins::admin_url()).await.unwrap();
        for statement in [
            format!("CREATE ROLE {} LOGIN BYPASSRLS", logins.spare),
            format!("GRANT {} TO {}", logins.spare, logins.writer),
        ] {
            sqlx::query(&statement).execute(&mut admin).await.unwrap();
        }
        let member = owner
            .grant_login(Side::Writer, &logins.writer)
            .await
            .unwrap();
        assert!(member.bypass_rls, "{member:?}");
        let found = problems(
            Side::Reader,
            &LoginFacts {
                reader: true,
                writer: false,
                ..member
            },
        );
        assert!(
            found
                .iter()
                .any(|p| p.blocking && p.text.contains("BYPASSRLS")),
            "{found:?}"
        );
        sqlx::query(&format!("REVOKE {} FROM {}", logins.spare, logins.writer))
            .execute(&mut admin)
            .await
            .unwrap();

        // pg_read_all_data is blocking for a reader, and reaches no partition's
        // rows directly: partitions have Row-Level Security without a policy.
        sqlx::query(&format!("ALTER ROLE {} NOBYPASSRLS", logins.spare))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("GRANT pg_read_all_data TO {}", logins.spare))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let spare = owner
            .grant_login(Side::Reader, &logins.spare)
            .await
            .unwrap();
        let found = problems(Side::Reader, &spare);
        assert!(
            found
                .iter()
                .any(|p| p.blocking && p.text.contains("pg_read_all_data")),
            "{found:?}"
        );
        let store = PostgresStore::connect(&logins.url(&logins.owner))
            .await
            .unwrap();
        seed(&store).await;
        let partition = format!("usage_events_{}", today().format("%Y%m%d"));
        let mut reading = PgConnection::connect(&logins.url(&logins.spare))
            .await
            .unwrap();
        for table in [partition.as_str(), "usage_events", "usage_daily"] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&mut reading)
                .await
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
        reading.close().await.unwrap();

        // A role name is quoted, never spliced.
        let odd = format!("{}\";--", logins.reader);
        let granted = owner.grant_login(Side::Reader, &odd).await;
        let drop: String = sqlx::query_scalar("SELECT format('DROP ROLE %I', $1::text)")
            .bind(&odd)
            .fetch_one(owner.pool())
            .await
            .unwrap();
        sqlx::query(&drop).execute(owner.pool()).await.unwrap();
        assert_eq!(granted.unwrap().name, odd);
    })
    .await;
}

#[tokio::test]
async fn single_url_tenant_reads_see_one_tenant_without_a_where() {
    with_db(|url| async move {
        let store = store(&url).await;
        seed(&store).await;
        let mut system = store.pool().acquire().await.unwrap();
        let tables = tenant_tables(&mut system).await;
        let a_rows = visible(&mut system, &tables, "tenant-a").await;
        let b_rows = visible(&mut system, &tables, "tenant-b").await;
        drop(system);
        let zeros = vec![0; tables.len()];
        for (tenant, expected) in [("tenant-a", &a_rows), ("tenant-b", &b_rows)] {
            let tables = tables.clone();
            let seen = store
                .with_tenant(tenant, |conn| {
                    Box::pin(async move { Ok(all_rows(conn, &tables).await) })
                })
                .await
                .unwrap();
            assert_eq!(&seen, expected, "{tenant}");
        }
        let tables2 = tables.clone();
        assert_eq!(
            store
                .with_tenant("nobody", |conn| Box::pin(async move {
                    Ok(all_rows(conn, &tables2).await)
                }))
                .await
                .unwrap(),
            zeros
        );
        assert!(store.tenant_transaction("").await.is_err());

        // The explicit transaction form; it cannot see other tenants or write.
        let mut tx = store.tenant_transaction("tenant-b").await.unwrap();
        assert_eq!(visible(&mut tx, &tables, "tenant-a").await, zeros);
        assert!(sqlx::query("DELETE FROM usage_daily")
            .execute(&mut *tx)
            .await
            .is_err());
        tx.rollback().await.unwrap();

        let a = store.summary("tenant-a", today(), today()).await.unwrap();
        assert_eq!(a.requests, 3);
        assert_eq!(a.cost.usd(), "0.00063");
        assert_eq!(a.savings.usd(), "0.00987");
        let b = store.summary("tenant-b", today(), today()).await.unwrap();
        assert_eq!(b.requests, 2);
    })
    .await;
}
