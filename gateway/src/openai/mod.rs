//! OpenAI wire formats the gateway has to look into. The gateway reads only the
//! few fields it needs and forwards everything else byte for byte, so fields it
//! does not know (tools, response_format, seed, logprobs, ...) pass through untouched.

pub mod field;
pub mod request;
pub mod usage;
