//! Synthetic usage events with realistic values: a few tenants of different sizes,
//! twenty keys each (a key belongs to one team), a catalog of chat and embedding
//! models with their list prices, routing (as requested, cheaper equivalent, virtual,
//! shadow, refused), errors, streams, cached and reasoning tokens, and costs computed
//! exactly from prices. Deterministic for a seed. Only the values are invented: the
//! events are `analytics::UsageEvent`s, written through the real store.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pricing::Price;
use uuid::{Builder, Uuid};

use ::analytics::UsageEvent;

/// Tenants and their share of the traffic (percent).
pub const TENANTS: [(&str, u32); 5] = [
    ("acme", 40),
    ("globex", 25),
    ("initech", 15),
    ("umbrella", 12),
    ("hooli", 8),
];
const KEYS_PER_TENANT: u32 = 20;
const TEAMS: [&str; 5] = ["platform", "search", "support", "data", "growth"];
const PRICES_DATE: &str = "2026-11-01";

/// A model of the catalog: id, provider, USD per million input / output tokens (as
/// micro-USD), and the cheaper equivalent routing may pick.
struct Model {
    id: &'static str,
    provider: &'static str,
    input: u64,
    output: u64,
    cheaper: Option<usize>,
}

const MODELS: [Model; 11] = [
    model("gpt-4o", "openai", 2_500_000, 10_000_000, Some(1)),
    model("gpt-4o-mini", "openai", 150_000, 600_000, None),
    model(
        "claude-3-5-sonnet-20241022",
        "anthropic",
        3_000_000,
        15_000_000,
        Some(3),
    ),
    model(
        "claude-3-5-haiku-20241022",
        "anthropic",
        800_000,
        4_000_000,
        None,
    ),
    model("gemini-1.5-pro", "google", 1_250_000, 5_000_000, Some(5)),
    model("gemini-1.5-flash", "google", 75_000, 300_000, None),
    model("llama-3.1-70b-instruct", "together", 880_000, 880_000, None),
    model(
        "mistral-large-latest",
        "mistral",
        2_000_000,
        6_000_000,
        Some(8),
    ),
    model("mistral-small-latest", "mistral", 200_000, 600_000, None),
    model("o1-mini", "openai", 3_000_000, 12_000_000, None),
    model("text-embedding-3-small", "openai", 20_000, 0, None),
];
const EMBEDDING_MODEL: usize = 10;
const REASONING_MODEL: usize = 9;
/// Chat models requested, with weights.
const REQUESTED: [(usize, u32); 10] = [
    (0, 22),
    (1, 20),
    (2, 18),
    (3, 8),
    (4, 6),
    (5, 8),
    (6, 5),
    (7, 5),
    (8, 3),
    (9, 5),
];
/// The virtual model `fast` routes to one of these.
const VIRTUAL_TARGETS: [usize; 2] = [1, 5];
const CLIENTS: [(&str, u32); 9] = [
    ("openai-python", 45),
    ("openai-node", 20),
    ("langchain", 8),
    ("litellm", 7),
    ("cursor", 6),
    ("continue", 4),
    ("curl", 3),
    ("python-requests", 3),
    ("other", 4),
];

const fn model(
    id: &'static str,
    provider: &'static str,
    input: u64,
    output: u64,
    cheaper: Option<usize>,
) -> Model {
    Model {
        id,
        provider,
        input,
        output,
        cheaper,
    }
}

/// A deterministic event generator.
pub struct Synth {
    rng: fastrand::Rng,
}

impl Synth {
    pub fn new(seed: u64) -> Synth {
        Synth {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// `count` events at uniformly random times over `days` days from `first`, in
    /// random order (so every batch touches every day's partition).
    pub fn spread(&mut self, count: usize, first: NaiveDate, days: u32) -> Vec<UsageEvent> {
        let start = midnight(first);
        let span = i64::from(days) * 86_400_000_000;
        (0..count)
            .map(|_| {
                let at = start + Duration::microseconds(self.rng.i64(0..span));
                self.event(at)
            })
            .collect()
    }

    /// `count` events of one day, in time order (as a live gateway produces them).
    pub fn day(&mut self, day: NaiveDate, count: usize) -> Vec<UsageEvent> {
        let start = midnight(day);
        let step = 86_400_000_000 / i64::try_from(count.max(1)).unwrap_or(i64::MAX);
        (0..count)
            .map(|i| {
                let offset = i64::try_from(i).unwrap_or(0) * step + self.rng.i64(0..step.max(1));
                self.event(start + Duration::microseconds(offset))
            })
            .collect()
    }

    /// One event at `at`.
    pub fn event(&mut self, at: DateTime<Utc>) -> UsageEvent {
        let rng = &mut self.rng;
        let tenant = pick(rng, &TENANTS);
        let key = rng.u32(0..KEYS_PER_TENANT);
        let team = TEAMS[key as usize % TEAMS.len()];
        let embeddings = rng.u32(0..100) < 8;
        let roll = rng.u32(0..100);

        let (requested, routed, reason) = if embeddings {
            (
                MODELS[EMBEDDING_MODEL].id,
                Some(EMBEDDING_MODEL),
                "requested",
            )
        } else if roll < 2 {
            let wanted = pick(rng, &REQUESTED);
            (MODELS[wanted].id, None, "none")
        } else if roll < 7 {
            let target = VIRTUAL_TARGETS[rng.usize(0..VIRTUAL_TARGETS.len())];
            ("fast", Some(target), "virtual")
        } else {
            let wanted = pick(rng, &REQUESTED);
            match MODELS[wanted].cheaper {
                Some(cheaper) if roll < 50 => {
                    (MODELS[wanted].id, Some(cheaper), "cheaper_equivalent")
                }
                _ if roll < 53 => (MODELS[wanted].id, Some(wanted), "shadow"),
                _ => (MODELS[wanted].id, Some(wanted), "requested"),
            }
        };
        // The baseline is the requested model's list price (the virtual model's is
        // its most expensive target's).
        let baseline_model = MODELS
            .iter()
            .position(|m| m.id == requested)
            .unwrap_or(VIRTUAL_TARGETS[0]);

        let status_roll = rng.u32(0..1000);
        let (status, error_kind) = match (routed, status_roll) {
            (None, _) => {
                if status_roll < 700 {
                    (429, Some("rate_limited"))
                } else {
                    (400, Some("invalid_request"))
                }
            }
            (Some(_), 0..=14) => (429, Some("upstream_rate_limited")),
            (Some(_), 15..=24) => (502, Some("upstream_status")),
            (Some(_), 25..=29) => (499, Some("client_cancelled")),
            _ => (200, None),
        };
        let served = routed.is_some() && status == 200;
        let stream = !embeddings && rng.u32(0..100) < 40;
        let error_kind = if served && stream && rng.u32(0..1000) < 3 {
            Some("stream_cut")
        } else {
            error_kind
        };

        let prompt_tokens = if routed.is_none() {
            0
        } else {
            match rng.u32(0..100) {
                0..=59 => rng.u64(200..2_000),
                60..=89 => rng.u64(2_000..8_000),
                _ => rng.u64(8_000..60_000),
            }
        };
        let completion_tokens = if served && !embeddings {
            rng.u64(20..1_500)
        } else {
            0
        };
        let cached_tokens = if served && rng.u32(0..100) < 25 {
            prompt_tokens * rng.u64(0..80) / 100
        } else {
            0
        };
        let cache_write_tokens = match routed {
            Some(m) if served && MODELS[m].provider == "anthropic" && rng.u32(0..100) < 5 => {
                prompt_tokens / 2
            }
            _ => 0,
        };
        let reasoning_tokens = if served && routed == Some(REASONING_MODEL) {
            rng.u64(100..3_000)
        } else {
            0
        };
        let usage_estimated = served && rng.u32(0..100) < 3;

        let priced = |m: usize| {
            let model = &MODELS[m];
            Price(model.input).cost(prompt_tokens - cached_tokens / 2)
                + Price(model.output).cost(completion_tokens + reasoning_tokens)
        };
        let (cost, baseline) = match routed {
            Some(m) if served => (priced(m), priced(baseline_model)),
            _ => (pricing::Cost::ZERO, pricing::Cost::ZERO),
        };
        let version = |m: usize| format!("{}/{}@{PRICES_DATE}", MODELS[m].provider, MODELS[m].id);

        let latency_ms = if routed.is_none() {
            rng.u32(1..5)
        } else if embeddings {
            rng.u32(40..400)
        } else {
            rng.u32(300..4_000) + u32::try_from(completion_tokens * 8).unwrap_or(u32::MAX)
        };
        let ttft_ms = (stream && served).then(|| rng.u32(150..1_500).min(latency_ms));
        let upstream_ms = routed.map(|_| latency_ms.saturating_sub(rng.u32(2..15)));
        let user_tag = (rng.u32(0..100) < 70).then(|| {
            let user = rng.u32(0..500);
            format!(
                "{:016x}",
                u64::from(user).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1
            )
        });
        let mut random = [0u8; 10];
        rng.fill(&mut random);

        UsageEvent {
            event_id: v7(at, &random),
            occurred_at: at,
            tenant_id: tenant.to_owned(),
            key_id: format!("key_{tenant}_{key:02}"),
            // Keys 0-2 belong to no team.
            team: (key >= 3).then(|| team.to_owned()),
            user_tag,
            endpoint: if embeddings {
                "embeddings"
            } else {
                "chat_completions"
            }
            .to_owned(),
            requested_model: requested.to_owned(),
            routed_provider: routed.map(|m| MODELS[m].provider.to_owned()),
            routed_model: routed.map(|m| MODELS[m].id.to_owned()),
            route_reason: reason.to_owned(),
            attempts: match rng.u32(0..100) {
                0..=94 => 1,
                95..=98 => 2,
                _ => 3,
            },
            stream,
            status,
            error_kind: error_kind.map(str::to_owned),
            prompt_tokens,
            completion_tokens,
            cached_tokens,
            cache_write_tokens,
            reasoning_tokens,
            usage_estimated,
            cost_usd: Some(cost),
            baseline_usd: Some(baseline),
            price_version: routed.filter(|_| served).map(version),
            baseline_price_version: routed.filter(|_| served).map(|_| version(baseline_model)),
            latency_ms,
            ttft_ms,
            upstream_ms,
            client_family: pick(rng, &CLIENTS).to_owned(),
            ingress_format: Some("openai_chat".to_owned()),
            upstream_format: Some("openai_chat".to_owned()),
        }
    }
}

/// A weighted pick.
fn pick<T: Copy>(rng: &mut fastrand::Rng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut roll = rng.u32(0..total.max(1));
    for (value, weight) in choices {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    choices[0].0
}

/// A UUIDv7 for `at`, as the gateway makes one when the request ends.
fn v7(at: DateTime<Utc>, random: &[u8; 10]) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Builder::from_unix_timestamp_millis(millis, random).into_uuid()
}

pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}
