-- Alerts: every firing of an alert rule and every delivery attempt of a notice
-- about it (see the Postgres migration of the same name for what they hold and
-- what they never hold). Times are unix nanoseconds, like usage_events. One
-- open firing per (rule, subject), kept by the partial unique index.

CREATE TABLE alert_firings (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT,
    rule        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    resolved_at INTEGER
) STRICT;
CREATE UNIQUE INDEX alert_firings_open ON alert_firings (rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX alert_firings_started ON alert_firings (started_at);

CREATE TABLE alert_deliveries (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT,
    firing_id   TEXT    REFERENCES alert_firings (id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL,
    notice      TEXT    NOT NULL CHECK (notice IN ('firing', 'resolved', 'test')),
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    at          INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    http_status INTEGER,
    error       TEXT
) STRICT;
CREATE INDEX alert_deliveries_firing ON alert_deliveries (firing_id);
CREATE INDEX alert_deliveries_at ON alert_deliveries (at);
