//! Share tokens: 32 random bytes (256 bits) written as URL-safe base64 after
//! a `gws_` prefix (a leaked link is recognisable, and never mistaken for an
//! `sk-gw-` API key). The store keeps only the SHA-256 (`sha256:<hex>`, as for
//! keys), so a stolen table opens no link.

use crate::keys::KeyHash;

pub const PREFIX: &str = "gws_";
/// Characters after the prefix: 256 bits at 6 bits each, rounded up.
pub const LEN: usize = 43;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A fresh token.
pub fn mint() -> Result<String, getrandom::Error> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    Ok(encode(&random))
}

/// `gws_` and the unpadded URL-safe base64 of `bytes`.
fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(PREFIX.len() + bytes.len().div_ceil(3) * 4);
    text.push_str(PREFIX);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            text.push(char::from(ALPHABET[index as usize]));
        }
    }
    text
}

/// Whether `text` has a token's shape; anything else is refused before a
/// hash or a store read is spent on it.
pub fn well_formed(text: &str) -> bool {
    text.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == LEN && rest.bytes().all(|b| ALPHABET.contains(&b)))
}

/// What the store keeps of a token.
pub fn hash(token: &str) -> String {
    KeyHash::of(token).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_256_bit_and_distinct() {
        let a = mint().unwrap();
        let b = mint().unwrap();
        assert_ne!(a, b);
        for token in [&a, &b] {
            assert!(well_formed(token), "{token}");
            assert_eq!(token.len(), PREFIX.len() + LEN);
        }
        assert!(hash(&a).starts_with("sha256:") && !hash(&a).contains(&a[4..]));
    }

    #[test]
    fn encoding_is_base64url() {
        // RFC 4648 test vectors, URL-safe alphabet, no padding.
        for (bytes, text) in [
            (&b"f"[..], "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
        ] {
            assert_eq!(encode(bytes), format!("{PREFIX}{text}"));
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = mint().unwrap();
        for bad in [
            "",
            "gws_",
            &good[..good.len() - 1],
            &format!("{good}A"),
            &good.replace("gws_", "sk-gw-"),
            &format!("gws_{}", "!".repeat(LEN)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
