-- Tenant isolation, applied (docs/security.md): row-level security on the
-- core's relations holding per-account data, with the policies of
-- vpcflow.protect_relation (src/tenancy.sql), and the grants that go with it.

-- ---------------------------------------------------------------- the core's relations

-- The store.  Its partitions carry no policies of their own: readers reach
-- them only through vpcflow.flows (no grants on partitions), where these
-- apply.
SELECT vpcflow.protect_relation('vpcflow.flows');

-- The mapping itself: a role sees its own rows (and those of roles it is
-- a member of), so tenants cannot list each other's accounts.
SELECT vpcflow.protect_relation('vpcflow.tenant_accounts', writer => 'none',
    tenant_using => 'pg_catalog.pg_has_role(role_id, ''MEMBER'')');

-- Ingest bookkeeping: file names name accounts, raw lines hold records.
-- Writers read and update all of it (exactly-once needs every earlier
-- load); a tenant reads the loads of its accounts' files and their errors.
ALTER TABLE vpcflow.ingest_log
    ADD COLUMN account_id vpcflow.awsid GENERATED ALWAYS AS (vpcflow.file_account(file_name)) STORED;
SELECT vpcflow.protect_relation('vpcflow.ingest_log', writer => 'all');
SELECT vpcflow.protect_relation('vpcflow.ingest_errors', writer => 'all',
    tenant_using => 'EXISTS (SELECT 1 FROM vpcflow.ingest_log l WHERE l.ingest_id = ingest_errors.ingest_id)');

-- Enrichment: network interfaces belong to accounts.
SELECT vpcflow.protect_relation('vpcflow.interfaces');

-- Privileges for the above.
GRANT SELECT ON vpcflow.tenant_accounts, vpcflow.ingest_log, vpcflow.ingest_errors TO vpcflow_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON vpcflow.tenant_accounts TO vpcflow_admin;
GRANT SELECT ON vpcflow.tenant_accounts TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.readable_accounts() TO vpcflow_reader, vpcflow_writer;
