//! The limits engine (`gateway::limits`) against the real Redis on 6379, each
//! test under its own random key prefix (deleted at the end): two engines on
//! one Redis are two replicas. Shared RPM is exact, a refusal takes nothing
//! from the other scopes, concurrency leases are released and expire, budgets
//! reserve and settle exactly and never go negative, spend lost by Redis is
//! rebuilt from the event store, and with Redis unreachable each replica
//! falls back to limit / N.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail on any error"
)]

use std::sync::Arc;
use std::time::Duration;

use analytics::store::sqlite::SqliteStore;
use analytics::store::{EventStore, Store};
use analytics::UsageEvent;
use chrono::Utc;
use gateway::allowance::{Allowance, Scope};
use gateway::limits::{Ask, Figures, Limit, LimitMetrics, Limits, Refusal, Settings, Span, Ticket};
use pricing::Cost;
use redis::AsyncCommands;

const REDIS: &str = "redis://127.0.0.1:6379";

fn usd(text: &str) -> Cost {
    Cost::parse_usd(text).unwrap()
}

fn random() -> String {
    gateway::keys::mint().unwrap()[6..18].to_owned()
}

/// A fresh key prefix, and its keys deleted when dropped... by [`cleanup`].
struct Case {
    prefix: String,
    store: Arc<Store>,
}

impl Case {
    async fn new() -> Case {
        let sqlite = SqliteStore::open_in_memory().await.unwrap();
        sqlite.migrate().await.unwrap();
        Case {
            prefix: format!("test:lim:{}", random()),
            store: Arc::new(Store::Sqlite(sqlite)),
        }
    }

    fn engine(&self, url: Option<&str>, replicas: u32) -> (Limits, LimitMetrics) {
        let metrics = LimitMetrics::default();
        let settings = Settings {
            replicas,
            redis_prefix: self.prefix.clone(),
            redis_timeout: Duration::from_millis(500),
            ..Settings::default()
        };
        let limits = Limits::new(settings, url, self.store.clone(), metrics.clone()).unwrap();
        (limits, metrics)
    }

    async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(REDIS)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// The limits' keys of this case in Redis.
    async fn keys(&self) -> Vec<String> {
        let mut redis = self.redis().await;
        redis.keys(format!("{}:*", self.prefix)).await.unwrap()
    }

    async fn get(&self, key: &str) -> Option<i64> {
        let mut redis = self.redis().await;
        redis.get(format!("{}:{key}", self.prefix)).await.unwrap()
    }

    async fn cleanup(self) {
        let keys = self.keys().await;
        if !keys.is_empty() {
            let mut redis = self.redis().await;
            let _: () = redis.del(keys).await.unwrap();
        }
    }
}

fn scope_key(id: &str) -> Scope {
    Scope::Key(id.to_owned())
}

fn allowance(
    rpm: Option<u32>,
    tpm: Option<u64>,
    concurrent: Option<u32>,
    daily: Option<&str>,
) -> Arc<Allowance> {
    Arc::new(Allowance {
        rpm,
        tpm,
        max_concurrent: concurrent,
        daily_usd: daily.map(usd),
        monthly_usd: None,
    })
}

async fn admit(
    limits: &Limits,
    scopes: &[(Scope, Arc<Allowance>)],
    tokens: u64,
    reserve: Cost,
) -> Result<Ticket, Refusal> {
    limits
        .admit(Ask {
            tenant: "t",
            scopes,
            tokens,
            reserve,
        })
        .await
        .map(|ticket| ticket.expect("something is limited"))
}

fn day_key(scope: &Scope) -> String {
    format!("{}:spend:d:{}", scope.id(), Utc::now().format("%Y%m%d"))
}

#[tokio::test]
async fn two_replicas_share_one_rpm_exactly_where_local_limits_overshoot() {
    let case = Case::new().await;
    let scopes = [(scope_key("shared"), allowance(Some(10), None, None, None))];
    let (a, _) = case.engine(Some(REDIS), 2);
    let (b, _) = case.engine(Some(REDIS), 2);
    let mut admitted = 0;
    let mut refusal = None;
    for i in 0..30 {
        let engine = if i % 2 == 0 { &a } else { &b };
        match admit(engine, &scopes, 1, Cost::ZERO).await {
            Ok(_) => admitted += 1,
            Err(r) => refusal = Some(r),
        }
    }
    assert_eq!(admitted, 10, "one limit across both replicas");
    assert!(a.shared_now() && b.shared_now());
    let refusal = refusal.unwrap();
    assert_eq!((refusal.scope, refusal.limit), ("key", Limit::Rpm));
    // The next request fits after 6 s (60 s / 10), give or take the test's time.
    assert!(refusal.retry_after > Duration::from_secs(4), "{refusal:?}");
    assert!(refusal.retry_after <= Duration::from_secs(6), "{refusal:?}");

    // The same with local limits only: each replica allows the whole limit.
    let (a, _) = case.engine(None, 2);
    let (b, _) = case.engine(None, 2);
    let mut admitted = 0;
    for i in 0..30 {
        let engine = if i % 2 == 0 { &a } else { &b };
        admitted += usize::from(admit(engine, &scopes, 1, Cost::ZERO).await.is_ok());
    }
    assert_eq!(admitted, 20, "N-fold overshoot without Redis");
    case.cleanup().await;
}

#[tokio::test]
async fn a_refusal_by_one_scope_takes_nothing_from_the_others() {
    let case = Case::new().await;
    let (engine, metrics) = case.engine(Some(REDIS), 1);
    let key = (scope_key("k"), allowance(Some(3), Some(1_000), None, None));
    let tenant = (
        Scope::Tenant("t".into()),
        allowance(Some(2), None, None, None),
    );
    let both = [key.clone(), tenant];
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(admit(&engine, &both, 100, Cost::ZERO).await.unwrap());
    }
    let refusal = admit(&engine, &both, 100, Cost::ZERO).await.unwrap_err();
    assert_eq!((refusal.scope, refusal.limit), ("tenant", Limit::Rpm));
    assert_eq!(
        metrics
            .refused
            .get_or_create(&gateway::limits::RefusedLabels {
                scope: "tenant",
                limit: "rpm"
            })
            .get(),
        1
    );
    // The key took 2 requests, not 3: one more fits on it alone.
    let alone = [key];
    held.push(admit(&engine, &alone, 100, Cost::ZERO).await.unwrap());
    let refusal = admit(&engine, &alone, 100, Cost::ZERO).await.unwrap_err();
    assert_eq!((refusal.scope, refusal.limit), ("key", Limit::Rpm));
    // And 300 tokens of its TPM (3 x 100), not 400: 700 more fit, 701 do not.
    let tpm_only = [(scope_key("k"), allowance(None, Some(1_000), None, None))];
    let refusal = admit(&engine, &tpm_only, 701, Cost::ZERO)
        .await
        .unwrap_err();
    assert_eq!(refusal.limit, Limit::Tpm);
    held.push(admit(&engine, &tpm_only, 700, Cost::ZERO).await.unwrap());
    case.cleanup().await;
}

#[tokio::test]
async fn tpm_is_corrected_to_the_tokens_really_used() {
    let case = Case::new().await;
    let (engine, _) = case.engine(Some(REDIS), 1);
    let scopes = [(
        scope_key("tokens"),
        allowance(None, Some(1_000), None, None),
    )];
    let first = admit(&engine, &scopes, 900, Cost::ZERO).await.unwrap();
    assert_eq!(
        admit(&engine, &scopes, 200, Cost::ZERO)
            .await
            .unwrap_err()
            .limit,
        Limit::Tpm
    );
    // It used 100 tokens, not 900: 800 come back.
    first.settle(None, 100);
    engine.drain(Duration::from_secs(2)).await;
    let second = admit(&engine, &scopes, 850, Cost::ZERO).await.unwrap();
    let headroom = second.headroom().tokens.unwrap();
    assert_eq!(headroom.limit, 1_000);
    assert!(headroom.remaining <= 60, "{headroom:?}");
    // Used more than estimated: the overrun counts against what follows.
    second.settle(None, 1_000);
    engine.drain(Duration::from_secs(2)).await;
    assert_eq!(
        admit(&engine, &scopes, 1, Cost::ZERO)
            .await
            .unwrap_err()
            .limit,
        Limit::Tpm
    );
    case.cleanup().await;
}

#[tokio::test]
async fn concurrency_leases_are_released_and_expire() {
    let case = Case::new().await;
    let (a, _) = case.engine(Some(REDIS), 1);
    let (b, _) = case.engine(Some(REDIS), 1);
    let scope = scope_key("busy");
    let scopes = [(scope.clone(), allowance(None, None, Some(2), None))];
    let first = admit(&a, &scopes, 1, Cost::ZERO).await.unwrap();
    let second = admit(&b, &scopes, 1, Cost::ZERO).await.unwrap();
    let refusal = admit(&a, &scopes, 1, Cost::ZERO).await.unwrap_err();
    assert_eq!(refusal.limit, Limit::Concurrency);
    assert_eq!(refusal.retry_after, Duration::from_secs(1));
    // A request that ends gives its lease back (the ticket dropped unsettled
    // is a cancelled request; settled is a finished one).
    drop(first);
    a.drain(Duration::from_secs(2)).await;
    let third = admit(&b, &scopes, 1, Cost::ZERO).await.unwrap();
    assert!(admit(&a, &scopes, 1, Cost::ZERO).await.is_err());
    second.settle(None, 1);
    third.settle(None, 1);
    b.drain(Duration::from_secs(2)).await;
    let conc = format!("{}:{}:conc", case.prefix, scope.id());
    let mut redis = case.redis().await;
    let held: u64 = redis.zcard(&conc).await.unwrap();
    assert_eq!(held, 0);
    // Leases of a replica that died: held until they expire, then purged.
    let now_us = Utc::now().timestamp_micros();
    let _: () = redis
        .zadd_multiple(
            &conc,
            &[
                (now_us + 600_000_000, "dead-1"),
                (now_us + 600_000_000, "dead-2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        admit(&a, &scopes, 1, Cost::ZERO).await.unwrap_err().limit,
        Limit::Concurrency
    );
    let _: () = redis
        .zadd_multiple(&conc, &[(now_us - 1, "dead-1"), (now_us - 1, "dead-2")])
        .await
        .unwrap();
    let revived = admit(&a, &scopes, 1, Cost::ZERO).await.unwrap();
    let held: u64 = redis.zcard(&conc).await.unwrap();
    assert_eq!(held, 1, "the expired leases were purged");
    drop(revived);
    a.drain(Duration::from_secs(2)).await;
    case.cleanup().await;
}

#[tokio::test]
async fn budgets_reserve_settle_and_release_exactly_and_never_go_negative() {
    let case = Case::new().await;
    let (engine, _) = case.engine(Some(REDIS), 1);
    let scope = Scope::Team {
        tenant: "t".into(),
        team: "web".into(),
    };
    let scopes = [(scope.clone(), allowance(None, None, None, Some("1.00")))];
    let spend_key = day_key(&scope);
    let a = admit(&engine, &scopes, 1, usd("0.3")).await.unwrap();
    let b = admit(&engine, &scopes, 1, usd("0.3")).await.unwrap();
    let c = admit(&engine, &scopes, 1, usd("0.3")).await.unwrap();
    assert_eq!(
        case.get(&spend_key).await,
        Some(900_000_000),
        "nano-USD reserved"
    );
    let refusal = admit(&engine, &scopes, 1, usd("0.3")).await.unwrap_err();
    assert_eq!(
        (refusal.scope, refusal.limit),
        ("team", Limit::Budget(Span::Day))
    );
    let Figures::Budget {
        limit,
        remaining,
        asked,
        reset_at,
    } = refusal.figures
    else {
        panic!("{refusal:?}")
    };
    assert_eq!(
        (limit, remaining, asked),
        (usd("1"), usd("0.1"), usd("0.3"))
    );
    assert!(reset_at > Utc::now() && reset_at <= Utc::now() + chrono::Duration::days(1));
    // Settled to its exact cost (rounded up to the nano-USD).
    a.settle(Some(Cost(100_000_000_001)), 10);
    engine.drain(Duration::from_secs(2)).await;
    assert_eq!(case.get(&spend_key).await, Some(700_000_001));
    let d = admit(&engine, &scopes, 1, usd("0.29")).await.unwrap();
    // Released (a failure, a disconnect): its whole reservation comes back.
    drop(b);
    engine.drain(Duration::from_secs(2)).await;
    assert_eq!(case.get(&spend_key).await, Some(690_000_001));
    // Spend someone reset to 0 by hand: a settlement stops at 0.
    let mut redis = case.redis().await;
    let _: () = redis
        .set(format!("{}:{spend_key}", case.prefix), 0)
        .await
        .unwrap();
    c.settle(Some(Cost::ZERO), 0);
    d.settle(Some(Cost::ZERO), 0);
    engine.drain(Duration::from_secs(2)).await;
    assert_eq!(case.get(&spend_key).await, Some(0));
    case.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_overspend_a_budget_under_concurrency() {
    let case = Case::new().await;
    let (a, _) = case.engine(Some(REDIS), 2);
    let (b, _) = case.engine(Some(REDIS), 2);
    let scopes = [(
        Scope::Tenant("t".into()),
        allowance(None, None, None, Some("1.00")),
    )];
    let tries = (0..100).map(|i| {
        let engine = if i % 2 == 0 { a.clone() } else { b.clone() };
        let scopes = scopes.clone();
        tokio::spawn(async move { admit(&engine, &scopes, 1, usd("0.07")).await })
    });
    let results = futures_util::future::join_all(tries).await;
    let tickets: Vec<Ticket> = results
        .into_iter()
        .filter_map(|r| r.unwrap().ok())
        .collect();
    assert_eq!(tickets.len(), 14, "floor(1.00 / 0.07) admitted");
    for ticket in &tickets {
        ticket.settle(Some(usd("0.07")), 1);
    }
    drop(tickets);
    a.drain(Duration::from_secs(5)).await;
    b.drain(Duration::from_secs(5)).await;
    let spend = case.get(&day_key(&Scope::Tenant("t".into()))).await;
    assert_eq!(spend, Some(980_000_000));
    case.cleanup().await;
}

fn event(tenant: &str, key: &str, cost: &str) -> UsageEvent {
    UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: Utc::now(),
        tenant_id: tenant.to_owned(),
        key_id: key.to_owned(),
        team: None,
        user_tag: None,
        endpoint: "chat_completions".to_owned(),
        requested_model: "m".to_owned(),
        routed_provider: Some("p".to_owned()),
        routed_model: Some("m".to_owned()),
        route_reason: "requested".to_owned(),
        attempts: 1,
        stream: false,
        status: 200,
        error_kind: None,
        prompt_tokens: 10,
        completion_tokens: 5,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        cost_usd: Some(usd(cost)),
        baseline_usd: Some(usd(cost)),
        price_version: None,
        baseline_price_version: None,
        latency_ms: 3,
        ttft_ms: None,
        upstream_ms: None,
        client_family: "curl".to_owned(),
        ingress_format: None,
        upstream_format: None,
    }
}

#[tokio::test]
async fn spend_is_rebuilt_from_the_store_when_redis_lost_it() {
    let case = Case::new().await;
    let key_id = format!("k-{}", random());
    // Spent today before this engine (or Redis) saw anything.
    case.store
        .write(&[
            event("t", &key_id, "0.5"),
            event("t", &key_id, "0.3"),
            event("other", &key_id, "9"),
        ])
        .await
        .unwrap();
    let (engine, metrics) = case.engine(Some(REDIS), 1);
    let scope = scope_key(&key_id);
    let scopes = [(scope.clone(), allowance(None, None, None, Some("1")))];
    let refusal = admit(&engine, &scopes, 1, usd("0.3")).await.unwrap_err();
    let Figures::Budget { remaining, .. } = refusal.figures else {
        panic!("{refusal:?}")
    };
    assert_eq!(remaining, usd("0.2"));
    let held = admit(&engine, &scopes, 1, usd("0.15")).await.unwrap();
    assert_eq!(case.get(&day_key(&scope)).await, Some(950_000_000));
    let rebuilds = metrics.rebuilds.get();
    assert!(rebuilds >= 1);
    // Redis loses the counter (a restart without persistence, a FLUSH).
    let mut redis = case.redis().await;
    let _: () = redis
        .del(format!("{}:{}", case.prefix, day_key(&scope)))
        .await
        .unwrap();
    case.store
        .write(&[event("t", &key_id, "0.05")])
        .await
        .unwrap();
    // Rebuilt from the store (0.85) before it is trusted again.
    let again = admit(&engine, &scopes, 1, usd("0.15")).await.unwrap();
    assert_eq!(case.get(&day_key(&scope)).await, Some(1_000_000_000));
    assert!(metrics.rebuilds.get() > rebuilds);
    assert!(admit(&engine, &scopes, 1, usd("0.000001")).await.is_err());
    drop((held, again));
    engine.drain(Duration::from_secs(2)).await;
    case.cleanup().await;
}

#[tokio::test]
async fn redis_unreachable_falls_back_to_the_replicas_share() {
    let case = Case::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{closed}");
    let (engine, metrics) = case.engine(Some(&url), 2);
    let scopes = [(
        scope_key("down"),
        allowance(Some(10), None, None, Some("1")),
    )];
    let mut admitted = 0;
    let mut held = Vec::new();
    for _ in 0..20 {
        if let Ok(ticket) = admit(&engine, &scopes, 1, usd("0.1")).await {
            admitted += 1;
            held.push(ticket);
        }
    }
    assert_eq!(admitted, 5, "rpm 10 over 2 replicas");
    assert!(!engine.shared_now());
    assert!(held.iter().all(Ticket::local));
    assert_eq!(metrics.redis_up.get(), 0);
    assert_eq!(metrics.fallback.get(), 20);
    // Budget: this replica's half of the $1 left: 5 x 0.1 fit.
    let budget_only = [(
        scope_key("down-budget"),
        allowance(None, None, None, Some("1")),
    )];
    let mut spent = 0;
    for _ in 0..10 {
        if let Ok(ticket) = admit(&engine, &budget_only, 1, usd("0.1")).await {
            spent += 1;
            held.push(ticket);
        }
    }
    assert_eq!(spent, 5);
    case.cleanup().await;
}

/// A redis-server of this test's own on a free port, without persistence.
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        let own = OwnRedis {
            child: std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--enable-debug-command",
                    "yes",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server runs"),
            port,
        };
        let url = format!("redis://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = redis::Client::open(url.as_str()) {
                if client.get_multiplexed_async_connection().await.is_ok() {
                    return own;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server did not start on {port}");
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_stopped_and_back_empty_falls_back_then_rebuilds_from_the_store() {
    let case = Case::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let redis = OwnRedis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}");
    let (engine, metrics) = case.engine(Some(&url), 2);
    let key_id = format!("k-{}", random());
    let scope = scope_key(&key_id);
    let scopes = [(scope.clone(), allowance(None, None, None, Some("1")))];
    let first = admit(&engine, &scopes, 1, usd("0.2")).await.unwrap();
    assert!(!first.local());
    // The request ends; its event reaches the store.
    first.settle(Some(usd("0.2")), 10);
    engine.drain(Duration::from_secs(2)).await;
    case.store
        .write(&[event("t", &key_id, "0.2")])
        .await
        .unwrap();

    let port = redis.stop();
    // Serving goes on, on this replica's share of what is left: (1 - 0.2) / 2.
    let mut local = Vec::new();
    for _ in 0..5 {
        if let Ok(ticket) = admit(&engine, &scopes, 1, usd("0.1")).await {
            assert!(ticket.local());
            local.push(ticket);
        }
    }
    assert_eq!(local.len(), 4);
    assert_eq!(metrics.redis_up.get(), 0);
    assert!(!engine.shared_now());
    // Three end while Redis is down (their events reach the store); one is
    // still running when it comes back.
    let still_running = local.pop().unwrap();
    for ticket in local {
        ticket.settle(Some(usd("0.1")), 10);
        case.store
            .write(&[event("t", &key_id, "0.1")])
            .await
            .unwrap();
    }

    // Back, empty. After the backoff the engine uses it again, rebuilding
    // the spend from the store (0.2 + 3 x 0.1) before trusting it.
    let _redis = OwnRedis::start(port).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = admit(&engine, &scopes, 1, usd("0.4")).await.unwrap();
    assert!(!again.local() && engine.shared_now());
    assert_eq!(metrics.redis_up.get(), 1);
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let spend_key = format!("{}:{}", case.prefix, day_key(&scope));
    let spent: i64 = connection.get(&spend_key).await.unwrap();
    assert_eq!(
        spent, 900_000_000,
        "0.5 rebuilt from the store + 0.4 reserved"
    );
    // The request admitted alone ends now: its cost joins the shared count
    // (its event reaches the store after the rebuild).
    still_running.settle(Some(usd("0.1")), 10);
    engine.drain(Duration::from_secs(2)).await;
    let spent: i64 = connection.get(&spend_key).await.unwrap();
    assert_eq!(spent, 1_000_000_000);
    assert!(admit(&engine, &scopes, 1, usd("0.01")).await.is_err());
    drop(again);
    engine.drain(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_admission_gives_back_what_it_took() {
    let case = Case::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let _redis = OwnRedis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}");
    let settings = Settings {
        replicas: 1,
        redis_prefix: case.prefix.clone(),
        redis_timeout: Duration::from_millis(50),
        ..Settings::default()
    };
    let engine = Limits::new(
        settings,
        Some(&url),
        case.store.clone(),
        LimitMetrics::default(),
    )
    .unwrap();
    let scope = scope_key("stalled");
    let scopes = [(
        scope.clone(),
        allowance(None, Some(1_000), Some(5), Some("1")),
    )];
    let warm = admit(&engine, &scopes, 10, usd("0.1")).await.unwrap();
    assert!(!warm.local());
    warm.settle(Some(usd("0.1")), 10);
    engine.drain(Duration::from_secs(2)).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut side = client.get_multiplexed_async_connection().await.unwrap();
    let spend_key = format!("{}:{}", case.prefix, day_key(&scope));
    let spent: i64 = side.get(&spend_key).await.unwrap();
    assert_eq!(spent, 100_000_000);

    // Redis stalls for 300 ms: the admission gets no answer in 50 ms and is
    // decided locally, while its script waits in Redis and runs later.
    let mut stalling = client.get_multiplexed_async_connection().await.unwrap();
    let stall = tokio::spawn(async move {
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.3")
            .query_async(&mut stalling)
            .await
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let slow = admit(&engine, &scopes, 10, usd("0.2")).await.unwrap();
    assert!(slow.local());
    drop(slow);
    stall.await.unwrap();
    engine.drain(Duration::from_secs(3)).await;
    // What the late script took was given back after it.
    let spent: i64 = side.get(&spend_key).await.unwrap();
    assert_eq!(spent, 100_000_000);
    let leases: u64 = side
        .zcard(format!("{}:{}:conc", case.prefix, scope.id()))
        .await
        .unwrap();
    assert_eq!(leases, 0);
    let admissions: Vec<String> = side.keys(format!("{}:lease:*", case.prefix)).await.unwrap();
    assert!(admissions.is_empty(), "{admissions:?}");
}
