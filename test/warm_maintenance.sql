-- pgTAP: vpcflow.run_maintenance() (docs/warm.md) on days of 2011, far from
-- every other test's data.  Policy steps (partitions ahead, compression past
-- the hot window, retention with and without an archive), idempotence, the
-- advisory lock, and a run with concurrent ingest (through dblink) that
-- must lose or change no row: counts and sums before and after compression,
-- late inserts and the fold.  Writers are not stopped while a day's blocks
-- are built: a build held half-way lets them insert, and their rows land in
-- the side table; a row deleted meanwhile makes the step fail, not lie;
-- a writer transaction longer than the lock wait makes it give up early.
-- run_maintenance commits, so this file runs
-- outside a transaction and removes what it made at the end.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(34);

CREATE TABLE pg_temp.saved_settings AS SELECT * FROM vpcflow.settings;
UPDATE vpcflow.settings SET hot_window = '2 days', warm = true, retention = NULL,
    archive_directory = NULL, partitions_ahead = '1 day', warm_block_rows = 1024;

-- n rows on day d, with bytes 1..n (so every day's sum is known)
CREATE FUNCTION pg_temp.fill(d date, n integer, first integer DEFAULT 1) RETURNS void
LANGUAGE sql AS $$
    SELECT vpcflow.ensure_partitions(d::timestamptz, d::timestamptz + interval '1 day');
    INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport,
                               dstport, protocol, action, log_status, packets, bytes,
                               start_time, end_time)
    SELECT 2, '123456789012', 'eni-0123456789abcdef0', ('10.1.' || g % 200 || '.' || g % 250)::inet,
           '10.2.0.1', g % 65536, 443, 6, 'ACCEPT', 'OK', 1, g,
           d + (g % 86400) * interval '1 second', d + (g % 86400 + 5) * interval '1 second'
    FROM generate_series(first, first + n - 1) g;
$$;
CREATE FUNCTION pg_temp.day(d date) RETURNS text
LANGUAGE sql AS $$
    SELECT count(*) || ' rows, ' || coalesce(sum(bytes), 0) || ' bytes' FROM vpcflow.flows
    WHERE start_time >= d AND start_time < d + 1
$$;
CREATE FUNCTION pg_temp.tier(d date) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(min(t.tier), 'none') FROM vpcflow.partition_tiers t
    WHERE t.lower_bound = d::timestamptz
$$;
CREATE FUNCTION pg_temp.log_since(since bigint, act text, st text DEFAULT 'ok') RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM vpcflow.maintenance_log
    WHERE log_id > since AND action = act AND status = st
$$;
CREATE TABLE pg_temp.mark (log_id bigint);
INSERT INTO pg_temp.mark SELECT coalesce(max(log_id), 0) FROM vpcflow.maintenance_log;

SELECT pg_temp.fill('2011-01-01', 1000);
SELECT pg_temp.fill('2011-01-02', 1000);
SELECT pg_temp.fill('2011-01-10', 20000);
SELECT pg_temp.fill('2011-01-19', 1000);

-- ---------------------------------------------------------------- a plain pass
CALL vpcflow.run_maintenance('2011-01-20 06:00');
SELECT is(pg_temp.tier('2011-01-10'), 'warm', 'a day past the hot window is compressed');
SELECT is(pg_temp.tier('2011-01-19'), 'hot', 'a day inside the hot window stays hot');
SELECT is(pg_temp.tier('2011-01-21'), 'hot', 'partitions are made ahead');
SELECT is(pg_temp.day('2011-01-10'), '20000 rows, 200010000 bytes', 'the compressed day has all its rows');
SELECT is(pg_temp.log_since((SELECT log_id FROM pg_temp.mark), 'compress'), 3::bigint,
          'the log has one compress entry per compressed day');
SELECT is((SELECT count(*) FROM vpcflow.maintenance_log WHERE log_id > (SELECT log_id FROM pg_temp.mark)
           AND status = 'error'), 0::bigint, 'no step failed');

UPDATE pg_temp.mark SET log_id = (SELECT max(log_id) FROM vpcflow.maintenance_log);
CALL vpcflow.run_maintenance('2011-01-20 06:00');
SELECT is((SELECT count(*) FROM vpcflow.maintenance_log WHERE log_id > (SELECT log_id FROM pg_temp.mark)
           AND action NOT IN ('run')), 0::bigint, 'a second pass at the same time has nothing to do');

-- another session holding the maintenance lock: the pass skips
SELECT dblink_connect('lockholder', format('host=127.0.0.1 port=%s dbname=%s user=%s',
                      current_setting('port'), current_database(), current_user));
SELECT * FROM dblink('lockholder', $$SELECT pg_advisory_lock(hashtext('vpcflow.run_maintenance'))::text$$) AS t(x text);
UPDATE pg_temp.mark SET log_id = (SELECT max(log_id) FROM vpcflow.maintenance_log);
CALL vpcflow.run_maintenance('2011-01-20 06:00');
SELECT is(pg_temp.log_since((SELECT log_id FROM pg_temp.mark), 'run', 'skipped'), 1::bigint,
          'a pass finding another one running skips');
SELECT dblink_disconnect('lockholder');

-- ---------------------------------------------------------------- concurrency
-- 2011-01-11 is hot with 20000 rows; while a pass compresses it, another
-- session inserts 40 x 50 rows into it (SQL) and 10 x 2 rows (C ingest path),
-- each batch its own transaction.  Nothing may be lost or changed.
SELECT pg_temp.fill('2011-01-11', 20000);
SELECT dblink_connect('maint', format('host=127.0.0.1 port=%s dbname=%s user=%s',
                      current_setting('port'), current_database(), current_user));
SELECT dblink_connect('writer', format('host=127.0.0.1 port=%s dbname=%s user=%s',
                      current_setting('port'), current_database(), current_user));
SELECT dblink_send_query('maint', $$CALL vpcflow.run_maintenance('2011-01-20 07:00')$$);
DO $$
BEGIN
    FOR i IN 0 .. 39 LOOP
        PERFORM dblink_exec('writer', format(
            $q$INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr,
                   srcport, dstport, protocol, action, log_status, packets, bytes, start_time, end_time)
               SELECT 2, '123456789012', 'eni-0123456789abcdef0', '10.9.9.9', '10.2.0.1', g, 443, 6,
                      'ACCEPT', 'OK', 1, g, '2011-01-11'::timestamptz + (g %% 86400) * interval '1 second',
                      '2011-01-11'::timestamptz + (g %% 86400) * interval '1 second'
               FROM generate_series(%s, %s) g$q$, 100000 + i * 50, 100000 + i * 50 + 49));
        IF i % 4 = 0 THEN
            PERFORM * FROM dblink('writer', format(
                $q$SELECT (vpcflow.ingest_data('concurrent-%s.log', convert_to(
                   'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status' || E'\n' ||
                   '2 123456789012 eni-0123456789abcdef0 10.8.8.8 10.2.0.1 1 2 6 1 %s 1294750800 1294750860 ACCEPT OK' || E'\n' ||
                   '2 123456789012 eni-0123456789abcdef0 10.8.8.8 10.2.0.1 1 2 6 1 %s 1294750801 1294750860 ACCEPT OK' || E'\n', 'UTF8'))).rows::text$q$,
                i, 300000 + i, 400000 + i)) AS t(x text);
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
END
$$;
SELECT * FROM dblink_get_result('maint') AS r(x text);
SELECT dblink_disconnect('maint');
SELECT dblink_disconnect('writer');

-- expected: 20000 rows with bytes 1..20000, 2000 with bytes 100000..101999,
-- 20 from ingest with bytes 300000+i and 400000+i for i = 0, 4, .., 36
SELECT is(pg_temp.tier('2011-01-11'), 'warm', 'the day was compressed while being written');
SELECT is(pg_temp.day('2011-01-11'), '22020 rows, ' || (200010000 + 201999000 + 7000360) || ' bytes',
          'no row was lost or changed by compression beside concurrent ingest');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time >= '2011-01-11' AND start_time < '2011-01-12'
           AND srcaddr = '10.8.8.8'), 20::bigint, 'rows from the C ingest path are all there');
CALL vpcflow.run_maintenance('2011-01-20 08:00');
SELECT is(pg_temp.day('2011-01-11'), '22020 rows, ' || (200010000 + 201999000 + 7000360) || ' bytes',
          'nothing is lost when the next pass folds the late rows');
SELECT is((SELECT count(*) FROM vpcflow.flows_p20110111_late), 0::bigint, 'the fold empties the side table');
SELECT is((SELECT count(*) FROM (SELECT srcaddr, bytes FROM vpcflow.flows
                                  WHERE start_time >= '2011-01-11' AND start_time < '2011-01-12'
                                  GROUP BY 1, 2 HAVING count(*) > 1) d), 0::bigint,
          'no row was folded twice');

-- ---------------------------------------------------------------- writers during the build
-- The build of a day is held half-way (a session holds SHARE on
-- vpcflow.warm_blocks, which the build inserts into); meanwhile a writer
-- with a 2 s lock_timeout inserts into that very day through SQL and the C
-- ingest path.  It must not wait; its rows must end up in the side table.
SELECT pg_temp.fill('2011-01-13', 5000);
SELECT pg_temp.fill('2011-01-14', 1000);
CREATE FUNCTION pg_temp.hold_build_and(d date, writer_sql text[], OUT built text, OUT writer text)
LANGUAGE plpgsql AS $$
DECLARE
    conn text := format('host=127.0.0.1 port=%s dbname=%s user=%s',
                        current_setting('port'), current_database(), current_user);
    waited integer := 0;
    q text;
BEGIN
    PERFORM dblink_connect('blocker', conn);
    PERFORM dblink_connect('maint2', conn);
    PERFORM dblink_connect('writer2', conn);
    PERFORM dblink_exec('blocker', 'BEGIN');
    PERFORM dblink_exec('blocker', 'LOCK TABLE vpcflow.warm_blocks IN SHARE MODE');
    PERFORM dblink_send_query('maint2', format('SELECT vpcflow.compress_partition(%L::regclass)::text',
        (SELECT p.partition::text FROM vpcflow.partitions p WHERE p.lower_bound = d::timestamptz)));
    WHILE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE NOT l.granted
                      AND l.relation = 'vpcflow.warm_blocks'::regclass) AND waited < 200 LOOP
        PERFORM pg_sleep(0.05);
        waited := waited + 1;
    END LOOP;
    writer := 'ok';
    PERFORM dblink_exec('writer2', 'SET lock_timeout = ''2s''');
    BEGIN
        FOREACH q IN ARRAY writer_sql LOOP
            PERFORM * FROM dblink('writer2', q) AS t(x text);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        writer := SQLERRM;
    END;
    PERFORM dblink_exec('blocker', 'COMMIT');
    BEGIN
        SELECT r.x INTO built FROM dblink_get_result('maint2') AS r(x text);
    EXCEPTION WHEN OTHERS THEN
        built := SQLERRM;
    END;
    PERFORM dblink_disconnect('blocker');
    PERFORM dblink_disconnect('maint2');
    PERFORM dblink_disconnect('writer2');
END
$$;
CREATE TABLE pg_temp.held AS SELECT * FROM pg_temp.hold_build_and('2011-01-13', ARRAY[
    $q$WITH i AS (INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr,
                   srcport, dstport, protocol, action, log_status, packets, bytes, start_time, end_time)
           SELECT 2, '123456789012', 'eni-0123456789abcdef0', '10.7.7.7', '10.2.0.1', g % 65536, 443, 6,
                  'ACCEPT', 'OK', 1, g, '2011-01-13 12:00'::timestamptz + (g - 900000) * interval '1 second',
                  '2011-01-13 12:00'::timestamptz + (g - 900000) * interval '1 second'
           FROM generate_series(900001, 900100) g RETURNING 1) SELECT count(*)::text FROM i$q$,
    $q$SELECT (vpcflow.ingest_data('during-build.log', convert_to(
       'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status' || E'\n' ||
       '2 123456789012 eni-0123456789abcdef0 10.6.6.6 10.2.0.1 1 2 6 1 777 1294920000 1294920060 ACCEPT OK' || E'\n',
       'UTF8'))).rows::text$q$]);
SELECT is((SELECT writer FROM pg_temp.held), 'ok', 'writers of the day being compressed do not wait for the build');
SELECT is((SELECT built FROM pg_temp.held), '5000', 'the build has the rows committed before it began');
SELECT is(pg_temp.tier('2011-01-13'), 'warm', 'the day is warm after the swap');
SELECT is(pg_temp.day('2011-01-13'), '5101 rows, ' || (12502500 + 90005050 + 777) || ' bytes',
          'the rows written during the build are all there, once');
SELECT is((SELECT count(*) FROM vpcflow.flows_p20110113_late), 101::bigint,
          'they wait in the side table for the next fold');

CREATE TABLE pg_temp.held2 AS SELECT * FROM pg_temp.hold_build_and('2011-01-14', ARRAY[
    $q$WITH d AS (DELETE FROM vpcflow.flows WHERE start_time >= '2011-01-14' AND start_time < '2011-01-15'
                  AND bytes = 1 RETURNING 1) SELECT count(*)::text FROM d$q$]);
SELECT is((SELECT writer FROM pg_temp.held2), 'ok', 'a delete during the build does not wait either');
SELECT matches((SELECT built FROM pg_temp.held2), 'changed while it was compressed: 1000 were built, 999 are still there',
               'a row deleted during the build makes the step fail');
SELECT is(pg_temp.tier('2011-01-14'), 'hot', 'the day then stays hot');
SELECT is(pg_temp.day('2011-01-14'), '999 rows, ' || (500500 - 1) || ' bytes', 'without the deleted row');

-- A writer transaction that outlasts maintenance_lock_timeout: compress
-- gives up before building anything (no block is written), so a pass
-- beside a long bulk load costs no wasted build.
SELECT pg_temp.fill('2011-01-15', 1000);
SELECT dblink_connect('longwriter', format('host=127.0.0.1 port=%s dbname=%s user=%s',
                      current_setting('port'), current_database(), current_user));
SELECT dblink_exec('longwriter', 'BEGIN');
SELECT dblink_exec('longwriter', $q$INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr,
    dstaddr, srcport, dstport, protocol, action, log_status, packets, bytes, start_time, end_time)
    VALUES (2, '123456789012', 'eni-0123456789abcdef0', '10.5.5.5', '10.2.0.1', 1, 2, 6, 'ACCEPT', 'OK',
            1, 55, '2011-01-19 01:00', '2011-01-19 01:00')$q$);
UPDATE vpcflow.settings SET maintenance_lock_timeout = '300 ms';
CREATE TABLE pg_temp.blocks_before AS SELECT count(*) AS n FROM vpcflow.warm_blocks;
SELECT throws_ok(format('SELECT vpcflow.compress_partition(%L::regclass)',
                        (SELECT p.partition::text FROM vpcflow.partitions p WHERE p.lower_bound = '2011-01-15')),
                 '55P03', format('compression of %s deferred: a writer of vpcflow.flows kept it longer than '
                                 'maintenance_lock_timeout (00:00:00.3)',
                                 (SELECT p.partition::text FROM vpcflow.partitions p WHERE p.lower_bound = '2011-01-15')),
                 'a writer transaction longer than the lock wait makes compress give up before building');
SELECT is((SELECT count(*) FROM vpcflow.warm_blocks), (SELECT n FROM pg_temp.blocks_before),
          'no block is left behind');
SELECT is(pg_temp.tier('2011-01-15'), 'hot', 'the day stays hot');
SELECT dblink_exec('longwriter', 'COMMIT');
SELECT dblink_disconnect('longwriter');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE srcaddr = '10.5.5.5' AND start_time >= '2011-01-19'
           AND start_time < '2011-01-20'), 1::bigint, 'and the writer goes on to commit');
UPDATE vpcflow.settings s SET maintenance_lock_timeout = o.maintenance_lock_timeout FROM pg_temp.saved_settings o;

-- ---------------------------------------------------------------- retention
UPDATE vpcflow.settings SET retention = '15 days';
CALL vpcflow.run_maintenance('2011-01-20 09:00');
SELECT is(pg_temp.tier('2011-01-01'), 'none', 'a day past retention is dropped');
SELECT is(pg_temp.tier('2011-01-02'), 'none', 'so is the next one');
SELECT is(pg_temp.day('2011-01-10'), '20000 rows, 200010000 bytes', 'a day inside retention is kept whole');
SELECT is((SELECT count(*) FROM vpcflow.warm_blocks b
           WHERE NOT EXISTS (SELECT 1 FROM vpcflow.warm_partitions w WHERE w.partition::oid = b.partition)),
          0::bigint, 'dropping a warm day leaves no blocks behind');

-- with an archive directory, the day is archived first and re-ingests to the same rows
CREATE TABLE pg_temp.day10 AS SELECT * FROM vpcflow.flows
    WHERE start_time >= '2011-01-10' AND start_time < '2011-01-11';
UPDATE vpcflow.settings SET archive_directory = current_setting('data_directory') || '/vpcflow_warm_test_archive';
CALL vpcflow.run_maintenance('2011-01-26 00:00');
SELECT is(pg_temp.tier('2011-01-10'), 'none', 'the archived day is dropped');
SELECT is((SELECT rows FROM vpcflow.ingest_file(current_setting('data_directory')
                                                || '/vpcflow_warm_test_archive/flows_p20110110.log.gz')),
          20000::bigint, 'its archive re-ingests every row');
SELECT is((SELECT count(*) FROM (
            SELECT to_jsonb(a) #- '{ingest_id}' FROM pg_temp.day10 a
            EXCEPT ALL
            SELECT to_jsonb(b) #- '{ingest_id}' FROM vpcflow.flows b
            WHERE start_time >= '2011-01-10' AND start_time < '2011-01-11') d),
          0::bigint, 'and to the same rows');

-- ---------------------------------------------------------------- clean up
UPDATE vpcflow.settings s SET hot_window = o.hot_window, warm = o.warm, retention = o.retention,
    archive_directory = o.archive_directory, partitions_ahead = o.partitions_ahead,
    warm_block_rows = o.warm_block_rows
FROM pg_temp.saved_settings o;
SELECT count(*) >= 0 FROM (SELECT vpcflow.drop_partition(p.partition) FROM vpcflow.partitions p
                           WHERE p.lower_bound >= '2011-01-01' AND p.lower_bound < '2011-02-01') x;
DELETE FROM vpcflow.ingest_log WHERE file_name = 'during-build.log' OR file_name LIKE 'concurrent-%' OR file_name LIKE '%flows_p20110110.log.gz';

SELECT * FROM finish();
