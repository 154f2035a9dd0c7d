//! The CSV the store's writer sends to `COPY`, byte for byte: a copy of
//! `analytics/src/store/postgres/write.rs` `encode` (private there), used for the raw
//! COPY floor and the bulk load. `ingest` checks after the first round that a table
//! filled from this CSV holds exactly the rows the store wrote.

use std::fmt::Write as _;

use pricing::Cost;

use ::analytics::UsageEvent;

/// The columns of `usage_events`, in CSV order.
pub const COLUMNS: &str = "event_id, occurred_at, tenant_id, key_id, team, user_tag, endpoint, \
    requested_model, routed_provider, routed_model, route_reason, attempts, stream, status, \
    error_kind, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, \
    reasoning_tokens, usage_estimated, cost_usd, baseline_usd, price_version, \
    baseline_price_version, latency_ms, ttft_ms, upstream_ms, client_family";

/// Appends `events` as CSV rows to `out`.
pub fn encode_into(out: &mut String, events: &[UsageEvent]) {
    for e in events {
        let mut row = Row { out, first: true };
        row.raw(&e.event_id.hyphenated().to_string());
        row.raw(&e.occurred_at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string());
        row.text(Some(&e.tenant_id));
        row.text(Some(&e.key_id));
        row.text(e.team.as_deref());
        row.text(e.user_tag.as_deref());
        row.text(Some(&e.endpoint));
        row.text(Some(&e.requested_model));
        row.text(e.routed_provider.as_deref());
        row.text(e.routed_model.as_deref());
        row.text(Some(&e.route_reason));
        row.int(Some(u64::from(e.attempts)));
        row.bool(e.stream);
        row.int(Some(u64::from(e.status)));
        row.text(e.error_kind.as_deref());
        row.int(Some(e.prompt_tokens));
        row.int(Some(e.completion_tokens));
        row.int(Some(e.cached_tokens));
        row.int(Some(e.cache_write_tokens));
        row.int(Some(e.reasoning_tokens));
        row.bool(e.usage_estimated);
        let (cost, baseline) = e.priced().unzip();
        row.raw(&money(cost));
        row.raw(&money(baseline));
        row.text(e.price_version.as_deref());
        row.text(e.baseline_price_version.as_deref());
        row.int(Some(u64::from(e.latency_ms)));
        row.int(e.ttft_ms.map(u64::from));
        row.int(e.upstream_ms.map(u64::from));
        row.text(Some(&e.client_family));
        out.push('\n');
    }
}

pub fn encode(events: &[UsageEvent]) -> String {
    let mut out = String::with_capacity(events.len() * 512);
    encode_into(&mut out, events);
    out
}

struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl Row<'_> {
    fn sep(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
    }

    fn raw(&mut self, value: &str) {
        self.sep();
        self.out.push_str(value);
    }

    fn text(&mut self, value: Option<&str>) {
        self.sep();
        let Some(value) = value else { return };
        self.out.push('"');
        for c in value.chars() {
            match c {
                '"' => self.out.push_str("\"\""),
                '\0' => {}
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn int(&mut self, value: Option<u64>) {
        self.sep();
        if let Some(value) = value {
            let _ = write!(self.out, "{}", value.min(i64::MAX as u64));
        }
    }

    fn bool(&mut self, value: bool) {
        self.raw(if value { "t" } else { "f" });
    }
}

/// The store's canonical amount; NULL (empty) when unknown.
fn money(amount: Option<Cost>) -> String {
    amount.map(Cost::usd).unwrap_or_default()
}
