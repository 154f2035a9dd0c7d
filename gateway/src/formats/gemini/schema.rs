//! JSON Schema (as clients write tool parameters and response formats) into
//! Gemini's `Schema`, the OpenAPI 3.0 subset the API checks field by field.
//!
//! Kept: `type` (upper-cased; a list of types becomes `anyOf`, `"null"` in it
//! becomes `nullable`), `properties`, `required` (names that are properties),
//! `items`, `enum` of strings, a string `const` (as a one-value `enum`),
//! `anyOf`/`oneOf` (both as `anyOf`, null branches as `nullable`), `nullable`,
//! `description`, `title`, `default`, `example` (or the first of `examples`),
//! `propertyOrdering`, the numeric bounds `minimum`/`maximum` (an exclusive bound
//! becomes the inclusive one), `minItems`/`maxItems`, `minLength`/`maxLength`,
//! `minProperties`/`maxProperties`, `pattern`, and `format` where Gemini takes it
//! (`enum`/`date-time` on strings, `float`/`double` on numbers, `int32`/`int64`
//! on integers). `$ref` into `$defs`/`definitions` is inlined; an `allOf` of one
//! schema is that schema.
//!
//! Dropped, which loosens the schema but never changes a valid value's meaning:
//! `additionalProperties`, `patternProperties`, `unevaluatedProperties`,
//! `multipleOf`, `uniqueItems`, `contains`, `not`, `if`/`then`/`else`, other
//! formats, an `enum` or `const` that is not strings, tuple `items`/`prefixItems`,
//! annotations (`$schema`, `$id`, `$comment`, `readOnly`, `deprecated`, ...).
//! Property order is whatever order the parsed JSON object keeps.
//!
//! Refused (a [`SchemaError`]): a schema that is not an object or `true`,
//! `false`, an `allOf` of several schemas, a `$ref` that is not local, does not
//! resolve or is recursive, and nesting deeper than [`MAX_DEPTH`].

use serde_json::{json, Map, Value};

/// How deep a schema may nest (each `$ref` counts as a level).
pub const MAX_DEPTH: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema at {path}: {reason}")]
pub struct SchemaError {
    /// A JSON pointer into the client's schema.
    pub path: String,
    pub reason: &'static str,
}

/// `schema` in Gemini's subset.
pub fn to_gemini(schema: &Value) -> Result<Value, SchemaError> {
    Converter { root: schema }.node(schema, "#", 0)
}

/// Whether a JSON Schema of tool parameters (or of a response) is an object
/// with nothing in it. Gemini wants `parameters` left out then (an `OBJECT`
/// without properties is refused), and a response format of that kind is
/// JSON mode without a schema.
pub fn takes_no_arguments(schema: &Value) -> bool {
    match schema {
        Value::Null | Value::Bool(true) => true,
        Value::Object(map) => {
            map.get("properties")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && map
                    .get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "object")
                && ["anyOf", "oneOf", "allOf", "$ref"]
                    .iter()
                    .all(|k| !map.contains_key(*k))
                // A free-form map takes arguments, even without properties.
                && map
                    .get("additionalProperties")
                    .is_none_or(|a| *a == Value::Bool(false))
        }
        _ => false,
    }
}

struct Converter<'r> {
    root: &'r Value,
}

fn error(path: &str, reason: &'static str) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        reason,
    }
}

const GEMINI_TYPES: &[(&str, &str)] = &[
    ("string", "STRING"),
    ("number", "NUMBER"),
    ("integer", "INTEGER"),
    ("boolean", "BOOLEAN"),
    ("array", "ARRAY"),
    ("object", "OBJECT"),
];

fn gemini_type(name: &str) -> Option<&'static str> {
    GEMINI_TYPES
        .iter()
        .find(|(json, _)| json.eq_ignore_ascii_case(name))
        .map(|(_, gemini)| *gemini)
}

fn is_null_branch(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn format_allowed(gemini_type: &str, format: &str) -> bool {
    matches!(
        (gemini_type, format),
        ("STRING", "enum" | "date-time")
            | ("NUMBER", "float" | "double")
            | ("INTEGER", "int32" | "int64")
    )
}

impl Converter<'_> {
    fn node(&self, schema: &Value, path: &str, depth: usize) -> Result<Value, SchemaError> {
        if depth > MAX_DEPTH {
            return Err(error(path, "nested too deeply"));
        }
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return Ok(json!({})),
            Value::Bool(false) => return Err(error(path, "a schema no value matches")),
            _ => return Err(error(path, "not a schema object")),
        };
        if let Some(reference) = map.get("$ref") {
            let target = reference
                .as_str()
                .and_then(|r| self.resolve(r))
                .ok_or_else(|| error(path, "a $ref that is not a local $defs/definitions"))?;
            let mut out = self.node(target, &format!("{path}/$ref"), depth + 1)?;
            copy_annotations(map, &mut out);
            return Ok(out);
        }
        if let Some(all) = map.get("allOf") {
            return match all.as_array().map(Vec::as_slice) {
                Some([only]) => {
                    let mut out = self.node(only, &format!("{path}/allOf/0"), depth + 1)?;
                    copy_annotations(map, &mut out);
                    Ok(out)
                }
                _ => Err(error(path, "allOf of several schemas")),
            };
        }
        let mut out = Map::new();
        let mut nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);

        let union = map.get("anyOf").or_else(|| map.get("oneOf"));
        if let Some(union) = union {
            let key = if map.contains_key("anyOf") {
                "anyOf"
            } else {
                "oneOf"
            };
            let branches = union
                .as_array()
                .ok_or_else(|| error(path, "anyOf/oneOf that is not a list"))?;
            let mut kept = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if is_null_branch(branch) {
                    nullable = true;
                } else {
                    kept.push(self.node(branch, &format!("{path}/{key}/{i}"), depth + 1)?);
                }
            }
            match kept.len() {
                0 => {}
                1 => {
                    if let Some(Value::Object(only)) = kept.pop() {
                        out.extend(only);
                    }
                }
                _ => {
                    out.insert("anyOf".into(), Value::Array(kept));
                }
            }
        }

        let mut types: Vec<&'static str> = Vec::new();
        match map.get("type") {
            Some(Value::String(name)) if name == "null" => nullable = true,
            Some(Value::String(name)) => {
                types.push(gemini_type(name).ok_or_else(|| error(path, "an unknown type"))?)
            }
            Some(Value::Array(names)) => {
                for name in names {
                    match name.as_str() {
                        Some("null") => nullable = true,
                        Some(name) => types
                            .push(gemini_type(name).ok_or_else(|| error(path, "an unknown type"))?),
                        None => return Err(error(path, "a type that is not a name")),
                    }
                }
            }
            Some(_) => return Err(error(path, "a type that is not a name")),
            None => {}
        }
        let string_enum = string_enum(map);
        if types.is_empty() && !out.contains_key("type") && !out.contains_key("anyOf") {
            if map.contains_key("properties") {
                types.push("OBJECT");
            } else if map.contains_key("items") {
                types.push("ARRAY");
            } else if string_enum.is_some() {
                types.push("STRING");
            }
        }
        match types.as_slice() {
            [] => {}
            [one] => {
                out.insert("type".into(), json!(one));
            }
            several => {
                // Each listed type is a branch; the other keywords stay beside them.
                let branches = several.iter().map(|t| json!({"type": t})).collect();
                out.insert("anyOf".into(), Value::Array(branches));
            }
        }
        let single_type = match types.as_slice() {
            [one] => Some(*one),
            _ => None,
        };

        if let Some(values) = string_enum {
            if single_type.is_none_or(|t| t == "STRING") {
                out.insert("enum".into(), Value::Array(values));
            }
        }
        if let Some(properties) = map.get("properties") {
            let properties = properties
                .as_object()
                .ok_or_else(|| error(path, "properties that are not an object"))?;
            let mut converted = Map::new();
            for (name, property) in properties {
                let here = format!("{path}/properties/{}", pointer_escape(name));
                converted.insert(name.clone(), self.node(property, &here, depth + 1)?);
            }
            if let Some(required) = map.get("required").and_then(Value::as_array) {
                let required: Vec<Value> = required
                    .iter()
                    .filter(|r| r.as_str().is_some_and(|r| converted.contains_key(r)))
                    .cloned()
                    .collect();
                if !required.is_empty() {
                    out.insert("required".into(), Value::Array(required));
                }
            }
            if !converted.is_empty() {
                out.insert("properties".into(), Value::Object(converted));
            }
        }
        if let Some(items) = map.get("items").filter(|i| i.is_object() || i.is_boolean()) {
            out.insert(
                "items".into(),
                self.node(items, &format!("{path}/items"), depth + 1)?,
            );
        }
        for key in ["description", "title", "pattern"] {
            if let Some(text) = map.get(key).filter(|v| v.is_string()) {
                out.insert(key.into(), text.clone());
            }
        }
        if let (Some(t), Some(format)) = (single_type, map.get("format").and_then(Value::as_str)) {
            if format_allowed(t, format) {
                out.insert("format".into(), json!(format));
            }
        }
        for key in [
            "minItems",
            "maxItems",
            "minLength",
            "maxLength",
            "minProperties",
            "maxProperties",
        ] {
            if let Some(n) = map.get(key).and_then(Value::as_u64) {
                out.insert(key.into(), json!(n));
            }
        }
        for (key, exclusive) in [
            ("minimum", "exclusiveMinimum"),
            ("maximum", "exclusiveMaximum"),
        ] {
            let bound = map
                .get(key)
                .filter(|v| v.is_number())
                .or_else(|| map.get(exclusive).filter(|v| v.is_number()));
            if let Some(bound) = bound {
                out.insert(key.into(), bound.clone());
            }
        }
        if let Some(default) = map.get("default") {
            out.insert("default".into(), default.clone());
        }
        let example = map.get("example").or_else(|| {
            map.get("examples")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
        });
        if let Some(example) = example {
            out.insert("example".into(), example.clone());
        }
        if let Some(order) = map.get("propertyOrdering").and_then(Value::as_array) {
            if order.iter().all(Value::is_string) {
                out.insert("propertyOrdering".into(), Value::Array(order.clone()));
            }
        }
        if nullable {
            out.insert("nullable".into(), json!(true));
        }
        Ok(Value::Object(out))
    }

    /// The schema a local `$ref` points at.
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        if !(pointer.starts_with("/$defs/") || pointer.starts_with("/definitions/")) {
            return None;
        }
        self.root.pointer(pointer)
    }
}

/// `enum` (or `const`) when every value is a string.
fn string_enum(map: &Map<String, Value>) -> Option<Vec<Value>> {
    if let Some(values) = map.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .all(Value::is_string)
            .then(|| values.clone())
            .filter(|v| !v.is_empty());
    }
    map.get("const")
        .filter(|c| c.is_string())
        .map(|c| vec![c.clone()])
}

/// A referring schema's own description wins over the referred one's.
fn copy_annotations(from: &Map<String, Value>, to: &mut Value) {
    if let Value::Object(out) = to {
        for key in ["description", "title"] {
            if let Some(text) = from.get(key).filter(|v| v.is_string()) {
                out.insert(key.into(), text.clone());
            }
        }
    }
}

fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_kept_converted_or_dropped() {
        let cases = [
            (json!({"type": "string"}), json!({"type": "STRING"})),
            (
                json!({"type": ["string", "null"], "format": "email", "maxLength": 5}),
                json!({"type": "STRING", "nullable": true, "maxLength": 5}),
            ),
            (
                json!({"type": "string", "format": "date-time"}),
                json!({"type": "STRING", "format": "date-time"}),
            ),
            (
                json!({"type": ["integer", "string"]}),
                json!({"anyOf": [{"type": "INTEGER"}, {"type": "STRING"}]}),
            ),
            (
                json!({"enum": ["a", "b"]}),
                json!({"type": "STRING", "enum": ["a", "b"]}),
            ),
            (
                json!({"type": "integer", "enum": [1, 2]}),
                json!({"type": "INTEGER"}),
            ),
            (
                json!({"const": "x"}),
                json!({"type": "STRING", "enum": ["x"]}),
            ),
            (
                json!({"type": "number", "exclusiveMinimum": 0, "maximum": 9.5, "multipleOf": 0.5}),
                json!({"type": "NUMBER", "minimum": 0, "maximum": 9.5}),
            ),
            (
                json!({"type": "object", "additionalProperties": false, "properties": {
                    "a": {"type": "string"}, "b": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true}
                }, "required": ["a", "ghost"]}),
                json!({"type": "OBJECT", "properties": {
                    "a": {"type": "STRING"}, "b": {"type": "ARRAY", "items": {"type": "INTEGER"}}
                }, "required": ["a"]}),
            ),
            (
                json!({"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"}),
                json!({"type": "STRING", "nullable": true, "description": "d"}),
            ),
            (
                json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
                json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}),
            ),
            (
                json!({"$schema": "x", "type": "object", "properties": {"p": {"$ref": "#/$defs/P", "description": "mine"}},
                       "$defs": {"P": {"type": "string", "description": "theirs", "examples": ["e"]}}}),
                json!({"type": "OBJECT", "properties": {"p": {"type": "STRING", "description": "mine", "example": "e"}}}),
            ),
            (
                json!({"allOf": [{"type": "boolean"}], "title": "t"}),
                json!({"type": "BOOLEAN", "title": "t"}),
            ),
            (
                json!({"items": {"type": "string"}}),
                json!({"type": "ARRAY", "items": {"type": "STRING"}}),
            ),
            (json!(true), json!({})),
        ];
        for (input, expected) in cases {
            assert_eq!(to_gemini(&input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn what_cannot_be_said_is_refused() {
        let recursive = json!({"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}},
                               "$ref": "#/$defs/N"});
        let cases = [
            (json!(false), "#"),
            (json!("string"), "#"),
            (
                json!({"allOf": [{"type": "string"}, {"minLength": 1}]}),
                "#",
            ),
            (json!({"$ref": "https://example.com/s.json"}), "#"),
            (json!({"$ref": "#/$defs/missing"}), "#"),
            (json!({"type": "decimal"}), "#"),
            (
                json!({"properties": {"a/b": {"type": 3}}}),
                "#/properties/a~1b",
            ),
            (recursive, ""),
        ];
        for (input, path) in cases {
            let err = to_gemini(&input).unwrap_err();
            assert!(err.path.starts_with(path), "{input}: {err}");
        }
    }

    #[test]
    fn empty_parameter_schemas_take_no_arguments() {
        for (schema, none) in [
            (json!({"type": "object", "properties": {}}), true),
            (json!({"type": "object"}), true),
            (json!(null), true),
            (json!({"type": "object", "properties": {"a": {}}}), false),
            (json!({"anyOf": [{"type": "object"}]}), false),
            (
                json!({"type": "object", "additionalProperties": false}),
                true,
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
                false,
            ),
            (
                json!({"type": "object", "additionalProperties": true}),
                false,
            ),
        ] {
            assert_eq!(takes_no_arguments(&schema), none, "{schema}");
        }
    }
}
