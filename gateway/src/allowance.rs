//! What a key, a team or a tenant may use: request and token rates, requests in
//! flight and money per day and month. One plain value type, read from the
//! config's `[[keys]]`, `[[teams]]` and `[[tenants]]` and from the store's
//! managed keys alike, so the limits (`limits/`) and budgets (`budgets/`) never
//! care where a setting came from. Enforcement lives in those modules, not here.

use std::sync::Arc;

use pricing::Cost;

/// One scope's settings; `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowance {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute (prompt estimate plus output, corrected after).
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    pub max_concurrent: Option<u32>,
    /// Spend per calendar day.
    pub daily_usd: Option<Cost>,
    /// Spend per calendar month.
    pub monthly_usd: Option<Cost>,
}

impl Allowance {
    /// Whether nothing is limited (the request path skips such scopes).
    pub fn is_unlimited(&self) -> bool {
        *self == Allowance::default()
    }

    /// Whether any rate or concurrency limit is set.
    pub fn has_rate_limits(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some() || self.max_concurrent.is_some()
    }

    /// Whether a daily or monthly budget is set.
    pub fn has_budget(&self) -> bool {
        self.daily_usd.is_some() || self.monthly_usd.is_some()
    }
}

/// Which scope an allowance belongs to. Its [`Scope::id`] names it in Redis keys
/// and metrics; ids come from config or the admin API, never from a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Key(String),
    Team { tenant: String, team: String },
    Tenant(String),
}

impl Scope {
    /// A stable text id: `key:<id>`, `team:<tenant>/<team>`, `tenant:<id>`.
    pub fn id(&self) -> String {
        match self {
            Scope::Key(id) => format!("key:{id}"),
            Scope::Team { tenant, team } => format!("team:{tenant}/{team}"),
            Scope::Tenant(id) => format!("tenant:{id}"),
        }
    }

    /// `key`, `team` or `tenant`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Key(_) => "key",
            Scope::Team { .. } => "team",
            Scope::Tenant(_) => "tenant",
        }
    }
}

/// The allowances a request's key is held to: its own, its team's (if any)
/// and its tenant's. All three apply; the first exhausted one refuses.
#[derive(Debug, Clone, Default)]
pub struct Allowances {
    pub scopes: Vec<(Scope, Arc<Allowance>)>,
}

impl Allowances {
    /// The scopes with something limited, in order key, team, tenant.
    pub fn limited(&self) -> impl Iterator<Item = &(Scope, Arc<Allowance>)> {
        self.scopes.iter().filter(|(_, a)| !a.is_unlimited())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_ids_are_distinct_per_kind() {
        let ids = [
            Scope::Key("a".into()).id(),
            Scope::Team {
                tenant: "a".into(),
                team: "b".into(),
            }
            .id(),
            Scope::Tenant("a".into()).id(),
        ];
        assert_eq!(ids, ["key:a", "team:a/b", "tenant:a"]);
    }

    #[test]
    fn unlimited_scopes_are_skipped() {
        let limited = Allowance {
            rpm: Some(10),
            ..Allowance::default()
        };
        let set = Allowances {
            scopes: vec![
                (Scope::Key("k".into()), Arc::new(Allowance::default())),
                (Scope::Tenant("t".into()), Arc::new(limited.clone())),
            ],
        };
        let kept: Vec<_> = set.limited().map(|(s, _)| s.kind()).collect();
        assert_eq!(kept, ["tenant"]);
        assert!(limited.has_rate_limits() && !limited.has_budget());
    }
}
