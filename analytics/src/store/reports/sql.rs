//! The statements of the report tables, one text for both stores, and how
//! their rows become records. Every statement is a constant with binds.

use crate::control::db::Cells;

use super::{Run, RunAttempt, RunDelivery};

const RUN_COLUMNS: &str =
    "r.id, r.tenant_id, r.kind, r.period_start, r.origin, r.created_ms, r.status";

pub(super) const INSERT_RUN: &str = "INSERT INTO report_runs \
    (id, tenant_id, kind, period_start, origin, created_ms, status) \
    VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT DO NOTHING";
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO report_deliveries \
    (run_id, tenant_id, channel, state, attempts, next_ms, lease_ms, updated_ms) \
    VALUES ($1, $2, $3, 'pending', 0, $4, 0, $5)";
pub(super) const LEASE: &str =
    "UPDATE report_deliveries SET lease_ms = $3, attempts = attempts + 1, \
    updated_ms = $4 WHERE run_id = $1 AND channel = $2 AND state = 'pending' \
    AND attempts = $5 AND lease_ms <= $4";
pub(super) const INSERT_ATTEMPT: &str = "INSERT INTO report_attempts \
    (run_id, tenant_id, channel, attempt, at_ms, outcome, http_status, error) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(super) const SETTLE: &str =
    "UPDATE report_deliveries SET state = $3, next_ms = $4, lease_ms = 0, \
    updated_ms = $5 WHERE run_id = $1 AND channel = $2 AND attempts = $6";
pub(super) const RUN_STATUS: &str = "UPDATE report_runs SET status = CASE \
    WHEN EXISTS (SELECT 1 FROM report_deliveries d WHERE d.run_id = $1 AND d.state = 'pending') \
    THEN 'pending' \
    WHEN EXISTS (SELECT 1 FROM report_deliveries d WHERE d.run_id = $1 AND d.state = 'failed') \
    THEN 'failed' ELSE 'delivered' END WHERE id = $1";
pub(super) const ATTEMPTS: &str = "SELECT run_id, tenant_id, channel, attempt, at_ms, outcome, \
    http_status, error FROM report_attempts WHERE run_id = $1 \
    ORDER BY channel, attempt";

pub(super) fn runs_sql() -> String {
    format!(
        "SELECT {RUN_COLUMNS} FROM report_runs r \
         WHERE (CAST($1 AS TEXT) IS NULL OR r.tenant_id = $1) \
         ORDER BY r.created_ms DESC, r.id DESC LIMIT $2"
    )
}

pub(super) fn due_sql() -> String {
    format!(
        "SELECT {RUN_COLUMNS}, d.channel, d.state, d.attempts, d.next_ms \
         FROM report_deliveries d JOIN report_runs r ON r.id = d.run_id \
         WHERE d.state = 'pending' AND d.next_ms <= $1 AND d.lease_ms <= $1 \
         ORDER BY d.next_ms, d.run_id, d.channel LIMIT $2"
    )
}

pub(super) fn deliveries_sql() -> String {
    format!(
        "SELECT {RUN_COLUMNS}, d.channel, d.state, d.attempts, d.next_ms \
         FROM report_deliveries d JOIN report_runs r ON r.id = d.run_id \
         WHERE r.id = $1 ORDER BY d.channel"
    )
}

fn text(row: &dyn Cells, at: usize) -> Result<String, sqlx::Error> {
    row.text(at)?.ok_or(sqlx::Error::RowNotFound)
}

fn int(row: &dyn Cells, at: usize) -> Result<i64, sqlx::Error> {
    row.int(at)?.ok_or(sqlx::Error::RowNotFound)
}

pub(super) fn run(row: &dyn Cells) -> Result<Run, sqlx::Error> {
    let day = text(row, 3)?;
    Ok(Run {
        id: text(row, 0)?,
        tenant_id: text(row, 1)?,
        kind: text(row, 2)?,
        period_start: day
            .parse()
            .map_err(|_| sqlx::Error::Decode(format!("period_start `{day}`").into()))?,
        origin: text(row, 4)?,
        created_ms: int(row, 5)?,
        status: text(row, 6)?,
    })
}

pub(super) fn delivery(row: &dyn Cells) -> Result<RunDelivery, sqlx::Error> {
    Ok(RunDelivery {
        run: run(row)?,
        channel: text(row, 7)?,
        state: text(row, 8)?,
        attempts: int(row, 9)?,
        next_ms: int(row, 10)?,
    })
}

pub(super) fn attempt(row: &dyn Cells) -> Result<RunAttempt, sqlx::Error> {
    Ok(RunAttempt {
        run_id: text(row, 0)?,
        tenant_id: text(row, 1)?,
        channel: text(row, 2)?,
        attempt: int(row, 3)?,
        at_ms: int(row, 4)?,
        outcome: text(row, 5)?,
        http_status: row.int(6)?,
        error: row.text(7)?,
    })
}
