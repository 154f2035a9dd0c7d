//! What `gateway keys create|list|revoke|rotate` do against a config's store:
//! the same records, checks and audit entries as the admin API (actor `cli`),
//! so a key made here holds on every replica within a second. Returns the text
//! to print; `main.rs` prints it.

use std::fmt::Write as _;
use std::path::Path;

use analytics::control::{AuditEntry, ControlStore, KeyRecord, Limits};
use pricing::Cost;

use crate::cli::StoredKeySettings;
use crate::config::{Config, KeyRole};
use crate::key_records;
use crate::routing::RoutingTable;
use crate::state::{knows_model, now_ms};

/// Longest grace period of a rotated key, as the admin API allows.
const MAX_GRACE_SECONDS: u64 = 30 * 86_400;

async fn open(config_path: &Path) -> Result<(Config, ControlStore), String> {
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let store = crate::events::open_store(&config.analytics)
        .await
        .map_err(|e| format!("cannot open the store: {e}"))?;
    Ok((config, ControlStore::of(&store)))
}

fn audit(tenant: &str, action: &str, target: &str, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        tenant_id: tenant.to_owned(),
        actor: "cli".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: Some(detail.to_string()),
    }
}

fn id_arg(value: &str, flag: &str) -> Result<(), String> {
    if key_records::valid_id(value) {
        Ok(())
    } else {
        Err(format!(
            "{flag} `{value}`: 1 to {} letters, digits, '.', '_' or '-'",
            key_records::MAX_ID
        ))
    }
}

fn usd_arg(value: Option<&str>, flag: &str) -> Result<Option<Cost>, String> {
    value
        .map(|text| match Cost::parse_usd(text) {
            Ok(cost) if cost.0 > 0 => Ok(cost),
            Ok(_) => Err(format!("{flag}: must be more than 0 USD")),
            Err(error) => Err(format!("{flag} `{text}`: {error}")),
        })
        .transpose()
}

fn rate_arg<T: PartialEq + Default + Copy>(
    value: Option<T>,
    flag: &str,
) -> Result<Option<T>, String> {
    match value {
        Some(n) if n == T::default() => Err(format!(
            "{flag}: must be at least 1 (leave it out for no limit)"
        )),
        other => Ok(other),
    }
}

/// `gateway keys create --config ...`: mints a key into the store.
pub async fn create(
    config_path: &Path,
    tenant: String,
    team: Option<String>,
    id: Option<String>,
    settings: StoredKeySettings,
) -> Result<String, String> {
    id_arg(&tenant, "--tenant")?;
    if let Some(team) = &team {
        id_arg(team, "--team")?;
    }
    if let Some(id) = &id {
        id_arg(id, "--id")?;
    }
    let role = match settings.role.as_deref() {
        None => KeyRole::Api,
        Some(name) => KeyRole::parse(name)
            .ok_or_else(|| format!("--role `{name}`: api, dashboard, owner or admin"))?,
    };
    let limits = Limits {
        rpm: rate_arg(settings.rpm, "--rpm")?,
        tpm: rate_arg(settings.tpm, "--tpm")?,
        max_concurrent: rate_arg(settings.max_concurrent, "--max-concurrent")?,
        budget_daily_usd: usd_arg(settings.budget_daily_usd.as_deref(), "--budget-daily-usd")?,
        budget_monthly_usd: usd_arg(
            settings.budget_monthly_usd.as_deref(),
            "--budget-monthly-usd",
        )?,
    };
    let (config, store) = open(config_path).await?;
    if !settings.models.is_empty() {
        let table = RoutingTable::build(&config.providers, &config.models, &config.catalog)
            .map_err(|e| e.to_string())?;
        if let Some(unknown) = settings.models.iter().find(|m| !knows_model(&table, m)) {
            return Err(format!(
                "--model `{unknown}`: no configured model answers to it"
            ));
        }
    }
    let id = id.unwrap_or_default();
    if config.keys.iter().any(|k| k.id == id) {
        return Err(format!("--id `{id}`: a key of the config file has this id"));
    }
    let now = now_ms();
    let template = KeyRecord {
        key_id: id,
        tenant_id: tenant.clone(),
        team_id: team,
        key_hash: String::new(),
        prefix: String::new(),
        role: role.name().to_owned(),
        label: settings.label,
        models: (!settings.models.is_empty()).then_some(settings.models),
        limits,
        expires_ms: None,
        created_ms: now,
        updated_ms: now,
        last_used_ms: None,
        revoked_ms: None,
        replaces: None,
    };
    let (plain, record) =
        key_records::mint_into(template, now).map_err(|e| format!("no OS randomness: {e}"))?;
    let detail = serde_json::json!({ "role": record.role, "team": record.team_id });
    let entry = audit(&tenant, "key.create", &record.key_id, detail);
    match store.create_key(&record, &entry).await {
        Ok(Some(_)) => Ok(format!(
            "key (shown once, store it now): {plain}\nid: {}\ntenant: {tenant}\nstored: every replica accepts it within a second\n",
            record.key_id
        )),
        Ok(None) => Err(format!("a key with id `{}` exists already", record.key_id)),
        Err(error) => Err(format!("cannot store the key: {error}")),
    }
}

/// `gateway keys list`: one line per key, config keys included.
pub async fn list(
    config_path: &Path,
    tenant: Option<&str>,
    include_revoked: bool,
) -> Result<String, String> {
    let (config, store) = open(config_path).await?;
    let stored = store
        .keys(tenant)
        .await
        .map_err(|e| format!("cannot read the keys: {e}"))?;
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(
                || "-".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M").to_string(),
            )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<16} {:<12} {:<9} {:<11} {:<16} {:<16} {:<16} source",
        "id", "tenant", "team", "role", "prefix", "created", "last used", "revoked"
    );
    for key in config
        .keys
        .iter()
        .filter(|k| tenant.is_none_or(|t| t == k.tenant))
    {
        let _ = writeln!(
            out,
            "{:<22} {:<16} {:<12} {:<9} {:<11} {:<16} {:<16} {:<16} config",
            key.id,
            key.tenant,
            key.team.as_deref().unwrap_or("-"),
            key.role.name(),
            "-",
            "-",
            "-",
            "-"
        );
    }
    let now = now_ms();
    for key in stored.iter().filter(|k| include_revoked || !k.is_dead(now)) {
        let _ = writeln!(
            out,
            "{:<22} {:<16} {:<12} {:<9} {:<11} {:<16} {:<16} {:<16} store",
            key.key_id,
            key.tenant_id,
            key.team_id.as_deref().unwrap_or("-"),
            key.role,
            key.prefix,
            when(Some(key.created_ms)),
            when(key.last_used_ms),
            when(key.revoked_ms)
        );
    }
    Ok(out)
}

/// `gateway keys revoke ID`.
pub async fn revoke(config_path: &Path, id: &str) -> Result<String, String> {
    let (config, store) = open(config_path).await?;
    if config.keys.iter().any(|k| k.id == id) {
        return Err(format!(
            "key `{id}` is in the config file: remove its [[keys]] entry there"
        ));
    }
    let record = store
        .key(id)
        .await
        .map_err(|e| format!("cannot read the key: {e}"))?
        .ok_or_else(|| format!("no stored key with id `{id}`"))?;
    let entry = audit(&record.tenant_id, "key.revoke", id, serde_json::json!({}));
    match store.revoke_key(id, now_ms(), &entry).await {
        Ok(Some(_)) => Ok(format!(
            "revoked {id}: every replica refuses it within a second\n"
        )),
        Ok(None) => Ok(format!("{id} was revoked already\n")),
        Err(error) => Err(format!("cannot revoke the key: {error}")),
    }
}

/// `gateway keys rotate ID`: a new key with the same settings; the old one
/// ends after the grace period.
pub async fn rotate(config_path: &Path, id: &str, grace_seconds: u64) -> Result<String, String> {
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(format!(
            "--grace-seconds: at most {MAX_GRACE_SECONDS} (30 days)"
        ));
    }
    let (_, store) = open(config_path).await?;
    let old = store
        .key(id)
        .await
        .map_err(|e| format!("cannot read the key: {e}"))?
        .ok_or_else(|| format!("no stored key with id `{id}`"))?;
    let now = now_ms();
    if old.is_dead(now) {
        return Err(format!(
            "key `{id}` is revoked or expired; create a new key instead"
        ));
    }
    let (plain, new) =
        key_records::rotation_of(&old, now).map_err(|e| format!("no OS randomness: {e}"))?;
    let ends = now.saturating_add(i64::try_from(grace_seconds * 1000).unwrap_or(i64::MAX));
    let detail = serde_json::json!({ "new_key": new.key_id, "grace_seconds": grace_seconds });
    let entry = audit(&old.tenant_id, "key.rotate", id, detail);
    match store.rotate_key(id, ends, &new, &entry).await {
        Ok(Some(_)) => {
            let until = chrono::DateTime::from_timestamp_millis(
                ends.min(old.expires_ms.unwrap_or(i64::MAX)),
            )
            .map_or_else(String::new, |t| t.to_rfc3339());
            Ok(format!(
                "key (shown once, store it now): {plain}\nid: {}\nreplaces: {id} (it works until {until})\n",
                new.key_id
            ))
        }
        Ok(None) => Err(format!("key `{id}` changed meanwhile; nothing was rotated")),
        Err(error) => Err(format!("cannot rotate the key: {error}")),
    }
}
