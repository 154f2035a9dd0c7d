//! Delivering one message to the channels of a rule: each channel gets up to
//! `alerts.max_attempts` attempts, waiting `backoff_ms` after the first
//! failure and twice as long after each next one (capped), as long as the
//! failure is worth retrying. Every attempt is recorded in the store
//! (`alert_deliveries`); a recording that fails is logged and does not stop
//! the delivery.

use std::sync::Arc;
use std::time::Duration;

use analytics::store::alerts::{DeliveryOutcome, NewDelivery};
use analytics::store::Store;
use serde::Serialize;

use super::channels;
use super::message::Message;
use crate::config::alerts::{ChannelConfig, DeliveryPolicy};

/// How one attempt went, as the API and the CLI report it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attempt {
    pub attempt: u32,
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// How a message's delivery to one channel went.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub channel: String,
    pub delivered: bool,
    pub attempts: Vec<Attempt>,
}

/// Sends messages with retries and records each attempt.
#[derive(Clone)]
pub struct Notifier {
    client: reqwest::Client,
    policy: DeliveryPolicy,
    store: Option<Arc<Store>>,
}

/// The wait before attempt `next` (2, 3, ...).
pub fn backoff(policy: &DeliveryPolicy, next: u32) -> Duration {
    let doublings = next.saturating_sub(2).min(20);
    policy
        .backoff
        .saturating_mul(1u32 << doublings)
        .min(policy.max_backoff)
}

impl Notifier {
    /// `store`: where attempts are recorded (`None`: nowhere).
    pub fn new(policy: DeliveryPolicy, store: Option<Arc<Store>>) -> Notifier {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Notifier {
            client,
            policy,
            store,
        }
    }

    /// Delivers `message` to `channel`, retrying as the policy says.
    pub async fn deliver(&self, channel: &ChannelConfig, message: &Message) -> Report {
        let mut attempts = Vec::new();
        let mut delivered = false;
        let outgoing = message.outgoing();
        for attempt in 1..=self.policy.max_attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff(&self.policy, attempt)).await;
            }
            let result = channels::send(
                &self.client,
                &channel.target,
                &outgoing,
                self.policy.timeout,
            )
            .await;
            let (outcome, http_status, error) = match result {
                Ok(status) => (DeliveryOutcome::Delivered, status, None),
                Err(failure) => {
                    let last = !failure.retryable || attempt == self.policy.max_attempts;
                    let outcome = if last {
                        DeliveryOutcome::Failed
                    } else {
                        DeliveryOutcome::Retrying
                    };
                    (outcome, failure.http_status, Some(failure.reason))
                }
            };
            self.record(channel, message, attempt, outcome, http_status, &error)
                .await;
            if outcome != DeliveryOutcome::Retrying {
                tracing::info!(
                    channel = %channel.name,
                    rule = %message.rule,
                    notice = message.notice.as_str(),
                    outcome = outcome.as_str(),
                    attempt,
                    "alert notice"
                );
            }
            attempts.push(Attempt {
                attempt,
                outcome: outcome.as_str(),
                http_status,
                error,
            });
            match outcome {
                DeliveryOutcome::Delivered => {
                    delivered = true;
                    break;
                }
                DeliveryOutcome::Failed => break,
                DeliveryOutcome::Retrying => {}
            }
        }
        Report {
            channel: channel.name.clone(),
            delivered,
            attempts,
        }
    }

    async fn record(
        &self,
        channel: &ChannelConfig,
        message: &Message,
        attempt: u32,
        outcome: DeliveryOutcome,
        http_status: Option<u16>,
        error: &Option<String>,
    ) {
        let Some(store) = &self.store else { return };
        let row = NewDelivery {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: message.tenant.clone(),
            firing_id: message.firing_id.clone(),
            channel: channel.name.clone(),
            notice: message.notice,
            attempt,
            at: chrono::Utc::now(),
            outcome,
            http_status,
            error: error.clone(),
        };
        if let Err(error) = store.record_alert_delivery(&row).await {
            tracing::warn!(%error, channel = %channel.name, "could not record an alert delivery");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = DeliveryPolicy {
            max_attempts: 10,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (2..=6).map(|n| backoff(&policy, n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }
}
