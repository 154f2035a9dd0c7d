//! Request bodies of the admin API, read strictly: unknown fields are refused
//! and every 400 names the field at fault. In a change (`PATCH`), a field left
//! out keeps its value and `null` clears it.

use analytics::control::Limits;
use bytes::Bytes;
use chrono::DateTime;
use pricing::Cost;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::GatewayError;
use crate::key_records::{self, MAX_ID};

/// Longest label accepted.
pub const MAX_LABEL: usize = 200;

/// Parses a JSON body into `T`, naming the field at fault in a 400.
pub fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, GatewayError> {
    if bytes.is_empty() {
        return Err(GatewayError::invalid(
            "The request body must be a JSON object.",
            None,
        ));
    }
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let parsed: T = serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        let param = (path != ".").then_some(path);
        GatewayError::InvalidParameter {
            message: format!("Invalid request body: {}", error.inner()),
            param,
            code: None,
        }
    })?;
    reader
        .end()
        .map_err(|error| GatewayError::invalid(format!("Invalid request body: {error}"), None))?;
    Ok(parsed)
}

/// [`body`] for a body that carries limits and budgets beside its own fields:
/// those five are read into a [`LimitsInput`], the rest into `T` (which
/// refuses unknown fields). Read apart, so a 400 names the field even there.
pub fn body_with_limits<T: DeserializeOwned>(
    bytes: &Bytes,
) -> Result<(T, LimitsInput), GatewayError> {
    let mut object: serde_json::Map<String, serde_json::Value> = body(bytes)?;
    let mut limits = serde_json::Map::new();
    for name in LIMIT_FIELDS {
        if let Some(value) = object.remove(*name) {
            limits.insert((*name).to_owned(), value);
        }
    }
    let named = |error: serde_path_to_error::Error<serde_json::Error>| {
        let path = error.path().to_string();
        GatewayError::InvalidParameter {
            message: format!("Invalid request body: {}", error.inner()),
            param: (path != ".").then_some(path),
            code: None,
        }
    };
    let own = serde_path_to_error::deserialize(serde_json::Value::Object(object)).map_err(named)?;
    let limits =
        serde_path_to_error::deserialize(serde_json::Value::Object(limits)).map_err(named)?;
    Ok((own, limits))
}

/// The fields of [`LimitsInput`].
const LIMIT_FIELDS: &[&str] = &[
    "rpm",
    "tpm",
    "max_concurrent",
    "budget_daily_usd",
    "budget_monthly_usd",
];

/// A 400 unless `id` is a valid id ([`key_records::valid_id`]).
pub fn check_id(id: &str, field: &'static str) -> Result<(), GatewayError> {
    if key_records::valid_id(id) {
        Ok(())
    } else {
        Err(GatewayError::invalid(
            format!("`{field}` must be 1 to {MAX_ID} letters, digits, '.', '_' or '-'."),
            Some(field),
        ))
    }
}

pub fn check_label(label: Option<&str>, field: &'static str) -> Result<(), GatewayError> {
    match label {
        Some(text) if text.chars().count() > MAX_LABEL || text.chars().any(char::is_control) => {
            Err(GatewayError::invalid(
                format!(
                    "`{field}` must be at most {MAX_LABEL} characters, without control characters."
                ),
                Some(field),
            ))
        }
        _ => Ok(()),
    }
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// USD as exact decimal text (`"25.00"`) or a whole number; a JSON float is
/// refused, as it could not be exact.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Usd {
    Text(String),
    Whole(u64),
    Float(f64),
}

impl Usd {
    fn cost(&self, field: &'static str) -> Result<Cost, GatewayError> {
        let text = match self {
            Usd::Text(text) => text.clone(),
            Usd::Whole(n) => n.to_string(),
            Usd::Float(f) => {
                return Err(GatewayError::invalid(
                    format!("`{field}` must be decimal text (\"{f}\"), so it stays exact."),
                    Some(field),
                ))
            }
        };
        match Cost::parse_usd(&text) {
            Ok(cost) if cost.0 > 0 => Ok(cost),
            Ok(_) => Err(GatewayError::invalid(
                format!("`{field}` must be more than 0 USD (null removes the budget)."),
                Some(field),
            )),
            Err(error) => Err(GatewayError::invalid(
                format!("`{field}`: {error} (USD as decimal text, e.g. \"25.00\")."),
                Some(field),
            )),
        }
    }
}

/// Limits and budgets as a body sets them; each left out keeps its value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsInput {
    #[serde(default, deserialize_with = "nullable")]
    pub rpm: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    pub tpm: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub max_concurrent: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    pub budget_daily_usd: Option<Option<Usd>>,
    #[serde(default, deserialize_with = "nullable")]
    pub budget_monthly_usd: Option<Option<Usd>>,
}

impl LimitsInput {
    /// `current` with this input's fields applied; 0 for a rate is refused
    /// (null means unlimited).
    pub fn apply(&self, current: &Limits) -> Result<Limits, GatewayError> {
        fn rate<T: PartialEq + Default + Copy>(
            value: Option<Option<T>>,
            current: Option<T>,
            field: &'static str,
        ) -> Result<Option<T>, GatewayError> {
            match value {
                None => Ok(current),
                Some(Some(n)) if n == T::default() => Err(GatewayError::invalid(
                    format!("`{field}` must be at least 1 (null means unlimited)."),
                    Some(field),
                )),
                Some(set) => Ok(set),
            }
        }
        let usd =
            |value: &Option<Option<Usd>>, current: Option<Cost>, field: &'static str| match value {
                None => Ok(current),
                Some(None) => Ok(None),
                Some(Some(amount)) => amount.cost(field).map(Some),
            };
        Ok(Limits {
            rpm: rate(self.rpm, current.rpm, "rpm")?,
            tpm: rate(self.tpm, current.tpm, "tpm")?,
            max_concurrent: rate(
                self.max_concurrent,
                current.max_concurrent,
                "max_concurrent",
            )?,
            budget_daily_usd: usd(
                &self.budget_daily_usd,
                current.budget_daily_usd,
                "budget_daily_usd",
            )?,
            budget_monthly_usd: usd(
                &self.budget_monthly_usd,
                current.budget_monthly_usd,
                "budget_monthly_usd",
            )?,
        })
    }
}

/// An RFC 3339 time as unix milliseconds.
pub fn time_ms(text: &str, field: &'static str) -> Result<i64, GatewayError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            GatewayError::invalid(
                format!("`{field}` must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z."),
                Some(field),
            )
        })
}

/// A patch to an optional text field: absent keeps, null clears.
pub type Patch<T> = Option<Option<T>>;

/// Deserializer for [`Patch`] fields (`#[serde(default, deserialize_with = ...)]`).
pub fn patch<'de, D, T>(deserializer: D) -> Result<Patch<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    nullable(deserializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {}

    fn apply(json: &str, current: &Limits) -> Result<Limits, GatewayError> {
        let (_, limits): (Body, LimitsInput) = body_with_limits(&Bytes::from(json.to_owned()))?;
        limits.apply(current)
    }

    #[test]
    fn absent_keeps_null_clears_and_values_set() {
        let current = Limits {
            rpm: Some(10),
            budget_daily_usd: Some(Cost(5)),
            ..Limits::default()
        };
        let next = apply(
            r#"{"tpm": 1000, "budget_daily_usd": null, "budget_monthly_usd": "12.50"}"#,
            &current,
        )
        .unwrap();
        assert_eq!(next.rpm, Some(10));
        assert_eq!(next.tpm, Some(1000));
        assert_eq!(next.budget_daily_usd, None);
        assert_eq!(next.budget_monthly_usd, Some(Cost(12_500_000_000_000)));
        assert_eq!(apply(r#"{"rpm": null}"#, &current).unwrap().rpm, None);
    }

    #[test]
    fn bad_values_name_their_field() {
        for (json, field) in [
            (r#"{"rpm": 0}"#, "rpm"),
            (r#"{"rpm": -1}"#, "rpm"),
            (r#"{"rpm": "ten"}"#, "rpm"),
            (r#"{"budget_daily_usd": 1.5}"#, "budget_daily_usd"),
            (r#"{"budget_daily_usd": "0"}"#, "budget_daily_usd"),
            (r#"{"budget_monthly_usd": "1,000"}"#, "budget_monthly_usd"),
            (r#"{"rpn": 5}"#, "rpn"),
        ] {
            let error = apply(json, &Limits::default()).unwrap_err();
            let text = format!("{:?} {}", error.param(), error);
            assert!(text.contains(field), "{json}: {text}");
            assert_eq!(
                error.status(),
                axum::http::StatusCode::BAD_REQUEST,
                "{json}"
            );
        }
        assert!(body::<Body>(&Bytes::from_static(b"")).is_err());
        assert!(body::<Body>(&Bytes::from_static(b"{} {}")).is_err());
        assert!(body_with_limits::<Body>(&Bytes::from_static(b"[1]")).is_err());
    }

    #[test]
    fn labels_are_plain_text() {
        assert!(check_id("a b", "id").is_err());
        assert!(check_label(Some("ci bot"), "label").is_ok());
        assert!(check_label(Some("a\nb"), "label").is_err());
    }
}
