//! Token estimation: the free byte bound every request gets, and the exact count
//! made only near a context limit, with the linear-time tokenizer `tokens` uses
//! (`bpe-openai`) side by side with tiktoken-rs, which it replaced.
//!
//! * `tokens/normal`: 1k- and 8k-token English prompts;
//! * `tokens/adversarial`: one word of one letter, punctuation and mixed scripts
//!   at 16 KiB, 64 KiB and 1 MiB. tiktoken is quadratic on the first two (a
//!   1 MiB run would take minutes per iteration, and its regex panics on runs of
//!   about a million characters), so it is measured there at 16 and 64 KiB only;
//!   what it does on 1 MiB is printed once, before the measurements.
//!
//! Run: `cargo bench -p pricing --bench tokens`.

use std::time::{Duration, Instant};

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

/// `unit` repeated to `bytes` (cut back to a character boundary).
fn fill(unit: &str, bytes: usize) -> String {
    let mut text = unit.repeat(bytes / unit.len() + 1);
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

const ADVERSARIAL: [(&str, &str); 3] = [
    ("word", "a"),
    ("punctuation", "!@#$%^&*()"),
    (
        "mixed_scripts",
        "日本語Ελληνικάрусскийעבריתالعربية한국어ไทยहिन्दी😀e\u{301}",
    ),
];

const KIB: usize = 1024;

fn tiktoken() -> tiktoken_rs::CoreBPE {
    match tiktoken_rs::o200k_base() {
        Ok(bpe) => bpe,
        Err(error) => {
            eprintln!("cannot load tiktoken's o200k: {error}");
            std::process::exit(1)
        }
    }
}

/// tiktoken once on each 1 MiB adversarial text: time, or the panic it ends in.
fn tiktoken_on_one_mebibyte() {
    let bpe = tiktoken();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (name, unit) in ADVERSARIAL {
        let text = fill(unit, 1024 * KIB);
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| bpe.encode_ordinary(&text).len());
        let took = started.elapsed();
        match outcome {
            Ok(tokens) => eprintln!("tiktoken o200k, 1 MiB {name}: {tokens} tokens in {took:.2?}"),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map_or("(no message)", String::as_str);
                eprintln!("tiktoken o200k, 1 MiB {name}: panicked after {took:.2?}: {message}");
            }
        }
    }
    std::panic::set_hook(quiet);
}

fn normal(c: &mut Criterion) {
    let mut group = c.benchmark_group("tokens/normal");
    let reference = tiktoken();
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
            ("bpe_o200k", Tokenizer::O200k),
            ("bpe_cl100k", Tokenizer::Cl100k),
            ("bpe_estimated", Tokenizer::Estimated),
        ] {
            group.bench_with_input(BenchmarkId::new(name, size), &text, |b, text| {
                b.iter(|| count(tokenizer, [std::hint::black_box(text.as_str())], 1, 0))
            });
        }
        group.bench_with_input(
            BenchmarkId::new("tiktoken_o200k", size),
            &text,
            |b, text| b.iter(|| reference.encode_ordinary(std::hint::black_box(text)).len()),
        );
    }
    group.finish();
}

fn adversarial(c: &mut Criterion) {
    tiktoken_on_one_mebibyte();
    let reference = tiktoken();
    let mut group = c.benchmark_group("tokens/adversarial");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    for (name, unit) in ADVERSARIAL {
        for size in [16 * KIB, 64 * KIB, 1024 * KIB] {
            let text = fill(unit, size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            let label = format!("{name}/{}KiB", size / KIB);
            group.bench_with_input(BenchmarkId::new("bpe_o200k", &label), &text, |b, text| {
                b.iter(|| {
                    count(
                        Tokenizer::O200k,
                        [std::hint::black_box(text.as_str())],
                        1,
                        0,
                    )
                })
            });
            let quadratic = name != "mixed_scripts";
            if !quadratic || size <= 64 * KIB {
                group.bench_with_input(
                    BenchmarkId::new("tiktoken_o200k", &label),
                    &text,
                    |b, text| {
                        b.iter(|| reference.encode_ordinary(std::hint::black_box(text)).len())
                    },
                );
            }
        }
    }
    group.finish();
}

criterion_group!(benches, normal, adversarial);
criterion_main!(benches);
