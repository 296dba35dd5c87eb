-- vpcflow.ingest_file(): exactly once, quarantine, gzip, partitions on demand.
SET search_path = vpcflow, public;

-- test files are written into the data directory; relative paths resolve there
CREATE FUNCTION pg_temp.write_file(name text, body text, gzip boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF gzip THEN
        EXECUTE format('COPY (SELECT unnest(string_to_array(%L, E''\n''))) TO PROGRAM %L',
                       body, 'gzip -n > ' || current_setting('data_directory') || '/' || name);
    ELSE
        EXECUTE format('COPY (SELECT unnest(string_to_array(%L, E''\n''))) TO %L',
                       body, current_setting('data_directory') || '/' || name);
    END IF;
END $$;

SELECT pg_temp.write_file('regress_v2.log',
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 MAYBE OK
2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA');

SELECT ingest_id, file_name, status, rows, nodata, skipdata, errors, bytes_read
FROM ingest_file('regress_v2.log');

-- the same bytes again: a no-op that says so
SELECT ingest_id, status, rows, errors FROM ingest_file('regress_v2.log');
SELECT count(*) AS stored FROM flows;

-- the bad line went to quarantine, with its position and its bytes
SELECT line_no, column_no, field, message, convert_from(raw_line, 'UTF8') AS raw_line
FROM ingest_errors ORDER BY error_id;

SELECT file_name, status, rows, nodata, skipdata, errors, min_start, max_start, unknown_fields
FROM ingest_log ORDER BY ingest_id;

-- rows know their file
SELECT l.file_name, count(*) FROM flows f JOIN ingest_log l USING (ingest_id) GROUP BY 1;

-- on_error => 'fail': nothing loads, the error names file, line and field
SELECT pg_temp.write_file('regress_bad.log',
'2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1 172.31.16.139 not-an-address 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
SELECT * FROM ingest_file('regress_bad.log', on_error => 'fail');
SELECT count(*) AS logged FROM ingest_log WHERE file_name = 'regress_bad.log';
SELECT status, rows, errors FROM ingest_file('regress_bad.log');

-- gzip, a custom format for headerless input, and time partitions made on
-- demand for late (1975), old (2015) and future (2031) records
SELECT pg_temp.write_file('regress_custom.log.gz',
'3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 10.20.33.164 10.40.2.236 164000066 164000100 ACCEPT OK
3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 10.40.2.236 10.20.33.164 1431280876 1431280934 ACCEPT OK
3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 10.40.2.236 10.20.33.164 1938000000 1938000060 REJECT OK', true);
SELECT status, rows, errors
FROM ingest_file('regress_custom.log.gz', 'version interface-id account-id vpc-id srcaddr dstaddr start end action log-status');
SELECT partition, lower_bound, upper_bound FROM partitions ORDER BY lower_bound;
SELECT vpc_id, start_time, tableoid::regclass FROM flows WHERE vpc_id IS NOT NULL ORDER BY start_time;

-- a format without start: records have no partition and are quarantined
SELECT pg_temp.write_file('regress_nat.log',
'instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr
- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5');
SELECT status, rows, errors FROM ingest_file('regress_nat.log');
SELECT field, message FROM ingest_errors WHERE source = 'regress_nat.log';

-- bad calls
SELECT * FROM ingest_file('regress_missing.log');
SELECT * FROM ingest_file('base');
SELECT * FROM ingest_file(NULL);
SELECT * FROM ingest_file('regress_v2.log', on_error => 'ignore');
SELECT * FROM ingest_file('regress_v2.log', 'srcaddr srcaddr');

-- one load writes to at most vpcflow.max_partitions_per_load partitions;
-- records beyond are quarantined, not dropped
SET vpcflow.max_partitions_per_load = 2;
SELECT pg_temp.write_file('regress_scattered.log',
'2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1262304000 1262304060 ACCEPT OK
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1262390400 1262390460 ACCEPT OK
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1262476800 1262476860 ACCEPT OK
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1262304100 1262304160 ACCEPT OK');
SELECT status, rows, errors FROM ingest_file('regress_scattered.log');
SELECT line_no, field, message FROM ingest_errors WHERE source = 'regress_scattered.log';
RESET vpcflow.max_partitions_per_load;
