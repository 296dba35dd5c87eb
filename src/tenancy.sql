-- Tenant isolation, the definitions (docs/security.md): which accounts each
-- role may read, and vpcflow.protect_relation(), the one call that protects
-- a relation holding per-account rows.  This part comes early in the script
-- (after the types and operators), so every later part can call it;
-- src/security.sql, at the end, protects the relations of the core.
--
-- The model:
--   * vpcflow.tenant_accounts maps a role to an account it may read.  A role
--     reads the accounts of every role it is a member of (pg_has_role
--     MEMBER), so granting a tenant role to a user or a team role passes its
--     accounts on.
--   * Members of vpcflow_reader see the rows of their accounts, nothing else;
--     a role with no mapping sees no rows (default deny).
--   * Members of vpcflow_admin see and change every row, through a policy
--     rather than BYPASSRLS: BYPASSRLS is not inherited through membership,
--     only a superuser can give it, and it would reach every table of the
--     cluster; the policy is scoped to vpcflow's relations.
--   * Members of vpcflow_writer may insert any account's rows (a loader
--     carries many accounts); they read flows like any tenant.
--   * RLS is FORCEd, so the owner (vpcflow_admin, which owns the store) and
--     the SECURITY DEFINER functions running as it get the policies too.

CREATE TABLE vpcflow.tenant_accounts (
    role_id    regrole NOT NULL,
    account_id vpcflow.awsid NOT NULL,
    note       text,
    granted_by name NOT NULL DEFAULT current_user,
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (role_id, account_id)
);
COMMENT ON TABLE vpcflow.tenant_accounts IS
    'Accounts each role (and every member of it) may read under row-level security.';
SELECT pg_catalog.pg_extension_config_dump('vpcflow.tenant_accounts', '');

-- The accounts the current user may read.  Policies use it as
--   account_id OPERATOR(vpcflow.=) ANY (ARRAY(SELECT vpcflow.readable_accounts()))
-- an InitPlan evaluated once per query and handed to parallel workers (the
-- "IN (SELECT ...)" form is a hashed SubPlan, which keeps a scan from going
-- parallel: bench/rls.sh measured it about twice as slow).
CREATE FUNCTION vpcflow.readable_accounts() RETURNS SETOF vpcflow.awsid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT DISTINCT t.account_id FROM vpcflow.tenant_accounts t
    WHERE pg_catalog.pg_has_role(t.role_id, 'MEMBER')
$fn$;

-- The account of a file from its S3 delivery path: AWSLogs/<account>/...,
-- also with an organisation id (AWSLogs/o-xxxx/<account>/) or in the
-- Hive-compatible layout (AWSLogs/aws-account-id=<account>/).  NULL when
-- the name does not say; such loads are visible to writers and admins only.
CREATE FUNCTION vpcflow.file_account(file_name text) RETURNS vpcflow.awsid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.substring(file_name,
        '(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?(?:aws-account-id=)?([0-9]{12})/')::vpcflow.awsid
$fn$;

-- Protect a relation holding per-account rows: enable and force row-level
-- security and create the standard policies
--   vpcflow_tenant_read   SELECT for vpcflow_reader members: their accounts
--   vpcflow_admin_all     everything for vpcflow_admin members
--   vpcflow_writer_insert INSERT of any row for vpcflow_writer members
--                         (writer => 'insert', the default), or
--   vpcflow_writer_all    everything for them (writer => 'all': the
--                         ingest bookkeeping the loaders read and update)
-- tenant_using replaces the account test (e.g. a join to a parent row);
-- by default it is "<account_column> = ANY (ARRAY(SELECT vpcflow.readable_accounts()))"
-- with the awsid operator (or as text, for a text column).
-- Views are made security_invoker instead (their base tables decide).
-- Foreign tables and materialized views cannot have row-level security:
-- put a security_barrier view with the tenant filter in front and grant
-- nothing on them (see docs/security.md).
CREATE FUNCTION vpcflow.protect_relation(rel regclass, account_column name DEFAULT 'account_id',
                                         writer text DEFAULT 'insert',
                                         tenant_using text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    kind "char";
    coltype regtype;
    filter text := tenant_using;
BEGIN
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = rel;
    IF kind = 'v' THEN
        EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', rel);
        RETURN;
    ELSIF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'protect_relation: % is a % relation, which cannot have row-level security', rel, kind
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Grant nothing on it and put a security_barrier view with the tenant filter in front.';
    END IF;
    IF writer NOT IN ('none', 'insert', 'all') THEN
        RAISE EXCEPTION 'protect_relation: writer must be none, insert or all, not %', writer
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF filter IS NULL THEN
        SELECT a.atttypid INTO coltype FROM pg_attribute a
        WHERE a.attrelid = rel AND a.attname = account_column AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'protect_relation: % has no column %', rel, account_column
                USING ERRCODE = 'undefined_column';
        END IF;
        -- operators named with their schema: the policy is parsed here, under
        -- this function's search_path, and must not fall back to text
        IF coltype = 'vpcflow.awsid'::regtype THEN
            filter := format('%I OPERATOR(vpcflow.=) ANY (ARRAY(SELECT vpcflow.readable_accounts()))',
                             account_column);
        ELSE
            filter := format('%I::text OPERATOR(pg_catalog.=) ANY '
                             '(ARRAY(SELECT a::text FROM vpcflow.readable_accounts() a))', account_column);
        END IF;
    END IF;

    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', rel);
    EXECUTE format('DROP POLICY IF EXISTS vpcflow_tenant_read ON %s', rel);
    EXECUTE format('DROP POLICY IF EXISTS vpcflow_admin_all ON %s', rel);
    EXECUTE format('DROP POLICY IF EXISTS vpcflow_writer_insert ON %s', rel);
    EXECUTE format('DROP POLICY IF EXISTS vpcflow_writer_all ON %s', rel);
    EXECUTE format('CREATE POLICY vpcflow_tenant_read ON %s FOR SELECT TO vpcflow_reader USING (%s)',
                   rel, filter);
    EXECUTE format('CREATE POLICY vpcflow_admin_all ON %s FOR ALL TO vpcflow_admin '
                   'USING (true) WITH CHECK (true)', rel);
    IF writer = 'insert' THEN
        EXECUTE format('CREATE POLICY vpcflow_writer_insert ON %s FOR INSERT TO vpcflow_writer '
                       'WITH CHECK (true)', rel);
    ELSIF writer = 'all' THEN
        EXECUTE format('CREATE POLICY vpcflow_writer_all ON %s FOR ALL TO vpcflow_writer '
                       'USING (true) WITH CHECK (true)', rel);
    END IF;
END
$fn$;
REVOKE EXECUTE ON FUNCTION vpcflow.protect_relation(regclass, name, text, text) FROM PUBLIC;
