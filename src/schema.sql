-- vpcflow extension script, assembled from src/*.sql by the Makefile.
-- Every object lives in schema vpcflow; functions pin their search_path or
-- schema-qualify what they call.

\echo Use "CREATE EXTENSION vpcflow" to load this file. \quit

-- Roles are cluster-wide and outlive the extension: create them only when
-- missing.  vpcflow_reader reads, vpcflow_writer ingests, vpcflow_admin
-- owns the store and runs maintenance.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'vpcflow_reader') THEN
        CREATE ROLE vpcflow_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'vpcflow_writer') THEN
        CREATE ROLE vpcflow_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'vpcflow_admin') THEN
        CREATE ROLE vpcflow_admin NOLOGIN;
    END IF;
END
$roles$;

GRANT vpcflow_reader TO vpcflow_admin;
GRANT vpcflow_writer TO vpcflow_admin;
