//! Client API keys: minting, hashing and lookup. Keys are stored only as SHA-256
//! hashes; the plain key exists once, when it is minted (`gateway keys create`,
//! the admin API). A fast hash is right here (unlike passwords) because keys
//! carry 192 random bits.
//!
//! The lookup table merges the config file's `[[keys]]` (seed data for small
//! setups) with the keys the store manages, built whole and swapped on every
//! change, so auth stays one hash-map lookup with no query per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use analytics::control::{ControlData, KeyRecord, Limits};

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
    /// Where the key comes from, when it ends, when it was last used.
    pub life: KeyLife,
}

/// Where a key is managed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySource {
    /// `[[keys]]` in the config file: changed by editing it.
    #[default]
    Config,
    /// The store: changed live by the admin API and the CLI.
    Store,
}

impl KeySource {
    pub fn name(self) -> &'static str {
        match self {
            KeySource::Config => "config",
            KeySource::Store => "store",
        }
    }
}

/// A key's life: its source, its expiry (a rotated key's grace period ends
/// there) and its last use, noted on each request and written to the store in
/// batches.
#[derive(Debug, Default)]
pub struct KeyLife {
    pub source: KeySource,
    pub expires_ms: Option<i64>,
    last_used_ms: AtomicI64,
}

impl KeyLife {
    /// Whether the key is past its expiry at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|at| at <= now_ms)
    }

    /// Notes a use at `now_ms` (a relaxed store: the latest use wins roughly).
    pub fn used(&self, now_ms: i64) {
        if self.last_used_ms.load(Ordering::Relaxed) < now_ms {
            self.last_used_ms.store(now_ms, Ordering::Relaxed);
        }
    }

    /// The last use noted since `after_ms`, if any.
    pub fn used_since(&self, after_ms: i64) -> Option<i64> {
        let at = self.last_used_ms.load(Ordering::Relaxed);
        (at > after_ms).then_some(at)
    }
}

/// The config file's part of the key table.
#[derive(Debug, Clone, Default)]
pub struct KeyInputs {
    pub keys: Vec<KeyConfig>,
    pub tenants: Vec<TenantConfig>,
    pub teams: Vec<TeamConfig>,
    pub defaults: PolicySettings,
}

/// Keys by hash. Built once from config; a reload builds a new one.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_hash: HashMap<KeyHash, Arc<ApiKey>>,
}

impl KeyStore {
    /// The config file's keys alone.
    pub fn new(
        keys: &[KeyConfig],
        tenants: &[TenantConfig],
        teams: &[TeamConfig],
        defaults: &PolicySettings,
    ) -> KeyStore {
        let inputs = KeyInputs {
            keys: keys.to_vec(),
            tenants: tenants.to_vec(),
            teams: teams.to_vec(),
            defaults: defaults.clone(),
        };
        KeyStore::build(&inputs, &ControlData::default(), 0)
    }

    /// The config file's keys and the store's live ones. A team's or tenant's
    /// limits set in the store replace the config file's; a store key whose
    /// id or hash a config key has is left out (the admin API refuses those).
    /// Keys past their expiry at `now_ms` are left out too (and refused at
    /// lookup when they expire later).
    pub fn build(inputs: &KeyInputs, control: &ControlData, now_ms: i64) -> KeyStore {
        let KeyInputs {
            keys,
            tenants,
            teams,
            defaults,
        } = inputs;
        let base = defaults.over(&Policy::default());
        // One shared value per team and tenant, so its keys hold the same Arc.
        let mut team_allowances: HashMap<(&str, &str), Arc<Allowance>> = teams
            .iter()
            .map(|t| {
                (
                    (t.tenant.as_str(), t.id.as_str()),
                    Arc::new(t.allowance.clone()),
                )
            })
            .collect();
        for team in &control.teams {
            team_allowances.insert(
                (team.tenant_id.as_str(), team.team_id.as_str()),
                Arc::new(allowance_of(&team.limits)),
            );
        }
        let mut tenant_allowances: HashMap<&str, Arc<Allowance>> = tenants
            .iter()
            .map(|t| (t.id.as_str(), Arc::new(t.allowance.clone())))
            .collect();
        for tenant in &control.tenants {
            tenant_allowances.insert(
                tenant.tenant_id.as_str(),
                Arc::new(allowance_of(&tenant.limits)),
            );
        }
        let tenant_policy = |tenant: &str| {
            tenants
                .iter()
                .find(|t| t.id == tenant)
                .map_or_else(|| base.clone(), |t| t.policy.over(&base))
        };
        let mut by_hash: HashMap<KeyHash, Arc<ApiKey>> = keys
            .iter()
            .map(|k| {
                let tenant_policy = tenant_policy(&k.tenant);
                let key = ApiKey {
                    id: k.id.clone(),
                    tenant: k.tenant.clone(),
                    team: k.team.clone(),
                    role: k.role,
                    analytics: k.analytics,
                    policy: k.policy.over(&tenant_policy),
                    allowances: allowances_of(
                        &k.id,
                        &k.tenant,
                        k.team.as_deref(),
                        Arc::new(k.allowance.clone()),
                        &team_allowances,
                        &tenant_allowances,
                    ),
                    life: KeyLife::default(),
                };
                (k.hash, Arc::new(key))
            })
            .collect();
        for record in &control.keys {
            if record.is_dead(now_ms) || keys.iter().any(|k| k.id == record.key_id) {
                continue;
            }
            let Some((hash, key)) = stored_key(record, tenant_policy, |id, tenant, team, own| {
                allowances_of(id, tenant, team, own, &team_allowances, &tenant_allowances)
            }) else {
                tracing::warn!(key_id = %record.key_id, "a stored key with an unreadable hash or role is left out");
                continue;
            };
            by_hash.entry(hash).or_insert_with(|| Arc::new(key));
        }
        KeyStore { by_hash }
    }

    /// Every key, for the admin API's list of config keys and the last-use
    /// flusher.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ApiKey>> {
        self.by_hash.values()
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
    id: &str,
    tenant: &str,
    team: Option<&str>,
    own: Arc<Allowance>,
    teams: &HashMap<(&str, &str), Arc<Allowance>>,
    tenants: &HashMap<&str, Arc<Allowance>>,
) -> Allowances {
    let mut scopes = vec![(Scope::Key(id.to_owned()), own)];
    if let Some(team) = team {
        let allowance = teams.get(&(tenant, team)).cloned().unwrap_or_default();
        scopes.push((
            Scope::Team {
                tenant: tenant.to_owned(),
                team: team.to_owned(),
            },
            allowance,
        ));
    }
    let allowance = tenants.get(tenant).cloned().unwrap_or_default();
    scopes.push((Scope::Tenant(tenant.to_owned()), allowance));
    Allowances { scopes }
}

/// The store's limits as the request path reads them.
pub fn allowance_of(limits: &Limits) -> Allowance {
    Allowance {
        rpm: limits.rpm,
        tpm: limits.tpm,
        max_concurrent: limits.max_concurrent,
        daily_usd: limits.budget_daily_usd,
        monthly_usd: limits.budget_monthly_usd,
    }
}

/// A stored key as the request path reads it; `None` if its hash or role
/// cannot be read (a row written by something else than the gateway).
fn stored_key(
    record: &KeyRecord,
    tenant_policy: impl Fn(&str) -> Policy,
    allowances: impl Fn(&str, &str, Option<&str>, Arc<Allowance>) -> Allowances,
) -> Option<(KeyHash, ApiKey)> {
    let hash = KeyHash::parse(&record.key_hash)?;
    let role = KeyRole::parse(&record.role)?;
    let analytics = match (role, &record.team_id) {
        (KeyRole::Api, Some(_)) => AnalyticsScope::Team,
        (KeyRole::Api, None) => AnalyticsScope::Key,
        _ => AnalyticsScope::Tenant,
    };
    let own = PolicySettings {
        allow_models: record.models.clone(),
        ..PolicySettings::default()
    };
    let own_allowance = Arc::new(allowance_of(&record.limits));
    let key = ApiKey {
        id: record.key_id.clone(),
        tenant: record.tenant_id.clone(),
        team: record.team_id.clone(),
        role,
        analytics,
        policy: own.over(&tenant_policy(&record.tenant_id)),
        allowances: allowances(
            &record.key_id,
            &record.tenant_id,
            record.team_id.as_deref(),
            own_allowance,
        ),
        life: KeyLife {
            source: KeySource::Store,
            expires_ms: record.expires_ms,
            last_used_ms: AtomicI64::new(record.last_used_ms.unwrap_or(0)),
        },
    };
    Some((hash, key))
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
