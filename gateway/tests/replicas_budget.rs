//! A budget holds across replicas: two `gateway` processes sharing one Redis
//! spend a key's $1.00 daily budget once between them, with 500 requests in
//! flight together, a tenth of them failing upstream, a tenth cut by the
//! provider mid-stream and a tenth abandoned by their client mid-stream. What
//! the store finally holds (the sum of `cost_usd`) is at most the budget plus
//! one request per replica; the spend Redis holds (settled spend plus open
//! reservations) never passes the budget by more than that while the requests
//! run, and once they are all answered equals the store's: no reservation is
//! left behind by a failure, a disconnect or a cut.

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

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pricing::Cost;
use replicas::{by_status, Cluster, Kind, OwnRedis, Setup};

const REPLICAS: usize = 2;
const NANO: i128 = 1_000;

/// The kind of request `i` of the concurrent burst.
fn kind(i: usize) -> Kind {
    match i % 10 {
        7 => Kind::UpstreamFails,
        8 => Kind::UpstreamCuts,
        9 => Kind::Disconnect,
        _ => Kind::Plain,
    }
}

/// Pico-USD rounded up to nano-USD (what Redis counts in).
fn nano_up(cost: Cost) -> i128 {
    (cost.0 + NANO - 1).div_euclid(NANO)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_is_spent_once_across_two_replicas_and_no_reservation_leaks() {
    let budget = Cost::parse_usd("1.00").unwrap();
    let redis = OwnRedis::start().await;
    let prefix = format!(
        "gwtest{}",
        &gateway::keys::mint().unwrap()[6..14].to_ascii_lowercase()
    );
    let cluster = Cluster::start(Setup {
        replicas: REPLICAS,
        redis: Some(redis.url()),
        key_fields: "budget_daily_usd = \"1.00\"\n",
        // A generous round-trip timeout: this test proves the shared path (no
        // admission may fall back to local limits, asserted below).
        extra: &format!(
            "[limits]\nreplicas = {REPLICAS}\nredis_timeout_ms = 2000\nredis_prefix = \"{prefix}\"\n"
        ),
    })
    .await;

    // Watch the spend Redis holds while the requests run.
    let pattern = format!("{prefix}:*spend:d:*");
    let highest = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (highest, done) = (Arc::clone(&highest), Arc::clone(&done));
        let mut connection = redis.connection().await;
        let pattern = pattern.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let names: Vec<String> = redis::cmd("KEYS")
                    .arg(&pattern)
                    .query_async(&mut connection)
                    .await
                    .unwrap_or_default();
                for name in names {
                    let value: Option<i64> = redis::cmd("GET")
                        .arg(&name)
                        .query_async(&mut connection)
                        .await
                        .unwrap_or(None);
                    highest.fetch_max(value.unwrap_or(0), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // 500 at once (100 in flight), both replicas, every way a request can end.
    let burst = cluster.fire(500, 100, |i| (i % REPLICAS, kind(i))).await;
    // Then one at a time until the budget refuses even a lone request, so the
    // budget is spent as far as it can be.
    let mut tail = Vec::new();
    let mut refusals_in_a_row = 0;
    while refusals_in_a_row < 4 && tail.len() < 400 {
        let outcome = cluster.send(tail.len() % REPLICAS, Kind::Plain).await;
        if outcome.status == 429 {
            refusals_in_a_row += 1;
            // Settling is done after the answer: let the last one land.
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else {
            refusals_in_a_row = 0;
        }
        tail.push(outcome);
    }
    let sent = (burst.len() + tail.len()) as i64;
    for replica in 0..REPLICAS {
        let fallbacks = cluster
            .metric(replica, "gateway_limits_fallback_total")
            .await
            .unwrap_or(0.0);
        assert_eq!(
            fallbacks, 0.0,
            "replica {replica}: Redis answered every admission"
        );
    }
    let all: Vec<_> = burst.iter().chain(&tail).collect();
    eprintln!(
        "burst of 500: {:?}; then {} one at a time: {:?}",
        by_status(&burst),
        tail.len(),
        by_status(&tail)
    );

    // Refusals: 429 budget_exceeded, OpenAI's shape, the remaining budget never negative.
    let mut refused = 0;
    for outcome in all.iter().filter(|o| o.status == 429) {
        refused += 1;
        let body = outcome.json();
        let error = common::assert_openai_error(&body);
        assert_eq!(error["code"], "budget_exceeded", "{body}");
        assert_eq!(error["type"], "insufficient_quota", "{body}");
        assert_eq!(outcome.header("x-gateway-limit"), Some("budget_daily"));
        assert_eq!(outcome.header("x-gateway-budget-period"), Some("day"));
        assert!(outcome.header("x-gateway-budget-reset").is_some());
        let limit = Cost::parse_usd(outcome.header("x-gateway-budget-limit-usd").unwrap()).unwrap();
        assert_eq!(limit, budget);
        let remaining = outcome.header("x-gateway-budget-remaining-usd").unwrap();
        let remaining = Cost::parse_usd(remaining).unwrap_or_else(|_| {
            panic!("remaining budget {remaining:?} is not a non-negative amount")
        });
        assert!(remaining <= budget);
    }
    assert!(refused > 0, "the budget never refused");
    // Everything else is the answer its kind calls for: no 5xx but the
    // provider's own failures, nothing unanswered.
    for outcome in all.iter().filter(|o| o.status != 429) {
        let expected_ok = outcome.send != Kind::UpstreamFails;
        assert_eq!(
            outcome.status == 200,
            expected_ok,
            "{:?} answered {}: {}",
            outcome.send,
            outcome.status,
            outcome.body
        );
    }

    // Every request left its event (refused ones too); the store is the truth.
    let stored = cluster.wait_for_events(sent, Duration::from_secs(30)).await;
    assert_eq!(stored, sent, "events in the store");
    let events = cluster.store_events().await;
    let spend: Cost = events.iter().map(|e| e.cost).sum();
    let largest = events.iter().map(|e| e.cost).max().unwrap();
    let bound = budget + Cost(largest.0 * REPLICAS as i128);
    let by_kind = |error_kind: Option<&str>| {
        events
            .iter()
            .filter(|e| e.error_kind.as_deref() == error_kind)
            .count()
    };
    eprintln!(
        "settled spend in the store {} of a {} budget (bound {}, largest request {}); \
         events: {} served, {} budget_exceeded, {} others",
        spend.usd(),
        budget.usd(),
        bound.usd(),
        largest.usd(),
        by_kind(None),
        by_kind(Some("budget_exceeded")),
        events.len() - by_kind(None) - by_kind(Some("budget_exceeded")),
    );
    assert!(spend <= bound, "spent {} > {}", spend.usd(), bound.usd());
    // One reservation is at most (a prompt of ~200 tokens at $100/M) + (60
    // tokens at $500/M) = $0.05: a lone request refused leaves less than that.
    assert!(
        spend >= budget - Cost::parse_usd("0.05").unwrap(),
        "only {} of the budget was spent: the budget refuses too early",
        spend.usd()
    );
    assert_eq!(by_kind(Some("budget_exceeded")), refused);

    // Redis: never more than the bound while running; nothing reserved now.
    done.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    let highest = i128::from(highest.load(Ordering::Relaxed));
    eprintln!(
        "highest spend + reservations seen in Redis: {highest} nano-USD (budget {})",
        nano_up(budget)
    );
    assert!(highest > 0, "no spend key matching {pattern} was seen");
    assert!(highest <= nano_up(bound), "{highest} > {}", nano_up(bound));
    let keys = redis.integers(&pattern).await;
    assert_eq!(keys.len(), 1, "one daily spend key (the key's): {keys:?}");
    let held = i128::from(keys[0].1);
    // Each settled request is counted rounded up to a nano-USD: at most one
    // nano-USD per event above the exact sum, never below it.
    let exact = nano_up(spend);
    eprintln!("Redis holds {held} nano-USD after everything settled; the store {exact}");
    assert!(
        held >= exact && held < exact + events.len() as i128,
        "Redis holds {held} nano-USD, the store's spend is {exact}: a reservation leaked or was lost"
    );
    let last = tail.last().unwrap();
    let remaining =
        Cost::parse_usd(last.header("x-gateway-budget-remaining-usd").unwrap()).unwrap();
    let cent = Cost::parse_usd("0.01").unwrap();
    assert!(
        remaining <= budget - spend + cent,
        "the last refusal says {} remain, the store says {}",
        remaining.usd(),
        (budget - spend).usd()
    );
    assert!(cluster.panics().is_empty(), "{}", cluster.logs());
    cluster.finish().await;
}
