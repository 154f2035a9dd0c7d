//! OpenAI's chat completions: the gateway's first ingress format and the egress
//! format of every OpenAI-compatible provider. When a chat request is served by
//! an OpenAI-compatible provider it is not translated at all (the body passes
//! through with only its model swapped); the translators here are for the other
//! pairings, and for the round trips other formats are tested through.

pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

#[cfg(test)]
mod tests;
