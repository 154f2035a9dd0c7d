//! The catalog file format (TOML) and its validation. A file with a mistake is
//! refused whole, with the entry at fault named, so a bad edit can never half-load.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Capabilities, Catalog, Kind, LongContextPrices, ModelEntry, PriceVersion};
use crate::date::Date;
use crate::money::Price;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid TOML: {0}")]
    Syntax(String),
    #[error("catalog entry {entry}: {message}")]
    Entry { entry: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    source: String,
    retrieved: String,
    #[serde(default)]
    models: Vec<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    provider: String,
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    kind: Option<String>,
    context_window: u64,
    max_output: Option<u64>,
    #[serde(default)]
    capabilities: Vec<String>,
    tier: u8,
    #[serde(default)]
    prices: Vec<RawPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    effective: String,
    until: Option<String>,
    input: Option<String>,
    output: Option<String>,
    cached_input: Option<String>,
    cache_write: Option<String>,
    reasoning: Option<String>,
    long_context: Option<RawLongContext>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLongContext {
    above_prompt_tokens: u64,
    input: String,
    output: String,
    cached_input: Option<String>,
}

/// Parses and validates a catalog file.
pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
    let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
    let mut entries = Vec::with_capacity(raw.models.len());
    // (provider, name) -> label of the entry that claimed it first.
    let mut names: HashMap<(String, String), String> = HashMap::new();
    for (i, model) in raw.models.into_iter().enumerate() {
        let label = format!("models[{i}] ({}/{})", model.provider, model.id);
        let fail = |message: String| CatalogError::Entry {
            entry: label.clone(),
            message,
        };
        let entry = validate_model(model).map_err(fail)?;
        for name in std::iter::once(&entry.id).chain(&entry.aliases) {
            let key = (entry.provider.clone(), name.clone());
            if let Some(first) = names.get(&key) {
                return Err(CatalogError::Entry {
                    entry: label,
                    message: format!("duplicate model id `{name}`, already used by {first}"),
                });
            }
            names.insert(key, label.clone());
        }
        entries.push(entry);
    }
    Ok(Catalog::new(raw.source, raw.retrieved, entries))
}

fn price(field: &str, text: Option<&String>) -> Result<Option<Price>, String> {
    text.map(|t| Price::from_usd_per_mtok(t).map_err(|e| format!("{field}: {e}")))
        .transpose()
}

fn required_price(field: &str, text: Option<&String>) -> Result<Price, String> {
    price(field, text)?.ok_or_else(|| format!("{field}: missing price"))
}

fn validate_model(raw: RawModel) -> Result<ModelEntry, String> {
    if raw.provider.is_empty() || raw.id.is_empty() {
        return Err("provider and id must not be empty".to_owned());
    }
    let kind = match raw.kind.as_deref() {
        None | Some("chat") => Kind::Chat,
        Some("embedding") => Kind::Embedding,
        Some(other) => return Err(format!("unknown kind `{other}` (chat or embedding)")),
    };
    let mut capabilities = Capabilities::empty();
    for name in &raw.capabilities {
        let capability = Capabilities::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Capabilities::NAMES.iter().map(|(n, _)| *n).collect();
            format!("unknown capability `{name}` (known: {})", known.join(", "))
        })?;
        capabilities = capabilities.union(capability);
    }
    if !(1..=5).contains(&raw.tier) {
        return Err(format!("tier {} is outside 1..=5", raw.tier));
    }
    if raw.context_window == 0 {
        return Err("context_window must be greater than 0".to_owned());
    }
    let max_output = raw.max_output.unwrap_or(raw.context_window);
    if raw.prices.is_empty() {
        return Err("missing prices: at least one [[models.prices]] entry".to_owned());
    }
    let mut prices = Vec::with_capacity(raw.prices.len());
    for (j, p) in raw.prices.iter().enumerate() {
        let field = |name: &str| format!("prices[{j}].{name}");
        let effective = Date::parse(&p.effective).ok_or_else(|| {
            format!(
                "{}: `{}` is not a date (YYYY-MM-DD)",
                field("effective"),
                p.effective
            )
        })?;
        let until = p
            .until
            .as_deref()
            .map(|u| {
                Date::parse(u).filter(|d| *d > effective).ok_or_else(|| {
                    format!("{}: `{u}` is not a date after `effective`", field("until"))
                })
            })
            .transpose()?;
        let long_context = p
            .long_context
            .as_ref()
            .map(|lc| -> Result<LongContextPrices, String> {
                Ok(LongContextPrices {
                    above_prompt_tokens: lc.above_prompt_tokens,
                    input: required_price(&field("long_context.input"), Some(&lc.input))?,
                    output: required_price(&field("long_context.output"), Some(&lc.output))?,
                    cached_input: price(
                        &field("long_context.cached_input"),
                        lc.cached_input.as_ref(),
                    )?,
                })
            })
            .transpose()?;
        prices.push(PriceVersion {
            effective,
            until,
            input: required_price(&field("input"), p.input.as_ref())?,
            output: if kind == Kind::Embedding {
                price(&field("output"), p.output.as_ref())?.unwrap_or_default()
            } else {
                required_price(&field("output"), p.output.as_ref())?
            },
            cached_input: price(&field("cached_input"), p.cached_input.as_ref())?,
            cache_write: price(&field("cache_write"), p.cache_write.as_ref())?,
            reasoning: price(&field("reasoning"), p.reasoning.as_ref())?,
            long_context,
        });
    }
    prices.sort_by_key(|p| p.effective);
    for pair in prices.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        if earlier.effective == later.effective
            || earlier.until.is_some_and(|u| u > later.effective)
        {
            return Err(format!(
                "price versions overlap: the one from {} runs into the one from {}",
                earlier.effective, later.effective
            ));
        }
    }
    Ok(ModelEntry {
        provider: raw.provider,
        id: raw.id,
        aliases: raw.aliases,
        kind,
        context_window: raw.context_window,
        max_output,
        capabilities,
        tier: raw.tier,
        prices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
source = "test"
retrieved = "2026-11-01"

[[models]]
provider = "openai"
id = "gpt-x"
aliases = ["gpt-x-latest"]
context_window = 1000
max_output = 100
capabilities = ["tools", "streaming"]
tier = 3
[[models.prices]]
effective = "2025-01-01"
input = "1.00"
output = "2.00"
[[models.prices]]
effective = "2025-06-01"
input = "0.50"
output = "1.50"
cached_input = "0.05"
"#;

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_loads_with_its_versions() {
        let catalog = parse(GOOD).unwrap();
        let entry = catalog.get("openai", "gpt-x-latest").unwrap();
        assert_eq!(entry.id, "gpt-x");
        let day = |s| Date::parse(s).unwrap();
        assert_eq!(
            entry.price_on(day("2025-03-01")).unwrap().version.input,
            Price(1_000_000)
        );
        assert_eq!(
            entry.price_on(day("2025-06-01")).unwrap().version.input,
            Price(500_000)
        );
        assert_eq!(
            entry.price_on(day("2025-06-01")).unwrap().to_string(),
            "openai/gpt-x@2025-06-01"
        );
        // Before the first version: the earliest known price.
        assert_eq!(
            entry.price_on(day("2024-12-31")).unwrap().version.effective,
            day("2025-01-01")
        );
        assert!(entry.capabilities.contains(Capabilities::TOOLS));
        assert!(!entry.capabilities.contains(Capabilities::VISION));
    }

    #[test]
    fn mistakes_are_refused_naming_the_entry() {
        let cases = [
            (GOOD.replace("input = \"1.00\"", "input = \"-1.00\""), "negative"),
            (GOOD.replace("input = \"1.00\"\n", ""), "prices[0].input: missing price"),
            (GOOD.replace("\"tools\"", "\"telepathy\""), "unknown capability `telepathy`"),
            (GOOD.replace("2025-06-01", "2025-01-01"), "overlap"),
            (
                GOOD.replace("effective = \"2025-01-01\"", "effective = \"2025-01-01\"\nuntil = \"2025-07-01\""),
                "overlap",
            ),
            (GOOD.replace("tier = 3", "tier = 9"), "tier 9"),
            (GOOD.replace("2025-06-01", "2025-06-31"), "not a date"),
            (format!("{GOOD}\n[[models]]\nprovider = \"openai\"\nid = \"gpt-x-latest\"\ncontext_window = 1\ntier = 1\n[[models.prices]]\neffective = \"2025-01-01\"\ninput = \"1\"\noutput = \"1\"\n"), "duplicate model id `gpt-x-latest`"),
        ];
        for (text, expected) in cases {
            let message = error_of(&text);
            assert!(
                message.contains(expected),
                "expected {expected:?} in {message}"
            );
            assert!(
                message.contains("(openai/gpt-x") || message.contains("models[1]"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_embedded_catalog_is_valid_and_broad() {
        let catalog = Catalog::embedded().unwrap();
        let chat = catalog
            .entries()
            .iter()
            .filter(|e| e.kind == Kind::Chat)
            .count();
        assert!(chat >= 40, "only {chat} chat models");
        for provider in [
            "openai",
            "anthropic",
            "gemini",
            "mistral",
            "deepseek",
            "groq",
            "together_ai",
            "fireworks_ai",
        ] {
            assert!(
                catalog.entries().iter().any(|e| e.provider == provider),
                "no models of {provider}"
            );
        }
        assert!(!catalog.source.is_empty() && Date::parse(&catalog.retrieved).is_some());
    }
}
