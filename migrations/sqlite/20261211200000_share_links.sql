-- Shareable read-only dashboard links (see the Postgres migration of the same
-- name for what the columns hold and what they never hold). Times are unix
-- milliseconds, as in the control tables, so both stores run the same SQL.

CREATE TABLE share_links (
    share_id       TEXT    NOT NULL PRIMARY KEY,
    tenant_id      TEXT    NOT NULL,
    token_hash     TEXT    NOT NULL UNIQUE,
    label          TEXT,
    view_json      TEXT    NOT NULL,
    password_hash  TEXT,
    expires_ms     INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL,
    revoked_ms     INTEGER,
    views          INTEGER NOT NULL DEFAULT 0,
    last_viewed_ms INTEGER
) STRICT;
CREATE INDEX share_links_tenant ON share_links (tenant_id, created_ms);
