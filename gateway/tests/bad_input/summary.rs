//! What a run saw: every panic in the process, and a tally of the cases by
//! category, mutation and outcome, printed so a run can be read at a glance.
//! Failures are kept with the whole case, so one can be replayed by hand.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use crate::cases::Case;
use crate::check::Seen;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Starts counting every panic in the process: the gateway and the mock run as
/// tasks in it, so a panic in either counts. (So does a failing test that runs
/// alongside; that test fails too, so nothing is hidden.)
pub fn count_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Panics so far, once [`count_panics`] has been called.
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

#[derive(Default)]
pub struct Summary {
    by_category: BTreeMap<String, usize>,
    by_op: BTreeMap<String, usize>,
    by_outcome: BTreeMap<String, usize>,
    pub failures: Vec<String>,
}

impl Summary {
    /// Adds case number `i` and its result.
    pub fn add(&mut self, i: usize, case: &Case, result: &Result<Seen, String>) {
        let (category, ops) = case.label.split_once('/').unwrap_or((&case.label, ""));
        *self.by_category.entry(category.to_owned()).or_default() += 1;
        for op in ops.split('+') {
            let op = op.split('@').next().unwrap_or(op);
            *self.by_op.entry(format!("{category}/{op}")).or_default() += 1;
        }
        match result {
            Ok(seen) => {
                let outcome = match seen {
                    Seen::App(status) => format!("app {status}"),
                    Seen::Hyper(status) => format!("hyper {status} (framing)"),
                    Seen::Closed => "closed (framing)".to_owned(),
                };
                *self.by_outcome.entry(outcome).or_default() += 1;
            }
            Err(why) => self.failures.push(format!(
                "case {i} [{}] (framing: {}, expect: {:?}): {why}\n    {}",
                case.label,
                case.framing,
                case.expect,
                case.describe()
            )),
        }
    }

    pub fn print(&self) {
        println!("by category: {:?}", self.by_category);
        println!("by mutation: {:#?}", self.by_op);
        println!("outcomes: {:#?}", self.by_outcome);
    }

    /// The first `n` failures, for the assertion message.
    pub fn first_failures(&self, n: usize) -> String {
        self.failures
            .iter()
            .take(n)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}
