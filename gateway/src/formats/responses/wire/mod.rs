//! The Responses API's JSON, as serde types and nothing more: what a request,
//! a Response object and a stream event look like on the wire (field names and
//! nesting from OpenAI's OpenAPI spec and the `openai` SDK's
//! `types/responses`). Meaning (roles, defaults, what is refused) lives in the
//! translators next door, not here.

pub mod events;
pub mod request;
pub mod response;
