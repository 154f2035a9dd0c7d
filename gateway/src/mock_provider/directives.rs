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
}

impl Directives {
    pub fn parse(model: &str) -> Directives {
        let mut directives = Directives::default();
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
        assert_eq!(Directives::parse("gpt-4o"), Directives::default());
    }
}
