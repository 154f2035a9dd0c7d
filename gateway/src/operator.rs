//! The operator's view across tenants (admin keys): what the view is built
//! from, gathered in one place.
//!
//! - The store's part (every tenant's last 60 days from the daily rollups,
//!   [`Store::operator_usage`], and the latest ROI promises,
//!   [`Store::latest_promises`]) is one grouped
//!   read of the rollups that grows with the number of tenants, so it is kept
//!   for [`FRESH_FOR`] and shared: the list serves from memory, one request at
//!   a time refreshes it (the others wait for that read instead of starting
//!   their own). The rollups themselves run every housekeeping interval, so
//!   the view is as fresh as its source, give or take that much.
//! - The key table's part (each tenant's live keys and its teams' budgets:
//!   the config file's and the store's, merged) is read from memory on every
//!   call, so a key minted a second ago counts at once.
//!
//! The rows themselves (figures, health score, flags) are
//! [`analytics::operator::rows`]; sorting and shapes are the handler's.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use analytics::control::ControlData;
use analytics::operator::rows::{PromiseTerms, TeamBudget, TenantEntry};
use analytics::operator::TenantUsage;
use analytics::store::{Store, StoreError};
use chrono::NaiveDate;

use crate::allowance::Scope;
use crate::config::KeyRole;
use crate::keys::{KeyInputs, KeyStore};

/// How long one read of the store serves the view.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// What the store said, as of `today`.
#[derive(Debug, Default)]
pub struct StoreData {
    pub today: NaiveDate,
    pub usage: Vec<TenantUsage>,
    pub promises: HashMap<String, PromiseTerms>,
}

/// The store's part of the view, kept for [`FRESH_FOR`].
#[derive(Debug, Default)]
pub struct OperatorCache {
    held: tokio::sync::Mutex<Option<(Instant, Arc<StoreData>)>>,
}

impl OperatorCache {
    /// The store's data as of `today`: the held copy while fresh, else read
    /// now (one reader at a time; the others wait and take its copy).
    pub async fn data(
        &self,
        store: &Store,
        today: NaiveDate,
    ) -> Result<Arc<StoreData>, StoreError> {
        let mut held = self.held.lock().await;
        if let Some((at, data)) = held.as_ref() {
            if data.today == today && at.elapsed() < FRESH_FOR {
                return Ok(data.clone());
            }
        }
        let data = Arc::new(read(store, today).await?);
        *held = Some((Instant::now(), data.clone()));
        Ok(data)
    }
}

/// Reads the store's part of the view now (no cache).
pub async fn read(store: &Store, today: NaiveDate) -> Result<StoreData, StoreError> {
    let usage = store.operator_usage(today).await?;
    let promises = store
        .latest_promises()
        .await?
        .into_iter()
        .map(|p| {
            let terms = PromiseTerms {
                start_month: p.start_month,
                seats: p.seats,
                promised_gross_monthly: p.promised_gross_monthly,
            };
            (p.tenant_id, terms)
        })
        .collect();
    Ok(StoreData {
        today,
        usage,
        promises,
    })
}

/// Every tenant the key table knows: config-file and store tenants, and the
/// tenant of every key, with the ids of its live `api` keys (the ones that send
/// traffic) and the budgets of its teams.
pub fn directory(
    keys: &KeyStore,
    inputs: &KeyInputs,
    control: &ControlData,
    now_ms: i64,
) -> Vec<TenantEntry> {
    let mut tenants: BTreeMap<String, TenantEntry> = BTreeMap::new();
    for tenant in &inputs.tenants {
        entry(&mut tenants, &tenant.id);
    }
    for tenant in &control.tenants {
        entry(&mut tenants, &tenant.tenant_id).name = tenant.name.clone();
    }
    for key in keys.all() {
        let tenant = entry(&mut tenants, &key.tenant);
        if key.role == KeyRole::Api && !key.life.expired(now_ms) {
            tenant.keys.push(key.id.clone());
        }
    }
    for (scope, allowance) in keys.scopes() {
        if let Scope::Team { tenant, team } = scope {
            entry(&mut tenants, &tenant).teams.push(TeamBudget {
                team,
                daily: allowance.daily_usd,
                monthly: allowance.monthly_usd,
            });
        }
    }
    tenants
        .into_values()
        .map(|mut t| {
            t.keys.sort();
            t.teams.sort_by(|a, b| a.team.cmp(&b.team));
            t
        })
        .collect()
}

/// `id`'s entry, made empty if new.
fn entry<'a>(tenants: &'a mut BTreeMap<String, TenantEntry>, id: &str) -> &'a mut TenantEntry {
    tenants.entry(id.to_owned()).or_insert_with(|| TenantEntry {
        tenant_id: id.to_owned(),
        ..TenantEntry::default()
    })
}
