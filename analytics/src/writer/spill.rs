//! The writer's two files on local disk, both JSON lines:
//!
//! - the spill file: events held while the store is unavailable. The writer
//!   replays it a chunk at a time from a byte offset (never the whole file in
//!   memory) and removes it once every event in it is in the store or in the
//!   dead-letter file.
//! - the dead-letter file: events the store refused, each with the reason, and
//!   spill lines that could not be read. The writer only ever appends to it; an
//!   operator can inspect it, fix the cause, and append it to the spill file
//!   (gateway stopped) to have its events written at the next start.
//!
//! Appends start on a fresh line, so a line torn by a crash or a full disk stays
//! one bad line instead of spoiling the next event, and a failed append cuts the
//! file back to its length before: a batch is in the file whole or not at all.
//! Reading tolerates any damage: a line that is not an event (torn, invalid
//! UTF-8, absurdly long) is skipped and reported, wherever it is; a line where an
//! older version glued a torn line to a whole event gives the event back.
//!
//! What does not belong here: when to spill or replay (the pipeline decides).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::UsageEvent;

/// Longest spill line read; an event is about 1 KB. Longer lines are damage.
pub(super) const MAX_LINE: usize = 1 << 20;
/// Where an event's JSON starts (its first field), to find one glued to a torn line.
const EVENT_START: &[u8] = b"{\"event_id\":";

/// One line of the dead-letter file.
#[derive(Debug, Serialize)]
pub(super) struct DeadLetter<'a> {
    pub at: DateTime<Utc>,
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a UsageEvent>,
    /// An unreadable spill line (lossy UTF-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<&'a str>,
}

/// A dead-letter line appended back to the spill file.
#[derive(Deserialize)]
struct Requeued {
    event: UsageEvent,
}

/// Appends `events`, one JSON line each.
pub(super) fn append_events(path: &Path, events: &[UsageEvent]) -> io::Result<()> {
    append(path, events.len(), |out| {
        for event in events {
            serde_json::to_writer(&mut *out, event)?;
            out.push(b'\n');
        }
        Ok(())
    })
}

/// Appends dead-letter records, one JSON line each.
pub(super) fn append_dead_letters(path: &Path, records: &[DeadLetter<'_>]) -> io::Result<()> {
    append(path, records.len(), |out| {
        for record in records {
            serde_json::to_writer(&mut *out, record)?;
            out.push(b'\n');
        }
        Ok(())
    })
}

/// Appends what `encode` writes, on a fresh line, synced; on failure the file
/// is cut back to where it was.
fn append(
    path: &Path,
    lines: usize,
    encode: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let before = file.metadata()?.len();
    let mut out = Vec::with_capacity(lines.saturating_mul(1_024).min(64 << 20) + 1);
    if !ends_a_line(&mut file, before)? {
        out.push(b'\n');
    }
    encode(&mut out)?;
    let written = file.write_all(&out).and_then(|()| file.sync_data());
    if written.is_err() {
        // Best effort: what stays of a failed append is one torn line, which
        // the next append closes and the reader skips.
        let _ = file.set_len(before).and_then(|()| file.sync_data());
    }
    written
}

/// Whether a file of `len` bytes is empty or ends with a newline.
fn ends_a_line(file: &mut File, len: u64) -> io::Result<bool> {
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// A line of the spill file that is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TornLine {
    /// Byte offset of the line in the spill file.
    pub offset: u64,
    /// The line (lossy UTF-8, at most [`MAX_LINE`] bytes of it).
    pub text: String,
}

/// Up to a chunk's worth of the spill file.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    pub events: Vec<UsageEvent>,
    pub torn: Vec<TornLine>,
    /// Offset after the last line read: where the next chunk starts.
    pub end: u64,
    /// Whether `end` is the end of the file.
    pub at_end: bool,
}

/// Reads lines from byte `from` until `max_events` events are read or the file
/// ends; `None` if there is no file.
pub(super) fn read_chunk(path: &Path, from: u64, max_events: usize) -> io::Result<Option<Chunk>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    reader.seek(SeekFrom::Start(from))?;
    let mut chunk = Chunk {
        end: from,
        ..Chunk::default()
    };
    let mut line = Vec::new();
    while chunk.events.len() < max_events.max(1) {
        let (consumed, too_long) = read_line(&mut reader, &mut line)?;
        if consumed == 0 {
            break;
        }
        let offset = chunk.end;
        chunk.end += consumed;
        let torn = |text: &[u8]| TornLine {
            offset,
            text: String::from_utf8_lossy(text).into_owned(),
        };
        match parse(&line) {
            _ if too_long => chunk.torn.push(torn(&line)),
            Parsed::Event(event) => chunk.events.push(event),
            Parsed::Glued(event, at) => {
                chunk.torn.push(torn(&line[..at]));
                chunk.events.push(event);
            }
            Parsed::Blank => {}
            Parsed::Torn => chunk.torn.push(torn(&line)),
        }
    }
    chunk.at_end = reader.fill_buf()?.is_empty();
    Ok(Some(chunk))
}

/// Reads one line (through its newline, or to the end of the file) into `line`
/// without the newline, keeping at most [`MAX_LINE`] bytes of it; returns the
/// bytes consumed and whether the line was longer than that.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<(u64, bool)> {
    line.clear();
    let mut consumed = 0u64;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let (content, take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, at + 1, true),
            None => (available.len(), available.len(), false),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        line.extend_from_slice(&available[..content.min(room)]);
        too_long |= content > room;
        reader.consume(take);
        consumed += take as u64;
        if done {
            break;
        }
    }
    Ok((consumed, too_long))
}

#[derive(Debug)]
enum Parsed {
    Event(UsageEvent),
    /// A whole event after a torn line glued to it (the offset where it starts).
    Glued(UsageEvent, usize),
    Blank,
    Torn,
}

fn parse(line: &[u8]) -> Parsed {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    if let Ok(event) = serde_json::from_slice::<UsageEvent>(line) {
        return Parsed::Event(event);
    }
    if let Ok(requeued) = serde_json::from_slice::<Requeued>(line) {
        return Parsed::Event(requeued.event);
    }
    // JSON escapes quotes inside strings, so this marker only ever starts an
    // event: the last one starts the last (possibly whole) event of the line.
    let start = line
        .windows(EVENT_START.len())
        .rposition(|window| window == EVENT_START);
    match start {
        Some(at) if at > 0 => match serde_json::from_slice::<UsageEvent>(&line[at..]) {
            Ok(event) => Parsed::Glued(event, at),
            Err(_) => Parsed::Torn,
        },
        _ => Parsed::Torn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;

    /// A fresh directory, removed with everything in it when dropped.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("analytics-spill-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self, name: &str) -> std::path::PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn events(n: usize) -> Vec<UsageEvent> {
        (0..n).map(|_| sample("t", Utc::now())).collect()
    }

    fn json(event: &UsageEvent) -> String {
        serde_json::to_string(event).unwrap()
    }

    /// The fresh-line rule: whatever the file ends with, an append starts on a
    /// line of its own and the appended events all read back.
    #[test]
    fn appends_start_on_a_fresh_line() {
        let first = events(2);
        let cases: [(&str, &[u8]); 4] = [
            ("empty file", b""),
            ("ends with a newline", b"{\"a\":1}\n"),
            ("torn last line", b"{\"event_id\":\"0190"),
            (
                "torn multi-byte character",
                "{\"tenant_id\":\"模".as_bytes(),
            ),
        ];
        for (what, start) in cases {
            let dir = TempDir::new();
            let path = dir.path("events.spill");
            std::fs::write(&path, start).unwrap();
            append_events(&path, &first).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(start), "{what}");
            let appended = &bytes[start.len()..];
            let expected_prefix: &[u8] = if start.is_empty() || start.ends_with(b"\n") {
                b""
            } else {
                b"\n"
            };
            assert!(appended.starts_with(expected_prefix), "{what}");
            assert_eq!(
                &appended[expected_prefix.len()..],
                format!("{}\n{}\n", json(&first[0]), json(&first[1])).as_bytes(),
                "{what}"
            );
            let chunk = read_chunk(&path, 0, 10).unwrap().unwrap();
            assert_eq!(chunk.events, first, "{what}");
            assert_eq!(chunk.torn.len(), usize::from(!start.is_empty()), "{what}");
            assert!(chunk.at_end);
        }
    }

    #[test]
    fn dead_letters_carry_the_reason_and_read_back_as_events() {
        let dir = TempDir::new();
        let path = dir.path("events.dead-letter");
        let event = sample("t", Utc::now());
        let records = [
            DeadLetter {
                at: Utc::now(),
                reason: "SQLSTATE P0001: tenant blocked",
                event: Some(&event),
                line: None,
            },
            DeadLetter {
                at: Utc::now(),
                reason: "unreadable spill line",
                event: None,
                line: Some("{\"event_id\":\"01"),
            },
        ];
        append_dead_letters(&path, &records).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["reason"], "SQLSTATE P0001: tenant blocked");
        assert_eq!(lines[0]["event"]["tenant_id"], "t");
        assert_eq!(lines[1]["line"], "{\"event_id\":\"01");
        // Requeued (appended to a spill file), the event reads back; the torn
        // line stays torn.
        let chunk = read_chunk(&path, 0, 10).unwrap().unwrap();
        assert_eq!(chunk.events, vec![event]);
        assert_eq!(chunk.torn.len(), 1);
    }

    /// Damage anywhere costs only the damaged line.
    #[test]
    fn torn_lines_anywhere_are_skipped_and_reported() {
        let good = events(4);
        let whole = json(&good[1]);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(format!("{}\n", json(&good[0])).as_bytes());
        // A torn line in the middle (a crash mid-append, then the fresh-line rule).
        bytes.extend_from_slice(&whole.as_bytes()[..40]);
        bytes.push(b'\n');
        // A torn multi-byte character (invalid UTF-8), then a blank line.
        let mut odd = good[2].clone();
        odd.requested_model = "模型".to_owned();
        let odd = json(&odd);
        let cut = odd.find('型').unwrap() + 1;
        bytes.extend_from_slice(&odd.as_bytes()[..cut]);
        bytes.extend_from_slice(b"\n\n");
        // A torn line glued to a whole event (written before the fresh-line rule).
        bytes.extend_from_slice(&whole.as_bytes()[..25]);
        bytes.extend_from_slice(format!("{whole}\n").as_bytes());
        // An absurdly long line.
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        bytes.push(b'\n');
        bytes.extend_from_slice(format!("{}\n", json(&good[3])).as_bytes());
        // A torn last line, no newline.
        bytes.extend_from_slice(&whole.as_bytes()[..10]);
        let dir = TempDir::new();
        let path = dir.path("events.spill");
        std::fs::write(&path, &bytes).unwrap();

        let chunk = read_chunk(&path, 0, 100).unwrap().unwrap();
        assert_eq!(
            chunk.events,
            vec![good[0].clone(), good[1].clone(), good[3].clone()]
        );
        let offsets: Vec<u64> = chunk.torn.iter().map(|t| t.offset).collect();
        assert_eq!(offsets.len(), 5, "{offsets:?}");
        assert_eq!(chunk.torn[1].text.chars().last(), Some('\u{fffd}'));
        assert_eq!(chunk.torn[2].text, &whole[..25]);
        assert_eq!(chunk.torn[3].text.len(), MAX_LINE);
        assert_eq!(chunk.end, bytes.len() as u64);
        assert!(chunk.at_end);
    }

    /// Chunks resume at the offset the previous one ended at.
    #[test]
    fn chunks_stream_the_file_from_an_offset() {
        let all = events(5);
        let dir = TempDir::new();
        let path = dir.path("events.spill");
        append_events(&path, &all).unwrap();
        let mut read = Vec::new();
        let mut offset = 0;
        loop {
            let chunk = read_chunk(&path, offset, 2).unwrap().unwrap();
            assert!(chunk.events.len() <= 2);
            read.extend(chunk.events);
            offset = chunk.end;
            if chunk.at_end {
                break;
            }
        }
        assert_eq!(read, all);
        assert!(read_chunk(&dir.path("missing"), 0, 2).unwrap().is_none());
    }
}
