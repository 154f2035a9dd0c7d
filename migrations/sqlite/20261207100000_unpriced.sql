-- Unpriced requests: a request served by a model without a price (a self-hosted
-- or unknown model that has neither a catalog price nor a configured one) has an
-- unknown cost, so it has no baseline and no savings either. Both amounts are
-- stored as NULL (unknown), never 0, and every savings figure leaves such rows
-- out; the rollups count them instead (`unpriced`). An event has both amounts or
-- neither (CHECK below).
--
-- SQLite cannot drop a NOT NULL constraint in place: the table is rebuilt (new
-- table, copy, drop, rename, indexes), inside the migration's transaction.
--
-- History: before this migration such a request was stored with cost 0 and, when
-- `routing.baseline_model` was set, that model's price as its baseline: a saving
-- of 100% that never happened. Those rows are the ones billed (a baseline price,
-- or billed tokens: refused and failed requests bill none) without a price for
-- the served side. The copy makes them unpriced. Rollups of their days are
-- rebuilt by the store right after this migration (Store::open_sqlite).
CREATE TABLE usage_events_unpriced (
    event_id               TEXT    NOT NULL PRIMARY KEY,
    occurred_at_ns         INTEGER NOT NULL,
    tenant_id              TEXT    NOT NULL,
    key_id                 TEXT    NOT NULL,
    team                   TEXT,
    user_tag               TEXT,
    endpoint               TEXT    NOT NULL,
    requested_model        TEXT    NOT NULL,
    routed_provider        TEXT,
    routed_model           TEXT,
    route_reason           TEXT    NOT NULL,
    attempts               INTEGER NOT NULL CHECK (attempts BETWEEN 0 AND 65535),
    stream                 INTEGER NOT NULL CHECK (stream IN (0, 1)),
    status                 INTEGER NOT NULL CHECK (status BETWEEN 0 AND 65535),
    error_kind             TEXT,
    prompt_tokens          INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens      INTEGER NOT NULL CHECK (completion_tokens >= 0),
    cached_tokens          INTEGER NOT NULL CHECK (cached_tokens >= 0),
    cache_write_tokens     INTEGER NOT NULL CHECK (cache_write_tokens >= 0),
    reasoning_tokens       INTEGER NOT NULL CHECK (reasoning_tokens >= 0),
    usage_estimated        INTEGER NOT NULL CHECK (usage_estimated IN (0, 1)),
    cost_pusd              INTEGER,
    baseline_pusd          INTEGER,
    price_version          TEXT,
    baseline_price_version TEXT,
    latency_ms             INTEGER NOT NULL CHECK (latency_ms >= 0),
    ttft_ms                INTEGER CHECK (ttft_ms >= 0),
    upstream_ms            INTEGER CHECK (upstream_ms >= 0),
    client_family          TEXT    NOT NULL,
    CHECK ((cost_pusd IS NULL) = (baseline_pusd IS NULL))
) STRICT;

INSERT INTO usage_events_unpriced
SELECT event_id, occurred_at_ns, tenant_id, key_id, team, user_tag, endpoint,
       requested_model, routed_provider, routed_model, route_reason, attempts, stream,
       status, error_kind, prompt_tokens, completion_tokens, cached_tokens,
       cache_write_tokens, reasoning_tokens, usage_estimated,
       CASE WHEN unpriced THEN NULL ELSE cost_pusd END,
       CASE WHEN unpriced THEN NULL ELSE baseline_pusd END,
       price_version,
       CASE WHEN unpriced THEN NULL ELSE baseline_price_version END,
       latency_ms, ttft_ms, upstream_ms, client_family
FROM (
    SELECT *,
           price_version IS NULL AND (baseline_price_version IS NOT NULL
               OR prompt_tokens > 0 OR completion_tokens > 0) AS unpriced
    FROM usage_events
);

DROP TABLE usage_events;
ALTER TABLE usage_events_unpriced RENAME TO usage_events;
CREATE INDEX usage_events_occurred_at ON usage_events (occurred_at_ns);
CREATE INDEX usage_events_tenant_occurred_at ON usage_events (tenant_id, occurred_at_ns);

ALTER TABLE usage_daily   ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_weekly  ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_monthly ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
