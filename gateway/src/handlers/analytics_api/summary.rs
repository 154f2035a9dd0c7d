//! `GET /api/v1/analytics/summary`: one set of figures for a range of days
//! (spend, baseline, savings and savings % over priced requests, unpriced
//! requests, requests, errors and error rate, failovers and failover rate,
//! tokens, latency average, p50 and p95), under optional filters.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use chrono::NaiveDate;
use serde::{Serialize, Serializer};

use analytics::store::queries::{Aggregate, Filter, GroupBy};

use super::csv::Table;
use super::figures::{figures, Cell, Record};
use super::params::{Params, RANGE};
use super::{respond, store_error, today, Answer};
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;

pub async fn summary(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = Params::parse(&uri, &headers, &key, &[RANGE])?;
    let (from, to) = params.range(today())?;
    let answer = summary_of(&state, &params.tenant, from, to, &params.filter()).await?;
    Ok(respond(params.format, &answer))
}

/// The summary of `tenant`'s `from..=to` under `filter` (share links read
/// it too).
pub(crate) async fn summary_of(
    state: &AppState,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
) -> Result<Summary, GatewayError> {
    let groups = state
        .store
        .aggregate(tenant, from, to, filter, GroupBy::Total)
        .await
        .map_err(store_error)?;
    let total = groups.into_iter().next().unwrap_or_default();
    Ok(Summary::new(tenant, from, to, &total))
}

/// `{"tenant", "from", "to", ...figures}`.
pub(crate) struct Summary {
    from: NaiveDate,
    to: NaiveDate,
    record: Record,
}

impl Summary {
    fn new(tenant: &str, from: NaiveDate, to: NaiveDate, total: &Aggregate) -> Summary {
        let mut record = Record::default();
        record.push("tenant", Cell::Label(tenant.to_owned()));
        record.push("from", Cell::Text(from.to_string()));
        record.push("to", Cell::Text(to.to_string()));
        record.extend(figures(total));
        Summary { from, to, record }
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.record.serialize(serializer)
    }
}

impl Answer for Summary {
    fn file_name(&self) -> String {
        format!("summary-{}-{}", self.from, self.to)
    }

    fn table(&self) -> Table {
        Table {
            columns: self.record.names(),
            rows: vec![self.record.clone()],
        }
    }
}
