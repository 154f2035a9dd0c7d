-- Shareable read-only dashboard links (issue 11): a tenant owner's saved view
-- (a date range, filters, panels) that anyone holding the link may read until
-- it expires or is revoked. The link's token is stored as its SHA-256 only
-- (`token_hash`), a password as a salted PBKDF2 hash; the view is our own JSON
-- (preset or dates, filter values, panel names). `views` and `last_viewed_ms`
-- are added to in batches by the replicas that served the link.
--
-- Text and 64-bit integers only, times in unix milliseconds, like the control
-- tables: both stores run the same statements (analytics/src/control/shares.rs).

CREATE TABLE share_links (
    share_id       TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    label          TEXT,
    -- The saved view as JSON: {"range": ..., "filters": ..., "panels": [...]}.
    view_json      TEXT NOT NULL,
    -- `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`; NULL: no password.
    password_hash  TEXT,
    expires_ms     BIGINT NOT NULL,
    created_ms     BIGINT NOT NULL,
    -- The key id that made it (never a key).
    created_by     TEXT NOT NULL,
    revoked_ms     BIGINT,
    views          BIGINT NOT NULL DEFAULT 0,
    last_viewed_ms BIGINT
);
CREATE INDEX share_links_tenant ON share_links (tenant_id, created_ms);

SELECT gateway_protect_tenant_table('share_links', 'SELECT, INSERT, UPDATE');
