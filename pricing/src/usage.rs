//! Token counts of one request, in OpenAI's convention: `prompt_tokens` counts every
//! input token, including those read from or written to a prompt cache, and
//! `completion_tokens` counts every output token, including reasoning tokens.
//! Providers that report these apart (Anthropic) are folded into this shape by
//! their adapter, so each token is priced exactly once.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Part of `prompt_tokens` read from the provider's prompt cache.
    pub cached_prompt_tokens: u64,
    /// Part of `prompt_tokens` written to the prompt cache (billed extra by some).
    pub cache_write_tokens: u64,
    /// Part of `completion_tokens` spent on hidden reasoning.
    pub reasoning_tokens: u64,
}

impl TokenUsage {
    /// Prompt plus completion tokens. The counts come from providers, which may
    /// report anything: an absurd count saturates instead of overflowing.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_counts_each_token_once() {
        let usage = TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_prompt_tokens: 4,
            cache_write_tokens: 2,
            reasoning_tokens: 3,
        };
        assert_eq!(usage.total(), 15);
    }

    #[test]
    fn an_absurd_reported_count_saturates() {
        let usage = TokenUsage {
            prompt_tokens: u64::MAX - 1,
            completion_tokens: 5,
            ..TokenUsage::default()
        };
        assert_eq!(usage.total(), u64::MAX);
    }
}
