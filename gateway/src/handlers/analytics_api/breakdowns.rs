//! Figures split by one dimension, and the routing mix.
//!
//! - `GET /api/v1/analytics/breakdown?by=requested_model|routed_model|provider|key|team`:
//!   one row per value of the dimension, most spend first. An absent team or
//!   provider (a key without a team, a request refused before routing) is `null`.
//! - `GET /api/v1/analytics/routing-mix`: one row per (requested model, routed
//!   model) pair: how many requests took that route, their share of all
//!   requests, and what they cost against what the requested model would have
//!   cost. `substituted` is true when the gateway served a different model.

use std::cmp::Reverse;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use chrono::NaiveDate;
use pricing::Cost;
use serde::Serialize;

use analytics::store::queries::{Aggregate, Filter, GroupBy};

use super::csv::Table;
use super::figures::{figures, percent, Cell, Record};
use super::params::{Params, RANGE};
use super::{respond, store_error, today, Answer};
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;

/// `by` values: the column each names, and the grouping.
const DIMENSIONS: &[(&str, GroupBy)] = &[
    ("requested_model", GroupBy::RequestedModel),
    ("routed_model", GroupBy::RoutedModel),
    ("provider", GroupBy::Provider),
    ("key", GroupBy::Key),
    ("team", GroupBy::Team),
];

pub async fn breakdown(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = Params::parse(&uri, &headers, &key, &[RANGE, &["by"]])?;
    let (from, to) = params.range(today())?;
    let by = params.choice("by", DIMENSIONS, None)?;
    let answer = breakdown_of(&state, &params.tenant, from, to, &params.filter(), by).await?;
    Ok(respond(params.format, &answer))
}

/// `tenant`'s `from..=to` under `filter`, split `by` one dimension (share
/// links read it too).
pub(crate) async fn breakdown_of(
    state: &AppState,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
    by: GroupBy,
) -> Result<Breakdown, GatewayError> {
    let by_name = DIMENSIONS
        .iter()
        .find(|(_, known)| *known == by)
        .map_or("requested_model", |(name, _)| name);
    let mut groups = state
        .store
        .aggregate(tenant, from, to, filter, by)
        .await
        .map_err(store_error)?;
    groups.sort_by_key(|g| (Reverse(g.totals.cost), Reverse(g.totals.requests)));
    Ok(Breakdown {
        tenant: tenant.to_owned(),
        from,
        to,
        by: by_name,
        rows: groups.iter().map(|g| breakdown_row(by_name, g)).collect(),
    })
}

fn breakdown_row(by: &'static str, group: &Aggregate) -> Record {
    let mut record = Record::default();
    record.push(by, Cell::dimension(&group.group.0));
    record.extend(figures(group));
    record
}

#[derive(Serialize)]
pub(crate) struct Breakdown {
    tenant: String,
    from: NaiveDate,
    to: NaiveDate,
    by: &'static str,
    rows: Vec<Record>,
}

impl Answer for Breakdown {
    fn file_name(&self) -> String {
        format!("breakdown-{}-{}-{}", self.by, self.from, self.to)
    }

    fn table(&self) -> Table {
        Table {
            columns: breakdown_row(self.by, &Aggregate::default()).names(),
            rows: self.rows.clone(),
        }
    }
}

pub async fn routing_mix(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = Params::parse(&uri, &headers, &key, &[RANGE])?;
    let (from, to) = params.range(today())?;
    let answer = routing_mix_of(&state, &params.tenant, from, to, &params.filter()).await?;
    Ok(respond(params.format, &answer))
}

/// The routing mix of `tenant`'s `from..=to` under `filter` (share links
/// read it too).
pub(crate) async fn routing_mix_of(
    state: &AppState,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
) -> Result<RoutingMix, GatewayError> {
    let mut routes = state
        .store
        .aggregate(tenant, from, to, filter, GroupBy::Substitution)
        .await
        .map_err(store_error)?;
    routes.sort_by(|a, b| {
        (Reverse(a.totals.requests), &a.group).cmp(&(Reverse(b.totals.requests), &b.group))
    });
    Ok(RoutingMix::new(tenant, from, to, &routes))
}

/// Whether a route served another model than the one asked for.
fn substituted(route: &Aggregate) -> bool {
    let (requested, routed) = &route.group;
    !routed.is_empty() && requested != routed
}

fn mix_row(route: &Aggregate, all_requests: i64) -> Record {
    let mut record = Record::default();
    record.push("requested_model", Cell::dimension(&route.group.0));
    record.push("routed_model", Cell::dimension(&route.group.1));
    record.push("substituted", Cell::Bool(substituted(route)));
    record.push(
        "share_pct",
        Cell::opt_text(percent(
            i128::from(route.totals.requests),
            i128::from(all_requests),
        )),
    );
    record.extend(figures(route));
    record
}

#[derive(Serialize)]
pub(crate) struct RoutingMix {
    tenant: String,
    from: NaiveDate,
    to: NaiveDate,
    /// Requests in the range, all routes.
    requests: i64,
    /// Requests served by another model than the one asked for.
    substituted_requests: i64,
    substitution_rate_pct: Option<String>,
    /// What the substituted requests saved.
    substitution_savings_usd: String,
    routes: Vec<Record>,
}

impl RoutingMix {
    fn new(tenant: &str, from: NaiveDate, to: NaiveDate, routes: &[Aggregate]) -> RoutingMix {
        let requests: i64 = routes.iter().map(|r| r.totals.requests).sum();
        let swapped = || routes.iter().filter(|r| substituted(r));
        let substituted_requests: i64 = swapped().map(|r| r.totals.requests).sum();
        let savings: Cost = swapped().map(|r| r.totals.savings).sum();
        RoutingMix {
            tenant: tenant.to_owned(),
            from,
            to,
            requests,
            substituted_requests,
            substitution_rate_pct: percent(i128::from(substituted_requests), i128::from(requests)),
            substitution_savings_usd: savings.usd(),
            routes: routes.iter().map(|r| mix_row(r, requests)).collect(),
        }
    }
}

impl Answer for RoutingMix {
    fn file_name(&self) -> String {
        format!("routing-mix-{}-{}", self.from, self.to)
    }

    fn table(&self) -> Table {
        Table {
            columns: mix_row(&Aggregate::default(), 0).names(),
            rows: self.routes.clone(),
        }
    }
}
