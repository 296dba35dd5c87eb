-- Exactly-once file ingest: the log of loaded files, quarantined lines,
-- and vpcflow.ingest_file().

CREATE TABLE vpcflow.ingest_log (
    ingest_id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name      text NOT NULL,
    file_size      bigint NOT NULL,
    -- a file's identity is its content: the same bytes load once
    sha256         bytea NOT NULL UNIQUE,
    format         text,
    status         text NOT NULL CHECK (status IN ('loading', 'loaded', 'loaded_with_errors')),
    rows           bigint,
    nodata         bigint,
    skipdata       bigint,
    errors         bigint,
    bytes_read     bigint,
    min_start      timestamptz,
    max_start      timestamptz,
    unknown_fields text[],
    loaded_by      name NOT NULL DEFAULT current_user,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    seconds        double precision
);
CREATE INDEX ingest_log_file_name_idx ON vpcflow.ingest_log (file_name);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.ingest_log', '');

CREATE TABLE vpcflow.ingest_errors (
    error_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ingest_id  integer NOT NULL REFERENCES vpcflow.ingest_log ON DELETE CASCADE,
    source     text NOT NULL,
    line_no    bigint NOT NULL,
    column_no  integer,
    field      text,
    message    text NOT NULL,
    -- the line's bytes as read: it may not even be valid UTF-8
    raw_line   bytea NOT NULL,
    logged_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_errors_ingest_id_idx ON vpcflow.ingest_errors (ingest_id);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.ingest_errors', '');

-- Load a server-side file (plain or gzip) in the caller's transaction.
-- on_error: 'quarantine' (bad lines to vpcflow.ingest_errors) or 'fail'.
CREATE FUNCTION vpcflow.ingest_file(
    path text, format text DEFAULT NULL, on_error text DEFAULT 'quarantine',
    OUT ingest_id integer, OUT file_name text, OUT status text,
    OUT rows bigint, OUT nodata bigint, OUT skipdata bigint, OUT errors bigint,
    OUT bytes_read bigint, OUT seconds double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'vpcflow_ingest_file'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The same load from bytes a client sends (what vpcflow-load uses): the
-- file as stored, plain or gzip.  Same identity (SHA-256 of the bytes), log,
-- quarantine and result as ingest_file; needs INSERT on vpcflow.flows, no
-- file access.
CREATE FUNCTION vpcflow.ingest_data(
    file_name text, data bytea, format text DEFAULT NULL, on_error text DEFAULT 'quarantine',
    OUT ingest_id integer, OUT file_name text, OUT status text,
    OUT rows bigint, OUT nodata bigint, OUT skipdata bigint, OUT errors bigint,
    OUT bytes_read bigint, OUT seconds double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'vpcflow_ingest_data'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
