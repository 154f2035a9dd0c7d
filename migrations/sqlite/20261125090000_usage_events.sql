-- Raw usage events for the embedded store: one row per request, metadata only
-- (see analytics/src/event.rs). No partitions here; retention deletes whole UTC
-- days (SqliteStore::delete_events_older_than).
--
-- occurred_at_ns: unix time in nanoseconds (exact round trip of DateTime<Utc>).
-- cost_pusd / baseline_pusd: exact integer pico-USD (1e-12 USD); SQLite has no
-- exact decimal type, and REAL would round.
CREATE TABLE usage_events (
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
    cost_pusd              INTEGER NOT NULL,
    baseline_pusd          INTEGER NOT NULL,
    price_version          TEXT,
    baseline_price_version TEXT,
    latency_ms             INTEGER NOT NULL CHECK (latency_ms >= 0),
    ttft_ms                INTEGER CHECK (ttft_ms >= 0),
    upstream_ms            INTEGER CHECK (upstream_ms >= 0),
    client_family          TEXT    NOT NULL
) STRICT;

-- Rollups and retention scan by time; tenant queries by tenant, then time.
CREATE INDEX usage_events_occurred_at ON usage_events (occurred_at_ns);
CREATE INDEX usage_events_tenant_occurred_at ON usage_events (tenant_id, occurred_at_ns);
