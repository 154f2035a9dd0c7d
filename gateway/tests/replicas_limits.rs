//! Rate limits hold across replicas: two `gateway` processes sharing one Redis
//! admit a key's `rpm` and `tpm` once between them, where two replicas with
//! local limits only admit each limit once per replica (the N-fold overshoot
//! of gateways that count per pod). A refusal is a 429 in OpenAI's error shape
//! with `Retry-After` and `x-ratelimit-*` headers, and leaves its usage event.
//!
//! The bound asserted for a shared limit of L per minute over a run of t
//! seconds: admitted <= L + ceil(L/60 * t) + N. GCRA lets a full minute's
//! limit through at once (the burst) and then L/60 per second; N (the replica
//! count) allows one request per replica racing the other's at the edge.

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

use replicas::{by_status, Cluster, Kind, OwnRedis, Setup};

const REPLICAS: usize = 2;

/// Shared limits in Redis under a prefix of the test's own. The round-trip
/// timeout is generous: these tests prove the shared path, and on a loaded
/// 2-core machine a 100 ms timeout would send some admissions to the local
/// fallback (asserted absent below; `redis_loss.rs` tests the fallback).
fn limits_toml() -> String {
    format!(
        "[limits]\nreplicas = {REPLICAS}\nredis_timeout_ms = 2000\nredis_prefix = \"gwtest{}\"\n",
        &gateway::keys::mint().unwrap()[6..14].to_ascii_lowercase()
    )
}

/// Admissions each replica decided locally because Redis failed it.
async fn fallbacks(cluster: &Cluster) -> Vec<f64> {
    let mut found = Vec::new();
    for replica in 0..REPLICAS {
        let count = cluster
            .metric(replica, "gateway_limits_fallback_total")
            .await;
        found.push(count.unwrap_or(0.0));
    }
    found
}

/// `rpm = 600` and a `tpm` too high to bind, fired `requests` times at both
/// replicas alternately; returns (admitted, refused, seconds the run took).
async fn fire_at_rpm_600(
    cluster: &Cluster,
    requests: usize,
) -> (usize, Vec<replicas::Outcome>, f64) {
    let started = Instant::now();
    let outcomes = cluster
        .fire(requests, 200, |i| (i % REPLICAS, Kind::Plain))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let admitted = outcomes.iter().filter(|o| o.status == 200).count();
    let others: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status != 200 && o.status != 429)
        .map(|o| (o.status, o.body.clone()))
        .take(5)
        .collect();
    assert!(others.is_empty(), "only 200 and 429 expected: {others:?}");
    (admitted, outcomes, seconds)
}

fn shared_bound(limit_per_minute: u64, seconds: f64) -> u64 {
    limit_per_minute + (limit_per_minute as f64 / 60.0 * seconds).ceil() as u64 + REPLICAS as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_store_and_answer_alike() {
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: None,
        key_fields: "",
        extra: "",
    })
    .await;
    let outcomes = cluster.fire(40, 8, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_eq!(by_status(&outcomes), vec![(200, 40)], "{}", cluster.logs());
    // The cost each replica reports is the one the store keeps, exactly.
    let reported: pricing::Cost = outcomes
        .iter()
        .map(|o| pricing::Cost::parse_usd(o.header("x-gateway-cost-usd").unwrap()).unwrap())
        .sum();
    assert_eq!(
        cluster.wait_for_events(40, Duration::from_secs(20)).await,
        40
    );
    let stored = cluster.store_spend().await;
    assert_eq!(stored, reported);
    assert!(stored > pricing::Cost(0), "the models are priced");
    eprintln!(
        "2 replicas, 40 requests: store spend {} (one request {})",
        stored.usd(),
        outcomes[0].header("x-gateway-cost-usd").unwrap()
    );
    assert!(cluster.panics().is_empty());
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_rpm_admits_the_limit_once_across_two_replicas() {
    let redis = OwnRedis::start().await;
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: Some(redis.url()),
        key_fields: "rpm = 600\ntpm = 10000000\n",
        extra: &limits_toml(),
    })
    .await;
    let (admitted, outcomes, seconds) = fire_at_rpm_600(&cluster, 2_000).await;
    let bound = shared_bound(600, seconds);
    let fallbacks = fallbacks(&cluster).await;
    assert_eq!(
        fallbacks,
        vec![0.0; REPLICAS],
        "Redis answered every admission"
    );
    eprintln!(
        "shared rpm 600, 2 replicas, 2000 requests in {seconds:.2} s: admitted {admitted} \
         (bound {bound}; per replica {:?})",
        (0..REPLICAS)
            .map(|r| outcomes
                .iter()
                .filter(|o| o.replica == r && o.status == 200)
                .count())
            .collect::<Vec<_>>()
    );
    assert!(
        admitted as u64 <= bound,
        "admitted {admitted} > bound {bound}\n{}",
        cluster.logs()
    );
    assert!(
        admitted >= 600 - REPLICAS,
        "a shared limit of 600 admitted only {admitted}"
    );

    // A refusal: 429, OpenAI's error shape, Retry-After and x-ratelimit-*.
    let refusal = outcomes.iter().find(|o| o.status == 429).unwrap();
    let body = refusal.json();
    let error = common::assert_openai_error(&body);
    assert_eq!(error["type"], "requests", "{body}");
    assert_eq!(error["code"], "rate_limit_exceeded", "{body}");
    assert!(
        !refusal.body.contains(&cluster.key),
        "the key is never echoed"
    );
    let retry: u64 = refusal.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    let retry_ms: u64 = refusal.header("retry-after-ms").unwrap().parse().unwrap();
    assert!(
        retry_ms <= retry * 1000 && retry_ms > (retry - 1) * 1000,
        "{retry_ms} vs {retry}"
    );
    assert_eq!(refusal.header("x-ratelimit-limit-requests"), Some("600"));
    let remaining: u64 = refusal
        .header("x-ratelimit-remaining-requests")
        .unwrap()
        .parse()
        .unwrap();
    assert!(remaining < 600);
    assert!(refusal.header("x-ratelimit-reset-requests").is_some());
    assert_eq!(refusal.header("x-gateway-limit"), Some("rpm"));
    assert_eq!(refusal.header("x-gateway-limit-scope"), Some("key"));
    eprintln!(
        "a 429: retry-after {retry}, retry-after-ms {retry_ms}, remaining {remaining}, reset {:?}",
        refusal.header("x-ratelimit-reset-requests")
    );

    // Every request left its event; the refused ones say why.
    assert_eq!(
        cluster
            .wait_for_events(2_000, Duration::from_secs(30))
            .await,
        2_000
    );
    let events = cluster.store_events().await;
    let limited = events
        .iter()
        .filter(|e| e.error_kind.as_deref() == Some("rate_limited"))
        .count();
    assert_eq!(limited, 2_000 - admitted);
    assert!(cluster.panics().is_empty(), "{}", cluster.logs());
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_only_limits_admit_the_limit_once_per_replica() {
    // No Redis: each replica counts alone, as gateways that limit per pod do.
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: None,
        key_fields: "rpm = 600\ntpm = 10000000\n",
        extra: "",
    })
    .await;
    let (admitted, _, seconds) = fire_at_rpm_600(&cluster, 2_000).await;
    let per_replica_bound = REPLICAS as u64 * shared_bound(600, seconds);
    eprintln!(
        "local-only rpm 600, 2 replicas, 2000 requests in {seconds:.2} s: admitted {admitted} \
         ({:.2}x the limit)",
        admitted as f64 / 600.0
    );
    // The overshoot the shared limit removes: about N times the limit.
    assert!(admitted > 900, "expected ~1200 admitted, got {admitted}");
    assert!(admitted as u64 <= per_replica_bound);
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_tpm_admits_the_tokens_once_across_two_replicas() {
    const TPM: u64 = 6_000;
    let redis = OwnRedis::start().await;
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: Some(redis.url()),
        key_fields: &format!("tpm = {TPM}\n"),
        extra: &limits_toml(),
    })
    .await;
    let started = Instant::now();
    let outcomes = cluster
        .fire(600, 100, |i| (i % REPLICAS, Kind::Plain))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let fallbacks = fallbacks(&cluster).await;
    assert_eq!(
        fallbacks,
        vec![0.0; REPLICAS],
        "Redis answered every admission"
    );
    let statuses = by_status(&outcomes);
    assert!(
        statuses.iter().all(|(s, _)| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let refusal = outcomes.iter().find(|o| o.status == 429).unwrap();
    assert_eq!(
        refusal.header("x-gateway-limit"),
        Some("tpm"),
        "{}",
        refusal.body
    );
    assert_eq!(refusal.header("x-ratelimit-limit-tokens"), Some("6000"));
    assert!(refusal.header("x-ratelimit-remaining-tokens").is_some());
    assert!(refusal.header("x-ratelimit-reset-tokens").is_some());
    assert_eq!(refusal.json()["error"]["type"], "tokens");

    assert_eq!(
        cluster.wait_for_events(600, Duration::from_secs(30)).await,
        600
    );
    let events = cluster.store_events().await;
    let admitted: Vec<_> = events.iter().filter(|e| e.status == 200).collect();
    let tokens: i64 = admitted
        .iter()
        .map(|e| e.prompt_tokens + e.completion_tokens)
        .sum();
    let largest = admitted
        .iter()
        .map(|e| e.prompt_tokens + e.completion_tokens)
        .max()
        .unwrap();
    // Tokens of the admitted requests: one minute's limit at once, then TPM/60
    // per second, and at most one request per replica past the edge.
    let bound =
        TPM + (TPM as f64 / 60.0 * seconds).ceil() as u64 + REPLICAS as u64 * largest as u64;
    eprintln!(
        "shared tpm {TPM}, 2 replicas, 600 requests in {seconds:.2} s: {} admitted using {tokens} \
         tokens (bound {bound}; largest request {largest})",
        admitted.len()
    );
    assert!(tokens as u64 <= bound, "{tokens} tokens > {bound}");
    assert!(
        tokens as u64 >= TPM / 2,
        "a shared tpm of {TPM} admitted only {tokens} tokens"
    );
    assert!(cluster.panics().is_empty(), "{}", cluster.logs());
    cluster.finish().await;
}
