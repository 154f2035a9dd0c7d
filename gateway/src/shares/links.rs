//! Making a link: the owner's checked request turned into the record the
//! store keeps (the token's hash, the password's hash, the view as JSON) and
//! the token, to be shown once. Expiry is required and bounded, so no link
//! outlives [`MAX_EXPIRY_DAYS`].

use analytics::control::ShareRecord;

use super::view::ShareView;
use super::{password, token};
use crate::error::GatewayError;

/// Longest life of a link.
pub const MAX_EXPIRY_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// A link to make, as checked by the admin API.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub tenant: String,
    pub label: Option<String>,
    pub view: ShareView,
    pub password: Option<String>,
    pub expires_ms: i64,
    pub created_by: String,
}

/// When a link made at `now_ms` ends: `expires_in_days` or `expires_at_ms`
/// (exactly one), in the future and at most [`MAX_EXPIRY_DAYS`] ahead.
pub fn expiry(
    now_ms: i64,
    expires_in_days: Option<i64>,
    expires_at_ms: Option<i64>,
) -> Result<i64, GatewayError> {
    let within = |ms: i64| ms > now_ms && ms <= now_ms + MAX_EXPIRY_DAYS * DAY_MS;
    match (expires_in_days, expires_at_ms) {
        (Some(days), None) if (1..=MAX_EXPIRY_DAYS).contains(&days) => Ok(now_ms + days * DAY_MS),
        (Some(_), None) => Err(GatewayError::invalid(
            format!("`expires_in_days` must be 1 to {MAX_EXPIRY_DAYS}."),
            Some("expires_in_days"),
        )),
        (None, Some(at)) if within(at) => Ok(at),
        (None, Some(_)) => Err(GatewayError::invalid(
            format!("`expires_at` must be in the future and at most {MAX_EXPIRY_DAYS} days ahead."),
            Some("expires_at"),
        )),
        (Some(_), Some(_)) => Err(GatewayError::invalid(
            "Give `expires_in_days` or `expires_at`, not both.",
            Some("expires_at"),
        )),
        (None, None) => Err(GatewayError::invalid(
            "A link needs an expiry: `expires_in_days` (1 to 365) or `expires_at`.",
            Some("expires_in_days"),
        )),
    }
}

/// Checks a password's length (in characters; at most [`password::MAX_LEN`] bytes).
pub fn check_password(text: &str) -> Result<(), GatewayError> {
    if text.chars().count() < password::MIN_LEN || text.len() > password::MAX_LEN {
        return Err(GatewayError::invalid(
            format!(
                "`password` must be {} to {} bytes long.",
                password::MIN_LEN,
                password::MAX_LEN
            ),
            Some("password"),
        ));
    }
    Ok(())
}

/// Mints the link's token and id and hashes what is kept (slow when a
/// password is set: run it off the async workers). Returns the token, shown
/// once, and the record.
pub fn mint(link: NewLink, now_ms: i64) -> Result<(String, ShareRecord), getrandom::Error> {
    let plain = token::mint()?;
    let id = format!("shr_{}", &token::mint()?[token::PREFIX.len()..][..16]);
    let password_hash = link.password.as_deref().map(password::hash).transpose()?;
    let view_json = serde_json::to_string(&link.view).unwrap_or_else(|_| "{}".to_owned());
    let record = ShareRecord {
        share_id: id,
        tenant_id: link.tenant,
        token_hash: token::hash(&plain),
        label: link.label,
        view_json,
        password_hash,
        expires_ms: link.expires_ms,
        created_ms: now_ms,
        created_by: link.created_by,
        revoked_ms: None,
        views: 0,
        last_viewed_ms: None,
    };
    Ok((plain, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_required_and_bounded() {
        let now = 1_000 * DAY_MS;
        assert_eq!(expiry(now, Some(30), None).unwrap(), now + 30 * DAY_MS);
        assert_eq!(expiry(now, None, Some(now + 5)).unwrap(), now + 5);
        for (days, at, field) in [
            (None, None, "expires_in_days"),
            (Some(0), None, "expires_in_days"),
            (Some(366), None, "expires_in_days"),
            (None, Some(now), "expires_at"),
            (None, Some(now + 366 * DAY_MS), "expires_at"),
            (Some(1), Some(now + 5), "expires_at"),
        ] {
            let error = expiry(now, days, at).unwrap_err();
            assert_eq!(error.param(), Some(field), "{days:?} {at:?}");
        }
    }

    #[test]
    fn a_minted_link_keeps_hashes_only() {
        let view: ShareView =
            serde_json::from_value(serde_json::json!({"range": {"preset": "last_7_days"}}))
                .unwrap();
        let link = NewLink {
            tenant: "acme".into(),
            label: None,
            view: view.checked().unwrap(),
            password: Some("long enough".into()),
            expires_ms: 10,
            created_by: "k".into(),
        };
        let (plain, record) = mint(link, 1).unwrap();
        assert!(token::well_formed(&plain));
        assert_eq!(record.token_hash, token::hash(&plain));
        assert!(record.share_id.starts_with("shr_") && record.share_id.len() == 20);
        assert!(!plain.contains(&record.share_id[4..]));
        let stored = record.password_hash.unwrap();
        assert!(password::verify("long enough", &stored) && !stored.contains("long"));
        assert!(record.view_json.contains("last_7_days"));
        assert!(check_password("short").is_err() && check_password("12345678").is_ok());
    }
}
