//! Credentials: mostly the valid all-models key (so most cases reach the
//! handlers), sometimes the limited key, sometimes a broken `Authorization` or
//! `api-key` header. Each variant says whether it should authenticate, though
//! the barrage only relies on that for its untouched control requests.

use fastrand::Rng;
use reqwest::header::{HeaderName, HeaderValue};

use super::headers::{header, legal_value_bytes};
use super::{ascii, Keys};

type Pairs = Vec<(&'static str, Vec<u8>)>;

/// Auth headers for a body or route case; `true` when they hold a valid
/// all-models key.
pub(super) fn with_auth(rng: &mut Rng, keys: &Keys) -> (Vec<(HeaderName, HeaderValue)>, bool) {
    let roll = rng.usize(0..100);
    let (pairs, valid): (Pairs, bool) = if roll < 80 {
        (
            vec![("authorization", format!("Bearer {}", keys.all).into_bytes())],
            true,
        )
    } else if roll < 88 {
        let limited = format!("Bearer {}", keys.limited).into_bytes();
        (vec![("authorization", limited)], false)
    } else {
        auth_variant(rng, keys)
    };
    let headers = pairs
        .iter()
        .filter_map(|(name, value)| header(name, value))
        .collect();
    (headers, valid)
}

/// An Authorization / api-key variant; `true` when it is a valid all-models key.
pub(super) fn auth_variant(rng: &mut Rng, keys: &Keys) -> (Pairs, bool) {
    let all = keys.all.as_bytes();
    let bearer = |key: &[u8]| [&b"Bearer "[..], key].concat();
    match rng.usize(0..26) {
        0 => (vec![], false),
        1 => (vec![("authorization", b"Bearer".to_vec())], false),
        2 => (vec![("authorization", b"Bearer ".to_vec())], false),
        3 => (vec![("authorization", [b"Bearer  ", all].concat())], true),
        4 => (vec![("authorization", [b"bearer ", all].concat())], true),
        5 => (vec![("authorization", [b"BEARER ", all].concat())], true),
        6 => (vec![("authorization", [b"Bearer\t", all].concat())], false),
        7 => (
            vec![("authorization", b"Basic dXNlcjpwYXNz".to_vec())],
            false,
        ),
        8 => (vec![("authorization", [b"Token ", all].concat())], false),
        9 => (vec![("authorization", all.to_vec())], false),
        10 => (
            vec![("authorization", [&bearer(all)[..], b"\xff"].concat())],
            false,
        ),
        11 => {
            let junk = legal_value_bytes(rng, 40);
            (vec![("authorization", bearer(&junk))], false)
        }
        12 => {
            let long = ascii(rng, 8_000);
            (vec![("authorization", bearer(long.as_bytes()))], false)
        }
        13 => {
            let long = ascii(rng, 60_000);
            (vec![("authorization", bearer(long.as_bytes()))], false)
        }
        14 => (vec![("authorization", bearer(b"sk-wrong"))], false),
        15 => (
            vec![("authorization", bearer(keys.limited.as_bytes()))],
            false,
        ),
        16 => (
            vec![
                ("authorization", bearer(all)),
                ("authorization", bearer(b"sk-wrong")),
            ],
            true,
        ),
        17 => (
            vec![
                ("authorization", bearer(b"sk-wrong")),
                ("authorization", bearer(all)),
            ],
            false,
        ),
        18 => (vec![("api-key", all.to_vec())], true),
        19 => (vec![("api-key", Vec::new())], false),
        20 => (vec![("api-key", b"\xe9\xe8".to_vec())], false),
        21 => (
            vec![
                ("authorization", b"Basic x".to_vec()),
                ("api-key", all.to_vec()),
            ],
            false,
        ),
        22 => (
            vec![("authorization", [&bearer(all)[..], b" \t"].concat())],
            true,
        ),
        23 => (vec![("authorization", Vec::new())], false),
        24 => (
            vec![("authorization", [&bearer(all)[..], b" extra"].concat())],
            false,
        ),
        _ => (
            vec![("authorization", [b"Bearer ", all, b"\x80"].concat())],
            false,
        ),
    }
}
