//! Redis is a cache: two `gateway` replicas keep serving when their Redis is
//! killed mid-test (no 5xx caused by it, nothing panics), fall back to local
//! limits of limit/N per replica (N = `[limits] replicas`), and when Redis
//! comes back empty rebuild what they keep there from the store: a budget's
//! spend, and today's real-time counters, which then equal the store's figures.

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

use pricing::Cost;
use replicas::{by_status, Cluster, Kind, Outcome, OwnRedis, Setup};

const REPLICAS: usize = 2;
const RPM: u64 = 600;

fn prefix() -> String {
    format!(
        "gwtest{}",
        &gateway::keys::mint().unwrap()[6..14].to_ascii_lowercase()
    )
}

/// Asserts that nothing failed but what a limit refused: every answer is a 200
/// or a limit's 429, never a 5xx or no answer.
fn assert_served(outcomes: &[Outcome], cluster: &Cluster) {
    for outcome in outcomes {
        assert!(
            outcome.status == 200
                || (outcome.status == 429
                    && outcome.error_code().as_deref() == Some("rate_limit_exceeded")),
            "{} {}\n{}",
            outcome.status,
            outcome.body,
            cluster.logs()
        );
    }
}

/// Polls until `metric` reads `value` on every replica, sending a request to
/// each now and then (a replica may notice Redis only when it uses it);
/// returns the requests it sent.
async fn wait_for_metric(
    cluster: &Cluster,
    metric: &str,
    value: f64,
    within: Duration,
) -> Vec<Outcome> {
    let deadline = Instant::now() + within;
    let mut sent = Vec::new();
    loop {
        let mut all = true;
        for replica in 0..REPLICAS {
            if cluster.metric(replica, metric).await != Some(value) {
                all = false;
                sent.push(cluster.send(replica, Kind::Plain).await);
            }
        }
        if all {
            return sent;
        }
        assert!(
            Instant::now() < deadline,
            "{metric} did not reach {value} on every replica\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (events, spend, prompt tokens, completion tokens) of the tenant today, UTC.
async fn store_today(cluster: &Cluster) -> (i64, Cost, i64, i64) {
    let events = cluster.store_events().await;
    (
        events.len() as i64,
        events.iter().map(|e| e.cost).sum(),
        events.iter().map(|e| e.prompt_tokens).sum(),
        events.iter().map(|e| e.completion_tokens).sum(),
    )
}

/// Two replicas sharing `redis`, their key limited to RPM and a daily budget
/// too high to bind (admission reserves and settles it all the same).
async fn limited_cluster(redis: &OwnRedis, prefix: &str) -> Cluster {
    Cluster::start(Setup {
        replicas: REPLICAS,
        redis: Some(redis.url()),
        key_fields: &format!("rpm = {RPM}\nbudget_daily_usd = \"50.00\"\n"),
        extra: &format!("[limits]\nreplicas = {REPLICAS}\nredis_prefix = \"{prefix}\"\n"),
    })
    .await
}

/// 100 requests with Redis up, then Redis killed and 1,200 more (600 per
/// replica, 100 in flight): every answer a 200 or a limit's 429, each replica
/// admitting its share RPM / N and saying so in its metrics. Returns the
/// requests sent, once their events are all in the store.
async fn serve_through_an_outage(cluster: &Cluster, redis: &mut OwnRedis) -> i64 {
    let before = cluster.fire(100, 10, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_eq!(by_status(&before), vec![(200, 100)]);
    for replica in 0..REPLICAS {
        assert_eq!(
            cluster.metric(replica, "gateway_limits_redis_up").await,
            Some(1.0)
        );
    }
    // Redis killed: still serving, each replica to RPM / N.
    redis.stop();
    let started = Instant::now();
    let during = cluster
        .fire(1_200, 100, |i| (i % REPLICAS, Kind::Plain))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    assert_served(&during, cluster);
    let share = RPM / REPLICAS as u64;
    let bound = share + (share as f64 / 60.0 * seconds).ceil() as u64 + 1;
    for replica in 0..REPLICAS {
        let admitted = during
            .iter()
            .filter(|o| o.replica == replica && o.status == 200)
            .count() as u64;
        eprintln!(
            "Redis down, replica {replica}: {admitted} of 600 admitted in {seconds:.2} s \
             (local share {share}, bound {bound})"
        );
        assert!(
            admitted <= bound,
            "replica {replica} admitted {admitted} > {bound}"
        );
        // It serves: the share's burst at least, minus what the shared limit
        // may have counted against it before Redis went away.
        assert!(
            admitted >= share - 100,
            "replica {replica} admitted only {admitted}"
        );
        assert_eq!(
            cluster.metric(replica, "gateway_limits_redis_up").await,
            Some(0.0)
        );
        let fallbacks = cluster
            .metric(replica, "gateway_limits_fallback_total")
            .await
            .unwrap_or(0.0);
        assert!(fallbacks > 0.0, "replica {replica} counted no fallback");
    }
    let sent = (before.len() + during.len()) as i64;
    assert_eq!(
        cluster.wait_for_events(sent, Duration::from_secs(30)).await,
        sent,
        "events reach the store while Redis is down"
    );
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_fall_back_to_a_share_per_replica_while_redis_is_down() {
    let mut redis = OwnRedis::start().await;
    let cluster = limited_cluster(&redis, &prefix()).await;
    serve_through_an_outage(&cluster, &mut redis).await;
    let panics = cluster.panics();
    assert!(panics.is_empty(), "{panics:?}");
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_spend_is_rebuilt_from_the_store_when_redis_returns_empty() {
    let mut redis = OwnRedis::start().await;
    let prefix = prefix();
    let cluster = limited_cluster(&redis, &prefix).await;
    let mut sent = serve_through_an_outage(&cluster, &mut redis).await;

    // Redis back, empty: the spend is rebuilt from the store before it is used.
    redis.start_again().await;
    let restarted = Instant::now();
    let probes = wait_for_metric(
        &cluster,
        "gateway_limits_redis_up",
        1.0,
        Duration::from_secs(20),
    )
    .await;
    eprintln!(
        "both replicas use Redis again {} ms after it restarted ({} requests sent meanwhile)",
        restarted.elapsed().as_millis(),
        probes.len()
    );
    assert_served(&probes, &cluster);
    let after = cluster.fire(100, 10, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_served(&after, &cluster);
    sent += (probes.len() + after.len()) as i64;
    assert_eq!(
        cluster.wait_for_events(sent, Duration::from_secs(30)).await,
        sent
    );
    let (events, spend, _, _) = store_today(&cluster).await;
    assert_eq!(events, sent);
    let keys = redis.integers(&format!("{prefix}:*spend:d:*")).await;
    assert_eq!(keys.len(), 1, "the key's daily spend: {keys:?}");
    let held = i128::from(keys[0].1);
    let exact = (spend.0 + 999).div_euclid(1_000);
    eprintln!(
        "after Redis came back empty: Redis holds {held} nano-USD of spend, the store {exact} \
         ({events} events)"
    );
    assert!(
        held >= exact && held < exact + i128::from(events),
        "the spend in Redis ({held} nano-USD) is not the store's ({exact})"
    );
    let rebuilds: f64 = {
        let mut sum = 0.0;
        for replica in 0..REPLICAS {
            sum += cluster
                .metric(replica, "gateway_budget_rebuilds_total")
                .await
                .unwrap_or(0.0);
        }
        sum
    };
    assert!(rebuilds >= 1.0, "no spend rebuild counted");
    let panics = cluster.panics();
    assert!(panics.is_empty(), "{panics:?}");
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_time_counters_equal_the_store_after_redis_comes_back_empty() {
    let mut redis = OwnRedis::start().await;
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: Some(redis.url()),
        key_fields: "analytics = \"tenant\"\n",
        extra: "",
    })
    .await;
    let before = cluster.fire(200, 20, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_served(&before, &cluster);
    redis.stop();
    let during = cluster.fire(200, 20, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_served(&during, &cluster);
    assert_eq!(
        cluster.wait_for_events(400, Duration::from_secs(30)).await,
        400
    );
    redis.start_again().await;
    // Traffic while and after the counters are rebuilt.
    let after = cluster.fire(200, 20, |i| (i % REPLICAS, Kind::Plain)).await;
    assert_served(&after, &cluster);
    assert_eq!(
        cluster.wait_for_events(600, Duration::from_secs(30)).await,
        600
    );
    let (events, spend, prompt, completion) = store_today(&cluster).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = serde_json::Value::Null;
    for replica in (0..REPLICAS).cycle() {
        seen = cluster
            .get_json(replica, "/api/v1/analytics/realtime")
            .await;
        let today = &seen["today"];
        let matches = today["requests"] == events
            && today["spend_usd"] == spend.usd()
            && today["prompt_tokens"] == prompt
            && today["completion_tokens"] == completion;
        if matches && seen["source"] == "redis" {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "store: {events} events, {} spent, {prompt}+{completion} tokens; real-time today: {}",
        spend.usd(),
        seen["today"]
    );
    assert_eq!(seen["source"], "redis");
    assert_eq!(seen["today"]["requests"], events, "{seen}");
    assert_eq!(seen["today"]["spend_usd"], spend.usd(), "{seen}");
    assert_eq!(seen["today"]["prompt_tokens"], prompt, "{seen}");
    assert_eq!(seen["today"]["completion_tokens"], completion, "{seen}");
    let panics = cluster.panics();
    assert!(panics.is_empty(), "{panics:?}");
    cluster.finish().await;
}
