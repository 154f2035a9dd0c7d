//! A traffic profile routed as live traffic would be: each model's share of the
//! monthly requests, its [`Requirements`], the routing decision over the table
//! with every provider healthy, and the list prices on both sides.

use pricing::roi::{self, Share};
use pricing::tokens::PromptShape;
use pricing::{cost_of, Cost, Date, Quote, TokenUsage};

use super::{
    InputError, ModelLine, Profile, MAX_REQUESTS_PER_SEAT_PER_DAY, MAX_TOKENS_PER_REQUEST,
};
use crate::error::echo;
use crate::routing::{decide, Health, Policy, Requirements, RouteError, RoutingTable};

/// Health for projections: every provider up, no latency preference.
struct Steady;

impl Health for Steady {
    fn available(&self, _provider: usize) -> bool {
        true
    }

    fn latency_us(&self, _deployment: usize) -> u64 {
        0
    }
}

fn check_profile(profile: &Profile) -> Result<(), InputError> {
    let within = |param: &'static str, value: u64, min: u64, max: u64| {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(InputError::new(
                param,
                format!("`{param}` must be a whole number from {min} to {max}; got {value}."),
            ))
        }
    };
    within(
        "requests_per_seat_per_day",
        profile.requests_per_seat_per_day,
        1,
        MAX_REQUESTS_PER_SEAT_PER_DAY,
    )?;
    within(
        "working_days_per_month",
        u64::from(profile.working_days_per_month),
        1,
        31,
    )?;
    within(
        "prompt_tokens",
        profile.prompt_tokens,
        0,
        MAX_TOKENS_PER_REQUEST,
    )?;
    within(
        "completion_tokens",
        profile.completion_tokens,
        0,
        MAX_TOKENS_PER_REQUEST,
    )?;
    if profile.models.is_empty() {
        return Err(InputError::new(
            "models",
            "`models` must name at least one model.",
        ));
    }
    for (i, line) in profile.models.iter().enumerate() {
        if profile.models[..i].iter().any(|m| m.model == line.model) {
            return Err(InputError::new(
                "models",
                format!("`models` names `{}` twice.", echo(&line.model)),
            ));
        }
    }
    let total: u32 = profile.models.iter().map(|m| m.share.0).sum();
    if total != Share::WHOLE.0 {
        return Err(InputError::new(
            "models",
            format!(
                "The shares in `models` must add up to exactly 1; they add up to {}.",
                Share(total)
            ),
        ));
    }
    Ok(())
}

/// Each model's line, with its exact current and optimized monthly cost.
pub(super) fn project(
    seats: u64,
    profile: &Profile,
    table: &RoutingTable,
    policy: &Policy,
    day: Date,
) -> Result<Vec<(ModelLine, Cost, Cost)>, InputError> {
    check_profile(profile)?;
    // Bounded by the checks: at most 1e6 x 1e4 x 31 requests, 2e7 tokens each.
    let monthly =
        seats * profile.requests_per_seat_per_day * u64::from(profile.working_days_per_month);
    let shares: Vec<Share> = profile.models.iter().map(|m| m.share).collect();
    let requests = roi::apportion(u128::from(monthly), &shares);
    let requirements = Requirements {
        capabilities: profile.capabilities,
        prompt: PromptShape {
            text_bytes: profile.prompt_tokens.saturating_mul(4),
            messages: 1,
            images: 0,
        },
        prompt_tokens: profile.prompt_tokens,
        prompt_tokens_exact: true,
        max_output_tokens: Some(profile.completion_tokens),
        endpoint: crate::config::Endpoint::Chat,
    };
    let usage = TokenUsage {
        prompt_tokens: profile.prompt_tokens,
        completion_tokens: profile.completion_tokens,
        ..TokenUsage::default()
    };
    profile
        .models
        .iter()
        .zip(requests)
        .map(|(line, requests)| {
            let requests = u64::try_from(requests).unwrap_or(u64::MAX);
            let name = line.model.as_str();
            let decision = decide(name, &requirements, table, policy, &Steady, day)
                .map_err(|error| route_error(name, error))?;
            let price = |index: Option<usize>| {
                index
                    .and_then(|i| table.get(i).rate.as_ref())
                    .and_then(|rate| rate.quote(day))
            };
            let unpriced = || {
                InputError::new(
                    "models",
                    format!(
                        "`{}` has no list price in the catalog, so its cost cannot be projected.",
                        echo(name)
                    ),
                )
            };
            let current = price(decision.baseline).ok_or_else(unpriced)?;
            let routed_index = decision.attempts.first().copied();
            let routed = price(routed_index).ok_or_else(unpriced)?;
            let monthly_cost = |price: Quote<'_>| {
                Cost(cost_of(price.prices, &usage).total().0 * i128::from(requests))
            };
            let (current_cost, optimized_cost) = (monthly_cost(current), monthly_cost(routed));
            let deployment = table.get(routed_index.unwrap_or_default());
            Ok((
                ModelLine {
                    requested_model: line.model.clone(),
                    share: line.share.to_string(),
                    routed_provider: deployment.provider_name.to_string(),
                    routed_model: deployment.name.to_string(),
                    route_reason: decision.reason.as_str(),
                    monthly_requests: requests,
                    monthly_prompt_tokens: requests * profile.prompt_tokens,
                    monthly_completion_tokens: requests * profile.completion_tokens,
                    current_price: current.to_string(),
                    optimized_price: routed.to_string(),
                    current_monthly_cost: current_cost.usd(),
                    optimized_monthly_cost: optimized_cost.usd(),
                },
                current_cost,
                optimized_cost,
            ))
        })
        .collect()
}

fn route_error(model: &str, error: RouteError) -> InputError {
    let model = echo(model);
    match error {
        RouteError::UnknownModel => InputError::new(
            "models",
            format!("The model `{model}` does not exist or you do not have access to it."),
        ),
        RouteError::WrongEndpoint => InputError::new(
            "models",
            format!("The model `{model}` is not a chat model."),
        ),
        RouteError::Unsuitable { missing } => InputError::new(
            "capabilities",
            format!(
                "The model `{model}` cannot serve this profile: no deployment of it supports {}.",
                missing.join(" and ")
            ),
        ),
        RouteError::ContextTooLong {
            needed, largest, ..
        } => InputError::new(
            "prompt_tokens",
            format!(
                "Requests of {needed} tokens (prompt plus completion) do not fit `{model}`: its largest context window is {largest} tokens."
            ),
        ),
        RouteError::AllUnavailable => InputError::new(
            "models",
            format!("No provider of `{model}` is configured."),
        ),
    }
}
