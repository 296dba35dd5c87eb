-- pgTAP: vpcflow.ingest_file() semantics over the project's own test files
-- (test/data, staged as 'vpcflow_testdata/' in the data directory):
-- result and ingest_log columns, exactly-once by content, quarantine and
-- on_error => 'fail', gzip, partitions made on demand (any year, any
-- partition_interval), and the errors for bad arguments.  Everything runs
-- in the test's transaction and is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;   -- no NOTICEs for duplicates and unknown fields

-- A file's lines as bytes (n = 1-based line number, newline removed).
CREATE FUNCTION pg_temp.lines(name text) RETURNS TABLE (n integer, raw bytea)
LANGUAGE plpgsql AS $$
DECLARE
    b bytea := pg_read_binary_file('vpcflow_testdata/' || name);
    pos integer := 1;
    nl integer;
BEGIN
    n := 0;
    WHILE pos <= length(b) LOOP
        nl := position('\x0a'::bytea IN substring(b FROM pos));
        n := n + 1;
        IF nl = 0 THEN
            raw := substring(b FROM pos);
            pos := length(b) + 1;
        ELSE
            raw := substring(b FROM pos FOR nl - 1);
            pos := pos + nl;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION pg_temp.nflows() RETURNS bigint
LANGUAGE sql AS $$ SELECT count(*) FROM vpcflow.flows $$;

-- Row counts of the three tables, to show that nothing changed.
CREATE FUNCTION pg_temp.counts() RETURNS bigint[]
LANGUAGE sql AS $$
    SELECT ARRAY[(SELECT count(*) FROM vpcflow.flows),
                 (SELECT count(*) FROM vpcflow.ingest_log),
                 (SELECT count(*) FROM vpcflow.ingest_errors)]
$$;

-- The partition holding ts, as 'name [lower, upper)'.
CREATE FUNCTION pg_temp.part(ts timestamptz) RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(format('%s [%s, %s)', partition, lower_bound, upper_bound), ' + ')
    FROM vpcflow.partitions WHERE ts >= lower_bound AND ts < upper_bound
$$;

-- What pg_temp.part() must say for a partition [lo, hi) named after lo.
CREATE FUNCTION pg_temp.want(lo timestamptz, hi timestamptz, suffix text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
    SELECT format('vpcflow.flows_p%s%s [%s, %s)', to_char(lo, 'YYYYMMDD'), suffix, lo, hi)
$$;

SELECT plan(53);

-- ---------------------------------------------------------------- result and log
CREATE TEMP TABLE r_plain AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/v2-header.log');

SELECT is((SELECT ARRAY[file_name, status, rows::text, nodata::text, skipdata::text, errors::text, bytes_read::text]
           FROM r_plain),
    ARRAY['vpcflow_testdata/v2-header.log', 'loaded', '5', '1', '1', '0',
          (pg_stat_file('vpcflow_testdata/v2-header.log')).size::text],
    'result: file name as given, status loaded, 5 rows (1 NODATA, 1 SKIPDATA), 0 errors, bytes_read = file size');

SELECT ok((SELECT ingest_id > 0 AND seconds >= 0 FROM r_plain),
    'result: a positive ingest_id and a non-negative duration');

SELECT is((SELECT ARRAY[l.file_name, l.file_size::text, l.status, l.rows::text, l.nodata::text,
                        l.skipdata::text, l.errors::text, l.bytes_read::text, l.min_start::text,
                        l.max_start::text, coalesce(l.unknown_fields::text, 'NULL'), l.loaded_by::text,
                        coalesce(l.format, 'NULL')]
           FROM vpcflow.ingest_log l JOIN r_plain r USING (ingest_id)),
    ARRAY['vpcflow_testdata/v2-header.log', (pg_stat_file('vpcflow_testdata/v2-header.log')).size::text,
          'loaded', '5', '1', '1', '0', (pg_stat_file('vpcflow_testdata/v2-header.log')).size::text,
          to_timestamp(1700000000)::text, to_timestamp(1700000100)::text, 'NULL', current_user::text, 'NULL'],
    'ingest_log: size, status, counters, min/max start, loaded_by');

SELECT is((SELECT l.sha256 FROM vpcflow.ingest_log l JOIN r_plain r USING (ingest_id)),
    sha256(pg_read_binary_file('vpcflow_testdata/v2-header.log')),
    'ingest_log: sha256 is the SHA-256 of the file''s bytes');

SELECT ok((SELECT l.started_at <= l.finished_at FROM vpcflow.ingest_log l JOIN r_plain r USING (ingest_id)),
    'ingest_log: started_at <= finished_at');

SELECT bag_eq(
    $$SELECT to_jsonb(f) - 'ingest_id' FROM vpcflow.flows f WHERE ingest_id = (SELECT ingest_id FROM r_plain)$$,
    $$SELECT to_jsonb(p) - 'ingest_id' FROM vpcflow.parse(pg_read_file('vpcflow_testdata/v2-header.log')) p$$,
    'the stored rows are exactly what parse() reads from the file, tagged with the ingest_id');

-- ---------------------------------------------------------------- exactly once
CREATE TEMP TABLE n_before AS SELECT pg_temp.nflows() AS n;
CREATE TEMP TABLE r_again AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/v2-header.log');

SELECT is((SELECT ARRAY[status, rows::text, errors::text, (ingest_id = (SELECT ingest_id FROM r_plain))::text]
           FROM r_again),
    ARRAY['duplicate', '0', '0', 'true'],
    'second load of the same file: status duplicate, 0 rows, the first load''s ingest_id');

SELECT is(pg_temp.nflows(), (SELECT n FROM n_before),
    'second load of the same file: vpcflow.flows unchanged');

SELECT is((SELECT ARRAY[status, (ingest_id = (SELECT ingest_id FROM r_plain))::text]
           FROM vpcflow.ingest_file(current_setting('data_directory') || '/vpcflow_testdata/v2-header.log')),
    ARRAY['duplicate', 'true'],
    'a relative path is resolved against the data directory: the absolute path is the same file');

CREATE TEMP TABLE r_once AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once.log');
CREATE TEMP TABLE n_once AS SELECT pg_temp.nflows() AS n;
CREATE TEMP TABLE r_renamed AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/exactly-once-renamed-copy.log');

SELECT is((SELECT ARRAY[status, rows::text, (ingest_id = (SELECT ingest_id FROM r_once))::text] FROM r_renamed),
    ARRAY['duplicate', '0', 'true'],
    'a renamed copy with the same bytes is a duplicate of the original''s load');

SELECT is(pg_temp.nflows(), (SELECT n FROM n_once),
    'the renamed copy adds no rows');

SELECT is((SELECT count(*) FROM vpcflow.ingest_log WHERE sha256 = sha256(pg_read_binary_file('vpcflow_testdata/exactly-once.log'))),
    1::bigint,
    'ingest_log holds one entry for those bytes');

-- ---------------------------------------------------------------- on_error => 'fail'
CREATE TEMP TABLE c_before_fail AS SELECT pg_temp.counts() AS c;

SELECT throws_ok(
    $$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/bad-lines.log', NULL, 'fail')$$,
    '22P02',
    'invalid flow-log record in vpcflow_testdata/bad-lines.log line 2, field srcport (column 6): invalid port: expected an integer 0..65535: "70000"',
    'on_error => fail: the first bad line raises an error naming file, line, field and value');

SELECT is(pg_temp.counts(), (SELECT c FROM c_before_fail),
    'on_error => fail: nothing loaded, logged or quarantined (flows, ingest_log, ingest_errors unchanged)');

SELECT throws_ok(
    $$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/bad-lines.log', NULL, 'skip')$$,
    '22023', 'invalid on_error value "skip"',
    'an on_error value other than quarantine or fail is an error');

-- ---------------------------------------------------------------- quarantine
CREATE TEMP TABLE r_bad AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/bad-lines.log');

SELECT is((SELECT ARRAY[status, rows::text, errors::text] FROM r_bad),
    ARRAY['loaded_with_errors', '2', '10'],
    'quarantine (the default): the failed load left no claim; 2 good lines stored, 10 bad lines quarantined');

SELECT results_eq(
    $$SELECT line_no, column_no, field, message FROM vpcflow.ingest_errors
      WHERE ingest_id = (SELECT ingest_id FROM r_bad) ORDER BY line_no$$,
    $$VALUES
      (2::bigint, 6, 'srcport'::text, 'field srcport (column 6): invalid port: expected an integer 0..65535: "70000"'::text),
      (3, 4, 'srcaddr', 'field srcaddr (column 4): invalid IP address: "10.7.0.256"'),
      (4, 13, 'action', 'field action (column 13): invalid action: expected ACCEPT or REJECT: "ALLOW"'),
      (5, 14, 'log-status', 'field log-status (column 14): missing field: the line has 13 fields, the format 14'),
      (6, 15, NULL, 'column 15: more fields than the format''s 14: "EXTRA"'),
      (7, 3, 'interface-id', 'field interface-id (column 3): invalid text: control character or malformed UTF-8: "eni-0a1b2c3d\x014e5f60718"'),
      (8, 2, 'account-id', 'field account-id (column 2): invalid text: control character or malformed UTF-8: "1111\xff22223333"'),
      (9, 5, 'dstaddr', 'field dstaddr (column 5): invalid IP address: "2001:db8:::1"'),
      (10, 14, 'log-status', 'field log-status (column 14): invalid log-status: expected OK, NODATA or SKIPDATA: "DONE"'),
      (11, 11, 'start', 'field start (column 11): invalid timestamp: expected Unix seconds or milliseconds: "1700032400.5"')$$,
    'quarantined lines: line_no, column_no, field, and a message naming the field and the value');

SELECT is((SELECT coalesce(array_agg(e.line_no ORDER BY e.line_no), '{}')
           FROM vpcflow.ingest_errors e
           LEFT JOIN pg_temp.lines('bad-lines.log') l ON l.n = e.line_no
           WHERE e.ingest_id = (SELECT ingest_id FROM r_bad) AND e.raw_line IS DISTINCT FROM l.raw),
    '{}'::bigint[],
    'quarantined raw_line holds exactly the file''s bytes of that line (the 0xFF and 0x01 bytes too)');

SELECT is((SELECT array_agg(DISTINCT source) FROM vpcflow.ingest_errors WHERE ingest_id = (SELECT ingest_id FROM r_bad)),
    ARRAY['vpcflow_testdata/bad-lines.log'],
    'quarantined lines name their source file as given');

SELECT is((SELECT array_agg(host(srcaddr) ORDER BY srcaddr) FROM vpcflow.flows WHERE ingest_id = (SELECT ingest_id FROM r_bad)),
    ARRAY['10.7.0.1', '10.7.0.3'],
    'quarantine: the good lines 1 and 12 are stored');

SELECT is((SELECT ARRAY[status, errors::text] FROM vpcflow.ingest_log WHERE ingest_id = (SELECT ingest_id FROM r_bad)),
    ARRAY['loaded_with_errors', '10'],
    'ingest_log records loaded_with_errors and the error count');

-- ---------------------------------------------------------------- long lines
SET LOCAL vpcflow.max_line_length = 1024;
CREATE TEMP TABLE r_long AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/long-line.log');
RESET vpcflow.max_line_length;

SELECT is((SELECT ARRAY[status, rows::text, errors::text] FROM r_long),
    ARRAY['loaded_with_errors', '2', '1'],
    'a line longer than vpcflow.max_line_length is quarantined, the lines around it load');

-- the message states the limit, whichever code path caught the line
SELECT is((SELECT ARRAY[line_no::text, message, length(raw_line)::text]
           FROM vpcflow.ingest_errors WHERE ingest_id = (SELECT ingest_id FROM r_long)),
    ARRAY['3', 'line is longer than vpcflow.max_line_length (1024 bytes)', '1024'],
    'long line: quarantined as line 3 with a message stating the limit; raw_line keeps its first 1024 bytes');

-- ---------------------------------------------------------------- unknown header columns, no final newline
CREATE TEMP TABLE r_unknown AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/unknown-column.log');

SELECT is((SELECT unknown_fields FROM vpcflow.ingest_log WHERE ingest_id = (SELECT ingest_id FROM r_unknown)),
    ARRAY['cost-center'],
    'ingest_log.unknown_fields names the unknown header column');

SELECT is((SELECT array_agg(extra ->> 'cost-center' ORDER BY srcport) FROM vpcflow.flows
           WHERE ingest_id = (SELECT ingest_id FROM r_unknown)),
    ARRAY[NULL, 'blue'],
    'the unknown column''s values are stored in extra');

SELECT is((SELECT ARRAY[status, rows::text] FROM vpcflow.ingest_file('vpcflow_testdata/no-trailing-newline.log')),
    ARRAY['loaded', '2'],
    'a last line without a newline is loaded');

CREATE TEMP TABLE r_header_only AS SELECT * FROM vpcflow.ingest_file('./vpcflow_testdata/header-only.log');

SELECT is((SELECT ARRAY[r.status, r.rows::text, r.errors::text, coalesce(l.min_start::text, 'NULL'),
                        coalesce(l.max_start::text, 'NULL')]
           FROM r_header_only r JOIN vpcflow.ingest_log l USING (ingest_id)),
    ARRAY['loaded', '0', '0', 'NULL', 'NULL'],
    'a file with only a header line (path given as ./...): loaded, 0 rows, no min/max start');

-- ---------------------------------------------------------------- gzip
CREATE TEMP TABLE r_gz AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/v2-header.log.gz');

SELECT is((SELECT ARRAY[status, rows::text, nodata::text, skipdata::text, bytes_read::text] FROM r_gz),
    ARRAY['loaded', '5', '1', '1', (pg_stat_file('vpcflow_testdata/v2-header.log')).size::text],
    'gzip copy: loaded (other bytes, so not a duplicate), 5 rows, bytes_read = uncompressed size');

SELECT is((SELECT file_size FROM vpcflow.ingest_log WHERE ingest_id = (SELECT ingest_id FROM r_gz)),
    (pg_stat_file('vpcflow_testdata/v2-header.log.gz')).size,
    'gzip copy: ingest_log.file_size is the compressed file''s size');

SELECT bag_eq(
    $$SELECT to_jsonb(f) - 'ingest_id' FROM vpcflow.flows f WHERE ingest_id = (SELECT ingest_id FROM r_gz)$$,
    $$SELECT to_jsonb(f) - 'ingest_id' FROM vpcflow.flows f WHERE ingest_id = (SELECT ingest_id FROM r_plain)$$,
    'gzip copy loads the same rows as the plain file');

SELECT throws_like(
    $$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/truncated.log.gz')$$,
    'could not decompress file "vpcflow_testdata/truncated.log.gz"%',
    'a truncated gzip file is an error, not a partial load');

CREATE TEMP TABLE r_members AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/two-members.log.gz');
SELECT bag_eq(
    $$SELECT to_jsonb(f) - 'ingest_id' FROM vpcflow.flows f WHERE ingest_id = (SELECT ingest_id FROM r_members)$$,
    $$SELECT to_jsonb(f) - 'ingest_id' FROM vpcflow.flows f WHERE ingest_id = (SELECT ingest_id FROM r_plain)$$,
    'concatenated gzip members load as one file, the same rows as the plain file');

SELECT throws_like(
    $$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/trailing-junk.log.gz')$$,
    'could not decompress file "vpcflow_testdata/trailing-junk.log.gz": trailing data after the gzip stream',
    'bytes after the gzip stream are an error, not ignored');

-- ---------------------------------------------------------------- partitions
CREATE TEMP TABLE r_span AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/partitions-span.log');

SELECT is((SELECT ARRAY[status, rows::text] FROM r_span), ARRAY['loaded', '3'],
    'records from 2015, 2031 and 1975 all load');

SELECT is(ARRAY[pg_temp.part(to_timestamp(1449000000)), pg_temp.part(to_timestamp(1925000000)),
                pg_temp.part(to_timestamp(165000000))],
    ARRAY[pg_temp.want(to_timestamp(1449000000 - 1449000000 % 86400), to_timestamp(1449000000 - 1449000000 % 86400 + 86400)),
          pg_temp.want(to_timestamp(1925000000 - 1925000000 % 86400), to_timestamp(1925000000 - 1925000000 % 86400 + 86400)),
          pg_temp.want(to_timestamp(165000000 - 165000000 % 86400), to_timestamp(165000000 - 165000000 % 86400 + 86400))],
    'one daily partition per record''s UTC day, listed in vpcflow.partitions with its bounds');

SELECT is((SELECT array_agg(f.tableoid::regclass::text ORDER BY f.start_time) FROM vpcflow.flows f
           WHERE ingest_id = (SELECT ingest_id FROM r_span)),
    ARRAY['vpcflow.flows_p19750325', 'vpcflow.flows_p20151201', 'vpcflow.flows_p20310101'],
    'each record sits in its day''s partition');

SELECT is(vpcflow.ensure_partitions('2040-01-01 00:00+00', '2040-01-04 00:00+00'), 3,
    'ensure_partitions creates the 3 missing daily partitions of [2040-01-01, 2040-01-04)');

SELECT is(ARRAY[pg_temp.part('2040-01-01 00:00+00'), pg_temp.part('2040-01-03 23:59:59.999999+00')],
    ARRAY[pg_temp.want('2040-01-01 00:00+00', '2040-01-02 00:00+00'),
          pg_temp.want('2040-01-03 00:00+00', '2040-01-04 00:00+00')],
    'ensure_partitions: first and last day have their daily bounds');

SELECT is(vpcflow.ensure_partitions('2040-01-01 00:00+00', '2040-01-04 00:00+00'), 0,
    'ensure_partitions a second time creates nothing');

SELECT throws_ok($$UPDATE vpcflow.settings SET partition_interval = '30 minutes'$$, '23514', NULL,
    'partition_interval shorter than 1 hour is refused');

SELECT throws_ok($$UPDATE vpcflow.settings SET partition_interval = '1 month'$$, '23514', NULL,
    'partition_interval in months (not fixed length) is refused');

UPDATE vpcflow.settings SET partition_interval = '1 hour';

SELECT is(vpcflow.ensure_partitions('2040-02-01 00:00+00', '2040-02-01 03:00+00'), 3,
    'partition_interval 1 hour: ensure_partitions makes 3 partitions for 3 hours');

SELECT is(pg_temp.part('2040-02-01 01:30+00'),
    pg_temp.want('2040-02-01 01:00+00', '2040-02-01 02:00+00', '_010000'),
    'partition_interval 1 hour: a new partition spans one hour');

SELECT is((SELECT partition::text FROM vpcflow.partition_for('2040-01-02 12:34+00')),
    'vpcflow.flows_p20400102',
    'partition_interval 1 hour: a time inside an existing daily partition uses it');

SELECT is(pg_temp.part((SELECT upper_bound FROM vpcflow.partition_for('2040-01-04 00:30+00'))
                       - interval '1 microsecond'),
    pg_temp.want('2040-01-04 00:00+00', '2040-01-04 01:00+00', '_000000'),
    'partition_interval 1 hour: the hour right after a daily partition gets an hourly one');

CREATE TEMP TABLE r_hourly AS SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/hourly.log');

SELECT is((SELECT ARRAY[r.rows::text, pg_temp.part(to_timestamp(1709210096))] FROM r_hourly r),
    ARRAY['1', pg_temp.want(to_timestamp(1709210096 - 1709210096 % 3600),
                            to_timestamp(1709210096 - 1709210096 % 3600 + 3600), '_120000')],
    'partition_interval 1 hour: ingest_file creates an hourly partition');

UPDATE vpcflow.settings SET partition_interval = '1 day';

SELECT is(pg_temp.part('2040-02-01 10:00+00'), NULL, 'no partition yet for 2040-02-01 10:00');

SELECT is((SELECT ARRAY[lower_bound, upper_bound] FROM vpcflow.partition_for('2040-02-01 10:00+00')),
    ARRAY['2040-02-01 03:00+00'::timestamptz, '2040-02-02 00:00+00'],
    'back to 1 day: the new partition starts where the hourly ones end');

SELECT is((SELECT count(*) FROM vpcflow.partitions a JOIN vpcflow.partitions b
             ON a.partition <> b.partition
            AND tstzrange(a.lower_bound, a.upper_bound) && tstzrange(b.lower_bound, b.upper_bound)),
    0::bigint,
    'no two partitions overlap');

-- ---------------------------------------------------------------- bad arguments
SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/no-such-file.log')$$,
    '58P01',
    'could not open file "vpcflow_testdata/no-such-file.log" for reading: No such file or directory',
    'a missing file is an error naming it');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata')$$,
    '42809', '"vpcflow_testdata" is not a regular file',
    'a directory is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file(NULL)$$,
    '22004', 'file path must not be NULL',
    'a NULL path is an error');

SELECT throws_ok($$SELECT * FROM vpcflow.ingest_file('vpcflow_testdata/tgw.log', 'version start version')$$,
    '22023',
    'invalid flow-log format: field version (column 3): field appears twice in the format: "version"',
    'an invalid format is an error before anything is read');

SELECT * FROM finish();
ROLLBACK;
