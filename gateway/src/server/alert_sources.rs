//! What the alert rules read from the running gateway (`alerts::Sources`):
//! the scopes keys are held to and their budgets, each provider's circuit,
//! and the event writer's losses, all from the live state (a reload is seen
//! at the next round). Here, beside the state, so `alerts` need not import it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crate::alerts::{ScopeView, Sources};
use crate::allowance::Scope;
use crate::config::Config;
use crate::providers::Adapter;
use crate::state::AppState;

pub(super) struct LiveSources {
    state: AppState,
    /// Key id to tenant, from the config's keys.
    key_tenants: HashMap<String, String>,
}

impl LiveSources {
    pub(super) fn new(state: AppState, config: &Config) -> LiveSources {
        LiveSources {
            state,
            key_tenants: config
                .keys
                .iter()
                .map(|k| (k.id.clone(), k.tenant.clone()))
                .collect(),
        }
    }
}

impl Sources for LiveSources {
    fn scopes(&self) -> Vec<ScopeView> {
        self.state
            .snapshot()
            .keys
            .scopes()
            .into_iter()
            .map(|(scope, allowance)| {
                let tenant = match &scope {
                    Scope::Key(id) => self.key_tenants.get(id).cloned(),
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
