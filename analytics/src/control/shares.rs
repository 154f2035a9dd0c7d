//! Share links (read-only dashboard links): made and revoked with an audit
//! entry in the same transaction, found by their token's hash, listed per
//! tenant, and their views added to in batches. The same statements on both
//! stores, like the rest of the control tables (`db.rs` binds them).
//!
//! What a link's view means and who may make one is the gateway's business:
//! here the view is opaque JSON text and the password an opaque hash. The
//! table never holds a token (only its SHA-256) nor a password.

use super::db::{Arg, Cells, ControlStore, Step};
use super::records::AuditEntry;
use crate::store::StoreError;

/// One stored link. Times are unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRecord {
    pub share_id: String,
    pub tenant_id: String,
    /// `sha256:<hex>` of the token; the token itself is shown once.
    pub token_hash: String,
    pub label: Option<String>,
    /// The saved view, as the gateway wrote it.
    pub view_json: String,
    /// A salted slow hash of the password; `None`: no password.
    pub password_hash: Option<String>,
    pub expires_ms: i64,
    pub created_ms: i64,
    /// The key id that made it.
    pub created_by: String,
    pub revoked_ms: Option<i64>,
    /// Views counted in the store (a replica's unflushed ones are not here).
    pub views: i64,
    pub last_viewed_ms: Option<i64>,
}

/// Whether a link may be read at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    Live,
    Expired,
    Revoked,
}

impl ShareRecord {
    pub fn state(&self, now_ms: i64) -> ShareState {
        if self.revoked_ms.is_some() {
            ShareState::Revoked
        } else if self.expires_ms <= now_ms {
            ShareState::Expired
        } else {
            ShareState::Live
        }
    }
}

const COLUMNS: &str = "share_id, tenant_id, token_hash, label, view_json, password_hash, \
    expires_ms, created_ms, created_by, revoked_ms, views, last_viewed_ms";

fn insert() -> String {
    format!(
        "INSERT INTO share_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12) ON CONFLICT DO NOTHING"
    )
}

fn by_hash() -> String {
    format!("SELECT {COLUMNS} FROM share_links WHERE token_hash = $1")
}

fn of_tenant() -> String {
    format!(
        "SELECT {COLUMNS} FROM share_links WHERE tenant_id = $1 \
         ORDER BY created_ms DESC, share_id"
    )
}

const REVOKE: &str = "UPDATE share_links SET revoked_ms = $3 \
    WHERE share_id = $1 AND tenant_id = $2 AND revoked_ms IS NULL";

const ADD_VIEWS: &str = "UPDATE share_links SET views = views + $2, last_viewed_ms = \
    CASE WHEN last_viewed_ms IS NULL OR last_viewed_ms < $3 THEN $3 ELSE last_viewed_ms END \
    WHERE share_id = $1";

fn args(r: &ShareRecord) -> Vec<Arg> {
    vec![
        Arg::text(&r.share_id),
        Arg::text(&r.tenant_id),
        Arg::text(&r.token_hash),
        Arg::Text(r.label.clone()),
        Arg::text(&r.view_json),
        Arg::Text(r.password_hash.clone()),
        Arg::int(r.expires_ms),
        Arg::int(r.created_ms),
        Arg::text(&r.created_by),
        Arg::Int(r.revoked_ms),
        Arg::int(r.views),
        Arg::Int(r.last_viewed_ms),
    ]
}

fn required<T>(value: Option<T>, column: &str) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| sqlx::Error::Decode(format!("share_links: {column} is NULL").into()))
}

fn record(row: &dyn Cells) -> Result<ShareRecord, sqlx::Error> {
    Ok(ShareRecord {
        share_id: required(row.text(0)?, "share_id")?,
        tenant_id: required(row.text(1)?, "tenant_id")?,
        token_hash: required(row.text(2)?, "token_hash")?,
        label: row.text(3)?,
        view_json: required(row.text(4)?, "view_json")?,
        password_hash: row.text(5)?,
        expires_ms: required(row.int(6)?, "expires_ms")?,
        created_ms: required(row.int(7)?, "created_ms")?,
        created_by: required(row.text(8)?, "created_by")?,
        revoked_ms: row.int(9)?,
        views: required(row.int(10)?, "views")?,
        last_viewed_ms: row.int(11)?,
    })
}

impl ControlStore {
    /// Stores a new link; `Ok(false)` if its id or token hash is taken.
    pub async fn create_share(
        &self,
        share: &ShareRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let step = Step {
            sql: insert(),
            args: args(share),
        };
        Ok(self.change_with(vec![step], audit, false).await?.is_some())
    }

    /// The link whose token hashes to `token_hash`, in any state.
    pub async fn share_by_hash(&self, token_hash: &str) -> Result<Option<ShareRecord>, StoreError> {
        let sql = by_hash();
        let rows = self.fetch(&sql, vec![Arg::text(token_hash)], record);
        Ok(rows.await?.into_iter().next())
    }

    /// A tenant's links, revoked and expired ones too, newest first.
    pub async fn shares(&self, tenant_id: &str) -> Result<Vec<ShareRecord>, StoreError> {
        self.fetch(&of_tenant(), vec![Arg::text(tenant_id)], record)
            .await
    }

    /// Revokes a live link of `tenant_id` at `at_ms`; `Ok(false)` if it is
    /// missing, another tenant's, or revoked already.
    pub async fn revoke_share(
        &self,
        tenant_id: &str,
        share_id: &str,
        at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let step = Step {
            sql: REVOKE.to_owned(),
            args: vec![Arg::text(share_id), Arg::text(tenant_id), Arg::int(at_ms)],
        };
        Ok(self.change_with(vec![step], audit, false).await?.is_some())
    }

    /// Adds `views` (counted since the last flush, the newest at `last_ms`)
    /// to link `share_id`.
    pub async fn add_share_views(
        &self,
        share_id: &str,
        views: i64,
        last_ms: i64,
    ) -> Result<(), StoreError> {
        let args = [Arg::text(share_id), Arg::int(views), Arg::int(last_ms)];
        self.execute(ADD_VIEWS, &args).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> ShareRecord {
        ShareRecord {
            share_id: "shr_1".into(),
            tenant_id: "acme".into(),
            token_hash: "sha256:00".into(),
            label: None,
            view_json: "{}".into(),
            password_hash: None,
            expires_ms: 100,
            created_ms: 1,
            created_by: "k".into(),
            revoked_ms: None,
            views: 0,
            last_viewed_ms: None,
        }
    }

    #[test]
    fn a_link_is_live_until_it_expires_or_is_revoked() {
        let live = share();
        assert_eq!(live.state(99), ShareState::Live);
        assert_eq!(live.state(100), ShareState::Expired);
        let revoked = ShareRecord {
            revoked_ms: Some(50),
            ..share()
        };
        assert_eq!(revoked.state(10), ShareState::Revoked);
        assert_eq!(revoked.state(200), ShareState::Revoked);
    }
}
