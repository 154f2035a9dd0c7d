//! Keys managed live across replicas: two `gateway` processes sharing one
//! Postgres. A key minted through replica A's admin API is accepted by replica
//! B within a second; revoked through B, it is refused by A within a second.
//! Nothing is configured for it but the store: the change is announced at its
//! commit (Postgres NOTIFY) and, failing that, found by the replicas' version
//! check. Each measured delay is printed (`cargo test -- --nocapture`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/replicas/mod.rs"]
mod replicas;

use std::time::{Duration, Instant};

use gateway::keys::{self, KeyHash};
use replicas::{Cluster, Setup};
use serde_json::json;

/// The bound: every replica sees a change within one second.
const WITHIN: Duration = Duration::from_secs(1);

async fn chat_status(cluster: &Cluster, replica: usize, key: &str) -> u16 {
    cluster
        .client
        .post(cluster.replicas[replica].url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "priced", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls `replica` with `key` every 5 ms until it answers `status`; the time
/// from `since` it took, or the failure with the cluster's logs.
async fn until_status(
    cluster: &Cluster,
    replica: usize,
    key: &str,
    status: u16,
    since: Instant,
) -> Duration {
    loop {
        let seen = chat_status(cluster, replica, key).await;
        if seen == status {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "replica {replica} still answers {seen}, not {status}, after 10 s\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_key_made_on_one_replica_works_on_the_other_and_a_revocation_holds_everywhere() {
    let admin = keys::mint().unwrap();
    let extra = format!(
        "\n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"ops\"\nrole = \"admin\"\n",
        KeyHash::of(&admin)
    );
    let cluster = Cluster::start(Setup {
        replicas: 2,
        redis: None,
        key_fields: "",
        extra: &extra,
    })
    .await;

    let mut made = Vec::new();
    let mut revoked = Vec::new();
    for round in 0..3 {
        let created = cluster
            .client
            .post(cluster.replicas[0].url("/api/v1/admin/keys"))
            .bearer_auth(&admin)
            .json(&json!({"tenant": cluster.tenant, "label": format!("round {round}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let since = Instant::now();
        let body: serde_json::Value = created.json().await.unwrap();
        let key = body["key"].as_str().unwrap().to_owned();
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            chat_status(&cluster, 0, &key).await,
            200,
            "replica A serves its own change at once"
        );
        made.push(until_status(&cluster, 1, &key, 200, since).await);

        let revoke = cluster
            .client
            .post(cluster.replicas[1].url(&format!("/api/v1/admin/keys/{id}/revoke")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(revoke.status(), 200);
        let since = Instant::now();
        assert_eq!(
            chat_status(&cluster, 1, &key).await,
            401,
            "replica B refuses at once"
        );
        revoked.push(until_status(&cluster, 0, &key, 401, since).await);
    }
    println!("key created on A, accepted by B after: {made:?}");
    println!("key revoked on B, refused by A after: {revoked:?}");
    for delay in made.iter().chain(&revoked) {
        assert!(*delay < WITHIN, "a change took {delay:?} to reach the other replica (created: {made:?}, revoked: {revoked:?})");
    }
    assert!(cluster.panics().is_empty(), "{}", cluster.logs());
    cluster.finish().await;
}
