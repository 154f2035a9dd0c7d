//! The one usage event each API request leaves behind, folded once from what
//! the request came to: the caller (set by authentication on the response), the
//! [`Outcome`] the handler and the proxy return with the response, and, for a
//! stream, the [`StreamEnd`] its relay reports when the last byte is sent or the
//! client leaves. The observe layer folds them when the response body ends or is
//! dropped, so errors, refusals and abandoned streams are recorded like successes.
//!
//! Only metadata goes in: names, counts, money, timings. The request body is never
//! copied here; the `user` field is hashed. The requested model is recorded only
//! when it names a model the gateway knows, [`UNKNOWN_MODEL`] otherwise, so
//! made-up names cannot add rows to the rollups and breakdowns.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use analytics::event::{bounded, UsageEvent};
use chrono::{DateTime, Utc};
use pricing::Cost;

use crate::billing::Bill;
use crate::keys::ApiKey;

/// The requested model of an event whose request named no model the gateway
/// knows (404 `model_not_found`), or was refused before its model was read.
pub const UNKNOWN_MODEL: &str = "(unknown)";

/// What a handler and the proxy learned about one request, returned with its
/// response (as an extension).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub user_tag: Option<String>,
    /// A known model name (see [`crate::routing::RoutingTable::knows`]);
    /// `None` is recorded as [`UNKNOWN_MODEL`].
    pub requested_model: Option<String>,
    pub routed_provider: Option<Arc<String>>,
    pub routed_model: Option<Arc<String>>,
    pub reason: Option<&'static str>,
    pub attempts: u16,
    pub stream: bool,
    pub bill: Option<Bill>,
    pub upstream_ms: Option<u32>,
    pub ttft_ms: Option<u32>,
    /// Set by whoever saw the failure; the response's error kind otherwise.
    pub error_kind: Option<&'static str>,
    /// The wire format the client spoke (`openai_chat`, `anthropic`, ...).
    pub ingress_format: Option<&'static str>,
    /// The wire format the serving provider spoke.
    pub upstream_format: Option<&'static str>,
    /// A stream's report, written by its relay when it ends.
    pub stream_end: Option<StreamEnd>,
    /// What the request took of its limits and budgets; settled with the
    /// event's cost and tokens when the request ends (`crate::limits`).
    pub ticket: Option<crate::limits::Ticket>,
}

/// What a stream's relay reports once, at its end: its bill and why it
/// stopped early, if it did.
#[derive(Debug, Clone, Default)]
pub struct StreamEnd(Arc<OnceLock<StreamReport>>);

#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    pub bill: Option<Bill>,
    pub error_kind: Option<&'static str>,
}

impl StreamEnd {
    /// Records the report; only the first one counts.
    pub fn report(&self, report: StreamReport) {
        let _ = self.0.set(report);
    }

    fn get(&self) -> Option<&StreamReport> {
        self.0.get()
    }
}

/// Everything an event is folded from besides the [`Outcome`].
pub struct Ending<'a> {
    pub key: &'a ApiKey,
    pub endpoint: &'static str,
    pub client_family: &'static str,
    pub at: DateTime<Utc>,
    pub status: u16,
    /// The kind of the error the response carries, if any.
    pub error_kind: Option<&'static str>,
    pub latency: Duration,
}

/// The request's usage event.
pub fn fold(ending: Ending<'_>, outcome: Outcome) -> UsageEvent {
    let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    let report = outcome.stream_end.as_ref().and_then(StreamEnd::get);
    let bill = report.and_then(|r| r.bill.clone()).or(outcome.bill);
    let error_kind = report
        .and_then(|r| r.error_kind)
        .or(outcome.error_kind)
        .or(ending.error_kind);
    let key = ending.key;
    let mut event = UsageEvent {
        event_id: UsageEvent::new_id(),
        occurred_at: ending.at,
        tenant_id: key.tenant.clone(),
        key_id: key.id.clone(),
        team: key.team.clone(),
        user_tag: outcome.user_tag,
        endpoint: ending.endpoint.to_owned(),
        requested_model: bounded(outcome.requested_model.as_deref().unwrap_or(UNKNOWN_MODEL)),
        routed_provider: outcome.routed_provider.map(|p| p.to_string()),
        routed_model: outcome.routed_model.map(|m| m.to_string()),
        route_reason: outcome.reason.unwrap_or("none").to_owned(),
        attempts: outcome.attempts,
        stream: outcome.stream,
        status: ending.status,
        error_kind: error_kind.map(str::to_owned),
        prompt_tokens: 0,
        completion_tokens: 0,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        usage_estimated: false,
        // Nothing was billed (refused, failed): it cost nothing.
        cost_usd: Some(Cost::ZERO),
        baseline_usd: Some(Cost::ZERO),
        price_version: None,
        baseline_price_version: None,
        latency_ms: millis(ending.latency),
        ttft_ms: outcome.ttft_ms,
        upstream_ms: outcome.upstream_ms,
        client_family: ending.client_family.to_owned(),
        ingress_format: outcome.ingress_format.map(str::to_owned),
        upstream_format: outcome.upstream_format.map(str::to_owned),
    };
    if let Some(bill) = bill {
        event.set_usage(&bill.usage);
        event.usage_estimated = bill.estimated;
        // Both sides or neither: an unpriced request has no cost, no
        // baseline and no price versions.
        if let (Some(cost), Some(baseline)) = (bill.cost, bill.baseline) {
            event.cost_usd = Some(cost.cost);
            event.price_version = Some(cost.price);
            event.baseline_usd = Some(baseline.cost);
            event.baseline_price_version = Some(baseline.price);
        } else {
            event.cost_usd = None;
            event.baseline_usd = None;
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AnalyticsScope, KeyRole, Policy};
    use pricing::TokenUsage;

    fn key() -> ApiKey {
        ApiKey {
            id: "k1".into(),
            tenant: "t1".into(),
            team: Some("web".into()),
            role: KeyRole::Api,
            analytics: AnalyticsScope::Team,
            policy: Policy::default(),
            allowances: crate::allowance::Allowances::default(),
            life: crate::keys::KeyLife::default(),
        }
    }

    fn ending<'a>(key: &'a ApiKey, error_kind: Option<&'static str>) -> Ending<'a> {
        Ending {
            key,
            endpoint: "chat_completions",
            client_family: "curl",
            at: Utc::now(),
            status: 200,
            error_kind,
            latency: Duration::from_millis(12),
        }
    }

    fn bill(prompt_tokens: u64) -> Bill {
        Bill {
            usage: TokenUsage {
                prompt_tokens,
                completion_tokens: 1,
                ..TokenUsage::default()
            },
            estimated: false,
            cost: None,
            baseline: None,
            shadow: None,
        }
    }

    #[test]
    fn a_refused_request_costs_nothing_and_names_no_model() {
        let key = key();
        let event = fold(ending(&key, Some("invalid_json")), Outcome::default());
        assert_eq!(event.tenant_id, "t1");
        assert_eq!(event.team.as_deref(), Some("web"));
        assert_eq!(event.requested_model, UNKNOWN_MODEL);
        assert_eq!(event.error_kind.as_deref(), Some("invalid_json"));
        assert_eq!(event.cost_usd, Some(Cost::ZERO));
        assert_eq!(event.latency_ms, 12);
    }

    #[test]
    fn a_streams_report_wins_over_what_was_known_when_it_began() {
        let key = key();
        let end = StreamEnd::default();
        let outcome = Outcome {
            requested_model: Some("m".into()),
            stream: true,
            bill: Some(bill(1)),
            error_kind: Some("from_outcome"),
            stream_end: Some(end.clone()),
            ..Outcome::default()
        };
        end.report(StreamReport {
            bill: Some(bill(40)),
            error_kind: Some("client_cancelled"),
        });
        // Only the first report counts.
        end.report(StreamReport::default());
        let event = fold(ending(&key, Some("from_response")), outcome);
        assert_eq!(event.prompt_tokens, 40);
        assert_eq!(event.error_kind.as_deref(), Some("client_cancelled"));
        // Unpriced: neither cost nor baseline.
        assert_eq!(event.cost_usd, None);
        assert_eq!(event.baseline_usd, None);
        assert!(event.stream);
        assert_eq!(event.requested_model, "m");
    }

    #[test]
    fn without_a_report_the_outcome_then_the_response_name_the_error() {
        let key = key();
        let outcome = Outcome {
            error_kind: Some("from_outcome"),
            ..Outcome::default()
        };
        let event = fold(ending(&key, Some("from_response")), outcome);
        assert_eq!(event.error_kind.as_deref(), Some("from_outcome"));
        let event = fold(ending(&key, Some("from_response")), Outcome::default());
        assert_eq!(event.error_kind.as_deref(), Some("from_response"));
    }
}
