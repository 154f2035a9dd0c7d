//! A chat request in the gateway's terms.

use serde_json::Value;

/// One chat request, whatever format it arrived in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model the client asked for (the router may serve another).
    pub model: String,
    /// System instructions, in order. Anthropic and Gemini keep them apart from
    /// the turns; OpenAI's `system`/`developer` messages are gathered here when
    /// they come first, and stay turns ([`Role::System`]) when they do not.
    pub system: Vec<Part>,
    pub messages: Vec<Message>,
    /// Most tokens to generate. Anthropic requires it; a translator to Anthropic
    /// fills it from the catalog when the client gave none.
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: Vec<String>,
    pub stream: bool,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// `Some(false)` when the client forbids more than one tool call per turn.
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    pub reasoning: Option<Reasoning>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    /// How many choices; only OpenAI chat serves more than one.
    pub n: Option<u32>,
    /// The end user's identifier as the client sent it (forwarded to providers
    /// that take one; never stored: the usage event keeps a keyed hash).
    pub user: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A system or developer instruction that comes after the first turn.
    System,
    User,
    Assistant,
}

/// One turn. Tool results are [`Part::ToolResult`]s inside a user turn (as
/// Anthropic has them); OpenAI's `tool` messages map to that and back.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

/// One piece of a turn's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text {
        text: String,
        cache: Option<CacheControl>,
    },
    Image {
        source: ImageSource,
        cache: Option<CacheControl>,
    },
    /// A tool call the assistant made; `arguments` is JSON text.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// The answer to the tool call `call_id`.
    ToolResult {
        call_id: String,
        content: Vec<Part>,
        is_error: bool,
        cache: Option<CacheControl>,
    },
    /// Reasoning the model showed; the signature lets Anthropic verify it when
    /// it is sent back.
    Thinking {
        text: String,
        signature: Option<String>,
    },
}

impl Part {
    pub fn text(text: impl Into<String>) -> Part {
        Part::Text {
            text: text.into(),
            cache: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An `https:` or `data:` URL.
    Url(String),
    Base64 {
        media_type: String,
        data: String,
    },
}

/// A prompt-cache breakpoint (Anthropic's `cache_control: {"type":"ephemeral"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `"5m"` or `"1h"` when the client chose one.
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    pub strict: Option<bool>,
    pub cache: Option<CacheControl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    /// Some tool must be called (OpenAI `required`, Anthropic `any`).
    Required,
    /// This tool must be called.
    Tool(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// How much hidden reasoning the client allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reasoning {
    /// OpenAI's `reasoning_effort`: `minimal`, `low`, `medium`, `high`.
    Effort(String),
    /// Anthropic's `thinking.budget_tokens`, Gemini's `thinkingBudget`.
    BudgetTokens(u64),
}
