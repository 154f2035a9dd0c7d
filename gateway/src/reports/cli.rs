//! `gateway reports send`: a manual run from the command line, against the
//! config's store and channels, the same as the API's "send now". Checks its
//! input first (a period that has not begun, an unknown channel, a tenant
//! without a schedule of that kind and no `--channel`), in the words the API
//! uses.

use std::sync::Arc;

use super::deliver::{Reports, Sent};
use super::period::Period;
use crate::alerts::Alerts;
use crate::config::Config;

/// Sends `tenant`'s report of `period` to `channels` (default: its
/// schedule's); `Err` with what is wrong.
pub async fn send(
    config: &Config,
    tenant: &str,
    period: &str,
    mut channels: Vec<String>,
) -> Result<Sent, String> {
    let today = chrono::Utc::now().date_naive();
    let period = Period::parse(period).ok_or_else(|| {
        format!("--period must be YYYY-MM (2026-11) or YYYY-Www (2026-W48), not `{period}`")
    })?;
    if period.start > today {
        return Err(format!("the period {} has not begun", period.name()));
    }
    if channels.is_empty() {
        channels = config
            .reports
            .schedules
            .iter()
            .find(|s| s.tenant == tenant && s.kind == period.kind)
            .map(|s| s.channels.clone())
            .ok_or_else(|| {
                format!(
                    "tenant `{tenant}` has no {} schedule: name --channel",
                    period.kind.as_str()
                )
            })?;
    }
    if let Some(unknown) = channels
        .iter()
        .find(|c| !config.alerts.channels.iter().any(|k| &k.name == *c))
    {
        return Err(format!(
            "no channel named `{unknown}` in [[alerts.channels]]"
        ));
    }
    let store = crate::events::open_store(&config.analytics)
        .await
        .map_err(|error| error.to_string())?;
    let store = Arc::new(store);
    let alerts = Alerts::new(&config.alerts, Some(store.clone()));
    let reports = Reports::new(Vec::new(), alerts, store);
    reports
        .send_now(tenant, period, channels)
        .await
        .map_err(|error| error.to_string())
}
