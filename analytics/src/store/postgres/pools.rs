//! The store's two connection pools, built in one place:
//!
//! - `main`: tenant reads (dashboard, analytics API), rollups, housekeeping and
//!   migrations. Long queries are normal here (a rollup of a busy day).
//! - `writer`: the event writer's own few connections, so a burst of dashboard
//!   queries cannot make the writer wait for a connection, and a writer stuck
//!   behind a lock cannot take the connections tenant reads need. Its sessions
//!   carry a `statement_timeout` (a lock held elsewhere cannot hold a write
//!   forever) and an `idle_in_transaction_session_timeout` (a writer that
//!   vanished mid-transaction does not keep its locks), and acquiring one waits
//!   no longer than a write may take.
//!
//! Both log in with the serving URL (the writer side's login); tenant reads
//! have pools of their own (`readers`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use super::SESSION_SETUP;

/// Connections of the main pool.
const MAIN_CONNECTIONS: u32 = 8;
/// Connections of the writer's pool: one per write the writer runs at once
/// (`writer::IN_FLIGHT`), and one more so a broken connection can be replaced
/// while it is closing.
const WRITER_CONNECTIONS: u32 = crate::writer::IN_FLIGHT as u32 + 1;

/// How the store's pools behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Longest one event-batch write may take: the writer's sessions get it as
    /// `statement_timeout`, the client gives up shortly after, and acquiring a
    /// writer connection waits no longer.
    pub write_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Which pool a connection belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PoolKind {
    Main,
    Writer,
}

/// Both pools (main, writer); the main pool connects now and fails if it
/// cannot. The writer's pool always connects on first use: the main pool has
/// proved the URL, and a writer that cannot connect holds its events meanwhile.
pub(super) async fn build(
    options: &PgConnectOptions,
    settings: PoolSettings,
) -> Result<(PgPool, PgPool), sqlx::Error> {
    let main = pool_options(PoolKind::Main, settings)
        .connect_with(session_options(options, PoolKind::Main, settings))
        .await?;
    Ok((main, writer(options, settings)))
}

/// Both pools (main, writer), connecting on first use, so a gateway can start
/// while Postgres is down.
pub(super) fn build_lazy(options: &PgConnectOptions, settings: PoolSettings) -> (PgPool, PgPool) {
    let main = pool_options(PoolKind::Main, settings).connect_lazy_with(session_options(
        options,
        PoolKind::Main,
        settings,
    ));
    (main, writer(options, settings))
}

fn writer(options: &PgConnectOptions, settings: PoolSettings) -> PgPool {
    pool_options(PoolKind::Writer, settings).connect_lazy_with(session_options(
        options,
        PoolKind::Writer,
        settings,
    ))
}

fn session_options(
    options: &PgConnectOptions,
    kind: PoolKind,
    settings: PoolSettings,
) -> PgConnectOptions {
    match kind {
        PoolKind::Main => options.clone(),
        PoolKind::Writer => {
            let statement = millis(settings.write_timeout);
            let idle = millis(settings.write_timeout.saturating_mul(3));
            options.clone().options([
                ("statement_timeout", statement),
                ("idle_in_transaction_session_timeout", idle),
            ])
        }
    }
}

fn pool_options(kind: PoolKind, settings: PoolSettings) -> PgPoolOptions {
    let options = match kind {
        PoolKind::Main => PgPoolOptions::new().max_connections(MAIN_CONNECTIONS),
        PoolKind::Writer => PgPoolOptions::new()
            .max_connections(WRITER_CONNECTIONS)
            .acquire_timeout(settings.write_timeout),
    };
    options.after_connect(|conn, _meta| {
        Box::pin(async move {
            conn.execute(SESSION_SETUP).await?;
            Ok(())
        })
    })
}

/// A duration as Postgres reads a setting in milliseconds (at least 1: 0
/// would mean no limit).
fn millis(duration: Duration) -> String {
    duration.as_millis().clamp(1, i32::MAX as u128).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_whole_milliseconds_and_never_zero() {
        assert_eq!(millis(Duration::from_secs(10)), "10000");
        assert_eq!(millis(Duration::from_micros(10)), "1");
        assert_eq!(millis(Duration::MAX), i32::MAX.to_string());
    }

    #[test]
    fn only_the_writer_sessions_are_limited() {
        let base = PgConnectOptions::new();
        let settings = PoolSettings {
            write_timeout: Duration::from_millis(1_500),
        };
        let writer = session_options(&base, PoolKind::Writer, settings);
        let options = writer.get_options().unwrap_or_default();
        assert!(options.contains("statement_timeout=1500"), "{options}");
        assert!(
            options.contains("idle_in_transaction_session_timeout=4500"),
            "{options}"
        );
        let main = session_options(&base, PoolKind::Main, settings);
        assert_eq!(main.get_options(), None);
    }
}
