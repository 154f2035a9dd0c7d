//! Reading the replies of `admit.lua`: the figures of an admission (what is
//! left of the tightest rates) and of a refusal (which scope, which limit,
//! how long to wait, what is left of a budget). Pure functions over the
//! script's flat integer arrays.

use std::time::Duration;

use chrono::Utc;
use redis::Value;

use super::gcra::remaining;
use super::period::Span;
use super::refusal::{Figures, Headroom, Limit, Refusal, Room};
use super::{cost_of_nano, until, Plan};

/// Microseconds in a GCRA window (a minute).
pub(super) const WINDOW_US: u64 = 60_000_000;

/// The tightest rates left, from the TATs ahead of now (us) that an
/// admission's reply lists, two per scope (requests, tokens).
pub(super) fn headroom(plan: &Plan, ahead: &[i64]) -> Headroom {
    let mut headroom = Headroom::default();
    for (item, pair) in plan.items.iter().zip(ahead.chunks(2)) {
        let rates = [
            (true, item.allowance.rpm.map(u64::from)),
            (false, item.allowance.tpm),
        ];
        for ((requests, limit), used) in rates.into_iter().zip(pair) {
            let Some(limit) = limit else {
                continue;
            };
            let used = u64::try_from(*used).unwrap_or(0);
            let room = Room {
                limit,
                remaining: remaining(used, 0, WINDOW_US, limit),
                reset: Duration::from_micros(used),
            };
            headroom.note(requests, room);
        }
    }
    headroom
}

/// The integers of a flat array reply.
pub(super) fn integers(reply: &Value) -> Result<Vec<i64>, String> {
    let Value::Array(items) = reply else {
        return Err(format!("unexpected reply from a limits script: {reply:?}"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Int(n) => Ok(*n),
            other => Err(format!("unexpected reply item: {other:?}")),
        })
        .collect()
}

/// The refusal `{0, scope, limit, wait, figure}` describes.
pub(super) fn refusal(plan: &Plan, reply: &[i64]) -> Result<Refusal, String> {
    let [_, scope, limit, wait, figure] = reply else {
        return Err(format!("unexpected refusal from admit.lua: {reply:?}"));
    };
    let item = usize::try_from(*scope - 1)
        .ok()
        .and_then(|i| plan.items.get(i))
        .ok_or_else(|| "refusal names no scope".to_owned())?;
    let wait = Duration::from_micros(u64::try_from(*wait).unwrap_or(0));
    let allowance = &item.allowance;
    let scope = item.scope.kind();
    let rate = |limit: u64| Figures::Rate {
        limit,
        remaining: 0,
        reset: wait,
    };
    Ok(match limit {
        1 => Refusal {
            scope,
            limit: Limit::Rpm,
            retry_after: wait,
            figures: rate(allowance.rpm.map_or(0, u64::from)),
        },
        2 => Refusal {
            scope,
            limit: Limit::Tpm,
            retry_after: wait,
            figures: rate(allowance.tpm.unwrap_or(0)),
        },
        3 => Refusal {
            scope,
            limit: Limit::Concurrency,
            // The oldest lease's expiry is no promise: ask for a short wait.
            retry_after: Duration::from_secs(1),
            figures: rate(allowance.max_concurrent.map_or(0, u64::from)),
        },
        4 | 5 => {
            let (span, period) = if *limit == 4 {
                (Span::Day, &plan.day)
            } else {
                (Span::Month, &plan.month)
            };
            let budget = item.budget(span).unwrap_or(0);
            Refusal {
                scope,
                limit: Limit::Budget(span),
                retry_after: until(period.end, Utc::now()),
                figures: Figures::Budget {
                    limit: cost_of_nano(budget),
                    remaining: cost_of_nano((budget - figure).max(0)),
                    asked: plan.reserve,
                    reset_at: period.end,
                },
            }
        }
        _ => return Err(format!("refusal names no limit: {reply:?}")),
    })
}
