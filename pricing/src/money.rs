//! Exact money. Prices are integer micro-USD per million tokens and costs are
//! integer pico-USD (1e-12 USD), so `tokens x price` is a cost with no rounding at
//! all: 1 token at 1 micro-USD per million tokens is exactly 1 pico-USD. Sums use
//! i128, which holds more than 1e26 USD. Decimal text appears only at the edges.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    #[error("`{0}` is negative")]
    Negative(String),
    #[error("`{text}` has more precision than {decimals} decimal places")]
    TooPrecise { text: String, decimals: u32 },
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Parses a non-negative decimal (`"2.50"`, `"7.5e-08"`, `"1E3"`) and returns it
/// multiplied by `10^decimals`, which must be a whole number.
pub fn parse_scaled(text: &str, decimals: u32) -> Result<u128, MoneyError> {
    let err = || MoneyError::NotANumber(text.to_owned());
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(MoneyError::Negative(text.to_owned()));
    }
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exp: i32 = unsigned[at + 1..].parse().map_err(|_| err())?;
            (&unsigned[..at], exp)
        }
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(err());
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    // value = digits * 10^(exponent - fraction.len()); scaled by 10^decimals.
    let shift = i64::from(exponent) - fraction.len() as i64 + i64::from(decimals);
    let (digits, shift) = if shift < 0 {
        let cut = usize::try_from(-shift).map_err(|_| err())?;
        let keep = digits.len().saturating_sub(cut);
        let (kept, dropped) = digits.split_at(keep);
        if dropped.bytes().any(|b| b != b'0') {
            return Err(MoneyError::TooPrecise {
                text: text.to_owned(),
                decimals,
            });
        }
        (kept, 0)
    } else {
        (digits, shift)
    };
    let too_large = || MoneyError::TooLarge(text.to_owned());
    let mut value: u128 = 0;
    for b in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or_else(too_large)?;
    }
    if value == 0 {
        return Ok(0);
    }
    let scale = u32::try_from(shift)
        .ok()
        .and_then(|s| 10u128.checked_pow(s))
        .ok_or_else(too_large)?;
    value.checked_mul(scale).ok_or_else(too_large)
}

/// A list price: micro-USD per million tokens. `$2.50 / 1M tokens` is `2_500_000`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub u64);

impl Price {
    /// From USD per million tokens as decimal text (`"2.50"`), exact to 1e-6 USD.
    pub fn from_usd_per_mtok(text: &str) -> Result<Price, MoneyError> {
        let micros = parse_scaled(text, 6)?;
        u64::try_from(micros)
            .map(Price)
            .map_err(|_| MoneyError::TooLarge(text.to_owned()))
    }

    /// From USD per single token as decimal text (LiteLLM's `"2.5e-06"`).
    pub fn from_usd_per_token(text: &str) -> Result<Price, MoneyError> {
        let micros = parse_scaled(text, 12)?;
        u64::try_from(micros)
            .map(Price)
            .map_err(|_| MoneyError::TooLarge(text.to_owned()))
    }

    /// The cost of `tokens` at this price: exact, in pico-USD.
    pub fn cost(self, tokens: u64) -> Cost {
        Cost(i128::from(tokens) * i128::from(self.0))
    }

    /// USD per million tokens as decimal text, e.g. `"2.5"`.
    pub fn usd_per_mtok(self) -> String {
        decimal(i128::from(self.0), 6)
    }
}

/// An amount of money in pico-USD (1e-12 USD). Signed, because savings can be
/// negative when a route costs more than the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost(pub i128);

impl Cost {
    pub const ZERO: Cost = Cost(0);

    /// Decimal USD text with every significant digit (`"0.000123"`, `"12.5"`).
    pub fn usd(self) -> String {
        decimal(self.0, 12)
    }

    /// Parses decimal USD text exact to 1e-12 (`"0.000123"`).
    pub fn parse_usd(text: &str) -> Result<Cost, MoneyError> {
        let (negative, unsigned) = match text.trim().strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.trim()),
        };
        let value = i128::try_from(parse_scaled(unsigned, 12)?)
            .map_err(|_| MoneyError::TooLarge(text.to_owned()))?;
        Ok(Cost(if negative { -value } else { value }))
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.usd())
    }
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost(self.0 + other.0)
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        self.0 += other.0;
    }
}

impl Sub for Cost {
    type Output = Cost;
    fn sub(self, other: Cost) -> Cost {
        Cost(self.0 - other.0)
    }
}

impl Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::ZERO, Add::add)
    }
}

/// `value / 10^decimals` as text, trailing zeros trimmed, at least one digit after
/// the point only when there is a fraction (`"3"`, `"0.25"`, `"-1.5"`).
fn decimal(value: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let whole = magnitude / scale.unsigned_abs();
    let fraction = magnitude % scale.unsigned_abs();
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = format!("{fraction:0width$}", width = decimals as usize);
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_exponent_forms_exactly() {
        assert_eq!(Price::from_usd_per_mtok("2.50"), Ok(Price(2_500_000)));
        assert_eq!(Price::from_usd_per_mtok("0.075"), Ok(Price(75_000)));
        assert_eq!(Price::from_usd_per_mtok("15"), Ok(Price(15_000_000)));
        assert_eq!(Price::from_usd_per_mtok("0"), Ok(Price(0)));
        assert_eq!(Price::from_usd_per_token("2.5e-06"), Ok(Price(2_500_000)));
        assert_eq!(Price::from_usd_per_token("7.5e-08"), Ok(Price(75_000)));
        assert_eq!(Price::from_usd_per_token("1e-05"), Ok(Price(10_000_000)));
        assert_eq!(Price::from_usd_per_token("2.8E-8"), Ok(Price(28_000)));
        assert_eq!(Price::from_usd_per_token("0.0"), Ok(Price(0)));
        assert_eq!(Price::from_usd_per_token("3.75e-06"), Ok(Price(3_750_000)));
    }

    #[test]
    fn refuses_bad_text() {
        for bad in ["", ".", "abc", "1.2.3", "1e", "0x10", "1,5"] {
            assert!(
                matches!(
                    Price::from_usd_per_mtok(bad),
                    Err(MoneyError::NotANumber(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Price::from_usd_per_mtok("-1"),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            Price::from_usd_per_mtok("0.0000001"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Price::from_usd_per_mtok("1e30"),
            Err(MoneyError::TooLarge(_))
        ));
        assert_eq!(Price::from_usd_per_mtok("0.0000010"), Ok(Price(1)));
    }

    #[test]
    fn tokens_times_price_is_exact_pico_usd() {
        // 1,234 tokens at $2.50/M = $0.003085 exactly.
        let cost = Price(2_500_000).cost(1_234);
        assert_eq!(cost, Cost(3_085_000_000));
        assert_eq!(cost.usd(), "0.003085");
        assert_eq!(Price(1).cost(1).usd(), "0.000000000001");
    }

    #[test]
    fn formats_and_parses_usd_text() {
        assert_eq!(Cost(0).usd(), "0");
        assert_eq!(Cost(12_500_000_000_000).usd(), "12.5");
        assert_eq!(Cost(-1_500_000_000_000).usd(), "-1.5");
        assert_eq!(Cost::parse_usd("0.003085"), Ok(Cost(3_085_000_000)));
        assert_eq!(Cost::parse_usd("-1.5"), Ok(Cost(-1_500_000_000_000)));
        assert_eq!(Price(2_500_000).usd_per_mtok(), "2.5");
        for pico in [
            0i128,
            1,
            999_999,
            1_000_000_000_000,
            -7,
            123_456_789_012_345,
        ] {
            assert_eq!(Cost::parse_usd(&Cost(pico).usd()), Ok(Cost(pico)));
        }
    }
}
