//! What scheduled reports keep in the store: each run (a tenant's report of
//! one period, scheduled or sent by hand), each channel's delivery state, and
//! every delivery attempt. The store, not a replica's memory, decides what is
//! sent: a scheduled run is claimed by one `INSERT .. ON CONFLICT DO NOTHING`
//! (the partial unique index on tenant, kind and period), a due delivery by
//! one conditional `UPDATE` of its lease, so neither a restart nor a second
//! replica sends a report twice. A delivery that failed in a way worth
//! retrying stays pending with its next time, and is picked up by whichever
//! replica looks next, after a restart too.
//!
//! The tables hold text and 64-bit integers only (dates as ISO text, times as
//! unix milliseconds), so both stores run the same statements through the
//! control plane's binding seam ([`ControlStore`]). Nothing here holds report
//! figures, prompt text or channel secrets: a report is rebuilt from the
//! rollups whenever it is sent.

use chrono::NaiveDate;

use super::alerts::DeliveryOutcome;
use super::{Store, StoreError};
use crate::control::db::{Arg, Cells, Step};
use crate::control::ControlStore;

/// Why a run was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrigin {
    /// By a schedule: at most one per tenant, kind and period.
    Scheduled,
    /// "Send now": always a new run.
    Manual,
}

impl RunOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOrigin::Scheduled => "scheduled",
            RunOrigin::Manual => "manual",
        }
    }
}

/// A run to make, with the channels it goes to.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// UUIDv7, made by the caller.
    pub id: String,
    pub tenant_id: String,
    /// `weekly` or `monthly`.
    pub kind: String,
    /// The first day of the reported period.
    pub period_start: NaiveDate,
    pub origin: RunOrigin,
    pub created_ms: i64,
    /// When its deliveries are first due for whichever replica looks (a
    /// manual run is attempted at once by its maker, and left to the others
    /// only if that attempt never happens).
    pub due_ms: i64,
    pub channels: Vec<String>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub period_start: NaiveDate,
    /// `scheduled` or `manual`.
    pub origin: String,
    pub created_ms: i64,
    /// `pending` while a delivery is, then `delivered` or `failed` (one
    /// channel or more gave up).
    pub status: String,
}

/// A run's delivery to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDelivery {
    pub run: Run,
    pub channel: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made so far.
    pub attempts: i64,
    pub next_ms: i64,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAttempt {
    pub run_id: String,
    pub tenant_id: String,
    pub channel: String,
    pub attempt: i64,
    pub at_ms: i64,
    pub outcome: String,
    pub http_status: Option<i64>,
    /// The gateway's own words; never a URL or a secret.
    pub error: Option<String>,
}

const RUN_COLUMNS: &str =
    "r.id, r.tenant_id, r.kind, r.period_start, r.origin, r.created_ms, r.status";

const INSERT_RUN: &str = "INSERT INTO report_runs \
    (id, tenant_id, kind, period_start, origin, created_ms, status) \
    VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT DO NOTHING";
const INSERT_DELIVERY: &str = "INSERT INTO report_deliveries \
    (run_id, tenant_id, channel, state, attempts, next_ms, lease_ms, updated_ms) \
    VALUES ($1, $2, $3, 'pending', 0, $4, 0, $5)";
const LEASE: &str = "UPDATE report_deliveries SET lease_ms = $3, attempts = attempts + 1, \
    updated_ms = $4 WHERE run_id = $1 AND channel = $2 AND state = 'pending' \
    AND attempts = $5 AND lease_ms <= $4";
const INSERT_ATTEMPT: &str = "INSERT INTO report_attempts \
    (run_id, tenant_id, channel, attempt, at_ms, outcome, http_status, error) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const SETTLE: &str = "UPDATE report_deliveries SET state = $3, next_ms = $4, lease_ms = 0, \
    updated_ms = $5 WHERE run_id = $1 AND channel = $2 AND attempts = $6";
const RUN_STATUS: &str = "UPDATE report_runs SET status = CASE \
    WHEN EXISTS (SELECT 1 FROM report_deliveries d WHERE d.run_id = $1 AND d.state = 'pending') \
    THEN 'pending' \
    WHEN EXISTS (SELECT 1 FROM report_deliveries d WHERE d.run_id = $1 AND d.state = 'failed') \
    THEN 'failed' ELSE 'delivered' END WHERE id = $1";
const ATTEMPTS: &str = "SELECT run_id, tenant_id, channel, attempt, at_ms, outcome, \
    http_status, error FROM report_attempts WHERE run_id = $1 \
    ORDER BY channel, attempt";

fn runs_sql() -> String {
    format!(
        "SELECT {RUN_COLUMNS} FROM report_runs r \
         WHERE (CAST($1 AS TEXT) IS NULL OR r.tenant_id = $1) \
         ORDER BY r.created_ms DESC, r.id DESC LIMIT $2"
    )
}

fn due_sql() -> String {
    format!(
        "SELECT {RUN_COLUMNS}, d.channel, d.state, d.attempts, d.next_ms \
         FROM report_deliveries d JOIN report_runs r ON r.id = d.run_id \
         WHERE d.state = 'pending' AND d.next_ms <= $1 AND d.lease_ms <= $1 \
         ORDER BY d.next_ms, d.run_id, d.channel LIMIT $2"
    )
}

fn deliveries_sql() -> String {
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

fn run(row: &dyn Cells) -> Result<Run, sqlx::Error> {
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

fn delivery(row: &dyn Cells) -> Result<RunDelivery, sqlx::Error> {
    Ok(RunDelivery {
        run: run(row)?,
        channel: text(row, 7)?,
        state: text(row, 8)?,
        attempts: int(row, 9)?,
        next_ms: int(row, 10)?,
    })
}

fn attempt(row: &dyn Cells) -> Result<RunAttempt, sqlx::Error> {
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

/// How an attempt ended, to record.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub outcome: DeliveryOutcome,
    pub at_ms: i64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// When to try again (with [`DeliveryOutcome::Retrying`]).
    pub next_ms: i64,
}

impl Store {
    /// Makes run `new` and a pending delivery to each of its channels, in one
    /// transaction. `false`: a scheduled run of the same tenant, kind and
    /// period exists (made before a restart, or by another replica).
    pub async fn claim_report_run(&self, new: &NewRun) -> Result<bool, StoreError> {
        let mut steps = vec![Step {
            sql: INSERT_RUN.to_owned(),
            args: vec![
                Arg::text(&new.id),
                Arg::text(&new.tenant_id),
                Arg::text(&new.kind),
                Arg::text(&new.period_start.to_string()),
                Arg::text(new.origin.as_str()),
                Arg::int(new.created_ms),
            ],
        }];
        for channel in &new.channels {
            steps.push(Step {
                sql: INSERT_DELIVERY.to_owned(),
                args: vec![
                    Arg::text(&new.id),
                    Arg::text(&new.tenant_id),
                    Arg::text(channel),
                    Arg::int(new.due_ms),
                    Arg::int(new.created_ms),
                ],
            });
        }
        ControlStore::of(self).apply(&steps).await
    }

    /// Deliveries due at `now_ms` (pending, their time come, not leased),
    /// soonest first.
    pub async fn due_report_deliveries(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<RunDelivery>, StoreError> {
        let args = vec![Arg::int(now_ms), Arg::int(limit)];
        ControlStore::of(self)
            .fetch(&due_sql(), args, delivery)
            .await
    }

    /// Takes `due` for one attempt until `lease_until_ms`, due or not yet:
    /// `Some(attempt number)`, or `None` when another replica took it first
    /// (or it changed).
    pub async fn lease_report_delivery(
        &self,
        due: &RunDelivery,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let args = [
            Arg::text(&due.run.id),
            Arg::text(&due.channel),
            Arg::int(lease_until_ms),
            Arg::int(now_ms),
            Arg::int(due.attempts),
        ];
        let done = ControlStore::of(self).execute(LEASE, &args).await?;
        Ok((done == 1).then_some(due.attempts + 1))
    }

    /// Records attempt `attempt` of `due` and its outcome: delivered, pending
    /// again from `next_ms`, or failed for good; the run's status follows.
    pub async fn settle_report_delivery(
        &self,
        due: &RunDelivery,
        attempt: i64,
        settlement: &Settlement,
    ) -> Result<(), StoreError> {
        let state = match settlement.outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retrying => "pending",
            DeliveryOutcome::Failed => "failed",
        };
        let steps = [
            Step {
                sql: INSERT_ATTEMPT.to_owned(),
                args: vec![
                    Arg::text(&due.run.id),
                    Arg::text(&due.run.tenant_id),
                    Arg::text(&due.channel),
                    Arg::int(attempt),
                    Arg::int(settlement.at_ms),
                    Arg::text(settlement.outcome.as_str()),
                    Arg::Int(settlement.http_status.map(i64::from)),
                    Arg::Text(settlement.error.clone()),
                ],
            },
            Step {
                sql: SETTLE.to_owned(),
                args: vec![
                    Arg::text(&due.run.id),
                    Arg::text(&due.channel),
                    Arg::text(state),
                    Arg::int(settlement.next_ms),
                    Arg::int(settlement.at_ms),
                    Arg::int(attempt),
                ],
            },
            Step {
                sql: RUN_STATUS.to_owned(),
                args: vec![Arg::text(&due.run.id)],
            },
        ];
        if ControlStore::of(self).apply(&steps).await? {
            Ok(())
        } else {
            Err(StoreError::Rejected(format!(
                "report delivery {}/{} changed under attempt {attempt}",
                due.run.id, due.channel
            )))
        }
    }

    /// Runs of one tenant (or all), newest first.
    pub async fn report_runs(
        &self,
        tenant_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Run>, StoreError> {
        let args = vec![Arg::Text(tenant_id.map(str::to_owned)), Arg::int(limit)];
        ControlStore::of(self).fetch(&runs_sql(), args, run).await
    }

    /// A run's delivery to each of its channels.
    pub async fn report_deliveries(&self, run_id: &str) -> Result<Vec<RunDelivery>, StoreError> {
        let args = vec![Arg::text(run_id)];
        ControlStore::of(self)
            .fetch(&deliveries_sql(), args, delivery)
            .await
    }

    /// Every attempt of a run, by channel and attempt.
    pub async fn report_attempts(&self, run_id: &str) -> Result<Vec<RunAttempt>, StoreError> {
        ControlStore::of(self)
            .fetch(ATTEMPTS, vec![Arg::text(run_id)], attempt)
            .await
    }
}
