//! History for the dashboard: synthetic requests for the past `--days` days,
//! routed by the real routing decision, priced by the real billing code, and
//! turned into the same usage events the request path records. Past days are
//! written straight to the store and rolled up; today's events so far go through
//! the live pipeline (store and real-time counters), like real requests.
//!
//! Failover is simulated here, not performed: in a "bad hour" of the flaky
//! provider its first attempts fail and the next candidate serves.

use std::collections::HashMap;
use std::sync::Arc;

use analytics::event::UsageEvent;
use analytics::store::{EventStore, StoreError};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};

use super::random::Rng;
use super::setup::MintedKeys;
use super::synth::Synthetic;
use super::workload::PROVIDERS;
use crate::keys::ApiKey;
use crate::proxy::billing_for;
use crate::routing::{decide, Health};
use crate::server::RunningGateway;
use crate::state::Snapshot;
use crate::usage_event::{fold, Ending, Outcome};
use analytics::event::UserTagKey;

/// Requests per weekday across all tenants at the end of the history; earlier
/// days ramp up from 55% of it (adoption grows), weekends see a third.
const REQUESTS_PER_DAY: f64 = 10_000.0;
/// Events per store write.
const BATCH: usize = 4_000;
/// Share of hours in which the flaky provider has an outage.
const BAD_HOUR_SHARE: f64 = 0.05;

/// Share of a weekday's requests in each UTC hour (business hours across
/// Europe and the Americas).
const HOURLY: [u32; 24] = [
    2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 11, 12, 12, 11, 9, 7, 5, 4, 3, 3, 2,
];

/// Routing health as it was: every provider up, latency as configured.
struct SimulatedHealth<'a> {
    snapshot: &'a Snapshot,
}

impl Health for SimulatedHealth<'_> {
    fn available(&self, _provider: usize) -> bool {
        true
    }

    fn latency_us(&self, deployment: usize) -> u64 {
        let provider = self.snapshot.table.get(deployment).provider;
        PROVIDERS.get(provider).map_or(0, |p| p.delay_ms * 1000)
    }
}

/// Fills `from..to` with history. Returns how many events it made.
pub async fn run(
    gateway: &RunningGateway,
    keys: &MintedKeys,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<u64, StoreError> {
    let snapshot = gateway.state.snapshot();
    let live = gateway.state.keys();
    let api_keys: HashMap<&str, Arc<ApiKey>> = keys
        .0
        .iter()
        .filter_map(|(id, plain)| Some((*id, live.find(plain)?.clone())))
        .collect();
    let today = to.date_naive();
    let first = from.date_naive();
    let span = (today - first).num_days().max(0);
    let weights: Vec<(usize, u32)> = HOURLY.iter().copied().enumerate().collect();
    let mut filled = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for offset in 0..=span {
        let day = first + Duration::days(offset);
        let ramp = 1.0 - 0.45 * ((span - offset) as f64 / span.max(1) as f64);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let volume = REQUESTS_PER_DAY * ramp * if weekend { 0.33 } else { 1.0 } * rng.jitter(0.12);
        let day_start = Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN));
        let bad_hours: Vec<bool> = (0..24).map(|_| rng.chance(BAD_HOUR_SHARE)).collect();
        for _ in 0..volume.round() as u64 {
            let hour = rng.weighted(&weights);
            let at = day_start
                + Duration::hours(hour as i64)
                + Duration::milliseconds(rng.between(0, 3_599_999) as i64);
            if at < from || at >= to {
                continue;
            }
            let synthetic = Synthetic::draw(rng);
            let Some(key) = api_keys.get(synthetic.profile.key) else {
                continue;
            };
            let user_tags = &gateway.state.user_tags;
            let Some(event) = event(
                &snapshot,
                user_tags,
                key,
                &synthetic,
                at,
                bad_hours[hour],
                rng,
            ) else {
                continue;
            };
            filled += 1;
            if day == today {
                // Today's requests so far: through the pipeline, into the counters too.
                gateway.state.events.emit(event);
            } else {
                batch.push(event);
                if batch.len() >= BATCH {
                    gateway.store.write(&batch).await?;
                    batch.clear();
                }
            }
        }
    }
    if !batch.is_empty() {
        gateway.store.write(&batch).await?;
    }
    gateway.store.rollup(from.date_naive(), today).await?;
    Ok(filled)
}

/// One past request as the request path would have recorded it.
fn event(
    snapshot: &Snapshot,
    user_tags: &UserTagKey,
    key: &ApiKey,
    synthetic: &Synthetic,
    at: DateTime<Utc>,
    bad_hour: bool,
    rng: &mut Rng,
) -> Option<UsageEvent> {
    let requirements = synthetic.requirements();
    let health = SimulatedHealth { snapshot };
    let decision = decide(
        synthetic.model,
        &requirements,
        &snapshot.table,
        &key.policy,
        &health,
        crate::clock::today(),
    )
    .ok()?;
    let endpoint = if synthetic.profile.embeddings {
        "embeddings"
    } else {
        "chat_completions"
    };
    let client = analytics::event::client_family(Some(synthetic.profile.user_agent));
    let mut outcome = Outcome {
        requested_model: Some(synthetic.model.to_owned()),
        stream: synthetic.stream,
        user_tag: Some(user_tags.tag(&format!("dev{}", rng.between(1, 40)))),
        ..Outcome::default()
    };

    // Which attempt serves: the flaky provider's first attempts fail in its bad hours.
    let max = snapshot.routing.max_attempts;
    let mut served = None;
    let mut tried = 0u16;
    for &index in decision.attempts.iter().take(max) {
        tried += 1;
        let deployment = snapshot.table.get(index);
        let flaky = PROVIDERS.get(deployment.provider).is_some_and(|p| p.flaky);
        let fails = (flaky && bad_hour && rng.chance(0.8)) || rng.chance(0.002);
        if !fails {
            served = Some(index);
            break;
        }
    }
    let last = decision
        .attempts
        .get(usize::from(tried.max(1)) - 1)
        .copied()?;
    let deployment = snapshot.table.get(served.unwrap_or(last));
    let provider = PROVIDERS.get(deployment.provider)?;
    let ttft = (provider.delay_ms as f64 * rng.jitter(0.35)
        + synthetic.prompt_tokens as f64 * 0.012)
        .max(20.0);
    let generation = synthetic.completion_tokens as f64
        * (provider.chunk_delay_ms as f64 + 4.0)
        * rng.jitter(0.3);
    let failover_wait = f64::from(tried.saturating_sub(1)) * 180.0;
    let upstream = if synthetic.stream {
        ttft
    } else {
        ttft + generation
    };
    let total = failover_wait + ttft + generation + rng.between(1, 4) as f64;
    outcome.routed_provider = Some(deployment.labels.provider.clone());
    outcome.routed_model = Some(deployment.labels.model.clone());
    outcome.reason = Some(decision.reason.as_str());
    outcome.attempts = tried;
    outcome.ingress_format = Some("openai_chat");
    outcome.upstream_format = Some("openai_chat");
    outcome.upstream_ms = Some(upstream as u32);
    if synthetic.stream && served.is_some() {
        outcome.ttft_ms = Some((failover_wait + ttft) as u32);
    }
    let latency = std::time::Duration::from_millis(total as u64);
    let ending = |status| Ending {
        key,
        endpoint,
        client_family: client,
        at,
        status,
        error_kind: None,
        latency,
    };
    if served.is_none() {
        outcome.error_kind = Some("upstream_status");
        return Some(fold(ending(503), outcome));
    }
    let as_requested = snapshot
        .table
        .named(synthetic.model)
        .contains(&deployment.index);
    let billing = billing_for(snapshot, &decision).serving(deployment, as_requested);
    let usage = pricing::TokenUsage {
        prompt_tokens: synthetic.prompt_tokens,
        completion_tokens: synthetic.completion_tokens,
        ..pricing::TokenUsage::default()
    };
    let bill = billing.bill(usage, false);
    outcome.bill = Some(bill);
    Some(fold(ending(200), outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hour_has_a_share() {
        assert!(HOURLY.iter().all(|&share| share > 0));
    }
}
