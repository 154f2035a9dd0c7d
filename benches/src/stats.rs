//! What one run measured: latency histograms (nanoseconds, 3 significant digits)
//! and counters of every request that did not succeed, with their JSON and human
//! forms. Workers each fill their own [`Recorder`]; the run merges them at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::{AdditionError, CreationError, Histogram};
use serde_json::{json, Value};

/// Latencies from 1 µs to 10 minutes; longer values are clamped to the maximum.
fn histogram() -> Result<Histogram<u64>, CreationError> {
    Histogram::new_with_bounds(1_000, 600_000_000_000, 3)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

pub struct Recorder {
    /// From the request's place on the schedule (or its send, closed loop) to the
    /// end of its answer: includes any queueing in the load generator.
    pub latency: Histogram<u64>,
    /// From the moment the request was handed to a connection to the end of its answer.
    pub service: Histogram<u64>,
    /// From the schedule to the first body bytes (first SSE event for streams).
    pub first_byte: Histogram<u64>,
    /// From the schedule to the moment a connection took the request: how late the
    /// load generator itself was. Large values mean the numbers above are suspect.
    pub wait: Histogram<u64>,
    pub ok: u64,
    /// Failures by kind (`status_502`, `incomplete_stream`, `broken_send`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Connections the server closed while idle, replaced before a request (their
    /// set-up time is in that request's latency). Not failures, but reported.
    pub reconnects: u64,
    /// Requests the server answered with a status, warm-up included: what a
    /// store that records one event per answered request must hold afterwards.
    pub answered_all: u64,
    /// Requests sent (warm-up included) whose connection broke or timed out
    /// before a status came back: the server may or may not have recorded them.
    pub unanswered_all: u64,
    /// Open loop: when each measured answer ended, from the start of the
    /// measurement. A server that keeps up answers 99% of what the measured
    /// seconds offered within about 99% of them; one that falls behind takes longer.
    pub ends: Histogram<u64>,
}

impl Recorder {
    pub fn new() -> Result<Recorder, CreationError> {
        Ok(Recorder {
            latency: histogram()?,
            service: histogram()?,
            first_byte: histogram()?,
            wait: histogram()?,
            ok: 0,
            errors: BTreeMap::new(),
            reconnects: 0,
            answered_all: 0,
            unanswered_all: 0,
            ends: histogram()?,
        })
    }

    pub fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_insert(0) += 1;
    }

    pub fn record_ok(
        &mut self,
        latency: Duration,
        service: Duration,
        first_byte: Duration,
        wait: Duration,
    ) {
        self.ok += 1;
        self.latency.saturating_record(nanos(latency));
        self.service.saturating_record(nanos(service));
        self.first_byte.saturating_record(nanos(first_byte));
        self.wait.saturating_record(nanos(wait));
    }

    pub fn merge(&mut self, other: &Recorder) -> Result<(), AdditionError> {
        self.latency.add(&other.latency)?;
        self.service.add(&other.service)?;
        self.first_byte.add(&other.first_byte)?;
        self.wait.add(&other.wait)?;
        self.ok += other.ok;
        self.reconnects += other.reconnects;
        self.answered_all += other.answered_all;
        self.unanswered_all += other.unanswered_all;
        self.ends.add(&other.ends)?;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += count;
        }
        Ok(())
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Milliseconds with microsecond precision.
fn ms(nanos: u64) -> f64 {
    (nanos as f64 / 1_000.0).round() / 1_000.0
}

/// Percentiles of a histogram in milliseconds; all zero when it is empty.
pub fn summary(histogram: &Histogram<u64>) -> Value {
    if histogram.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": histogram.len(),
        "p50": ms(histogram.value_at_quantile(0.50)),
        "p90": ms(histogram.value_at_quantile(0.90)),
        "p99": ms(histogram.value_at_quantile(0.99)),
        "p99_9": ms(histogram.value_at_quantile(0.999)),
        "max": ms(histogram.max()),
        "mean": (histogram.mean() / 1_000.0).round() / 1_000.0,
    })
}

/// One line for a human: `p50 0.123  p90 ...  max ... ms`.
pub fn human(histogram: &Histogram<u64>) -> String {
    if histogram.is_empty() {
        return "no samples".to_owned();
    }
    format!(
        "p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms",
        ms(histogram.value_at_quantile(0.50)),
        ms(histogram.value_at_quantile(0.90)),
        ms(histogram.value_at_quantile(0.99)),
        ms(histogram.value_at_quantile(0.999)),
        ms(histogram.max()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let mut recorder = Recorder::new().unwrap();
        for micros in 1..=1000u64 {
            let d = Duration::from_micros(micros);
            recorder.record_ok(d, d, d, Duration::ZERO);
        }
        recorder.error("status_502".to_owned());
        let mut total = Recorder::new().unwrap();
        total.merge(&recorder).unwrap();
        total.merge(&recorder).unwrap();
        assert_eq!(total.ok, 2000);
        assert_eq!(total.error_total(), 2);
        let s = summary(&total.latency);
        assert_eq!(s["count"], 2000);
        let p50 = s["p50"].as_f64().unwrap();
        assert!((0.499..=0.501).contains(&p50), "{p50}");
        let max = s["max"].as_f64().unwrap();
        assert!((0.999..=1.001).contains(&max), "{max}");
        assert_eq!(summary(&Recorder::new().unwrap().wait)["count"], 0);
    }
}
