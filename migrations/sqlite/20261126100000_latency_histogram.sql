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
    tenant_id       TEXT    NOT NULL,
    day             TEXT    NOT NULL, -- YYYY-MM-DD (UTC)
    key_id          TEXT    NOT NULL,
    team            TEXT    NOT NULL,
    requested_model TEXT    NOT NULL,
    routed_provider TEXT    NOT NULL,
    routed_model    TEXT    NOT NULL,
    bucket          INTEGER NOT NULL CHECK (bucket BETWEEN 0 AND 239),
    requests        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, key_id, team, requested_model, routed_provider, routed_model, bucket)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_daily_latency_day ON usage_daily_latency (day);
