-- Alerts (issue 10, "Alerts"): every firing of an alert rule and every attempt
-- to deliver a notice about it. Our own text only: rule and channel names, the
-- subject (a scope id, a provider name), a summary the gateway wrote, and the
-- delivery error as the gateway saw it. Never prompt text, keys or secrets.
--
-- One open firing per (rule, subject): the partial unique index is what keeps a
-- condition that holds from notifying twice, across replicas too (the replica
-- whose INSERT wins sends the notice). `tenant_id` is NULL for firings that
-- belong to no tenant (a provider's circuit, the event writer); tenant readers
-- see only their own tenant's rows (NULL matches no tenant).

CREATE TABLE alert_firings (
    id          text        PRIMARY KEY,
    tenant_id   text,
    rule        text        NOT NULL,
    kind        text        NOT NULL,
    subject     text        NOT NULL,
    summary     text        NOT NULL,
    started_at  timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE UNIQUE INDEX alert_firings_open ON alert_firings (rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX alert_firings_started ON alert_firings (started_at);

CREATE TABLE alert_deliveries (
    id          text        PRIMARY KEY,
    tenant_id   text,
    firing_id   text        REFERENCES alert_firings (id) ON DELETE CASCADE,
    channel     text        NOT NULL,
    notice      text        NOT NULL CHECK (notice IN ('firing', 'resolved', 'test')),
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    http_status integer,
    error       text
);
CREATE INDEX alert_deliveries_firing ON alert_deliveries (firing_id);
CREATE INDEX alert_deliveries_at ON alert_deliveries (at);

SELECT gateway_protect_tenant_table('alert_firings', 'SELECT, INSERT, UPDATE');
SELECT gateway_protect_tenant_table('alert_deliveries', 'SELECT, INSERT');
