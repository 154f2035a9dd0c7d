//! `GET /api/v1/analytics/timeseries?interval=day|week|month`: the figures per
//! calendar period touching the range, periods without traffic as zeros. Weeks
//! start on Monday, months on the 1st; a point's `start`..`end` are the days of
//! the range inside its `period`, so the first and last points of a range that
//! starts or ends mid-period count only the range's own days.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use chrono::NaiveDate;
use serde::Serialize;

use analytics::store::queries::{Aggregate, Filter, Interval, PeriodAggregate};

use super::csv::Table;
use super::figures::{figures, Cell, Record};
use super::params::{Params, RANGE};
use super::{respond, store_error, today, Answer};
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;

const INTERVALS: &[(&str, Interval)] = &[
    ("day", Interval::Day),
    ("week", Interval::Week),
    ("month", Interval::Month),
];

pub async fn timeseries(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = Params::parse(&uri, &headers, &key, &[RANGE, &["interval"]])?;
    let (from, to) = params.range(today())?;
    let interval = params.choice("interval", INTERVALS, Some(Interval::Day))?;
    let answer = series_of(&state, &params.tenant, from, to, &params.filter(), interval).await?;
    Ok(respond(params.format, &answer))
}

/// The points of `tenant`'s `from..=to` under `filter` (share links read
/// them too).
pub(crate) async fn series_of(
    state: &AppState,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
    interval: Interval,
) -> Result<Series, GatewayError> {
    let points = state
        .store
        .series(tenant, from, to, filter, interval)
        .await
        .map_err(store_error)?;
    Ok(Series {
        tenant: tenant.to_owned(),
        from,
        to,
        interval: INTERVALS
            .iter()
            .find(|(_, known)| *known == interval)
            .map_or("day", |(name, _)| name),
        points: points.iter().map(point).collect(),
    })
}

fn point(point: &PeriodAggregate) -> Record {
    let mut record = Record::default();
    record.push("period", Cell::Text(point.period.to_string()));
    record.push("start", Cell::Text(point.start.to_string()));
    record.push("end", Cell::Text(point.end.to_string()));
    record.extend(figures(&point.figures));
    record
}

#[derive(Serialize)]
pub(crate) struct Series {
    tenant: String,
    from: NaiveDate,
    to: NaiveDate,
    interval: &'static str,
    points: Vec<Record>,
}

impl Answer for Series {
    fn file_name(&self) -> String {
        format!("timeseries-{}-{}-{}", self.interval, self.from, self.to)
    }

    fn table(&self) -> Table {
        let template = point(&PeriodAggregate {
            figures: Aggregate::default(),
            ..PeriodAggregate::default()
        });
        Table {
            columns: template.names(),
            rows: self.points.clone(),
        }
    }
}
