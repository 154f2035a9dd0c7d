-- Scheduled reports: runs, each channel's delivery state, and every attempt
-- (see the Postgres migration of the same name for what they hold and never
-- hold). The same columns and types as on Postgres (text, 64-bit integers),
-- so both stores run the same statements. One scheduled run per (tenant,
-- kind, period), kept by the partial unique index.

CREATE TABLE report_runs (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('weekly', 'monthly')),
    period_start TEXT    NOT NULL,
    origin       TEXT    NOT NULL CHECK (origin IN ('scheduled', 'manual')),
    created_ms   INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed'))
) STRICT;
CREATE UNIQUE INDEX report_runs_scheduled ON report_runs (tenant_id, kind, period_start)
    WHERE origin = 'scheduled';
CREATE INDEX report_runs_tenant ON report_runs (tenant_id, created_ms);

CREATE TABLE report_deliveries (
    run_id     TEXT    NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    tenant_id  TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_ms    INTEGER NOT NULL,
    lease_ms   INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, channel)
) STRICT;
CREATE INDEX report_deliveries_due ON report_deliveries (next_ms) WHERE state = 'pending';

CREATE TABLE report_attempts (
    run_id      TEXT    NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    tenant_id   TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    at_ms       INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    http_status INTEGER,
    error       TEXT,
    PRIMARY KEY (run_id, channel, attempt)
) STRICT;
