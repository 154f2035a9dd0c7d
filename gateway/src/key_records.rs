//! How a managed key's record is made, minted fresh or for a rotation: the
//! one place that turns a new random key into what the store keeps (its hash
//! and a short prefix), shared by the admin API and `gateway keys`.

use analytics::control::KeyRecord;

use crate::keys::{self, KeyHash, KEY_PREFIX};

/// Characters of a key kept to recognise it in lists: `sk-gw-` and four of
/// its own (about 24 bits, far from enough to guess the other 186).
pub const PREFIX_LEN: usize = 10;

/// Longest id (tenant, team, key) accepted.
pub const MAX_ID: usize = 64;

/// Ids are what Redis keys, metric labels and URLs are made of: short, and
/// letters, digits, `.`, `_` and `-` only.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh key id: `key_` and 16 random base62 characters, not derived from
/// the key, so an id reveals nothing of it.
pub fn new_id() -> Result<String, getrandom::Error> {
    let random = keys::mint()?;
    Ok(format!(
        "key_{}",
        &random[KEY_PREFIX.len()..KEY_PREFIX.len() + 16]
    ))
}

/// Mints a key for `record` (its settings as given; an empty `key_id` gets a
/// fresh one): returns the plain key, to be shown once, and the record with
/// the key's hash and prefix, made at `now_ms`, unused and not revoked.
pub fn mint_into(
    mut record: KeyRecord,
    now_ms: i64,
) -> Result<(String, KeyRecord), getrandom::Error> {
    let plain = keys::mint()?;
    if record.key_id.is_empty() {
        record.key_id = new_id()?;
    }
    record.key_hash = KeyHash::of(&plain).to_string();
    record.prefix = plain[..PREFIX_LEN].to_owned();
    record.created_ms = now_ms;
    record.updated_ms = now_ms;
    record.last_used_ms = None;
    record.revoked_ms = None;
    Ok((plain, record))
}

/// The record of the key that replaces `old` in a rotation: the same tenant,
/// team, role, models, limits and expiry, a new key and id.
pub fn rotation_of(old: &KeyRecord, now_ms: i64) -> Result<(String, KeyRecord), getrandom::Error> {
    let template = KeyRecord {
        key_id: String::new(),
        replaces: Some(old.key_id.clone()),
        ..old.clone()
    };
    mint_into(template, now_ms)
}

#[cfg(test)]
mod tests {
    use analytics::control::Limits;

    use super::*;

    fn record() -> KeyRecord {
        KeyRecord {
            key_id: String::new(),
            tenant_id: "acme".into(),
            team_id: Some("web".into()),
            key_hash: String::new(),
            prefix: String::new(),
            role: "api".into(),
            label: Some("ci".into()),
            models: None,
            limits: Limits::default(),
            expires_ms: None,
            created_ms: 0,
            updated_ms: 0,
            last_used_ms: Some(5),
            revoked_ms: Some(6),
            replaces: None,
        }
    }

    #[test]
    fn a_minted_record_holds_the_hash_and_prefix_only() {
        let (plain, made) = mint_into(record(), 42).unwrap();
        assert_eq!(made.key_hash, KeyHash::of(&plain).to_string());
        assert!(plain.starts_with(&made.prefix) && made.prefix.len() == PREFIX_LEN);
        assert!(made.key_id.starts_with("key_") && made.key_id.len() == 20);
        assert!(
            !plain.contains(&made.key_id[4..]),
            "the id is not part of the key"
        );
        assert_eq!(
            (made.created_ms, made.last_used_ms, made.revoked_ms),
            (42, None, None)
        );
        let (again, rotated) = rotation_of(&made, 50).unwrap();
        assert_ne!(again, plain);
        assert_ne!(rotated.key_id, made.key_id);
        assert_eq!(rotated.replaces.as_deref(), Some(made.key_id.as_str()));
        assert_eq!((rotated.team_id, rotated.label), (made.team_id, made.label));
    }

    #[test]
    fn ids_are_short_and_plain() {
        assert!(valid_id("team-1.a_b"));
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
