//! Schema migrations: the files of `migrations/postgres/`, embedded in the binary and
//! applied in version order, each in its own transaction, each recorded (with a
//! checksum) in `gateway_schema_migrations`. An advisory lock lets several gateways
//! start at once; a migration already applied is skipped, and one whose file changed
//! after it was applied is an error rather than silently ignored.

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
];

/// The migration that made unpriced amounts NULL and repaired older events: the
/// rollups of their days are rebuilt once it is applied.
pub const UNPRICED: i64 = 20261207100000;

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
        let fail = |step: &str, err: sqlx::Error| StoreError::Migration(format!("{step}: {err}"));
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
    fn checksums_are_sha256_hex() {
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
