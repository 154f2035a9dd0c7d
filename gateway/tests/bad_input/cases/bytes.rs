//! Byte-level damage to a body: flipped bits, cuts, inserted garbage, invalid
//! UTF-8, NULs, swapped punctuation. Shared by the reqwest body cases and the raw
//! TCP ones, so the same damage is seen with and without a client's framing.

use fastrand::Rng;

use super::{pick, random_bytes};

/// One byte-level mutation; returns its name.
pub(super) fn mutate_bytes(rng: &mut Rng, body: &mut Vec<u8>) -> &'static str {
    if body.is_empty() {
        body.push(rng.u8(..));
        return "insert_random";
    }
    let len = body.len();
    match rng.usize(0..11) {
        0 => {
            for _ in 0..rng.usize(1..=8) {
                let i = rng.usize(..len);
                body[i] ^= 1 << rng.u32(0..8);
            }
            "bit_flip"
        }
        1 => {
            let i = rng.usize(..len);
            body[i] = rng.u8(..);
            "byte_replace"
        }
        2 => {
            body.truncate(rng.usize(..len));
            "truncate"
        }
        3 => {
            let at = rng.usize(..=len);
            let count = rng.usize(1..=32);
            let insert = random_bytes(rng, count);
            body.splice(at..at, insert);
            "insert_random"
        }
        4 => {
            let sequence: &[u8] = pick(
                rng,
                &[
                    &b"\xff"[..],
                    b"\xfe\xff",
                    b"\xc0\x80",
                    b"\xed\xa0\x80",
                    b"\xf4\x90\x80\x80",
                    b"\x80",
                    b"\xe2\x82",
                    b"\xf8\x88\x80\x80\x80",
                ],
            );
            let at = rng.usize(..=len);
            body.splice(at..at, sequence.iter().copied());
            "invalid_utf8"
        }
        5 => {
            let at = rng.usize(..=len);
            let count = rng.usize(1..=4);
            body.splice(at..at, std::iter::repeat_n(0u8, count));
            "nul_bytes"
        }
        6 => {
            let start = rng.usize(..len);
            let end = (start + rng.usize(1..=64)).min(len);
            body.drain(start..end);
            "delete_slice"
        }
        7 => {
            let start = rng.usize(..len);
            let end = (start + rng.usize(1..=64)).min(len);
            let slice = body[start..end].to_vec();
            let at = rng.usize(..=len);
            body.splice(at..at, slice);
            "duplicate_slice"
        }
        8 => {
            const STRUCTURAL: &[u8] = b"{}[]:,\"\\";
            let positions: Vec<usize> = body
                .iter()
                .enumerate()
                .filter(|(_, b)| STRUCTURAL.contains(b))
                .map(|(i, _)| i)
                .collect();
            if !positions.is_empty() {
                let i = pick(rng, &positions);
                body[i] = pick(rng, STRUCTURAL);
            }
            "structural_swap"
        }
        9 => {
            let prefix: &[u8] = pick(rng, &[&b"\xef\xbb\xbf"[..], b"\x00", b")]}'\n", b"\x1b"]);
            body.splice(0..0, prefix.iter().copied());
            "prefix"
        }
        _ => {
            let fragment: &str = pick(
                rng,
                &[
                    ",",
                    ":",
                    "\"",
                    "{",
                    "}",
                    "[",
                    "]",
                    "\\",
                    "\"model\":",
                    ",\"model\":\"x\"",
                    "\\u0000",
                    "/*c*/",
                    "//",
                    "\\ud800",
                ],
            );
            let at = rng.usize(..=len);
            body.splice(at..at, fragment.bytes());
            "insert_fragment"
        }
    }
}
