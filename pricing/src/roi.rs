//! The ROI worksheet sales shows a prospect (DESIGN.md, "ROI math"):
//!
//! - gross monthly savings = current monthly cost - optimized monthly cost
//! - platform fee = seats x price per seat
//! - net monthly savings = gross - fee; annual net = 12 x net
//! - ROI = net / fee, as a percentage rounded to one decimal
//! - payback days = fee / gross x 30, rounded to one decimal
//!
//! Money stays exact ([`Cost`], pico-USD) through every step; only the two
//! ratios are rounded, half away from zero, to tenths ([`Tenths`]). ROI is
//! `None` without a fee, payback is `None` without a fee or without a positive
//! gross saving: neither is ever a division by zero.
//!
//! Also here, as pure helpers of the traffic-profile scenario and measured mode:
//! traffic shares ([`Share`]) and their apportionment of a whole number of
//! requests ([`apportion`]), and scaling a measured window to a month
//! ([`scale_to_month`]). Where the inputs come from (a profile routed by the
//! gateway, a tenant's rollups) is the gateway's business, not this module's.

use std::fmt;

use crate::money::{parse_scaled, Cost};

/// Most seats a worksheet accepts; more is a typo, not a customer.
pub const MAX_SEATS: u64 = 1_000_000;

/// Largest money input accepted: one trillion USD (in pico-USD). With
/// [`MAX_SEATS`], every product below stays far inside i128.
pub const MAX_AMOUNT: Cost = Cost(1_000_000_000_000 * 1_000_000_000_000);

/// Days in the worksheet's month, for payback and for scaling measured windows.
pub const DAYS_PER_MONTH: u32 = 30;

/// An input the worksheet refuses; `field()` names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoiError {
    #[error("`{field}` must be a whole number from 1 to {MAX_SEATS}; got {value}.")]
    Seats { field: &'static str, value: u64 },
    #[error("`{0}` must not be negative.")]
    Negative(&'static str),
    #[error("`{0}` is larger than the largest accepted amount (1000000000000 USD).")]
    TooLarge(&'static str),
}

impl RoiError {
    /// The input at fault.
    pub fn field(&self) -> &'static str {
        match self {
            RoiError::Seats { field, .. } => field,
            RoiError::Negative(field) | RoiError::TooLarge(field) => field,
        }
    }
}

/// Checks a money input: not negative, at most [`MAX_AMOUNT`].
pub fn check_amount(field: &'static str, amount: Cost) -> Result<Cost, RoiError> {
    if amount < Cost::ZERO {
        Err(RoiError::Negative(field))
    } else if amount > MAX_AMOUNT {
        Err(RoiError::TooLarge(field))
    } else {
        Ok(amount)
    }
}

/// Checks a seat count: 1 to [`MAX_SEATS`].
pub fn check_seats(field: &'static str, seats: u64) -> Result<u64, RoiError> {
    if (1..=MAX_SEATS).contains(&seats) {
        Ok(seats)
    } else {
        Err(RoiError::Seats {
            field,
            value: seats,
        })
    }
}

/// The worksheet's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worksheet {
    pub seats: u64,
    pub price_per_seat: Cost,
    pub current_monthly: Cost,
    pub optimized_monthly: Cost,
}

/// The worksheet's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roi {
    pub current_monthly: Cost,
    pub optimized_monthly: Cost,
    /// Negative when the optimized cost is higher.
    pub gross_monthly: Cost,
    pub platform_fee: Cost,
    pub net_monthly: Cost,
    pub annual_net: Cost,
    /// `net / fee x 100`; `None` when the fee is zero.
    pub roi_percent: Option<Tenths>,
    /// `fee / gross x 30`; `None` when the fee is zero or gross is not positive.
    pub payback_days: Option<Tenths>,
}

impl Worksheet {
    /// Checks the inputs and works the sheet.
    pub fn compute(&self) -> Result<Roi, RoiError> {
        check_seats("seats", self.seats)?;
        check_amount("price_per_seat", self.price_per_seat)?;
        check_amount("current_monthly_cost", self.current_monthly)?;
        check_amount("optimized_monthly_cost", self.optimized_monthly)?;
        // Bounded inputs: |gross| <= 1e24, fee <= 1e30, x1000 <= 1e33 < i128::MAX.
        let gross = self.current_monthly - self.optimized_monthly;
        let fee = Cost(self.price_per_seat.0 * i128::from(self.seats));
        let net = gross - fee;
        let roi_percent = (fee > Cost::ZERO).then(|| Tenths::of_ratio(net.0 * 100, fee.0));
        let payback_days = (fee > Cost::ZERO && gross > Cost::ZERO)
            .then(|| Tenths::of_ratio(fee.0 * i128::from(DAYS_PER_MONTH), gross.0));
        Ok(Roi {
            current_monthly: self.current_monthly,
            optimized_monthly: self.optimized_monthly,
            gross_monthly: gross,
            platform_fee: fee,
            net_monthly: net,
            annual_net: Cost(net.0 * 12),
            roi_percent,
            payback_days,
        })
    }
}

/// A ratio rounded to tenths, half away from zero: `Tenths(414)` is `41.4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tenths(pub i128);

impl Tenths {
    /// `numerator / denominator` rounded to tenths; `denominator` must be positive.
    pub fn of_ratio(numerator: i128, denominator: i128) -> Tenths {
        Tenths(round_div(numerator * 10, denominator))
    }
}

impl fmt::Display for Tenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{}", magnitude / 10, magnitude % 10)
    }
}

/// `numerator / denominator` rounded half away from zero; `denominator > 0`.
pub fn round_div(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// `amount` measured over `days` days, scaled to a [`DAYS_PER_MONTH`]-day month
/// and rounded to the pico-USD, half away from zero. `days` must be positive.
pub fn scale_to_month(amount: Cost, days: u32) -> Cost {
    Cost(round_div(
        amount.0 * i128::from(DAYS_PER_MONTH),
        i128::from(days.max(1)),
    ))
}

/// A share of traffic, in millionths: `Share(700_000)` is 70 %.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Share(pub u32);

impl Share {
    pub const WHOLE: Share = Share(1_000_000);

    /// Parses a fraction of 1 as decimal text (`"0.7"`, `"1"`), exact to 1e-6.
    pub fn parse(text: &str) -> Option<Share> {
        parse_scaled(text, 6)
            .ok()
            .and_then(|millionths| u32::try_from(millionths).ok())
            .map(Share)
            .filter(|share| *share <= Share::WHOLE)
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A share is a money-free decimal; reuse the exact formatter's rules.
        let text = Cost(i128::from(self.0) * 1_000_000).usd();
        f.write_str(&text)
    }
}

/// Splits `total` whole requests by `shares` (which must sum to [`Share::WHOLE`])
/// so the parts sum to `total` exactly: each gets the floor of its share, and
/// what is left goes one each to the largest remainders, earlier shares first on
/// ties (Hamilton's method).
pub fn apportion(total: u128, shares: &[Share]) -> Vec<u128> {
    let whole = u128::from(Share::WHOLE.0);
    let mut parts: Vec<u128> = shares
        .iter()
        .map(|s| total * u128::from(s.0) / whole)
        .collect();
    let mut left = total.saturating_sub(parts.iter().sum());
    let mut by_remainder: Vec<(u128, usize)> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| (total * u128::from(s.0) % whole, i))
        .collect();
    by_remainder.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in by_remainder {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Cost {
        Cost::parse_usd(text).unwrap()
    }

    fn sheet(seats: u64, per_seat: &str, current: &str, optimized: &str) -> Worksheet {
        Worksheet {
            seats,
            price_per_seat: usd(per_seat),
            current_monthly: usd(current),
            optimized_monthly: usd(optimized),
        }
    }

    #[test]
    fn the_worked_example_of_the_design_reproduces_exactly() {
        // 50 developers, $6,600/month today, $3,135 optimized, 50 x $49 fee.
        let roi = sheet(50, "49", "6600", "3135").compute().unwrap();
        assert_eq!(roi.gross_monthly, usd("3465"));
        assert_eq!(roi.platform_fee, usd("2450"));
        assert_eq!(roi.net_monthly, usd("1015"));
        assert_eq!(roi.annual_net, usd("12180"));
        // 1015 / 2450 = 0.414285... -> 41.4 %
        assert_eq!(roi.roi_percent.unwrap().to_string(), "41.4");
        // 2450 / 3465 x 30 = 21.2121... days: about three weeks.
        assert_eq!(roi.payback_days.unwrap().to_string(), "21.2");
    }

    #[test]
    fn a_zero_fee_gives_no_roi_and_no_payback() {
        let roi = sheet(10, "0", "1000", "400").compute().unwrap();
        assert_eq!(roi.platform_fee, Cost::ZERO);
        assert_eq!(roi.net_monthly, usd("600"));
        assert_eq!(roi.roi_percent, None);
        assert_eq!(roi.payback_days, None);
    }

    #[test]
    fn no_gross_saving_means_no_payback_and_a_negative_roi() {
        let roi = sheet(2, "50", "100", "100").compute().unwrap();
        assert_eq!(roi.payback_days, None);
        assert_eq!(roi.roi_percent.unwrap().to_string(), "-100.0");
        let worse = sheet(1, "10", "100", "130").compute().unwrap();
        assert_eq!(worse.gross_monthly, usd("-30"));
        assert_eq!(worse.net_monthly, usd("-40"));
        assert_eq!(worse.annual_net, usd("-480"));
        assert_eq!(worse.roi_percent.unwrap().to_string(), "-400.0");
        assert_eq!(worse.payback_days, None);
    }

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(Tenths::of_ratio(1, 20).to_string(), "0.1"); // 0.05
        assert_eq!(Tenths::of_ratio(-1, 20).to_string(), "-0.1");
        assert_eq!(Tenths::of_ratio(1, 21).to_string(), "0.0"); // 0.047
        assert_eq!(Tenths::of_ratio(-1, 21).to_string(), "0.0");
        assert_eq!(Tenths::of_ratio(2, 3).to_string(), "0.7");
        assert_eq!(Tenths::of_ratio(7, 1).to_string(), "7.0");
        assert_eq!(Tenths::of_ratio(-15, 100).to_string(), "-0.2");
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let cases = [
            (sheet(0, "49", "1", "1"), "seats"),
            (sheet(MAX_SEATS + 1, "49", "1", "1"), "seats"),
            (sheet(5, "-1", "1", "1"), "price_per_seat"),
            (sheet(5, "1", "-1", "1"), "current_monthly_cost"),
            (sheet(5, "1", "1", "-0.01"), "optimized_monthly_cost"),
            (sheet(5, "1", "1e13", "1"), "current_monthly_cost"),
        ];
        for (input, field) in cases {
            assert_eq!(input.compute().unwrap_err().field(), field, "{input:?}");
        }
        // The largest inputs still compute without overflow.
        let huge = Worksheet {
            seats: MAX_SEATS,
            price_per_seat: MAX_AMOUNT,
            current_monthly: MAX_AMOUNT,
            optimized_monthly: Cost::ZERO,
        };
        assert!(huge.compute().unwrap().roi_percent.unwrap().0 < 0);
    }

    #[test]
    fn shares_parse_exactly_and_apportion_whole_requests() {
        assert_eq!(Share::parse("0.7"), Some(Share(700_000)));
        assert_eq!(Share::parse("1"), Some(Share::WHOLE));
        assert_eq!(Share::parse("0.000001"), Some(Share(1)));
        assert_eq!(Share::parse("1.1"), None);
        assert_eq!(Share::parse("-0.5"), None);
        assert_eq!(Share::parse("0.0000001"), None);
        assert_eq!(Share(250_000).to_string(), "0.25");
        // 10 requests in thirds: 3.33 each, the one left over goes to the first.
        let thirds = [Share(333_334), Share(333_333), Share(333_333)];
        assert_eq!(apportion(10, &thirds), [4, 3, 3]);
        assert_eq!(
            apportion(44_000, &[Share(700_000), Share(300_000)]),
            [30_800, 13_200]
        );
        assert_eq!(apportion(7, &[Share::WHOLE]), [7]);
        assert_eq!(apportion(0, &thirds), [0, 0, 0]);
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1_000 {
            let a = rng.u32(0..=1_000_000);
            let b = rng.u32(0..=1_000_000 - a);
            let shares = [Share(a), Share(b), Share(1_000_000 - a - b)];
            let total = rng.u128(0..10_000_000);
            assert_eq!(apportion(total, &shares).iter().sum::<u128>(), total);
        }
    }

    #[test]
    fn measured_windows_scale_to_a_thirty_day_month() {
        assert_eq!(scale_to_month(usd("70"), 7), usd("300"));
        assert_eq!(scale_to_month(usd("100"), 30), usd("100"));
        // 1 pico-USD over 7 days is 30/7 = 4.29 pico-USD a month: rounded to 4.
        assert_eq!(scale_to_month(Cost(1), 7), Cost(4));
        assert_eq!(scale_to_month(Cost(-1), 7), Cost(-4));
        assert_eq!(scale_to_month(Cost(1), 60), Cost(1)); // 0.5 rounds away
    }
}
