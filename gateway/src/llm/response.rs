//! A whole (non-streamed) answer in the gateway's terms.

use super::{Part, TokenUsage};

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub id: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// Text, thinking and tool calls, in the order the model produced them.
    pub content: Vec<Part>,
    pub finish: FinishReason,
    /// The provider's counts; `None` when it reported none.
    pub usage: Option<TokenUsage>,
    /// Unix seconds, when the provider said.
    pub created: Option<i64>,
}

/// Why generation stopped, in the terms every format can express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end (OpenAI `stop`, Anthropic `end_turn`, Gemini `STOP`).
    Stop,
    /// A stop sequence matched; Anthropic reports which.
    StopSequence(Option<String>),
    /// The token limit.
    Length,
    ToolCalls,
    /// Refused or blocked by a safety filter.
    ContentFilter,
    /// Anything else, as the provider spelled it.
    Other(String),
}
