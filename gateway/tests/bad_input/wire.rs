//! Raw TCP: write a case's bytes to a fresh connection, read until the server
//! closes, and parse the HTTP/1.x answers out of what came back. Hand-written,
//! because a client library would refuse to send most of these requests and
//! would hide how the server ended the connection.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cases::RawCase;
use crate::check::{judge, shown, Answer, Seen};
use crate::send::ANSWER_WITHIN;

/// A raw request the server still waits on after this is told "no more bytes".
const NUDGE_AFTER: Duration = Duration::from_secs(2);

pub async fn run_raw(addr: SocketAddr, case: &RawCase, framing: bool) -> Result<Seen, String> {
    let (data, nudged) = exchange(addr, case).await?;
    if data.is_empty() {
        return if framing {
            Ok(Seen::Closed)
        } else if nudged {
            Err(format!("no answer within {NUDGE_AFTER:?}"))
        } else {
            Err("connection closed without an answer".into())
        };
    }
    let head = case.bytes.starts_with(b"HEAD ");
    let answers = match parse_answers(&data, head) {
        Ok(answers) if !answers.is_empty() => answers,
        _ if framing => return Ok(Seen::Closed),
        Ok(_) => return Err("only interim answers".into()),
        Err(e) => return Err(format!("unparseable answer ({e}): {}", shown(&data, 600))),
    };
    let mut first = None;
    for (i, answer) in answers.iter().enumerate() {
        // Bytes left after a request that lied about its length are framing garbage.
        let seen = judge(answer, head && i == 0, framing || i > 0)
            .map_err(|e| format!("answer {i}: {e}"))?;
        first.get_or_insert(seen);
    }
    first.ok_or_else(|| "no answer".to_owned())
}

/// Sends raw bytes and reads until the server closes. If the server still waits
/// after [`NUDGE_AFTER`], our write side is shut so it sees the end of input.
/// Returns what was read and whether that nudge was needed.
async fn exchange(addr: SocketAddr, raw: &RawCase) -> Result<(Vec<u8>, bool), String> {
    let started = tokio::time::Instant::now();
    let mut stream = tokio::time::timeout(NUDGE_AFTER, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    // The server may answer and close before reading it all; a failed write is fine.
    let _ = tokio::time::timeout(NUDGE_AFTER, stream.write_all(&raw.bytes)).await;
    if raw.half_close {
        let _ = stream.shutdown().await;
    }
    let mut out = Vec::new();
    let mut nudged = raw.half_close;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let deadline = if nudged {
            started + ANSWER_WITHIN - Duration::from_millis(250)
        } else {
            started + NUDGE_AFTER
        };
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) if !nudged => {
                nudged = true;
                let _ = stream.shutdown().await;
            }
            Err(_) => {
                return Err(format!(
                    "connection still open after {ANSWER_WITHIN:?}; got {} bytes: {}",
                    out.len(),
                    shown(&out, 300)
                ))
            }
        }
    }
    Ok((out, nudged && !raw.half_close))
}

/// Parses the HTTP/1.x answers in `data`, skipping interim 1xx answers.
fn parse_answers(mut data: &[u8], head: bool) -> Result<Vec<Answer>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let end = find(data, b"\r\n\r\n").ok_or("answer head not terminated")?;
        let head_text = String::from_utf8_lossy(&data[..end]).into_owned();
        data = &data[end + 4..];
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        if !status_line.starts_with("HTTP/1.") {
            return Err(format!("not an HTTP/1 status line: {status_line:?}"));
        }
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("no status code")?;
        let mut answer = Answer {
            status,
            content_type: String::new(),
            from_app: false,
            body: Vec::new(),
        };
        let mut content_length = None;
        let mut is_chunked = false;
        for line in lines {
            let (name, value) = line.split_once(':').ok_or("header without colon")?;
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-type" => answer.content_type = value.to_owned(),
                "content-length" => content_length = value.parse::<usize>().ok(),
                "transfer-encoding" => is_chunked = value.eq_ignore_ascii_case("chunked"),
                "x-request-id" => answer.from_app = true,
                _ => {}
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        if (head && out.is_empty()) || status == 204 || status == 304 {
            // No body.
        } else if is_chunked {
            answer.body = decode_chunked(&mut data)?;
        } else if let Some(len) = content_length {
            if data.len() < len {
                return Err("body shorter than content-length".into());
            }
            let (body, rest) = data.split_at(len);
            answer.body = body.to_vec();
            data = rest;
        } else {
            answer.body = std::mem::take(&mut data).to_vec();
        }
        out.push(answer);
    }
    Ok(out)
}

fn decode_chunked(data: &mut &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = find(data, b"\r\n").ok_or("chunk size line not terminated")?;
        let size_text = std::str::from_utf8(&data[..end]).map_err(|e| e.to_string())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|e| format!("chunk size: {e}"))?;
        *data = &data[end + 2..];
        if size == 0 {
            let end = if data.starts_with(b"\r\n") {
                2
            } else {
                find(data, b"\r\n\r\n").ok_or("no end after the trailers")? + 4
            };
            *data = &data[end..];
            return Ok(body);
        }
        if data.len() < size + 2 {
            return Err("chunk cut short".into());
        }
        body.extend_from_slice(&data[..size]);
        *data = &data[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
