//! Text for the server-written share pages and images: HTML/XML escaping,
//! and money as `dashboards/format.js` shows it (the API's exact decimal
//! text, rounded for display only, never through floating point).

use pricing::Cost;

/// `<`, `>`, `&`, `"` and `'` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Decimal USD text for display, as `format.js` `money` writes it: from $1
/// two decimals with thousands separators, below four significant digits (at
/// least two places), rounded half away from zero; not a decimal: `–`.
pub fn money(text: &str) -> String {
    let Ok(cost) = Cost::parse_usd(text) else {
        return "–".to_owned();
    };
    let sign = if cost.0 < 0 { "-" } else { "" };
    let pico = cost.0.unsigned_abs();
    const UNIT: u128 = 1_000_000_000_000;
    let round = |places: u32| {
        let step = 10u128.pow(12 - places);
        (pico + step / 2) / step
    };
    if pico >= UNIT || pico == 0 {
        let cents = round(2);
        let whole = (cents / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return format!("{sign}${grouped}.{:02}", cents % 100);
    }
    // Leading zeros after the point, then four significant digits.
    let lead = 12 - pico.to_string().len() as u32;
    let places = (lead + 4).clamp(2, 12);
    let scaled = round(places);
    if scaled >= 10u128.pow(places) {
        return format!("{sign}$1.00");
    }
    let digits = format!("{scaled:0width$}", width = places as usize);
    let trimmed = digits.trim_end_matches('0');
    let shown = if trimmed.len() < 2 {
        &digits[..2]
    } else {
        trimmed
    };
    format!("{sign}$0.{shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same cases as `format.js` answers (its rules, table by table).
    #[test]
    fn money_rounds_as_the_dashboard_does() {
        for (text, shown) in [
            ("0", "$0.00"),
            ("1234.565", "$1,234.57"),
            ("-1234.564", "-$1,234.56"),
            ("1000000", "$1,000,000.00"),
            ("1", "$1.00"),
            ("0.5", "$0.50"),
            ("0.001234567", "$0.001235"),
            ("0.12344", "$0.1234"),
            ("0.99999", "$1.00"),
            ("-0.25", "-$0.25"),
            ("junk", "–"),
        ] {
            assert_eq!(money(text), shown, "{text}");
        }
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
