//! The cost of one request's usage at one price version. Every token is priced
//! once: cached and cache-write tokens are carved out of the prompt, reasoning
//! tokens out of the completion, and counts a provider over-reports are clamped.

use crate::catalog::PriceVersion;
use crate::money::{Cost, Price};
use crate::usage::TokenUsage;

/// Cost of each part of a usage; `total()` is what the request cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostParts {
    pub input: Cost,
    pub cached_input: Cost,
    pub cache_write: Cost,
    pub output: Cost,
    pub reasoning: Cost,
}

impl CostParts {
    pub fn total(&self) -> Cost {
        self.input + self.cached_input + self.cache_write + self.output + self.reasoning
    }
}

/// The exact cost of `usage` at `prices`.
pub fn cost_of(prices: &PriceVersion, usage: &TokenUsage) -> CostParts {
    let long = prices
        .long_context
        .filter(|lc| usage.prompt_tokens > lc.above_prompt_tokens);
    let input: Price = long.map_or(prices.input, |lc| lc.input);
    let output: Price = long.map_or(prices.output, |lc| lc.output);
    let cached_price = long
        .and_then(|lc| lc.cached_input)
        .or(prices.cached_input)
        .unwrap_or(input);
    let write_price = prices.cache_write.unwrap_or(input);
    let reasoning_price = prices.reasoning.unwrap_or(output);

    let cached = usage.cached_prompt_tokens.min(usage.prompt_tokens);
    let written = usage.cache_write_tokens.min(usage.prompt_tokens - cached);
    let plain_input = usage.prompt_tokens - cached - written;
    let reasoning = usage.reasoning_tokens.min(usage.completion_tokens);
    let plain_output = usage.completion_tokens - reasoning;

    CostParts {
        input: input.cost(plain_input),
        cached_input: cached_price.cost(cached),
        cache_write: write_price.cost(written),
        output: output.cost(plain_output),
        reasoning: reasoning_price.cost(reasoning),
    }
}
