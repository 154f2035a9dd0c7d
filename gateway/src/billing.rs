//! What a request cost, what the requested model would have cost at list price
//! (the baseline), and how both are reported: response headers for buffered
//! answers, a final SSE comment line for streams (clients ignore comments).
//!
//! Every figure names the catalog entry and price version it used, so a past cost
//! can be explained and re-priced. Costs are exact (pico-USD); decimal text appears
//! only here, at the edge.
//!
//! Savings are claimed only where both sides are known: a request served by a
//! model without a price is unpriced (`x-gateway-priced: false`, no cost, no
//! baseline, no savings), and a request served by the model it asked for has its
//! own cost as baseline unless the config names another (`[[models]] baseline`).

use std::fmt::Write as _;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use pricing::{cost_of, Cost, Date, Rate, TokenUsage};

use crate::routing::Deployment;

/// The rates a request is priced against, fixed when it is routed; the served
/// rate and the baseline are set per attempt (`Billing::serving`).
#[derive(Debug, Clone, Default)]
pub struct Billing {
    pub day: Option<Date>,
    /// The rate of the deployment that served the request; `None`: unpriced.
    pub served: Option<Rate>,
    /// What the served cost is compared against. `None` makes the baseline the
    /// cost itself, so no saving is claimed: a model served as asked, a virtual
    /// name without a configured baseline.
    pub baseline: Option<Rate>,
    /// Shadow mode: what `equivalent` routing would have used.
    pub shadow: Option<Rate>,
}

/// A cost and the price version it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub cost: Cost,
    /// `provider/id@effective-date`, or `provider/model@config`.
    pub price: String,
}

/// What one request cost. Either both `cost` and `baseline` are known, or
/// neither: a request served by a model without a price is *unpriced*, with no
/// cost, no baseline and no savings (never a saving of its whole baseline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub usage: TokenUsage,
    /// True when the provider reported no usage and the gateway estimated it.
    pub estimated: bool,
    pub cost: Option<Priced>,
    pub baseline: Option<Priced>,
    pub shadow: Option<Priced>,
}

fn price(rate: &Rate, day: Date, usage: &TokenUsage) -> Option<Priced> {
    let quote = rate.quote(day)?;
    Some(Priced {
        cost: cost_of(quote.prices, usage).total(),
        price: quote.to_string(),
    })
}

impl Billing {
    /// The billing of an attempt at `deployment`. `as_requested`: it is one of
    /// the requested model's own deployments, so its baseline is its own price
    /// (or the `baseline` its config names), whatever the route reason; otherwise
    /// it stands in for the requested model and is compared against
    /// [`Billing::baseline`].
    pub(crate) fn serving(&self, deployment: &Deployment, as_requested: bool) -> Billing {
        Billing {
            day: self.day,
            served: deployment.rate.clone(),
            baseline: if as_requested {
                deployment.baseline.clone()
            } else {
                self.baseline.clone()
            },
            shadow: self.shadow.clone(),
        }
    }

    pub fn bill(&self, usage: TokenUsage, estimated: bool) -> Bill {
        let day = self.day.unwrap_or(Date(0));
        let Some(cost) = self.served.as_ref().and_then(|r| price(r, day, &usage)) else {
            return Bill {
                usage,
                estimated,
                cost: None,
                baseline: None,
                shadow: None,
            };
        };
        // A baseline without a price that day claims nothing either.
        let baseline = self
            .baseline
            .as_ref()
            .and_then(|r| price(r, day, &usage))
            .unwrap_or_else(|| cost.clone());
        Bill {
            usage,
            estimated,
            shadow: self.shadow.as_ref().and_then(|r| price(r, day, &usage)),
            cost: Some(cost),
            baseline: Some(baseline),
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

    /// Whether the served model had a price: only then are cost, baseline and
    /// savings known.
    pub fn priced(&self) -> bool {
        self.cost.is_some() && self.baseline.is_some()
    }

    /// `(name, value)` pairs, in the order they are reported.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::with_capacity(10);
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
        let priced = if self.priced() { "true" } else { "false" };
        fields.push(("x-gateway-priced", priced.to_owned()));
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
            // The value's own buffer becomes the header's: checked, not copied.
            if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
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
    use std::sync::Arc;

    use super::*;
    use pricing::{Catalog, FixedRate, Price};

    fn entry(provider: &str, id: &str) -> Option<Rate> {
        let catalog = Catalog::embedded().unwrap();
        Some(Rate::Catalog(Arc::new(
            catalog.get(provider, id).unwrap().clone(),
        )))
    }

    fn fixed(input: &str, output: &str) -> Option<Rate> {
        Some(Rate::Fixed(Arc::new(FixedRate::new(
            "local/llama-local".to_owned(),
            Price::from_usd_per_mtok(input).unwrap(),
            Price::from_usd_per_mtok(output).unwrap(),
            None,
        ))))
    }

    fn usage() -> TokenUsage {
        TokenUsage {
            prompt_tokens: 1_000,
            completion_tokens: 100,
            ..TokenUsage::default()
        }
    }

    fn field<'a>(bill: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        bill.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn savings_are_baseline_minus_cost_with_price_versions_named() {
        let billing = Billing {
            day: Date::parse("2026-12-01"),
            served: entry("openai", "gpt-4o-mini"),
            baseline: entry("openai", "gpt-4o"),
            shadow: None,
        };
        let bill = billing.bill(usage(), false);
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
            comment
                .ends_with("x-gateway-priced=true; x-gateway-usage=prompt=1000 completion=100\n\n"),
            "{comment}"
        );
    }

    /// (served, baseline) to (cost, baseline, savings, priced) as reported.
    #[test]
    fn only_priced_requests_have_a_baseline_and_savings() {
        type Row = (
            &'static str,
            Option<Rate>,
            Option<Rate>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
        );
        let cases: [Row; 6] = [
            (
                "a substitute, compared with the requested model",
                entry("openai", "gpt-4o-mini"),
                entry("openai", "gpt-4o"),
                Some("0.00021"),
                Some("0.0035"),
                Some("0.00329"),
                "true",
            ),
            (
                "no baseline rate: the cost itself, no saving",
                entry("openai", "gpt-4o-mini"),
                None,
                Some("0.00021"),
                Some("0.00021"),
                Some("0"),
                "true",
            ),
            (
                "an unpriced model: no cost, no baseline, no saving",
                None,
                entry("openai", "gpt-4o"),
                None,
                None,
                None,
                "false",
            ),
            (
                "unpriced, no baseline either",
                None,
                None,
                None,
                None,
                None,
                "false",
            ),
            (
                "priced at zero in the config, as asked: zero saved",
                fixed("0", "0"),
                None,
                Some("0"),
                Some("0"),
                Some("0"),
                "true",
            ),
            (
                "priced at zero, standing in for gpt-4o: all of it saved",
                fixed("0", "0"),
                entry("openai", "gpt-4o"),
                Some("0"),
                Some("0.0035"),
                Some("0.0035"),
                "true",
            ),
        ];
        for (what, served, baseline, cost, base, savings, priced) in cases {
            let billing = Billing {
                day: Date::parse("2026-12-01"),
                served,
                baseline,
                shadow: entry("openai", "gpt-4o-mini"),
            };
            let bill = billing.bill(usage(), false);
            let fields = bill.fields();
            assert_eq!(field(&fields, "x-gateway-cost-usd"), cost, "{what}");
            assert_eq!(field(&fields, "x-gateway-baseline-usd"), base, "{what}");
            assert_eq!(field(&fields, "x-gateway-savings-usd"), savings, "{what}");
            assert_eq!(field(&fields, "x-gateway-priced"), Some(priced), "{what}");
            assert_eq!(bill.priced(), priced == "true", "{what}");
            if priced == "false" {
                assert!(
                    !fields.iter().any(|(n, _)| n.contains("savings")),
                    "{what}: {fields:?}"
                );
                let comment = String::from_utf8(bill.sse_comment().to_vec()).unwrap();
                assert_eq!(
                    comment,
                    ": x-gateway-priced=false; x-gateway-usage=prompt=1000 completion=100\n\n"
                );
            }
        }
        let fixed_price = Billing {
            day: None,
            served: fixed("0.20", "0.60"),
            ..Billing::default()
        }
        .bill(usage(), false);
        assert_eq!(
            fixed_price.cost,
            Some(Priced {
                cost: Cost::parse_usd("0.00026").unwrap(),
                price: "local/llama-local@config".to_owned()
            })
        );
    }
}
