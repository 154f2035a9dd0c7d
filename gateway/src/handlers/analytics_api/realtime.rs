//! `GET /api/v1/analytics/realtime`: today's figures (UTC) and the current and
//! previous minute's, from the real-time counters (Redis, or in process), with
//! today per key and per routed model. Up to date to the writer's last flush;
//! counters hold requests, errors, prompt and completion tokens and money, not
//! latency or cached tokens (those come from the rollups).
//!
//! A key that reads its team's or its own analytics only (params, `Scope`)
//! gets the per-key counters of its keys alone, `today` their sum: the
//! team's keys are those configured in it now. Minute and per-model counters
//! exist per tenant only, so for such a key they are null and empty.
//!
//! After Redis lost its data the counters are rebuilt from the store
//! (analytics `writer::recount`); until that is done `rebuilding` is true and
//! the figures are incomplete (they are not served from the store meanwhile:
//! the rebuild takes seconds, and a client can wait for `rebuilding: false`).

use std::cmp::Reverse;
use std::sync::Arc;

use analytics::counters::{
    day_key, day_part_prefix, minute_key, CounterReadError, CounterValues, Counters,
};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use pricing::Cost;
use serde::Serialize;

use super::csv::Table;
use super::figures::{money, percent, Cell, Record};
use super::params::{Params, Scope};
use super::{respond, Answer};
use crate::error::GatewayError;
use crate::keys::ApiKey;
use crate::state::AppState;

pub async fn realtime(
    State(state): State<AppState>,
    Extension(key): Extension<Arc<ApiKey>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let params = Params::parse(&uri, &headers, &key, &[])?;
    let now = Utc::now();
    let only = match &params.scope {
        Scope::Tenant => None,
        Scope::Team(team) => Some(Only {
            team: Some(team.clone()),
            keys: state
                .keys()
                .team_key_ids(&params.tenant, team)
                .map(str::to_owned)
                .collect(),
        }),
        Scope::Key(id) => Some(Only {
            team: None,
            keys: vec![id.clone()],
        }),
    };
    let answer = Realtime::read(state.events.counters(), &params.tenant, only, now)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "real-time counters could not be read");
            GatewayError::AnalyticsStore { transient: true }
        })?;
    Ok(respond(params.format, &answer))
}

/// The keys a narrower scope reads.
struct Only {
    team: Option<String>,
    keys: Vec<String>,
}

#[derive(Serialize)]
struct Realtime {
    tenant: String,
    /// Set when the figures are one team's.
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<String>,
    /// Set when the figures are one key's.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// `redis` or `memory`.
    source: &'static str,
    /// The counters are being rebuilt after Redis lost them: figures incomplete.
    rebuilding: bool,
    as_of: DateTime<Utc>,
    day: NaiveDate,
    /// The start of the current minute.
    minute: DateTime<Utc>,
    today: Record,
    /// `None` (null) for a team or a key: minutes are counted per tenant.
    this_minute: Option<Record>,
    previous_minute: Option<Record>,
    by_key: Vec<Record>,
    by_model: Vec<Record>,
}

impl Realtime {
    async fn read(
        counters: &Counters,
        tenant: &str,
        only: Option<Only>,
        now: DateTime<Utc>,
    ) -> Result<Realtime, CounterReadError> {
        let rebuilding = !counters.trusted().await?;
        let day = now.date_naive();
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        let previous = minute - TimeDelta::minutes(1);
        let value = |found: Option<CounterValues>| found.unwrap_or_default();
        let mut by_key = parts(counters, tenant, day, "key").await?;
        let (today, this_minute, previous_minute, by_model) = match &only {
            None => (
                value(counters.get(&day_key(tenant, day)).await?),
                Some(value(counters.get(&minute_key(tenant, minute)).await?)),
                Some(value(counters.get(&minute_key(tenant, previous)).await?)),
                parts(counters, tenant, day, "model").await?,
            ),
            Some(only) => {
                by_key.retain(|(key, _)| only.keys.contains(key));
                let mut sum = CounterValues::default();
                for (_, values) in &by_key {
                    for (total, value) in sum.iter_mut().zip(values) {
                        *total = total.saturating_add(*value);
                    }
                }
                (sum, None, None, Vec::new())
            }
        };
        let (team, key) = match only {
            None => (None, None),
            Some(Only {
                team: Some(team), ..
            }) => (Some(team), None),
            Some(Only { team: None, keys }) => (None, keys.into_iter().next()),
        };
        Ok(Realtime {
            tenant: tenant.to_owned(),
            team,
            key,
            source: counters.backend(),
            rebuilding,
            as_of: now,
            day,
            minute,
            today: figures(&today),
            this_minute: this_minute.as_ref().map(figures),
            previous_minute: previous_minute.as_ref().map(figures),
            by_key: by_key
                .iter()
                .map(|(name, values)| named("key", name, values))
                .collect(),
            by_model: by_model
                .iter()
                .map(|(name, values)| named("routed_model", name, values))
                .collect(),
        })
    }
}

/// Today's per-key or per-model counters: (name, values), most spend first.
async fn parts(
    counters: &Counters,
    tenant: &str,
    day: NaiveDate,
    part: &str,
) -> Result<Vec<(String, CounterValues)>, CounterReadError> {
    let prefix = day_part_prefix(tenant, day, part);
    let mut found: Vec<(String, CounterValues)> = counters
        .scan(&prefix)
        .await?
        .into_iter()
        .filter_map(|(key, values)| Some((key.strip_prefix(&prefix)?.to_owned(), values)))
        .collect();
    found.sort_by(|a, b| (Reverse(a.1[4]), &a.0).cmp(&(Reverse(b.1[4]), &b.0)));
    Ok(found)
}

/// Counter fields, in `analytics::counters::FIELDS` order, as figures.
fn figures(values: &CounterValues) -> Record {
    let [requests, errors, prompt_tokens, completion_tokens, cost, baseline, savings, unpriced] =
        *values;
    let mut record = Record::default();
    record.push("requests", Cell::Int(requests));
    record.push("errors", Cell::Int(errors));
    record.push(
        "error_rate_pct",
        Cell::opt_text(percent(i128::from(errors), i128::from(requests))),
    );
    record.push("prompt_tokens", Cell::Int(prompt_tokens));
    record.push("completion_tokens", Cell::Int(completion_tokens));
    record.push("unpriced_requests", Cell::Int(unpriced));
    let pico = |value: i64| Cost(i128::from(value));
    money(&mut record, pico(cost), pico(baseline), pico(savings));
    record
}

fn named(column: &'static str, name: &str, values: &CounterValues) -> Record {
    let mut record = Record::default();
    record.push(column, Cell::Label(name.to_owned()));
    record.extend(figures(values));
    record
}

/// A CSV row: which counter (`scope`, `name`, `window`), then its figures.
fn row(scope: &str, name: &str, window: &str, figures: &Record) -> Record {
    let mut record = Record::default();
    record.push("scope", Cell::Text(scope.to_owned()));
    record.push("name", Cell::Label(name.to_owned()));
    record.push("window", Cell::Text(window.to_owned()));
    // Per-key and per-model records start with their name; skip it here.
    record.0.extend(
        figures
            .0
            .iter()
            .filter(|(column, _)| !matches!(*column, "key" | "routed_model"))
            .cloned(),
    );
    record
}

impl Answer for Realtime {
    fn file_name(&self) -> String {
        format!("realtime-{}", self.minute.format("%Y-%m-%dT%H%MZ"))
    }

    fn table(&self) -> Table {
        let (scope, name) = match (&self.team, &self.key) {
            (Some(team), _) => ("team", team),
            (None, Some(key)) => ("key", key),
            (None, None) => ("tenant", &self.tenant),
        };
        let mut rows = vec![row(scope, name, "day", &self.today)];
        for (window, figures) in [
            ("minute", &self.this_minute),
            ("previous_minute", &self.previous_minute),
        ] {
            if let Some(figures) = figures {
                rows.push(row(scope, name, window, figures));
            }
        }
        for (scope, records) in [("key", &self.by_key), ("model", &self.by_model)] {
            for record in records {
                let name = match record.0.first() {
                    Some((_, Cell::Label(name))) => name.as_str(),
                    _ => "",
                };
                rows.push(row(scope, name, "day", record));
            }
        }
        Table {
            columns: row("", "", "", &figures(&CounterValues::default())).names(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use analytics::counters::{Increments, MemoryCounters};
    use analytics::UsageEvent;
    use chrono::TimeZone;
    use serde_json::{json, Value};

    use super::*;

    fn event(tenant: &str, key: &str, at: DateTime<Utc>) -> UsageEvent {
        UsageEvent {
            event_id: UsageEvent::new_id(),
            occurred_at: at,
            tenant_id: tenant.to_owned(),
            key_id: key.to_owned(),
            team: None,
            user_tag: None,
            endpoint: "chat_completions".to_owned(),
            requested_model: "gpt-4o".to_owned(),
            routed_provider: Some("openai".to_owned()),
            routed_model: Some("gpt-4o-mini".to_owned()),
            route_reason: "cheaper_equivalent".to_owned(),
            attempts: 1,
            stream: false,
            status: 200,
            error_kind: None,
            prompt_tokens: 100,
            completion_tokens: 10,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            usage_estimated: false,
            cost_usd: Cost::parse_usd("0.25").ok(),
            baseline_usd: Some(Cost(1_000_000_000_000)),
            price_version: None,
            baseline_price_version: None,
            latency_ms: 100,
            ttft_ms: None,
            upstream_ms: None,
            client_family: "curl".to_owned(),
            ingress_format: Some("openai_chat".to_owned()),
            upstream_format: Some("openai_chat".to_owned()),
        }
    }

    #[tokio::test]
    async fn reads_the_tenants_counters_only() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 15).unwrap();
        let mut increments = Increments::default();
        increments.add(&event("acme", "k1", now));
        increments.add(&event("acme", "k2", now - TimeDelta::minutes(1)));
        increments.add(&event("globex", "k3", now));
        // Served by a model without a price: counted, and in no money figure.
        let mut unpriced = event("acme", "k1", now);
        unpriced.routed_model = Some("llama-local".to_owned());
        unpriced.cost_usd = None;
        unpriced.baseline_usd = None;
        increments.add(&unpriced);
        let memory = MemoryCounters::default();
        memory.apply(&increments);
        let counters = Counters::Memory(memory);
        let answer = Realtime::read(&counters, "acme", None, now).await.unwrap();
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["source"], "memory");
        assert_eq!(json["minute"], "2026-11-25T09:30:00Z");
        assert_eq!(json["today"]["requests"], 3);
        assert_eq!(json["today"]["unpriced_requests"], 1);
        assert_eq!(json["today"]["spend_usd"], "0.5");
        assert_eq!(json["today"]["baseline_usd"], "2");
        assert_eq!(json["today"]["savings_pct"], "75.00");
        assert_eq!(json["this_minute"]["requests"], 2);
        assert_eq!(json["previous_minute"]["requests"], 1);
        let keys: Vec<&str> = json["by_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["k1", "k2"]);
        assert_eq!(json["by_model"][0]["routed_model"], "gpt-4o-mini");
        let local = &json["by_model"][1];
        assert_eq!(local["routed_model"], "llama-local");
        assert_eq!(local["unpriced_requests"], 1);
        assert_eq!(
            (&local["savings_usd"], &local["savings_pct"]),
            (&json!("0"), &Value::Null)
        );
        let csv = super::super::csv::render(&answer.table());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 2 + 2);
        assert!(lines[0].starts_with("scope,name,window,requests,"));
        assert!(lines[1].starts_with("tenant,acme,day,3,0,0.00,300,30,1,0.5,2,1.5,75.00"));
    }

    /// A team's or a key's figures are its keys' counters alone; the
    /// tenant-wide minute and model counters are left out.
    #[tokio::test]
    async fn a_team_reads_its_keys_counters_only() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 15).unwrap();
        let mut increments = Increments::default();
        for (key, n) in [("k1", 1), ("k2", 2), ("k3", 4)] {
            for _ in 0..n {
                increments.add(&event("acme", key, now));
            }
        }
        increments.add(&event("globex", "k1", now));
        let memory = MemoryCounters::default();
        memory.apply(&increments);
        let counters = Counters::Memory(memory);
        let team = Only {
            team: Some("web".to_owned()),
            keys: vec!["k1".to_owned(), "k3".to_owned()],
        };
        let answer = Realtime::read(&counters, "acme", Some(team), now)
            .await
            .unwrap();
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["team"], "web");
        assert!(json.get("key").is_none());
        assert_eq!(json["today"]["requests"], 5);
        assert_eq!(json["today"]["spend_usd"], "1.25");
        assert_eq!(json["this_minute"], Value::Null);
        assert_eq!(json["previous_minute"], Value::Null);
        assert_eq!(json["by_model"], serde_json::json!([]));
        let keys: Vec<&str> = json["by_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["k3", "k1"]);
        let csv = super::super::csv::render(&answer.table());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 1 + 2, "{csv}");
        assert!(lines[1].starts_with("team,web,day,5,"), "{csv}");

        let own = Only {
            team: None,
            keys: vec!["k2".to_owned()],
        };
        let answer = Realtime::read(&counters, "acme", Some(own), now)
            .await
            .unwrap();
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(
            (json["key"].as_str(), &json["today"]["requests"]),
            (Some("k2"), &serde_json::json!(2))
        );
    }
}
