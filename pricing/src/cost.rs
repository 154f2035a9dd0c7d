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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, LongContextPrices};
    use crate::date::Date;

    fn catalog_prices(provider: &str, id: &str) -> PriceVersion {
        let catalog = Catalog::embedded().unwrap();
        catalog
            .get(provider, id)
            .unwrap()
            .current_price()
            .unwrap()
            .version
            .clone()
    }

    fn usd(text: &str) -> Cost {
        Cost::parse_usd(text).unwrap()
    }

    fn usage(
        prompt: u64,
        cached: u64,
        written: u64,
        completion: u64,
        reasoning: u64,
    ) -> TokenUsage {
        TokenUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_prompt_tokens: cached,
            cache_write_tokens: written,
            reasoning_tokens: reasoning,
        }
    }

    #[test]
    fn gpt_4o_with_cached_prompt_tokens() {
        // $2.50 in, $1.25 cached in, $10 out per million tokens.
        // 600 x 2.50 + 400 x 1.25 + 500 x 10 = 1500 + 500 + 5000 micro-USD.
        let cost = cost_of(
            &catalog_prices("openai", "gpt-4o"),
            &usage(1_000, 400, 0, 500, 0),
        );
        assert_eq!(cost.total(), usd("0.007"));
        assert_eq!(cost.cached_input, usd("0.0005"));
    }

    #[test]
    fn claude_sonnet_with_cache_reads_and_writes_counted_once() {
        // $3 in, $0.30 cache read, $3.75 cache write, $15 out.
        // 5,000 x 3 + 2,000 x 0.30 + 3,000 x 3.75 + 1,000 x 15
        //   = 0.015 + 0.0006 + 0.01125 + 0.015 = 0.04185
        let prices = catalog_prices("anthropic", "claude-sonnet-4-5");
        let cost = cost_of(&prices, &usage(10_000, 2_000, 3_000, 1_000, 0));
        assert_eq!(cost.total(), usd("0.04185"));
        assert_eq!(cost.cache_write, usd("0.01125"));
    }

    #[test]
    fn gemini_pro_long_context_tier_prices_the_whole_request() {
        let prices = catalog_prices("gemini", "gemini-2.5-pro");
        // Above 200k prompt tokens: $2.50 in, $0.25 cached, $15 out.
        // 200,000 x 2.50 + 50,000 x 0.25 + 2,000 x 15 = 0.5 + 0.0125 + 0.03
        assert_eq!(
            cost_of(&prices, &usage(250_000, 50_000, 0, 2_000, 0)).total(),
            usd("0.5425")
        );
        // At exactly 200k the normal prices apply: $1.25 in, $10 out.
        assert_eq!(
            cost_of(&prices, &usage(200_000, 0, 0, 2_000, 0)).total(),
            usd("0.27")
        );
    }

    #[test]
    fn reasoning_tokens_billed_apart_or_as_output_never_twice() {
        let mut prices = PriceVersion {
            effective: Date(0),
            until: None,
            input: Price::from_usd_per_mtok("1").unwrap(),
            output: Price::from_usd_per_mtok("4").unwrap(),
            cached_input: None,
            cache_write: None,
            reasoning: Some(Price::from_usd_per_mtok("3").unwrap()),
            long_context: None,
        };
        // 100 x 1 + 400 x 4 + 600 x 3 = 0.0001 + 0.0016 + 0.0018
        assert_eq!(
            cost_of(&prices, &usage(100, 0, 0, 1_000, 600)).total(),
            usd("0.0035")
        );
        prices.reasoning = None;
        // Without a reasoning price they are output tokens: 100 x 1 + 1,000 x 4.
        assert_eq!(
            cost_of(&prices, &usage(100, 0, 0, 1_000, 600)).total(),
            usd("0.0041")
        );
        // Without cached/cache-write prices those tokens cost the input price.
        assert_eq!(
            cost_of(&prices, &usage(100, 30, 20, 0, 0)).total(),
            usd("0.0001")
        );
        prices.long_context = Some(LongContextPrices {
            above_prompt_tokens: 50,
            input: Price::from_usd_per_mtok("2").unwrap(),
            output: Price::from_usd_per_mtok("8").unwrap(),
            cached_input: None,
        });
        assert_eq!(
            cost_of(&prices, &usage(100, 0, 0, 10, 0)).total(),
            usd("0.00028")
        );
    }

    #[test]
    fn over_reported_parts_are_clamped_so_nothing_is_counted_twice() {
        let prices = catalog_prices("anthropic", "claude-sonnet-4-5");
        let silly = cost_of(&prices, &usage(100, 80, 80, 10, 50));
        // 80 cached, then only 20 left to be cache writes, 0 plain; reasoning <= 10.
        let expected = cost_of(&prices, &usage(100, 80, 20, 10, 10));
        assert_eq!(silly, expected);
        assert_eq!(cost_of(&prices, &TokenUsage::default()).total(), Cost::ZERO);
    }

    #[test]
    fn a_million_random_usages_sum_exactly() {
        let prices = catalog_prices("anthropic", "claude-sonnet-4-5");
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let mut total = Cost::ZERO;
        let (mut plain, mut cached, mut written, mut out) = (0u128, 0u128, 0u128, 0u128);
        for _ in 0..1_000_000 {
            let prompt = rng.u64(0..200_000);
            let c = rng.u64(0..=prompt);
            let w = rng.u64(0..=prompt - c);
            let completion = rng.u64(0..16_000);
            total += cost_of(&prices, &usage(prompt, c, w, completion, 0)).total();
            plain += u128::from(prompt - c - w);
            cached += u128::from(c);
            written += u128::from(w);
            out += u128::from(completion);
        }
        // Independently: per-part token sums times prices, in u128.
        let p = |price: Option<Price>| u128::from(price.unwrap().0);
        let expected = plain * u128::from(prices.input.0)
            + cached * p(prices.cached_input)
            + written * p(prices.cache_write)
            + out * u128::from(prices.output.0);
        assert_eq!(total.0, i128::try_from(expected).unwrap());
        assert!(total.0 > 0);
    }
}
