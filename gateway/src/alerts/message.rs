//! What a notice says and how each channel writes it: the webhook's JSON, a
//! Slack incoming-webhook message (`text` plus `blocks`), an e-mail's subject
//! and text. Pure functions of a [`Message`]; sending is in `channels`.
//!
//! A message holds only what the gateway wrote: rule and subject names and a
//! summary with figures. Never request content, keys or secrets.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::channels::{Email, Outgoing};

pub use analytics::store::alerts::Notice;

/// One notice about one firing (or a test).
#[derive(Debug, Clone)]
pub struct Message {
    /// Stable per notice (the same on every retry): the idempotency key.
    pub id: String,
    pub notice: Notice,
    /// `None` for a test alert.
    pub firing_id: Option<String>,
    pub rule: String,
    /// The rule's kind (`budget`, ...); `test` for a test alert.
    pub kind: String,
    pub subject: String,
    pub tenant: Option<String>,
    pub summary: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Message {
    /// A test alert for `channel`.
    pub fn test(channel: &str, now: DateTime<Utc>) -> Message {
        Message {
            id: uuid::Uuid::now_v7().to_string(),
            notice: Notice::Test,
            firing_id: None,
            rule: "test".to_owned(),
            kind: "test".to_owned(),
            subject: format!("channel:{channel}"),
            tenant: None,
            summary: format!("Test alert from the gateway to channel `{channel}`: delivery works."),
            started_at: now,
            resolved_at: None,
        }
    }

    /// `alert.firing`, `alert.resolved` or `alert.test`.
    pub fn event(&self) -> &'static str {
        match self.notice {
            Notice::Firing => "alert.firing",
            Notice::Resolved => "alert.resolved",
            Notice::Test => "alert.test",
        }
    }

    fn headline(&self) -> String {
        let state = match self.notice {
            Notice::Firing => "FIRING",
            Notice::Resolved => "RESOLVED",
            Notice::Test => "TEST",
        };
        format!("[{state}] {}", self.summary)
    }

    /// The notice in every channel's format.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            id: self.id.clone(),
            event: self.event(),
            webhook: self.webhook_json(),
            slack: self.slack_json(),
            email: Email {
                subject: self.email_subject(),
                text: self.email_text(),
                ..Email::default()
            },
        }
    }

    /// The webhook body.
    pub fn webhook_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.event(),
            "firing_id": self.firing_id,
            "rule": self.rule,
            "kind": self.kind,
            "subject": self.subject,
            "tenant": self.tenant,
            "summary": self.summary,
            "started_at": time(self.started_at),
            "resolved_at": self.resolved_at.map(time),
        })
    }

    /// A Slack incoming-webhook message.
    pub fn slack_json(&self) -> Value {
        let mut context = format!(
            "rule `{}` ({}) · subject `{}` · since {}",
            self.rule,
            self.kind,
            self.subject,
            time(self.started_at)
        );
        if let Some(resolved) = self.resolved_at {
            context.push_str(&format!(" · resolved {}", time(resolved)));
        }
        json!({
            "text": self.headline(),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": self.headline()}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
            ],
        })
    }

    /// An e-mail's subject.
    pub fn email_subject(&self) -> String {
        format!("[gateway] {}", self.headline())
    }

    /// An e-mail's plain-text body.
    pub fn email_text(&self) -> String {
        let mut text = format!(
            "{}\n\nRule:    {} ({})\nSubject: {}\nSince:   {}\n",
            self.headline(),
            self.rule,
            self.kind,
            self.subject,
            time(self.started_at)
        );
        if let Some(tenant) = &self.tenant {
            text.push_str(&format!("Tenant:  {tenant}\n"));
        }
        if let Some(resolved) = self.resolved_at {
            text.push_str(&format!("Resolved: {}\n", time(resolved)));
        }
        text.push_str(&format!("Notice:  {}\n", self.id));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(notice: Notice) -> Message {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        Message {
            id: "f1:firing".to_owned(),
            notice,
            firing_id: Some("f1".to_owned()),
            rule: "budgets".to_owned(),
            kind: "budget".to_owned(),
            subject: "tenant:acme/daily/80%".to_owned(),
            tenant: Some("acme".to_owned()),
            summary: "tenant `acme`: 80% of its daily budget spent".to_owned(),
            started_at: at,
            resolved_at: (notice == Notice::Resolved).then_some(at),
        }
    }

    #[test]
    fn each_format_names_the_state_rule_and_subject() {
        for (notice, event, state) in [
            (Notice::Firing, "alert.firing", "[FIRING]"),
            (Notice::Resolved, "alert.resolved", "[RESOLVED]"),
        ] {
            let message = sample(notice);
            let hook = message.webhook_json();
            assert_eq!(hook["type"], event);
            assert_eq!(hook["subject"], "tenant:acme/daily/80%");
            assert_eq!(hook["started_at"], "2027-01-15T08:00:00Z");
            assert_eq!(hook["resolved_at"].is_null(), notice == Notice::Firing);
            let slack = message.slack_json();
            let text = slack["text"].as_str().unwrap_or_default();
            assert!(text.starts_with(state), "{text}");
            assert_eq!(slack["blocks"][0]["type"], "section");
            assert!(slack["blocks"][1]["elements"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("rule `budgets`")));
            assert!(message.email_subject().contains(state));
            assert!(message.email_text().contains("Tenant:  acme"));
        }
    }

    #[test]
    fn a_test_alert_has_its_own_id_and_type() {
        let now = Utc::now();
        let one = Message::test("ops", now);
        let two = Message::test("ops", now);
        assert_ne!(one.id, two.id);
        assert_eq!(one.webhook_json()["type"], "alert.test");
        assert!(one.firing_id.is_none());
    }
}
