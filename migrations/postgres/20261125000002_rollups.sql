-- Savings aggregates, kept for years after the raw events are gone (DESIGN.md,
-- "Storage"). Daily rows are recomputed from usage_events; weekly (week = the Monday)
-- and monthly (month = the first day) rows are recomputed from usage_daily. Absent
-- dimensions are stored as '' so they can be part of the primary key.

CREATE TABLE usage_daily (
    tenant_id         text    NOT NULL,
    day               date    NOT NULL,
    key_id            text    NOT NULL,
    team              text    NOT NULL DEFAULT '',
    requested_model   text    NOT NULL,
    routed_provider   text    NOT NULL DEFAULT '',
    routed_model      text    NOT NULL DEFAULT '',
    requests          bigint  NOT NULL,
    errors            bigint  NOT NULL,
    prompt_tokens     bigint  NOT NULL,
    completion_tokens bigint  NOT NULL,
    cached_tokens     bigint  NOT NULL,
    cost_usd          numeric NOT NULL,
    baseline_usd      numeric NOT NULL,
    savings_usd       numeric NOT NULL,
    latency_ms_sum    bigint  NOT NULL,
    latency_count     bigint  NOT NULL,
    PRIMARY KEY (tenant_id, day, key_id, team, requested_model, routed_provider, routed_model)
);
-- The rollup deletes and rebuilds whole days.
CREATE INDEX usage_daily_day ON usage_daily (day);

CREATE TABLE usage_weekly (
    tenant_id         text    NOT NULL,
    week              date    NOT NULL CHECK (extract(isodow FROM week) = 1),
    key_id            text    NOT NULL,
    team              text    NOT NULL DEFAULT '',
    requested_model   text    NOT NULL,
    routed_provider   text    NOT NULL DEFAULT '',
    routed_model      text    NOT NULL DEFAULT '',
    requests          bigint  NOT NULL,
    errors            bigint  NOT NULL,
    prompt_tokens     bigint  NOT NULL,
    completion_tokens bigint  NOT NULL,
    cached_tokens     bigint  NOT NULL,
    cost_usd          numeric NOT NULL,
    baseline_usd      numeric NOT NULL,
    savings_usd       numeric NOT NULL,
    latency_ms_sum    bigint  NOT NULL,
    latency_count     bigint  NOT NULL,
    PRIMARY KEY (tenant_id, week, key_id, team, requested_model, routed_provider, routed_model)
);
CREATE INDEX usage_weekly_week ON usage_weekly (week);

CREATE TABLE usage_monthly (
    tenant_id         text    NOT NULL,
    month             date    NOT NULL CHECK (extract(day FROM month) = 1),
    key_id            text    NOT NULL,
    team              text    NOT NULL DEFAULT '',
    requested_model   text    NOT NULL,
    routed_provider   text    NOT NULL DEFAULT '',
    routed_model      text    NOT NULL DEFAULT '',
    requests          bigint  NOT NULL,
    errors            bigint  NOT NULL,
    prompt_tokens     bigint  NOT NULL,
    completion_tokens bigint  NOT NULL,
    cached_tokens     bigint  NOT NULL,
    cost_usd          numeric NOT NULL,
    baseline_usd      numeric NOT NULL,
    savings_usd       numeric NOT NULL,
    latency_ms_sum    bigint  NOT NULL,
    latency_count     bigint  NOT NULL,
    PRIMARY KEY (tenant_id, month, key_id, team, requested_model, routed_provider, routed_model)
);
CREATE INDEX usage_monthly_month ON usage_monthly (month);
