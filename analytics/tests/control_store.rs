//! The control tables on both stores, with the same scenario: records made,
//! changed, rotated and revoked; every change audited (never with a key) and
//! moving the version; duplicates and missing records refused without effect.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test on any error"
)]

#[path = "postgres_store/support.rs"]
#[allow(dead_code, reason = "shared helpers; this file uses one")]
mod support;

use analytics::control::{AuditEntry, ControlStore, KeyRecord, Limits, TeamRecord, TenantRecord};
use analytics::store::Store;
use pricing::Cost;

fn audit(tenant: &str, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1_000,
        tenant_id: tenant.to_owned(),
        actor: "admin-key".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: Some(r#"{"rpm":60}"#.to_owned()),
    }
}

fn key(id: &str, tenant: &str, hash: &str) -> KeyRecord {
    KeyRecord {
        key_id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        team_id: Some("web".to_owned()),
        key_hash: hash.to_owned(),
        prefix: "sk-gw-abcd".to_owned(),
        role: "api".to_owned(),
        label: Some("ci bot".to_owned()),
        models: Some(vec!["gpt-4o-mini".to_owned()]),
        limits: Limits {
            rpm: Some(600),
            tpm: Some(5_000_000_000),
            max_concurrent: None,
            budget_daily_usd: Some(Cost::parse_usd("1.25").unwrap()),
            budget_monthly_usd: None,
        },
        expires_ms: None,
        created_ms: 10,
        updated_ms: 10,
        last_used_ms: None,
        revoked_ms: None,
        replaces: None,
    }
}

async fn scenario(control: ControlStore) {
    assert_eq!(control.version().await.unwrap(), 0);
    let tenant = TenantRecord {
        tenant_id: "acme".to_owned(),
        name: Some("Acme".to_owned()),
        limits: Limits {
            budget_monthly_usd: Some(Cost::parse_usd("1000.000000000001").unwrap()),
            ..Limits::default()
        },
        created_ms: 5,
        updated_ms: 5,
    };
    let v1 = control
        .create_tenant(&tenant, &audit("acme", "tenant.create", "acme"))
        .await
        .unwrap();
    assert_eq!(v1, Some(1));
    assert_eq!(
        control
            .create_tenant(&tenant, &audit("acme", "tenant.create", "acme"))
            .await
            .unwrap(),
        None,
        "a second tenant with the same id is refused"
    );
    assert_eq!(control.tenant("acme").await.unwrap(), Some(tenant.clone()));

    let team = TeamRecord {
        tenant_id: "acme".to_owned(),
        team_id: "web".to_owned(),
        name: None,
        limits: Limits::default(),
        created_ms: 6,
        updated_ms: 6,
    };
    assert!(control
        .create_team(&team, &audit("acme", "team.create", "web"))
        .await
        .unwrap()
        .is_some());
    let mut budgeted = team.clone();
    budgeted.limits.budget_daily_usd = Some(Cost::parse_usd("5").unwrap());
    budgeted.updated_ms = 7;
    assert!(control
        .update_team(&budgeted, &audit("acme", "team.update", "web"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(control.team("acme", "web").await.unwrap(), Some(budgeted));

    let a = key("k-a", "acme", "sha256:aa");
    let b = key("k-b", "other", "sha256:bb");
    assert!(control
        .create_key(&a, &audit("acme", "key.create", "k-a"))
        .await
        .unwrap()
        .is_some());
    assert!(control
        .create_key(&b, &audit("other", "key.create", "k-b"))
        .await
        .unwrap()
        .is_some());
    let same_hash = key("k-c", "acme", "sha256:aa");
    assert_eq!(
        control
            .create_key(&same_hash, &audit("acme", "key.create", "k-c"))
            .await
            .unwrap(),
        None,
        "a hash already stored is refused"
    );
    assert_eq!(control.key("k-a").await.unwrap(), Some(a.clone()));
    let acme_keys = control.keys(Some("acme")).await.unwrap();
    assert_eq!(
        acme_keys
            .iter()
            .map(|k| k.key_id.as_str())
            .collect::<Vec<_>>(),
        ["k-a"]
    );
    assert_eq!(control.keys(None).await.unwrap().len(), 2);

    // Rotation: the new key is stored, the old one ends after its grace period.
    let mut new = key("k-a2", "acme", "sha256:a2");
    new.replaces = Some("k-a".to_owned());
    new.created_ms = 20;
    assert!(control
        .rotate_key(
            "k-a",
            20 + 60_000,
            &new,
            &audit("acme", "key.rotate", "k-a")
        )
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        control.key("k-a").await.unwrap().unwrap().expires_ms,
        Some(60_020)
    );
    assert!(!control.key("k-a").await.unwrap().unwrap().is_dead(60_019));
    assert!(control.key("k-a").await.unwrap().unwrap().is_dead(60_020));

    let before = control.version().await.unwrap();
    assert!(control
        .revoke_key("k-b", 30, &audit("other", "key.revoke", "k-b"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        control
            .revoke_key("k-b", 31, &audit("other", "key.revoke", "k-b"))
            .await
            .unwrap(),
        None,
        "revoking twice changes nothing"
    );
    assert_eq!(control.version().await.unwrap(), before + 1);
    let mut revoked_edit = b.clone();
    revoked_edit.label = Some("x".to_owned());
    assert_eq!(
        control
            .update_key(&revoked_edit, &audit("other", "key.update", "k-b"))
            .await
            .unwrap(),
        None,
        "a revoked key cannot be changed"
    );

    control
        .touch_keys(&[("k-a2".to_owned(), 500), ("k-a2".to_owned(), 400)])
        .await
        .unwrap();
    assert_eq!(
        control.key("k-a2").await.unwrap().unwrap().last_used_ms,
        Some(500)
    );

    let data = control.load().await.unwrap();
    let live: Vec<_> = data.keys.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(live, ["k-a", "k-a2"], "revoked keys are not loaded");
    assert_eq!(data.version, control.version().await.unwrap());
    assert_eq!(data.tenants, vec![tenant]);

    let acme_audit = control.audit(Some("acme"), 100).await.unwrap();
    let actions: Vec<_> = acme_audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "key.rotate",
            "key.create",
            "team.update",
            "team.create",
            "tenant.create"
        ],
        "newest first, refused changes not recorded"
    );
    assert_eq!(control.audit(None, 2).await.unwrap().len(), 2);
}

#[tokio::test]
async fn control_records_on_sqlite() {
    let path =
        std::env::temp_dir().join(format!("control-test-{}.db", uuid::Uuid::now_v7().simple()));
    let store = Store::open_sqlite(&path).await.unwrap();
    scenario(ControlStore::of(&store)).await;
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn control_records_on_postgres() {
    support::with_db(|url| async move {
        let store = Store::open_postgres(&url).await.unwrap();
        scenario(ControlStore::of(&store)).await;
    })
    .await;
}
