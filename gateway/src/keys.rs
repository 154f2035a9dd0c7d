//! Client API keys: minting, hashing and lookup. Keys are stored only as SHA-256
//! hashes; the plain key exists once, when `gateway keys create` prints it.
//! A fast hash is right here (unlike passwords) because keys carry 192 random bits.

use std::collections::HashMap;
use std::sync::Arc;

pub use crate::key_hash::KeyHash;

use crate::allowance::{Allowance, Allowances, Scope};
use crate::config::{AnalyticsScope, KeyConfig, KeyRole, PolicySettings, TeamConfig, TenantConfig};
use crate::routing::Policy;

/// Prefix of every key the gateway mints, so leaked keys are easy to scan for.
pub const KEY_PREFIX: &str = "sk-gw-";

/// Mints a new key: the prefix and 32 base62 characters from the OS RNG.
pub fn mint() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    let mut key = String::with_capacity(KEY_PREFIX.len() + random.len());
    key.push_str(KEY_PREFIX);
    // 248 = 4 * 62: rejecting bytes >= 248 would be unbiased, but one byte of
    // bias over 62 symbols costs < 0.01 bit per character; 32 chars keep > 190 bits.
    key.extend(
        random
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])),
    );
    Ok(key)
}

/// What a request is allowed to do, resolved from its key.
#[derive(Debug)]
pub struct ApiKey {
    pub id: String,
    pub tenant: String,
    pub team: Option<String>,
    pub role: KeyRole,
    /// Which of its tenant's analytics it reads.
    pub analytics: AnalyticsScope,
    /// The key's settings over its tenant's over the gateway's defaults.
    pub policy: Policy,
    /// The key's own, its team's and its tenant's limits and budgets.
    pub allowances: Allowances,
}

/// Keys by hash. Built once from config; a reload builds a new one.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_hash: HashMap<KeyHash, Arc<ApiKey>>,
}

impl KeyStore {
    pub fn new(
        keys: &[KeyConfig],
        tenants: &[TenantConfig],
        teams: &[TeamConfig],
        defaults: &PolicySettings,
    ) -> KeyStore {
        let base = defaults.over(&Policy::default());
        // One shared value per team and tenant, so its keys hold the same Arc.
        let team_allowances: HashMap<(&str, &str), Arc<Allowance>> = teams
            .iter()
            .map(|t| {
                (
                    (t.tenant.as_str(), t.id.as_str()),
                    Arc::new(t.allowance.clone()),
                )
            })
            .collect();
        let tenant_allowances: HashMap<&str, Arc<Allowance>> = tenants
            .iter()
            .map(|t| (t.id.as_str(), Arc::new(t.allowance.clone())))
            .collect();
        let by_hash = keys
            .iter()
            .map(|k| {
                let tenant_policy = tenants
                    .iter()
                    .find(|t| t.id == k.tenant)
                    .map_or_else(|| base.clone(), |t| t.policy.over(&base));
                let key = ApiKey {
                    id: k.id.clone(),
                    tenant: k.tenant.clone(),
                    team: k.team.clone(),
                    role: k.role,
                    analytics: k.analytics,
                    policy: k.policy.over(&tenant_policy),
                    allowances: allowances_of(k, &team_allowances, &tenant_allowances),
                };
                (k.hash, Arc::new(key))
            })
            .collect();
        KeyStore { by_hash }
    }

    pub fn find(&self, presented: &str) -> Option<&Arc<ApiKey>> {
        self.by_hash.get(&KeyHash::of(presented))
    }

    /// Every scope some key is held to, once each (by [`Scope`]), with its
    /// allowance: what budget alerts and budget rebuilds walk over.
    pub fn scopes(&self) -> Vec<(Scope, Arc<Allowance>)> {
        let mut seen = std::collections::HashSet::new();
        let mut scopes = Vec::new();
        for key in self.by_hash.values() {
            for (scope, allowance) in &key.allowances.scopes {
                if seen.insert(scope.clone()) {
                    scopes.push((scope.clone(), allowance.clone()));
                }
            }
        }
        scopes
    }

    /// The ids of `tenant`'s keys in `team`, as configured now.
    pub(crate) fn team_key_ids<'a>(
        &'a self,
        tenant: &'a str,
        team: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.by_hash
            .values()
            .filter(move |k| k.tenant == tenant && k.team.as_deref() == Some(team))
            .map(|k| k.id.as_str())
    }
}

/// A key's scopes: itself, its team when it has one, its tenant.
fn allowances_of(
    key: &KeyConfig,
    teams: &HashMap<(&str, &str), Arc<Allowance>>,
    tenants: &HashMap<&str, Arc<Allowance>>,
) -> Allowances {
    let mut scopes = vec![(Scope::Key(key.id.clone()), Arc::new(key.allowance.clone()))];
    if let Some(team) = &key.team {
        let allowance = teams
            .get(&(key.tenant.as_str(), team.as_str()))
            .cloned()
            .unwrap_or_default();
        scopes.push((
            Scope::Team {
                tenant: key.tenant.clone(),
                team: team.clone(),
            },
            allowance,
        ));
    }
    let tenant = tenants
        .get(key.tenant.as_str())
        .cloned()
        .unwrap_or_default();
    scopes.push((Scope::Tenant(key.tenant.clone()), tenant));
    Allowances { scopes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_are_distinct_and_well_formed() {
        let a = mint().unwrap();
        let b = mint().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 32);
        assert!(a[KEY_PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn store_finds_keys_by_their_plain_text_only() {
        let config = KeyConfig {
            id: "k1".into(),
            hash: KeyHash::of("sk-gw-abc"),
            tenant: "acme".into(),
            team: None,
            role: KeyRole::Api,
            analytics: AnalyticsScope::Key,
            policy: PolicySettings::default(),
            allowance: Allowance::default(),
        };
        let store = KeyStore::new(&[config], &[], &[], &PolicySettings::default());
        assert_eq!(store.find("sk-gw-abc").map(|k| k.id.as_str()), Some("k1"));
        assert!(store.find("sk-gw-abd").is_none());
    }

    #[test]
    fn key_settings_override_tenant_settings_override_defaults() {
        use crate::routing::Mode;
        let defaults = PolicySettings {
            mode: Some(Mode::Equivalent),
            deny_providers: Some(vec!["p1".into()]),
            ..PolicySettings::default()
        };
        let tenant = TenantConfig {
            id: "acme".into(),
            policy: PolicySettings {
                mode: Some(Mode::Shadow),
                allow_models: Some(vec!["m1".into()]),
                ..PolicySettings::default()
            },
            allowance: Allowance::default(),
        };
        let key = |id: &str, tenant: &str, policy: PolicySettings| KeyConfig {
            id: id.into(),
            hash: KeyHash::of(id),
            tenant: tenant.into(),
            team: None,
            role: KeyRole::Api,
            analytics: AnalyticsScope::Key,
            policy,
            allowance: Allowance::default(),
        };
        let keys = [
            key("a", "acme", PolicySettings::default()),
            key(
                "b",
                "acme",
                PolicySettings {
                    mode: Some(Mode::Strict),
                    allow_models: Some(vec!["*".into()]),
                    ..PolicySettings::default()
                },
            ),
            key("c", "other", PolicySettings::default()),
        ];
        let store = KeyStore::new(&keys, &[tenant], &[], &defaults);
        let a = &store.find("a").unwrap().policy;
        assert_eq!(
            (a.mode, a.allow_models.clone(), a.deny_providers.clone()),
            (Mode::Shadow, Some(vec!["m1".into()]), vec!["p1".to_owned()])
        );
        let b = &store.find("b").unwrap().policy;
        assert_eq!((b.mode, b.allow_models.clone()), (Mode::Strict, None));
        let c = &store.find("c").unwrap().policy;
        assert_eq!((c.mode, c.allow_models.clone()), (Mode::Equivalent, None));
    }
}
