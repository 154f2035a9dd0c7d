//! The admin API's JSON answers: money as exact decimal text, times as RFC 3339
//! (UTC), and never a key's hash; a plain key only in a create or rotate answer.

use analytics::control::{KeyRecord, Limits, TeamRecord, TenantRecord};
use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use crate::allowance::Allowance;
use crate::config::{KeyConfig, TeamConfig, TenantConfig};
use crate::keys::KeySource;

pub fn time(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[derive(Debug, Serialize)]
pub struct LimitsView {
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub max_concurrent: Option<u32>,
    pub budget_daily_usd: Option<String>,
    pub budget_monthly_usd: Option<String>,
}

impl From<&Limits> for LimitsView {
    fn from(l: &Limits) -> LimitsView {
        LimitsView {
            rpm: l.rpm,
            tpm: l.tpm,
            max_concurrent: l.max_concurrent,
            budget_daily_usd: l.budget_daily_usd.map(|c| c.usd()),
            budget_monthly_usd: l.budget_monthly_usd.map(|c| c.usd()),
        }
    }
}

impl From<&Allowance> for LimitsView {
    fn from(a: &Allowance) -> LimitsView {
        LimitsView {
            rpm: a.rpm,
            tpm: a.tpm,
            max_concurrent: a.max_concurrent,
            budget_daily_usd: a.daily_usd.map(|c| c.usd()),
            budget_monthly_usd: a.monthly_usd.map(|c| c.usd()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct KeyView {
    pub id: String,
    /// The key's first characters; the rest is never shown again.
    pub prefix: Option<String>,
    pub tenant: String,
    pub team: Option<String>,
    pub role: String,
    pub label: Option<String>,
    pub models: Option<Vec<String>>,
    #[serde(flatten)]
    pub limits: LimitsView,
    pub expires_at: Option<String>,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The key a rotation minted this one for.
    pub replaces: Option<String>,
    pub source: &'static str,
}

impl KeyView {
    pub fn of_record(k: &KeyRecord) -> KeyView {
        KeyView {
            id: k.key_id.clone(),
            prefix: Some(k.prefix.clone()),
            tenant: k.tenant_id.clone(),
            team: k.team_id.clone(),
            role: k.role.clone(),
            label: k.label.clone(),
            models: k.models.clone(),
            limits: LimitsView::from(&k.limits),
            expires_at: k.expires_ms.and_then(time),
            created_at: time(k.created_ms),
            last_used_at: k.last_used_ms.and_then(time),
            revoked_at: k.revoked_ms.and_then(time),
            replaces: k.replaces.clone(),
            source: KeySource::Store.name(),
        }
    }

    /// A config file key: read-only, its times unknown, no prefix (the file
    /// holds only its hash).
    pub fn of_config(k: &KeyConfig) -> KeyView {
        KeyView {
            id: k.id.clone(),
            prefix: None,
            tenant: k.tenant.clone(),
            team: k.team.clone(),
            role: k.role.name().to_owned(),
            label: None,
            models: k.policy.allow_models.clone(),
            limits: LimitsView::from(&k.allowance),
            expires_at: None,
            created_at: None,
            last_used_at: None,
            revoked_at: None,
            replaces: None,
            source: KeySource::Config.name(),
        }
    }
}

/// A create or rotate answer: the plain key, this once.
#[derive(Debug, Serialize)]
pub struct MintedView {
    pub key: String,
    #[serde(flatten)]
    pub view: KeyView,
}

/// A rotate answer: the new key (this once) and when the old one stops.
#[derive(Debug, Serialize)]
pub struct RotatedView {
    pub key: String,
    #[serde(flatten)]
    pub view: KeyView,
    pub replaced: Replaced,
}

#[derive(Debug, Serialize)]
pub struct Replaced {
    pub id: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TenantView {
    pub id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub limits: LimitsView,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub source: &'static str,
}

impl TenantView {
    pub fn of_record(t: &TenantRecord) -> TenantView {
        TenantView {
            id: t.tenant_id.clone(),
            name: t.name.clone(),
            limits: LimitsView::from(&t.limits),
            created_at: time(t.created_ms),
            updated_at: time(t.updated_ms),
            source: KeySource::Store.name(),
        }
    }

    pub fn of_config(t: &TenantConfig) -> TenantView {
        TenantView {
            id: t.id.clone(),
            name: None,
            limits: LimitsView::from(&t.allowance),
            created_at: None,
            updated_at: None,
            source: KeySource::Config.name(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub tenant: String,
    pub id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub limits: LimitsView,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub source: &'static str,
}

impl TeamView {
    pub fn of_record(t: &TeamRecord) -> TeamView {
        TeamView {
            tenant: t.tenant_id.clone(),
            id: t.team_id.clone(),
            name: t.name.clone(),
            limits: LimitsView::from(&t.limits),
            created_at: time(t.created_ms),
            updated_at: time(t.updated_ms),
            source: KeySource::Store.name(),
        }
    }

    pub fn of_config(t: &TeamConfig) -> TeamView {
        TeamView {
            tenant: t.tenant.clone(),
            id: t.id.clone(),
            name: None,
            limits: LimitsView::from(&t.allowance),
            created_at: None,
            updated_at: None,
            source: KeySource::Config.name(),
        }
    }
}

/// A list answer, as OpenAI's lists are shaped.
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub object: &'static str,
    pub data: Vec<T>,
}

impl<T> List<T> {
    pub fn of(data: Vec<T>) -> List<T> {
        List {
            object: "list",
            data,
        }
    }
}
