-- Unpriced requests: a request served by a model without a price (a self-hosted
-- or unknown model that has neither a catalog price nor a configured one) has an
-- unknown cost, so it has no baseline and no savings either. Both amounts are
-- stored as NULL (unknown), never 0, and every savings figure leaves such rows
-- out; the rollups count them instead (`unpriced`), so the analytics API and the
-- dashboard can say how many requests of a range were unpriced.
--
-- An event has both amounts or neither (the CHECK at the end).

ALTER TABLE usage_events ALTER COLUMN cost_usd DROP NOT NULL;
ALTER TABLE usage_events ALTER COLUMN baseline_usd DROP NOT NULL;

-- History: before this migration such a request was stored with cost 0 and, when
-- `routing.baseline_model` was set, that model's price as its baseline: a saving
-- of 100% that never happened. Those rows are the ones billed (a baseline price,
-- or billed tokens: refused and failed requests bill none) without a price for
-- the served side. They become unpriced. Rollups of their days are rebuilt by the
-- store right after this migration (Store::open_postgres).
SELECT set_config('gateway.role', 'system', true);
UPDATE usage_events
SET cost_usd = NULL, baseline_usd = NULL, baseline_price_version = NULL
WHERE price_version IS NULL
  AND (baseline_price_version IS NOT NULL OR prompt_tokens > 0 OR completion_tokens > 0);
ALTER TABLE usage_events ADD CONSTRAINT usage_events_priced_together
    CHECK ((cost_usd IS NULL) = (baseline_usd IS NULL));

ALTER TABLE usage_daily   ADD COLUMN unpriced bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_weekly  ADD COLUMN unpriced bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_monthly ADD COLUMN unpriced bigint NOT NULL DEFAULT 0;
