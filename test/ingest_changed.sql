-- pgTAP: a file of lines is read twice by ingest_file (hashed, then parsed
-- in chunks), so one that changes between the two reads must load nothing:
-- the SHA-256 it claims would not be that of the rows it stored.  A second
-- session (dblink) runs ingest_file with vpcflow.debug_pause_after_hash;
-- once it waits there (wait_event PgSleep), this session changes the file.
-- The files are made in the data directory and removed at the end.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

CREATE FUNCTION pg_temp.sh(cmd text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- the program reads its input first: exiting unread would break the pipe
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'cat > /dev/null; cd ' || current_setting('data_directory') || ' && ' || cmd);
END $$;

-- Start ingest_file(path) in the other session, wait until it has hashed
-- the file, run cmd on the file, and return the other session's outcome.
CREATE FUNCTION pg_temp.load_while(path text, cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
    outcome text;
BEGIN
    PERFORM dblink_connect('chg', format('host=127.0.0.1 port=%s user=postgres dbname=%s',
                                         current_setting('port'), current_database()));
    PERFORM dblink_exec('chg', 'SET vpcflow.debug_pause_after_hash = 3000');
    PERFORM dblink_send_query('chg', format('SELECT status FROM vpcflow.ingest_file(%L)', path));
    FOR i IN 1..600 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE wait_event = 'PgSleep' AND query LIKE '%ingest_file%' || path || '%'
                            AND pid <> pg_backend_pid());
        PERFORM pg_sleep(0.05);
    END LOOP;
    PERFORM pg_temp.sh(cmd);
    BEGIN
        SELECT status INTO outcome FROM dblink_get_result('chg') AS t(status text);
    EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        outcome := st || ': ' || msg;
    END;
    PERFORM dblink_disconnect('chg');
    RETURN outcome;
END $$;

SELECT plan(5);

SELECT pg_temp.sh('rm -rf chg && mkdir chg && '
    || 'L="2 111122223333 eni-0a1b2c3d4e5f60718 10.1.2.3 10.1.2.4 443 50123 6 12 3456 1700000000 1700000060 ACCEPT OK" && '
    || 'echo "$L" > chg/appended.log && echo "$L" >> chg/appended.log && '
    || 'echo "$L" | sed "s/ 3456 / 777 /" > chg/rewritten.log && echo "$L" >> chg/rewritten.log');

SELECT is(pg_temp.load_while('chg/appended.log',
        'echo "2 111122223333 eni-0a1b2c3d4e5f60718 10.1.2.3 10.1.2.4 443 50123 6 1 1 1700000000 1700000060 ACCEPT OK" >> chg/appended.log'),
    '55000: file "chg/appended.log" changed while it was loaded; nothing was loaded from it',
    'a line appended between the hash and the parse: the load fails, naming the file');

-- same size, same inode, new bytes: only the modification time tells
SELECT is(pg_temp.load_while('chg/rewritten.log',
        'printf 9 | dd of=chg/rewritten.log bs=1 seek=80 conv=notrunc status=none'),
    '55000: file "chg/rewritten.log" changed while it was loaded; nothing was loaded from it',
    'bytes rewritten in place between the hash and the parse: the load fails');

SELECT is((SELECT count(*) FROM vpcflow.ingest_log WHERE file_name LIKE 'chg/%'), 0::bigint,
    'the failed loads left nothing in vpcflow.ingest_log');

SELECT results_eq($$SELECT status, rows FROM vpcflow.ingest_file('chg/appended.log')$$,
    $$VALUES ('loaded'::text, 3::bigint)$$,
    'loaded again once it is complete, the file gives all its lines');

SELECT is((SELECT sum(bytes) FROM vpcflow.flows f JOIN vpcflow.ingest_log l USING (ingest_id)
           WHERE l.file_name = 'chg/appended.log'), 6913::numeric,
    'the stored rows are those of the file as it is now');

SELECT * FROM finish();
ROLLBACK;
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'cat > /dev/null; cd ' || current_setting('data_directory') || ' && rm -rf chg');
END $$;
