//! The operator view's judgements, pure and integer-only (ratios in basis
//! points, 10000 = 100%), so the same figures always give the same answer:
//!
//! - **Trend** of a figure against the previous period of equal length: `flat`
//!   when it moved by at most 5% of the previous value (or both are zero),
//!   else `up` or `down`.
//! - **Health score**, 0-100: a weighted mean of four components, each 0-100%:
//!   - adoption (weight 30): keys used in the last 7 days / keys the tenant has;
//!   - achievement (weight 30): savings of the last 30 days / the monthly gross
//!     savings of the tenant's latest ROI promise, capped at 100%;
//!   - reliability (weight 20): 1 - error rate of the last 7 days;
//!   - usage (weight 20): 50% + the week-over-week change of requests (last 7
//!     days against the 7 before), clamped to 0-100% (flat = 50%, +50% or more
//!     = 100%, -50% or worse = 0%; from no requests to some = 100%, none in
//!     both weeks = 0%).
//!
//!   A component that cannot be known is neutral: left out, and the weights of
//!   the others are used alone (no promise, or a promise not started yet, or
//!   one promising no savings: no achievement; no request in the last 7 days:
//!   no reliability). `score = round(sum(weight x component) / sum(weights))`.
//! - **Flags**: `churn_risk` when requests of the last 14 days are at least 30%
//!   below the 14 days before; `expansion` when a team's spend reached its
//!   budget (today's against its daily budget, this month's against its monthly
//!   one), or the keys active in the last 30 days reach the seats of the latest
//!   promise.

use pricing::Cost;

/// Weights of the health components, in the order of [`Components`].
pub const WEIGHTS: [i64; 4] = [30, 30, 20, 20];

/// Full scale of a ratio in basis points.
pub const FULL: i64 = 10_000;

/// Which way a figure went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Flat,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Flat => "flat",
        }
    }
}

/// `current` against `previous`: flat within 5% of `previous`.
pub fn trend(current: i128, previous: i128) -> Direction {
    let moved = current - previous;
    if moved.saturating_mul(20).abs() <= previous.abs() || moved == 0 {
        Direction::Flat
    } else if moved > 0 {
        Direction::Up
    } else {
        Direction::Down
    }
}

/// `numerator / denominator` in basis points, rounded half away from zero;
/// `None` when the denominator is not positive.
pub fn ratio_bp(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator <= 0 {
        return None;
    }
    let scaled = numerator.saturating_mul(i128::from(FULL));
    let half = denominator / 2;
    let rounded = if scaled >= 0 {
        (scaled + half) / denominator
    } else {
        (scaled - half) / denominator
    };
    Some(i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN }))
}

/// The four components, each in basis points (0..=10000); `None`: neutral.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Components {
    pub adoption: Option<i64>,
    pub achievement: Option<i64>,
    pub reliability: Option<i64>,
    pub usage: Option<i64>,
}

/// What the health score is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthInputs {
    /// Keys the tenant has (live keys that may send traffic).
    pub keys: i64,
    /// Of those, the keys used in the last 7 days.
    pub keys_used_7d: i64,
    /// Savings of the last 30 days.
    pub savings_30d: Cost,
    /// The latest promise's monthly gross savings, when a promise is in force.
    pub promised_gross_monthly: Option<Cost>,
    pub requests_7d: i64,
    pub errors_7d: i64,
    pub requests_prev_7d: i64,
}

/// The components of `inputs`.
pub fn components(inputs: &HealthInputs) -> Components {
    let clamp = |bp: i64| bp.clamp(0, FULL);
    let adoption = Some(ratio_bp(inputs.keys_used_7d.into(), inputs.keys.into()).map_or(0, clamp));
    let achievement = inputs
        .promised_gross_monthly
        .and_then(|promised| ratio_bp(inputs.savings_30d.0, promised.0))
        .map(clamp);
    let reliability = ratio_bp(inputs.errors_7d.into(), inputs.requests_7d.into())
        .map(|error_rate| clamp(FULL - error_rate));
    let usage = Some(
        match ratio_bp(
            i128::from(inputs.requests_7d) - i128::from(inputs.requests_prev_7d),
            inputs.requests_prev_7d.into(),
        ) {
            Some(change) => clamp(FULL / 2 + change),
            None if inputs.requests_7d > 0 => FULL,
            None => 0,
        },
    );
    Components {
        adoption,
        achievement,
        reliability,
        usage,
    }
}

/// The score 0..=100 of `components` (see the module doc).
pub fn score(components: &Components) -> i64 {
    let parts = [
        components.adoption,
        components.achievement,
        components.reliability,
        components.usage,
    ];
    let (weighted, weights) = parts
        .iter()
        .zip(WEIGHTS)
        .filter_map(|(part, weight)| part.map(|bp| (bp * weight, weight)))
        .fold((0, 0), |(sum, total), (w, weight)| {
            (sum + w, total + weight)
        });
    if weights == 0 {
        return 0;
    }
    // The weighted mean in basis points, as a percent rounded half up.
    let scale = weights * 100;
    ((weighted + scale / 2) / scale).clamp(0, 100)
}

/// Requests of the last 14 days at least 30% below the 14 days before.
pub fn churn_risk(requests_14d: i64, requests_prev_14d: i64) -> bool {
    requests_prev_14d > 0 && i128::from(requests_14d) * 10 <= i128::from(requests_prev_14d) * 7
}

/// Whether `spent` reached a (positive) `budget`.
pub fn at_budget(spent: Cost, budget: Option<Cost>) -> bool {
    budget.is_some_and(|budget| budget > Cost::ZERO && spent >= budget)
}

/// Whether the active keys fill the promised seats.
pub fn seats_full(active_keys: i64, seats: Option<i64>) -> bool {
    seats.is_some_and(|seats| seats > 0 && active_keys >= seats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trends_are_flat_within_five_percent() {
        let cases = [
            (100, 100, Direction::Flat),
            (105, 100, Direction::Flat),
            (106, 100, Direction::Up),
            (95, 100, Direction::Flat),
            (94, 100, Direction::Down),
            (0, 0, Direction::Flat),
            (1, 0, Direction::Up),
            (0, 1, Direction::Down),
            (-10, -20, Direction::Up),
        ];
        for (current, previous, expected) in cases {
            assert_eq!(
                trend(current, previous),
                expected,
                "{current} vs {previous}"
            );
        }
    }

    #[test]
    fn ratios_round_half_away_from_zero() {
        let cases = [
            (1, 3, Some(3333)),
            (2, 3, Some(6667)),
            (1, 20_000, Some(1)),
            (1, 20_001, Some(0)),
            (-1, 3, Some(-3333)),
            (5, 0, None),
            (5, -1, None),
        ];
        for (n, d, expected) in cases {
            assert_eq!(ratio_bp(n, d), expected, "{n}/{d}");
        }
    }

    fn inputs() -> HealthInputs {
        HealthInputs {
            keys: 4,
            keys_used_7d: 3,
            savings_30d: Cost(800),
            promised_gross_monthly: Some(Cost(1000)),
            requests_7d: 100,
            errors_7d: 5,
            requests_prev_7d: 80,
        }
    }

    #[test]
    fn health_components_and_scores() {
        let base = inputs();
        let cases: Vec<(&str, HealthInputs, Components, i64)> = vec![
            // 0.3x75% + 0.3x80% + 0.2x95% + 0.2x(50%+25%) = 22.5+24+19+15 = 80.5
            (
                "all known",
                base,
                Components {
                    adoption: Some(7500),
                    achievement: Some(8000),
                    reliability: Some(9500),
                    usage: Some(7500),
                },
                81,
            ),
            // Without a promise: (22.5 + 19 + 15) / 0.7 = 80.71
            (
                "no promise is neutral",
                HealthInputs {
                    promised_gross_monthly: None,
                    ..base
                },
                Components {
                    adoption: Some(7500),
                    achievement: None,
                    reliability: Some(9500),
                    usage: Some(7500),
                },
                81,
            ),
            // Savings above the promise count as 100%.
            (
                "achievement capped",
                HealthInputs {
                    savings_30d: Cost(5000),
                    ..base
                },
                Components {
                    adoption: Some(7500),
                    achievement: Some(10_000),
                    reliability: Some(9500),
                    usage: Some(7500),
                },
                87,
            ),
            // No traffic at all: adoption 0, usage 0, reliability neutral,
            // achievement 0: 0.
            (
                "idle tenant",
                HealthInputs {
                    keys_used_7d: 0,
                    savings_30d: Cost::ZERO,
                    requests_7d: 0,
                    errors_7d: 0,
                    requests_prev_7d: 0,
                    ..base
                },
                Components {
                    adoption: Some(0),
                    achievement: Some(0),
                    reliability: None,
                    usage: Some(0),
                },
                0,
            ),
            // Usage halved: usage component 0; no keys: adoption 0.
            (
                "shrinking, keyless",
                HealthInputs {
                    keys: 0,
                    keys_used_7d: 0,
                    savings_30d: Cost::ZERO,
                    promised_gross_monthly: None,
                    requests_7d: 40,
                    errors_7d: 40,
                    requests_prev_7d: 80,
                },
                Components {
                    adoption: Some(0),
                    achievement: None,
                    reliability: Some(0),
                    usage: Some(0),
                },
                0,
            ),
            // New traffic (none the week before) is full usage; a promise of
            // no savings is neutral.
            (
                "new tenant",
                HealthInputs {
                    keys: 1,
                    keys_used_7d: 1,
                    promised_gross_monthly: Some(Cost::ZERO),
                    requests_7d: 10,
                    errors_7d: 0,
                    requests_prev_7d: 0,
                    ..base
                },
                Components {
                    adoption: Some(10_000),
                    achievement: None,
                    reliability: Some(10_000),
                    usage: Some(10_000),
                },
                100,
            ),
        ];
        for (name, inputs, expected, expected_score) in cases {
            let got = components(&inputs);
            assert_eq!(got, expected, "{name}");
            assert_eq!(score(&got), expected_score, "{name}");
        }
    }

    #[test]
    fn flags() {
        let churn = [
            (70, 100, true),
            (71, 100, false),
            (0, 1, true),
            (0, 0, false),
            (100, 100, false),
        ];
        for (now, before, expected) in churn {
            assert_eq!(churn_risk(now, before), expected, "{now} vs {before}");
        }
        let budgets = [
            (Cost(10), Some(Cost(10)), true),
            (Cost(9), Some(Cost(10)), false),
            (Cost(10), None, false),
            (Cost(0), Some(Cost(0)), false),
        ];
        for (spent, budget, expected) in budgets {
            assert_eq!(
                at_budget(spent, budget),
                expected,
                "{spent:?} of {budget:?}"
            );
        }
        let seats = [
            (5, Some(5), true),
            (4, Some(5), false),
            (5, None, false),
            (0, Some(0), false),
        ];
        for (active, seats, expected) in seats {
            assert_eq!(seats_full(active, seats), expected, "{active} of {seats:?}");
        }
    }
}
