//! The statements, one text for both stores, and how their rows become
//! records. Every statement is a constant with binds; none is built from input.

use pricing::Cost;

use super::db::{Arg, Cells};
use super::records::{AuditEntry, KeyRecord, Limits, TeamRecord, TenantRecord};

pub const VERSION: &str = "SELECT version FROM control_version WHERE id = 1";
pub const BUMP_VERSION: &str =
    "UPDATE control_version SET version = version + 1 WHERE id = 1 RETURNING version";

pub const TENANTS: &str = "SELECT tenant_id, name, rpm, tpm, max_concurrent, budget_daily_usd, \
    budget_monthly_usd, created_ms, updated_ms FROM control_tenants ORDER BY tenant_id";
pub const TENANT: &str = "SELECT tenant_id, name, rpm, tpm, max_concurrent, budget_daily_usd, \
    budget_monthly_usd, created_ms, updated_ms FROM control_tenants WHERE tenant_id = $1";
pub const INSERT_TENANT: &str = "INSERT INTO control_tenants (tenant_id, name, rpm, tpm, \
    max_concurrent, budget_daily_usd, budget_monthly_usd, created_ms, updated_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id) DO NOTHING";
pub const UPDATE_TENANT: &str = "UPDATE control_tenants SET name = $2, rpm = $3, tpm = $4, \
    max_concurrent = $5, budget_daily_usd = $6, budget_monthly_usd = $7, updated_ms = $9 \
    WHERE tenant_id = $1 AND created_ms = $8";

pub const TEAMS: &str = "SELECT tenant_id, team_id, name, rpm, tpm, max_concurrent, \
    budget_daily_usd, budget_monthly_usd, created_ms, updated_ms FROM control_teams \
    ORDER BY tenant_id, team_id";
pub const TEAM: &str = "SELECT tenant_id, team_id, name, rpm, tpm, max_concurrent, \
    budget_daily_usd, budget_monthly_usd, created_ms, updated_ms FROM control_teams \
    WHERE tenant_id = $1 AND team_id = $2";
pub const INSERT_TEAM: &str = "INSERT INTO control_teams (tenant_id, team_id, name, rpm, tpm, \
    max_concurrent, budget_daily_usd, budget_monthly_usd, created_ms, updated_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, team_id) DO NOTHING";
pub const UPDATE_TEAM: &str = "UPDATE control_teams SET name = $3, rpm = $4, tpm = $5, \
    max_concurrent = $6, budget_daily_usd = $7, budget_monthly_usd = $8, updated_ms = $10 \
    WHERE tenant_id = $1 AND team_id = $2 AND created_ms = $9";

const KEY_COLUMNS: &str = "key_id, tenant_id, team_id, key_hash, prefix, role, label, models, \
    rpm, tpm, max_concurrent, budget_daily_usd, budget_monthly_usd, expires_ms, created_ms, \
    updated_ms, last_used_ms, revoked_ms, replaces";

pub fn live_keys() -> String {
    format!("SELECT {KEY_COLUMNS} FROM control_keys WHERE revoked_ms IS NULL ORDER BY key_id")
}
pub fn keys_of_tenant() -> String {
    format!(
        "SELECT {KEY_COLUMNS} FROM control_keys WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
         ORDER BY tenant_id, created_ms, key_id"
    )
}
pub fn key() -> String {
    format!("SELECT {KEY_COLUMNS} FROM control_keys WHERE key_id = $1")
}
pub fn insert_key() -> String {
    format!(
        "INSERT INTO control_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING"
    )
}
/// A key's settings; its identity, hash, creation and revocation never change here.
pub const UPDATE_KEY: &str = "UPDATE control_keys SET team_id = $3, label = $4, models = $5, \
    rpm = $6, tpm = $7, max_concurrent = $8, budget_daily_usd = $9, budget_monthly_usd = $10, \
    expires_ms = $11, updated_ms = $12 WHERE key_id = $1 AND tenant_id = $2 AND revoked_ms IS NULL";
pub const REVOKE_KEY: &str = "UPDATE control_keys SET revoked_ms = $2, updated_ms = $2 \
    WHERE key_id = $1 AND revoked_ms IS NULL";
/// Moves a key's expiry earlier (a rotation's grace period), never later.
pub const EXPIRE_KEY: &str = "UPDATE control_keys SET expires_ms = $2, updated_ms = $3 \
    WHERE key_id = $1 AND revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > $2)";
pub const TOUCH_KEY: &str = "UPDATE control_keys SET last_used_ms = $2 \
    WHERE key_id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2)";

pub const INSERT_AUDIT: &str = "INSERT INTO control_audit (at_ms, tenant_id, actor, action, \
    target, detail) VALUES ($1, $2, $3, $4, $5, $6)";
pub const AUDIT: &str =
    "SELECT at_ms, tenant_id, actor, action, target, detail FROM control_audit \
    WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) ORDER BY audit_id DESC LIMIT $2";

/// The bind values of a record, in its statement's `$n` order.
pub fn limit_args(limits: &Limits) -> [Arg; 5] {
    [
        Arg::Int(limits.rpm.map(i64::from)),
        Arg::Int(limits.tpm.and_then(|n| i64::try_from(n).ok())),
        Arg::Int(limits.max_concurrent.map(i64::from)),
        Arg::Text(limits.budget_daily_usd.map(Cost::usd)),
        Arg::Text(limits.budget_monthly_usd.map(Cost::usd)),
    ]
}

pub fn tenant_args(t: &TenantRecord) -> Vec<Arg> {
    let mut args = vec![Arg::text(&t.tenant_id), Arg::Text(t.name.clone())];
    args.extend(limit_args(&t.limits));
    args.extend([Arg::int(t.created_ms), Arg::int(t.updated_ms)]);
    args
}

pub fn team_args(t: &TeamRecord) -> Vec<Arg> {
    let mut args = vec![
        Arg::text(&t.tenant_id),
        Arg::text(&t.team_id),
        Arg::Text(t.name.clone()),
    ];
    args.extend(limit_args(&t.limits));
    args.extend([Arg::int(t.created_ms), Arg::int(t.updated_ms)]);
    args
}

fn models_json(k: &KeyRecord) -> Option<String> {
    k.models
        .as_ref()
        .map(|m| serde_json::Value::from(m.clone()).to_string())
}

/// The binds of [`UPDATE_KEY`].
pub fn key_update_args(k: &KeyRecord) -> Vec<Arg> {
    let mut args = vec![
        Arg::text(&k.key_id),
        Arg::text(&k.tenant_id),
        Arg::Text(k.team_id.clone()),
        Arg::Text(k.label.clone()),
        Arg::Text(models_json(k)),
    ];
    args.extend(limit_args(&k.limits));
    args.extend([Arg::Int(k.expires_ms), Arg::int(k.updated_ms)]);
    args
}

pub fn key_args(k: &KeyRecord) -> Vec<Arg> {
    let models = models_json(k);
    let mut args = vec![
        Arg::text(&k.key_id),
        Arg::text(&k.tenant_id),
        Arg::Text(k.team_id.clone()),
        Arg::text(&k.key_hash),
        Arg::text(&k.prefix),
        Arg::text(&k.role),
        Arg::Text(k.label.clone()),
        Arg::Text(models),
    ];
    args.extend(limit_args(&k.limits));
    args.extend([
        Arg::Int(k.expires_ms),
        Arg::int(k.created_ms),
        Arg::int(k.updated_ms),
        Arg::Int(k.last_used_ms),
        Arg::Int(k.revoked_ms),
        Arg::Text(k.replaces.clone()),
    ]);
    args
}

/// Limits from five columns starting at `at`. A stored value out of range or
/// not a decimal is a corrupt row: an error, never a silent "unlimited".
fn limits(row: &dyn Cells, at: usize) -> Result<Limits, sqlx::Error> {
    let int = |i: usize| -> Result<Option<i64>, sqlx::Error> { row.int(at + i) };
    let range = |what: &str| sqlx::Error::Decode(format!("control: {what} out of range").into());
    let usd = |i: usize| -> Result<Option<Cost>, sqlx::Error> {
        row.text(at + i)?
            .map(|text| {
                Cost::parse_usd(&text)
                    .map_err(|e| sqlx::Error::Decode(format!("control: budget {text}: {e}").into()))
            })
            .transpose()
    };
    Ok(Limits {
        rpm: int(0)?
            .map(|n| u32::try_from(n).map_err(|_| range("rpm")))
            .transpose()?,
        tpm: int(1)?
            .map(|n| u64::try_from(n).map_err(|_| range("tpm")))
            .transpose()?,
        max_concurrent: int(2)?
            .map(|n| u32::try_from(n).map_err(|_| range("max_concurrent")))
            .transpose()?,
        budget_daily_usd: usd(3)?,
        budget_monthly_usd: usd(4)?,
    })
}

fn required<T>(value: Option<T>, column: &str) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| sqlx::Error::Decode(format!("control: {column} is NULL").into()))
}

pub fn tenant(row: &dyn Cells) -> Result<TenantRecord, sqlx::Error> {
    Ok(TenantRecord {
        tenant_id: required(row.text(0)?, "tenant_id")?,
        name: row.text(1)?,
        limits: limits(row, 2)?,
        created_ms: required(row.int(7)?, "created_ms")?,
        updated_ms: required(row.int(8)?, "updated_ms")?,
    })
}

pub fn team(row: &dyn Cells) -> Result<TeamRecord, sqlx::Error> {
    Ok(TeamRecord {
        tenant_id: required(row.text(0)?, "tenant_id")?,
        team_id: required(row.text(1)?, "team_id")?,
        name: row.text(2)?,
        limits: limits(row, 3)?,
        created_ms: required(row.int(8)?, "created_ms")?,
        updated_ms: required(row.int(9)?, "updated_ms")?,
    })
}

pub fn key_record(row: &dyn Cells) -> Result<KeyRecord, sqlx::Error> {
    let models = row
        .text(7)?
        .map(|text| {
            serde_json::from_str::<Vec<String>>(&text)
                .map_err(|e| sqlx::Error::Decode(format!("control: models: {e}").into()))
        })
        .transpose()?;
    Ok(KeyRecord {
        key_id: required(row.text(0)?, "key_id")?,
        tenant_id: required(row.text(1)?, "tenant_id")?,
        team_id: row.text(2)?,
        key_hash: required(row.text(3)?, "key_hash")?,
        prefix: required(row.text(4)?, "prefix")?,
        role: required(row.text(5)?, "role")?,
        label: row.text(6)?,
        models,
        limits: limits(row, 8)?,
        expires_ms: row.int(13)?,
        created_ms: required(row.int(14)?, "created_ms")?,
        updated_ms: required(row.int(15)?, "updated_ms")?,
        last_used_ms: row.int(16)?,
        revoked_ms: row.int(17)?,
        replaces: row.text(18)?,
    })
}

pub fn audit_entry(row: &dyn Cells) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        at_ms: required(row.int(0)?, "at_ms")?,
        tenant_id: required(row.text(1)?, "tenant_id")?,
        actor: required(row.text(2)?, "actor")?,
        action: required(row.text(3)?, "action")?,
        target: required(row.text(4)?, "target")?,
        detail: row.text(5)?,
    })
}

pub fn audit_args(entry: &AuditEntry) -> Vec<Arg> {
    vec![
        Arg::int(entry.at_ms),
        Arg::text(&entry.tenant_id),
        Arg::text(&entry.actor),
        Arg::text(&entry.action),
        Arg::text(&entry.target),
        Arg::Text(entry.detail.clone()),
    ]
}
