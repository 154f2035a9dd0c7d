//! OpenAI's Responses API (`/v1/responses`): the ingress format of Codex CLI and
//! newer OpenAI SDK code.
