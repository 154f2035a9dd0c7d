//! Exact token counts, kept off the async workers.
//!
//! Counting costs CPU in proportion to the prompt (milliseconds per megabyte with
//! the linear-time tokenizer, far more with a quadratic one), and a prompt is
//! chosen by the client: run on a runtime worker, a few such requests would stall
//! every other request, health checks included. So counts run on a few dedicated
//! threads behind a bounded queue, each under a budget:
//! * input: prompts with more text than `max_bytes` are not counted at all;
//! * queue: when `queue` counts already wait, a new one is not queued;
//! * time: a count not finished `timeout` after it was asked for is abandoned
//!   (the thread stops at its next check, the request stops waiting at once).
//!
//! Over budget the request keeps its byte bound, which no tokenizer exceeds (see
//! `pricing::tokens`): routing can then only err towards a larger window or a
//! "context too long" answer, never towards overfilling a model. Each outcome is
//! counted in `gateway_token_counts_total{outcome}`.
//!
//! What is counted, and how, is the caller's closure (`requirements::count_prompt`);
//! this module only owns the threads, the queue and the clock.
//!
//! Reading a large body's JSON (to find its messages and their size) is linear too
//! and stays on the request's task, but [`scan`] hands the worker's other tasks to
//! another thread meanwhile, so that they do not wait behind a multi-megabyte body.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use pricing::tokens::Tokenizer;
use tokio::sync::oneshot;

/// How the budget of one count is set (from `[routing]`, reloadable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CountBudget {
    /// Prompts with more text bytes than this are not counted.
    pub(crate) max_bytes: u64,
    /// From the request for a count to its answer, queueing included.
    pub(crate) timeout: Duration,
}

/// The counting threads (read at start; a reload does not resize them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolSize {
    pub(crate) threads: usize,
    /// Counts that may wait for a thread.
    pub(crate) queue: usize,
    /// How much nicer than the rest of the gateway the threads run (Linux; 0 to
    /// 19): with spare CPU they count at full speed, without it the async
    /// workers go first and counts run out of time instead.
    pub(crate) nice: u8,
}

/// Why a prompt kept its byte bound instead of an exact count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skipped {
    TooLarge,
    QueueFull,
    TimedOut,
    /// The counting threads are gone, or the count failed (it panicked, or the
    /// body no longer parsed); never expected, counted all the same.
    Failed,
}

impl Skipped {
    /// The metric label of each outcome, `counted` for a count that was made.
    pub(crate) fn label(outcome: Result<(), Skipped>) -> &'static str {
        match outcome {
            Ok(()) => "counted",
            Err(Skipped::TooLarge) => "too_large",
            Err(Skipped::QueueFull) => "queue_full",
            Err(Skipped::TimedOut) => "timed_out",
            Err(Skipped::Failed) => "failed",
        }
    }
}

/// Bodies from this size on are read with [`scan`]'s hand-off (about a
/// millisecond of JSON scanning).
pub(crate) const LARGE_BODY_BYTES: usize = 256 * 1024;

/// Runs `work`, whose cost is linear in a request body of `bytes`, so that a
/// large body does not hold up the other tasks queued on this async worker: on
/// the multi-threaded runtime the worker hands them to another thread for the
/// duration (`block_in_place`). Small bodies, and single-threaded runtimes
/// (tests), run it inline.
pub(crate) fn scan<T>(bytes: usize, work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi_threaded = Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::MultiThread);
    if bytes >= LARGE_BODY_BYTES && multi_threaded {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The tokenizer every count of the gateway uses (see `pricing::tokens`).
pub(crate) const TOKENIZER: Tokenizer = Tokenizer::Estimated;

pub(crate) struct CountPool {
    jobs: SyncSender<Job>,
    /// Passed once the vocabulary has started loading: on the first count, not
    /// at start, because a loaded vocabulary holds tens of megabytes and most
    /// prompts are decided by their byte bound alone, never counted.
    loading: Once,
}

impl CountPool {
    /// Starts `size.threads` counting threads (at least one).
    pub(crate) fn start(size: PoolSize) -> std::io::Result<CountPool> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(size.queue);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..size.threads.max(1) {
            let queue = queue.clone();
            let nice = size.nice;
            std::thread::Builder::new()
                .name(format!("token-count-{i}"))
                .spawn(move || {
                    lower_priority(nice);
                    work(&queue);
                })?;
        }
        Ok(CountPool {
            jobs,
            loading: Once::new(),
        })
    }

    /// Runs `count` on a counting thread, within `budget`. `count` is handed a
    /// `keep_going` check to call between pieces of work; it turns false at the
    /// deadline, and `count` should then return `None`.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        text_bytes: u64,
        budget: CountBudget,
        count: impl FnOnce(&mut dyn FnMut() -> bool) -> Option<T> + Send + 'static,
    ) -> Result<T, Skipped> {
        if text_bytes > budget.max_bytes {
            return Err(Skipped::TooLarge);
        }
        self.loading.call_once(load_vocabulary);
        let deadline = Instant::now() + budget.timeout;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let mut keep_going = || Instant::now() < deadline;
            let outcome = if keep_going() {
                count(&mut keep_going).ok_or(Skipped::TimedOut)
            } else {
                Err(Skipped::TimedOut)
            };
            // The request may have stopped waiting.
            let _ = reply.send(outcome);
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Skipped::QueueFull),
            Err(TrySendError::Disconnected(_)) => return Err(Skipped::Failed),
        }
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(outcome)) => outcome,
            // The job was dropped unanswered: it panicked.
            Ok(Err(_)) => Err(Skipped::Failed),
            Err(_) => Err(Skipped::TimedOut),
        }
    }
}

/// Loads the vocabulary on a thread of its own, at the gateway's priority: a
/// counting thread runs nicer and would load it far slower on a busy machine.
/// Counts meanwhile wait for it (the tokenizer is behind a lazy lock), within
/// their budget; if this thread cannot start, the first count loads it.
fn load_vocabulary() {
    let loader = std::thread::Builder::new()
        .name("token-vocabulary".to_owned())
        .spawn(|| TOKENIZER.load());
    if let Err(error) = loader {
        tracing::warn!(%error, "cannot start loading the tokenizer vocabulary");
    }
}

/// Makes the calling thread `nice` steps nicer (Linux keeps a nice value per
/// thread); a failure only costs isolation, so it is logged and ignored.
#[cfg(target_os = "linux")]
fn lower_priority(nice: u8) {
    use rustix::process::{getpriority_process, setpriority_process};
    if nice == 0 {
        return;
    }
    let thread = Some(rustix::thread::gettid());
    let lowered = getpriority_process(thread)
        .and_then(|now| setpriority_process(thread, (now + i32::from(nice)).min(19)));
    if let Err(error) = lowered {
        tracing::warn!(%error, "cannot lower the token counting thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: u8) {}

/// One counting thread: jobs until the pool is dropped.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another thread panicked while waiting for a
        // job; the receiver itself is intact.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panic ends this job (its request keeps the byte bound), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: CountBudget = CountBudget {
        max_bytes: 1_000,
        timeout: Duration::from_secs(30),
    };

    fn pool(threads: usize, queue: usize) -> CountPool {
        CountPool::start(PoolSize {
            threads,
            queue,
            nice: 0,
        })
        .unwrap()
    }

    /// Occupies the pool's only thread until the returned sender is used or
    /// dropped; returns once the job is running.
    async fn occupy(pool: &CountPool) -> mpsc::Sender<()> {
        let (release, held) = mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        pool.jobs
            .try_send(Box::new(move || {
                let _ = started.send(());
                let _ = held.recv();
            }))
            .unwrap();
        running.await.unwrap();
        release
    }

    #[tokio::test]
    async fn counts_on_a_pool_thread() {
        let pool = pool(1, 4);
        let name = pool
            .run(10, BUDGET, |_| {
                std::thread::current().name().map(str::to_owned)
            })
            .await;
        assert_eq!(name.as_deref(), Ok("token-count-0"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn counting_threads_run_nicer_than_the_rest() {
        use rustix::process::getpriority_process;
        let pool = CountPool::start(PoolSize {
            threads: 1,
            queue: 1,
            nice: 5,
        })
        .unwrap();
        let here = getpriority_process(None).unwrap();
        let there = pool
            .run(1, BUDGET, |_| getpriority_process(None).ok())
            .await
            .unwrap();
        assert_eq!(there, (here + 5).min(19));
    }

    #[tokio::test]
    async fn refuses_input_over_the_byte_budget() {
        let pool = pool(1, 1);
        assert_eq!(
            pool.run(1_001, BUDGET, |_| Some(1)).await,
            Err(Skipped::TooLarge)
        );
        assert_eq!(pool.run(1_000, BUDGET, |_| Some(7)).await, Ok(7));
    }

    #[tokio::test]
    async fn a_full_queue_answers_at_once() {
        let pool = pool(1, 1);
        let release = occupy(&pool).await;
        // The thread is busy and one job waits: the queue is full.
        let (waited, waiting) = oneshot::channel();
        pool.jobs
            .try_send(Box::new(move || {
                let _ = waited.send(());
            }))
            .unwrap();
        assert_eq!(
            pool.run(1, BUDGET, |_| Some(1)).await,
            Err(Skipped::QueueFull)
        );
        // Once both have run, there is room again.
        release.send(()).unwrap();
        waiting.await.unwrap();
        assert_eq!(pool.run(1, BUDGET, |_| Some(2)).await, Ok(2));
    }

    #[tokio::test]
    async fn the_request_stops_waiting_at_the_deadline() {
        let pool = pool(1, 4);
        let short = CountBudget {
            timeout: Duration::from_millis(50),
            ..BUDGET
        };
        // Queued behind a job that does not end: the wait ends at the deadline.
        let release = occupy(&pool).await;
        assert_eq!(
            pool.run(1, short, |_| Some(1)).await,
            Err(Skipped::TimedOut)
        );
        release.send(()).unwrap();
        // A count that outlives its deadline is stopped by `keep_going`.
        let outcome = pool
            .run(1, short, |keep_going| {
                while keep_going() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                None::<u64>
            })
            .await;
        assert_eq!(outcome, Err(Skipped::TimedOut));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_large_scan_leaves_the_worker_to_other_tasks() {
        let (done, wait) = mpsc::channel::<()>();
        // The scan waits for a task that can only run on the runtime's one
        // worker if the scan handed it on.
        let scanning = tokio::spawn(async move {
            scan(LARGE_BODY_BYTES, || {
                wait.recv_timeout(Duration::from_secs(10))
            })
        });
        let other = tokio::spawn(async move { done.send(()) });
        assert_eq!(scanning.await.unwrap(), Ok(()));
        other.await.unwrap().unwrap();
        // Small bodies and single-threaded runtimes run inline.
        assert_eq!(scan(10, || 1), 1);
    }

    #[tokio::test]
    async fn a_panicking_count_fails_alone() {
        let pool = pool(1, 4);
        let outcome = pool
            .run(1, BUDGET, |_| -> Option<u64> { panic!("tokenizer bug") })
            .await;
        assert_eq!(outcome, Err(Skipped::Failed));
        // The thread lives on.
        assert_eq!(pool.run(1, BUDGET, |_| Some(3)).await, Ok(3));
    }
}
