//! The background evaluation: every `alerts.interval_ms`, each rule's
//! conditions are worked out from the store and the live gateway, compared
//! with the rule's open firings in the store, and the difference notified: a
//! condition that starts to hold opens a firing (one notice), one that stops
//! resolves it (one resolve notice). The store's one-open-firing-per-subject
//! index makes the notice go out once even when several replicas evaluate.
//!
//! A rule whose figures cannot be read this round (the store is down) is
//! skipped, never taken as resolved.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use analytics::store::alerts::{FiringFilter, NewFiring, Notice};
use analytics::store::{SpendScope, Store, StoreError};
use chrono::{DateTime, FixedOffset, Utc};
use pricing::Cost;
use tokio::time::Instant;

use super::message::Message;
use super::rules::{budget_crossed, dollars, is_spike, midnight, same_weekdays};
use super::{Alerts, ScopeView, Sources};
use crate::allowance::Scope;
use crate::config::alerts::{BudgetPeriod, RuleConfig, RuleKind};
use crate::limits::period::{period_of, Span};

/// Open firings read per rule and round.
const OPEN_LIMIT: u32 = 10_000;

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub subject: String,
    pub tenant: Option<String>,
    pub summary: String,
}

pub struct Evaluator<S> {
    alerts: Alerts,
    /// Where budget days and months begin (`[limits] time_zone`), as the
    /// budgets themselves count them.
    zone: FixedOffset,
    store: Arc<Store>,
    sources: S,
    /// Since when each provider's circuit has been open (not closed).
    open_since: HashMap<String, Instant>,
    losses_seen: u64,
    last_loss: Option<Instant>,
}

impl<S: Sources> Evaluator<S> {
    pub fn new(alerts: Alerts, zone: FixedOffset, store: Arc<Store>, sources: S) -> Evaluator<S> {
        Evaluator {
            alerts,
            zone,
            store,
            sources,
            open_since: HashMap::new(),
            losses_seen: 0,
            last_loss: None,
        }
    }

    /// One evaluation of every rule.
    pub async fn round(&mut self) {
        let now = Utc::now();
        self.observe_live();
        let config = self.alerts.config.clone();
        for rule in &config.rules {
            match self.conditions(rule, now).await {
                Ok(active) => {
                    if let Err(error) = self.reconcile(rule, active, now).await {
                        tracing::warn!(%error, rule = %rule.name, "alert rule not reconciled this round");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, rule = %rule.name, "alert rule not evaluated this round");
                }
            }
        }
    }

    /// Circuits and writer losses, tracked between rounds.
    fn observe_live(&mut self) {
        let circuits = self.sources.circuits();
        self.open_since
            .retain(|name, _| circuits.iter().any(|(n, open)| n == name && *open));
        for (name, open) in circuits {
            if open {
                self.open_since.entry(name).or_insert_with(Instant::now);
            }
        }
        let losses = self.sources.writer_losses();
        if losses > self.losses_seen {
            self.last_loss = Some(Instant::now());
        }
        self.losses_seen = losses;
    }

    async fn conditions(
        &self,
        rule: &RuleConfig,
        now: DateTime<Utc>,
    ) -> Result<Vec<Condition>, StoreError> {
        let wanted = |tenant: Option<&str>| match &rule.tenants {
            None => true,
            Some(list) => tenant.is_some_and(|t| list.iter().any(|l| l == t)),
        };
        let mut active = Vec::new();
        match &rule.kind {
            RuleKind::Budget {
                thresholds,
                periods,
            } => {
                for view in self.sources.scopes() {
                    if !wanted(view.tenant.as_deref()) {
                        continue;
                    }
                    for &period in periods {
                        let budget = match period {
                            BudgetPeriod::Daily => view.allowance.daily_usd,
                            BudgetPeriod::Monthly => view.allowance.monthly_usd,
                        };
                        let Some(budget) = budget else { continue };
                        let Some(scope) = spend_scope(&view) else {
                            tracing::debug!(scope = %view.scope.id(), "budget alert skipped: the key's tenant is unknown");
                            continue;
                        };
                        let span = match period {
                            BudgetPeriod::Daily => Span::Day,
                            BudgetPeriod::Monthly => Span::Month,
                        };
                        let start = period_of(span, now, self.zone).start;
                        let spent = self.store.spend(scope, start).await?;
                        for &threshold in thresholds {
                            if budget_crossed(spent, budget, threshold) {
                                active.push(Condition {
                                    subject: format!(
                                        "{}/{}/{threshold}%",
                                        view.scope.id(),
                                        period.as_str()
                                    ),
                                    tenant: view.tenant.clone(),
                                    summary: format!(
                                        "{}: {threshold}% of its {} budget reached ({} of {} spent)",
                                        describe(&view.scope),
                                        period.as_str(),
                                        dollars(spent),
                                        dollars(budget)
                                    ),
                                });
                            }
                        }
                    }
                }
            }
            RuleKind::SpendSpike {
                factor_percent,
                weeks,
                min,
            } => {
                let tenants: Vec<String> = match &rule.tenants {
                    Some(list) => list.clone(),
                    None => {
                        let mut seen: Vec<String> = self
                            .sources
                            .scopes()
                            .into_iter()
                            .filter_map(|v| v.tenant)
                            .collect();
                        seen.sort();
                        seen.dedup();
                        seen
                    }
                };
                let today = now.date_naive();
                for tenant in tenants {
                    let scope = SpendScope::Tenant(&tenant);
                    let spent = self.store.spend(scope, midnight(today)).await?;
                    if spent.0 < min.0 {
                        continue;
                    }
                    let mut past = Vec::new();
                    for day in same_weekdays(today, *weeks) {
                        let next = midnight(day) + chrono::Duration::days(1);
                        past.push(self.store.spend_between(scope, midnight(day), next).await?);
                    }
                    if is_spike(spent, &past, *factor_percent, *min) {
                        let average =
                            Cost(past.iter().map(|c| c.0).sum::<i128>() / i128::from(*weeks));
                        active.push(Condition {
                            subject: Scope::Tenant(tenant.clone()).id(),
                            summary: format!(
                                "tenant `{tenant}`: {} spent today, over {}.{:02}x the {} average of the same weekday over the last {weeks} weeks",
                                dollars(spent),
                                factor_percent / 100,
                                factor_percent % 100,
                                dollars(average)
                            ),
                            tenant: Some(tenant),
                        });
                    }
                }
            }
            RuleKind::ProviderCircuit {
                open_for,
                providers,
            } => {
                for (name, since) in &self.open_since {
                    if providers
                        .as_ref()
                        .is_some_and(|list| !list.iter().any(|p| p == name))
                    {
                        continue;
                    }
                    let open = since.elapsed();
                    if open >= *open_for {
                        active.push(Condition {
                            subject: format!("provider:{name}"),
                            tenant: None,
                            summary: format!(
                                "provider `{name}`: circuit open for {}s (failing requests; traffic goes elsewhere or fails)",
                                open.as_secs()
                            ),
                        });
                    }
                }
            }
            RuleKind::EventDrops => {
                let window = self.alerts.config.interval.saturating_mul(5);
                if self
                    .last_loss
                    .is_some_and(|at| at.elapsed() < window.max(Duration::from_secs(60)))
                {
                    active.push(Condition {
                        subject: "event_writer".to_owned(),
                        tenant: None,
                        summary: format!(
                            "the event writer could not store every usage event in time ({} events spilled, dropped or dead-lettered so far on this replica)",
                            self.losses_seen
                        ),
                    });
                }
            }
        }
        Ok(active)
    }

    /// Opens firings for new conditions and resolves those that stopped,
    /// notifying each change this replica won.
    async fn reconcile(
        &self,
        rule: &RuleConfig,
        active: Vec<Condition>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let open = self
            .store
            .alert_firings(&FiringFilter {
                rule: Some(rule.name.clone()),
                open_only: true,
                limit: OPEN_LIMIT,
                ..FiringFilter::default()
            })
            .await?;
        let open_subjects: HashSet<&str> = open.iter().map(|f| f.subject.as_str()).collect();
        let active_subjects: HashSet<&str> = active.iter().map(|c| c.subject.as_str()).collect();
        for condition in &active {
            if open_subjects.contains(condition.subject.as_str()) {
                continue;
            }
            let firing = NewFiring {
                id: uuid::Uuid::now_v7().to_string(),
                tenant: condition.tenant.clone(),
                rule: rule.name.clone(),
                kind: rule.kind.as_str().to_owned(),
                subject: condition.subject.clone(),
                summary: condition.summary.clone(),
                started_at: now,
            };
            if self.store.open_alert_firing(&firing).await? {
                let message = Message {
                    id: format!("{}:firing", firing.id),
                    notice: Notice::Firing,
                    firing_id: Some(firing.id),
                    rule: firing.rule,
                    kind: firing.kind,
                    subject: firing.subject,
                    tenant: firing.tenant,
                    summary: firing.summary,
                    started_at: now,
                    resolved_at: None,
                };
                self.alerts.notify(rule, &message).await;
            }
        }
        for firing in open {
            if active_subjects.contains(firing.subject.as_str()) {
                continue;
            }
            if self.store.resolve_alert_firing(&firing.id, now).await? {
                let message = Message {
                    id: format!("{}:resolved", firing.id),
                    notice: Notice::Resolved,
                    summary: format!("no longer holds: {}", firing.summary),
                    firing_id: Some(firing.id),
                    rule: firing.rule,
                    kind: firing.kind,
                    subject: firing.subject,
                    tenant: firing.tenant,
                    started_at: firing.started_at,
                    resolved_at: Some(now),
                };
                self.alerts.notify(rule, &message).await;
            }
        }
        Ok(())
    }
}

/// What the store's spend query is asked for a scope; `None` for a key whose
/// tenant is not known.
fn spend_scope(view: &ScopeView) -> Option<SpendScope<'_>> {
    Some(match &view.scope {
        Scope::Key(key) => SpendScope::Key {
            tenant: view.tenant.as_deref()?,
            key,
        },
        Scope::Team { tenant, team } => SpendScope::Team { tenant, team },
        Scope::Tenant(tenant) => SpendScope::Tenant(tenant),
    })
}

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::Key(id) => format!("key `{id}`"),
        Scope::Team { tenant, team } => format!("team `{tenant}/{team}`"),
        Scope::Tenant(id) => format!("tenant `{id}`"),
    }
}
