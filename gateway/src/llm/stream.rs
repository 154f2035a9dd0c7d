//! A streamed answer in the gateway's terms: the events every streaming format
//! can be rebuilt from.

use super::{FinishReason, TokenUsage};

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer begins.
    Start { id: String, model: String },
    /// More text of the answer.
    Text(String),
    /// More visible reasoning; the signature arrives once, at its end.
    Thinking {
        text: String,
        signature: Option<String>,
    },
    /// A tool call begins; `index` orders the calls of one answer from 0.
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    /// More JSON text of the arguments of call `index`.
    ToolCallArguments { index: u32, arguments: String },
    /// Generation stopped.
    Finish(FinishReason),
    /// The token counts; some formats send them before `Finish`, some after.
    Usage(TokenUsage),
}
