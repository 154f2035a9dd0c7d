-- Daily, weekly (starting Monday) and monthly (starting on the 1st) aggregates,
-- kept after raw events are deleted. Daily rows are recomputed from raw events;
-- weekly and monthly rows from daily rows. Missing team, provider or model is ''.
-- Money columns are exact integer pico-USD; savings = baseline - cost.
CREATE TABLE usage_daily (
    tenant_id         TEXT    NOT NULL,
    day               TEXT    NOT NULL, -- YYYY-MM-DD (UTC)
    key_id            TEXT    NOT NULL,
    team              TEXT    NOT NULL,
    requested_model   TEXT    NOT NULL,
    routed_provider   TEXT    NOT NULL,
    routed_model      TEXT    NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    cost_pusd         INTEGER NOT NULL,
    baseline_pusd     INTEGER NOT NULL,
    savings_pusd      INTEGER NOT NULL,
    latency_ms_sum    INTEGER NOT NULL,
    latency_count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, key_id, team, requested_model, routed_provider, routed_model)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_daily_day ON usage_daily (day);

CREATE TABLE usage_weekly (
    tenant_id         TEXT    NOT NULL,
    week              TEXT    NOT NULL, -- the Monday, YYYY-MM-DD
    key_id            TEXT    NOT NULL,
    team              TEXT    NOT NULL,
    requested_model   TEXT    NOT NULL,
    routed_provider   TEXT    NOT NULL,
    routed_model      TEXT    NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    cost_pusd         INTEGER NOT NULL,
    baseline_pusd     INTEGER NOT NULL,
    savings_pusd      INTEGER NOT NULL,
    latency_ms_sum    INTEGER NOT NULL,
    latency_count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, week, key_id, team, requested_model, routed_provider, routed_model)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_weekly_week ON usage_weekly (week);

CREATE TABLE usage_monthly (
    tenant_id         TEXT    NOT NULL,
    month             TEXT    NOT NULL, -- the 1st of the month, YYYY-MM-DD
    key_id            TEXT    NOT NULL,
    team              TEXT    NOT NULL,
    requested_model   TEXT    NOT NULL,
    routed_provider   TEXT    NOT NULL,
    routed_model      TEXT    NOT NULL,
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    cost_pusd         INTEGER NOT NULL,
    baseline_pusd     INTEGER NOT NULL,
    savings_pusd      INTEGER NOT NULL,
    latency_ms_sum    INTEGER NOT NULL,
    latency_count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, month, key_id, team, requested_model, routed_provider, routed_model)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_monthly_month ON usage_monthly (month);

-- Retention watermarks, as in the Postgres schema (one row each, once set):
-- 'usage_events.kept_from': raw events of earlier days were deleted, so those
--   days' daily rows are final and rollups leave them alone.
-- 'usage_daily.kept_from': daily rows of earlier days were deleted, so weeks and
--   months that began earlier are final too.
CREATE TABLE gateway_watermarks (
    name TEXT NOT NULL PRIMARY KEY,
    day  TEXT NOT NULL -- YYYY-MM-DD
) STRICT;
