//! The routing decision: a pure function from (requested model, requirements,
//! routing table, policy, health, day) to an ordered list of deployments to try.
//!
//! Candidates are the requested model's deployments (strict), or every priced
//! model of its tier or better (equivalent), or of a virtual name's tier. They
//! are filtered by what the request needs (capabilities, context window, output
//! limit), the caller's allow/deny lists and provider health, then ordered by
//! expected cost for this request's size, ties broken by observed latency and
//! finally by table order, so the same inputs always give the same order.

use pricing::{Capabilities, Cost, Date, Rate};

use super::health::Health;
use super::requirements::Requirements;
use super::table::{Deployment, RoutingTable};
use super::virtual_models::virtual_model;
use crate::config::Endpoint;
use crate::config::{Mode, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// The requested model (at its cheapest provider).
    Requested,
    /// A cheaper model of the same tier or better (`equivalent`).
    CheaperEquivalent,
    /// A virtual name (`auto`, `auto:fast`, `auto:strong`).
    Virtual,
    /// `shadow`: the requested model, with the equivalent choice recorded.
    Shadow,
}

impl RouteReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteReason::Requested => "requested",
            RouteReason::CheaperEquivalent => "cheaper_equivalent",
            RouteReason::Virtual => "virtual",
            RouteReason::Shadow => "shadow",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Deployment indices, best first; failover walks this list.
    pub attempts: Vec<usize>,
    pub reason: RouteReason,
    /// The deployment whose list price is the baseline ("what the requested
    /// model would have cost"): its cheapest suitable deployment.
    pub baseline: Option<usize>,
    /// In shadow mode, what `equivalent` routing would have picked.
    pub shadow: Option<usize>,
    /// A candidate was left out only because the prompt's byte bound did not fit
    /// its window, though an exact count might: see [`NEAR_LIMIT_FACTOR`].
    pub near_context_limit: bool,
}

/// A byte bound within this factor of a window may still fit once counted
/// (ordinary text runs about four bytes a token); beyond it, counting is skipped
/// and the model is treated as too small, which can only err towards caution.
pub const NEAR_LIMIT_FACTOR: u64 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    UnknownModel,
    /// The model exists, but for another endpoint (chat vs embeddings).
    WrongEndpoint,
    /// Deployments exist but none has these capabilities.
    Unsuitable {
        missing: Vec<&'static str>,
    },
    /// The prompt plus requested output exceeds every candidate's window.
    /// `near`: an exact count might still fit (see [`NEAR_LIMIT_FACTOR`]).
    ContextTooLong {
        needed: u64,
        largest: u64,
        near: bool,
    },
    /// Every candidate's provider has an open circuit.
    AllUnavailable,
}

/// Why a deployment was left out; the most informative reason becomes the error.
#[derive(Default)]
struct Exclusions {
    missing: Capabilities,
    context: bool,
    near_context_limit: bool,
    largest_window: u64,
    unavailable: bool,
}

fn expected_cost(rate: &Rate, req: &Requirements, day: Date) -> Option<Cost> {
    let prices = rate.prices_on(day)?;
    Some(
        prices.input.cost(req.expected_prompt_tokens())
            + prices.output.cost(req.expected_output_tokens()),
    )
}

/// The endpoint a request is for; the embeddings capability implies its own.
fn endpoint_of(req: &Requirements) -> Endpoint {
    if req.capabilities.contains(Capabilities::EMBEDDINGS) {
        Endpoint::Embeddings
    } else {
        req.endpoint
    }
}

/// Whether `d` can serve the request, noting why not in `ex`.
fn suitable(d: &Deployment, req: &Requirements, health: &impl Health, ex: &mut Exclusions) -> bool {
    if let Some(entry) = &d.entry {
        let wanted = req.capabilities;
        if !entry.capabilities.contains(wanted) {
            ex.missing = ex.missing.union(wanted.without(entry.capabilities));
            return false;
        }
        let output = req.max_output_tokens.unwrap_or(0);
        if req.prompt_tokens + output > entry.context_window || output > entry.max_output {
            ex.context = true;
            ex.largest_window = ex.largest_window.max(entry.context_window);
            let room = entry.context_window.saturating_sub(output);
            ex.near_context_limit |= !req.prompt_tokens_exact
                && output <= entry.max_output
                && req.prompt_tokens <= room.saturating_mul(NEAR_LIMIT_FACTOR);
            return false;
        }
    }
    if !health.available(d.provider) {
        ex.unavailable = true;
        return false;
    }
    true
}

struct Ranked {
    cost: Option<Cost>,
    latency: u64,
    index: usize,
}

/// The most candidates a decision lists: enough for every attempt the failover
/// allows plus providers skipped for open circuits, without sorting thousands.
pub const MAX_CANDIDATES: usize = 16;

/// Orders candidates: cheapest first (unpriced last), then lowest latency, then
/// table order; `latency_first` swaps the first two keys (`auto:fast`). Only the
/// best [`MAX_CANDIDATES`] are kept.
fn rank(mut ranked: Vec<Ranked>, latency_first: bool) -> Vec<usize> {
    let order = |a: &Ranked, b: &Ranked| {
        let cost = |r: &Ranked| (r.cost.is_none(), r.cost.unwrap_or(Cost::ZERO));
        let by_cost = cost(a).cmp(&cost(b));
        let by_latency = a.latency.cmp(&b.latency);
        let first = if latency_first {
            by_latency.then(by_cost)
        } else {
            by_cost.then(by_latency)
        };
        first.then(a.index.cmp(&b.index))
    };
    if ranked.len() > MAX_CANDIDATES {
        ranked.select_nth_unstable_by(MAX_CANDIDATES, order);
        ranked.truncate(MAX_CANDIDATES);
    }
    ranked.sort_unstable_by(order);
    ranked.into_iter().map(|r| r.index).collect()
}

fn candidates<'t>(
    pool: impl Iterator<Item = &'t Deployment>,
    req: &Requirements,
    policy: &Policy,
    health: &impl Health,
    day: Date,
    ex: &mut Exclusions,
) -> Vec<Ranked> {
    let endpoint = endpoint_of(req);
    pool.filter(|d| d.endpoint == endpoint)
        // Left out by the caller's lists: no reason is recorded, so a request
        // stopped only by them answers "unknown model" (see `error_from`).
        .filter(|d| policy.may_route_to(d) && suitable(d, req, health, ex))
        .map(|d| Ranked {
            cost: d.rate.as_ref().and_then(|r| expected_cost(r, req, day)),
            latency: health.latency_us(d.index),
            index: d.index,
        })
        .collect()
}

fn error_from(ex: &Exclusions, req: &Requirements) -> RouteError {
    if ex.missing != Capabilities::empty() {
        RouteError::Unsuitable {
            missing: Capabilities::empty().missing(ex.missing),
        }
    } else if ex.context {
        RouteError::ContextTooLong {
            needed: req.prompt_tokens + req.max_output_tokens.unwrap_or(0),
            largest: ex.largest_window,
            near: ex.near_context_limit,
        }
    } else if ex.unavailable {
        RouteError::AllUnavailable
    } else {
        // Nothing but the caller's own lists stood in the way: to the caller, the
        // model does not exist.
        RouteError::UnknownModel
    }
}

/// Picks and orders the deployments for one request.
pub fn decide(
    requested: &str,
    req: &Requirements,
    table: &RoutingTable,
    policy: &Policy,
    health: &impl Health,
    day: Date,
) -> Result<Decision, RouteError> {
    if !policy.may_request(requested) {
        return Err(RouteError::UnknownModel);
    }
    let endpoint = endpoint_of(req);
    let all = table.deployments();

    if let Some((min_tier, fast)) = virtual_model(requested) {
        let pool = all
            .iter()
            .filter(|d| d.tier().is_some_and(|t| t >= min_tier));
        let mut ex = Exclusions::default();
        let ranked = candidates(pool, req, policy, health, day, &mut ex);
        if ranked.is_empty() {
            return Err(error_from(&ex, req));
        }
        return Ok(Decision {
            attempts: rank(ranked, fast),
            reason: RouteReason::Virtual,
            baseline: None,
            shadow: None,
            near_context_limit: ex.near_context_limit,
        });
    }

    let named: Vec<&Deployment> = table
        .named(requested)
        .iter()
        .map(|&i| &all[i])
        .filter(|d| d.endpoint == endpoint)
        .collect();
    if named.is_empty() {
        let elsewhere = table
            .named(requested)
            .iter()
            .any(|&i| policy.may_route_to(&all[i]));
        return Err(if elsewhere {
            RouteError::WrongEndpoint
        } else {
            RouteError::UnknownModel
        });
    }
    let mut ex = Exclusions::default();
    let strict = rank(
        candidates(named.iter().copied(), req, policy, health, day, &mut ex),
        false,
    );
    // The baseline: the requested model's cheapest deployment for this request,
    // whether or not it is healthy right now.
    let baseline = {
        let healthy_or_not = AlwaysAvailable(health);
        let mut ignore = Exclusions::default();
        rank(
            candidates(
                named.iter().copied(),
                req,
                policy,
                &healthy_or_not,
                day,
                &mut ignore,
            ),
            false,
        )
        .into_iter()
        .find(|&i| all[i].rate.is_some())
    };

    let equivalent = |ex: &mut Exclusions| -> Vec<usize> {
        let Some(tier) = named.iter().filter_map(|d| d.tier()).max() else {
            // A model without a tier (a configured model the catalog does not
            // know) has no equivalent: it is served as asked, as under `strict`.
            return rank(
                candidates(named.iter().copied(), req, policy, health, day, ex),
                false,
            );
        };
        let pool = all.iter().filter(|d| {
            d.tier().is_some_and(|t| t >= tier) || named.iter().any(|n| n.index == d.index)
        });
        rank(candidates(pool, req, policy, health, day, ex), false)
    };

    let (attempts, reason, shadow) = match policy.mode {
        Mode::Strict => (strict, RouteReason::Requested, None),
        Mode::Shadow => {
            let mut ignore = Exclusions::default();
            let pick = equivalent(&mut ignore).first().copied();
            (strict, RouteReason::Shadow, pick)
        }
        Mode::Equivalent => {
            let attempts = equivalent(&mut ex);
            let reason = match attempts.first() {
                Some(first) if !named.iter().any(|n| n.index == *first) => {
                    RouteReason::CheaperEquivalent
                }
                _ => RouteReason::Requested,
            };
            (attempts, reason, None)
        }
    };
    if attempts.is_empty() {
        return Err(error_from(&ex, req));
    }
    Ok(Decision {
        attempts,
        reason,
        baseline,
        shadow,
        near_context_limit: ex.near_context_limit,
    })
}

/// Health that reports every provider available, for pricing the baseline.
struct AlwaysAvailable<'a, H>(&'a H);

impl<H: Health> Health for AlwaysAvailable<'_, H> {
    fn available(&self, _provider: usize) -> bool {
        true
    }

    fn latency_us(&self, deployment: usize) -> u64 {
        self.0.latency_us(deployment)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use pricing::tokens::PromptShape;

    use super::*;
    use crate::config::{Flavor, ProviderConfig, ProviderKey, Timeouts};

    const CATALOG: &str = r#"
source = "test"
retrieved = "2026-01-01"

[[models]]
provider = "openai"
id = "big"
context_window = 128000
max_output = 16000
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "2.50"
output = "10"

[[models]]
provider = "openai"
id = "mini"
context_window = 128000
max_output = 16000
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 2
[[models.prices]]
effective = "2026-01-01"
input = "0.15"
output = "0.60"

[[models]]
provider = "openai"
id = "text-only"
context_window = 128000
max_output = 16000
capabilities = ["tools", "json_schema", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "1"
output = "4"

[[models]]
provider = "openai"
id = "short"
context_window = 8000
max_output = 4000
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "0.50"
output = "1"

[[models]]
provider = "openai"
id = "no-tools"
context_window = 128000
capabilities = ["vision", "streaming"]
tier = 5
[[models.prices]]
effective = "2026-01-01"
input = "0.10"
output = "0.10"

[[models]]
provider = "anthropic"
id = "sonnet"
context_window = 200000
max_output = 64000
capabilities = ["tools", "vision", "json_schema", "streaming"]
tier = 4
[[models.prices]]
effective = "2026-01-01"
input = "3"
output = "15"

[[models]]
provider = "groq"
id = "vendor/oss"
aliases = ["oss"]
context_window = 131072
capabilities = ["tools", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "0.15"
output = "0.60"

[[models]]
provider = "together"
id = "org/oss"
aliases = ["oss"]
context_window = 131072
capabilities = ["tools", "streaming"]
tier = 3
[[models.prices]]
effective = "2026-01-01"
input = "0.20"
output = "0.80"

[[models]]
provider = "openai"
id = "emb"
kind = "embedding"
context_window = 8191
capabilities = ["embeddings"]
tier = 2
[[models.prices]]
effective = "2026-01-01"
input = "0.02"
"#;

    fn provider(name: &str, catalog: &str) -> ProviderConfig {
        let t = Duration::from_secs(1);
        ProviderConfig {
            name: name.to_owned(),
            catalog: catalog.to_owned(),
            flavor: Flavor::OpenAi,
            base_url: "http://127.0.0.1:1".to_owned(),
            api_key: ProviderKey::None,
            headers: Vec::new(),
            query: Vec::new(),
            timeouts: Timeouts {
                connect: t,
                first_byte: t,
                idle: t,
                total: t,
            },
            responses_api: false,
        }
    }

    fn table() -> RoutingTable {
        let catalog = pricing::catalog::parse(CATALOG).unwrap();
        let providers = [
            provider("openai", "openai"),
            provider("anthropic", "anthropic"),
            provider("groq", "groq"),
            provider("together", "together"),
            provider("openai-eu", "openai"),
        ];
        RoutingTable::build(&providers, &[], &catalog).unwrap()
    }

    #[derive(Default)]
    struct TestHealth {
        down: Vec<usize>,
        latency: HashMap<usize, u64>,
    }

    impl Health for TestHealth {
        fn available(&self, provider: usize) -> bool {
            !self.down.contains(&provider)
        }
        fn latency_us(&self, deployment: usize) -> u64 {
            self.latency.get(&deployment).copied().unwrap_or(0)
        }
    }

    fn chat(prompt_tokens: u64, capabilities: Capabilities) -> Requirements {
        Requirements {
            capabilities,
            prompt: PromptShape {
                text_bytes: prompt_tokens * 4,
                messages: 1,
                images: 0,
            },
            prompt_tokens,
            prompt_tokens_exact: true,
            max_output_tokens: None,
            endpoint: Endpoint::Chat,
        }
    }

    fn policy(mode: Mode) -> Policy {
        Policy {
            mode,
            ..Policy::default()
        }
    }

    fn day() -> Date {
        Date::parse("2026-06-01").unwrap()
    }

    /// Attempts, reason, baseline and shadow pick, as `provider/name` labels.
    type Routed = (Vec<String>, RouteReason, Option<String>, Option<String>);

    /// The attempts as `provider/name` labels.
    fn route(
        name: &str,
        req: &Requirements,
        policy: &Policy,
        health: &TestHealth,
    ) -> Result<Routed, RouteError> {
        let table = table();
        let label = |i: usize| format!("{}/{}", table.get(i).provider_name, table.get(i).name);
        decide(name, req, &table, policy, health, day()).map(|d| {
            (
                d.attempts.iter().map(|&i| label(i)).collect(),
                d.reason,
                d.baseline.map(label),
                d.shadow.map(label),
            )
        })
    }

    fn attempts(name: &str, req: &Requirements, policy: &Policy) -> Vec<String> {
        route(name, req, policy, &TestHealth::default()).unwrap().0
    }

    const NONE: Capabilities = Capabilities::empty();

    #[test]
    fn strict_serves_only_the_requested_model_cheapest_provider_first() {
        let req = chat(1_000, NONE);
        assert_eq!(
            attempts("oss", &req, &policy(Mode::Strict)),
            ["groq/vendor/oss", "together/org/oss"]
        );
        // Same model and price at two endpoints: table order, unless latency differs.
        assert_eq!(
            attempts("big", &req, &policy(Mode::Strict)),
            ["openai/big", "openai-eu/big"]
        );
        let table = table();
        let eu = table
            .named("big")
            .iter()
            .copied()
            .find(|&i| *table.get(i).provider_name == "openai-eu")
            .unwrap();
        let us = table.named("big")[0];
        let health = TestHealth {
            latency: HashMap::from([(us, 900), (eu, 300)]),
            ..TestHealth::default()
        };
        assert_eq!(
            route("big", &req, &policy(Mode::Strict), &health)
                .unwrap()
                .0,
            ["openai-eu/big", "openai/big"]
        );
    }

    #[test]
    fn equivalent_takes_the_cheapest_model_of_the_same_tier_or_better() {
        let req = chat(1_000, Capabilities::TOOLS);
        let (attempts, reason, baseline, _) = route(
            "big",
            &req,
            &policy(Mode::Equivalent),
            &TestHealth::default(),
        )
        .unwrap();
        // Tier >= 4 with tools: short (0.5/1), text-only (1/4), big (2.5/10) x2, sonnet (3/15).
        // no-tools is tier 5 and cheapest but cannot call tools; mini is tier 2.
        assert_eq!(
            attempts,
            [
                "openai/short",
                "openai-eu/short",
                "openai/text-only",
                "openai-eu/text-only",
                "openai/big",
                "openai-eu/big",
                "anthropic/sonnet"
            ]
        );
        assert_eq!(reason, RouteReason::CheaperEquivalent);
        assert_eq!(baseline.as_deref(), Some("openai/big"));
    }

    #[test]
    fn capability_filters_are_never_crossed() {
        let tools = chat(1_000, Capabilities::TOOLS);
        let image = chat(1_000, Capabilities::VISION);
        for name in attempts("big", &tools, &policy(Mode::Equivalent)) {
            assert!(
                !name.ends_with("/no-tools"),
                "a tools request went to {name}"
            );
        }
        for name in attempts("big", &image, &policy(Mode::Equivalent)) {
            assert!(
                !name.ends_with("/text-only") && !name.contains("oss"),
                "an image went to {name}"
            );
        }
        assert_eq!(
            route(
                "text-only",
                &image,
                &policy(Mode::Strict),
                &TestHealth::default()
            ),
            Err(RouteError::Unsuitable {
                missing: vec!["vision"]
            })
        );
        let schema = chat(10, Capabilities::JSON_SCHEMA.union(Capabilities::STREAMING));
        assert!(route(
            "oss",
            &schema,
            &policy(Mode::Strict),
            &TestHealth::default()
        )
        .is_err());
    }

    #[test]
    fn long_prompts_skip_small_windows() {
        let long = chat(20_000, Capabilities::TOOLS);
        let picked = attempts("big", &long, &policy(Mode::Equivalent));
        assert_eq!(
            picked[0], "openai/text-only",
            "short has an 8k window: {picked:?}"
        );
        assert!(!picked.iter().any(|p| p.ends_with("/short")));
        let mut huge = chat(190_000, NONE);
        huge.max_output_tokens = Some(20_000);
        assert_eq!(
            route(
                "sonnet",
                &huge,
                &policy(Mode::Strict),
                &TestHealth::default()
            ),
            Err(RouteError::ContextTooLong {
                needed: 210_000,
                largest: 200_000,
                near: false
            })
        );
        // A byte bound (not an exact count) just over a window asks for a count;
        // one far over it does not.
        let mut bound = chat(9_000, Capabilities::TOOLS);
        bound.prompt_tokens_exact = false;
        let table = table();
        let health = TestHealth::default();
        let near = decide(
            "short",
            &bound,
            &table,
            &policy(Mode::Strict),
            &health,
            day(),
        );
        assert_eq!(
            near,
            Err(RouteError::ContextTooLong {
                needed: 9_000,
                largest: 8_000,
                near: true
            })
        );
        let decision = decide(
            "big",
            &bound,
            &table,
            &policy(Mode::Equivalent),
            &health,
            day(),
        )
        .unwrap();
        assert!(
            decision.near_context_limit,
            "short (8k) was shut out by a 9k bound"
        );
        bound.prompt_tokens = 40_000;
        let far = decide(
            "short",
            &bound,
            &table,
            &policy(Mode::Strict),
            &health,
            day(),
        );
        assert_eq!(
            far,
            Err(RouteError::ContextTooLong {
                needed: 40_000,
                largest: 8_000,
                near: false
            })
        );
        // The output limit counts against max_output too.
        let mut wants_output = chat(100, NONE);
        wants_output.max_output_tokens = Some(5_000);
        assert!(!attempts("big", &wants_output, &policy(Mode::Equivalent))
            .iter()
            .any(|p| p.ends_with("/short")));
    }

    #[test]
    fn allow_and_deny_lists_apply_to_requests_and_routes() {
        let req = chat(1_000, Capabilities::TOOLS);
        let mut p = policy(Mode::Equivalent);
        p.deny_providers = vec!["openai".into(), "openai-eu".into()];
        assert_eq!(attempts("big", &req, &p), ["anthropic/sonnet"]);
        assert_eq!(
            route(
                "big",
                &req,
                &{
                    let mut s = p.clone();
                    s.mode = Mode::Strict;
                    s
                },
                &TestHealth::default()
            ),
            Err(RouteError::UnknownModel)
        );
        let mut p = policy(Mode::Equivalent);
        p.allow_providers = Some(vec!["openai".into()]);
        assert!(attempts("big", &req, &p)
            .iter()
            .all(|a| a.starts_with("openai/")));
        let mut p = policy(Mode::Equivalent);
        p.deny_models = vec!["short".into()];
        assert_eq!(attempts("big", &req, &p)[0], "openai/text-only");
        let mut p = policy(Mode::Strict);
        p.allow_models = Some(vec!["mini".into()]);
        assert_eq!(
            route("big", &req, &p, &TestHealth::default()),
            Err(RouteError::UnknownModel)
        );
        assert_eq!(
            attempts("mini", &req, &p),
            ["openai/mini", "openai-eu/mini"]
        );
        // Allowed names restrict substitutes as well.
        let mut p = policy(Mode::Equivalent);
        p.allow_models = Some(vec!["big".into(), "sonnet".into()]);
        assert_eq!(
            attempts("big", &req, &p),
            ["openai/big", "openai-eu/big", "anthropic/sonnet"]
        );
    }

    #[test]
    fn shadow_forwards_the_requested_model_and_records_the_alternative() {
        let req = chat(1_000, Capabilities::TOOLS);
        let (attempts, reason, baseline, shadow) =
            route("big", &req, &policy(Mode::Shadow), &TestHealth::default()).unwrap();
        assert_eq!(attempts, ["openai/big", "openai-eu/big"]);
        assert_eq!(reason, RouteReason::Shadow);
        assert_eq!(baseline.as_deref(), Some("openai/big"));
        assert_eq!(shadow.as_deref(), Some("openai/short"));
    }

    #[test]
    fn open_circuits_are_skipped_and_reported_when_nothing_is_left() {
        let req = chat(1_000, NONE);
        let health = TestHealth {
            down: vec![2],
            ..TestHealth::default()
        };
        assert_eq!(
            route("oss", &req, &policy(Mode::Strict), &health)
                .unwrap()
                .0,
            ["together/org/oss"]
        );
        let health = TestHealth {
            down: vec![2, 3],
            ..TestHealth::default()
        };
        let result = route("oss", &req, &policy(Mode::Strict), &health);
        assert_eq!(result, Err(RouteError::AllUnavailable));
        // The baseline stays the requested model's price even while its provider is down.
        let health = TestHealth {
            down: vec![2],
            ..TestHealth::default()
        };
        assert_eq!(
            route("oss", &req, &policy(Mode::Strict), &health)
                .unwrap()
                .2
                .as_deref(),
            Some("groq/vendor/oss")
        );
    }

    #[test]
    fn virtual_models_pick_by_tier_and_speed() {
        let req = chat(1_000, NONE);
        let strong = attempts("auto:strong", &req, &policy(Mode::Strict));
        assert_eq!(
            strong[0], "openai/no-tools",
            "tier 5 at 0.10/0.10 is the cheapest tier >= 4"
        );
        assert_eq!(
            attempts("auto", &req, &policy(Mode::Strict))[0],
            "openai/no-tools"
        );
        let table = table();
        let mini = table.named("mini")[0];
        let health = TestHealth {
            latency: table
                .deployments()
                .iter()
                .map(|d| (d.index, 5_000))
                .chain([(mini, 100)])
                .collect(),
            ..TestHealth::default()
        };
        let (fast, reason, baseline, _) =
            route("auto:fast", &req, &policy(Mode::Strict), &health).unwrap();
        assert_eq!(fast[0], "openai/mini");
        assert_eq!(reason, RouteReason::Virtual);
        assert_eq!(baseline, None);
    }

    #[test]
    fn unknown_names_and_endpoints_are_unknown_models() {
        let req = chat(10, NONE);
        assert_eq!(
            route(
                "nope",
                &req,
                &policy(Mode::Equivalent),
                &TestHealth::default()
            ),
            Err(RouteError::UnknownModel)
        );
        // An embedding model is not a chat model.
        assert_eq!(
            route("emb", &req, &policy(Mode::Strict), &TestHealth::default()),
            Err(RouteError::WrongEndpoint)
        );
        let mut embed = chat(10, Capabilities::EMBEDDINGS);
        embed.max_output_tokens = Some(0);
        assert_eq!(
            attempts("emb", &embed, &policy(Mode::Strict)),
            ["openai/emb", "openai-eu/emb"]
        );
        // Provider-qualified names are accepted in allow lists.
        let mut p = policy(Mode::Equivalent);
        p.allow_models = Some(vec!["big".into(), "openai/short".into()]);
        assert_eq!(attempts("big", &chat(10, NONE), &p)[0], "openai/short");
    }

    /// The test table plus config models at the `openai` provider: `local`
    /// without a price, `free` at zero without a tier, `free4` at zero with
    /// big's tier (`price_as`).
    fn table_with_config_models() -> RoutingTable {
        use crate::config::{ModelConfig, ModelPrice};
        use pricing::Price;
        let catalog = pricing::catalog::parse(CATALOG).unwrap();
        let providers = [provider("openai", "openai")];
        let model = |name: &str, price: Option<ModelPrice>, price_as: Option<&str>| ModelConfig {
            name: name.to_owned(),
            provider: 0,
            upstream_model: name.to_owned(),
            endpoint: Endpoint::Chat,
            price_as: price_as.map(str::to_owned),
            price,
            baseline: None,
        };
        let zero = Some(ModelPrice {
            input: Price(0),
            output: Price(0),
            cached_input: None,
        });
        let models = [
            model("local", None, None),
            model("free", zero, None),
            model("free4", zero, Some("openai/big")),
        ];
        RoutingTable::build(&providers, &models, &catalog).unwrap()
    }

    #[test]
    fn a_model_without_a_tier_is_served_as_asked_under_every_policy() {
        let table = table_with_config_models();
        let label = |i: usize| table.get(i).name.to_string();
        let req = chat(1_000, Capabilities::TOOLS);
        for mode in [Mode::Strict, Mode::Equivalent, Mode::Shadow] {
            for name in ["local", "free"] {
                let decision = decide(
                    name,
                    &req,
                    &table,
                    &policy(mode),
                    &TestHealth::default(),
                    day(),
                )
                .unwrap_or_else(|e| panic!("{name} under {mode:?}: {e:?}"));
                let attempts: Vec<String> = decision.attempts.iter().map(|&i| label(i)).collect();
                assert_eq!(attempts, [name], "{mode:?}");
                let expected_reason = if mode == Mode::Shadow {
                    RouteReason::Shadow
                } else {
                    RouteReason::Requested
                };
                assert_eq!(decision.reason, expected_reason, "{name} {mode:?}");
                // Only a priced deployment can be a baseline.
                assert_eq!(
                    decision.baseline.map(label).as_deref(),
                    (name == "free").then_some("free"),
                    "{name} {mode:?}"
                );
            }
        }
        // Neither stands in for anything; the zero-priced model with a tier does.
        let big = decide(
            "big",
            &req,
            &table,
            &policy(Mode::Equivalent),
            &TestHealth::default(),
            day(),
        )
        .unwrap();
        let attempts: Vec<String> = big.attempts.iter().map(|&i| label(i)).collect();
        assert_eq!(attempts[0], "free4");
        assert!(!attempts.iter().any(|a| a == "local" || a == "free"));
        assert_eq!(big.reason, RouteReason::CheaperEquivalent);
        assert_eq!(big.baseline.map(label).as_deref(), Some("big"));
    }

    #[test]
    fn the_same_inputs_always_give_the_same_order() {
        let req = chat(1_000, NONE);
        let first = attempts("auto", &req, &policy(Mode::Strict));
        for _ in 0..10 {
            assert_eq!(attempts("auto", &req, &policy(Mode::Strict)), first);
        }
    }
}
