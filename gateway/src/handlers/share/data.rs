//! A link's figures: the analytics API's own answers (`summary_of`,
//! `series_of`, `breakdown_of`, `routing_mix_of`: the same rollup queries and
//! the same figures), one per panel the view shows, for the days its range
//! means today. The tenant's id is taken out of each answer: a link shows
//! its view, and says nothing else about whose it is.

use analytics::store::queries::{GroupBy, Interval};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::access::Link;
use crate::error::GatewayError;
use crate::handlers::admin::views::time;
use crate::handlers::analytics_api::{breakdown_of, routing_mix_of, series_of, summary_of};
use crate::shares::view::Panel;
use crate::state::AppState;

/// An answer as JSON, without its `tenant`.
fn anonymous(answer: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(answer).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("tenant");
    }
    value
}

/// Points per day up to a quarter, per week up to two years, else per month.
fn interval(days: i64) -> Interval {
    match days {
        ..=92 => Interval::Day,
        93..=731 => Interval::Week,
        _ => Interval::Month,
    }
}

pub async fn figures(state: &AppState, link: &Link) -> Result<Value, GatewayError> {
    let now = Utc::now();
    let (from, to) = link.view.days(now.date_naive());
    let tenant = link.record.tenant_id.as_str();
    let filter = link.view.filter();
    let mut panels = Map::new();
    for panel in &link.view.panels {
        let (name, value) = match panel {
            Panel::Tiles => (
                "tiles",
                anonymous(&summary_of(state, tenant, from, to, &filter).await?),
            ),
            Panel::Timeseries => {
                let every = interval((to - from).num_days() + 1);
                let series = series_of(state, tenant, from, to, &filter, every).await?;
                ("timeseries", anonymous(&series))
            }
            Panel::RoutingMix => (
                "routing_mix",
                anonymous(&routing_mix_of(state, tenant, from, to, &filter).await?),
            ),
            Panel::Models | Panel::Providers | Panel::Teams | Panel::Keys => {
                let (name, by) = match panel {
                    Panel::Models => ("models", GroupBy::RequestedModel),
                    Panel::Providers => ("providers", GroupBy::Provider),
                    Panel::Teams => ("teams", GroupBy::Team),
                    _ => ("keys", GroupBy::Key),
                };
                let split = breakdown_of(state, tenant, from, to, &filter, by).await?;
                (name, anonymous(&split))
            }
        };
        panels.insert(name.to_owned(), value);
    }
    Ok(json!({
        "label": link.record.label,
        "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "expires_at": time(link.record.expires_ms),
        "from": from,
        "to": to,
        "view": link.view,
        "panels": panels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ranges_get_coarser_points() {
        for (days, expected) in [
            (1, Interval::Day),
            (92, Interval::Day),
            (93, Interval::Week),
            (731, Interval::Week),
            (732, Interval::Month),
        ] {
            assert_eq!(interval(days), expected, "{days}");
        }
    }

    #[test]
    fn answers_lose_their_tenant() {
        let value = anonymous(&json!({"tenant": "acme", "from": "x"}));
        assert_eq!(value, json!({"from": "x"}));
    }
}
