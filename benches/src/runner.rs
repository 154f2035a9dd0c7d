//! The two ways of offering load.
//!
//! * Open loop ([`open_loop`]): a scheduler thread puts request `i` on the timeline
//!   at `start + i / rate` whatever happened to earlier requests; a fixed pool of
//!   keep-alive connections takes them in order. Latency is measured from the
//!   scheduled time, so a slow answer that delays later requests shows up in their
//!   latency too (no coordinated omission). Used for fixed-rate requests and streams.
//! * Closed loop ([`closed_loop`]): each connection sends its next request as soon
//!   as the previous answer ends; the count of answers is the throughput.
//!
//! Requests scheduled (open) or answered (closed) during the warm-up are not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::client::{open_with_retry, Connection, Outcome, Template};
use crate::stats::Recorder;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub struct Plan {
    pub template: Arc<Template>,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Per request; a request still unanswered then counts as a `timeout` error.
    pub timeout: Duration,
}

/// When a request was scheduled, handed to a connection, and answered.
struct Timing {
    scheduled: Instant,
    taken: Instant,
    end: Instant,
}

/// One request on `connection`, reconnecting first if the last one broke or the
/// server closed it while idle.
async fn attempt(
    connection: &mut Option<Connection>,
    addr: SocketAddr,
    template: &Template,
    timeout: Duration,
    recorder: &mut Recorder,
) -> Outcome {
    if let Some(open) = connection.as_mut() {
        // A server may close an idle keep-alive connection (request limit, idle
        // timeout): any pooling client opens a new one, so this is no failure, but
        // the time it takes counts in the request's latency and it is reported.
        if !open.usable().await {
            *connection = None;
            recorder.reconnects += 1;
        }
    }
    if connection.is_none() {
        match Connection::open(addr).await {
            Ok(fresh) => *connection = Some(fresh),
            Err(_) => return Outcome::Broken("connect"),
        }
    }
    let Some(open) = connection.as_mut() else {
        return Outcome::Broken("connect");
    };
    let outcome = match tokio::time::timeout(timeout, open.exchange(template)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Broken("timeout"),
    };
    if matches!(outcome, Outcome::Broken(_)) {
        // Half-used or closed: never reuse it.
        *connection = None;
    }
    outcome
}

/// Counts a request that reached the server, measured or not: whether a status
/// came back (connection failures before sending count in neither).
fn count_sent(recorder: &mut Recorder, outcome: &Outcome) {
    match outcome {
        Outcome::Broken("connect") => {}
        Outcome::Broken(_) => recorder.unanswered_all += 1,
        Outcome::Ok { .. } | Outcome::Status(_) | Outcome::Incomplete => recorder.answered_all += 1,
    }
}

fn record(recorder: &mut Recorder, outcome: Outcome, timing: &Timing) {
    match outcome {
        Outcome::Ok { first_byte } => recorder.record_ok(
            timing.end - timing.scheduled,
            timing.end - timing.taken,
            first_byte.saturating_duration_since(timing.scheduled),
            timing.taken.saturating_duration_since(timing.scheduled),
        ),
        Outcome::Status(status) => recorder.error(format!("status_{status}")),
        Outcome::Incomplete => recorder.error("incomplete_stream".to_owned()),
        Outcome::Broken("timeout") => recorder.error("timeout".to_owned()),
        Outcome::Broken(what) => recorder.error(format!("broken_{what}")),
    }
}

async fn connect_all(addr: SocketAddr, count: usize) -> Result<Vec<Connection>, Error> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(open_with_retry(addr).await?);
    }
    Ok(connections)
}

async fn merge_workers(mut workers: JoinSet<Result<Recorder, Error>>) -> Result<Recorder, Error> {
    let mut total = Recorder::new()?;
    while let Some(joined) = workers.join_next().await {
        total.merge(&joined??)?;
    }
    Ok(total)
}

/// Puts `count` requests on the timeline; runs on its own OS thread so that the
/// schedule does not depend on the runtime's 1 ms timer wheel.
fn schedule(jobs: UnboundedSender<Instant>, start: Instant, period: Duration, count: u64) {
    for i in 0..count {
        let at = start + period.mul_f64(i as f64);
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        if jobs.send(at).is_err() {
            return;
        }
    }
}

struct OpenWorker {
    addr: SocketAddr,
    template: Arc<Template>,
    jobs: Arc<Mutex<UnboundedReceiver<Instant>>>,
    measure_from: Instant,
    /// Requests taken after this are not sent: they count as `unfinished`.
    give_up: Instant,
    timeout: Duration,
}

impl OpenWorker {
    async fn run(self, mut connection: Option<Connection>) -> Result<Recorder, Error> {
        let mut recorder = Recorder::new()?;
        loop {
            let job = { self.jobs.lock().await.recv().await };
            let Some(scheduled) = job else { break };
            let measured = scheduled >= self.measure_from;
            let taken = Instant::now();
            if taken > self.give_up {
                if measured {
                    recorder.error("unfinished".to_owned());
                }
                continue;
            }
            let outcome = attempt(
                &mut connection,
                self.addr,
                &self.template,
                self.timeout,
                &mut recorder,
            )
            .await;
            count_sent(&mut recorder, &outcome);
            if measured {
                let timing = Timing {
                    scheduled,
                    taken,
                    end: Instant::now(),
                };
                if matches!(outcome, Outcome::Ok { .. }) {
                    let since = timing.end.saturating_duration_since(self.measure_from);
                    recorder
                        .ends
                        .saturating_record(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX));
                }
                record(&mut recorder, outcome, &timing);
            }
        }
        Ok(recorder)
    }
}

/// Requests at `rate` per second on a fixed timeline, over `plan.connections`.
pub async fn open_loop(plan: &Plan, rate: f64) -> Result<Recorder, Error> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err("the rate must be a positive number".into());
    }
    let addr = plan.template.addr;
    let connections = connect_all(addr, plan.connections).await?;
    let (sender, receiver) = unbounded_channel();
    let jobs = Arc::new(Mutex::new(receiver));
    let period = Duration::from_secs_f64(1.0 / rate);
    let count = ((plan.warmup + plan.duration).as_secs_f64() * rate).round() as u64;
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + plan.warmup;
    let give_up = measure_from + plan.duration + plan.timeout;
    let mut workers = JoinSet::new();
    for connection in connections {
        let worker = OpenWorker {
            addr,
            template: plan.template.clone(),
            jobs: jobs.clone(),
            measure_from,
            give_up,
            timeout: plan.timeout,
        };
        workers.spawn(worker.run(Some(connection)));
    }
    let scheduler = std::thread::Builder::new()
        .name("schedule".to_owned())
        .spawn(move || schedule(sender, start, period, count))?;
    let recorder = merge_workers(workers).await?;
    scheduler
        .join()
        .map_err(|_| "the scheduler thread failed")?;
    Ok(recorder)
}

/// Each connection sends back to back for the warm-up plus `plan.duration`.
pub async fn closed_loop(plan: &Plan) -> Result<Recorder, Error> {
    let addr = plan.template.addr;
    let connections = connect_all(addr, plan.connections).await?;
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let mut workers = JoinSet::new();
    for connection in connections {
        let template = plan.template.clone();
        let timeout = plan.timeout;
        workers.spawn(async move {
            let mut recorder = Recorder::new()?;
            let mut connection = Some(connection);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let outcome =
                    attempt(&mut connection, addr, &template, timeout, &mut recorder).await;
                count_sent(&mut recorder, &outcome);
                let done = Instant::now();
                if done >= measure_from && done < end {
                    let timing = Timing {
                        scheduled: sent,
                        taken: sent,
                        end: done,
                    };
                    record(&mut recorder, outcome, &timing);
                }
            }
            Ok::<Recorder, Error>(recorder)
        });
    }
    merge_workers(workers).await
}
