-- Raw usage events: one row per request, metadata only (DESIGN.md, "Usage events").
-- Partitioned by day on occurred_at (UTC); partitions are named usage_events_YYYYMMDD,
-- created ahead by gateway_ensure_partition(s) and dropped after the raw retention by
-- gateway_drop_partitions_before. The partition key is part of the primary key, so a
-- replayed event (same occurred_at and event_id) is ignored by ON CONFLICT DO NOTHING.

CREATE TABLE usage_events (
    event_id               uuid           NOT NULL,
    occurred_at            timestamptz    NOT NULL,
    tenant_id              text           NOT NULL,
    key_id                 text           NOT NULL,
    team                   text,
    user_tag               text,
    endpoint               text           NOT NULL,
    requested_model        text           NOT NULL,
    routed_provider        text,
    routed_model           text,
    route_reason           text           NOT NULL,
    attempts               integer        NOT NULL,
    stream                 boolean        NOT NULL,
    status                 integer        NOT NULL,
    error_kind             text,
    prompt_tokens          bigint         NOT NULL,
    completion_tokens      bigint         NOT NULL,
    cached_tokens          bigint         NOT NULL,
    cache_write_tokens     bigint         NOT NULL,
    reasoning_tokens       bigint         NOT NULL,
    usage_estimated        boolean        NOT NULL,
    cost_usd               numeric(30,12) NOT NULL,
    baseline_usd           numeric(30,12) NOT NULL,
    price_version          text,
    baseline_price_version text,
    latency_ms             bigint         NOT NULL,
    ttft_ms                bigint,
    upstream_ms            bigint,
    client_family          text           NOT NULL,
    PRIMARY KEY (occurred_at, event_id)
) PARTITION BY RANGE (occurred_at);

-- The primary key (occurred_at first) serves the rollup's time-range scans; this one
-- serves per-tenant reads.
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);

-- Retention and rollup bookkeeping: `usage_events.kept_from` is the first day whose
-- raw events are still kept; `usage_daily.kept_from` the first day whose daily
-- aggregates are. Rollups never recompute anything before them.
CREATE TABLE gateway_watermarks (
    name       text        PRIMARY KEY,
    day        date        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Raises a watermark (never lowers it).
CREATE FUNCTION gateway_raise_watermark(watermark text, new_day date) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO gateway_watermarks (name, day) VALUES (watermark, new_day)
    ON CONFLICT (name) DO UPDATE
        SET day = greatest(gateway_watermarks.day, excluded.day), updated_at = now();
$$;

-- The UTC days that have a raw partition.
CREATE FUNCTION gateway_partition_days() RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT to_date(substring(c.relname FROM 14), 'YYYYMMDD')
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'usage_events'::regclass
      AND c.relname ~ '^usage_events_[0-9]{8}$'
    ORDER BY 1;
$$;

-- Creates the partition for one UTC day unless it exists; true when it was created.
CREATE FUNCTION gateway_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part_name text := 'usage_events_' || to_char(day, 'YYYYMMDD');
BEGIN
    -- Serialises creators (several gateways start at once); held to the end of the
    -- caller's transaction.
    PERFORM pg_advisory_xact_lock(hashtext('gateway.partitions.create'));
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'usage_events'::regclass AND c.relname = part_name
    ) THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
        part_name,
        day::timestamp AT TIME ZONE 'UTC',
        (day + 1)::timestamp AT TIME ZONE 'UTC'
    );
    RETURN true;
END
$$;

-- Creates the partitions for `days` consecutive days from `from_day`; returns how
-- many were new.
CREATE FUNCTION gateway_ensure_partitions(from_day date, days integer) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer
    FROM generate_series(0, days - 1) AS g(n)
    WHERE gateway_ensure_partition(from_day + g.n);
$$;

-- Drops every daily partition for days before `cutoff` and returns their names. Raises
-- the raw watermark to `cutoff`, so rollups keep the aggregates of dropped days.
CREATE FUNCTION gateway_drop_partitions_before(cutoff date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part record;
BEGIN
    -- Waits for running rollups (they hold this lock shared) so a rollup never sees a
    -- day vanish between listing partitions and reading them.
    PERFORM pg_advisory_xact_lock(hashtext('gateway.partitions.drop'));
    PERFORM gateway_raise_watermark('usage_events.kept_from', cutoff);
    FOR part IN
        SELECT n.nspname::text AS schema_name, c.relname::text AS table_name
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE i.inhparent = 'usage_events'::regclass
          AND c.relname ~ '^usage_events_[0-9]{8}$'
          AND to_date(substring(c.relname FROM 14), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I.%I', part.schema_name, part.table_name);
        RETURN NEXT part.table_name;
    END LOOP;
END
$$;
