//! Import of LiteLLM's `model_prices_and_context_window.json`, the most widely
//! used public price table, so users can bring it as a catalog. Prices are read
//! from the JSON number text itself (never through a float), so `2.5e-06` USD per
//! token becomes exactly 2,500,000 micro-USD per million tokens.
//!
//! LiteLLM has no quality tiers; imported entries get one from their output price
//! (see [`tier_from_output_price`]), which a catalog file can override.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Capabilities, Catalog, Kind, LongContextPrices, ModelEntry, PriceVersion};
use crate::date::Date;
use crate::money::Price;

#[derive(Deserialize)]
struct LiteModel<'a> {
    litellm_provider: Option<String>,
    mode: Option<String>,
    #[serde(borrow)]
    max_input_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_output_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    input_cost_per_token: Option<&'a RawValue>,
    #[serde(borrow)]
    output_cost_per_token: Option<&'a RawValue>,
    #[serde(borrow)]
    cache_read_input_token_cost: Option<&'a RawValue>,
    #[serde(borrow)]
    cache_creation_input_token_cost: Option<&'a RawValue>,
    #[serde(borrow)]
    output_cost_per_reasoning_token: Option<&'a RawValue>,
    #[serde(borrow)]
    input_cost_per_token_above_200k_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    output_cost_per_token_above_200k_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    cache_read_input_token_cost_above_200k_tokens: Option<&'a RawValue>,
    supports_function_calling: Option<bool>,
    supports_vision: Option<bool>,
    supports_response_schema: Option<bool>,
    supports_native_streaming: Option<bool>,
}

/// What an import produced and what it left out, with the reason.
#[derive(Debug)]
pub struct Import {
    pub catalog: Catalog,
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a LiteLLM price table: {0}")]
pub struct ImportError(String);

/// A quality tier from the output list price (USD per million tokens):
/// >= 30: 5, >= 8: 4, >= 2: 3, >= 0.5: 2, else 1.
pub fn tier_from_output_price(output: Price) -> u8 {
    match output.0 {
        p if p >= 30_000_000 => 5,
        p if p >= 8_000_000 => 4,
        p if p >= 2_000_000 => 3,
        p if p >= 500_000 => 2,
        _ => 1,
    }
}

fn price(raw: Option<&RawValue>) -> Result<Option<Price>, String> {
    raw.map(|r| Price::from_usd_per_token(r.get()).map_err(|e| e.to_string()))
        .transpose()
}

fn tokens(raw: Option<&RawValue>) -> Option<u64> {
    raw.and_then(|r| r.get().parse::<u64>().ok())
}

/// Imports every chat and embedding model with input and output prices, dating
/// the prices `effective`. Entries without prices, other modes and the spec's
/// `sample_spec` are skipped and listed.
pub fn import(json: &str, effective: Date) -> Result<Import, ImportError> {
    let table: BTreeMap<String, &RawValue> =
        serde_json::from_str(json).map_err(|e| ImportError(e.to_string()))?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (key, raw) in table {
        match convert(&key, raw, effective) {
            Ok(entry) => {
                if seen.insert((entry.provider.clone(), entry.id.clone())) {
                    entries.push(entry);
                } else {
                    skipped.push((key, "same provider and id as an earlier entry".to_owned()));
                }
            }
            Err(reason) => skipped.push((key, reason)),
        }
    }
    Ok(Import {
        catalog: Catalog::new(
            "LiteLLM model_prices_and_context_window.json".to_owned(),
            effective.to_string(),
            entries,
        ),
        skipped,
    })
}

fn convert(key: &str, raw: &RawValue, effective: Date) -> Result<ModelEntry, String> {
    let model: LiteModel = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let kind = match model.mode.as_deref() {
        Some("chat") => Kind::Chat,
        Some("embedding") => Kind::Embedding,
        other => return Err(format!("mode {other:?} is not chat or embedding")),
    };
    let provider = model.litellm_provider.ok_or("no litellm_provider")?;
    let input = price(model.input_cost_per_token)?.ok_or("no input price")?;
    let output = match (price(model.output_cost_per_token)?, kind) {
        (Some(p), _) => p,
        (None, Kind::Embedding) => Price(0),
        (None, Kind::Chat) => return Err("no output price".to_owned()),
    };
    let long_context = match (
        price(model.input_cost_per_token_above_200k_tokens)?,
        price(model.output_cost_per_token_above_200k_tokens)?,
    ) {
        (Some(lc_input), Some(lc_output)) => Some(LongContextPrices {
            above_prompt_tokens: 200_000,
            input: lc_input,
            output: lc_output,
            cached_input: price(model.cache_read_input_token_cost_above_200k_tokens)?,
        }),
        _ => None,
    };
    let context_window = tokens(model.max_input_tokens)
        .or(tokens(model.max_tokens))
        .ok_or("no context window")?;
    let mut capabilities = Capabilities::empty();
    for (flag, capability) in [
        (model.supports_function_calling, Capabilities::TOOLS),
        (model.supports_vision, Capabilities::VISION),
        (model.supports_response_schema, Capabilities::JSON_SCHEMA),
    ] {
        if flag == Some(true) {
            capabilities = capabilities.union(capability);
        }
    }
    if kind == Kind::Chat && model.supports_native_streaming != Some(false) {
        capabilities = capabilities.union(Capabilities::STREAMING);
    }
    if kind == Kind::Embedding {
        capabilities = capabilities.union(Capabilities::EMBEDDINGS);
    }
    let prefix = format!("{provider}/");
    let id = key.strip_prefix(&prefix).unwrap_or(key).to_owned();
    Ok(ModelEntry {
        provider,
        id,
        aliases: Vec::new(),
        kind,
        context_window,
        max_output: tokens(model.max_output_tokens).unwrap_or(context_window),
        capabilities,
        tier: tier_from_output_price(output),
        prices: vec![PriceVersion {
            effective,
            until: None,
            input,
            output,
            cached_input: price(model.cache_read_input_token_cost)?,
            cache_write: price(model.cache_creation_input_token_cost)?,
            reasoning: price(model.output_cost_per_reasoning_token)?,
            long_context,
        }],
    })
}
