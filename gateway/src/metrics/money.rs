//! Money in Prometheus: spend, baseline and savings in USD by tenant, provider
//! and routed model, since the process started.
//!
//! Labels come only from the gateway's own names: the tenant of the caller's key
//! (configured or stored tenants), the provider and the routed model of the
//! routing table's deployment. The requested model is a client string and is
//! never a label.
//!
//! Exact: sums are kept as `pricing::Cost` (i128 pico-USD) and rendered at each
//! scrape as exact decimal text (`0.00021`). Prometheus stores every sample as
//! a float64 anyway; summing exactly and converting once per scrape keeps the
//! error to that one rounding (about 1e-16 of the value), where a float counter
//! fed per request would drift with every addition.
//!
//! Spend and baseline only grow: counters (`gateway_spend_usd_total`,
//! `gateway_baseline_usd_total`). Savings can shrink (a request routed to a
//! model dearer than its baseline, e.g. after a failover) and a counter must
//! never go down, so `gateway_savings_usd` is a gauge of the running total;
//! over a range use `increase(baseline) - increase(spend)`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use pricing::Cost;

/// A tenant's sums per (provider, routed model).
type ByModel = HashMap<(Arc<String>, Arc<String>), Sums>;

/// One metric: name, type, help, and its value from the sums.
type Rendered = (&'static str, &'static str, &'static str, fn(&Sums) -> Cost);

/// Sums per tenant, then per (provider, routed model).
#[derive(Default)]
pub struct MoneyCounters {
    sums: Mutex<HashMap<String, ByModel>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sums {
    spend: Cost,
    baseline: Cost,
}

impl MoneyCounters {
    /// Adds one priced request. Allocates only for a tenant's first request.
    pub fn record(
        &self,
        tenant: &str,
        provider: &Arc<String>,
        model: &Arc<String>,
        cost: Cost,
        baseline: Cost,
    ) {
        let mut sums = self.sums.lock().unwrap_or_else(PoisonError::into_inner);
        let by_model = match sums.get_mut(tenant) {
            Some(by_model) => by_model,
            None => sums.entry(tenant.to_owned()).or_default(),
        };
        let entry = by_model
            .entry((provider.clone(), model.clone()))
            .or_default();
        entry.spend += cost;
        entry.baseline += baseline;
    }

    /// The three metrics in the OpenMetrics text format, series sorted (their
    /// headers even before the first priced request, so dashboards can tell
    /// "none yet" from "not exported").
    pub fn render(&self, out: &mut String) {
        let mut rows: Vec<(String, Sums)> = {
            let sums = self.sums.lock().unwrap_or_else(PoisonError::into_inner);
            sums.iter()
                .flat_map(|(tenant, by_model)| {
                    by_model.iter().map(move |((provider, model), sums)| {
                        (
                            format!(
                                "tenant=\"{}\",provider=\"{}\",model=\"{}\"",
                                escape(tenant),
                                escape(provider),
                                escape(model)
                            ),
                            *sums,
                        )
                    })
                })
                .collect()
        };
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let metrics: [Rendered; 3] = [
            (
                "spend_usd",
                "counter",
                "Cost of priced requests in USD, by tenant, provider and routed model (exact sum)",
                |s| s.spend,
            ),
            (
                "baseline_usd",
                "counter",
                "Baseline cost of priced requests in USD (the requested model at list price), by tenant, provider and routed model (exact sum)",
                |s| s.baseline,
            ),
            (
                "savings_usd",
                "gauge",
                "Baseline minus spend of priced requests in USD since start, by tenant, provider and routed model (a gauge: it shrinks when a route costs more than its baseline)",
                |s| s.baseline - s.spend,
            ),
        ];
        for (name, kind, help, value) in metrics {
            let _ = writeln!(
                out,
                "# HELP gateway_{name} {help}.\n# TYPE gateway_{name} {kind}"
            );
            let suffix = if kind == "counter" { "_total" } else { "" };
            for (labels, sums) in &rows {
                let _ = writeln!(out, "gateway_{name}{suffix}{{{labels}}} {}", value(sums));
            }
        }
    }
}

/// A label value as the text format needs it (backslash, quote, newline).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Cost {
        Cost::parse_usd(text).unwrap()
    }

    #[test]
    fn sums_are_exact_and_rendered_as_decimal_text() {
        let money = MoneyCounters::default();
        let (openai, mini) = (
            Arc::new("openai".to_owned()),
            Arc::new("gpt-4o-mini".to_owned()),
        );
        let (anthropic, opus) = (
            Arc::new("anthropic".to_owned()),
            Arc::new("opus".to_owned()),
        );
        // 0.1 + 0.2 in floats is 0.30000000000000004; here it is 0.3.
        money.record("acme", &openai, &mini, usd("0.1"), usd("0.5"));
        money.record("acme", &openai, &mini, usd("0.2"), usd("0.5"));
        // Dearer than its baseline: savings go negative, so savings are a gauge.
        money.record("globex", &anthropic, &opus, usd("0.000000000001"), usd("0"));
        let mut text = String::new();
        money.render(&mut text);
        for line in [
            "# TYPE gateway_spend_usd counter",
            "gateway_spend_usd_total{tenant=\"acme\",provider=\"openai\",model=\"gpt-4o-mini\"} 0.3",
            "gateway_baseline_usd_total{tenant=\"acme\",provider=\"openai\",model=\"gpt-4o-mini\"} 1",
            "# TYPE gateway_savings_usd gauge",
            "gateway_savings_usd{tenant=\"acme\",provider=\"openai\",model=\"gpt-4o-mini\"} 0.7",
            "gateway_spend_usd_total{tenant=\"globex\",provider=\"anthropic\",model=\"opus\"} 0.000000000001",
            "gateway_savings_usd{tenant=\"globex\",provider=\"anthropic\",model=\"opus\"} -0.000000000001",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn only_the_headers_are_rendered_before_the_first_priced_request() {
        let mut text = String::new();
        MoneyCounters::default().render(&mut text);
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(text.lines().all(|l| l.starts_with("# ")), "{text}");
        assert!(text.contains("# TYPE gateway_spend_usd counter\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        for (value, escaped) in [
            ("plain", "plain"),
            ("a\"b", "a\\\"b"),
            ("a\\b", "a\\\\b"),
            ("a\nb", "a\\nb"),
        ] {
            assert_eq!(escape(value), escaped);
        }
    }
}
