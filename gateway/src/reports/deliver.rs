//! Report runs and their delivery. One [`Reports::round`] claims each
//! schedule's latest due period (the store's unique index lets one claim win,
//! across restarts and replicas) and makes one attempt at each due delivery:
//! it leases the delivery (one conditional UPDATE), rebuilds the report from
//! the rollups, sends it, and records the attempt: delivered (never sent
//! again), pending again after the backoff (`[alerts]`' policy: the wait
//! doubles up to `max_backoff_ms`), or failed for good (not worth retrying,
//! or the last attempt). Pending deliveries survive a restart in the store.
//! "Send now" makes a manual run and attempts it at once.

use std::sync::Arc;

use analytics::store::alerts::DeliveryOutcome;
use analytics::store::queries::Filter;
use analytics::store::reports::{NewRun, RunDelivery, RunOrigin, Settlement};
use analytics::store::{Store, StoreError};
use chrono::{DateTime, Utc};

use super::build::build;
use super::message::{outgoing, RunRef};
use super::period::Period;
use super::schedule::due;
use crate::alerts::channels::{self, Failure};
use crate::alerts::{backoff, Alerts, Attempt};
use crate::config::reports::Schedule;

/// Deliveries attempted per round at most.
const PER_ROUND: i64 = 100;
/// A lease outlives one attempt by this much (the report is read first).
const LEASE_SLACK_MS: i64 = 60_000;

/// Schedules, channels and the store: what runs and delivers reports.
#[derive(Clone)]
pub struct Reports {
    store: Arc<Store>,
    alerts: Alerts,
    schedules: Arc<Vec<Schedule>>,
    client: reqwest::Client,
}

/// How "send now" went: the run and each channel's first attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub run_id: String,
    pub attempts: Vec<ChannelAttempt>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelAttempt {
    pub channel: String,
    #[serde(flatten)]
    pub attempt: Attempt,
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl Reports {
    /// `alerts`: the channels (by name) and the delivery policy.
    pub fn new(schedules: Vec<Schedule>, alerts: Alerts, store: Arc<Store>) -> Reports {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Reports {
            store,
            alerts,
            schedules: Arc::new(schedules),
            client,
        }
    }

    /// Claims the due period of every schedule, then attempts what is due.
    pub async fn round(&self, now: DateTime<Utc>) {
        for schedule in self.schedules.iter() {
            let (at, period) = due(schedule, now);
            let run = NewRun {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: schedule.tenant.clone(),
                kind: schedule.kind.as_str().to_owned(),
                period_start: period.start,
                origin: RunOrigin::Scheduled,
                created_ms: millis(now),
                due_ms: millis(now),
                channels: schedule.channels.clone(),
            };
            match self.store.claim_report_run(&run).await {
                Ok(true) => tracing::info!(
                    tenant = %schedule.tenant, period = %period.name(), due = %at, run = %run.id,
                    "scheduled report run claimed"
                ),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, tenant = %schedule.tenant, "report schedule not checked this round");
                }
            }
        }
        match self
            .store
            .due_report_deliveries(millis(now), PER_ROUND)
            .await
        {
            Ok(due) => {
                for delivery in due {
                    self.attempt(&delivery).await;
                }
            }
            Err(error) => tracing::warn!(%error, "report deliveries not read this round"),
        }
    }

    /// A manual run of `tenant`'s `period` to `channels`, attempted at once;
    /// a failure worth retrying stays pending for the next rounds.
    pub async fn send_now(
        &self,
        tenant: &str,
        period: Period,
        channels: Vec<String>,
    ) -> Result<Sent, StoreError> {
        let now = millis(Utc::now());
        let run = NewRun {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant.to_owned(),
            kind: period.kind.as_str().to_owned(),
            period_start: period.start,
            origin: RunOrigin::Manual,
            created_ms: now,
            // Attempted here at once; others take over only if that never
            // happens (this process stopped in between).
            due_ms: now + LEASE_SLACK_MS,
            channels,
        };
        self.store.claim_report_run(&run).await?;
        let mut attempts = Vec::new();
        for delivery in self.store.report_deliveries(&run.id).await? {
            if let Some(attempt) = self.attempt(&delivery).await {
                attempts.push(ChannelAttempt {
                    channel: delivery.channel.clone(),
                    attempt,
                });
            }
        }
        Ok(Sent {
            run_id: run.id,
            attempts,
        })
    }

    /// Whether run `run_id` still has a delivery pending.
    pub async fn pending(&self, run_id: &str) -> Result<bool, StoreError> {
        let deliveries = self.store.report_deliveries(run_id).await?;
        Ok(deliveries.iter().any(|d| d.state == "pending"))
    }

    /// One attempt at `due`, if this replica wins its lease.
    async fn attempt(&self, due: &RunDelivery) -> Option<Attempt> {
        let policy = self.alerts.config().delivery;
        let now = millis(Utc::now());
        let timeout = i64::try_from(policy.timeout.as_millis()).unwrap_or(i64::MAX / 4);
        let leased = self
            .store
            .lease_report_delivery(due, now, now + timeout + LEASE_SLACK_MS)
            .await;
        let attempt = match leased {
            Ok(Some(attempt)) => attempt,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, run = %due.run.id, "report delivery not leased");
                return None;
            }
        };
        let result = self.send(due).await;
        let last = attempt >= i64::from(policy.max_attempts);
        let (outcome, http_status, error) = match result {
            Ok(status) => (DeliveryOutcome::Delivered, status, None),
            Err(failure) if failure.retryable && !last => (
                DeliveryOutcome::Retrying,
                failure.http_status,
                Some(failure.reason),
            ),
            Err(failure) => (
                DeliveryOutcome::Failed,
                failure.http_status,
                Some(failure.reason),
            ),
        };
        let at = Utc::now();
        let wait = backoff(&policy, u32::try_from(attempt + 1).unwrap_or(u32::MAX));
        let settlement = Settlement {
            outcome,
            at_ms: millis(at),
            http_status,
            error: error.clone(),
            next_ms: millis(at) + i64::try_from(wait.as_millis()).unwrap_or(0),
        };
        if let Err(error) = self
            .store
            .settle_report_delivery(due, attempt, &settlement)
            .await
        {
            tracing::warn!(%error, run = %due.run.id, channel = %due.channel, "report attempt not recorded");
        }
        tracing::info!(
            run = %due.run.id, tenant = %due.run.tenant_id, channel = %due.channel,
            attempt, outcome = outcome.as_str(), "report delivery"
        );
        Some(Attempt {
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            outcome: outcome.as_str(),
            http_status,
            error,
        })
    }

    /// Rebuilds the run's report and sends it to the delivery's channel.
    async fn send(&self, due: &RunDelivery) -> Result<Option<u16>, Failure> {
        let refused = |reason: String| Failure {
            retryable: false,
            http_status: None,
            reason,
        };
        let channel = self.alerts.channel(&due.channel).ok_or_else(|| {
            refused(format!(
                "no channel named `{}` in [[alerts.channels]]",
                due.channel
            ))
        })?;
        let kind = crate::config::reports::Kind::parse(&due.run.kind)
            .ok_or_else(|| refused(format!("unknown report kind `{}`", due.run.kind)))?;
        let period = Period::starting(kind, due.run.period_start)
            .ok_or_else(|| refused("the run's period does not start on its first day".into()))?;
        let today = Utc::now().date_naive();
        let report = build(
            &self.store,
            &due.run.tenant_id,
            period,
            &Filter::default(),
            today,
        )
        .await
        .map_err(|error| {
            tracing::warn!(%error, run = %due.run.id, "report not read");
            Failure {
                retryable: true,
                http_status: None,
                reason: "the report could not be read from the store".to_owned(),
            }
        })?;
        let run = RunRef {
            id: due.run.id.clone(),
            origin: due.run.origin.clone(),
        };
        let message = outgoing(&report, &run, &due.channel);
        let timeout = self.alerts.config().delivery.timeout;
        channels::send(&self.client, &channel.target, &message, timeout).await
    }
}
