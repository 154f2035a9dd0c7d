//! Admitting a routed request by its key's, team's and tenant's limits and
//! budgets (`crate::limits`), here where what it asks is known: its tokens
//! (the prompt estimate plus the output expected) and the most it can cost.
//!
//! The most it can cost is the prompt bound plus `max_tokens` (or, if the
//! client set none, the model's maximum output) at the prices of the dearest
//! candidate the plan may try, priced the dearest way its tokens could be
//! billed (cache writes, reasoning), so no failover can spend more than was
//! reserved. An unpriced candidate adds nothing (its cost is unknown and is
//! recorded as none).

use pricing::catalog::PriceVersion;
use pricing::{cost_of, Cost, TokenUsage};

use super::Job;
use crate::clock;
use crate::error::GatewayError;
use crate::limits::{Ask, Ticket};
use crate::routing::{Decision, Requirements};
use crate::state::Snapshot;

/// `max_tokens` assumed for a model the catalog does not know.
const DEFAULT_MAX_OUTPUT: u64 = 4096;

/// Takes the request's share of every limited scope, or the refusal as the
/// error to answer with. `None`: nothing of its scopes is limited.
pub(super) async fn admit(
    job: &Job<'_, '_>,
    decision: &Decision,
) -> Result<Option<Ticket>, GatewayError> {
    let key = job.key;
    if key.allowances.limited().next().is_none() {
        return Ok(None);
    }
    let requirements = &job.requirements;
    let budgeted = key.allowances.limited().any(|(_, a)| a.has_budget());
    let reserve = if budgeted {
        worst_cost(job.snapshot, decision, requirements)
    } else {
        Cost::ZERO
    };
    let ask = Ask {
        tenant: &key.tenant,
        scopes: &key.allowances.scopes,
        tokens: requirements
            .expected_prompt_tokens()
            .saturating_add(requirements.expected_output_tokens()),
        reserve,
    };
    job.state
        .limits
        .admit(ask)
        .await
        .map_err(|refusal| GatewayError::Limited(Box::new(refusal)))
}

/// The most a request with `requirements` can cost through `decision`'s
/// candidates (those within `routing.max_attempts`).
pub fn worst_cost(snapshot: &Snapshot, decision: &Decision, requirements: &Requirements) -> Cost {
    let day = clock::today();
    decision
        .attempts
        .iter()
        .take(snapshot.routing.max_attempts)
        .filter_map(|&index| {
            let deployment = snapshot.table.get(index);
            let prices = deployment.rate.as_ref()?.prices_on(day)?;
            let output = requirements.max_output_tokens.unwrap_or_else(|| {
                deployment
                    .entry
                    .as_ref()
                    .map_or(DEFAULT_MAX_OUTPUT, |entry| entry.max_output)
            });
            Some(dearest(prices, requirements.prompt_tokens, output))
        })
        .max()
        .unwrap_or(Cost::ZERO)
}

/// The dearest way `prompt` and `output` tokens can be billed at `prices`:
/// every prompt token plain or written to the cache, every output token plain
/// or reasoning.
fn dearest(prices: &PriceVersion, prompt: u64, output: u64) -> Cost {
    let usage = |written: u64, reasoning: u64| TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: output,
        cached_prompt_tokens: 0,
        cache_write_tokens: written,
        reasoning_tokens: reasoning,
    };
    [
        usage(0, 0),
        usage(prompt, 0),
        usage(0, output),
        usage(prompt, output),
    ]
    .iter()
    .map(|u| cost_of(prices, u).total())
    .max()
    .unwrap_or(Cost::ZERO)
}

#[cfg(test)]
mod tests {
    use pricing::date::Date;
    use pricing::Price;

    use super::*;

    fn prices(input: u64, output: u64, write: Option<u64>, reasoning: Option<u64>) -> PriceVersion {
        PriceVersion {
            effective: Date(0),
            until: None,
            input: Price(input),
            output: Price(output),
            cached_input: None,
            cache_write: write.map(Price),
            reasoning: reasoning.map(Price),
            long_context: None,
        }
    }

    #[test]
    fn the_dearest_billing_of_the_tokens_is_reserved() {
        // Prices in micro-USD per million tokens; costs in pico-USD
        // (tokens x price). (prices, prompt, output, cost)
        let table = [
            (
                prices(1_000_000, 2_000_000, None, None),
                1_000,
                500,
                2_000_000_000,
            ),
            // Cache writes dearer than input: all prompt tokens as writes.
            (
                prices(1_000_000, 2_000_000, Some(1_250_000), None),
                1_000,
                500,
                2_250_000_000,
            ),
            // A cheaper cache write changes nothing.
            (
                prices(1_000_000, 2_000_000, Some(100_000), None),
                1_000,
                500,
                2_000_000_000,
            ),
            // Reasoning dearer than output.
            (
                prices(1_000_000, 2_000_000, None, Some(3_000_000)),
                1_000,
                500,
                2_500_000_000,
            ),
            (prices(1_000_000, 2_000_000, None, None), 0, 0, 0),
        ];
        for (prices, prompt, output, pico) in table {
            assert_eq!(dearest(&prices, prompt, output), Cost(pico), "{prices:?}");
        }
    }
}
