//! Alerts that reach people (issue 10, "Alerts"): rules evaluated off the
//! request path, notices delivered to webhooks, Slack and e-mail, every firing
//! and delivery attempt recorded in the store.
//!
//! - `rules`: the pure arithmetic (thresholds, spikes, periods).
//! - `evaluate`: the background round: conditions, firings, notices.
//! - `message`: what a notice says, per channel format.
//! - `channels`: one delivery attempt (HTTP or SMTP); `sign`: the webhook's
//!   HMAC-SHA256 signature; `deliver`: retries with backoff, and recording.
//!
//! What the rules read from the running gateway (scopes and budgets, circuit
//! states, writer losses) comes through [`Sources`], implemented where the
//! live state is (`server`), so this module imports nothing of it.
//! Rules and channels are read at start; a reload does not change them.

pub mod channels;
mod deliver;
mod evaluate;
mod message;
mod rules;
pub mod sign;

use std::sync::Arc;

use analytics::store::Store;
use futures_util::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use deliver::{backoff, Attempt, Report};
pub use message::Message;

use self::deliver::Notifier;
use self::evaluate::Evaluator;
use crate::allowance::{Allowance, Scope};
use crate::config::alerts::{AlertsConfig, ChannelConfig, RuleConfig};

/// A scope some key is held to, with its tenant (`None`: not known).
#[derive(Debug, Clone)]
pub struct ScopeView {
    pub scope: Scope,
    pub tenant: Option<String>,
    pub allowance: Arc<Allowance>,
}

/// What the rules read from the running gateway.
pub trait Sources: Send + Sync + 'static {
    /// Every scope a key is held to, once each.
    fn scopes(&self) -> Vec<ScopeView>;
    /// Each provider's name and whether its circuit is open (not closed).
    fn circuits(&self) -> Vec<(String, bool)>;
    /// Events this replica's writer spilled, dropped or dead-lettered so far.
    fn writer_losses(&self) -> u64;
}

/// The configured channels and rules, and the notifier that delivers to them.
#[derive(Clone)]
pub struct Alerts {
    config: Arc<AlertsConfig>,
    notifier: Notifier,
}

impl Alerts {
    /// `store`: where deliveries are recorded.
    pub fn new(config: &AlertsConfig, store: Option<Arc<Store>>) -> Alerts {
        Alerts {
            config: Arc::new(config.clone()),
            notifier: Notifier::new(config.delivery, store),
        }
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.config.channels.iter().find(|c| c.name == name)
    }

    /// Sends a test alert to channel `name`; `None` if there is no such channel.
    pub async fn test(&self, name: &str) -> Option<Report> {
        let channel = self.channel(name)?;
        let message = Message::test(name, chrono::Utc::now());
        Some(self.notifier.deliver(channel, &message).await)
    }

    /// Delivers `message` to each of `rule`'s channels, at once.
    async fn notify(&self, rule: &RuleConfig, message: &Message) -> Vec<Report> {
        let sends = rule
            .channels
            .iter()
            .filter_map(|&i| self.config.channels.get(i))
            .map(|channel| self.notifier.deliver(channel, message));
        join_all(sends).await
    }
}

/// The evaluation task; [`Running::shutdown`] stops it between rounds (a
/// delivery under way is finished first).
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// A task that stops when `stop` says `true` (reports' schedule task too).
    pub(crate) fn new(stop: watch::Sender<bool>, task: JoinHandle<()>) -> Running {
        Running { stop, task }
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts evaluating `alerts`' rules every `alerts.interval_ms`; `None` when
/// there are no rules. `zone`: where budget days and months begin.
pub fn start(
    alerts: Alerts,
    zone: chrono::FixedOffset,
    store: Arc<Store>,
    sources: impl Sources,
) -> Option<Running> {
    if alerts.config.rules.is_empty() {
        return None;
    }
    let every = alerts.config.interval;
    let (stop, mut stopped) = watch::channel(false);
    let mut evaluator = Evaluator::new(alerts, zone, store, sources);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stopped.changed() => return,
            }
            evaluator.round().await;
        }
    });
    Some(Running { stop, task })
}
