//! Tool call ids across a Gemini round trip.
//!
//! Gemini usually names no id for a function call, yet every client format
//! needs one to match a tool result to its call; and a thinking model signs its
//! first function call (`thoughtSignature`), a signature Gemini 3 refuses to do
//! without when the call is sent back. The gateway's model has no place for a
//! signature on a tool call, and clients echo only the id, so both travel in the
//! id we hand out:
//!
//! - the base is Gemini's own id when it gave one, else `gcall_{answer}_{index}`
//!   (the answer's `responseId`, sanitized; the same answer always gives the same
//!   ids, and ids of different answers differ);
//! - a signature in standard base64 follows after `__ts__`, rewritten in the
//!   URL-safe alphabet without padding, so the id keeps to `[A-Za-z0-9_-]` (the
//!   pattern Anthropic's `tool_use` ids must match); a signature already in
//!   that alphabet follows after `__tr__` as is; any other signature is dropped.
//!
//! Going back, an id we generated is not sent to Gemini (it never saw it), any
//! other base is (Gemini's own id, or another provider's id, which Gemini
//! accepts as an opaque string).

/// The prefix of ids we made up.
const GENERATED: &str = "gcall_";
/// Before a signature rewritten from standard base64.
const SIGNED_BASE64: &str = "__ts__";
/// Before a signature kept as is.
const SIGNED_RAW: &str = "__tr__";

/// The id for the function call at `index` of an answer.
pub fn encode(
    gemini_id: Option<&str>,
    response_id: Option<&str>,
    index: usize,
    signature: Option<&str>,
) -> String {
    let mut id = match gemini_id.filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let answer: String = response_id
                .unwrap_or("gemini")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(64)
                .collect();
            format!("{GENERATED}{answer}_{index}")
        }
    };
    if let Some(signature) = signature {
        if is_padded_base64(signature) {
            id.push_str(SIGNED_BASE64);
            id.extend(signature.chars().filter(|c| *c != '=').map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            }));
        } else if !signature.is_empty() && signature.chars().all(is_url_safe) {
            id.push_str(SIGNED_RAW);
            id.push_str(signature);
        }
    }
    id
}

/// What an id carries for Gemini.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The id to send as `functionCall.id` / `functionResponse.id`, if any.
    pub gemini_id: Option<&'a str>,
    pub signature: Option<String>,
}

/// Reads back what [`encode`] put in `id` (any other id is a plain base).
pub fn decode(id: &str) -> Decoded<'_> {
    let (base, signature) = if let Some((base, sig)) = id.split_once(SIGNED_BASE64) {
        let mut standard: String = sig
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        while !standard.len().is_multiple_of(4) {
            standard.push('=');
        }
        (base, Some(standard))
    } else if let Some((base, sig)) = id.split_once(SIGNED_RAW) {
        (base, Some(sig.to_owned()))
    } else {
        (id, None)
    };
    let gemini_id = (!base.is_empty() && !base.starts_with(GENERATED)).then_some(base);
    Decoded {
        gemini_id,
        signature: signature.filter(|s| !s.is_empty()),
    }
}

fn is_url_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Standard base64 with its padding, so stripping and re-adding `=` is exact.
fn is_padded_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !s.is_empty()
        && s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (Gemini id, response id, index, signature, our id, Gemini id sent back).
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        usize,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
    );

    #[test]
    fn ids_carry_gemini_ids_and_signatures_both_ways() {
        // (gemini id, response id, index, signature) -> id; decoded gemini id and signature.
        let cases: &[Case] = &[
            (None, Some("mTxk-aN3"), 0, None, "gcall_mTxkaN3_0", None),
            (None, None, 2, None, "gcall_gemini_2", None),
            (Some("fc_1"), Some("r"), 0, None, "fc_1", Some("fc_1")),
            (
                None,
                Some("r"),
                1,
                Some("ab+/cd=="),
                "gcall_r_1__ts__ab-_cd",
                None,
            ),
            (
                Some("x"),
                None,
                0,
                Some("abc-_d"),
                "x__tr__abc-_d",
                Some("x"),
            ),
            // Not base64 and not URL-safe: the signature cannot travel.
            (None, Some("r"), 0, Some("a b"), "gcall_r_0", None),
            (None, Some("r"), 0, Some(""), "gcall_r_0", None),
        ];
        for (gemini_id, response_id, index, signature, id, sent) in cases {
            let made = encode(*gemini_id, *response_id, *index, *signature);
            assert_eq!(made, *id);
            assert!(made
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            let decoded = decode(&made);
            assert_eq!(decoded.gemini_id, *sent, "{made}");
            let carried = signature.filter(|s| !s.is_empty() && *s != "a b");
            assert_eq!(decoded.signature.as_deref(), carried, "{made}");
        }
    }

    #[test]
    fn foreign_ids_pass_as_gemini_ids_without_signature() {
        for id in ["call_abc123", "toolu_01A09q90qw90lq917835lq9"] {
            assert_eq!(
                decode(id),
                Decoded {
                    gemini_id: Some(id),
                    signature: None
                }
            );
        }
        assert_eq!(decode("").gemini_id, None);
    }

    #[test]
    fn real_signatures_round_trip() {
        for sig in [
            "CiQBcsjafE2dNT4Dj1RtAXNzIC8x",
            "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==",
            "a+b/cw==",
        ] {
            let id = encode(None, Some("r"), 0, Some(sig));
            assert_eq!(decode(&id).signature.as_deref(), Some(sig));
        }
    }
}
