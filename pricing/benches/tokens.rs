//! Token estimation for 1k- and 8k-token prompts: the free byte bound every
//! request gets, and the exact count made only near a context limit.
//! Run: `cargo bench -p pricing --bench tokens`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pricing::tokens::{count, upper_bound, PromptShape, Tokenizer};

/// English-like prose of about `tokens` o200k tokens.
fn prose(tokens: usize) -> String {
    let words = [
        "the",
        "gateway",
        "routes",
        "each",
        "request",
        "to",
        "a",
        "cheaper",
        "model",
        "when",
        "it",
        "can",
        "and",
        "records",
        "what",
        "happened,",
        "never",
        "the",
        "prompt",
        "itself.",
    ];
    let mut text = String::new();
    let mut i = 0;
    while text.len() < tokens * 4 {
        text.push_str(words[i % words.len()]);
        text.push(' ');
        i += 7;
    }
    text
}

fn tokens(c: &mut Criterion) {
    let mut group = c.benchmark_group("tokens");
    for size in [1_000usize, 8_000] {
        let text = prose(size);
        let exact = count(Tokenizer::O200k, [text.as_str()], 1, 0);
        eprintln!(
            "prompt of ~{size} tokens: {} bytes, {exact} o200k tokens",
            text.len()
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        let shape = PromptShape {
            text_bytes: text.len() as u64,
            messages: 1,
            images: 0,
        };
        group.bench_with_input(BenchmarkId::new("byte_bound", size), &shape, |b, shape| {
            b.iter(|| upper_bound(std::hint::black_box(*shape)))
        });
        for (name, tokenizer) in [
            ("o200k", Tokenizer::O200k),
            ("cl100k", Tokenizer::Cl100k),
            ("estimated", Tokenizer::Estimated),
        ] {
            group.bench_with_input(BenchmarkId::new(name, size), &text, |b, text| {
                b.iter(|| count(tokenizer, [std::hint::black_box(text.as_str())], 1, 0))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
