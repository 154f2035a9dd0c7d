//! Prometheus metrics. Every label value is low-cardinality and comes from the
//! gateway's own config or code (route names, configured provider and model
//! names, status codes, error kinds): never from request content or keys.
//!
//! - `money`: spend, baseline and savings in USD by tenant, provider and routed
//!   model, summed exactly.

mod money;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use self::money::MoneyCounters;
use crate::route::Route;

/// Provider and model label values for "no upstream was involved".
pub fn none_label() -> Arc<String> {
    static NONE: std::sync::OnceLock<Arc<String>> = std::sync::OnceLock::new();
    NONE.get_or_init(|| Arc::new(String::new())).clone()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub status: u16,
    pub provider: Arc<String>,
    pub model: Arc<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub provider: Arc<String>,
    pub model: Arc<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrorLabels {
    pub provider: Arc<String>,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub provider: Arc<String>,
    pub model: Arc<String>,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenCountLabels {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<RouteLabels, Histogram>,
    pub upstream_duration: Family<UpstreamLabels, Histogram>,
    pub time_to_first_token: Family<UpstreamLabels, Histogram>,
    pub in_flight: Gauge,
    pub upstream_errors: Family<UpstreamErrorLabels, Counter>,
    pub tokens: Family<TokenLabels, Counter>,
    pub failovers: Family<UpstreamLabels, Counter>,
    pub retry_budget_exhausted: Counter,
    pub open_connections: Gauge,
    pub connections_accepted: Counter,
    pub connections_closed: Family<ReasonLabels, Counter>,
    pub overload_rejections: Family<LimitLabels, Counter>,
    /// Exact token counts near a context limit, by outcome (`counted`, or why the
    /// byte bound was kept: `too_large`, `queue_full`, `timed_out`, `failed`).
    pub token_counts: Family<TokenCountLabels, Counter>,
    /// Time a request waited for its count, queueing included, whatever the outcome.
    pub token_count_duration: Histogram,
    /// The limits engine's metrics (`crate::limits`).
    pub limits: crate::limits::LimitMetrics,
    /// The usage-event pipeline's counters, rendered with the rest.
    pipeline: std::sync::OnceLock<Arc<analytics::writer::WriterStats>>,
    /// The real-time counters, whose size is rendered when they are in process.
    counters: std::sync::OnceLock<Arc<analytics::counters::Counters>>,
    /// Spend, baseline and savings of priced requests (see `money`).
    pub money: MoneyCounters,
    /// Each route's `request_duration` series, resolved on its first request
    /// and then used without a label lookup.
    route_durations: [std::sync::OnceLock<Histogram>; Route::COUNT],
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0, 120.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by route, HTTP status, provider and model",
            requests.clone(),
        );
        let request_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "request_duration_seconds",
            "Total request latency including the whole stream",
            request_duration.clone(),
        );
        let upstream_duration = Family::<UpstreamLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "upstream_duration_seconds",
            "Time from sending to the provider until its response headers (non-streaming: whole body)",
            upstream_duration.clone(),
        );
        let time_to_first_token = Family::<UpstreamLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "time_to_first_token_seconds",
            "Time from receiving a streaming request until its first event reaches the client",
            time_to_first_token.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests being served now",
            in_flight.clone(),
        );
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Failed provider calls by kind (connect, timeout, status, protocol, stream_cut)",
            upstream_errors.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens reported by providers, by kind (prompt, completion, and the cached, cache_write and reasoning parts of them)",
            tokens.clone(),
        );
        let failovers = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "failovers",
            "Requests moved on to another candidate after this provider and model failed",
            failovers.clone(),
        );
        let retry_budget_exhausted = Counter::default();
        registry.register(
            "retry_budget_exhausted",
            "Failovers not attempted because the retry budget was spent",
            retry_budget_exhausted.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open now",
            open_connections.clone(),
        );
        let connections_accepted = Counter::default();
        registry.register(
            "connections_accepted",
            "Client connections accepted (over the limit ones included)",
            connections_accepted.clone(),
        );
        let connections_closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "connections_closed",
            "Client connections the gateway closed: idle past server.idle_timeout_ms, or evicted (idle) to make room at server.max_connections",
            connections_closed.clone(),
        );
        let overload_rejections = Family::<LimitLabels, Counter>::default();
        registry.register(
            "overload_rejections",
            "503 answers at a limit: connections (every connection busy at server.max_connections) or requests (server.max_concurrent_requests)",
            overload_rejections.clone(),
        );
        let token_counts = Family::<TokenCountLabels, Counter>::default();
        registry.register(
            "token_counts",
            "Exact prompt token counts near a context limit, by outcome: counted, or the byte bound kept because the prompt was too_large, the queue_full, the count timed_out or failed",
            token_counts.clone(),
        );
        let token_count_duration = Histogram::new(latency_buckets());
        registry.register(
            "token_count_duration_seconds",
            "Time a request waited for an exact token count, queueing included",
            token_count_duration.clone(),
        );
        let limits = crate::limits::LimitMetrics::default();
        registry.register(
            "limits_redis_up",
            "1 while Redis answers the limits engine; 0 while limits fall back to this replica's share (limit / limits.replicas), and without Redis configured",
            limits.redis_up.clone(),
        );
        registry.register(
            "limits_fallback",
            "Admissions decided by this replica alone (limit / limits.replicas) because Redis failed or was slow",
            limits.fallback.clone(),
        );
        registry.register(
            "limits_refused",
            "Requests refused by a limit or budget, by scope kind (key, team, tenant) and limit (rpm, tpm, concurrency, budget_daily, budget_monthly)",
            limits.refused.clone(),
        );
        registry.register(
            "budget_rebuilds",
            "Budget spend counters rebuilt from the event store (a new period, a replica's first look, or Redis lost them)",
            limits.rebuilds.clone(),
        );
        Metrics {
            limits,
            open_connections,
            connections_accepted,
            connections_closed,
            overload_rejections,
            pipeline: std::sync::OnceLock::new(),
            token_counts,
            token_count_duration,
            counters: std::sync::OnceLock::new(),
            money: MoneyCounters::default(),
            route_durations: Default::default(),
            registry,
            failovers,
            retry_budget_exhausted,
            requests,
            request_duration,
            upstream_duration,
            time_to_first_token,
            in_flight,
            upstream_errors,
            tokens,
        }
    }

    pub fn register_pipeline(&self, stats: Arc<analytics::writer::WriterStats>) {
        let _ = self.pipeline.set(stats);
    }

    pub fn register_counters(&self, counters: Arc<analytics::counters::Counters>) {
        let _ = self.counters.set(counters);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        let body_end = out.strip_suffix("# EOF\n").map_or(out.len(), str::len);
        out.truncate(body_end);
        self.money.render(&mut out);
        if let Some(stats) = self.pipeline.get() {
            render_pipeline(&mut out, stats);
            if let Some(analytics::counters::Counters::Memory(memory)) =
                self.counters.get().map(|c| &**c)
            {
                render_memory_counters(&mut out, memory);
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// Counts one request of `route` that took `seconds`, in the route's
    /// resolved `request_duration` series.
    pub fn observe_request_duration(&self, route: Route, seconds: f64) {
        let resolve = || {
            self.request_duration
                .get_or_create(&RouteLabels {
                    route: route.label(),
                })
                .clone()
        };
        match self.route_durations.get(route.index()) {
            Some(slot) => slot.get_or_init(resolve).observe(seconds),
            None => resolve().observe(seconds),
        }
    }

    pub fn record_tokens(&self, labels: &UpstreamLabels, usage: &pricing::TokenUsage) {
        for (kind, count) in [
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
            ("cached", usage.cached_prompt_tokens),
            ("cache_write", usage.cache_write_tokens),
            ("reasoning", usage.reasoning_tokens),
        ] {
            if count > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        provider: labels.provider.clone(),
                        model: labels.model.clone(),
                        kind,
                    })
                    .inc_by(count);
            }
        }
    }

    pub fn record_connection_closed(&self, reason: &'static str) {
        self.connections_closed
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    pub fn record_overload(&self, limit: &'static str) {
        self.overload_rejections
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    pub fn record_failover(&self, from: &UpstreamLabels) {
        self.failovers.get_or_create(from).inc();
    }

    pub fn record_upstream_error(&self, provider: &Arc<String>, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                provider: provider.clone(),
                kind,
            })
            .inc();
    }
}

/// The event pipeline's atomics in the OpenMetrics text format.
fn render_pipeline(out: &mut String, stats: &analytics::writer::WriterStats) {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let counters = [
        (
            "events_queued",
            "Usage events handed to the writer",
            stats.queued.load(Relaxed),
        ),
        (
            "events_written",
            "Usage events newly stored",
            stats.written.load(Relaxed),
        ),
        (
            "events_duplicate",
            "Replayed events the store already held",
            stats.duplicates.load(Relaxed),
        ),
        (
            "events_spilled",
            "Usage events written to the spill file",
            stats.spilled.load(Relaxed),
        ),
        (
            "events_replayed",
            "Held or spilled events written later",
            stats.replayed.load(Relaxed),
        ),
        (
            "events_spilled_at_shutdown",
            "Usage events spilled at shutdown because the store could not take them in time (of events_spilled)",
            stats.shutdown_spilled.load(Relaxed),
        ),
        (
            "events_dropped",
            "Usage events lost (queue full, spill or dead-letter file not writable)",
            stats.dropped.load(Relaxed),
        ),
        (
            "events_dead_lettered",
            "Usage events the store refused, kept in the dead-letter file",
            stats.dead_lettered.load(Relaxed),
        ),
        (
            "events_spill_torn_lines",
            "Unreadable spill-file lines (torn writes) skipped during replay",
            stats.spill_torn_lines.load(Relaxed),
        ),
        (
            "event_batches",
            "Batches written to the store",
            stats.batches.load(Relaxed),
        ),
        (
            "event_batch_events",
            "Events in written batches (over event_batches: mean batch size)",
            stats.batch_events.load(Relaxed),
        ),
        (
            "event_write_microseconds",
            "Time spent writing batches",
            stats.write_micros.load(Relaxed),
        ),
        (
            "event_store_failures",
            "Failed batch writes",
            stats.store_failures.load(Relaxed),
        ),
        (
            "event_write_timeouts",
            "Batch writes that hit analytics.write_timeout_ms (of event_store_failures)",
            stats.write_timeouts.load(Relaxed),
        ),
        (
            "counter_failures",
            "Failed real-time counter updates (Redis)",
            stats.counter_failures.load(Relaxed),
        ),
        (
            "counter_losses",
            "Times this gateway found the real-time counters lost (Redis emptied) or rebuilt by another replica",
            stats.counter_losses.load(Relaxed),
        ),
        (
            "counter_rebuilds",
            "Rebuilds of the real-time counters from the event store done by this gateway",
            stats.counter_rebuilds.load(Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP gateway_{name} {help}.\n# TYPE gateway_{name} counter\ngateway_{name}_total {value}");
    }
}

/// The size of the in-process real-time counters (no Redis).
fn render_memory_counters(out: &mut String, memory: &analytics::counters::MemoryCounters) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "# HELP gateway_counter_keys In-process real-time counter keys held.\n\
         # TYPE gateway_counter_keys gauge\ngateway_counter_keys {}",
        memory.len()
    );
    for (name, help, value) in [
        (
            "counter_keys_expired",
            "In-process real-time counter keys removed after their TTL",
            memory.expired(),
        ),
        (
            "counter_keys_evicted",
            "In-process real-time counter keys evicted before their TTL because the map was full",
            memory.evicted(),
        ),
    ] {
        let _ = writeln!(out, "# HELP gateway_{name} {help}.\n# TYPE gateway_{name} counter\ngateway_{name}_total {value}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;

    /// The writer's loss-related counters are exported under their documented
    /// names (README, Grafana).
    #[test]
    fn pipeline_counters_are_rendered() {
        let metrics = Metrics::new();
        let stats = Arc::new(analytics::writer::WriterStats::default());
        stats.dead_lettered.store(7, Relaxed);
        stats.shutdown_spilled.store(3, Relaxed);
        stats.spill_torn_lines.store(2, Relaxed);
        stats.write_timeouts.store(1, Relaxed);
        stats.dropped.store(5, Relaxed);
        metrics.register_pipeline(stats);
        let text = metrics.render();
        for line in [
            "gateway_events_dead_lettered_total 7",
            "gateway_events_spilled_at_shutdown_total 3",
            "gateway_events_spill_torn_lines_total 2",
            "gateway_event_write_timeouts_total 1",
            "gateway_events_dropped_total 5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    /// The in-process counters' size and evictions are exported, so an
    /// operator sees when the cap bites.
    #[test]
    fn in_process_counter_keys_and_evictions_are_rendered() {
        use analytics::counters::{Counters, Increments, MemoryCounters, FIELDS};
        let metrics = Metrics::new();
        metrics.register_pipeline(Arc::new(analytics::writer::WriterStats::default()));
        let memory = MemoryCounters::with_max_keys(1);
        for key in ["a", "b", "c"] {
            let mut increments = Increments::default();
            increments
                .by_key
                .insert(key.to_owned(), ([1; FIELDS.len()], 60));
            memory.apply(&increments);
        }
        metrics.register_counters(Arc::new(Counters::Memory(memory)));
        let text = metrics.render();
        for line in [
            "gateway_counter_keys 1",
            "gateway_counter_keys_evicted_total 2",
            "gateway_counter_keys_expired_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
