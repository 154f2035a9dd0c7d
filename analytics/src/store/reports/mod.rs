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

use self::sql::{
    attempt, deliveries_sql, delivery, due_sql, run, runs_sql, ATTEMPTS, INSERT_ATTEMPT,
    INSERT_DELIVERY, INSERT_RUN, LEASE, RUN_STATUS, SETTLE,
};
use super::alerts::DeliveryOutcome;
use super::{Store, StoreError};
use crate::control::db::{Arg, Step};
use crate::control::ControlStore;

mod sql;

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
