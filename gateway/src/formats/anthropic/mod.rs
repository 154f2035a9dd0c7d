//! Anthropic's Messages API (`/v1/messages`): the ingress format of Claude Code
//! and the Anthropic SDKs, and the native egress format of Anthropic's models.
