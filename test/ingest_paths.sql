-- pgTAP: file ingest stays inside vpcflow.ingest_directory for vpcflow_writer
-- members: relative and absolute paths, "..", sibling directories sharing
-- the name's prefix, symbolic links to files and directories outside, and
-- no existence oracle for paths outside.  The files are made in the data
-- directory (as the superuser, with COPY ... TO PROGRAM) and removed at the end.
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE ROLE tap_path_writer NOLOGIN IN ROLE vpcflow_writer;

CREATE FUNCTION pg_temp.sh(cmd text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- the program reads its input first: exiting unread would break the pipe
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'cat > /dev/null; cd ' || current_setting('data_directory') || ' && ' || cmd);
END $$;

CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END $$;

SELECT pg_temp.sh('rm -rf sec_in sec_in2 sec_out && mkdir -p sec_in/sub sec_in2 sec_out && '
    || 'L="2 111122223333 eni-0a1b2c3d4e5f60718 10.1.2.3 10.1.2.4 443 50123 6 12 3456 1700000000 1700000060 ACCEPT OK" && '
    || 'echo "$L" > sec_in/ok.log && echo "$L 1" | sed "s/ 1$//;s/3456/3457/" > sec_in/sub/deep.log && '
    || 'echo "$L" | sed "s/3456/3458/" > sec_in/linked_target.log && '
    || 'echo "$L" | sed "s/3456/9999/" > sec_in2/evil.log && echo "$L" | sed "s/3456/8888/" > sec_out/secret.log && '
    || 'ln -s ../sec_out/secret.log sec_in/link_out.log && ln -s ../sec_out sec_in/dir_out && '
    || 'ln -s linked_target.log sec_in/link_in.log && ln -s /nonexistent/x sec_in/dangling.log');

DO $$ BEGIN
    PERFORM set_config('vpcflow.ingest_directory', current_setting('data_directory') || '/sec_in', true);
END $$;
CREATE TEMP TABLE datadir AS SELECT current_setting('data_directory') AS d;
GRANT SELECT ON datadir TO tap_path_writer;

SELECT plan(14);
SET ROLE tap_path_writer;

SELECT is((SELECT status FROM vpcflow.ingest_file('sec_in/ok.log')), 'loaded',
    'a relative path inside the directory loads');
SELECT is((SELECT status FROM vpcflow.ingest_file((SELECT d FROM datadir) || '/sec_in/sub/deep.log')), 'loaded',
    'an absolute path inside the directory loads');
SELECT is((SELECT status FROM vpcflow.ingest_file('sec_in/./sub/../link_in.log')), 'loaded',
    '"." and ".." that stay inside, and a link to a file inside, load');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/../sec_in2/evil.log')$$),
    '42501: file "sec_in/../sec_in2/evil.log" is outside vpcflow.ingest_directory',
    '".." into a sibling directory is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in2/evil.log')$$),
    '42501: file "sec_in2/evil.log" is outside vpcflow.ingest_directory',
    'a sibling directory whose name starts with the directory''s is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/link_out.log')$$),
    '42501: file "sec_in/link_out.log" is outside vpcflow.ingest_directory',
    'a symbolic link to a file outside is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/dir_out/secret.log')$$),
    '42501: file "sec_in/dir_out/secret.log" is outside vpcflow.ingest_directory',
    'a path through a symbolic link to a directory outside is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('/etc/passwd')$$),
    '42501: file "/etc/passwd" is outside vpcflow.ingest_directory',
    'an absolute path outside is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('/etc/no-such-file-here')$$),
    '42501: file "/etc/no-such-file-here" is outside vpcflow.ingest_directory',
    'a missing file outside gets the same answer (no existence oracle)');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/../../no-such-dir/x')$$),
    '42501: file "sec_in/../../no-such-dir/x" is outside vpcflow.ingest_directory',
    'a missing path climbing out gets the same answer');
SELECT alike(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/missing.log')$$),
    '58P01: could not open file "sec_in/missing.log": No such file%',
    'a missing file inside says so');
-- (a dangling link inside tells that its target is missing: only someone
-- who can write the directory could make one)
SELECT alike(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/dangling.log')$$),
    '58P01: could not open file "sec_in/dangling.log": No such file%',
    'a dangling link inside is refused');
SELECT is(pg_temp.error_of($$SELECT vpcflow.ingest_file('sec_in/sub')$$),
    '42809: "sec_in/sub" is not a regular file',
    'a directory inside is not a file to load');

RESET ROLE;
SELECT is((SELECT array_agg(bytes ORDER BY bytes) FROM vpcflow.flows f
           JOIN vpcflow.ingest_log l USING (ingest_id) WHERE l.loaded_by = 'tap_path_writer'),
    ARRAY[3456, 3457, 3458]::bigint[],
    'only the three files inside were loaded (nothing from outside)');

SELECT * FROM finish();
ROLLBACK;
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'cat > /dev/null; cd ' || current_setting('data_directory') || ' && rm -rf sec_in sec_in2 sec_out');
END $$;
