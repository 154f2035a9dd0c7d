//! Parsing the behaviour a test asks of the mock from the model name.

use std::time::Duration;

/// `mock+status=500+delay_ms=20`: unknown or malformed pairs are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// Answer with this HTTP status and an OpenAI-shaped error.
    pub status: Option<u16>,
    /// Wait this long before sending response headers.
    pub delay: Duration,
    /// Wait this long between stream chunks.
    pub chunk_delay: Duration,
    /// Close the connection after this many content chunks (streams) or midway
    /// through the body (non-streaming).
    pub cut_after: Option<usize>,
    /// Words in the reply (default 8).
    pub words: Option<usize>,
    /// Answer 200 with a stream that sends headers and then nothing.
    pub silent_stream: bool,
    /// Answer 200 with a stream whose body fails before the first event.
    pub abort_stream: bool,
    /// Answer with this 3xx status and a `Location` on the same mock that would
    /// serve the request (see `/redirect-target`).
    pub redirect: Option<u16>,
    /// Non-streaming: an answer of exactly this many bytes (the content padded),
    /// sent in pieces as it is generated, so it may be endless in effect.
    pub body_bytes: Option<u64>,
    /// With `body_bytes`: declare the length in `Content-Length`.
    pub declare_length: bool,
    /// Streaming: the event at `big_event_at` carries a content delta that makes
    /// it this many bytes, generated in pieces.
    pub big_event: Option<u64>,
    /// Index of the big event (0 is the role chunk; default 1).
    pub big_event_at: usize,
}

impl Directives {
    pub fn parse(model: &str) -> Directives {
        let mut directives = Directives {
            big_event_at: 1,
            ..Directives::default()
        };
        for part in model.split('+') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let number = value.parse::<u64>().ok();
            match (key, number) {
                ("status", Some(n)) => directives.status = u16::try_from(n).ok(),
                ("delay_ms", Some(n)) => directives.delay = Duration::from_millis(n),
                ("chunk_delay_ms", Some(n)) => directives.chunk_delay = Duration::from_millis(n),
                ("cut_after", Some(n)) => directives.cut_after = usize::try_from(n).ok(),
                ("words", Some(n)) => directives.words = usize::try_from(n.min(100_000)).ok(),
                ("silent", Some(n)) => directives.silent_stream = n > 0,
                ("abort", Some(n)) => directives.abort_stream = n > 0,
                ("redirect", Some(n)) => directives.redirect = u16::try_from(n).ok(),
                ("body_bytes", Some(n)) => directives.body_bytes = Some(n),
                ("declare_length", Some(n)) => directives.declare_length = n > 0,
                ("big_event", Some(n)) => directives.big_event = Some(n),
                ("big_event_at", Some(n)) => {
                    directives.big_event_at = usize::try_from(n).unwrap_or(usize::MAX);
                }
                _ => {}
            }
        }
        directives
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_pairs_and_ignores_the_rest() {
        let d = Directives::parse("mock+status=429+delay_ms=15+cut_after=2+bogus=1+words=x");
        assert_eq!(d.status, Some(429));
        assert_eq!(d.delay, Duration::from_millis(15));
        assert_eq!(d.cut_after, Some(2));
        assert_eq!(d.words, None);
        assert_eq!(Directives::parse("gpt-4o").big_event_at, 1);
        let d = Directives::parse("mock+redirect=307+body_bytes=99+declare_length=1");
        assert_eq!(
            (d.redirect, d.body_bytes, d.declare_length),
            (Some(307), Some(99), true)
        );
        let d = Directives::parse("mock+big_event=5000+big_event_at=0");
        assert_eq!((d.big_event, d.big_event_at), (Some(5000), 0));
    }
}
