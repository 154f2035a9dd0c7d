//! Running the shared statements on either store: binds and cells of the two
//! column types the control tables use, and one transaction per change that
//! also writes the audit entry and bumps the version (on Postgres it announces
//! the new version with `pg_notify` too, delivered at commit).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{PgPool, Postgres, Row, Sqlite, SqlitePool};

use super::records::{AuditEntry, ControlData, KeyRecord, TeamRecord, TenantRecord};
use super::{sql, CHANNEL};
use crate::store::{Store, StoreError};

/// A bind value: the control tables hold text and 64-bit integers only.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Arg {
    pub fn text(value: &str) -> Arg {
        Arg::Text(Some(value.to_owned()))
    }

    pub fn int(value: i64) -> Arg {
        Arg::Int(Some(value))
    }
}

/// A row's cells by position, whichever store it came from.
pub trait Cells {
    fn text(&self, at: usize) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, at: usize) -> Result<Option<i64>, sqlx::Error>;
}

impl Cells for PgRow {
    fn text(&self, at: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(at)
    }
    fn int(&self, at: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(at)
    }
}

impl Cells for SqliteRow {
    fn text(&self, at: usize) -> Result<Option<String>, sqlx::Error> {
        self.try_get(at)
    }
    fn int(&self, at: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(at)
    }
}

pub(crate) fn bind_pg<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    args: &'q [Arg],
) -> Query<'q, Postgres, PgArguments> {
    for arg in args {
        query = match arg {
            Arg::Text(value) => query.bind(value.as_deref()),
            Arg::Int(value) => query.bind(*value),
        };
    }
    query
}

pub(crate) fn bind_sqlite<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments<'q>>,
    args: &'q [Arg],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(value) => query.bind(value.as_deref()),
            Arg::Int(value) => query.bind(*value),
        };
    }
    query
}

/// Runs a change's steps in `$tx` with `$bind`; `false` as soon as one touches
/// no row (the caller then drops the transaction: nothing is changed). Used
/// inside an `async` block returning `Result<_, sqlx::Error>`.
macro_rules! run_steps {
    ($tx:ident, $bind:ident, $steps:expr) => {{
        let mut all = true;
        for step in $steps {
            let done = $bind(sqlx::query(&step.sql), &step.args)
                .execute(&mut *$tx)
                .await?;
            if done.rows_affected() == 0 {
                all = false;
                break;
            }
        }
        all
    }};
}

/// One statement of a change. Each must touch a row: an insert that met an
/// existing id, or an update of a missing record, aborts the whole change.
pub struct Step {
    pub sql: String,
    pub args: Vec<Arg>,
}

/// The control tables of the configured store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub enum ControlStore {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl ControlStore {
    /// The store's system-side connections: they see every tenant's records.
    pub fn of(store: &Store) -> ControlStore {
        match store {
            Store::Postgres(pg) => ControlStore::Postgres(pg.pool().clone()),
            Store::Sqlite(lite) => ControlStore::Sqlite(lite.pool().clone()),
        }
    }

    /// Runs `sql` with `args` and decodes every row.
    pub(crate) async fn fetch<T>(
        &self,
        sql: &str,
        args: Vec<Arg>,
        decode: fn(&dyn Cells) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let decoded = match self {
            ControlStore::Postgres(pool) => {
                let rows = bind_pg(sqlx::query(sql), &args).fetch_all(pool).await;
                rows.and_then(|rows| rows.iter().map(|r| decode(r)).collect())
            }
            ControlStore::Sqlite(pool) => {
                let rows = bind_sqlite(sqlx::query(sql), &args).fetch_all(pool).await;
                rows.and_then(|rows| rows.iter().map(|r| decode(r)).collect())
            }
        };
        decoded.map_err(StoreError::from_sqlx)
    }

    /// Runs `sql` with `args`; how many rows it touched.
    pub(crate) async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let done = match self {
            ControlStore::Postgres(pool) => bind_pg(sqlx::query(sql), args)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
            ControlStore::Sqlite(pool) => bind_sqlite(sqlx::query(sql), args)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
        };
        done.map_err(StoreError::from_sqlx)
    }

    /// Runs `steps` in one transaction, without audit or version (records
    /// that are not control data, such as report runs). `false`: a step
    /// touched no row and nothing was changed.
    pub(crate) async fn apply(&self, steps: &[Step]) -> Result<bool, StoreError> {
        let outcome: Result<bool, sqlx::Error> = match self {
            ControlStore::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(StoreError::from_sqlx)?;
                async {
                    if !run_steps!(tx, bind_pg, steps) {
                        return Ok(false);
                    }
                    tx.commit().await?;
                    Ok(true)
                }
                .await
            }
            ControlStore::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::from_sqlx)?;
                async {
                    if !run_steps!(tx, bind_sqlite, steps) {
                        return Ok(false);
                    }
                    tx.commit().await?;
                    Ok(true)
                }
                .await
            }
        };
        outcome.map_err(StoreError::from_sqlx)
    }

    /// Runs `steps`, the audit entry and the version bump in one transaction.
    /// `Ok(None)`: a step touched no row (the record exists already, or is
    /// missing), and nothing was changed. `Ok(Some(v))`: the new version.
    async fn change(
        &self,
        steps: Vec<Step>,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        self.change_with(steps, audit, true).await
    }

    /// [`Self::change`]; with `announce` false the version stays and no
    /// notification goes out (`Ok(Some(0))` on success): for records no
    /// replica keeps a snapshot of (share links are read from the store).
    pub(super) async fn change_with(
        &self,
        steps: Vec<Step>,
        audit: &AuditEntry,
        announce: bool,
    ) -> Result<Option<i64>, StoreError> {
        let audit_args = sql::audit_args(audit);
        // The same statements on either store; only the binding, the
        // transaction's start and Postgres's notification differ.
        let outcome: Result<Option<i64>, sqlx::Error> = match self {
            ControlStore::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(StoreError::from_sqlx)?;
                async {
                    if !run_steps!(tx, bind_pg, &steps) {
                        return Ok(None);
                    }
                    bind_pg(sqlx::query(sql::INSERT_AUDIT), &audit_args)
                        .execute(&mut *tx)
                        .await?;
                    if !announce {
                        tx.commit().await?;
                        return Ok(Some(0));
                    }
                    let version: i64 = sqlx::query_scalar(sql::BUMP_VERSION)
                        .fetch_one(&mut *tx)
                        .await?;
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(version.to_string())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(version))
                }
                .await
            }
            ControlStore::Sqlite(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::from_sqlx)?;
                async {
                    if !run_steps!(tx, bind_sqlite, &steps) {
                        return Ok(None);
                    }
                    bind_sqlite(sqlx::query(sql::INSERT_AUDIT), &audit_args)
                        .execute(&mut *tx)
                        .await?;
                    if !announce {
                        tx.commit().await?;
                        return Ok(Some(0));
                    }
                    let version: i64 = sqlx::query_scalar(sql::BUMP_VERSION)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(version))
                }
                .await
            }
        };
        outcome.map_err(StoreError::from_sqlx)
    }

    /// On Postgres, a listener for change notifications (one connection of
    /// the pool, held while it lives; it reconnects by itself). SQLite has no
    /// notifications: replicas sharing a file find changes by the version.
    pub async fn listener(&self) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match self {
            ControlStore::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                listener
                    .listen(CHANNEL)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Ok(Some(listener))
            }
            ControlStore::Sqlite(_) => Ok(None),
        }
    }

    /// The version of the control data: it moves with every change.
    pub async fn version(&self) -> Result<i64, StoreError> {
        let versions = self.fetch(sql::VERSION, Vec::new(), |row| {
            row.int(0)?.ok_or(sqlx::Error::RowNotFound)
        });
        versions
            .await?
            .first()
            .copied()
            .ok_or_else(|| StoreError::Rejected("control_version has no row".to_owned()))
    }

    /// Every tenant, team and live (not revoked) key, as of one version. The
    /// version is read first: a change landing in between only makes the next
    /// check reload again.
    pub async fn load(&self) -> Result<ControlData, StoreError> {
        let version = self.version().await?;
        Ok(ControlData {
            version,
            tenants: self.fetch(sql::TENANTS, Vec::new(), sql::tenant).await?,
            teams: self.fetch(sql::TEAMS, Vec::new(), sql::team).await?,
            keys: self
                .fetch(&sql::live_keys(), Vec::new(), sql::key_record)
                .await?,
        })
    }

    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let rows = self.fetch(sql::TENANT, vec![Arg::text(tenant_id)], sql::tenant);
        Ok(rows.await?.into_iter().next())
    }

    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.fetch(sql::TENANTS, Vec::new(), sql::tenant).await
    }

    /// Creates a tenant; `Ok(None)` if one with its id exists.
    pub async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::INSERT_TENANT.to_owned(),
            args: sql::tenant_args(tenant),
        };
        self.change(vec![step], audit).await
    }

    /// Replaces a tenant's settings (matched by id and creation time, so a
    /// tenant deleted and made again in between is not overwritten).
    pub async fn update_tenant(
        &self,
        tenant: &TenantRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::UPDATE_TENANT.to_owned(),
            args: sql::tenant_args(tenant),
        };
        self.change(vec![step], audit).await
    }

    pub async fn team(
        &self,
        tenant_id: &str,
        team_id: &str,
    ) -> Result<Option<TeamRecord>, StoreError> {
        let args = vec![Arg::text(tenant_id), Arg::text(team_id)];
        Ok(self
            .fetch(sql::TEAM, args, sql::team)
            .await?
            .into_iter()
            .next())
    }

    pub async fn teams(&self, tenant_id: Option<&str>) -> Result<Vec<TeamRecord>, StoreError> {
        let all = self.fetch(sql::TEAMS, Vec::new(), sql::team).await?;
        Ok(all
            .into_iter()
            .filter(|t| tenant_id.is_none_or(|id| t.tenant_id == id))
            .collect())
    }

    pub async fn create_team(
        &self,
        team: &TeamRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::INSERT_TEAM.to_owned(),
            args: sql::team_args(team),
        };
        self.change(vec![step], audit).await
    }

    pub async fn update_team(
        &self,
        team: &TeamRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::UPDATE_TEAM.to_owned(),
            args: sql::team_args(team),
        };
        self.change(vec![step], audit).await
    }

    pub async fn key(&self, key_id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql = sql::key();
        let rows = self.fetch(&sql, vec![Arg::text(key_id)], sql::key_record);
        Ok(rows.await?.into_iter().next())
    }

    /// Keys of one tenant (or all), revoked ones included, oldest first.
    pub async fn keys(&self, tenant_id: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        let args = vec![Arg::Text(tenant_id.map(str::to_owned))];
        self.fetch(&sql::keys_of_tenant(), args, sql::key_record)
            .await
    }

    /// Stores a new key; `Ok(None)` if its id or hash is taken.
    pub async fn create_key(
        &self,
        key: &KeyRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::insert_key(),
            args: sql::key_args(key),
        };
        self.change(vec![step], audit).await
    }

    /// Replaces a live key's settings; `Ok(None)` if it is missing or revoked.
    pub async fn update_key(
        &self,
        key: &KeyRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::UPDATE_KEY.to_owned(),
            args: sql::key_update_args(key),
        };
        self.change(vec![step], audit).await
    }

    /// Revokes a live key at `at_ms`; `Ok(None)` if it is missing or revoked.
    pub async fn revoke_key(
        &self,
        key_id: &str,
        at_ms: i64,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let step = Step {
            sql: sql::REVOKE_KEY.to_owned(),
            args: vec![Arg::text(key_id), Arg::int(at_ms)],
        };
        self.change(vec![step], audit).await
    }

    /// Rotation: stores `new` and ends `old_id` at `old_expires_ms` (its grace
    /// period), in one transaction. `Ok(None)`: the old key is missing, revoked
    /// or already ends sooner, or the new id is taken; nothing changed.
    pub async fn rotate_key(
        &self,
        old_id: &str,
        old_expires_ms: i64,
        new: &KeyRecord,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        let insert = Step {
            sql: sql::insert_key(),
            args: sql::key_args(new),
        };
        let expire = Step {
            sql: sql::EXPIRE_KEY.to_owned(),
            args: vec![
                Arg::text(old_id),
                Arg::int(old_expires_ms),
                Arg::int(new.created_ms),
            ],
        };
        self.change(vec![expire, insert], audit).await
    }

    /// Records when keys were last used (batched by the gateway; no version
    /// bump: it changes no one's rights).
    pub async fn touch_keys(&self, used: &[(String, i64)]) -> Result<(), StoreError> {
        for (key_id, at_ms) in used {
            let args = [Arg::text(key_id), Arg::int(*at_ms)];
            self.execute(sql::TOUCH_KEY, &args).await?;
        }
        Ok(())
    }

    /// The newest audit entries of one tenant (or all), newest first.
    pub async fn audit(
        &self,
        tenant_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let args = vec![Arg::Text(tenant_id.map(str::to_owned)), Arg::int(limit)];
        self.fetch(sql::AUDIT, args, sql::audit_entry).await
    }
}
