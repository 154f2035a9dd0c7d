//! Where a Gemini request goes: `models/{model}:{method}` under the API's
//! version path, with `alt=sse` for a stream (without it the API answers a
//! stream as one JSON array). The base URL and the key (`x-goog-api-key`
//! header, never the `?key=` query, which would put it in access logs) are the
//! provider's business. A leaf of the Gemini format: the request writer
//! uses it, and its one error converts into the writer's.

/// A model name that cannot be put in a Gemini URL path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model name {0:?} cannot be used in a Gemini URL")]
pub struct BadModelName(pub String);

/// What a request asks of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Generate,
    Stream,
    CountTokens,
}

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// The model id without a `models/` prefix, if it is safe in a URL path:
/// letters, digits and `-._+=@` (the last three for the mock provider's
/// directive names such as `mock+tool_calls=1`); never `/`, `?`, `#`, `%`,
/// `:` or spaces, which would change the URL's meaning.
pub fn model_id(model: &str) -> Result<&str, BadModelName> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let safe = !id.is_empty()
        && id.len() <= 200
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+' | b'=' | b'@')
        });
    if safe {
        Ok(id)
    } else {
        Err(BadModelName(model.to_owned()))
    }
}

/// The path and query after the version prefix (e.g. after `/v1beta/`).
pub fn path(model: &str, method: Method) -> Result<String, BadModelName> {
    let id = model_id(model)?;
    Ok(match method {
        Method::Generate => format!("models/{id}:generateContent"),
        Method::Stream => format!("models/{id}:streamGenerateContent?alt=sse"),
        Method::CountTokens => format!("models/{id}:countTokens"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_model_and_method() {
        let cases = [
            (
                "gemini-2.5-flash",
                Method::Generate,
                Ok("models/gemini-2.5-flash:generateContent"),
            ),
            (
                "models/gemini-2.5-pro",
                Method::Stream,
                Ok("models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
            ),
            (
                "gemini-3-pro-preview",
                Method::CountTokens,
                Ok("models/gemini-3-pro-preview:countTokens"),
            ),
            ("", Method::Generate, Err(())),
            ("a/b", Method::Generate, Err(())),
            ("x:generateContent?key=1", Method::Generate, Err(())),
            ("a b", Method::Generate, Err(())),
            ("a%2F", Method::Generate, Err(())),
            (
                "mock+tool_calls=2",
                Method::Generate,
                Ok("models/mock+tool_calls=2:generateContent"),
            ),
        ];
        for (model, method, expected) in cases {
            let got = path(model, method);
            match expected {
                Ok(p) => assert_eq!(got.as_deref(), Ok(p)),
                Err(()) => assert_eq!(got, Err(BadModelName(model.to_owned()))),
            }
        }
    }
}
