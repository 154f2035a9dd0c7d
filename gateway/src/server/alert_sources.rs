//! What the alert rules read from the running gateway (`alerts::Sources`):
//! the scopes keys are held to and their budgets (config and store keys
//! alike, from the live key table), each provider's circuit,
//! and the event writer's losses, all from the live state (a reload is seen
//! at the next round). Here, beside the state, so `alerts` need not import it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crate::alerts::{ScopeView, Sources};
use crate::allowance::Scope;
use crate::providers::Adapter;
use crate::state::AppState;

pub(super) struct LiveSources {
    state: AppState,
}

impl LiveSources {
    pub(super) fn new(state: AppState) -> LiveSources {
        LiveSources { state }
    }
}

impl Sources for LiveSources {
    fn scopes(&self) -> Vec<ScopeView> {
        let keys = self.state.keys();
        let key_tenants: HashMap<&str, &str> = keys
            .all()
            .map(|k| (k.id.as_str(), k.tenant.as_str()))
            .collect();
        keys.scopes()
            .into_iter()
            .map(|(scope, allowance)| {
                let tenant = match &scope {
                    Scope::Key(id) => key_tenants.get(id.as_str()).map(|t| (*t).to_owned()),
                    Scope::Team { tenant, .. } | Scope::Tenant(tenant) => Some(tenant.clone()),
                };
                ScopeView {
                    scope,
                    tenant,
                    allowance,
                }
            })
            .collect()
    }

    fn circuits(&self) -> Vec<(String, bool)> {
        let snapshot = self.state.snapshot();
        snapshot
            .providers
            .iter()
            .zip(&snapshot.health.breakers)
            .map(|(provider, breaker)| (provider.name().to_string(), breaker.tripped()))
            .collect()
    }

    fn writer_losses(&self) -> u64 {
        let stats = self.state.events.stats();
        stats.spilled.load(Ordering::Relaxed)
            + stats.dropped.load(Ordering::Relaxed)
            + stats.dead_lettered.load(Ordering::Relaxed)
    }
}
