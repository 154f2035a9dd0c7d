-- ROI promised vs achieved: the scenario sales promised a tenant, one row per
-- version, immutable once saved (see the Postgres migration of the same name
-- for what the columns hold). The triggers refuse UPDATE and DELETE.

CREATE TABLE roi_promises (
    tenant_id                  TEXT    NOT NULL,
    version                    INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms              INTEGER NOT NULL,
    created_by                 TEXT    NOT NULL,
    start_month                TEXT    NOT NULL CHECK (start_month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-01'),
    seats                      INTEGER NOT NULL CHECK (seats >= 0),
    fee_monthly_usd            TEXT    NOT NULL,
    promised_gross_monthly_usd TEXT    NOT NULL,
    inputs                     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;

CREATE TRIGGER roi_promises_no_update BEFORE UPDATE ON roi_promises
BEGIN
    SELECT RAISE(ABORT, 'roi_promises rows are immutable: save a new version instead');
END;

CREATE TRIGGER roi_promises_no_delete BEFORE DELETE ON roi_promises
BEGIN
    SELECT RAISE(ABORT, 'roi_promises rows are immutable: save a new version instead');
END;
