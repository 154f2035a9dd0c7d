//! What a request cost, what the requested model would have cost at list price
//! (the baseline), and how both are reported: response headers for buffered
//! answers, a final SSE comment line for streams (clients ignore comments).
//!
//! Every figure names the catalog entry and price version it used, so a past cost
//! can be explained and re-priced. Costs are exact (pico-USD); decimal text appears
//! only here, at the edge.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use pricing::{cost_of, Cost, Date, ModelEntry, TokenUsage};

/// The catalog entries a request is priced against, fixed when it is routed.
#[derive(Debug, Clone, Default)]
pub struct Billing {
    pub day: Option<Date>,
    /// The deployment that served the request.
    pub served: Option<Arc<ModelEntry>>,
    /// The requested model's entry; `None` (virtual names without a configured
    /// baseline) makes the baseline the cost itself, so no saving is claimed.
    pub baseline: Option<Arc<ModelEntry>>,
    /// Shadow mode: what `equivalent` routing would have used.
    pub shadow: Option<Arc<ModelEntry>>,
}

/// A cost and the price version it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub cost: Cost,
    /// `provider/id@effective-date`.
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub usage: TokenUsage,
    /// True when the provider reported no usage and the gateway estimated it.
    pub estimated: bool,
    pub cost: Option<Priced>,
    pub baseline: Option<Priced>,
    pub shadow: Option<Priced>,
}

fn price(entry: &ModelEntry, day: Date, usage: &TokenUsage) -> Option<Priced> {
    let reference = entry.price_on(day)?;
    Some(Priced {
        cost: cost_of(reference.version, usage).total(),
        price: reference.to_string(),
    })
}

impl Billing {
    pub fn bill(&self, usage: TokenUsage, estimated: bool) -> Bill {
        let day = self.day.unwrap_or(Date(0));
        let cost = self.served.as_deref().and_then(|e| price(e, day, &usage));
        let baseline = match self.baseline.as_deref() {
            Some(entry) => price(entry, day, &usage),
            None => cost.clone(),
        };
        Bill {
            usage,
            estimated,
            shadow: self.shadow.as_deref().and_then(|e| price(e, day, &usage)),
            cost,
            baseline,
        }
    }
}

impl Bill {
    /// Baseline minus cost; negative when the route cost more.
    pub fn savings(&self) -> Option<Cost> {
        Some(self.baseline.as_ref()?.cost - self.cost.as_ref()?.cost)
    }

    /// What shadow routing would have saved against the baseline.
    pub fn shadow_savings(&self) -> Option<Cost> {
        Some(self.baseline.as_ref()?.cost - self.shadow.as_ref()?.cost)
    }

    /// `(name, value)` pairs, in the order they are reported.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::with_capacity(8);
        if let Some(cost) = &self.cost {
            fields.push(("x-gateway-cost-usd", cost.cost.usd()));
            fields.push(("x-gateway-price", cost.price.clone()));
        }
        if let Some(baseline) = &self.baseline {
            fields.push(("x-gateway-baseline-usd", baseline.cost.usd()));
            fields.push(("x-gateway-baseline-price", baseline.price.clone()));
        }
        if let Some(savings) = self.savings() {
            fields.push(("x-gateway-savings-usd", savings.usd()));
        }
        if let (Some(shadow), Some(savings)) = (&self.shadow, self.shadow_savings()) {
            fields.push(("x-gateway-shadow-price", shadow.price.clone()));
            fields.push(("x-gateway-shadow-savings-usd", savings.usd()));
        }
        fields.push((
            "x-gateway-usage",
            format!(
                "prompt={} completion={}{}",
                self.usage.prompt_tokens,
                self.usage.completion_tokens,
                if self.estimated { " estimated" } else { "" }
            ),
        ));
        fields
    }

    pub fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in self.fields() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }

    /// One SSE comment line carrying the same fields, e.g.
    /// `: x-gateway-cost-usd=0.0012; x-gateway-price=openai/gpt-4o@2026-11-25`.
    pub fn sse_comment(&self) -> Bytes {
        let mut line = String::from(":");
        for (i, (name, value)) in self.fields().into_iter().enumerate() {
            let separator = if i == 0 { " " } else { "; " };
            let _ = write!(line, "{separator}{name}={value}");
        }
        line.push_str("\n\n");
        Bytes::from(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricing::Catalog;

    fn entry(provider: &str, id: &str) -> Option<Arc<ModelEntry>> {
        let catalog = Catalog::embedded().unwrap();
        Some(Arc::new(catalog.get(provider, id).unwrap().clone()))
    }

    #[test]
    fn savings_are_baseline_minus_cost_with_price_versions_named() {
        let billing = Billing {
            day: Date::parse("2026-12-01"),
            served: entry("openai", "gpt-4o-mini"),
            baseline: entry("openai", "gpt-4o"),
            shadow: None,
        };
        let usage = TokenUsage {
            prompt_tokens: 1_000,
            completion_tokens: 100,
            ..TokenUsage::default()
        };
        let bill = billing.bill(usage, false);
        // gpt-4o-mini: 1,000 x $0.15 + 100 x $0.60 per M = $0.00021.
        // gpt-4o:      1,000 x $2.50 + 100 x $10   per M = $0.0035.
        assert_eq!(bill.cost.as_ref().unwrap().cost.usd(), "0.00021");
        assert_eq!(bill.baseline.as_ref().unwrap().cost.usd(), "0.0035");
        assert_eq!(bill.savings().unwrap().usd(), "0.00329");
        assert_eq!(
            bill.cost.as_ref().unwrap().price,
            "openai/gpt-4o-mini@2026-11-25"
        );
        let comment = String::from_utf8(bill.sse_comment().to_vec()).unwrap();
        assert!(
            comment.starts_with(
                ": x-gateway-cost-usd=0.00021; x-gateway-price=openai/gpt-4o-mini@2026-11-25;"
            ),
            "{comment}"
        );
        assert!(
            comment.ends_with("x-gateway-usage=prompt=1000 completion=100\n\n"),
            "{comment}"
        );
    }

    #[test]
    fn without_a_baseline_no_saving_is_claimed() {
        let billing = Billing {
            day: Date::parse("2026-12-01"),
            served: entry("openai", "gpt-4o-mini"),
            ..Billing::default()
        };
        let bill = billing.bill(
            TokenUsage {
                prompt_tokens: 10,
                ..TokenUsage::default()
            },
            true,
        );
        assert_eq!(bill.savings(), Some(Cost::ZERO));
        let unpriced = Billing::default().bill(TokenUsage::default(), false);
        assert_eq!(unpriced.savings(), None);
    }
}
