-- Privileges: least privilege per role, nothing for PUBLIC.
-- vpcflow_admin owns the store, so partitions are created (by the
-- SECURITY DEFINER vpcflow.partition_for) as that role, not a superuser.

ALTER TABLE vpcflow.flows OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.partition_for(timestamptz, boolean, boolean) OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.attach_partition(regclass, timestamptz, timestamptz) OWNER TO vpcflow_admin;
GRANT CREATE ON SCHEMA vpcflow TO vpcflow_admin;

GRANT USAGE ON SCHEMA vpcflow TO vpcflow_reader, vpcflow_writer;
GRANT SELECT ON vpcflow.flows, vpcflow.partitions, vpcflow.settings TO vpcflow_reader;

GRANT SELECT, INSERT ON vpcflow.flows TO vpcflow_writer;
GRANT SELECT, INSERT, UPDATE ON vpcflow.ingest_log TO vpcflow_writer;
GRANT SELECT, INSERT ON vpcflow.ingest_errors TO vpcflow_writer;
GRANT SELECT ON vpcflow.partitions, vpcflow.settings TO vpcflow_writer;
GRANT UPDATE ON vpcflow.settings TO vpcflow_admin;

REVOKE EXECUTE ON FUNCTION vpcflow.ingest_file(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.ingest_data(text, bytea, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.partition_for(timestamptz, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.attach_partition(regclass, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.ensure_partitions(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.ingest_file(text, text, text) TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.ingest_data(text, bytea, text, text) TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.partition_for(timestamptz, boolean, boolean) TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.attach_partition(regclass, timestamptz, timestamptz) TO vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.ensure_partitions(timestamptz, timestamptz) TO vpcflow_writer;
