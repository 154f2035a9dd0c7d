//! Server-sent events: splitting an upstream byte stream into whole events, and
//! the per-event rule that hides the usage chunk the gateway asked for on the
//! client's behalf. Pure code; the IO around it lives in `stream.rs`.

use bytes::{Buf, Bytes, BytesMut};
use pricing::TokenUsage;

use crate::openai::request::RawObject;
use crate::openai::usage;

/// Cuts a byte stream into SSE events. Each event is returned with its trailing
/// blank line, ready to forward unchanged.
#[derive(Debug, Default)]
pub struct EventSplitter {
    buf: BytesMut,
    /// Bytes of `buf` already searched for an event end.
    scanned: usize,
}

impl EventSplitter {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the buffer holds one.
    pub fn next_event(&mut self) -> Option<Bytes> {
        let start = self.scanned.saturating_sub(3);
        let end = find_event_end(&self.buf[start..]).map(|end| start + end);
        match end {
            Some(end) => {
                self.scanned = 0;
                Some(self.buf.split_to(end).freeze())
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }

    /// Bytes after the last complete event (a stream that ends here was cut).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn clear(&mut self) {
        self.buf.advance(self.buf.len());
        self.scanned = 0;
    }
}

/// Index just past the first blank line (`\n\n`, `\r\n\r\n` or `\r\r`).
fn find_event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            b'\r'
                if buf.get(i + 1) == Some(&b'\n')
                    && buf.get(i + 2) == Some(&b'\r')
                    && buf.get(i + 3) == Some(&b'\n') =>
            {
                return Some(i + 4)
            }
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

/// The `data:` payload of an event when it has exactly one data line (the form
/// every OpenAI-compatible provider uses).
pub fn single_data(event: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            if found.is_some() {
                return None;
            }
            found = Some(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    found
}

fn data_event(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Per-stream state: what usage the provider reported, whether `[DONE]` came, and
/// whether the client asked for usage itself.
#[derive(Debug)]
pub struct UsageFilter {
    client_wants_usage: bool,
    pub usage: Option<TokenUsage>,
    pub done: bool,
}

impl UsageFilter {
    pub fn new(client_wants_usage: bool) -> Self {
        UsageFilter {
            client_wants_usage,
            usage: None,
            done: false,
        }
    }

    /// Decides what the client receives for one upstream event: the event itself,
    /// a rewritten event, or nothing.
    pub fn on_event(&mut self, event: Bytes) -> Option<Bytes> {
        let Some(data) = single_data(&event) else {
            return Some(event);
        };
        if data == b"[DONE]" {
            self.done = true;
            return Some(event);
        }
        if !contains(data, b"\"usage\"") {
            return Some(event);
        }
        let found = usage::from_chunk(data);
        if let Some(found) = &found {
            self.usage = Some(found.usage);
        }
        if self.client_wants_usage {
            return Some(event);
        }
        match found {
            Some(found) if found.usage_only => None,
            _ => Some(without_usage_field(data).map_or(event, |data| data_event(&data))),
        }
    }
}

/// The chunk's JSON without its top-level `usage` field, or `None` to keep it as is.
fn without_usage_field(data: &[u8]) -> Option<Vec<u8>> {
    // Fast path for the common serialization, where `usage` is the last field
    // (and the only one: a chunk that repeats the key takes the slow path,
    // which leaves such a chunk as it is).
    if let Some(prefix) = data
        .strip_suffix(b",\"usage\":null}")
        .filter(|prefix| !contains(prefix, b"\"usage\""))
    {
        let mut out = prefix.to_vec();
        out.push(b'}');
        return Some(out);
    }
    let object = RawObject::parse(data).ok()?;
    object.get("usage")?;
    Some(object.write_without("usage"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(input: &[&[u8]]) -> (Vec<Bytes>, Vec<u8>) {
        let mut splitter = EventSplitter::default();
        let mut events = Vec::new();
        for part in input {
            splitter.push(part);
            while let Some(event) = splitter.next_event() {
                events.push(event);
            }
        }
        (events, splitter.pending().to_vec())
    }

    #[test]
    fn splits_events_across_arbitrary_chunk_boundaries() {
        let stream = b"data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: comment\n\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            for cut2 in cut..stream.len() {
                let (events, pending) =
                    split_all(&[&stream[..cut], &stream[cut..cut2], &stream[cut2..]]);
                assert_eq!(events.len(), 4, "cuts at {cut},{cut2}");
                assert_eq!(events.concat(), stream.to_vec());
                assert!(pending.is_empty());
            }
        }
    }

    #[test]
    fn keeps_an_unfinished_event_pending() {
        let (events, pending) = split_all(&[b"data: 1\n\ndata: 2\n"]);
        assert_eq!(events.len(), 1);
        assert_eq!(pending, b"data: 2\n");
    }

    #[test]
    fn a_repeated_usage_key_is_never_half_removed() {
        // Found by translate_fuzz (passthrough.openai_chat.stream, seed 2):
        // the fast path dropped the last copy and sent the first one on. A
        // chunk with a repeated key now passes as the provider sent it.
        let mut filter = UsageFilter::new(false);
        let repeated: &[u8] =
            b"data: {\"usage\":true,\"id\":\"c\",\"choices\":[],\"usage\":null}\n\n";
        let sent = filter.on_event(Bytes::from_static(repeated)).unwrap();
        assert_eq!(&sent[..], repeated);
        let sent = filter
            .on_event(Bytes::from_static(
                b"data: {\"id\":\"c\",\"choices\":[],\"usage\":null}\n\n",
            ))
            .unwrap();
        assert_eq!(&sent[..], b"data: {\"id\":\"c\",\"choices\":[]}\n\n");
    }

    #[test]
    fn reads_single_data_lines() {
        assert_eq!(single_data(b"data: x\n\n"), Some(&b"x"[..]));
        assert_eq!(single_data(b"data:x\r\n\r\n"), Some(&b"x"[..]));
        assert_eq!(single_data(b": keep-alive\n\n"), None);
        assert_eq!(single_data(b"data: a\ndata: b\n\n"), None);
    }

    const CONTENT: &[u8] = b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const USAGE: &[u8] = b"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n";

    #[test]
    fn hides_injected_usage_from_a_client_that_did_not_ask() {
        let mut filter = UsageFilter::new(false);
        let content = filter.on_event(Bytes::from_static(CONTENT)).unwrap();
        assert_eq!(
            &content[..],
            b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
        );
        assert_eq!(filter.on_event(Bytes::from_static(USAGE)), None);
        assert_eq!(filter.usage.unwrap().total(), 7);
        assert!(filter
            .on_event(Bytes::from_static(b"data: [DONE]\n\n"))
            .is_some());
        assert!(filter.done);
    }

    #[test]
    fn passes_everything_to_a_client_that_asked() {
        let mut filter = UsageFilter::new(true);
        for event in [CONTENT, USAGE] {
            assert_eq!(
                filter.on_event(Bytes::from_static(event)).as_deref(),
                Some(event)
            );
        }
        assert_eq!(filter.usage.unwrap().prompt_tokens, 5);
    }

    #[test]
    fn strips_usage_null_wherever_it_stands() {
        let mut filter = UsageFilter::new(false);
        let event =
            Bytes::from_static(b"data: {\"usage\": null, \"id\": \"c\", \"choices\": []}\n\n");
        let out = filter.on_event(event).unwrap();
        let data = single_data(&out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert!(value.get("usage").is_none());
        assert_eq!(value["id"], "c");
    }

    #[test]
    fn usage_inside_a_content_chunk_is_read_and_removed() {
        let mut filter = UsageFilter::new(false);
        let event = Bytes::from_static(b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1},\"id\":\"c\"}\n\n");
        let out = filter.on_event(event).unwrap();
        assert!(!contains(&out, b"usage"));
        assert_eq!(filter.usage.unwrap().total(), 2);
    }
}
