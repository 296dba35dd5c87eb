-- pgTAP: the warm tier (docs/warm.md).  Rows of every shape (the project's
-- test files, the shared AWS fixtures when present, and synthetic rows that
-- fill every column: NODATA rows full of NULLs, IPv6, every v3+ field,
-- extra jsonb, millisecond times) are compressed into warm partitions and
-- must read back row for row; the benchmark queries answer the same hot and
-- warm; scans skip blocks by time and address; late rows (SQL and the C
-- ingest path) are visible at once and folded without loss; corrupt blocks
-- are rejected; an archive re-ingests to the same rows.  Everything runs in
-- the test's transaction and is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(36);

-- ---------------------------------------------------------------- data
SELECT count(*) >= 0 FROM (
    SELECT vpcflow.ingest_file('vpcflow_testdata/' || f)
    FROM unnest(ARRAY['v2-header.log', 'v3-custom-header.log', 'ipv6.log', 'unknown-column.log',
                      'millis.log', 'hourly.log', 'headers-repeated.log']) f) x;
SELECT count(*) >= 0 FROM vpcflow.ingest_file('vpcflow_testdata/v5-all-fields.log', 'v5');

-- the shared AWS fixtures with a header line (those with a .format file
-- need their format and are left to fixtures_aws.sql)
CREATE TEMP TABLE fixture_files AS
SELECT 'vpcflow_fixtures/aws/' || f AS path
FROM pg_ls_dir('vpcflow_fixtures/aws', true, false) f
WHERE f LIKE '%.log'
  AND NOT EXISTS (SELECT 1 FROM pg_ls_dir('vpcflow_fixtures/aws', true, false) g
                  WHERE g = regexp_replace(f, '\.log$', '.format'));
SELECT count(*) >= 0 FROM (SELECT vpcflow.ingest_file(path) FROM fixture_files) x;

-- synthetic rows in 2012-03-01 filling every column
SELECT vpcflow.ensure_partitions('2012-03-01', '2012-03-02');
INSERT INTO vpcflow.flows
SELECT
    CASE WHEN i % 5 = 0 THEN 2 ELSE 11 END,                                  -- version
    (100000000000 + i % 3)::text::vpcflow.awsid,                             -- account_id
    ('eni-' || lpad(to_hex(i % 40), 17, '0'))::vpcflow.awsid,                -- interface_id
    CASE WHEN nodata THEN NULL WHEN i % 9 = 0 THEN ('2001:db8::' || to_hex(i))::inet
         ELSE ('10.' || i % 20 || '.' || i % 250 || '.' || i % 7)::inet END,  -- srcaddr
    CASE WHEN nodata THEN NULL WHEN i % 9 = 0 THEN ('2600:1f18::' || to_hex(i % 300))::inet
         ELSE ('172.16.' || i % 30 || '.' || i % 200)::inet END,             -- dstaddr
    (ARRAY['aws', 'aws', 'aws', 'gcp', 'azure-nsg', 'azure-vnet'])[1 + i % 6]
        ::text::vpcflow.cloud_provider,                                      -- provider
    CASE WHEN nodata THEN NULL ELSE 1024 + (i * 7919) % 64000 END,          -- srcport
    CASE WHEN nodata THEN NULL ELSE (ARRAY[443, 80, 5432, 53, 0])[1 + i % 5] END,
    CASE WHEN nodata THEN NULL ELSE (ARRAY[6, 17, 1])[1 + i % 3] END::smallint,
    CASE WHEN nodata THEN NULL ELSE (ARRAY['ACCEPT', 'REJECT'])[1 + (i % 11 = 0)::int] END
        ::text::vpcflow.flow_action,
    (CASE WHEN nodata THEN 'NODATA' WHEN i % 101 = 0 THEN 'SKIPDATA' ELSE 'OK' END)
        ::text::vpcflow.log_status,
    NULL,                                                                    -- ingest_id
    CASE WHEN nodata THEN NULL ELSE 1 + (i * 31) % 5000 END,
    CASE WHEN nodata THEN NULL WHEN i % 97 = 0 THEN 9223372036854775807
         ELSE (1 + (i * 31) % 5000) * 1400::bigint END,
    t, t + interval '59 seconds',
    ('vpc-' || lpad(to_hex(i % 4), 17, '0'))::vpcflow.awsid,
    ('subnet-' || lpad(to_hex(i % 8), 17, '0'))::vpcflow.awsid,
    CASE WHEN i % 3 = 0 THEN NULL ELSE ('i-' || lpad(to_hex(i % 30), 17, '0'))::vpcflow.awsid END,
    (i % 64)::smallint, CASE WHEN i % 9 = 0 THEN 'IPv6' ELSE 'IPv4' END,
    ('10.9.' || i % 3 || '.1')::inet, ('2001:db8:1::' || to_hex(i % 5))::inet,
    'us-east-1', 'use1-az' || i % 6, CASE WHEN i % 50 = 0 THEN 'wavelength' END,
    CASE WHEN i % 50 = 0 THEN 'wlz-' || i END,
    CASE WHEN i % 4 = 0 THEN 'S3' END, CASE WHEN i % 6 = 0 THEN 'DYNAMODB' END,
    (ARRAY['ingress', 'egress'])[1 + i % 2]::text::vpcflow.flow_direction, (1 + i % 8)::smallint,
    'arn:aws:ecs:us-east-1:123456789012:cluster/c' || i % 3, 'c' || i % 3,
    'arn:aws:ecs:ci/' || i % 10, 'ci' || i % 10, 'container-' || i, NULL,
    'svc', 'arn:aws:ecs:td/' || i % 4, 'arn:aws:ecs:task/' || i, 'task' || i,
    CASE WHEN i % 11 = 0 THEN 'BPA' END,
    ('eni-' || lpad(to_hex(i % 9), 17, '0'))::vpcflow.awsid, (i % 3)::smallint,
    'tag with spaces ä ' || i % 5, NULL, 'iface-tag', '', 'asg', NULL, 'interface',
    ('eni-' || lpad(to_hex(i % 7), 17, '0'))::vpcflow.awsid,
    ('subnet-' || lpad(to_hex(i % 2), 17, '0'))::vpcflow.awsid, 'use1-az2',
    ('vpc-' || lpad(to_hex(i % 2), 17, '0'))::vpcflow.awsid, 'gateway',
    CASE WHEN i % 7 = 0 THEN 'TransitGatewayAttachment' END,
    CASE WHEN i % 7 = 0 THEN ('tgw-' || lpad(to_hex(i % 2), 17, '0'))::vpcflow.awsid END,
    CASE WHEN i % 7 = 0 THEN ('tgw-attach-' || lpad(to_hex(i % 5), 17, '0'))::vpcflow.awsid END,
    (100000000000 + i % 2)::text::vpcflow.awsid, (100000000000 + i % 4)::text::vpcflow.awsid,
    ('vpc-' || lpad(to_hex(i % 3), 8, '0'))::vpcflow.awsid, NULL,
    ('subnet-' || lpad(to_hex(i % 3), 8, '0'))::vpcflow.awsid, NULL,
    ('eni-' || lpad(to_hex(i % 11), 17, '0'))::vpcflow.awsid, NULL,
    'use1-az1', 'use1-az3', ('tgw-attach-' || lpad(to_hex(i % 3), 17, '0'))::vpcflow.awsid,
    CASE WHEN i % 7 = 0 THEN i END, 0, NULL, -9223372036854775807 + i,
    CASE WHEN i % 6 >= 3 THEN (i * 13) % 900 END,                            -- reverse_packets
    CASE WHEN i % 6 >= 3 THEN (i * 13) % 900 * 1200::bigint END,              -- reverse_bytes
    CASE WHEN i % 6 >= 4 THEN (ARRAY['B', 'C', 'E', 'D'])[1 + i % 4] END,     -- flow_state
    CASE WHEN i % 6 >= 4 THEN 'UserRule_allow-' || i % 3 END,                -- rule_name
    CASE WHEN i % 6 = 3 THEN i % 250 END,                                    -- rtt_msec
    CASE WHEN i % 6 = 3 THEN (i % 64)::smallint END,                         -- dscp
    CASE WHEN i % 13 = 0 THEN jsonb_build_object('cost-center', 'cc' || i % 4, 'n', NULL,
                                                 'deep', jsonb_build_array(1, 2.5, true)) END,
    CASE WHEN i % 6 = 3 THEN ('proj-' || i % 3)::vpcflow.awsid END,          -- peer_account_id
    CASE WHEN i % 12 = 3 THEN ('vm-' || i % 40)::vpcflow.awsid END,   -- peer_instance_id
    CASE WHEN i % 12 = 3 THEN 'net-a'::vpcflow.awsid END,             -- peer_vpc_id
    CASE WHEN i % 12 = 3 THEN ('sub-' || i % 5)::vpcflow.awsid END,   -- peer_subnet_id
    CASE WHEN i % 12 = 3 THEN 'europe-west1' END,                     -- peer_region
    CASE WHEN i % 12 = 3 THEN 'europe-west1-' || chr(98 + i % 3) END, -- peer_az_id
    CASE WHEN i % 12 = 9 THEN 15169 + i % 50 END,                    -- peer_asn
    CASE WHEN i % 12 = 9 THEN (ARRAY['usa', 'deu', 'sgp'])[1 + i % 3] END, -- peer_country
    CASE WHEN i % 12 = 9 THEN 'America' END,                         -- peer_continent
    CASE WHEN i % 24 = 9 THEN 'California' END,                       -- peer_geo_region
    CASE WHEN i % 24 = 9 THEN 'Santa Teresa ' || i % 7 END            -- peer_city
FROM generate_series(1, 30000) i,
     LATERAL (SELECT i % 29 = 0 AS nodata,
                     timestamptz '2012-03-01' + ((i * 47) % 86400) * interval '1 second'
                     + CASE WHEN i % 17 = 0 THEN interval '0.123456 seconds' ELSE interval '0' END
                     AS t) x;

-- 2012-03-05: source addresses of every shape inet orders (networks of any
-- prefix length with and without host bits, IPv4 and IPv6, NULL), several
-- rows per address and hour, for the order inside blocks
SELECT vpcflow.ensure_partitions('2012-03-05', '2012-03-06');
INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
                           protocol, action, log_status, packets, bytes, start_time, end_time)
SELECT 2, '123456789012', 'eni-0123456789abcdef0', a, '10.1.1.1', i, 443, 6, 'ACCEPT', 'OK', 1, i,
       t, t + interval '1 second'
FROM unnest(ARRAY['10.0.0.0/8', '10.0.0.5/8', '10.0.0.0/16', '10.0.0.0', '10.0.0.5', '9.255.255.255',
                  '11.0.0.0', '0.0.0.0/0', '255.255.255.255', '192.168.1.0/24', '192.168.1.7/24',
                  '::/0', '2001:db8::/32', '2001:db8::1', '2001:db8:0:0:1::/80', '2001:db8::1:0:0:1',
                  'ffff::1', '::ffff:10.0.0.1', NULL]::inet[]) a,
     generate_series(1, 6) i,
     LATERAL (SELECT timestamptz '2012-03-05' + (i % 3) * interval '50 minutes'
                     + (i * 7) % 5 * interval '1.5 seconds' AS t) x;

-- answers of the benchmark queries over the synthetic day, while hot
CREATE TEMP TABLE q_hot AS
SELECT 1 AS q, to_jsonb(array_agg(x ORDER BY x::text)) AS r FROM (
    SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.flows
    WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
    GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST, srcaddr LIMIT 10) x
UNION ALL
SELECT 3, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT interface_id, count(*) AS flows, count(*) FILTER (WHERE action = 'REJECT') AS rejects
    FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
    GROUP BY interface_id HAVING count(*) >= 100) x
UNION ALL
SELECT 4, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT account_id, date_trunc('hour', start_time) AS hour, sum(bytes) AS egress
    FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
      AND NOT (dstaddr << inet '10.0.0.0/8' OR dstaddr << inet '172.16.0.0/12'
               OR dstaddr << inet '192.168.0.0/16')
    GROUP BY 1, 2) x
UNION ALL
SELECT 5, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT * FROM vpcflow.flows WHERE dstaddr << inet '172.16.3.0/24'
      AND start_time >= '2012-03-01 12:00' AND start_time < '2012-03-01 13:00') x
UNION ALL
SELECT 6, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT srcaddr, date_bin('5 minutes', start_time, timestamptz '2000-01-01') AS bucket,
           count(DISTINCT dstport) AS ports
    FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
      AND srcaddr IS NOT NULL GROUP BY 1, 2 HAVING count(DISTINCT dstport) >= 1) x
UNION ALL
SELECT 7, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT date_bin('5 minutes', start_time, timestamptz '2000-01-01') AS bucket,
           count(*) AS flows, sum(bytes) AS bytes
    FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
    GROUP BY 1) x
UNION ALL
SELECT 8, to_jsonb(array_agg(x ORDER BY x::text)) FROM (
    SELECT * FROM vpcflow.flows WHERE srcaddr = inet '10.3.3.3'
      AND start_time >= '2012-03-01' AND start_time < '2012-03-02') x;

CREATE TEMP TABLE hot_rows AS SELECT * FROM vpcflow.flows;
-- the views over the store, while hot
INSERT INTO vpcflow.prefixes (set_name, prefix, owner, service)
SELECT 'inventory', ('10.' || k || '.0.0/16')::vpcflow.ipprefix, 'team' || k, 'svc' || k % 3
FROM generate_series(0, 9) k;
CREATE TEMP TABLE views_hot AS
SELECT (SELECT count(*) FROM vpcflow.flows_enriched) AS enriched_rows,
       (SELECT sum(hashtext(e::text)) FROM vpcflow.flows_enriched e) AS enriched_hash,
       (SELECT count(*) FROM vpcflow.unattributed) AS unattributed_rows,
       (SELECT sum(hashtext(u::text)) FROM vpcflow.unattributed u) AS unattributed_hash;

-- ---------------------------------------------------------------- compress
-- small blocks, so that an hour of the synthetic day takes two
UPDATE vpcflow.settings SET warm_block_rows = 1024;
SELECT ok((SELECT sum(vpcflow.compress_partition(p.partition)) FROM vpcflow.partitions p
           JOIN pg_class c ON c.oid = p.partition WHERE c.relkind = 'r')
          = (SELECT count(*) FROM hot_rows),
          'compress_partition compresses every row of every partition');
SELECT is((SELECT count(*) FROM vpcflow.partitions p JOIN pg_class c ON c.oid = p.partition
           WHERE c.relkind = 'r'), 0::bigint, 'every partition is warm');
-- rows come out of blocks in block order: by hour, then srcaddr, then start_time
SET LOCAL max_parallel_workers_per_gather = 0;
-- rows of [lo, hi) read in scan order (blocks in order, rows as stored)
-- that are out of the blocks' order: hour, then srcaddr (inet order, NULLs
-- last), then start_time
CREATE FUNCTION pg_temp.out_of_block_order(lo timestamptz, hi timestamptz) RETURNS bigint
LANGUAGE sql AS $$
    WITH r AS (SELECT row_number() OVER () AS n, srcaddr, start_time,
                      date_bin('1 hour', start_time, timestamptz '2000-01-01') AS h
               FROM vpcflow.flows WHERE start_time >= lo AND start_time < hi),
         l AS (SELECT h, srcaddr, start_time,
                      lag(h) OVER w AS ph, lag(srcaddr) OVER w AS ps, lag(start_time) OVER w AS pt,
                      n FROM r WINDOW w AS (ORDER BY n))
    SELECT count(*) FROM l
    WHERE n > 1 AND (h < ph
                     OR (h = ph AND ps IS NOT NULL AND srcaddr IS NOT NULL AND srcaddr < ps)
                     OR (h = ph AND ps IS NULL AND srcaddr IS NOT NULL)
                     OR (h = ph AND srcaddr IS NOT DISTINCT FROM ps AND start_time < pt))
$$;

SELECT is(pg_temp.out_of_block_order('2012-03-01', '2012-03-06'),
          0::bigint, 'inside an hour, blocks hold rows by srcaddr (inet order, NULLs last), then start_time');
RESET max_parallel_workers_per_gather;
SELECT ok((SELECT count(*) FROM vpcflow.warm_partitions) >= 3, 'several warm partitions');
SELECT is((SELECT count(*) FROM vpcflow.flows), (SELECT count(*) FROM hot_rows),
          'warm partitions hold as many rows as the hot ones did');
SELECT is((SELECT count(*) FROM (SELECT * FROM hot_rows EXCEPT ALL SELECT * FROM vpcflow.flows) d),
          0::bigint, 'every hot row reads back from warm, exactly');
SELECT is((SELECT count(*) FROM (SELECT * FROM vpcflow.flows EXCEPT ALL SELECT * FROM hot_rows) d),
          0::bigint, 'warm has no row the hot partitions did not have');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE log_status = 'NODATA' AND srcaddr IS NULL),
          (SELECT count(*) FROM hot_rows WHERE log_status = 'NODATA' AND srcaddr IS NULL),
          'NULL-heavy NODATA rows survive');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE family(srcaddr) = 6),
          (SELECT count(*) FROM hot_rows WHERE family(srcaddr) = 6), 'IPv6 rows survive');
SELECT is((SELECT sum(hashtext(extra::text)) FROM vpcflow.flows),
          (SELECT sum(hashtext(extra::text)) FROM hot_rows), 'extra jsonb survives');

-- ---------------------------------------------------------------- queries
SELECT is((SELECT count(*) FROM q_hot h WHERE h.r IS DISTINCT FROM (
    CASE h.q
    WHEN 1 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.flows
        WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
        GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST, srcaddr LIMIT 10) x)
    WHEN 3 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT interface_id, count(*) AS flows, count(*) FILTER (WHERE action = 'REJECT') AS rejects
        FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
        GROUP BY interface_id HAVING count(*) >= 100) x)
    WHEN 4 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT account_id, date_trunc('hour', start_time) AS hour, sum(bytes) AS egress
        FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
          AND NOT (dstaddr << inet '10.0.0.0/8' OR dstaddr << inet '172.16.0.0/12'
                   OR dstaddr << inet '192.168.0.0/16')
        GROUP BY 1, 2) x)
    WHEN 5 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT * FROM vpcflow.flows WHERE dstaddr << inet '172.16.3.0/24'
          AND start_time >= '2012-03-01 12:00' AND start_time < '2012-03-01 13:00') x)
    WHEN 6 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT srcaddr, date_bin('5 minutes', start_time, timestamptz '2000-01-01') AS bucket,
               count(DISTINCT dstport) AS ports
        FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
          AND srcaddr IS NOT NULL GROUP BY 1, 2 HAVING count(DISTINCT dstport) >= 1) x)
    WHEN 7 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT date_bin('5 minutes', start_time, timestamptz '2000-01-01') AS bucket,
               count(*) AS flows, sum(bytes) AS bytes
        FROM vpcflow.flows WHERE start_time >= '2012-03-01' AND start_time < '2012-03-02'
        GROUP BY 1) x)
    WHEN 8 THEN (SELECT to_jsonb(array_agg(x ORDER BY x::text)) FROM (
        SELECT * FROM vpcflow.flows WHERE srcaddr = inet '10.3.3.3'
          AND start_time >= '2012-03-01' AND start_time < '2012-03-02') x)
    END)), 0::bigint, 'benchmark queries Q1 and Q3-Q8 answer the same on warm as on hot');
SELECT ok((SELECT count(*) FROM q_hot WHERE r IS NOT NULL) = 7, 'the queries had answers');
SELECT is((SELECT to_jsonb(v) FROM views_hot v),
          (SELECT to_jsonb(v) FROM (
              SELECT (SELECT count(*) FROM vpcflow.flows_enriched) AS enriched_rows,
                     (SELECT sum(hashtext(e::text)) FROM vpcflow.flows_enriched e) AS enriched_hash,
                     (SELECT count(*) FROM vpcflow.unattributed) AS unattributed_rows,
                     (SELECT sum(hashtext(u::text)) FROM vpcflow.unattributed u) AS unattributed_hash) v),
          'the views over the store (flows_enriched, unattributed) answer the same on warm');

-- block skipping, read from EXPLAIN ANALYZE
CREATE FUNCTION pg_temp.blocks(query text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_query_first(plan, 'strict $.**?(@."Blocks In Partition" != null)');
END
$$;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT ok((SELECT (b->>'Blocks Decoded')::int < (b->>'Blocks In Partition')::int / 10
                  AND (b->>'Blocks Decoded')::int >= 1
           FROM pg_temp.blocks($$SELECT sum(bytes) FROM vpcflow.flows
                                 WHERE start_time >= '2012-03-01 12:00' AND start_time < '2012-03-01 13:00'$$) b),
          'a one-hour query decodes only that hour''s blocks');
SELECT ok((SELECT (b->>'Blocks Decoded')::int < (b->>'Blocks In Partition')::int
           FROM pg_temp.blocks($$SELECT * FROM vpcflow.flows WHERE srcaddr = inet '10.19.249.6'
                                 AND start_time >= '2012-03-01' AND start_time < '2012-03-02'$$) b),
          'a point lookup skips blocks by their srcaddr range');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time = (
              SELECT min(start_time) FROM hot_rows WHERE date_trunc('second', start_time) <> start_time)),
          (SELECT count(*) FROM hot_rows WHERE start_time = (
              SELECT min(start_time) FROM hot_rows WHERE date_trunc('second', start_time) <> start_time)),
          'time equality with a fraction finds its rows');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE srcaddr = NULL::inet), 0::bigint,
          'a NULL bound matches nothing');
SELECT is((SELECT array_agg(n ORDER BY a) FROM (
              SELECT v.a, (SELECT count(*) FROM vpcflow.flows f
                           WHERE f.srcaddr = v.a AND f.start_time >= '2012-03-01'
                             AND f.start_time < '2012-03-02') AS n
              FROM (VALUES (inet '10.3.3.3'), (inet '10.19.249.6'), (inet '10.250.0.1')) v(a)) x),
          (SELECT array_agg(n ORDER BY a) FROM (
              SELECT v.a, (SELECT count(*) FROM hot_rows f
                           WHERE f.srcaddr = v.a AND f.start_time >= '2012-03-01'
                             AND f.start_time < '2012-03-02') AS n
              FROM (VALUES (inet '10.3.3.3'), (inet '10.19.249.6'), (inet '10.250.0.1')) v(a)) x),
          'a correlated subquery rescans the warm scan with each outer value');
RESET max_parallel_workers_per_gather;

-- parallel scans give the same answer
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SELECT is((SELECT sum(bytes)::numeric FROM vpcflow.flows),
          (SELECT sum(bytes)::numeric FROM hot_rows), 'a parallel warm scan sums the same');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- ---------------------------------------------------------------- late rows
INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
                           protocol, action, log_status, packets, bytes, start_time, end_time)
VALUES (2, '123456789012', 'eni-0123456789abcdef0', '10.99.0.1', '10.99.0.2', 1234, 443, 6,
        'ACCEPT', 'OK', 10, 777, '2012-03-01 05:00:00+00', '2012-03-01 05:00:30+00');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE srcaddr = '10.99.0.1'), 1::bigint,
          'a row inserted into a warm day is visible at once');
SELECT is((SELECT count(*) FROM vpcflow.ingest_data('late.log',
    convert_to(E'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n'
               || E'2 123456789012 eni-0123456789abcdef0 10.99.0.3 10.99.0.4 1 2 6 1 100 1330581600 1330581660 ACCEPT OK\n'
               || E'2 123456789012 eni-0123456789abcdef0 10.99.0.3 10.99.0.4 1 2 6 1 200 1330581601 1330581660 REJECT OK\n', 'UTF8'))
           WHERE rows = 2), 1::bigint, 'ingest_data loads late rows into a warm day');
SELECT is((SELECT sum(bytes) FROM vpcflow.flows WHERE srcaddr = '10.99.0.3'), 300::numeric,
          'late rows from the C ingest path are visible at once');
CREATE TEMP TABLE with_late AS SELECT * FROM vpcflow.flows;
SELECT ok((SELECT sum(vpcflow.fold_partition(w.partition)) FROM vpcflow.warm_partitions w) = 3,
          'fold moves the three late rows into blocks');
SELECT is((SELECT count(*) FROM (SELECT * FROM with_late EXCEPT ALL SELECT * FROM vpcflow.flows) d)
          + (SELECT count(*) FROM (SELECT * FROM vpcflow.flows EXCEPT ALL SELECT * FROM with_late) d),
          0::bigint, 'folding changes no row');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE srcaddr IN ('10.99.0.1', '10.99.0.3')), 3::bigint,
          'folded late rows are still found by address');

-- a whole day of late rows in no order, folded with the smallest sort budget:
-- one batch (one scan of the side table) per hour, and each hour sorts on disk
SELECT vpcflow.ensure_partitions('2012-03-07', '2012-03-08');
SELECT vpcflow.compress_partition(p.partition) FROM vpcflow.partitions p
WHERE p.lower_bound = '2012-03-07';
SELECT setseed(0.25);
INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
                           protocol, action, log_status, packets, bytes, start_time, end_time,
                           tcp_flags, pkt_srcaddr)
SELECT 2, '123456789012', ('eni-' || lpad(to_hex(i % 13), 17, '0'))::vpcflow.awsid,
       (ARRAY['10.0.0.1', '10.0.0.2', '10.0.0.0/8', '2001:db8::1', NULL, '192.168.0.9']::inet[])[1 + i % 6],
       ('172.16.0.' || i % 200)::inet, i % 60000, 443, 6, 'ACCEPT', 'OK', 1, i,
       t, t + interval '10 seconds',
       CASE WHEN i = 4242 THEN 18 END,                    -- a value in one row only
       CASE WHEN i % 1000 = 0 THEN '10.9.9.9'::inet END   -- in a few rows
FROM (SELECT i, timestamptz '2012-03-07' + (i * 7919 % 86400) * interval '1 second' AS t
      FROM generate_series(1, 20000) i ORDER BY random()) x;
CREATE TEMP TABLE late_day AS
SELECT * FROM vpcflow.flows WHERE start_time >= '2012-03-07' AND start_time < '2012-03-08';
SET LOCAL work_mem = '64kB';
SET LOCAL vpcflow.warm_build_memory = '64kB';
SELECT is(vpcflow.fold_partition(p.partition), 20000::bigint,
          'a whole day of late rows in no order folds with the smallest sort budget')
FROM vpcflow.partitions p WHERE p.lower_bound = '2012-03-07';
RESET work_mem;
RESET vpcflow.warm_build_memory;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT count(*) FROM (SELECT * FROM late_day EXCEPT ALL SELECT * FROM vpcflow.flows
                                 WHERE start_time >= '2012-03-07' AND start_time < '2012-03-08') d)
          + (SELECT count(*) FROM (SELECT * FROM vpcflow.flows
                                   WHERE start_time >= '2012-03-07' AND start_time < '2012-03-08'
                                   EXCEPT ALL SELECT * FROM late_day) d)
          + (SELECT count(*) FROM vpcflow.flows WHERE tcp_flags = 18 AND bytes = 4242) - 1,
          0::bigint, 'the folded day reads back row for row, the one-row column included');
SELECT is((SELECT count(*) FROM vpcflow.warm_blocks b JOIN vpcflow.partitions p ON b.partition = p.partition::oid
           WHERE p.lower_bound = '2012-03-07'
             AND date_bin('1 hour', b.min_time, timestamptz '2000-01-01')
                 <> date_bin('1 hour', b.max_time, timestamptz '2000-01-01')), 0::bigint,
          'no folded block spans two hours');
SELECT is(pg_temp.out_of_block_order('2012-03-07', '2012-03-08'),
          0::bigint, 'the folded blocks hold rows by hour, srcaddr, then start_time');
RESET max_parallel_workers_per_gather;

-- ---------------------------------------------------------------- archive
-- 2023-11-15 holds the test files' v5 fields, IPv6, milliseconds and extra
CREATE TEMP TABLE day_before AS
SELECT * FROM vpcflow.flows WHERE start_time >= '2023-11-15' AND start_time < '2023-11-16';
SELECT ok((SELECT count(*) FROM day_before WHERE extra IS NOT NULL) > 0
          AND (SELECT count(*) FROM day_before WHERE family(srcaddr) = 6) > 0
          AND (SELECT count(*) FROM day_before WHERE pkt_src_aws_service IS NOT NULL) > 0,
          'the archived day has extra fields, IPv6 and v5 fields');
SELECT is((SELECT rows FROM vpcflow.archive_partition('vpcflow.flows_p20231115',
                   current_setting('data_directory') || '/vpcflow_warm_test_archive')),
          (SELECT count(*) FROM day_before), 'archive_partition writes every row of a warm day');
SELECT vpcflow.drop_partition('vpcflow.flows_p20231115');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time >= '2023-11-15' AND start_time < '2023-11-16'),
          0::bigint, 'drop_partition removes the day');
SELECT is((SELECT rows FROM vpcflow.ingest_file(current_setting('data_directory')
                                                || '/vpcflow_warm_test_archive/flows_p20231115.log.gz')),
          (SELECT count(*) FROM day_before), 'the archive re-ingests every row');
SELECT is((SELECT count(*) FROM (
            SELECT to_jsonb(a) #- '{ingest_id}' FROM day_before a
            EXCEPT ALL
            SELECT to_jsonb(b) #- '{ingest_id}' FROM vpcflow.flows b
            WHERE start_time >= '2023-11-15' AND start_time < '2023-11-16') d),
          0::bigint, 'the re-ingested rows equal the archived ones (ingest_id aside)');
SELECT throws_like($$SELECT * FROM vpcflow.archive_partition('vpcflow.flows_p20120301', '/tmp')$$,
                   '%cannot carry exactly%',
                   'archiving refuses values the flow-log text format cannot carry');

-- ---------------------------------------------------------------- corruption
UPDATE vpcflow.warm_blocks SET data = overlay(data PLACING '\xffffffff'::bytea FROM 40)
WHERE partition = (SELECT partition::oid FROM vpcflow.warm_partitions ORDER BY rows DESC LIMIT 1)
  AND block_id = 0;
SELECT throws_like($$SELECT count(*), sum(bytes), max(srcaddr) FROM vpcflow.flows$$,
                   'corrupt warm block%', 'a corrupt block is rejected with a clear error');

SELECT * FROM finish();
ROLLBACK;
