-- Tenant isolation (DESIGN.md, "Storage"): every tenant table answers only for the
-- tenant named in the session setting `gateway.tenant_id`, so a tenant query that
-- forgets its WHERE clause still sees nothing of other tenants. The writer, the
-- rollup and admin views set `gateway.role = 'system'` to work across tenants.
--
-- FORCE makes the policies bind the tables' owner too; superusers and BYPASSRLS roles
-- still bypass them, which is why tenant reads switch to the NOLOGIN role
-- `gateway_app` (SET LOCAL ROLE), which holds nothing but SELECT on these tables.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_app') THEN
        CREATE ROLE gateway_app NOLOGIN;
    END IF;
EXCEPTION
    -- Roles are cluster-wide: another database may be migrating at the same moment.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    -- The migrating (and connecting) user must be able to SET ROLE gateway_app.
    IF NOT pg_has_role(current_user, 'gateway_app', 'MEMBER') THEN
        EXECUTE format('GRANT gateway_app TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO gateway_app', current_schema());
END
$$;

GRANT SELECT ON usage_events, usage_daily, usage_weekly, usage_monthly TO gateway_app;

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_weekly ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_weekly FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_monthly ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_monthly FORCE ROW LEVEL SECURITY;

-- nullif: once a session has set the variable, "unset" reads back as '' rather than
-- NULL, and '' must not match anything.
CREATE POLICY tenant_isolation ON usage_events
    USING (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''));
CREATE POLICY system_access ON usage_events
    USING (current_setting('gateway.role', true) = 'system')
    WITH CHECK (current_setting('gateway.role', true) = 'system');

CREATE POLICY tenant_isolation ON usage_daily
    USING (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''));
CREATE POLICY system_access ON usage_daily
    USING (current_setting('gateway.role', true) = 'system')
    WITH CHECK (current_setting('gateway.role', true) = 'system');

CREATE POLICY tenant_isolation ON usage_weekly
    USING (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''));
CREATE POLICY system_access ON usage_weekly
    USING (current_setting('gateway.role', true) = 'system')
    WITH CHECK (current_setting('gateway.role', true) = 'system');

CREATE POLICY tenant_isolation ON usage_monthly
    USING (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('gateway.tenant_id', true), ''));
CREATE POLICY system_access ON usage_monthly
    USING (current_setting('gateway.role', true) = 'system')
    WITH CHECK (current_setting('gateway.role', true) = 'system');
