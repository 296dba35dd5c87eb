-- pgTAP: rollups are exact under late, re-sent and concurrently loaded
-- files, loads committing out of order and concurrent refreshes.  Loads
-- must really commit, so the scenario runs through dblink in a scratch
-- database (vpcflow_rollup_tap, dropped at the end); the checks compare
-- its raw rows with every rollup grain.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT plan(32);

-- A v5 flow-log file: n records from minute t0 (epoch seconds) on, the
-- values a pure function of (seed, i); some REJECTs, NODATA, IPv6, AWS
-- and internet remotes, no-direction records.
CREATE FUNCTION pg_temp.flowfile(seed integer, n integer, t0 bigint) RETURNS text
LANGUAGE sql AS $$
    SELECT 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes '
           'start end action log-status vpc-id subnet-id az-id flow-direction traffic-path' || E'\n' ||
           string_agg(CASE WHEN (i * 7 + seed) % 53 = 0 THEN
               format('5 11122233344%s eni-0%s - - - - - - - %s %s - NODATA vpc-0a%s subnet-0b%s use1-az%s - -',
                      i % 2, 100000 + i % 5, t0 + i * 13, t0 + i * 13 + 60, i % 2, i % 3, 1 + i % 3)
           ELSE
               format('5 11122233344%s eni-0%s %s %s %s %s %s %s %s %s %s %s OK vpc-0a%s subnet-0b%s use1-az%s %s %s',
                      i % 2, 100000 + i % 5,
                      CASE WHEN i % 4 = 0 THEN format('10.0.%s.%s', i % 3, 1 + i % 5)
                           WHEN i % 4 = 1 THEN format('52.95.%s.%s', i % 7, 1 + (i * seed) % 200)
                           WHEN i % 4 = 2 THEN format('2600:1f18::%s', 1 + i % 9)
                           ELSE format('198.51.100.%s', 1 + (i * seed) % 250) END,
                      CASE WHEN i % 4 = 2 THEN '2600:1f18::ffff' ELSE format('10.0.%s.%s', (i + 1) % 3, 1 + (i + seed) % 5) END,
                      40000 + (i * 31) % 20000, (ARRAY[443, 22, 5432, 3389, 53, 61000, 80])[1 + (i + seed) % 7],
                      (ARRAY[6, 17, 1])[1 + i % 3], 1 + (i * seed) % 40, 40 + (i * seed * 97) % 90000,
                      t0 + i * 13, t0 + i * 13 + 5 + i % 50,
                      CASE WHEN (i + seed) % 9 = 0 THEN 'REJECT' ELSE 'ACCEPT' END,
                      i % 2, i % 3, 1 + i % 3,
                      CASE WHEN i % 5 = 0 THEN '-' WHEN i % 2 = 0 THEN 'ingress' ELSE 'egress' END,
                      CASE WHEN i % 5 = 0 THEN '-' ELSE (1 + i % 8)::text END)
           END, E'\n' ORDER BY i) || E'\n'
    FROM generate_series(1, n) AS i
$$;

-- ingest through connection c
CREATE FUNCTION pg_temp.load(c text, name text, body text) RETURNS text
LANGUAGE sql AS $$
    SELECT status FROM dblink(c, format('SELECT status FROM vpcflow.ingest_data(%L, convert_to(%L, ''UTF8''))',
                                        name, body)) AS t(status text)
$$;

CREATE FUNCTION pg_temp.refresh(c text) RETURNS integer
LANGUAGE sql AS $$
    SELECT files FROM dblink(c, 'SELECT files FROM vpcflow.refresh_rollups()') AS t(files integer)
$$;

-- (flows, packets, bytes, rejects, accepts) of the raw rows and of each grain
CREATE FUNCTION pg_temp.totals(c text) RETURNS TABLE (source text, flows numeric, packets numeric,
                                                      bytes numeric, rejects numeric, accepts numeric)
LANGUAGE sql AS $$
    SELECT * FROM dblink(c, $q$
        SELECT 'raw', count(*)::numeric, coalesce(sum(packets), 0), coalesce(sum(bytes), 0),
               count(*) FILTER (WHERE action::text = 'REJECT')::numeric,
               count(*) FILTER (WHERE action::text = 'ACCEPT')::numeric FROM vpcflow.flows
        UNION ALL SELECT '1m', sum(flows), sum(packets), sum(bytes), sum(rejects), sum(accepts) FROM vpcflow.rollup_1m
        UNION ALL SELECT '1h', sum(flows), sum(packets), sum(bytes), sum(rejects), sum(accepts) FROM vpcflow.rollup_1h
        UNION ALL SELECT '1d', sum(flows), sum(packets), sum(bytes), sum(rejects), sum(accepts) FROM vpcflow.rollup_1d
        UNION ALL SELECT 'vpc_1h', sum(flows), sum(packets), sum(bytes), sum(rejects), sum(accepts) FROM vpcflow.rollup_vpc_1h
        UNION ALL SELECT 'vpc_1d', sum(flows), sum(packets), sum(bytes), sum(rejects), sum(accepts) FROM vpcflow.rollup_vpc_1d
    $q$) AS t(source text, flows numeric, packets numeric, bytes numeric, rejects numeric, accepts numeric)
$$;

-- grains whose totals differ from the raw rows' (empty when exact)
CREATE FUNCTION pg_temp.inexact(c text) RETURNS text[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(t.source ORDER BY t.source), '{}')
    FROM pg_temp.totals(c) t, pg_temp.totals(c) r
    WHERE r.source = 'raw' AND t.source <> 'raw'
      AND (t.flows, t.packets, t.bytes, t.rejects, t.accepts)
          IS DISTINCT FROM (r.flows, r.packets, r.bytes, r.rejects, r.accepts)
$$;

-- per (minute, interface, action): raw groups that the minute rollup does
-- not reproduce exactly, and the same per hour (0 when exact)
CREATE FUNCTION pg_temp.group_diffs(c text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT n FROM dblink(c, $q$
        WITH raw AS (
            SELECT date_bin('1 minute', start_time, '2000-01-01 00:00+00') AS b, interface_id::text AS i,
                   action::text AS a, count(*) AS flows, coalesce(sum(bytes), 0) AS bytes,
                   coalesce(sum(packets), 0) AS packets FROM vpcflow.flows GROUP BY 1, 2, 3),
        m AS (
            SELECT bucket AS b, interface_id::text AS i, action::text AS a, sum(flows) AS flows,
                   sum(bytes) AS bytes, sum(packets) AS packets FROM vpcflow.rollup_1m GROUP BY 1, 2, 3),
        rawh AS (
            SELECT date_bin('1 hour', b, '2000-01-01 00:00+00') AS b, i, a, sum(flows) AS flows,
                   sum(bytes) AS bytes, sum(packets) AS packets FROM raw GROUP BY 1, 2, 3),
        h AS (
            SELECT bucket AS b, interface_id::text AS i, action::text AS a, sum(flows) AS flows,
                   sum(bytes) AS bytes, sum(packets) AS packets FROM vpcflow.rollup_1h GROUP BY 1, 2, 3)
        SELECT ((SELECT count(*) FROM ((TABLE raw EXCEPT TABLE m) UNION ALL (TABLE m EXCEPT TABLE raw)) x)
              + (SELECT count(*) FROM ((TABLE rawh EXCEPT TABLE h) UNION ALL (TABLE h EXCEPT TABLE rawh)) y))::bigint
    $q$) AS t(n bigint)
$$;

CREATE FUNCTION pg_temp.q(c text, sql text) RETURNS text
LANGUAGE sql AS $$ SELECT v FROM dblink(c, sql) AS t(v text) $$;

-- the scratch database and two sessions on it
DO $do$ BEGIN PERFORM dblink_connect('rt_admin', format('host=127.0.0.1 port=%s user=postgres dbname=postgres',
                                         current_setting('port'))); END $do$;
DO $do$ BEGIN PERFORM dblink_exec('rt_admin', 'DROP DATABASE IF EXISTS vpcflow_rollup_tap'); END $do$;
DO $do$ BEGIN PERFORM dblink_exec('rt_admin', 'CREATE DATABASE vpcflow_rollup_tap'); END $do$;
DO $do$ BEGIN PERFORM dblink_connect('rt1', format('host=127.0.0.1 port=%s user=postgres dbname=vpcflow_rollup_tap',
                                    current_setting('port'))); END $do$;
DO $do$ BEGIN PERFORM dblink_connect('rt2', format('host=127.0.0.1 port=%s user=postgres dbname=vpcflow_rollup_tap',
                                    current_setting('port'))); END $do$;
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'SET client_min_messages = warning'); END $do$;
DO $do$ BEGIN PERFORM dblink_exec('rt2', 'SET client_min_messages = warning'); END $do$;
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'CREATE EXTENSION vpcflow'); END $do$;
-- an AWS service prefix and subnets with their zones, for classification
DO $do$ BEGIN PERFORM pg_temp.q('rt1', $$SELECT 'ok' FROM vpcflow.load_aws_ip_ranges('{"createDate": "2024-01-01-00-00-00",
    "prefixes": [{"ip_prefix": "52.95.0.0/16", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"}]}')$$); END $do$;
DO $do$ BEGIN PERFORM pg_temp.q('rt1', $$SELECT 'ok' FROM vpcflow.load_subnets('{"Subnets": [
    {"SubnetId": "subnet-0b0", "VpcId": "vpc-0a0", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"},
    {"SubnetId": "subnet-0b1", "VpcId": "vpc-0a0", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1b", "AvailabilityZoneId": "use1-az2"},
    {"SubnetId": "subnet-0b2", "VpcId": "vpc-0a0", "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1c", "AvailabilityZoneId": "use1-az3"}]}',
    '2024-01-01')$$); END $do$;

-- merge a backlog in statements of about 100 rows (several per refresh)
DO $do$ BEGIN PERFORM pg_temp.q('rt1', $$UPDATE vpcflow.rollup_settings SET refresh_chunk_rows = 100 RETURNING 'ok'$$); END $do$;

-- the days the files fall in: concurrent loads into a partition that one
-- of them is creating would wait for it
DO $do$ BEGIN PERFORM pg_temp.q('rt1', $$SELECT vpcflow.ensure_partitions('2024-01-01', '2024-01-02')::text$$); END $do$;
DO $do$ BEGIN PERFORM pg_temp.q('rt1', $$SELECT vpcflow.ensure_partitions('2024-05-01', '2024-05-02')::text$$); END $do$;

-- 1. a load that commits after a later one (out of order)
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'BEGIN'); END $do$;
SELECT is(pg_temp.load('rt1', 'a.log', pg_temp.flowfile(1, 400, 1714521600)), 'loaded', 'file a loaded (not committed)');
SELECT is(pg_temp.load('rt2', 'b.log', pg_temp.flowfile(2, 400, 1714525200)), 'loaded', 'file b loaded and committed');
SELECT is(pg_temp.refresh('rt2'), 1, 'refresh sees only the committed file b');
SELECT is(pg_temp.inexact('rt2'), '{}', 'rollups equal raw rows after b');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'COMMIT'); END $do$;
SELECT is(pg_temp.refresh('rt2'), 1, 'the earlier file a, committed later, is picked up');
SELECT is(pg_temp.refresh('rt2'), 0, 'nothing left to do');
SELECT is(pg_temp.inexact('rt2'), '{}', 'rollups equal raw rows after a');

-- 2. re-sent and late files
SELECT is(pg_temp.load('rt2', 'a-again.log', pg_temp.flowfile(1, 400, 1714521600)), 'duplicate', 're-sent file is a no-op');
SELECT is(pg_temp.refresh('rt2'), 0, 're-sent file adds nothing');
-- late: records for minutes already rolled up, and for a day long past
SELECT is(pg_temp.load('rt2', 'late.log', pg_temp.flowfile(3, 300, 1714521600 + 600)), 'loaded', 'late file for rolled-up minutes');
SELECT is(pg_temp.load('rt2', 'old.log', pg_temp.flowfile(4, 100, 1704067200)), 'loaded', 'late file from months before');
SELECT is(pg_temp.refresh('rt2'), 2, 'both late files rolled up');
SELECT is(pg_temp.inexact('rt2'), '{}', 'rollups equal raw rows after late files');
SELECT is(pg_temp.group_diffs('rt2'), 0::bigint, 'every (minute, interface, action) and hour group matches the raw rows');

-- 3. two refreshes at once: the second waits and finds nothing to do
SELECT is(pg_temp.load('rt2', 'c.log', pg_temp.flowfile(5, 200, 1714528800)), 'loaded', 'file c loaded');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'BEGIN'); END $do$;
SELECT is(pg_temp.refresh('rt1'), 1, 'first refresh claims file c');
DO $do$ BEGIN PERFORM dblink_send_query('rt2', 'SELECT files FROM vpcflow.refresh_rollups()'); END $do$;
DO $do$ BEGIN PERFORM pg_sleep(0.3); END $do$;
SELECT is(dblink_is_busy('rt2'), 1, 'second refresh waits for the first');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'COMMIT'); END $do$;
SELECT is((SELECT files FROM dblink_get_result('rt2') AS t(files integer)), 0, 'second refresh: nothing left');
DO $$ BEGIN PERFORM * FROM dblink_get_result('rt2') AS t(x integer); END $$;
SELECT is(pg_temp.inexact('rt2'), '{}', 'rollups equal raw rows after concurrent refreshes');

-- 4. a failed refresh counts nothing: rolled back, the file is picked up again
SELECT is(pg_temp.load('rt2', 'd.log', pg_temp.flowfile(6, 100, 1714532400)), 'loaded', 'file d loaded');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'BEGIN'); END $do$;
SELECT is(pg_temp.refresh('rt1'), 1, 'refresh in a transaction that rolls back');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'ROLLBACK'); END $do$;
SELECT is(pg_temp.refresh('rt1'), 1, 'the file is rolled up by the next refresh');
SELECT is(pg_temp.inexact('rt1'), '{}', 'rollups equal raw rows at the end');

-- 5. sketches and classification against the raw rows
SELECT is(pg_temp.q('rt1', $$
    SELECT (SELECT vpcflow.hll_cardinality(vpcflow.hll_merge(remote_addrs)) FROM vpcflow.rollup_1h)
         = (SELECT count(DISTINCT CASE flow_direction::text WHEN 'ingress' THEN srcaddr WHEN 'egress' THEN dstaddr
                                  ELSE CASE WHEN vpcflow.is_private_address(srcaddr) THEN dstaddr ELSE srcaddr END END)
            FROM vpcflow.flows)$$), 't', 'distinct remote addresses: merged HLL equals count(DISTINCT) on small sets');
SELECT is(pg_temp.q('rt1', $$
    SELECT string_agg(key || '=' || weight, ',' ORDER BY weight DESC, key) FROM (
        SELECT * FROM vpcflow.topk_entries(
            (SELECT vpcflow.topk_merge(top_remotes) FROM vpcflow.rollup_1d WHERE remote_class = 'aws')) LIMIT 3) t$$),
    pg_temp.q('rt1', $$
    SELECT string_agg(r || '=' || b, ',' ORDER BY b DESC, r) FROM (
        SELECT host(r) AS r, sum(bytes) AS b FROM (
            SELECT CASE flow_direction::text WHEN 'ingress' THEN srcaddr WHEN 'egress' THEN dstaddr
                        ELSE CASE WHEN vpcflow.is_private_address(srcaddr) THEN dstaddr ELSE srcaddr END END AS r,
                   bytes FROM vpcflow.flows) x
        WHERE r << '52.95.0.0/16' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3) y$$),
    'top AWS remotes from merged top-k states equal the raw GROUP BY');
SELECT is(pg_temp.q('rt1', $$
    SELECT string_agg(DISTINCT remote_class || ':' || coalesce(aws_service, '-'), ',') FROM vpcflow.rollup_1h$$),
    'aws:S3,internal:-,internet:-', 'remote classes: internal, AWS service (S3), internet');
SELECT is(pg_temp.q('rt1', $$
    SELECT string_agg(DISTINCT service_port::text, ',' ORDER BY service_port::text) FROM vpcflow.rollup_1h$$),
    '-1,22,3389,443,53,5432,80', 'service ports: well-known ones, else -1 (ephemeral)');
SELECT is(pg_temp.q('rt1', $$
    SELECT (sum(flows) FILTER (WHERE path = 'cross_az'))::text || '/' || (sum(flows) FILTER (WHERE path = 'intra_az'))::text
    FROM vpcflow.rollup_1d$$),
    pg_temp.q('rt1', $$
    SELECT (count(*) FILTER (WHERE l <> r))::text || '/' || (count(*) FILTER (WHERE l = r))::text FROM (
        SELECT f.az_id AS l, CASE WHEN host(x) LIKE '10.0.0.%' THEN 'use1-az1' WHEN host(x) LIKE '10.0.1.%' THEN 'use1-az2'
                                  WHEN host(x) LIKE '10.0.2.%' THEN 'use1-az3' END AS r
        FROM vpcflow.flows f CROSS JOIN LATERAL (SELECT CASE f.flow_direction::text WHEN 'ingress' THEN f.srcaddr
                 WHEN 'egress' THEN f.dstaddr ELSE CASE WHEN vpcflow.is_private_address(f.srcaddr) THEN f.dstaddr
                 ELSE f.srcaddr END END) AS y(x)
        WHERE (f.traffic_path IS NULL OR f.traffic_path NOT IN (3, 4, 5, 6, 7))) z$$),
    'cross-AZ and intra-AZ flows as the subnets'' zones say');

-- 6. policy: expiry and the isolation guard
SELECT is(pg_temp.q('rt1', $$
    SELECT row((SELECT count(*) FROM vpcflow.rollup_1m WHERE bucket < timestamptz '2024-02-01' - interval '3 days'),
               0, 0)::text$$),
    pg_temp.q('rt1', $$
    SELECT row(e.*)::text FROM vpcflow.expire_rollups('2024-02-01 00:00+00') e$$),
    'expire_rollups drops minute rows past minute_retention only');
SELECT is(pg_temp.q('rt1', $$SELECT sum(flows)::text FROM vpcflow.rollup_1h WHERE bucket < '2024-01-02'$$), '100',
          'hourly rows of the old file are kept');
SELECT is(pg_temp.q('rt1', $$SELECT count(*)::text FROM vpcflow.rollup_1m WHERE bucket < '2024-01-02'$$), '0',
          'its minute rows are gone');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'BEGIN ISOLATION LEVEL REPEATABLE READ'); END $do$;
SELECT throws_ok($$SELECT pg_temp.refresh('rt1')$$, '25000', NULL,
                 'refresh_rollups refuses to run at REPEATABLE READ');
DO $do$ BEGIN PERFORM dblink_exec('rt1', 'ROLLBACK'); END $do$;

-- clean up before the end (dblink goes with the rollback)
SELECT dblink_disconnect('rt1') || dblink_disconnect('rt2') = 'OKOK' AS disconnected \gset
SELECT dblink_exec('rt_admin', 'DROP DATABASE IF EXISTS vpcflow_rollup_tap') = 'DROP DATABASE' AS dropped \gset
SELECT dblink_disconnect('rt_admin') = 'OK' AS disconnected \gset

SELECT * FROM finish();
ROLLBACK;
