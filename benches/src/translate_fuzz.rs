//! `translate_fuzz`: a seeded fuzz and property run over every translator of
//! `gateway::formats` (issue 9, "Prove it"). Each case is one input for one
//! target: a valid request, answer or stream of the target's format, the same
//! damaged (wrong types, truncation, flipped bytes, duplicated keys, deep
//! nesting, numbers past every limit), a mutated fixture, random bytes, or a
//! value of the gateway's own model for the renderers and encoders; plus the
//! OpenAI -> Anthropic -> OpenAI round trip of `gateway/tests/
//! translate_round_trip.rs`. A panic, or a broken round trip, is a failure:
//! the run prints the seed, the case and its input, and exits non-zero.
//!
//! Case `i` of a run is made from its own seed (the run's seed and `i`), so
//! any case can be replayed alone with `--case i` whatever the thread count.
//! Usage: `translate_fuzz [--n 1000000] [--seed 1] [--threads 2] [--only NAME]
//! [--self-test]`
//! (or `FUZZ_N`, `FUZZ_SEED`, `FUZZ_THREADS`); `benches/translate_fuzz.sh`
//! builds and runs it.

#[path = "translate_fuzz/anthropic.rs"]
mod anthropic;
#[path = "translate_fuzz/gemini.rs"]
mod gemini;
#[path = "translate_fuzz/llm.rs"]
mod llm;
#[path = "translate_fuzz/mutate.rs"]
mod mutate;
#[path = "translate_fuzz/openai.rs"]
mod openai;
#[path = "translate_fuzz/passthrough.rs"]
mod passthrough;
#[path = "translate_fuzz/responses.rs"]
mod responses;
#[path = "../../gateway/tests/translate_round_trip.rs"]
mod round_trip;
#[path = "translate_fuzz/targets.rs"]
mod targets;
#[path = "translate_fuzz/values.rs"]
mod values;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use fastrand::Rng;

use targets::{Origin, Target};

#[derive(Parser)]
#[command(about = "Fuzz and property run over the gateway's format translators")]
struct Args {
    /// Cases in all, spread evenly over the targets.
    #[arg(long, env = "FUZZ_N", default_value_t = 1_000_000)]
    n: u64,
    /// Seed of the run.
    #[arg(long, env = "FUZZ_SEED", default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: the machine's cores).
    #[arg(long, env = "FUZZ_THREADS")]
    threads: Option<usize>,
    /// Only targets whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Replay one case (its index in the run) without catching its panic, and
    /// print its input.
    #[arg(long)]
    case: Option<u64>,
    /// Add a target that fails on purpose, to see failures caught and reported.
    #[arg(long)]
    self_test: bool,
    /// Failures printed in full.
    #[arg(long, default_value_t = 5)]
    show: usize,
}

/// Counts of one target.
#[derive(Clone, Default)]
struct Tally {
    cases: u64,
    valid: u64,
    mutated: u64,
    fixture: u64,
    random: u64,
    /// Cases from which at least one translated value came out.
    reached: u64,
    /// Generated (valid-shaped) cases that did.
    valid_reached: u64,
    panics: u64,
    broken: u64,
    slowest: Duration,
    slowest_case: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.cases += other.cases;
        self.valid += other.valid;
        self.mutated += other.mutated;
        self.fixture += other.fixture;
        self.random += other.random;
        self.reached += other.reached;
        self.valid_reached += other.valid_reached;
        self.panics += other.panics;
        self.broken += other.broken;
        if other.slowest > self.slowest {
            self.slowest = other.slowest;
            self.slowest_case = other.slowest_case;
        }
    }
}

/// A case that failed: a panic or a broken property.
struct Failure {
    case: u64,
    target: &'static str,
    what: String,
}

thread_local! {
    /// The message and place of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The seed of case `i` (splitmix64 of the run's seed and `i`).
fn case_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut targets: Vec<Target> = targets::all();
    if args.self_test {
        targets.push(targets::self_test());
    }
    targets.retain(|t| {
        args.only
            .as_deref()
            .is_none_or(|only| t.name.contains(only))
    });
    if targets.is_empty() {
        eprintln!("no target matches");
        return ExitCode::FAILURE;
    }
    if let Some(case) = args.case {
        return replay(&targets, args.seed, case);
    }
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("panic: {message}{place}")));
    }));

    println!(
        "translate_fuzz: {} cases, seed {}, {} threads, {} targets",
        args.n,
        args.seed,
        threads,
        targets.len()
    );
    let started = Instant::now();
    let results: Vec<(Vec<Tally>, Vec<Failure>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads as u64)
            .map(|worker| {
                let targets = &targets;
                let args = &args;
                scope.spawn(move || run(targets, args.seed, args.n, worker, threads as u64))
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let elapsed = started.elapsed();
    let _ = panic::take_hook();

    let mut tallies = vec![Tally::default(); targets.len()];
    let mut failures = Vec::new();
    for (worker_tallies, worker_failures) in results {
        for (sum, tally) in tallies.iter_mut().zip(&worker_tallies) {
            sum.add(tally);
        }
        failures.extend(worker_failures);
    }
    report(&targets, &tallies, elapsed);
    failures.sort_by_key(|f| f.case);
    for failure in failures.iter().take(args.show) {
        let target = &targets[(failure.case % targets.len() as u64) as usize];
        let mut rng = Rng::with_seed(case_seed(args.seed, failure.case));
        let (input, _) = target.input(&mut rng);
        println!(
            "\nFAILED {} seed {} case {}: {}\ninput: {}\nreplay: translate_fuzz --seed {} --case {}{}{}",
            failure.target,
            args.seed,
            failure.case,
            failure.what,
            input.show(20_000),
            args.seed,
            failure.case,
            args.only
                .as_deref()
                .map(|o| format!(" --only '{o}'"))
                .unwrap_or_default(),
            if args.self_test { " --self-test" } else { "" },
        );
    }
    let total: u64 = tallies.iter().map(|t| t.cases).sum();
    let failed = failures.len();
    println!(
        "\n{total} inputs, {failed} failures, {:.1} s ({:.0} inputs/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if failed == 0 && total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The cases `worker` owns (every `stride`-th), each on the target its index
/// names.
fn run(
    targets: &[Target],
    seed: u64,
    n: u64,
    worker: u64,
    stride: u64,
) -> (Vec<Tally>, Vec<Failure>) {
    let mut tallies = vec![Tally::default(); targets.len()];
    let mut failures = Vec::new();
    let mut case = worker;
    while case < n {
        let index = (case % targets.len() as u64) as usize;
        let target = &targets[index];
        let tally = &mut tallies[index];
        let mut rng = Rng::with_seed(case_seed(seed, case));
        let start = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            let (input, origin) = target.input(&mut rng);
            (origin, target.feed(&input))
        }));
        let took = start.elapsed();
        tally.cases += 1;
        if took > tally.slowest {
            tally.slowest = took;
            tally.slowest_case = case;
        }
        match outcome {
            Ok((origin, result)) => {
                match origin {
                    Origin::Valid => tally.valid += 1,
                    Origin::Mutated => tally.mutated += 1,
                    Origin::Fixture => tally.fixture += 1,
                    Origin::Random => tally.random += 1,
                }
                match result {
                    Ok(produced) => {
                        tally.reached += u64::from(produced > 0);
                        if origin == Origin::Valid {
                            tally.valid_reached += u64::from(produced > 0);
                        }
                    }
                    Err(what) => {
                        tally.broken += 1;
                        failures.push(Failure {
                            case,
                            target: target.name,
                            what,
                        });
                    }
                }
            }
            Err(_) => {
                tally.panics += 1;
                let what = LAST_PANIC
                    .with(|last| last.borrow_mut().take())
                    .unwrap_or_else(|| "panic".to_owned());
                failures.push(Failure {
                    case,
                    target: target.name,
                    what,
                });
            }
        }
        case += stride;
    }
    (tallies, failures)
}

/// One case, its panic uncaught (so a backtrace shows where).
fn replay(targets: &[Target], seed: u64, case: u64) -> ExitCode {
    let target = &targets[(case % targets.len() as u64) as usize];
    let mut rng = Rng::with_seed(case_seed(seed, case));
    let (input, origin) = target.input(&mut rng);
    println!(
        "{} case {case} ({origin:?}): {}",
        target.name,
        input.show(usize::MAX)
    );
    match target.feed(&input) {
        Ok(produced) => {
            println!("ok: {produced} values produced");
            ExitCode::SUCCESS
        }
        Err(what) => {
            println!("FAILED: {what}");
            ExitCode::FAILURE
        }
    }
}

fn report(targets: &[Target], tallies: &[Tally], elapsed: Duration) {
    println!(
        "\n| translator | inputs | generated | of which translated | mutated | fixture-based | random bytes | translated in all | panics | broken round trips | slowest input |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut sum = Tally::default();
    for (target, tally) in targets.iter().zip(tallies) {
        sum.add(tally);
        row(target.name, tally);
    }
    row("**total**", &sum);
    println!("\nwall time {:.1} s", elapsed.as_secs_f64());
}

fn row(name: &str, t: &Tally) {
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} ms (case {}) |",
        t.cases,
        t.valid,
        t.valid_reached,
        t.mutated,
        t.fixture,
        t.random,
        t.reached,
        t.panics,
        t.broken,
        t.slowest.as_secs_f64() * 1000.0,
        t.slowest_case
    );
}
