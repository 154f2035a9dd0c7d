//! Share link passwords: PBKDF2-HMAC-SHA256 (RFC 8018) with a random 16-byte
//! salt, kept as `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` so the
//! work factor can rise later without breaking stored links. Checked in
//! constant time. HMAC is the alerts' own (`alerts::sign`), on `sha2`.
//!
//! Hashing is deliberately slow (about [`ITERATIONS`] x 4 SHA-256 blocks):
//! callers run it off the async workers (`spawn_blocking`), and the public
//! routes' rate limits bound how many guesses an address or a link gets.

use crate::alerts::sign::hmac_sha256;

pub const ITERATIONS: u32 = 100_000;
/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (bytes): hashing cost must not grow with input.
pub const MAX_LEN: usize = 256;
const SCHEME: &str = "pbkdf2-sha256";

/// The first (and, for a 32-byte key, only) block of PBKDF2-HMAC-SHA256.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The stored form of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, getrandom::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    Ok(hash_with(password, &salt, ITERATIONS))
}

fn hash_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let derived = pbkdf2_sha256(password.as_bytes(), salt, iterations);
    format!("{SCHEME}${iterations}${}${}", hex(salt), hex(&derived))
}

/// Whether `password` is the one `stored` was made from. A stored value that
/// cannot be read matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(expected)) =
        (iterations.parse::<u32>(), unhex(salt), unhex(expected))
    else {
        return false;
    };
    if iterations == 0 || password.len() > MAX_LEN {
        return false;
    }
    let derived = pbkdf2_sha256(password.as_bytes(), &salt, iterations);
    constant_time_eq(&derived, &expected)
}

/// Equal slices, in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PBKDF2-HMAC-SHA256 test vectors (RFC 7914 section 11 and the widely
    /// published set for "password"/"salt").
    #[test]
    fn pbkdf2_matches_published_vectors() {
        for (password, salt, iterations, expected) in [
            (
                "password",
                "salt",
                1,
                "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            ),
            (
                "password",
                "salt",
                2,
                "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            ),
            (
                "password",
                "salt",
                4096,
                "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
            ),
            (
                "passwd",
                "salt",
                1,
                "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
            ),
        ] {
            let derived = pbkdf2_sha256(password.as_bytes(), salt.as_bytes(), iterations);
            assert_eq!(hex(&derived), expected, "{password} {iterations}");
        }
    }

    #[test]
    fn only_the_password_verifies() {
        let stored = hash_with("correct horse", b"0123456789abcdef", 10);
        assert!(verify("correct horse", &stored));
        for wrong in ["correct hors", "Correct horse", "", "correct horse "] {
            assert!(!verify(wrong, &stored), "{wrong}");
        }
        for broken in [
            "",
            "pbkdf2-sha256$10$zz$00",
            &stored.replace("pbkdf2-sha256", "md5"),
            &format!("{stored}$x"),
            &stored.replace("$10$", "$0$"),
        ] {
            assert!(!verify("correct horse", broken), "{broken}");
        }
        let fresh = hash("correct horse").unwrap();
        assert_ne!(fresh, hash("correct horse").unwrap(), "salted");
        assert!(fresh.starts_with(&format!("{SCHEME}${ITERATIONS}$")));
        assert!(!fresh.contains("correct"));
    }
}
