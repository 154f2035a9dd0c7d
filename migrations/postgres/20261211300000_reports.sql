-- Scheduled reports (issue 11): every report run and the state of its delivery
-- to each channel, and every delivery attempt. Our own text only: tenant,
-- period, channel names, the delivery error in the gateway's words. Never
-- prompt text, keys or channel secrets. Times are unix milliseconds and dates
-- ISO text, so Postgres and SQLite run the same statements.
--
-- One scheduled run per (tenant, kind, period): the partial unique index is
-- what keeps a restart or a second replica from sending a scheduled report
-- twice (the INSERT that wins owns the run). Manual runs ("send now") are
-- never de-duplicated.

CREATE TABLE report_runs (
    id           TEXT   PRIMARY KEY,
    tenant_id    TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('weekly', 'monthly')),
    period_start TEXT   NOT NULL,
    origin       TEXT   NOT NULL CHECK (origin IN ('scheduled', 'manual')),
    created_ms   BIGINT NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE UNIQUE INDEX report_runs_scheduled ON report_runs (tenant_id, kind, period_start)
    WHERE origin = 'scheduled';
CREATE INDEX report_runs_tenant ON report_runs (tenant_id, created_ms);

-- A run's delivery to one channel: pending until delivered or given up. A
-- replica takes a due delivery by moving `lease_ms` forward (one UPDATE), so
-- two replicas never send the same attempt.
CREATE TABLE report_deliveries (
    run_id     TEXT   NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    tenant_id  TEXT   NOT NULL,
    channel    TEXT   NOT NULL,
    state      TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_ms    BIGINT NOT NULL,
    lease_ms   BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (run_id, channel)
);
CREATE INDEX report_deliveries_due ON report_deliveries (next_ms) WHERE state = 'pending';

CREATE TABLE report_attempts (
    run_id      TEXT   NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    tenant_id   TEXT   NOT NULL,
    channel     TEXT   NOT NULL,
    attempt     BIGINT NOT NULL CHECK (attempt >= 1),
    at_ms       BIGINT NOT NULL,
    outcome     TEXT   NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    http_status BIGINT,
    error       TEXT,
    PRIMARY KEY (run_id, channel, attempt)
);

SELECT gateway_protect_tenant_table('report_runs', 'SELECT, INSERT, UPDATE');
SELECT gateway_protect_tenant_table('report_deliveries', 'SELECT, INSERT, UPDATE');
SELECT gateway_protect_tenant_table('report_attempts', 'SELECT, INSERT');
