//! Prices and money for the gateway: the model catalog, exact cost arithmetic and
//! ROI math live here (see DESIGN.md, "Money").
//!
//! This crate stays pure: no HTTP, no database, no clock. Everything in it is a
//! function of its inputs so routing and savings figures can be tested with tables.
//! For now it holds only the token-usage record the gateway already extracts; the
//! catalog arrives with the routing work.

/// Token counts reported by a provider (or counted by the gateway) for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_prompt_tokens: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_counts_prompt_and_completion_once() {
        let usage = TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 5,
            cached_prompt_tokens: 4,
        };
        assert_eq!(usage.total(), 15);
    }
}
