-- pgTAP: roles and privileges.  Login-less test roles are created inside
-- the transaction (rolled back with it) and used through SET ROLE:
--   * a plain role reaches nothing;
--   * a vpcflow_reader member reads the store (the rows of its accounts)
--     but neither ingests nor reads the quarantine of other files;
--   * a vpcflow_writer member ingests only files below
--     vpcflow.ingest_directory, and nothing while it is empty;
--   * partitions made by a writer's load belong to vpcflow_admin.
-- Test files are staged as 'vpcflow_testdata/' in the data directory.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;

CREATE ROLE tap_vpcflow_plain NOLOGIN;
CREATE ROLE tap_vpcflow_reader NOLOGIN IN ROLE vpcflow_reader;
CREATE ROLE tap_vpcflow_writer NOLOGIN IN ROLE vpcflow_writer;
CREATE ROLE tap_vpcflow_fileread NOLOGIN IN ROLE vpcflow_writer, pg_read_server_files;

-- 'SQLSTATE: message[ DETAIL: detail]' of the error sql raises, or 'no error'.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || coalesce(' DETAIL: ' || nullif(det, ''), '');
END
$$;

-- Owners of the partitions that hold these times.
CREATE FUNCTION pg_temp.owners(ts timestamptz[]) RETURNS name[]
LANGUAGE sql AS $$
    SELECT array_agg(DISTINCT pg_get_userbyid(c.relowner) ORDER BY pg_get_userbyid(c.relowner))
    FROM vpcflow.partitions p
    JOIN pg_class c ON c.oid = p.partition
    WHERE EXISTS (SELECT 1 FROM unnest(ts) t WHERE t >= p.lower_bound AND t < p.upper_bound)
$$;

SELECT plan(32);

-- ---------------------------------------------------------------- the roles
SELECT has_role('vpcflow_reader', 'role vpcflow_reader exists');
SELECT has_role('vpcflow_writer', 'role vpcflow_writer exists');
SELECT has_role('vpcflow_admin', 'role vpcflow_admin exists');

SELECT is((SELECT array_agg(rolname ORDER BY rolname) FROM pg_roles
           WHERE rolname IN ('vpcflow_reader', 'vpcflow_writer', 'vpcflow_admin')
             AND NOT rolcanlogin AND NOT rolsuper),
    ARRAY['vpcflow_admin', 'vpcflow_reader', 'vpcflow_writer']::name[],
    'the three roles are NOLOGIN and not superusers');

SELECT is_member_of('vpcflow_reader', 'vpcflow_admin', 'vpcflow_admin is a member of vpcflow_reader');
SELECT is_member_of('vpcflow_writer', 'vpcflow_admin', 'vpcflow_admin is a member of vpcflow_writer');
SELECT table_owner_is('vpcflow', 'flows', 'vpcflow_admin', 'vpcflow.flows is owned by vpcflow_admin');

-- Some rows for the reader to see, loaded as superuser.
SELECT is((SELECT status FROM vpcflow.ingest_file('vpcflow_testdata/v2-header.log')), 'loaded',
    'setup: superuser loads v2-header.log');

-- ---------------------------------------------------------------- a plain role
SET ROLE tap_vpcflow_plain;

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once.log')$$,
    '42501', NULL, 'plain role: ingest_file is refused (permission denied)');

SELECT throws_ok($$SELECT count(*) FROM vpcflow.flows$$,
    '42501', NULL, 'plain role: cannot select from vpcflow.flows');

SELECT throws_ok($$SELECT count(*) FROM vpcflow.ingest_log$$,
    '42501', NULL, 'plain role: cannot select from vpcflow.ingest_log');

RESET ROLE;

-- ---------------------------------------------------------------- a vpcflow_reader member
CREATE TEMP TABLE n_all AS SELECT count(*) AS n FROM vpcflow.flows;
GRANT SELECT ON n_all TO tap_vpcflow_reader;
SET ROLE tap_vpcflow_reader;

-- row-level security (test/tenant.sql has the full isolation checks): a
-- reader sees the rows of the accounts vpcflow.tenant_accounts gives it
SELECT is((SELECT count(*) FROM vpcflow.flows), 0::bigint,
    'reader: sees no rows of vpcflow.flows before it is mapped to an account');
RESET ROLE;
INSERT INTO vpcflow.tenant_accounts (role_id, account_id) VALUES ('tap_vpcflow_reader', '111122223333');
SET ROLE tap_vpcflow_reader;
SELECT is((SELECT count(*) FROM vpcflow.flows), (SELECT n FROM n_all),
    'reader: mapped to the account of every row, selects every row of vpcflow.flows');

SELECT lives_ok($$SELECT * FROM vpcflow.partitions$$, 'reader: can list vpcflow.partitions');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once.log')$$,
    '42501', 'permission denied for function ingest_file',
    'reader: cannot call ingest_file');

SELECT is((SELECT count(*) FROM vpcflow.ingest_errors e
           JOIN vpcflow.ingest_log l USING (ingest_id) WHERE l.account_id IS NULL), 0::bigint,
    'reader: reads no vpcflow.ingest_errors of files not named for its accounts');

SELECT throws_ok($$INSERT INTO vpcflow.flows (start_time) VALUES (now())$$,
    '42501', NULL, 'reader: cannot insert into vpcflow.flows');

RESET ROLE;

-- ---------------------------------------------------------------- a vpcflow_writer member
DO $$ BEGIN
    PERFORM set_config('vpcflow.ingest_directory', current_setting('data_directory') || '/vpcflow_testdata', true);
END $$;
SET ROLE tap_vpcflow_writer;

-- (a regression test: realpath() into a MAXPGPATH buffer once aborted the
-- backend under _FORTIFY_SOURCE for every writer ingest)
SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('PG_VERSION')$$,
    '42501', 'file "PG_VERSION" is outside vpcflow.ingest_directory',
    'writer: a file outside vpcflow.ingest_directory is refused');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/../PG_VERSION')$$,
    '42501', 'file "vpcflow_testdata/../PG_VERSION" is outside vpcflow.ingest_directory',
    'writer: ../ out of vpcflow.ingest_directory is refused');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata')$$,
    '42501', 'file "vpcflow_testdata" is outside vpcflow.ingest_directory',
    'writer: the directory itself is not a file below it');

SELECT throws_ok($$SELECT set_config('vpcflow.ingest_directory', '/', true)$$,
    '42501', NULL, 'writer: cannot change vpcflow.ingest_directory');

SELECT is((SELECT ARRAY[status, rows::text] FROM vpcflow.ingest_file('vpcflow_testdata/partitions-span.log')),
    ARRAY['loaded', '3'],
    'writer: a file inside vpcflow.ingest_directory loads');

SELECT is((SELECT ARRAY[status, rows::text, errors::text] FROM vpcflow.ingest_file('vpcflow_testdata/bad-lines.log')),
    ARRAY['loaded_with_errors', '2', '10'],
    'writer: bad lines are quarantined (the writer may write vpcflow.ingest_errors)');

SELECT throws_ok($$UPDATE vpcflow.settings SET partition_interval = '1 hour'$$,
    '42501', NULL, 'writer: cannot change vpcflow.settings');

RESET ROLE;

SELECT is(pg_temp.owners(ARRAY[to_timestamp(1449000000), to_timestamp(1925000000), to_timestamp(165000000)]),
    ARRAY['vpcflow_admin']::name[],
    'partitions created by the writer''s load are owned by vpcflow_admin');

SELECT is((SELECT count(*) FROM vpcflow.partitions p
           WHERE to_timestamp(1449000000) >= p.lower_bound AND to_timestamp(1449000000) < p.upper_bound),
    1::bigint,
    'the writer''s new partition is attached to vpcflow.flows');

SELECT is((SELECT array_agg(DISTINCT loaded_by) FROM vpcflow.ingest_log
           WHERE file_name IN ('vpcflow_testdata/partitions-span.log', 'vpcflow_testdata/bad-lines.log')),
    ARRAY['tap_vpcflow_writer']::name[],
    'ingest_log.loaded_by names the writer');

SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time < '1976-01-01'), 1::bigint,
    'the writer''s 1975 row is in vpcflow.flows');

-- the writer with vpcflow.ingest_directory empty
DO $$ BEGIN PERFORM set_config('vpcflow.ingest_directory', '', true); END $$;
SET ROLE tap_vpcflow_writer;

SELECT alike(pg_temp.error_of($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once.log')$$),
    '42501: permission denied to ingest file "vpcflow_testdata/exactly-once.log"%vpcflow.ingest_directory%',
    'writer: with vpcflow.ingest_directory empty every file is refused, and the error says why');

RESET ROLE;

-- pg_read_server_files members ingest from anywhere, as COPY FROM reads
SET ROLE tap_vpcflow_fileread;

SELECT is((SELECT status FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once.log')), 'loaded',
    'writer in pg_read_server_files: loads with vpcflow.ingest_directory empty');

RESET ROLE;

DO $$ BEGIN
    PERFORM set_config('vpcflow.ingest_directory', current_setting('data_directory') || '/vpcflow_testdata', true);
END $$;
SET ROLE tap_vpcflow_fileread;

SELECT is((SELECT ARRAY[status, errors::text] FROM vpcflow.ingest_file('PG_VERSION')),
    ARRAY['loaded_with_errors', '1'],
    'writer in pg_read_server_files: a file outside vpcflow.ingest_directory is read (its one line is no flow-log record)');

RESET ROLE;

-- ---------------------------------------------------------------- the reader sees the writer's rows
SET ROLE tap_vpcflow_reader;
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time < '1976-01-01'), 1::bigint,
    'reader: sees the rows the writer loaded');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
