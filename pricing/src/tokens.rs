//! Token estimation for routing: will a prompt fit a model's context window?
//!
//! Every request gets a free upper bound: the BPE tokenizers used here (o200k,
//! cl100k) are byte-level, every token stands for at least one byte of text, so
//! a text never has more tokens than UTF-8 bytes. The text bytes therefore bound
//! the text tokens (four or more times too high for English, but it costs
//! nothing, and it can only err towards "does not fit"). Only when that bound
//! comes near a context limit is the text counted exactly with the OpenAI
//! tokenizer of the model's family (o200k for GPT-4o and later, cl100k before).
//!
//! Counting uses a linear-time BPE (the `bpe-openai` crate: same tokens as
//! tiktoken, tested on a table of texts in `tests/tokens.rs`). tiktoken's merge
//! loop is quadratic in the length of one unbroken run of letters, spaces or
//! punctuation (a 400,000-character word took minutes), and its regex gives up
//! with an error it unwraps (a panic) on runs of about a million characters;
//! see benches/RESULTS.md, "Token counting". Even linear counting costs CPU in
//! proportion to the input, so [`count_within`] stops when its caller says the
//! budget is spent; the caller then keeps the byte bound, which is always safe.
//!
//! Other vendors' tokenizers (Claude, Gemini, Llama, Mistral) are not public or
//! not bundled; for them the o200k count is scaled by 5/4. Published comparisons
//! put those tokenizers within about 20% of o200k on English and code, so the
//! scaled count errs on the side of not overfilling a window.
//!
//! No clock here (this crate is pure): the budget is the caller's `keep_going`.

/// Tokens the chat format adds per message (role markers) and per request
/// (the assistant's reply primer), as OpenAI documents for its chat models.
pub const TOKENS_PER_MESSAGE: u64 = 4;
pub const TOKENS_PER_REQUEST: u64 = 3;

/// Allowance for one image input. OpenAI bills a high-detail 2048x768 image at
/// 1,105 tokens and caps larger ones by resizing; other vendors bill up to about
/// 1,600 (Claude's 1.15 megapixel limit). Bytes of an image URL say nothing about
/// its tokens, so each image counts this much in both the bound and the count.
pub const TOKENS_PER_IMAGE: u64 = 1_600;

/// How much text [`count_within`] reads between two calls of `keep_going`.
pub const CHECK_EVERY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    /// GPT-4o, GPT-4.1, GPT-5, o-series.
    O200k,
    /// GPT-4, GPT-3.5, text-embedding-3.
    Cl100k,
    /// Any other vendor: o200k count scaled by 5/4.
    Estimated,
}

impl Tokenizer {
    /// The tokenizer family of a catalog model.
    pub fn for_model(provider: &str, model_id: &str) -> Tokenizer {
        if provider != "openai" && provider != "azure" {
            return Tokenizer::Estimated;
        }
        let legacy = model_id.starts_with("gpt-3.5")
            || (model_id.starts_with("gpt-4")
                && !model_id.starts_with("gpt-4o")
                && !model_id.starts_with("gpt-4.1"))
            || model_id.starts_with("text-embedding");
        if legacy {
            Tokenizer::Cl100k
        } else {
            Tokenizer::O200k
        }
    }

    fn bpe(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Tokenizer::Cl100k => bpe_openai::cl100k_base(),
            Tokenizer::O200k | Tokenizer::Estimated => bpe_openai::o200k_base(),
        }
    }
}

impl Tokenizer {
    /// Loads this tokenizer's vocabulary now, if no count has loaded it yet
    /// (tens of milliseconds, once per process). A loaded vocabulary holds tens
    /// of megabytes, so a process loads only the ones it counts with, when it
    /// first needs them.
    pub fn load(self) {
        let _ = self.bpe();
    }
}

/// The text of a prompt as routing sees it: message texts and image count.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PromptShape {
    pub text_bytes: u64,
    pub messages: u64,
    pub images: u64,
}

/// A bound no tokenizer exceeds for this prompt.
pub fn upper_bound(shape: PromptShape) -> u64 {
    shape.text_bytes
        + shape.messages * TOKENS_PER_MESSAGE
        + TOKENS_PER_REQUEST
        + shape.images * TOKENS_PER_IMAGE
}

/// Tokens of the given message texts plus the chat format and images, counted
/// with the model family's tokenizer, however long it takes (linear in the
/// text). Prefer [`count_within`] for input a client chose.
pub fn count<'a>(
    tokenizer: Tokenizer,
    texts: impl IntoIterator<Item = &'a str>,
    messages: u64,
    images: u64,
) -> u64 {
    count_within(tokenizer, texts, messages, images, || true).unwrap_or(u64::MAX)
}

/// Like [`count`], but asks `keep_going` after about every [`CHECK_EVERY_BYTES`]
/// of text (and once before starting) and returns `None` as soon as it says no.
/// A single pre-tokenized piece (one long word) is counted whole, in time linear
/// in its length, so the caller bounds the work by also bounding the input.
pub fn count_within<'a>(
    tokenizer: Tokenizer,
    texts: impl IntoIterator<Item = &'a str>,
    messages: u64,
    images: u64,
    mut keep_going: impl FnMut() -> bool,
) -> Option<u64> {
    let bpe = tokenizer.bpe();
    let mut text_tokens = 0u64;
    let mut text_bytes = 0u64;
    let mut unchecked = 0usize;
    if !keep_going() {
        return None;
    }
    for text in texts {
        text_bytes += text.len() as u64;
        let text = bpe.normalize(text);
        for piece in bpe.split(text.as_str()) {
            text_tokens += bpe.bpe.count(piece.as_bytes()) as u64;
            unchecked += piece.len();
            if unchecked >= CHECK_EVERY_BYTES {
                unchecked = 0;
                if !keep_going() {
                    return None;
                }
            }
        }
    }
    let text_tokens = match tokenizer {
        // Scaled, but never past the byte bound, which holds for every BPE.
        Tokenizer::Estimated => (text_tokens + text_tokens.div_ceil(4)).min(text_bytes),
        Tokenizer::O200k | Tokenizer::Cl100k => text_tokens,
    };
    Some(
        text_tokens
            + messages * TOKENS_PER_MESSAGE
            + TOKENS_PER_REQUEST
            + images * TOKENS_PER_IMAGE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_tokenizer_family() {
        assert_eq!(
            Tokenizer::for_model("openai", "gpt-4o-mini"),
            Tokenizer::O200k
        );
        assert_eq!(Tokenizer::for_model("openai", "gpt-4.1"), Tokenizer::O200k);
        assert_eq!(Tokenizer::for_model("openai", "o3"), Tokenizer::O200k);
        assert_eq!(
            Tokenizer::for_model("openai", "gpt-4-turbo"),
            Tokenizer::Cl100k
        );
        assert_eq!(
            Tokenizer::for_model("openai", "gpt-3.5-turbo"),
            Tokenizer::Cl100k
        );
        assert_eq!(
            Tokenizer::for_model("anthropic", "claude-sonnet-4-5"),
            Tokenizer::Estimated
        );
    }

    #[test]
    fn exact_counts_match_known_tokenizations() {
        // "hello world" is two tokens in both o200k and cl100k.
        assert_eq!(count(Tokenizer::O200k, ["hello world"], 1, 0), 2 + 4 + 3);
        assert_eq!(count(Tokenizer::Cl100k, ["hello world"], 1, 0), 2 + 4 + 3);
        // Estimated vendors: scaled by 5/4, rounded up.
        assert_eq!(
            count(Tokenizer::Estimated, ["hello world"], 1, 0),
            3 + 4 + 3
        );
        assert_eq!(count(Tokenizer::O200k, [], 0, 2), 3 + 2 * TOKENS_PER_IMAGE);
    }

    #[test]
    fn the_byte_bound_is_never_below_the_exact_count() {
        let samples = [
            "The quick brown fox jumps over the lazy dog.",
            "fn main() { println!(\"{}\", 42); }",
            "Grüße aus München — 東京とパリ 🚀🚀",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "1234567890 0987654321 3.14159265358979",
            "!@#$%^&*()_+{}|:<>?~`",
        ];
        for text in samples {
            let shape = PromptShape {
                text_bytes: text.len() as u64,
                messages: 1,
                images: 0,
            };
            for tokenizer in [Tokenizer::O200k, Tokenizer::Cl100k, Tokenizer::Estimated] {
                let exact = count(tokenizer, [text], 1, 0);
                assert!(upper_bound(shape) >= exact, "{tokenizer:?} {text}: {exact}");
            }
        }
    }
}
