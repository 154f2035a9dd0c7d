//! Raw requests with broken HTTP/1.1 framing: lying, invalid or duplicate
//! `Content-Length`, bad chunked encoding, unknown `Transfer-Encoding`, broken
//! request lines, header syntax hyper refuses, random bytes, an HTTP/2 preface
//! followed by garbage, requests cut off. hyper may answer these itself (an empty
//! 4xx) or close the connection; the app, if it answers, must still answer well.

use fastrand::Rng;

use super::raw::{assemble, chunked, set_raw, with_length, Base, Raw, RawHeaders};
use super::{ascii, pick, random_bytes, Expect, MAX_BODY};

/// The malformed variant numbered `roll` (0..14) of `base`.
pub(super) fn malformed(rng: &mut Rng, mut base: Base, roll: usize) -> Raw {
    let (line, headers) = (&base.line, &mut base.headers);
    match roll {
        0 => {
            let declared = base.body.len() + rng.usize(1..5_000);
            set_raw(headers, "Content-Length", declared.to_string().into_bytes());
            Raw::framing("cl_bigger", assemble(line, headers, &base.body), true)
        }
        1 => {
            if base.body.is_empty() {
                base.body = b"{\"junk\":1}".to_vec();
            }
            let declared = rng.usize(0..base.body.len());
            set_raw(headers, "Content-Length", declared.to_string().into_bytes());
            Raw::framing("cl_smaller", assemble(line, headers, &base.body), false)
        }
        2 => {
            let value: &[u8] = pick(
                rng,
                &[
                    &b"-1"[..],
                    b"abc",
                    b"+5",
                    b"0x10",
                    b"5 5",
                    b"",
                    b"99999999999999999999999",
                    b"1e3",
                    b"\xff",
                    b"18446744073709551616",
                ],
            );
            set_raw(headers, "Content-Length", value.to_vec());
            Raw::framing("cl_invalid", assemble(line, headers, &base.body), true)
        }
        3 => {
            let mut headers = with_length(headers, &base.body);
            let second = (base.body.len() + 1).to_string().into_bytes();
            headers.push((b"Content-Length".to_vec(), second));
            Raw::framing("cl_duplicate", assemble(line, &headers, &base.body), true)
        }
        4 => {
            let declared = MAX_BODY + 1 + rng.usize(0..10_000_000);
            set_raw(headers, "Content-Length", declared.to_string().into_bytes());
            let bytes = assemble(line, headers, &base.body);
            if base.method == "POST" {
                // Refused from the declared length alone, before any body arrives.
                Raw::complete("cl_over_limit", bytes, Expect::ClientError)
            } else {
                // A GET handler does not read the body, so hyper is left waiting.
                Raw::framing("cl_over_limit", bytes, true)
            }
        }
        5 => {
            let encoded = bad_chunked(rng, &base.body);
            set_raw(headers, "Transfer-Encoding", b"chunked".to_vec());
            Raw::framing("chunked_bad", assemble(line, headers, &encoded), true)
        }
        6 => {
            let encoded = chunked(rng, &base.body, false);
            set_raw(headers, "Transfer-Encoding", b"chunked".to_vec());
            headers.push((b"Content-Length".to_vec(), b"3".to_vec()));
            Raw::framing("te_and_cl", assemble(line, headers, &encoded), false)
        }
        7 => {
            let value: &[u8] = pick(
                rng,
                &[
                    &b"gzip"[..],
                    b"identity",
                    b"chunked, gzip",
                    b"\xff",
                    b"chunked\x01",
                    b"chunked, chunked",
                ],
            );
            set_raw(headers, "Transfer-Encoding", value.to_vec());
            Raw::framing("te_weird", assemble(line, headers, &base.body), true)
        }
        8 => {
            let line = bad_request_line(rng, &base);
            let bytes = assemble(&line, &with_length(&base.headers, &base.body), &base.body);
            Raw::framing("request_line", bytes, false)
        }
        9 => {
            let mut headers = with_length(headers, &base.body);
            let entry = bad_header(rng, &mut headers);
            headers.insert(1, entry);
            Raw::framing(
                "header_garbage",
                assemble(line, &headers, &base.body),
                false,
            )
        }
        10 => {
            let len = rng.usize(1..2_000);
            Raw::framing("garbage", random_bytes(rng, len), true)
        }
        11 => {
            let len = rng.usize(0..200);
            let preface = &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..];
            let bytes = [preface, &random_bytes(rng, len)].concat();
            Raw::framing("h2_preface", bytes, true)
        }
        12 => {
            let mut bytes = assemble(line, &with_length(headers, &base.body), &base.body);
            bytes.truncate(rng.usize(..bytes.len()));
            Raw::framing("incomplete", bytes, true)
        }
        _ => {
            let bytes: &[u8] = pick(rng, &[&b""[..], b"\r\n", b"\r\n\r\n\r\n", b"\n\n", b" "]);
            Raw::framing("empty", bytes.to_vec(), true)
        }
    }
}

/// `body` in chunked encoding that is wrong in one way.
fn bad_chunked(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let end = &b"\r\n0\r\n\r\n"[..];
    match rng.usize(0..12) {
        0 => [&b"zz\r\n"[..], body, end].concat(),
        1 => [&b"-1\r\n"[..], body, end].concat(),
        2 => [&b"ffffffffffffffffffff\r\n"[..], body, end].concat(),
        3 => [format!("{:x}\r\n", n + 100).as_bytes(), body, end].concat(),
        4 => [format!("{:x}\r\n", n / 2).as_bytes(), body, end].concat(),
        5 => [format!("{n:x}\r\n").as_bytes(), body, b"0\r\n\r\n"].concat(),
        6 => [format!("{n:x}\r\n").as_bytes(), body, b"\r\n"].concat(),
        7 => [
            format!("{n:x}").as_bytes(),
            b";\xff\x00=\x01\r\n",
            body,
            end,
        ]
        .concat(),
        8 => [
            format!("{n:x}\r\n").as_bytes(),
            body,
            b"\r\n0\r\nbad trailer\r\n\r\n",
        ]
        .concat(),
        9 => [format!(" {n:x} \r\n").as_bytes(), body, end].concat(),
        10 => [format!("0x{n:x}\r\n").as_bytes(), body, end].concat(),
        _ => [format!("{n:x}\n").as_bytes(), body, b"\n0\n\n"].concat(),
    }
}

/// A request line hyper cannot parse or will not accept.
fn bad_request_line(rng: &mut Rng, base: &Base) -> Vec<u8> {
    let (method, path) = (base.method, base.path);
    match rng.usize(0..13) {
        0 => {
            let len = rng.usize(1..100);
            random_bytes(rng, len)
                .into_iter()
                .filter(|b| *b != b'\n' && *b != b'\r')
                .collect()
        }
        1 => {
            let mut line = base.line.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..line.len());
                line[i] ^= 1 << rng.u32(0..8);
            }
            line
        }
        2 => format!("{method} {path}").into_bytes(),
        3 => format!("{method} {path} HTTP/1.1 extra").into_bytes(),
        4 => format!("{method}  {path}  HTTP/1.1").into_bytes(),
        5 => format!("{method}\t{path}\tHTTP/1.1").into_bytes(),
        6 => {
            let version = pick(
                rng,
                &[
                    "HTTP/1.2",
                    "HTTP/2",
                    "HTTP/3.0",
                    "HTTP/1",
                    "HTTPS/1.1",
                    "http/1.1",
                    "HTTP/1.1\0",
                ],
            );
            format!("{method} {path} {version}").into_bytes()
        }
        7 => [method.as_bytes(), b" /v1/\x00\xff\xfe", b" HTTP/1.1"].concat(),
        8 => format!("{method} /v1/{} HTTP/1.1", "a".repeat(100_000)).into_bytes(),
        9 => format!(" {path} HTTP/1.1").into_bytes(),
        10 => [&b"\r\n\r\n"[..], &base.line].concat(),
        11 => format!("{} {path} HTTP/1.1", "A".repeat(10_000)).into_bytes(),
        _ => format!("{method} /v1 /models HTTP/1.1").into_bytes(),
    }
}

/// A header hyper refuses, inserted after `Host`; some variants also add many
/// headers to `headers`.
fn bad_header(rng: &mut Rng, headers: &mut RawHeaders) -> (Vec<u8>, Vec<u8>) {
    match rng.usize(0..10) {
        0 => (b"X-A".to_vec(), b"a\r\n folded".to_vec()),
        1 => (b"NoColonHere".to_vec(), Vec::new()),
        2 => (b"X-A ".to_vec(), b"space before colon".to_vec()),
        3 => (b"X-A".to_vec(), b"nul\x00inside".to_vec()),
        4 => (b"X-A".to_vec(), b"bare\rcr".to_vec()),
        5 => (random_bytes(rng, 10), b"v".to_vec()),
        6 => {
            for i in 0..150 {
                headers.push((format!("X-N{i}").into_bytes(), b"1".to_vec()));
            }
            (b"X-Last".to_vec(), b"1".to_vec())
        }
        7 => (b"X-Huge".to_vec(), ascii(rng, 500_000).into_bytes()),
        8 => (Vec::new(), b"empty name".to_vec()),
        _ => (b"X-Lf".to_vec(), b"a\nX-B: b".to_vec()),
    }
}
