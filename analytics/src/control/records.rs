//! The plain values the control tables hold, one struct per table. Money is
//! exact ([`Cost`]); times are unix milliseconds.

use pricing::Cost;

/// Limits and budgets of a tenant, team or key; `None`: unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub max_concurrent: Option<u32>,
    pub budget_daily_usd: Option<Cost>,
    pub budget_monthly_usd: Option<Cost>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub tenant_id: String,
    pub name: Option<String>,
    pub limits: Limits,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub tenant_id: String,
    pub team_id: String,
    pub name: Option<String>,
    pub limits: Limits,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A managed key. `key_hash` is `sha256:<hex>`; the plain key is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: String,
    pub tenant_id: String,
    pub team_id: Option<String>,
    pub key_hash: String,
    /// The first characters of the plain key, to recognise it in a list.
    pub prefix: String,
    /// `api`, `dashboard`, `owner` or `admin`.
    pub role: String,
    pub label: Option<String>,
    /// Models the key may use; `None`: what its tenant may use.
    pub models: Option<Vec<String>>,
    pub limits: Limits,
    pub expires_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    /// The key this one replaced, when a rotation minted it.
    pub replaces: Option<String>,
}

impl KeyRecord {
    /// Whether the key is refused at `now_ms`: revoked, or past its expiry.
    pub fn is_dead(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_some() || self.expires_ms.is_some_and(|at| at <= now_ms)
    }
}

/// One change, as the audit log keeps it: who (a key id, or `cli`), what,
/// to which record, and the settings it set (JSON; never a key or a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub tenant_id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
}

/// Everything a replica's key snapshot is built from, as of `version`:
/// revoked keys are left out (they are refused by not being found).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlData {
    pub version: i64,
    pub tenants: Vec<TenantRecord>,
    pub teams: Vec<TeamRecord>,
    pub keys: Vec<KeyRecord>,
}
