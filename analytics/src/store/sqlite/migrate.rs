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
    Migration {
        version: 20261209100000,
        name: "wire_formats",
        sql: include_str!("../../../../migrations/sqlite/20261209100000_wire_formats.sql"),
    },
    Migration {
        version: 20261210100000,
        name: "control_plane",
        sql: include_str!("../../../../migrations/sqlite/20261210100000_control_plane.sql"),
    },
    Migration {
        version: 20261210200000,
        name: "alerts",
        sql: include_str!("../../../../migrations/sqlite/20261210200000_alerts.sql"),
    },
    Migration {
        version: 20261211100000,
        name: "roi_promises",
        sql: include_str!("../../../../migrations/sqlite/20261211100000_roi_promises.sql"),
    },
    Migration {
        version: 20261211200000,
        name: "share_links",
        sql: include_str!("../../../../migrations/sqlite/20261211200000_share_links.sql"),
    },
    Migration {
        version: 20261211300000,
        name: "reports",
        sql: include_str!("../../../../migrations/sqlite/20261211300000_reports.sql"),
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

    /// A store written before the unpriced migration: served-by-an-unpriced-model
    /// events were stored as free, one with a phantom baseline, and rolled up
    /// as savings. Opening it migrates them to unknown amounts and rebuilds the
    /// rollups: no phantom savings, two unpriced requests.
    #[tokio::test]
    async fn unpriced_history_is_repaired_and_rolled_up_again() {
        use crate::store::queries::{Filter, GroupBy};
        use crate::store::Store;
        use pricing::Cost;

        let dir = std::env::temp_dir().join(format!("gateway-unpriced-{}", uuid::Uuid::now_v7()));
        let path = dir.join("legacy.sqlite");
        let legacy = SqliteStore::open(&path).await.unwrap();
        (&legacy.pool)
            .execute(sqlx::raw_sql(CREATE_LEDGER))
            .await
            .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < UNPRICED) {
            (&legacy.pool).execute(sqlx::raw_sql(m.sql)).await.unwrap();
            sqlx::query("INSERT INTO gateway_schema_migrations VALUES (?1, ?2, ?3, 0)")
                .bind(m.version)
                .bind(m.name)
                .bind(sha256_hex(m.sql))
                .execute(&legacy.pool)
                .await
                .unwrap();
        }
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let at = super::super::day_start_ns(day) + 3_600_000_000_000;
        /// Model, status, prompt tokens, cost, baseline (pico-USD), price versions.
        type Legacy = (
            &'static str,
            i64,
            i64,
            i64,
            i64,
            Option<&'static str>,
            Option<&'static str>,
        );
        let rows: [Legacy; 4] = [
            // The report's case: unpriced, priced as gpt-4o for a baseline.
            (
                "llama-local",
                200,
                1000,
                0,
                3_500_000_000,
                None,
                Some("openai/gpt-4o@2026-11-25"),
            ),
            // Unpriced, no baseline model configured: stored as free.
            ("llama-local", 200, 500, 0, 0, None, None),
            // Refused before any model served it: it really cost nothing.
            ("llama-local", 429, 0, 0, 0, None, None),
            // Priced: untouched.
            (
                "gpt-4o-mini",
                200,
                1000,
                210_000_000,
                3_500_000_000,
                Some("openai/gpt-4o-mini@2026-11-25"),
                Some("openai/gpt-4o@2026-11-25"),
            ),
        ];
        for (n, (model, status, prompt, cost, baseline, price, baseline_price)) in
            rows.iter().enumerate()
        {
            sqlx::query(
                "INSERT INTO usage_events VALUES (?1, ?2, 'acme', 'k', NULL, NULL, \
                 'chat_completions', ?3, 'local', ?3, 'requested', 1, 0, ?4, NULL, ?5, ?5 / 100, 0, 0, \
                 0, 0, ?6, ?7, ?8, ?9, 100, NULL, NULL, 'curl')",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(at + n as i64)
            .bind(model)
            .bind(status)
            .bind(prompt)
            .bind(cost)
            .bind(baseline)
            .bind(price)
            .bind(baseline_price)
            .execute(&legacy.pool)
            .await
            .unwrap();
        }
        // What the old rollup made of it: the phantom baseline as savings.
        sqlx::query(
            "INSERT INTO usage_daily VALUES ('acme', '2026-11-30', 'k', '', 'llama-local', \
             'local', 'llama-local', 3, 1, 1500, 20, 0, 0, 3500000000, 3500000000, 300, 3, 0)",
        )
        .execute(&legacy.pool)
        .await
        .unwrap();
        legacy.close().await;

        let store = Store::open_sqlite(&path).await.unwrap();
        let Store::Sqlite(sqlite) = &store else {
            unreachable!()
        };
        let amounts: Vec<(Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT cost_pusd, baseline_pusd, baseline_price_version FROM usage_events \
             ORDER BY occurred_at_ns",
        )
        .fetch_all(&sqlite.pool)
        .await
        .unwrap();
        let priced_version = Some("openai/gpt-4o@2026-11-25".to_owned());
        assert_eq!(
            amounts,
            [
                (None, None, None),
                (None, None, None),
                (Some(0), Some(0), None),
                (Some(210_000_000), Some(3_500_000_000), priced_version),
            ]
        );
        let total = store
            .aggregate("acme", day, day, &Filter::default(), GroupBy::Total)
            .await
            .unwrap();
        let t = total[0].totals;
        assert_eq!((t.requests, t.unpriced), (4, 2));
        assert_eq!(
            (t.cost, t.baseline, t.savings),
            (Cost(210_000_000), Cost(3_500_000_000), Cost(3_290_000_000))
        );
        if let Store::Sqlite(sqlite) = store {
            sqlite.close().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
