//! What a deployed model is billed at: a catalog entry's list prices (versioned by
//! effective date), or fixed prices an operator wrote down for a model the
//! catalog does not price (a self-hosted model, a negotiated rate). A model with
//! neither has no rate at all: its cost is unknown, never zero.
//!
//! A [`Quote`] is a rate's prices on one day with the name that explains them:
//! `provider/id@effective-date` for catalog prices, `<label>@config` for fixed
//! ones. Naming the prices lets a stored cost be explained and re-priced later.

use std::fmt;
use std::sync::Arc;

use crate::catalog::{ModelEntry, PriceRef, PriceVersion};
use crate::date::Date;
use crate::money::Price;

/// Fixed prices, in force every day, and what to call them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedRate {
    /// Where the prices were set, e.g. `local/llama-local` (a config model).
    pub label: String,
    /// Only the prices are read; `effective` and `until` are ignored.
    pub prices: PriceVersion,
}

impl FixedRate {
    /// Input and output prices (and optionally cached input), nothing else.
    pub fn new(label: String, input: Price, output: Price, cached_input: Option<Price>) -> Self {
        FixedRate {
            label,
            prices: PriceVersion {
                effective: Date(0),
                until: None,
                input,
                output,
                cached_input,
                cache_write: None,
                reasoning: None,
                long_context: None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rate {
    /// A catalog entry's versioned list prices.
    Catalog(Arc<ModelEntry>),
    /// Fixed prices set by the operator.
    Fixed(Arc<FixedRate>),
}

/// A rate's prices on one day, displayed as the name of those prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote<'a> {
    pub prices: &'a PriceVersion,
    source: Source<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source<'a> {
    Catalog(PriceRef<'a>),
    Fixed(&'a str),
}

impl Rate {
    /// The prices in force on `day` (catalog gaps have none).
    pub fn prices_on(&self, day: Date) -> Option<&PriceVersion> {
        match self {
            Rate::Catalog(entry) => entry.price_on(day).map(|r| r.version),
            Rate::Fixed(fixed) => Some(&fixed.prices),
        }
    }

    /// The prices in force on `day`, with their name.
    pub fn quote(&self, day: Date) -> Option<Quote<'_>> {
        match self {
            Rate::Catalog(entry) => entry.price_on(day).map(|reference| Quote {
                prices: reference.version,
                source: Source::Catalog(reference),
            }),
            Rate::Fixed(fixed) => Some(Quote {
                prices: &fixed.prices,
                source: Source::Fixed(&fixed.label),
            }),
        }
    }

    /// The newest input price: orders the deployments of one model by price.
    pub fn current_input(&self) -> Option<Price> {
        match self {
            Rate::Catalog(entry) => entry.current_price().map(|r| r.version.input),
            Rate::Fixed(fixed) => Some(fixed.prices.input),
        }
    }
}

impl fmt::Display for Quote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Catalog(reference) => reference.fmt(f),
            Source::Fixed(label) => write!(f, "{label}@config"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn catalog_rates_follow_versions_and_fixed_rates_hold_every_day() {
        let catalog = Catalog::embedded().unwrap();
        let entry = Arc::new(catalog.get("openai", "gpt-4o").unwrap().clone());
        let catalog_rate = Rate::Catalog(entry.clone());
        let day = Date::parse("2026-12-01").unwrap();
        let quote = catalog_rate.quote(day).unwrap();
        assert_eq!(quote.to_string(), entry.price_on(day).unwrap().to_string());
        assert_eq!(quote.prices.input, Price(2_500_000));
        assert_eq!(catalog_rate.current_input(), Some(Price(2_500_000)));

        let fixed = Rate::Fixed(Arc::new(FixedRate::new(
            "local/llama-local".to_owned(),
            Price(0),
            Price(0),
            None,
        )));
        for day in [Date(0), day, Date(i32::MAX)] {
            let quote = fixed.quote(day).unwrap();
            assert_eq!(quote.to_string(), "local/llama-local@config");
            assert_eq!(quote.prices.output, Price(0));
            assert_eq!(fixed.prices_on(day), Some(quote.prices));
        }
    }
}
