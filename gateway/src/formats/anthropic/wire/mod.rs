//! Anthropic's Messages API as serde types: what a client sends us, what we
//! send Anthropic, and what comes back (whole messages, stream events, token
//! counts, errors). Field names and tags are the API's own (from the official
//! SDKs' types). The same types serve both directions, so a request we build
//! for Anthropic is checked by the same definitions that read a client's.
//!
//! Parsing is lenient about fields the gateway does not act on (Anthropic adds
//! fields often and a client such as Claude Code sends beta ones): unknown
//! fields are ignored, unknown content block types are errors the translators
//! turn into clear messages, and unknown stream events are skipped.
//! Translation rules live in `ingress` and `egress`, not here.

mod request;
mod response;
mod string_or;

pub use request::{
    CacheControlWire, ContentBlock, ImageSourceWire, InputMessage, JsonOutputFormat,
    MessagesRequest, Metadata, OutputConfig, RoleWire, ThinkingConfig, ToolChoiceWire, ToolDef,
};
pub use response::{
    BlockDelta, CountTokensResponse, ErrorBody, ErrorEnvelope, MessageDelta, MessageResponse,
    OutputTokensDetails, ResponseBlock, StreamEventWire, UsageWire,
};
pub use string_or::StringOr;
