-- The control plane (DESIGN.md, "Control plane"): tenants, teams and client keys
-- managed live by the admin API and the CLI, and the audit log of their changes.
-- Keys are stored as their SHA-256 hash and a short prefix to recognise them by;
-- the plain key is shown once, when minted, and exists nowhere else.
--
-- Column types are the ones the SQLite migration of the same name uses too (text
-- and 64-bit integers; times in unix milliseconds; budgets as exact decimal
-- text), so both stores run the same statements (analytics/src/control/).

CREATE TABLE control_tenants (
    tenant_id          TEXT PRIMARY KEY,
    name               TEXT,
    rpm                BIGINT,
    tpm                BIGINT,
    max_concurrent     BIGINT,
    budget_daily_usd   TEXT,
    budget_monthly_usd TEXT,
    created_ms         BIGINT NOT NULL,
    updated_ms         BIGINT NOT NULL
);

CREATE TABLE control_teams (
    tenant_id          TEXT NOT NULL,
    team_id            TEXT NOT NULL,
    name               TEXT,
    rpm                BIGINT,
    tpm                BIGINT,
    max_concurrent     BIGINT,
    budget_daily_usd   TEXT,
    budget_monthly_usd TEXT,
    created_ms         BIGINT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, team_id)
);

CREATE TABLE control_keys (
    key_id             TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    team_id            TEXT,
    key_hash           TEXT NOT NULL UNIQUE,
    prefix             TEXT NOT NULL,
    role               TEXT NOT NULL,
    label              TEXT,
    -- A JSON array of model names the key may use; NULL: its tenant's policy.
    models             TEXT,
    rpm                BIGINT,
    tpm                BIGINT,
    max_concurrent     BIGINT,
    budget_daily_usd   TEXT,
    budget_monthly_usd TEXT,
    expires_ms         BIGINT,
    created_ms         BIGINT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    last_used_ms       BIGINT,
    revoked_ms         BIGINT,
    -- The key this one replaced when it was minted by a rotation.
    replaces           TEXT
);
CREATE INDEX control_keys_tenant ON control_keys (tenant_id);

CREATE TABLE control_audit (
    audit_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      BIGINT NOT NULL,
    tenant_id  TEXT NOT NULL,
    -- The acting key's id (or `cli`), never a key.
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    -- A JSON object of the changed settings; never a key or a hash.
    detail     TEXT
);
CREATE INDEX control_audit_tenant_at ON control_audit (tenant_id, at_ms);

-- One row: bumped by every change, so a replica's periodic check is one read.
CREATE TABLE control_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO control_version (id, version) VALUES (1, 0);

