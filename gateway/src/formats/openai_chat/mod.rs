//! OpenAI's chat completions: the gateway's first ingress format and the egress
//! format of every OpenAI-compatible provider.
