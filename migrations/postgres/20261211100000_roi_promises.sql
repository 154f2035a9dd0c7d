-- ROI promised vs achieved (issue 11): the ROI scenario sales promised a tenant
-- at signing, one row per version. A promise is immutable once saved: a new
-- scenario is a new version (1, 2, ... per tenant), never an edit. The trigger
-- below refuses UPDATE, DELETE and TRUNCATE for every role, the owner included;
-- the writer role is granted SELECT and INSERT only.
--
-- The computed monthly figures are stored beside the inputs, so a later change
-- of the price catalog cannot alter what was promised. Money is exact decimal
-- USD text (pricing::Cost at the edge), like the control tables, so both stores
-- run the same statements. `inputs` is the worksheet request as given: numbers
-- and model names, never a key or prompt text.

CREATE TABLE roi_promises (
    tenant_id              text   NOT NULL,
    version                bigint NOT NULL CHECK (version >= 1),
    created_at_ms          bigint NOT NULL,
    created_by             text   NOT NULL,
    start_month            text   NOT NULL CHECK (start_month ~ '^[0-9]{4}-[0-9]{2}-01$'),
    seats                  bigint NOT NULL CHECK (seats >= 0),
    fee_monthly_usd        text   NOT NULL,
    promised_gross_monthly_usd text NOT NULL,
    inputs                 text   NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE FUNCTION gateway_roi_promises_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'roi_promises rows are immutable: save a new version instead'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

-- No role needs to call it: a trigger fires without EXECUTE.
REVOKE ALL ON FUNCTION gateway_roi_promises_immutable() FROM PUBLIC;
ALTER FUNCTION gateway_roi_promises_immutable() SET search_path = pg_catalog, pg_temp;

CREATE TRIGGER roi_promises_immutable BEFORE UPDATE OR DELETE ON roi_promises
    FOR EACH ROW EXECUTE FUNCTION gateway_roi_promises_immutable();
CREATE TRIGGER roi_promises_no_truncate BEFORE TRUNCATE ON roi_promises
    FOR EACH STATEMENT EXECUTE FUNCTION gateway_roi_promises_immutable();

SELECT gateway_protect_tenant_table('roi_promises', 'SELECT, INSERT');
