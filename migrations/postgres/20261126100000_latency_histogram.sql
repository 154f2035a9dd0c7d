-- Latency histograms beside the daily rollup, so the analytics API can give
-- p50 and p95 latency for any range, filter and grouping without raw events
-- (sums cannot give percentiles; counts per bucket add up). One row per daily
-- group (the dimensions of usage_daily) and latency bucket that had requests.
--
-- Buckets are log-linear (analytics/src/store/queries/latency.rs): one per
-- millisecond below 16 ms, then 8 per power of two, 240 in all; a percentile is
-- reported as the middle of its bucket, within 1/16 of the true value.
-- Rebuilt with the daily rows (Store::rollup), dropped with them (retention).

CREATE TABLE usage_daily_latency (
    tenant_id       text    NOT NULL,
    day             date    NOT NULL,
    key_id          text    NOT NULL,
    team            text    NOT NULL DEFAULT '',
    requested_model text    NOT NULL,
    routed_provider text    NOT NULL DEFAULT '',
    routed_model    text    NOT NULL DEFAULT '',
    bucket          integer NOT NULL CHECK (bucket BETWEEN 0 AND 239),
    requests        bigint  NOT NULL,
    PRIMARY KEY (tenant_id, day, key_id, team, requested_model, routed_provider, routed_model, bucket)
);
CREATE INDEX usage_daily_latency_day ON usage_daily_latency (day);

-- Tenant isolation, as for the other rollups (20261125000003_row_level_security).
GRANT SELECT ON usage_daily_latency TO gateway_app;
ALTER TABLE usage_daily_latency ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily_latency FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_daily_latency
    USING (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''));
CREATE POLICY system_access ON usage_daily_latency
    USING (current_setting('gateway.role', true) = 'system')
    WITH CHECK (current_setting('gateway.role', true) = 'system');
