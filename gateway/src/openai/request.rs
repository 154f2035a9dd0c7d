//! Request bodies as an ordered list of top-level fields whose values stay raw
//! JSON text borrowed from the body. Reading a field parses only that field; writing
//! the upstream body copies the untouched fields verbatim.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::GatewayError;

/// A JSON object's top-level fields, in order, values unparsed.
#[derive(Debug)]
pub struct RawObject<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON string that borrows from the body unless it contains escapes.
#[derive(Debug, Deserialize)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields: Vec<(Cow<'de, str>, &'de RawValue)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    fields.push((key, value));
                }
                if let Some(key) = duplicate_key(&fields) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate field `{key}`"
                    )));
                }
                Ok(RawObject { fields })
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A key that occurs twice, in O(n log n): a body may hold ~100,000 short keys per
/// MiB, and comparing each with every earlier one would take billions of steps.
fn duplicate_key<'f>(fields: &'f [(Cow<'_, str>, &RawValue)]) -> Option<&'f str> {
    let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

impl<'a> RawObject<'a> {
    /// Parses a request body that must be one JSON object.
    pub fn parse(body: &'a [u8]) -> Result<RawObject<'a>, GatewayError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(GatewayError::InvalidJson(
                "the request body is empty; expected a JSON object".to_owned(),
            ));
        }
        serde_json::from_slice(body).map_err(|e| GatewayError::InvalidJson(e.to_string()))
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| *value)
    }

    /// A field that, when present and not null, must deserialize as `T`.
    pub fn optional<T: Deserialize<'a>>(
        &self,
        key: &'static str,
        expected: &str,
    ) -> Result<Option<T>, GatewayError> {
        match self.get(key) {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => serde_json::from_str(raw.get()).map(Some).map_err(|_| {
                GatewayError::invalid(
                    format!("Invalid type for '{key}': expected {expected}."),
                    Some(key),
                )
            }),
        }
    }

    /// A field that must be present and deserialize as `T`.
    pub fn required<T: Deserialize<'a>>(
        &self,
        key: &'static str,
        expected: &str,
    ) -> Result<T, GatewayError> {
        self.optional(key, expected)?.ok_or_else(|| {
            GatewayError::invalid(format!("Missing required parameter: '{key}'."), Some(key))
        })
    }

    /// Writes the object back out, replacing the values of `replace`'s keys and
    /// appending the keys that were not present. Other fields are copied verbatim.
    pub fn write_with(&self, replace: &[(&str, &str)]) -> Vec<u8> {
        let raw_len: usize = self
            .fields
            .iter()
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum();
        let extra: usize = replace.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        let mut out = Vec::with_capacity(raw_len + extra + 2);
        out.push(b'{');
        let mut first = true;
        let mut push_field = |out: &mut Vec<u8>, key: &str, value: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            write_json_string(out, key);
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        };
        for (key, value) in &self.fields {
            let value = replace
                .iter()
                .find(|(k, _)| k == key)
                .map_or(value.get(), |(_, v)| *v);
            push_field(&mut out, key, value);
        }
        for (key, value) in replace {
            if self.get(key).is_none() {
                push_field(&mut out, key, value);
            }
        }
        out.push(b'}');
        out
    }
}

impl RawObject<'_> {
    /// Writes the object back out without `key`.
    pub fn write_without(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.fields
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum::<usize>()
                + 2,
        );
        out.push(b'{');
        for (k, value) in self.fields.iter().filter(|(k, _)| k != key) {
            if out.len() > 1 {
                out.push(b',');
            }
            write_json_string(&mut out, k);
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

/// Appends `text` as a JSON string literal.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // serde_json's escaping is correct for every input; writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// `text` as a JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + 2);
    write_json_string(&mut out, text);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_rewrite_byte_for_byte() {
        let body = br#"{"model":"a","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"seed":7,"logprobs":true,"x_vendor":{"k":[1,2.50,"\u00e9"]}}"#;
        let object = RawObject::parse(body).unwrap();
        let out = object.write_with(&[("model", "\"b\"")]);
        let expected = String::from_utf8(body.to_vec())
            .unwrap()
            .replace(r#""model":"a""#, r#""model":"b""#);
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn missing_replacements_are_appended() {
        let object = RawObject::parse(br#"{"model":"a"}"#).unwrap();
        let out = object.write_with(&[("stream_options", r#"{"include_usage":true}"#)]);
        assert_eq!(
            out,
            br#"{"model":"a","stream_options":{"include_usage":true}}"#.to_vec()
        );
    }

    #[test]
    fn escaped_keys_are_read_and_written_correctly() {
        let object = RawObject::parse(br#"{"mo\u0064el":"a","q\"k":1}"#).unwrap();
        assert_eq!(object.get("model").map(|v| v.get()), Some("\"a\""));
        let out = object.write_with(&[]);
        let reparsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(reparsed["q\"k"], 1);
    }

    #[test]
    fn rejects_non_objects_and_duplicates() {
        for body in [
            &b"[]"[..],
            b"\"x\"",
            b"",
            b"  ",
            b"{",
            b"{\"a\":1,\"a\":2}",
            b"{} x",
        ] {
            let err = RawObject::parse(body).unwrap_err();
            assert!(matches!(err, GatewayError::InvalidJson(_)), "{body:?}");
        }
    }

    #[test]
    fn typed_fields_report_the_parameter() {
        let object = RawObject::parse(br#"{"model":5,"stream":null}"#).unwrap();
        let err = object.required::<&str>("model", "a string").unwrap_err();
        assert!(matches!(
            err,
            GatewayError::InvalidRequest {
                param: Some("model"),
                ..
            }
        ));
        assert_eq!(
            object.optional::<bool>("stream", "a boolean").unwrap(),
            None
        );
        let err = object.required::<bool>("messages", "an array").unwrap_err();
        assert!(err.to_string().contains("messages"));
    }
}
