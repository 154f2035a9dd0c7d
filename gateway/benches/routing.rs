//! The routing decision on large tables: 320 synthetic models across 8 providers,
//! and every chat model of the public LiteLLM table when it is present.
//! Target: at most 10 µs per decision (issue 3). Run: `cargo bench -p gateway --bench routing`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gateway::config::{Endpoint, Flavor, ProviderConfig, ProviderKey, Timeouts};
use gateway::routing::health::LiveHealth;
use gateway::routing::{decide, Mode, Policy, Requirements, RoutingTable};
use pricing::tokens::PromptShape;
use pricing::{Capabilities, Catalog, Date};

fn provider(name: &str) -> ProviderConfig {
    let t = Duration::from_secs(1);
    ProviderConfig {
        name: name.to_owned(),
        catalog: name.to_owned(),
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

/// 320 chat models over 8 providers with spread prices, tiers, windows and
/// capabilities; model `model-0` exists at every provider.
fn synthetic_catalog() -> String {
    let mut text = String::from("source = \"bench\"\nretrieved = \"2026-01-01\"\n");
    for p in 0..8 {
        for m in 0..40 {
            let id = if m == 0 {
                "model-0".to_owned()
            } else {
                format!("model-{p}-{m}")
            };
            let caps = match m % 4 {
                0 => r#"["tools", "vision", "json_schema", "streaming"]"#,
                1 => r#"["tools", "streaming"]"#,
                2 => r#"["vision", "streaming"]"#,
                _ => r#"["streaming"]"#,
            };
            text.push_str(&format!(
                "[[models]]\nprovider = \"p{p}\"\nid = \"{id}\"\ncontext_window = {}\ncapabilities = {caps}\ntier = {}\n\
                 [[models.prices]]\neffective = \"2026-01-01\"\ninput = \"{}.{:02}\"\noutput = \"{}.{:02}\"\n",
                [8_192, 32_768, 128_000, 1_000_000][m % 4],
                1 + (m + p) % 5,
                (m * 7 + p) % 10,
                (m * 13) % 100,
                (m * 11 + p) % 40,
                (m * 17) % 100,
            ));
        }
    }
    text
}

fn requirements(capabilities: Capabilities, prompt_tokens: u64) -> Requirements {
    Requirements {
        capabilities,
        prompt: PromptShape {
            text_bytes: prompt_tokens * 4,
            messages: 4,
            images: 0,
        },
        prompt_tokens: prompt_tokens * 4,
        prompt_tokens_exact: false,
        max_output_tokens: Some(1_000),
        endpoint: Endpoint::Chat,
    }
}

fn bench_table(
    c: &mut Criterion,
    label: &str,
    table: &RoutingTable,
    providers: usize,
    model: &str,
) {
    let health = LiveHealth::new(
        providers,
        table.deployments().len(),
        5,
        Duration::from_secs(30),
    );
    let day = Date::parse("2026-06-01").unwrap();
    let mut group = c.benchmark_group(format!("decide/{label}"));
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("strict", Mode::Strict, model),
        ("equivalent", Mode::Equivalent, model),
        ("shadow", Mode::Shadow, model),
        ("auto", Mode::Strict, "auto"),
    ];
    for (name, mode, requested) in cases {
        let policy = Policy {
            mode,
            ..Policy::default()
        };
        let req = requirements(Capabilities::TOOLS.union(Capabilities::STREAMING), 1_000);
        decide(requested, &req, table, &policy, &health, day).unwrap();
        group.bench_with_input(
            BenchmarkId::new(name, table.deployments().len()),
            &req,
            |b, req| {
                b.iter(|| {
                    decide(
                        std::hint::black_box(requested),
                        req,
                        table,
                        &policy,
                        &health,
                        day,
                    )
                })
            },
        );
    }
    group.finish();
}

fn routing(c: &mut Criterion) {
    let catalog = pricing::catalog::parse(&synthetic_catalog()).unwrap();
    let providers: Vec<ProviderConfig> = (0..8).map(|p| provider(&format!("p{p}"))).collect();
    let table = RoutingTable::build(&providers, &[], &catalog).unwrap();
    assert_eq!(table.deployments().len(), 320);
    bench_table(c, "synthetic", &table, providers.len(), "model-0");

    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/litellm_model_prices.json");
    match std::fs::read_to_string(&snapshot) {
        Ok(json) => {
            let import =
                pricing::catalog::litellm::import(&json, Date::parse("2026-01-01").unwrap())
                    .unwrap();
            let names: Vec<String> = {
                let mut names: Vec<String> = import
                    .catalog
                    .entries()
                    .iter()
                    .map(|e| e.provider.clone())
                    .collect();
                names.sort();
                names.dedup();
                names
            };
            let providers: Vec<ProviderConfig> = names.iter().map(|n| provider(n)).collect();
            let full: Catalog = import.catalog;
            let table = RoutingTable::build(&providers, &[], &full).unwrap();
            bench_table(c, "litellm", &table, providers.len(), "gpt-4o");
        }
        Err(_) => eprintln!(
            "LiteLLM snapshot absent at {}: only the synthetic table is measured",
            snapshot.display()
        ),
    }
}

criterion_group!(benches, routing);
criterion_main!(benches);
