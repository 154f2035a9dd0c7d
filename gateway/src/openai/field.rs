//! One top-level field of a JSON object, found without parsing the rest. An
//! answer's `usage` is a few counts beside a body that is mostly text, and a
//! stream's usage chunk is told apart by two fields of many: reading them
//! should not cost a parse of the whole document.
//!
//! A skim, not a validator: it follows strings and nesting only as far as it
//! must to know which keys are top-level ones. Text that is not a JSON object,
//! or whose structure breaks off before the field, yields `None`; damage after
//! the field is not looked for (the client receives the body as it came).
//! Whole-body parsing belongs to `request` and to the format codecs.

use memchr::memchr2;

/// The text from the start of top-level field `name`'s value to the end of
/// `object`, or `None` when `object` is not a JSON object with such a field.
/// The first occurrence counts; a key is matched as written (one spelled with
/// `\u` escapes is not matched).
pub fn value_of<'a>(object: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut i = skip_whitespace(object, 0);
    if object.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut depth = 1usize;
    let mut expect_key = true;
    while let Some(&byte) = object.get(i) {
        match byte {
            b'"' => {
                let start = i + 1;
                let end = string_end(object, start)?;
                i = end + 1;
                if depth == 1 && expect_key {
                    let colon = skip_whitespace(object, i);
                    if object.get(colon) != Some(&b':') {
                        return None;
                    }
                    i = colon + 1;
                    if object.get(start..end) == Some(name.as_bytes()) {
                        return object.get(skip_whitespace(object, i)..);
                    }
                    expect_key = false;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            b',' if depth == 1 => expect_key = true,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The position of the quote that closes the string whose text starts at `i`.
fn string_end(text: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let at = i + memchr2(b'"', b'\\', text.get(i..)?)?;
        if text.get(at) == Some(&b'"') {
            return Some(at);
        }
        // A backslash: the next byte is escaped, whatever it is.
        i = at + 2;
    }
}

fn skip_whitespace(text: &[u8], mut i: usize) -> usize {
    while text
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(object: &str, name: &str) -> Option<String> {
        value_of(object.as_bytes(), name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn finds_only_top_level_keys() {
        let body = r#"{"id":"usage","choices":[{"usage":1,"m":{"usage":2}}],"x":{"usage":3}, "usage" : {"a":4}}"#;
        assert_eq!(value(body, "usage").as_deref(), Some(r#"{"a":4}}"#));
        assert_eq!(
            value(body, "id").as_deref(),
            Some(
                r#""usage","choices":[{"usage":1,"m":{"usage":2}}],"x":{"usage":3}, "usage" : {"a":4}}"#
            )
        );
        assert_eq!(value(body, "missing"), None);
    }

    #[test]
    fn follows_escapes_in_strings() {
        let body = r#"{"text":"a \"usage\": 5, \\","usage":7}"#;
        assert_eq!(value(body, "usage").as_deref(), Some("7}"));
        let body = r#"{"text":"\\\"}","usage":null}"#;
        assert_eq!(value(body, "usage").as_deref(), Some("null}"));
        let body = "{\"t\":\"\u{e9}\\u0022\",\"usage\":1}";
        assert_eq!(value(body, "usage").as_deref(), Some("1}"));
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        for body in [
            "",
            "  ",
            r#"["usage",1]"#,
            r#""usage""#,
            r#"{"a":"unterminated"#,
            r#"{"a":1}"usage":2"#,
            r#"{"usage" 1}"#,
            r#"{"a":"\"#,
        ] {
            assert_eq!(value(body, "usage"), None, "{body}");
        }
        assert_eq!(value(" \n{ \"usage\":\t2}", "usage").as_deref(), Some("2}"));
    }
}
