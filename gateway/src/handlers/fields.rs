//! Fields every OpenAI-format handler (chat, legacy completions, embeddings)
//! reads alike from the raw body: the model for the usage event, the hashed
//! `user` tag, and `stream_options.include_usage`. One reading each, so the
//! routes cannot drift in what they accept or how they refuse it. Routing
//! requirements and each route's own required fields stay with its handler.

use serde::Deserialize;

use crate::error::GatewayError;
use crate::openai::request::{RawObject, Text};
use crate::routing::RoutingTable;
use analytics::event::UserTagKey;

/// The request's model for its event if the gateway knows the name; a name it
/// does not know is recorded as [`crate::usage_event::UNKNOWN_MODEL`], whatever
/// the client wrote.
pub(crate) fn known_model(table: &RoutingTable, object: &RawObject<'_>) -> Option<String> {
    let model = object.optional::<Text>("model", "a string").ok()??;
    table.knows(&model.0).then(|| model.0.into_owned())
}

/// The tag of the request's `user` field, if any: it may name a person, so only
/// its keyed hash is kept.
pub(crate) fn tag_user(user_tags: &UserTagKey, object: &RawObject<'_>) -> Option<String> {
    let user = object.optional::<Text>("user", "a string").ok().flatten()?;
    Some(user_tags.tag(&user.0))
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// Whether the client asked for the final usage chunk of a stream
/// (`stream_options.include_usage`); absent or `null` options mean no, and
/// options that are not an object are refused. The object is read only when
/// present, so a request without it costs one lookup.
pub(crate) fn client_wants_usage(object: &RawObject<'_>) -> Result<bool, GatewayError> {
    let options = match object.get("stream_options").map(|raw| raw.get()) {
        None | Some("null") => None,
        Some(raw) if raw.starts_with('{') => {
            object.optional::<StreamOptions>("stream_options", "an object")?
        }
        Some(_) => {
            return Err(GatewayError::invalid(
                "Invalid type for 'stream_options': expected an object.",
                Some("stream_options"),
            ))
        }
    };
    Ok(options.and_then(|o| o.include_usage).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants(body: &str) -> Result<bool, String> {
        let object = RawObject::parse(body.as_bytes()).map_err(|e| e.to_string())?;
        client_wants_usage(&object).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_include_usage_and_refuses_a_non_object() {
        assert_eq!(wants(r#"{}"#), Ok(false));
        assert_eq!(wants(r#"{"stream_options":null}"#), Ok(false));
        assert_eq!(wants(r#"{"stream_options":{}}"#), Ok(false));
        assert_eq!(
            wants(r#"{"stream_options":{"include_usage":false,"x":1}}"#),
            Ok(false)
        );
        assert_eq!(
            wants(r#"{"stream_options":{"include_usage":true}}"#),
            Ok(true)
        );
        for bad in [
            r#"{"stream_options":[]}"#,
            r#"{"stream_options":true}"#,
            r#"{"stream_options":"yes"}"#,
            r#"{"stream_options":{"include_usage":"yes"}}"#,
        ] {
            let message = wants(bad).unwrap_err();
            assert!(message.contains("stream_options"), "{bad}: {message}");
        }
    }
}
