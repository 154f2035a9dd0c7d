-- The wire formats of each request, as in the Postgres migration of the same
-- name: the client's (openai_chat, anthropic, responses, ...) and the serving
-- provider's (openai_chat, anthropic, gemini, ...). NULL on older events.
ALTER TABLE usage_events ADD COLUMN ingress_format  TEXT;
ALTER TABLE usage_events ADD COLUMN upstream_format TEXT;
