-- Least privilege (DESIGN.md, "Control plane"): tenant isolation that holds
-- against any SQL a tenant session may run, not only against a forgotten WHERE.
--
-- Before this migration the RLS policies trusted two session settings,
-- `gateway.tenant_id` and `gateway.role`, and the session's role was switched
-- with SET LOCAL ROLE from a login that owned the tables. Any statement in a
-- tenant session could undo all three (`set_config('gateway.role', 'system',
-- true)`, `RESET ROLE`), so RLS was a backstop against a forgotten WHERE, not
-- against an injected statement. Now:
--
-- * Roles, not settings. Two NOLOGIN group roles carry the rights, and the
--   policies name them (`TO gateway_writer`, `TO gateway_reader`):
--   - gateway_writer: the gateway's system side (event writer, rollups,
--     retention, partition manager). Reads and writes every tenant's rows; it
--     never runs a tenant's query.
--   - gateway_reader: tenant reads (analytics API, dashboard, measured ROI).
--     SELECT only, and only the rows of the tenant its session is bound to.
--   The serving logins are members of one group each (`gateway migrate
--   --writer-role/--reader-role`): they own nothing, are neither superuser nor
--   BYPASSRLS, and cannot SET ROLE to the owner or to the other group. So in a
--   tenant session `RESET ROLE` lands on the reader login, which has the same
--   rights, and `SET ROLE <owner>` is refused. (With a single URL, as in a
--   trial, the reader is the owner after SET ROLE gateway_reader: RESET ROLE
--   escapes, and the gateway says so at start.)
--
-- * A binding, not a setting, picks the tenant. The gateway keeps one small
--   pool of reader connections per tenant; a connection serves one tenant for
--   its whole life, so nothing a session does can reach a later session of
--   another tenant. When a reader connection opens, the writer side mints a
--   one-time grant for the tenant (`gateway_grant_reader`, writer only, valid
--   a minute) and the new session redeems it (`gateway_bind_reader`): the
--   grant is consumed and the backend (its pid, and the hash of a random
--   secret kept in its session setting `gateway.reader_session`) is bound to
--   the tenant. The reader policy compares tenant_id with
--   `gateway_reader_tenant()`, which finds this backend's binding. A session
--   may set `gateway.reader_session` (or any setting) to anything: it knows no
--   other session's secret, cannot read the binding or grant tables, cannot
--   mint a grant, and a binding is found only by its own backend pid. A
--   random 256-bit value cannot be guessed; a binding left behind by a backend
--   that ended is useless to a later backend with the same pid, which lacks
--   its secret.
--
-- * The owner keeps the tables, runs migrations, and owns the SECURITY DEFINER
--   functions that need its rights (creating and dropping partitions needs
--   ownership of usage_events; minting and redeeming bindings needs the owner's
--   tables). Each has a fixed search_path (this schema, pg_temp last) and
--   EXECUTE only for the role that calls it. Partitions have Row-Level
--   Security enabled and no policy of their own: they are read and written
--   through usage_events (its policies apply), and a role that could reach one
--   directly (a member of pg_read_all_data) sees nothing there.
--
-- RLS is enabled but no longer forced: the owner is not a serving role and no
-- tenant query runs as the owner (FORCE used to make the GUC policies bind the
-- owning login the gateway served with). A newer tenant table calls
-- gateway_protect_tenant_table() in its migration.

-- The group roles are cluster-wide: another database may create them at the
-- same moment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_writer') THEN
        CREATE ROLE gateway_writer NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_reader') THEN
        CREATE ROLE gateway_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- A single-URL setup (a trial) reads tenants as the owner switched to
-- gateway_reader, so the owner must be able to SET ROLE to it. Where a
-- database administrator manages the roles and the owner may not grant them,
-- the least-privilege setup does not need it.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'gateway_reader', 'MEMBER') THEN
        EXECUTE format('GRANT gateway_reader TO %I', current_user);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'the owner % may not grant gateway_reader to itself; a single-URL setup cannot read tenants', current_user;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO gateway_writer, gateway_reader', current_schema());
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_app') THEN
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM gateway_app', current_schema());
    END IF;
END
$$;

-- Tenant bindings. Only the owner (through the functions below) touches them.
-- (Their column is `tenant`, not `tenant_id`: they are not tenant tables.)
CREATE TABLE gateway_reader_grants (
    token_hash bytea       PRIMARY KEY,
    tenant     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE gateway_reader_sessions (
    pid         integer     PRIMARY KEY,
    secret_hash bytea       NOT NULL,
    tenant      text        NOT NULL,
    bound_at    timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON gateway_reader_grants, gateway_reader_sessions FROM PUBLIC;

-- A random value as 64 hex digits: two v4 UUIDs (122 random bits each, from
-- the server's strong random source), hashed.
CREATE FUNCTION gateway_random_hex() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex');
$$;

-- Writer side: a one-time grant to bind one new reader session to `tenant`,
-- valid one minute. Returns the token (only its hash is stored).
CREATE FUNCTION gateway_grant_reader(tenant text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    token text := gateway_random_hex();
BEGIN
    IF tenant IS NULL OR tenant = '' THEN
        RAISE EXCEPTION 'a reader grant needs a tenant' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM gateway_reader_grants WHERE expires_at < now();
    INSERT INTO gateway_reader_grants (token_hash, tenant, expires_at)
    VALUES (sha256(convert_to(token, 'UTF8')), tenant, clock_timestamp() + interval '1 minute');
    RETURN token;
END
$$;

-- Reader side, once per connection: redeems a grant and binds this backend to
-- its tenant for the rest of the session. Returns the tenant.
CREATE FUNCTION gateway_bind_reader(token text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    granted text;
    secret  text := gateway_random_hex();
BEGIN
    DELETE FROM gateway_reader_grants
    WHERE token_hash = sha256(convert_to(token, 'UTF8')) AND expires_at >= clock_timestamp()
    RETURNING tenant INTO granted;
    IF granted IS NULL THEN
        RAISE EXCEPTION 'unknown, used or expired reader grant' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- This backend's earlier binding, and those of backends that have ended.
    DELETE FROM gateway_reader_sessions s
    WHERE s.pid = pg_backend_pid()
       OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = s.pid);
    INSERT INTO gateway_reader_sessions (pid, secret_hash, tenant)
    VALUES (pg_backend_pid(), sha256(convert_to(secret, 'UTF8')), granted);
    PERFORM set_config('gateway.reader_session', secret, false);
    RETURN granted;
END
$$;

-- The tenant this backend is bound to; NULL when unbound (nothing matches).
-- PARALLEL RESTRICTED: it reads the leader's pid, and the policies call it in
-- an uncorrelated subquery, so it runs once per statement, in the leader.
CREATE FUNCTION gateway_reader_tenant() RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER AS $$
    SELECT tenant FROM gateway_reader_sessions
    WHERE pid = pg_backend_pid()
      AND secret_hash = sha256(convert_to(current_setting('gateway.reader_session', true), 'UTF8'));
$$;

-- Puts a tenant table (one with a `tenant_id` column) under the two policies
-- and grants: the reader sees its bound tenant's rows, the writer every row
-- with `writer_privileges` (a list of SELECT, INSERT, UPDATE, DELETE). Any
-- other policy on the table is dropped; PUBLIC keeps no rights.
CREATE FUNCTION gateway_protect_tenant_table(t regclass, writer_privileges text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old record;
BEGIN
    IF writer_privileges !~ '^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$' THEN
        RAISE EXCEPTION 'writer privileges must list SELECT, INSERT, UPDATE or DELETE, not %', writer_privileges;
    END IF;
    FOR old IN SELECT polname FROM pg_policy WHERE polrelid = t LOOP
        EXECUTE format('DROP POLICY %I ON %s', old.polname, t);
    END LOOP;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', t);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_app') THEN
        EXECUTE format('REVOKE ALL ON %s FROM gateway_app', t);
    END IF;
    EXECUTE format('GRANT SELECT ON %s TO gateway_reader', t);
    EXECUTE format('GRANT %s ON %s TO gateway_writer', writer_privileges, t);
    EXECUTE format(
        'CREATE POLICY reader_bound_tenant ON %s FOR SELECT TO gateway_reader '
        'USING (tenant_id = (SELECT gateway_reader_tenant()))', t);
    EXECUTE format(
        'CREATE POLICY writer_all_tenants ON %s FOR ALL TO gateway_writer '
        'USING (true) WITH CHECK (true)', t);
END
$$;

SELECT gateway_protect_tenant_table('usage_events', 'SELECT, INSERT');
SELECT gateway_protect_tenant_table('usage_daily', 'SELECT, INSERT, DELETE');
SELECT gateway_protect_tenant_table('usage_weekly', 'SELECT, INSERT, DELETE');
SELECT gateway_protect_tenant_table('usage_monthly', 'SELECT, INSERT, DELETE');
SELECT gateway_protect_tenant_table('usage_daily_latency', 'SELECT, INSERT, DELETE');

-- No tenant table may be left out (a table added before this migration that
-- the lines above do not name).
DO $$
DECLARE
    missed text;
BEGIN
    SELECT string_agg(c.relname, ', ') INTO missed
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relnamespace = current_schema()::regnamespace
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND NOT EXISTS (
          SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'reader_bound_tenant');
    IF missed IS NOT NULL THEN
        RAISE EXCEPTION 'tenant tables without the reader policy: %', missed;
    END IF;
END
$$;

-- Bookkeeping the writer maintains; the schema version both sides check.
REVOKE ALL ON gateway_watermarks, gateway_schema_migrations FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON gateway_watermarks TO gateway_writer;
GRANT SELECT ON gateway_schema_migrations TO gateway_writer, gateway_reader;

-- Partitions: creating one needs ownership of usage_events, so these run as
-- the owner. Today's and later partitions hold the live writes: never dropped.
-- A partition has Row-Level Security enabled and no policy: reads and writes
-- through usage_events get its policies, and a role that could reach a
-- partition directly (pg_read_all_data, say) sees nothing there.
CREATE OR REPLACE FUNCTION gateway_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER AS $$
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
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part_name);
    RETURN true;
END
$$;
ALTER FUNCTION gateway_ensure_partitions(date, integer) SECURITY DEFINER;

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN
        SELECT i.inhrelid::regclass FROM pg_inherits i
        WHERE i.inhparent = 'usage_events'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION gateway_drop_partitions_before(cutoff date) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    part record;
BEGIN
    IF cutoff IS NULL OR cutoff > (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'partitions of today or later are never dropped (cutoff %)', cutoff
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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

-- Every function of the gateway: a fixed search_path for the definers, and
-- EXECUTE for the role that calls it only.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'gateway\_%'
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION gateway_ensure_partition(date), gateway_ensure_partitions(date, integer),
    gateway_drop_partitions_before(date), gateway_partition_days(),
    gateway_raise_watermark(text, date), gateway_grant_reader(text)
    TO gateway_writer;
GRANT EXECUTE ON FUNCTION gateway_bind_reader(text), gateway_reader_tenant() TO gateway_reader;
