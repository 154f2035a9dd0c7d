//! Token estimation for routing: will a prompt fit a model's context window?
//!
//! Every request gets a free upper bound: BPE tokenizers never produce more tokens
//! than the UTF-8 bytes they read, so the text bytes bound the text tokens (four
//! or more times too high for English, but it costs nothing). Only when that bound
//! comes near a context limit is the text counted exactly with the OpenAI
//! tokenizer of the model's family (o200k for GPT-4o and later, cl100k before).
//!
//! Other vendors' tokenizers (Claude, Gemini, Llama, Mistral) are not public or
//! not bundled; for them the o200k count is scaled by 5/4. Published comparisons
//! put those tokenizers within about 20% of o200k on English and code, so the
//! scaled count errs on the side of not overfilling a window.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// Tokens the chat format adds per message (role markers) and per request
/// (the assistant's reply primer), as OpenAI documents for its chat models.
pub const TOKENS_PER_MESSAGE: u64 = 4;
pub const TOKENS_PER_REQUEST: u64 = 3;

/// Allowance for one image input. OpenAI bills a high-detail 2048x768 image at
/// 1,105 tokens and caps larger ones by resizing; other vendors bill up to about
/// 1,600 (Claude's 1.15 megapixel limit). Bytes of an image URL say nothing about
/// its tokens, so each image counts this much in both the bound and the count.
pub const TOKENS_PER_IMAGE: u64 = 1_600;

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

fn bpe(tokenizer: Tokenizer) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    match tokenizer {
        Tokenizer::Cl100k => CL100K
            .get_or_init(|| tiktoken_rs::cl100k_base().ok())
            .as_ref(),
        Tokenizer::O200k | Tokenizer::Estimated => O200K
            .get_or_init(|| tiktoken_rs::o200k_base().ok())
            .as_ref(),
    }
}

/// Tokens of the given message texts plus the chat format and images, counted
/// with the model family's tokenizer. Falls back to the byte bound if the
/// tokenizer data cannot be loaded.
pub fn count<'a>(
    tokenizer: Tokenizer,
    texts: impl IntoIterator<Item = &'a str>,
    messages: u64,
    images: u64,
) -> u64 {
    let texts: Vec<&str> = texts.into_iter().collect();
    let Some(bpe) = bpe(tokenizer) else {
        let text_bytes = texts.iter().map(|t| t.len() as u64).sum();
        return upper_bound(PromptShape {
            text_bytes,
            messages,
            images,
        });
    };
    let text_tokens: u64 = texts
        .iter()
        .map(|t| bpe.encode_ordinary(t).len() as u64)
        .sum();
    let text_tokens = match tokenizer {
        // Scaled, but never past the byte bound, which holds for every BPE.
        Tokenizer::Estimated => {
            let text_bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
            (text_tokens + text_tokens.div_ceil(4)).min(text_bytes)
        }
        _ => text_tokens,
    };
    text_tokens + messages * TOKENS_PER_MESSAGE + TOKENS_PER_REQUEST + images * TOKENS_PER_IMAGE
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
