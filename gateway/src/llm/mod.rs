//! The gateway's own request and response model, which no provider speaks.
//!
//! Every ingress format (OpenAI chat, Anthropic Messages, OpenAI Responses)
//! translates into it and back, and every egress adapter (OpenAI-compatible,
//! Azure, Anthropic, Gemini) translates out of it and back, so N formats need
//! 2N translators instead of N² and each one is a pure function tested alone.
//! When ingress and egress speak the same format the body is not translated at
//! all: it passes through byte for byte.
//!
//! The model holds what at least two formats share, with the meaning fixed once:
//! token counts follow [`TokenUsage`] (prompt tokens include cached and
//! cache-write tokens; completion tokens include reasoning), tool arguments are
//! JSON text exactly as the model wrote them, and a system prompt is kept apart
//! from the turns because two of the three ingress formats keep it apart.

mod request;
mod response;
mod stream;

pub use pricing::TokenUsage;
pub use request::{
    CacheControl, ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice,
};
pub use response::{ChatResponse, FinishReason};
pub use stream::StreamEvent;
