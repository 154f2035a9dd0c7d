//! Schema migrations: the files of `migrations/sqlite/`, embedded in the binary
//! and applied in version order, each once, recorded with a checksum in
//! `gateway_schema_migrations`.

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::Executor;

use super::{db_error, SqliteStore, BEGIN_WRITE};
use crate::store::StoreError;

/// One schema migration, embedded in the binary.
pub(super) struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in the order it is applied (ascending versions).
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 20261125090000,
        name: "usage_events",
        sql: include_str!("../../../../migrations/sqlite/20261125090000_usage_events.sql"),
    },
    Migration {
        version: 20261125090100,
        name: "usage_rollups",
        sql: include_str!("../../../../migrations/sqlite/20261125090100_usage_rollups.sql"),
    },
    Migration {
        version: 20261126100000,
        name: "latency_histogram",
        sql: include_str!("../../../../migrations/sqlite/20261126100000_latency_histogram.sql"),
    },
    Migration {
        version: 20261126110000,
        name: "failovers",
        sql: include_str!("../../../../migrations/sqlite/20261126110000_failovers.sql"),
    },
    Migration {
        version: UNPRICED,
        name: "unpriced",
        sql: include_str!("../../../../migrations/sqlite/20261207100000_unpriced.sql"),
    },
];

/// The migration that made unpriced amounts NULL and repaired older events: the
/// rollups of their days are rebuilt once it is applied.
pub(crate) const UNPRICED: i64 = 20261207100000;

const CREATE_LEDGER: &str = "
CREATE TABLE IF NOT EXISTS gateway_schema_migrations (
    version       INTEGER NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    checksum      TEXT    NOT NULL, -- SHA-256 of the file, hex
    applied_at_ns INTEGER NOT NULL
) STRICT";

impl SqliteStore {
    /// Applies the migrations not yet recorded, in version order and in one
    /// transaction (all or none); returns the versions it applied (none when the
    /// schema is current). Fails if an applied migration's file has changed.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await.map_err(db_error)?;
        // `Executor::execute` returns a boxed future: `RawSql::execute` would make
        // this future `!Send` (a rustc limitation with higher-ranked lifetimes).
        (&mut *tx)
            .execute(sqlx::raw_sql(CREATE_LEDGER))
            .await
            .map_err(migration_error)?;
        let recorded: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, checksum FROM gateway_schema_migrations")
                .fetch_all(&mut *tx)
                .await
                .map_err(migration_error)?;
        let mut applied = Vec::new();
        for migration in MIGRATIONS {
            let checksum = sha256_hex(migration.sql);
            match recorded
                .iter()
                .find(|(version, _)| *version == migration.version)
            {
                Some((_, known)) if *known == checksum => continue,
                Some(_) => {
                    return Err(StoreError::Migration(format!(
                        "{}_{} changed after it was applied",
                        migration.version, migration.name
                    )))
                }
                None => {}
            }
            (&mut *tx)
                .execute(sqlx::raw_sql(migration.sql))
                .await
                .map_err(|error| {
                    StoreError::Migration(format!(
                        "{}_{}: {error}",
                        migration.version, migration.name
                    ))
                })?;
            sqlx::query(
                "INSERT INTO gateway_schema_migrations (version, name, checksum, applied_at_ns)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(checksum)
            .bind(Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(migration_error)?;
            applied.push(migration.version);
        }
        tx.commit().await.map_err(migration_error)?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "sqlite migrations applied");
        }
        Ok(applied)
    }
}

/// Transient errors stay retryable; anything else is a failed migration.
fn migration_error(error: sqlx::Error) -> StoreError {
    match db_error(error) {
        StoreError::Rejected(message) => StoreError::Migration(message),
        other => other,
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_unique_and_not_empty() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| !m.sql.trim().is_empty()));
    }
}
