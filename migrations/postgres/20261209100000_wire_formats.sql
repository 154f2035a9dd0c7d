-- The wire formats of each request: what the client spoke (openai_chat,
-- anthropic, responses, ...) and what the serving provider spoke (openai_chat,
-- anthropic, gemini, ...). A request translated between the two is told apart
-- from one passed through, so translation can be audited per format. Plain text,
-- not a CHECK-ed set: a format added later must never make the writer drop an
-- event. Events recorded before this migration have NULL in both.
ALTER TABLE usage_events ADD COLUMN ingress_format  text;
ALTER TABLE usage_events ADD COLUMN upstream_format text;
