//! The one usage event each API request leaves behind. A [`DraftSlot`] rides
//! along with the request: authentication, the handler, routing and the stream
//! relay each fill in what they learn, and the observe layer turns it into a
//! [`UsageEvent`] exactly once, when the response body ends or is dropped, so
//! errors, refusals and abandoned streams are recorded like successes.
//!
//! Only metadata goes in: names, counts, money, timings. The request body is never
//! copied here; the `user` field is hashed. The requested model is recorded only
//! when it names a model the gateway knows, [`UNKNOWN_MODEL`] otherwise, so
//! made-up names cannot add rows to the rollups and breakdowns.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use analytics::event::{bounded, UsageEvent};
use chrono::{DateTime, Utc};
use pricing::Cost;

use crate::billing::Bill;

/// The requested model of an event whose request named no model the gateway
/// knows (404 `model_not_found`), or was refused before its model was read.
pub const UNKNOWN_MODEL: &str = "(unknown)";

#[derive(Debug, Default)]
pub struct Draft {
    pub tenant: Option<String>,
    pub key_id: String,
    pub team: Option<String>,
    pub user_tag: Option<String>,
    pub endpoint: &'static str,
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
    pub client_family: &'static str,
}

/// A request's draft, shared by the layers that fill it.
#[derive(Debug, Clone, Default)]
pub struct DraftSlot(Arc<Mutex<Draft>>);

impl DraftSlot {
    pub fn new(endpoint: &'static str, client_family: &'static str) -> DraftSlot {
        DraftSlot(Arc::new(Mutex::new(Draft {
            endpoint,
            client_family,
            ..Draft::default()
        })))
    }

    pub fn update(&self, fill: impl FnOnce(&mut Draft)) {
        if let Ok(mut draft) = self.0.lock() {
            fill(&mut draft);
        }
    }

    fn take(&self) -> Option<Draft> {
        self.0
            .lock()
            .ok()
            .map(|mut draft| std::mem::take(&mut *draft))
    }

    /// The finished event, or `None` when no key was resolved (an unknown key is
    /// not any tenant's usage; it is counted in metrics only).
    pub fn finish(
        &self,
        at: DateTime<Utc>,
        status: u16,
        error_kind: Option<&'static str>,
        latency: Duration,
    ) -> Option<UsageEvent> {
        let draft = self.take()?;
        let tenant = draft.tenant?;
        let bill = draft.bill;
        let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        let mut event = UsageEvent {
            event_id: UsageEvent::new_id(),
            occurred_at: at,
            tenant_id: tenant,
            key_id: draft.key_id,
            team: draft.team,
            user_tag: draft.user_tag,
            endpoint: draft.endpoint.to_owned(),
            requested_model: draft
                .requested_model
                .unwrap_or_else(|| UNKNOWN_MODEL.to_owned()),
            routed_provider: draft.routed_provider.map(|p| p.to_string()),
            routed_model: draft.routed_model.map(|m| m.to_string()),
            route_reason: draft.reason.unwrap_or("none").to_owned(),
            attempts: draft.attempts,
            stream: draft.stream,
            status,
            error_kind: draft.error_kind.or(error_kind).map(str::to_owned),
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
            latency_ms: millis(latency),
            ttft_ms: draft.ttft_ms,
            upstream_ms: draft.upstream_ms,
            client_family: draft.client_family.to_owned(),
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
        event.requested_model = bounded(&event.requested_model);
        Some(event)
    }
}
