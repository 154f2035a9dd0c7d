//! The LiteLLM importer against a small fixture of its real shapes, and against
//! the whole public snapshot in `shared/data`, which must agree with our catalog.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup must stop the test"
)]

use pricing::catalog::litellm;
use pricing::{Capabilities, Catalog, Date, Kind, Price};

const FIXTURE: &str = include_str!("fixtures/litellm/small.json");

fn mtok(text: &str) -> Price {
    Price::from_usd_per_mtok(text).unwrap()
}

#[test]
fn imports_chat_and_embedding_models_exactly() {
    let day = Date::parse("2026-11-25").unwrap();
    let import = litellm::import(FIXTURE, day).unwrap();
    let catalog = &import.catalog;
    assert_eq!(catalog.entries().len(), 5);

    let gpt = catalog.get("openai", "gpt-4o").unwrap();
    let prices = &gpt.prices[0];
    assert_eq!((prices.input, prices.output), (mtok("2.5"), mtok("10")));
    assert_eq!(prices.cached_input, Some(mtok("1.25")));
    assert_eq!(prices.effective, day);
    assert_eq!(
        (gpt.context_window, gpt.max_output, gpt.tier),
        (128_000, 16_384, 4)
    );
    assert!(gpt
        .capabilities
        .contains(Capabilities::TOOLS.union(Capabilities::VISION)));

    let gemini = catalog.get("gemini", "gemini-2.5-pro").unwrap();
    let long = gemini.prices[0].long_context.unwrap();
    assert_eq!(long.above_prompt_tokens, 200_000);
    assert_eq!(
        (long.input, long.output, long.cached_input),
        (mtok("2.5"), mtok("15"), Some(mtok("0.25")))
    );

    let claude = catalog.get("anthropic", "claude-sonnet-4-5").unwrap();
    assert_eq!(claude.prices[0].cache_write, Some(mtok("3.75")));
    assert_eq!(claude.prices[0].cached_input, Some(mtok("0.3")));

    let o3 = catalog.get("openai", "o3-mini").unwrap();
    assert_eq!(o3.prices[0].reasoning, Some(mtok("4.4")));

    let embed = catalog.get("openai", "text-embedding-3-small").unwrap();
    assert_eq!(embed.kind, Kind::Embedding);
    assert_eq!(embed.prices[0].input, mtok("0.02"));

    let skipped: Vec<&str> = import.skipped.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(skipped, ["dall-e-3", "mystery-chat", "sample_spec"]);
}

#[test]
fn refuses_what_is_not_a_price_table() {
    assert!(litellm::import("[1, 2]", Date(0)).is_err());
    assert!(litellm::import("not json", Date(0)).is_err());
}

fn snapshot_path() -> std::path::PathBuf {
    match std::env::var_os("LITELLM_PRICES") {
        Some(path) => path.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/litellm_model_prices.json"),
    }
}

#[test]
fn the_public_snapshot_agrees_with_our_catalog() {
    let path = snapshot_path();
    let json = match std::fs::read_to_string(&path) {
        Ok(json) => json,
        Err(error) if std::env::var_os("GATEWAY_ALLOW_MISSING_SHARED").is_some() => {
            eprintln!(
                "SKIPPED: LiteLLM snapshot {} is absent ({error})",
                path.display()
            );
            return;
        }
        Err(error) => panic!(
            "the LiteLLM snapshot {} is absent ({error}); set LITELLM_PRICES to its path, \
             or GATEWAY_ALLOW_MISSING_SHARED=1 to skip this test",
            path.display()
        ),
    };
    let import = litellm::import(&json, Date::parse("2026-11-25").unwrap()).unwrap();
    assert!(
        import.catalog.entries().len() > 1_000,
        "imported {}",
        import.catalog.entries().len()
    );

    let ours = Catalog::embedded().unwrap();
    let mut compared = 0;
    for entry in ours.entries() {
        let theirs = import
            .catalog
            .get(&entry.provider, &entry.id)
            .unwrap_or_else(|| panic!("{}/{} is not in the snapshot", entry.provider, entry.id));
        let (a, b) = (&entry.prices[0], &theirs.prices[0]);
        let label = format!("{}/{}", entry.provider, entry.id);
        assert_eq!(a.input, b.input, "{label} input");
        assert_eq!(a.output, b.output, "{label} output");
        assert_eq!(a.cached_input, b.cached_input, "{label} cached");
        assert_eq!(
            a.cache_write,
            b.cache_write.filter(|p| p.0 > 0),
            "{label} cache write"
        );
        assert_eq!(
            a.reasoning.unwrap_or(a.output),
            b.reasoning.unwrap_or(b.output),
            "{label} reasoning"
        );
        assert_eq!(a.long_context, b.long_context, "{label} long context");
        assert_eq!(
            entry.context_window, theirs.context_window,
            "{label} context"
        );
        compared += 1;
    }
    assert_eq!(compared, ours.entries().len());
}

/// Gemini reports cached prompt tokens (`cachedContentTokenCount`) and
/// thinking tokens (`thoughtsTokenCount`): every Gemini model of the catalog
/// prices the first below the input price, and the second as output (no
/// reasoning price of its own, as in the LiteLLM table), so the gateway's
/// Gemini adapter bills neither at the wrong price.
#[test]
fn every_gemini_model_prices_cached_input_and_thinks_at_the_output_price() {
    let ours = Catalog::embedded().unwrap();
    let gemini: Vec<_> = ours
        .entries()
        .iter()
        .filter(|e| e.provider == "gemini" && e.kind == Kind::Chat)
        .collect();
    assert!(gemini.len() >= 5, "{} Gemini models", gemini.len());
    for entry in gemini {
        for prices in &entry.prices {
            let cached = prices
                .cached_input
                .unwrap_or_else(|| panic!("gemini/{} has no cached-input price", entry.id));
            assert!(cached.0 < prices.input.0, "gemini/{}", entry.id);
            assert_eq!(
                prices.reasoning.unwrap_or(prices.output),
                prices.output,
                "gemini/{}",
                entry.id
            );
        }
    }
}
