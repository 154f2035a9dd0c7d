//! What a failed store operation means for the data: try again later (the
//! database, the connection or a concurrent transaction is the cause) or the
//! rows themselves are refused (retrying the same rows cannot help).
//!
//! The writer acts on this: transient failures hold events (memory, then the
//! spill file) and retry; refused rows are isolated and dead-lettered. A wrong
//! answer either way costs data or availability: a temporary error taken for a
//! refusal dead-letters good events (a failover would fill the dead-letter file),
//! a refusal taken for temporary blocks every event behind one bad row. So the
//! Postgres SQLSTATEs are sorted by an explicit table, tested entry by entry.
//!
//! Error texts never carry event values: Postgres' messages for data exceptions
//! (class 22) can quote the offending value, so only their code is kept.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached, timed out, is read-only, out of
    /// resources, or refused the statement for a reason that is not the data's
    /// (a missing table or privilege): retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database refused the data: retrying the same rows will not help.
    #[error("store rejected the write: {0}")]
    Rejected(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    pub fn from_sqlx(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(db) => {
                let code = db.code();
                let reason = database_reason(db.as_ref());
                if code.as_deref().is_some_and(pg_is_transient) {
                    StoreError::Unavailable(reason)
                } else {
                    StoreError::Rejected(reason)
                }
            }
            // Values that cannot be encoded or decoded: the data, not the store.
            sqlx::Error::Encode(_)
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::TypeNotFound { .. } => StoreError::Rejected(error.to_string()),
            // Io, Tls, PoolTimedOut, PoolClosed, WorkerCrashed, Protocol, and
            // whatever sqlx adds later: the way to the database, not the rows.
            _ => StoreError::Unavailable(error.to_string()),
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// SQLSTATE classes that are about the server, the connection or the setup
/// rather than the rows: connection exceptions (08), invalid authorization (28),
/// syntax or access rule (42: a missing table, column or privilege is fixed by
/// the operator, after which the held events land), insufficient resources (53),
/// operator intervention (57: shutdown, crash, cannot connect now, statement
/// timeout or cancel, idle timeouts), system errors (58), configuration file
/// errors (F0), internal errors (XX) and a database that does not exist (3D).
const TRANSIENT_CLASSES: [&str; 9] = ["08", "28", "42", "53", "57", "58", "F0", "XX", "3D"];

/// Single SQLSTATEs outside those classes that are temporary.
const TRANSIENT_CODES: [&str; 10] = [
    "25006", // read_only_sql_transaction: a replica, or a primary demoted by a failover
    "25P03", // idle_in_transaction_session_timeout
    "25P04", // transaction_timeout
    "40000", // transaction_rollback
    "40001", // serialization_failure
    "40003", // statement_completion_unknown
    "40P01", // deadlock_detected
    "55006", // object_in_use
    "55P03", // lock_not_available
    "72000", // snapshot_too_old
];

/// Whether a Postgres SQLSTATE means "retry later". Everything else the server
/// answers with (data exceptions, constraint and check violations, errors raised
/// by triggers, program limits, 40002 deferred constraint failures, ...) refuses
/// the rows: the writer isolates them and keeps them in the dead-letter file, so
/// a refusal never costs other rows and a misread refusal loses nothing.
pub(crate) fn pg_is_transient(code: &str) -> bool {
    let class = code.get(..2).unwrap_or(code);
    TRANSIENT_CLASSES.contains(&class) || TRANSIENT_CODES.contains(&code)
}

fn database_reason(db: &dyn sqlx::error::DatabaseError) -> String {
    reason(
        db.code().as_deref(),
        db.table(),
        db.constraint(),
        db.message(),
    )
}

/// The reason to log and to keep with dead-lettered rows: SQLSTATE, table and
/// constraint, and the server's message unless it may quote a value (class 22).
fn reason(
    code: Option<&str>,
    table: Option<&str>,
    constraint: Option<&str>,
    message: &str,
) -> String {
    use std::fmt::Write as _;
    let mut out = format!("SQLSTATE {}", code.unwrap_or("?"));
    if let Some(table) = table {
        let _ = write!(out, ", table {table}");
    }
    if let Some(constraint) = constraint {
        let _ = write!(out, ", constraint {constraint}");
    }
    if code.is_some_and(|c| c.starts_with("22")) {
        out.push_str(": data exception (message withheld: it may quote the value)");
    } else {
        let _ = write!(out, ": {message}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the writer's behaviour depends on, with the expected side.
    #[test]
    fn sqlstates_are_classified_by_the_table() {
        let cases = [
            // Temporary: retried, never dead-lettered.
            ("25006", true, "read-only transaction (failover)"),
            ("57014", true, "statement timeout / query canceled"),
            ("40001", true, "serialization failure"),
            ("40P01", true, "deadlock"),
            ("53300", true, "too many connections"),
            ("53100", true, "disk full"),
            ("53200", true, "out of memory"),
            ("55P03", true, "lock not available"),
            ("55006", true, "object in use"),
            ("57P01", true, "admin shutdown"),
            ("57P02", true, "crash shutdown"),
            ("57P03", true, "cannot connect now"),
            ("57P05", true, "idle session timeout"),
            ("08000", true, "connection exception"),
            ("08006", true, "connection failure"),
            ("08P01", true, "protocol violation"),
            ("25P03", true, "idle in transaction timeout"),
            ("28P01", true, "invalid password (rotated)"),
            ("3D000", true, "database does not exist (yet)"),
            ("42P01", true, "undefined table: fixed by the operator"),
            ("42501", true, "insufficient privilege: setup"),
            ("58030", true, "io error"),
            ("XX000", true, "internal error"),
            ("F0000", true, "config file error"),
            ("72000", true, "snapshot too old"),
            // Refused rows: isolated and dead-lettered.
            ("P0001", false, "raised by a trigger"),
            ("23514", false, "check violation"),
            ("23502", false, "not null violation"),
            ("23505", false, "unique violation"),
            ("22001", false, "string too long"),
            ("22P02", false, "invalid text representation"),
            ("22003", false, "numeric out of range"),
            ("40002", false, "deferred constraint failed at commit"),
            ("54000", false, "program limit: split, then lands"),
            ("44000", false, "with check option violation"),
            ("0A000", false, "feature not supported"),
            ("", false, "no code"),
            ("9", false, "short code"),
        ];
        for (code, transient, what) in cases {
            assert_eq!(pg_is_transient(code), transient, "{code}: {what}");
        }
    }

    #[test]
    fn reasons_never_quote_data_exceptions() {
        assert_eq!(
            reason(Some("22P02"), Some("usage_events"), None, "invalid input syntax: \"secret\""),
            "SQLSTATE 22P02, table usage_events: data exception (message withheld: it may quote the value)"
        );
        assert_eq!(
            reason(Some("P0001"), None, None, "tenant blocked"),
            "SQLSTATE P0001: tenant blocked"
        );
        assert_eq!(
            reason(
                Some("23514"),
                Some("t"),
                Some("c"),
                "violates check constraint \"c\""
            ),
            "SQLSTATE 23514, table t, constraint c: violates check constraint \"c\""
        );
        assert_eq!(reason(None, None, None, "m"), "SQLSTATE ?: m");
    }

    #[test]
    fn connection_level_sqlx_errors_are_transient() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(StoreError::from_sqlx(io).is_transient());
        assert!(StoreError::from_sqlx(sqlx::Error::PoolTimedOut).is_transient());
        assert!(StoreError::from_sqlx(sqlx::Error::PoolClosed).is_transient());
        assert!(StoreError::from_sqlx(sqlx::Error::WorkerCrashed).is_transient());
        assert!(StoreError::from_sqlx(sqlx::Error::Protocol("out of sync".into())).is_transient());
        let decode = sqlx::Error::Decode("bad value".into());
        assert!(!StoreError::from_sqlx(decode).is_transient());
    }
}
