//! Why a request was not admitted, and what the client is told: which limit
//! of which scope kind, how long to wait, and the figures behind it as
//! OpenAI-style headers. `crate::error` renders it (status 429, the body in
//! the client's format); nothing here knows the formats or HTTP types.
//!
//! A refusal names the scope's kind (`key`, `team`, `tenant`), never a key
//! or an id.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pricing::Cost;

use super::period::Span;

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rpm,
    Tpm,
    Concurrency,
    Budget(Span),
}

impl Limit {
    /// The `x-gateway-limit` header and the metric label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::Rpm => "rpm",
            Limit::Tpm => "tpm",
            Limit::Concurrency => "concurrency",
            Limit::Budget(Span::Day) => "budget_daily",
            Limit::Budget(Span::Month) => "budget_monthly",
        }
    }
}

/// The numbers a refusal reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figures {
    /// Requests or tokens per minute, or requests in flight.
    Rate {
        limit: u64,
        remaining: u64,
        /// Until the allowance is whole again.
        reset: Duration,
    },
    Budget {
        limit: Cost,
        /// Never negative.
        remaining: Cost,
        /// The most this request could have cost (what was to be reserved).
        asked: Cost,
        reset_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `key`, `team` or `tenant`.
    pub scope: &'static str,
    pub limit: Limit,
    pub retry_after: Duration,
    pub figures: Figures,
}

impl Refusal {
    /// The usage event's error kind and the error's metric label.
    pub fn kind(&self) -> &'static str {
        match self.limit {
            Limit::Budget(_) => "budget_exceeded",
            _ => "rate_limited",
        }
    }

    /// OpenAI's error `type` and `code`.
    pub fn type_and_code(&self) -> (&'static str, &'static str) {
        match self.limit {
            Limit::Rpm => ("requests", "rate_limit_exceeded"),
            Limit::Tpm => ("tokens", "rate_limit_exceeded"),
            Limit::Concurrency => ("requests", "concurrency_limit_exceeded"),
            Limit::Budget(_) => ("insufficient_quota", "budget_exceeded"),
        }
    }

    pub fn message(&self) -> String {
        let scope = self.scope;
        let wait = self.retry_after.as_millis();
        match (&self.limit, &self.figures) {
            (Limit::Budget(span), Figures::Budget { limit, remaining, asked, reset_at }) => {
                let period = match span {
                    Span::Day => "daily",
                    Span::Month => "monthly",
                };
                format!(
                    "This {scope}'s {period} budget of ${} does not cover this request: it could cost up to ${} and ${} is left until {}. Lower max_tokens or wait for the budget to reset.",
                    limit.usd(),
                    asked.usd(),
                    remaining.usd(),
                    reset_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            }
            (Limit::Rpm, Figures::Rate { limit, .. }) => format!(
                "Rate limit reached for this {scope}: {limit} requests per minute. Try again in {wait}ms."
            ),
            (Limit::Tpm, Figures::Rate { limit, .. }) => format!(
                "Rate limit reached for this {scope}: {limit} tokens per minute (prompt estimate plus output). Try again in {wait}ms."
            ),
            (Limit::Concurrency, Figures::Rate { limit, .. }) => format!(
                "This {scope} already has {limit} requests in flight, its limit. Try again when one has finished."
            ),
            _ => format!("A limit of this {scope} was reached. Try again in {wait}ms."),
        }
    }

    /// The headers besides `retry-after` (which `crate::error` writes).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("retry-after-ms", self.retry_after.as_millis().to_string()),
            ("x-gateway-limit-scope", self.scope.to_owned()),
            ("x-gateway-limit", self.limit.label().to_owned()),
        ];
        match (&self.limit, &self.figures) {
            (
                Limit::Rpm | Limit::Tpm,
                Figures::Rate {
                    limit,
                    remaining,
                    reset,
                },
            ) => {
                let [l, r, s] = if self.limit == Limit::Rpm {
                    [
                        "x-ratelimit-limit-requests",
                        "x-ratelimit-remaining-requests",
                        "x-ratelimit-reset-requests",
                    ]
                } else {
                    [
                        "x-ratelimit-limit-tokens",
                        "x-ratelimit-remaining-tokens",
                        "x-ratelimit-reset-tokens",
                    ]
                };
                headers.push((l, limit.to_string()));
                headers.push((r, remaining.to_string()));
                headers.push((s, reset_text(*reset)));
            }
            (Limit::Concurrency, Figures::Rate { limit, .. }) => {
                headers.push(("x-gateway-concurrency-limit", limit.to_string()));
            }
            (
                Limit::Budget(span),
                Figures::Budget {
                    limit,
                    remaining,
                    reset_at,
                    ..
                },
            ) => {
                headers.push(("x-gateway-budget-limit-usd", limit.usd()));
                headers.push(("x-gateway-budget-remaining-usd", remaining.usd()));
                headers.push((
                    "x-gateway-budget-reset",
                    reset_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ));
                headers.push(("x-gateway-budget-period", span.label().to_owned()));
            }
            _ => {}
        }
        headers
    }
}

/// What is left of a rate limit after an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub limit: u64,
    pub remaining: u64,
    /// Until the allowance is whole again.
    pub reset: Duration,
}

/// The tightest request and token limits of an admitted request's scopes,
/// for the `x-ratelimit-*` headers of its answer (as OpenAI sends them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headroom {
    pub requests: Option<Room>,
    pub tokens: Option<Room>,
}

impl Headroom {
    /// Keeps `room` if it is tighter than what was noted for its kind.
    pub fn note(&mut self, requests: bool, room: Room) {
        let slot = if requests {
            &mut self.requests
        } else {
            &mut self.tokens
        };
        if slot.is_none_or(|old| room.remaining < old.remaining) {
            *slot = Some(room);
        }
    }

    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(room) = self.requests {
            headers.push(("x-ratelimit-limit-requests", room.limit.to_string()));
            headers.push(("x-ratelimit-remaining-requests", room.remaining.to_string()));
            headers.push(("x-ratelimit-reset-requests", reset_text(room.reset)));
        }
        if let Some(room) = self.tokens {
            headers.push(("x-ratelimit-limit-tokens", room.limit.to_string()));
            headers.push(("x-ratelimit-remaining-tokens", room.remaining.to_string()));
            headers.push(("x-ratelimit-reset-tokens", reset_text(room.reset)));
        }
        headers
    }
}

/// A wait as OpenAI writes it: `250ms`, `1.5s`, `6m0s`.
pub fn reset_text(wait: Duration) -> String {
    let ms = wait.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        let text = format!("{}.{:03}", ms / 1_000, ms % 1_000);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return format!("{text}s");
    }
    let secs = ms.div_ceil(1_000);
    format!("{}m{}s", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_read_like_openais() {
        let table = [
            (0, "0ms"),
            (250, "250ms"),
            (1_000, "1s"),
            (1_500, "1.5s"),
            (59_999, "59.999s"),
            (60_000, "1m0s"),
            (360_001, "6m1s"),
        ];
        for (ms, text) in table {
            assert_eq!(reset_text(Duration::from_millis(ms)), text);
        }
    }

    #[test]
    fn budget_refusals_name_the_scope_kind_and_period_and_say_what_is_left() {
        let refusal = Refusal {
            scope: "team",
            limit: Limit::Budget(Span::Day),
            retry_after: Duration::from_secs(3_600),
            figures: Figures::Budget {
                limit: Cost::parse_usd("1").unwrap(),
                remaining: Cost::parse_usd("0.25").unwrap(),
                asked: Cost::parse_usd("0.3").unwrap(),
                reset_at: DateTime::parse_from_rfc3339("2026-12-08T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            },
        };
        assert_eq!(refusal.kind(), "budget_exceeded");
        assert_eq!(refusal.type_and_code().1, "budget_exceeded");
        let message = refusal.message();
        assert!(message.contains("team's daily budget of $1"), "{message}");
        assert!(message.contains("$0.25 is left"), "{message}");
        let headers = refusal.headers();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-gateway-budget-remaining-usd"), Some("0.25"));
        assert_eq!(get("x-gateway-budget-limit-usd"), Some("1"));
        assert_eq!(get("x-gateway-budget-reset"), Some("2026-12-08T00:00:00Z"));
        assert_eq!(get("x-gateway-limit"), Some("budget_daily"));
        assert_eq!(get("x-gateway-limit-scope"), Some("team"));
    }
}
