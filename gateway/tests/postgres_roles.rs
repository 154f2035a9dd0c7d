//! The gateway on Postgres with least-privilege logins (README, "Postgres
//! roles"), each a real LOGIN role made for the test in a database of its
//! own: `gateway migrate --owner-url --writer-role --reader-role` migrates as
//! the owner and makes the two serving logins; the gateway then serves with
//! them (tenant reads on the reader login only, nothing as the owner),
//! checks the schema instead of migrating, refuses a schema that is behind
//! and a reader login that could leave its tenant, and migrates at start
//! when it is given the owner's URL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;

use std::process::Command;

use analytics::store::EventStore;
use analytics::UsageEvent;
use chrono::{TimeDelta, Utc};
use common::TestGateway;
use gateway::keys::{self, KeyHash};
use pricing::Cost;
use serde_json::Value;
use sqlx::Connection;

#[path = "common/pg_logins.rs"]
mod pg_logins;

use pg_logins::TestLogins;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// The `[analytics]` URLs for a config (only those given).
fn analytics(serve: &str, reader: Option<&str>, owner: Option<&str>) -> String {
    let mut text = format!("\n[analytics]\ndatabase_url = \"{serve}\"\n");
    if let Some(reader) = reader {
        text.push_str(&format!("reader_database_url = \"{reader}\"\n"));
    }
    if let Some(owner) = owner {
        text.push_str(&format!("owner_database_url = \"{owner}\"\n"));
    }
    text
}

/// Keys: `acme` and `globex` API keys granted their tenant's analytics.
struct Keys {
    acme: String,
    globex: String,
}

/// Starts a gateway whose store logs in with the given URLs (the rest of the
/// config is the suite's).
async fn start(urls: &str) -> Result<(TestGateway, Keys), String> {
    let keys = Keys {
        acme: keys::mint().unwrap(),
        globex: keys::mint().unwrap(),
    };
    let mut extra = String::new();
    for (id, key, tenant) in [
        ("acme-analyst", &keys.acme, "acme"),
        ("globex-analyst", &keys.globex, "globex"),
    ] {
        extra.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ntenant = \"{tenant}\"\nanalytics = \"tenant\"\n",
            KeyHash::of(key)
        ));
    }
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (key, limited) = (keys::mint().unwrap(), keys::mint().unwrap());
    let text = common::config_text(mock.addr, &key, &limited, &extra)
        .replace("\n[analytics]\n", &(urls.to_owned() + "\n"));
    let config = gateway::config::Config::from_toml(&text, Vec::new(), |_| None).unwrap();
    let gateway = gateway::server::start(&config)
        .await
        .map_err(|error| error.to_string())?;
    Ok((
        TestGateway {
            gateway,
            mock,
            key,
            limited_key: limited,
            client: reqwest::Client::new(),
        },
        keys,
    ))
}

/// Runs `gateway migrate` with `args` on a config whose serving URL is
/// `serve`; returns (success, stdout, stderr).
fn migrate(serve: &str, args: &[&str]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("gateway-roles-{}", keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("gateway.toml");
    std::fs::write(&config, analytics(serve, None, None)).unwrap();
    let output = Command::new(BIN)
        .arg("migrate")
        .arg("--config")
        .arg(&config)
        .args(args)
        .env_remove("GATEWAY_CONFIG")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_OWNER_URL")
        .env_remove("DATABASE_READER_URL")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn event(tenant: &str, n: i64) -> UsageEvent {
    let at = Utc::now() - TimeDelta::days(1) + TimeDelta::seconds(n);
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: at,
        tenant_id: tenant.to_owned(),
        key_id: format!("{tenant}-key"),
        team: None,
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: "gpt-4o".to_owned(),
        routed_provider: Some("openai".to_owned()),
        routed_model: Some(format!("{tenant}-only-model")),
        route_reason: "cheaper_equivalent".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 100,
        completion_tokens: 10,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: Cost::parse_usd("0.25").ok(),
        baseline_usd: Cost::parse_usd("1").ok(),
        price_version: None,
        baseline_price_version: None,
        latency_ms: 100,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: Some("openai_chat".to_owned()),
        upstream_format: Some("openai_chat".to_owned()),
    }
}

async fn summary(gw: &TestGateway, key: &str, query: &str) -> Value {
    let day = (Utc::now() - TimeDelta::days(1)).date_naive();
    let response = gw
        .client
        .get(gw.url(&format!(
            "/api/v1/analytics/summary?from={day}&to={day}{query}"
        )))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// (login, application_name) of every session in `database` but this one.
async fn sessions(database: &str) -> Vec<(String, String)> {
    let mut admin = sqlx::PgConnection::connect(pg_logins::ADMIN_URL)
        .await
        .unwrap();
    let found = sqlx::query_as(
        "SELECT usename::text, application_name FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY 1, 2",
    )
    .bind(database)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();
    found
}

#[tokio::test]
async fn migrate_makes_the_logins_and_the_gateway_serves_with_them_only() {
    let logins = TestLogins::create("gw_roles").await;
    let owner = logins.url(&logins.owner);
    let (ok, out, err) = migrate(
        &logins.url(&logins.writer),
        &[
            "--owner-url",
            &owner,
            "--writer-role",
            &logins.writer,
            "--reader-role",
            &logins.reader,
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("migrations applied"), "{out}");
    for (role, group) in [
        (&logins.writer, "gateway_writer"),
        (&logins.reader, "gateway_reader"),
    ] {
        assert!(
            out.contains(&format!(
                "ok: login `{role}` is a least-privilege member of {group}"
            )),
            "{out}"
        );
    }
    // Again: nothing to apply, the logins as they are.
    let (ok, out, _) = migrate(
        &owner,
        &[
            "--writer-role",
            &logins.writer,
            "--reader-role",
            &logins.reader,
        ],
    );
    assert!(
        ok && out.starts_with("ok: analytics schema is current\n"),
        "{out}"
    );

    // Serving with the two logins and no owner URL: the schema is checked,
    // not migrated.
    let (gw, keys) = start(&analytics(
        &logins.url(&logins.writer),
        Some(&logins.url(&logins.reader)),
        None,
    ))
    .await
    .unwrap();
    let events: Vec<UsageEvent> = (0..3)
        .map(|n| event("acme", n))
        .chain((0..2).map(|n| event("globex", n)))
        .collect();
    let store = &gw.gateway.store;
    assert_eq!(store.write(&events).await.unwrap(), 5);
    let day = events[0].occurred_at.date_naive();
    store.rollup(day, day).await.unwrap();

    let acme = summary(&gw, &keys.acme, "").await;
    assert_eq!(
        (acme["tenant"].as_str(), acme["requests"].as_i64()),
        (Some("acme"), Some(3))
    );
    assert_eq!(acme["spend_usd"], "0.75");
    let globex = summary(&gw, &keys.globex, "").await;
    assert_eq!(globex["requests"], 2);
    assert!(!acme.to_string().contains("globex"));

    // Nothing runs as the owner; tenant reads run on the reader login.
    let seen = sessions(&logins.database).await;
    assert!(
        seen.iter()
            .any(|(login, app)| *login == logins.reader && app == "gateway-reader"),
        "{seen:?}"
    );
    for (login, app) in &seen {
        match app.as_str() {
            "gateway-reader" => assert_eq!(login, &logins.reader, "{seen:?}"),
            "gateway" => assert_eq!(login, &logins.writer, "{seen:?}"),
            _ => {}
        }
        assert_ne!(login, &logins.owner, "{seen:?}");
    }
    gw.gateway.shutdown().await;
    logins.drop_now().await;
}

#[tokio::test]
async fn the_gateway_refuses_a_schema_behind_or_logins_that_are_not_safe() {
    let logins = TestLogins::create("gw_roles").await;
    let owner = logins.url(&logins.owner);

    // Least-privilege URLs only, and a schema that was never migrated.
    let refused = start(&analytics(&owner, Some(&owner), None))
        .await
        .err()
        .unwrap();
    assert!(
        refused.contains("behind") && refused.contains("--owner-url"),
        "{refused}"
    );

    let (ok, out, err) = migrate(
        &owner,
        &[
            "--writer-role",
            &logins.writer,
            "--reader-role",
            &logins.reader,
        ],
    );
    assert!(ok, "{out}{err}");

    // The owner as the reader login: refused, naming why.
    let refused = start(&analytics(&logins.url(&logins.writer), Some(&owner), None))
        .await
        .err()
        .unwrap();
    assert!(
        refused.contains(&logins.owner)
            && refused.contains("reader_database_url")
            && refused.contains("owns the tables"),
        "{refused}"
    );
    // A least-privilege serving login and no reader login: nobody may read tenants.
    let refused = start(&analytics(&logins.url(&logins.writer), None, None))
        .await
        .err()
        .unwrap();
    assert!(refused.contains("reader_database_url"), "{refused}");
    // The writer login as the reader: it could read every tenant.
    let refused = start(&analytics(
        &logins.url(&logins.writer),
        Some(&logins.url(&logins.writer)),
        None,
    ))
    .await
    .err()
    .unwrap();
    assert!(refused.contains("gateway_writer"), "{refused}");

    // `gateway migrate` refuses to call a login in both groups a reader.
    let (ok, _, err) = migrate(&owner, &["--reader-role", &logins.writer]);
    assert!(!ok, "{err}");
    assert!(err.contains("gateway_writer"), "{err}");
    logins.drop_now().await;
}

#[tokio::test]
async fn the_owner_url_migrates_at_start() {
    let logins = TestLogins::create("gw_roles").await;
    // The serving logins exist (made on the first database).
    let (ok, out, err) = migrate(
        &logins.url(&logins.owner),
        &[
            "--writer-role",
            &logins.writer,
            "--reader-role",
            &logins.reader,
        ],
    );
    assert!(ok, "{out}{err}");
    let fresh = logins.another_database().await;
    let (gw, keys) = start(&analytics(
        &logins.url_in(&logins.writer, &fresh),
        Some(&logins.url_in(&logins.reader, &fresh)),
        Some(&logins.url_in(&logins.owner, &fresh)),
    ))
    .await
    .unwrap();
    let store = &gw.gateway.store;
    assert_eq!(store.write(&[event("acme", 0)]).await.unwrap(), 1);
    let day = (Utc::now() - TimeDelta::days(1)).date_naive();
    store.rollup(day, day).await.unwrap();
    assert_eq!(summary(&gw, &keys.acme, "").await["requests"], 1);
    gw.gateway.shutdown().await;

    let mut owner = sqlx::PgConnection::connect(&logins.url_in(&logins.owner, &fresh))
        .await
        .unwrap();
    let table_owner: String = sqlx::query_scalar(
        "SELECT tableowner::text FROM pg_tables WHERE tablename = 'usage_events'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(table_owner, logins.owner);
    owner.close().await.ok();
    logins.drop_now().await;
}
