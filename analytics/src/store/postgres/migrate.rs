//! Schema migrations: the files of `migrations/postgres/`, embedded in the binary and
//! applied in version order, each in its own transaction, each recorded (with a
//! checksum) in `gateway_schema_migrations`. An advisory lock lets several gateways
//! start at once; a migration already applied is skipped, and one whose file changed
//! after it was applied is an error rather than silently ignored.
//!
//! Migrations need the owner's rights. A gateway that serves with
//! least-privilege logins does not migrate: it checks the schema instead
//! ([`PostgresStore::check_schema`]) and refuses to serve an older one.

use sha2::{Digest, Sha256};
use sqlx::Executor;

use super::PostgresStore;
use crate::store::StoreError;

/// One embedded migration file, `<version>_<name>.sql`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in the order it must run.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261125000001,
        name: "usage_events",
        sql: include_str!("../../../../migrations/postgres/20261125000001_usage_events.sql"),
    },
    Migration {
        version: 20261125000002,
        name: "rollups",
        sql: include_str!("../../../../migrations/postgres/20261125000002_rollups.sql"),
    },
    Migration {
        version: 20261125000003,
        name: "row_level_security",
        sql: include_str!("../../../../migrations/postgres/20261125000003_row_level_security.sql"),
    },
    Migration {
        version: 20261126100000,
        name: "latency_histogram",
        sql: include_str!("../../../../migrations/postgres/20261126100000_latency_histogram.sql"),
    },
    Migration {
        version: 20261126110000,
        name: "failovers",
        sql: include_str!("../../../../migrations/postgres/20261126110000_failovers.sql"),
    },
    Migration {
        version: UNPRICED,
        name: "unpriced",
        sql: include_str!("../../../../migrations/postgres/20261207100000_unpriced.sql"),
    },
    Migration {
        version: 20261208100000,
        name: "least_privilege",
        sql: include_str!("../../../../migrations/postgres/20261208100000_least_privilege.sql"),
    },
    Migration {
        version: 20261209100000,
        name: "wire_formats",
        sql: include_str!("../../../../migrations/postgres/20261209100000_wire_formats.sql"),
    },
    Migration {
        version: 20261210100000,
        name: "control_plane",
        sql: include_str!("../../../../migrations/postgres/20261210100000_control_plane.sql"),
    },
    Migration {
        version: 20261210200000,
        name: "alerts",
        sql: include_str!("../../../../migrations/postgres/20261210200000_alerts.sql"),
    },
    Migration {
        version: 20261211100000,
        name: "roi_promises",
        sql: include_str!("../../../../migrations/postgres/20261211100000_roi_promises.sql"),
    },
    Migration {
        version: 20261211200000,
        name: "share_links",
        sql: include_str!("../../../../migrations/postgres/20261211200000_share_links.sql"),
    },
    Migration {
        version: 20261211300000,
        name: "reports",
        sql: include_str!("../../../../migrations/postgres/20261211300000_reports.sql"),
    },
];

/// The migration that made unpriced amounts NULL and repaired older events: the
/// rollups of their days are rebuilt once it is applied.
pub const UNPRICED: i64 = 20261207100000;

/// SQLSTATE insufficient_privilege.
const NO_PRIVILEGE: &str = "42501";

const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('gateway.migrate'))";

const CREATE_TABLE: &str = "
CREATE TABLE gateway_schema_migrations (
    version    bigint      PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

impl PostgresStore {
    /// Applies the migrations not yet applied; returns the versions applied now
    /// (empty when the schema was already current).
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let fail = |step: &str, err: sqlx::Error| {
            let hint = if is_no_privilege(&err) {
                "; migrations need the tables' owner: run `gateway migrate` with the owner's URL \
                 (--owner-url or DATABASE_OWNER_URL)"
            } else {
                ""
            };
            StoreError::Migration(format!("{step}: {err}{hint}"))
        };
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| fail("lock", e))?;
        let missing: bool =
            sqlx::query_scalar("SELECT to_regclass('gateway_schema_migrations') IS NULL")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| fail("bootstrap", e))?;
        if missing {
            sqlx::query(CREATE_TABLE)
                .execute(&mut *tx)
                .await
                .map_err(|e| fail("bootstrap", e))?;
        }
        tx.commit().await.map_err(|e| fail("bootstrap", e))?;

        let mut applied = Vec::new();
        for migration in MIGRATIONS {
            let step = format!("{}_{}", migration.version, migration.name);
            let checksum = checksum(migration.sql);
            let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
            sqlx::query(LOCK)
                .execute(&mut *tx)
                .await
                .map_err(|e| fail(&step, e))?;
            let recorded: Option<String> = sqlx::query_scalar(
                "SELECT checksum FROM gateway_schema_migrations WHERE version = $1",
            )
            .bind(migration.version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| fail(&step, e))?;
            match recorded {
                Some(recorded) if recorded == checksum => continue,
                Some(_) => {
                    return Err(StoreError::Migration(format!(
                        "{step}: the file changed after it was applied"
                    )))
                }
                None => {}
            }
            // A plain string runs as a simple query: several statements at once.
            (&mut *tx)
                .execute(migration.sql)
                .await
                .map_err(|e| fail(&step, e))?;
            sqlx::query(
                "INSERT INTO gateway_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(&checksum)
            .execute(&mut *tx)
            .await
            .map_err(|e| fail(&step, e))?;
            tx.commit().await.map_err(|e| fail(&step, e))?;
            tracing::info!(migration = %step, "applied migration");
            applied.push(migration.version);
        }
        Ok(applied)
    }
}

impl PostgresStore {
    /// Checks that every migration of this gateway is applied, unchanged,
    /// without applying anything (least-privilege logins cannot migrate).
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let missing: bool =
            sqlx::query_scalar("SELECT to_regclass('gateway_schema_migrations') IS NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        let recorded: Vec<(i64, String)> = if missing {
            Vec::new()
        } else {
            sqlx::query_as("SELECT version, checksum FROM gateway_schema_migrations")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?
        };
        schema_gap(&recorded).map_err(StoreError::Migration)
    }
}

/// Whether the recorded migrations (version, checksum) hold every one of
/// [`MIGRATIONS`] unchanged; the error says which are not and what to do.
/// Versions this gateway does not know (a newer gateway migrated) are fine.
fn schema_gap(recorded: &[(i64, String)]) -> Result<(), String> {
    let mut behind = Vec::new();
    let mut changed = Vec::new();
    for migration in MIGRATIONS {
        let name = format!("{}_{}", migration.version, migration.name);
        match recorded
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            None => behind.push(name),
            Some((_, sum)) if *sum != checksum(migration.sql) => changed.push(name),
            Some(_) => {}
        }
    }
    if !changed.is_empty() {
        return Err(format!(
            "the analytics schema has migrations that differ from this gateway's: {}",
            changed.join(", ")
        ));
    }
    if !behind.is_empty() {
        return Err(format!(
            "the analytics schema is behind this gateway ({} not applied: {}); run \
             `gateway migrate --owner-url <the owner's URL>`, or give the gateway \
             DATABASE_OWNER_URL so it migrates at start",
            behind.len(),
            behind.join(", ")
        ));
    }
    Ok(())
}

fn is_no_privilege(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code == NO_PRIVILEGE),
        _ => false,
    }
}

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/postgres/` is embedded, in order, under its own
    /// version and name.
    #[test]
    fn embeds_every_file_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, embedded);
        for (file, migration) in files.iter().zip(MIGRATIONS) {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            assert_eq!(text, migration.sql);
        }
    }

    #[test]
    fn the_schema_must_hold_every_migration_unchanged() {
        let all: Vec<(i64, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, checksum(m.sql)))
            .collect();
        assert_eq!(schema_gap(&all), Ok(()));
        // A newer gateway's migration on top is fine.
        let mut newer = all.clone();
        newer.push((99991231000000, "x".into()));
        assert_eq!(schema_gap(&newer), Ok(()));

        let last = MIGRATIONS[MIGRATIONS.len() - 1];
        let behind = schema_gap(&all[..all.len() - 1]).unwrap_err();
        assert!(
            behind.contains("behind")
                && behind.contains(&format!("{}_{}", last.version, last.name))
                && behind.contains("--owner-url"),
            "{behind}"
        );
        let empty = schema_gap(&[]).unwrap_err();
        assert!(
            empty.contains(&format!("({} not applied", MIGRATIONS.len())),
            "{empty}"
        );
        let mut edited = all.clone();
        edited[0].1 = checksum("something else");
        assert!(schema_gap(&edited).unwrap_err().contains("differ"));
    }

    #[test]
    fn checksums_are_sha256_hex() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
