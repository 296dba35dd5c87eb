-- pgTAP: mergeable aggregates (issue 5) on generated data.
--   * every aggregate runs as Partial Aggregate under Gather, with the
--     same results as a serial plan;
--   * distinct counts within 2% (documented: 0.81% standard error);
--   * top-k within its documented bound (true weight in [weight - error,
--     weight], error <= total / capacity) and the heavy hitters found;
--   * states round-trip through send/recv (COPY BINARY) and text, merging
--     states of parts equals (or, for top-k, bounds) the whole, and crafted
--     binary states are rejected;
--   * the fast paths (direct top-k counters for small integer keys, address
--     pair keys, one-pair hll states inside the Datum) give the states of
--     the general paths, in parallel plans too.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SET LOCAL search_path = vpcflow, public;
SELECT plan(41);

SELECT setseed(0.42);
CREATE TABLE tap_agg AS
SELECT i % 8 AS g,
       ('10.' || floor(pow(random(), 3) * 200)::int || '.0.' || (i % 3))::inet AS srcaddr,
       ('172.16.' || floor(random() * 250)::int || '.' || floor(random() * 250)::int)::inet AS dstaddr,
       floor(pow(random(), 4) * 60000)::int AS dstport,
       (CASE WHEN random() < 0.05 THEN 'REJECT' WHEN random() < 0.01 THEN NULL ELSE 'ACCEPT' END)::flow_action AS action,
       (1 + floor(random() * 100))::bigint AS packets,
       (40 + floor(random() * 100000))::bigint AS bytes,
       timestamptz '2024-05-01' + i * interval '1 s' AS start_time,
       timestamptz '2024-05-01' + i * interval '1 s' + floor(random() * 120) * interval '1 s' AS end_time
FROM generate_series(1, 200000) i;
ANALYZE tap_agg;

-- EXPLAIN output as one text
CREATE FUNCTION pg_temp.plan_of(q text, do_analyze boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
    t text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF' || CASE WHEN do_analyze THEN ', ANALYZE, TIMING OFF, SUMMARY OFF' ELSE '' END
                     || ') ' || q LOOP
        t := t || r || E'\n';
    END LOOP;
    RETURN t;
END
$$;

SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;

-- 1-10: parallel plans for every aggregate
SELECT ok(pg_temp.plan_of(format('SELECT %s FROM tap_agg', a)) ~ 'Partial Aggregate',
          'Partial Aggregate: ' || a)
FROM unnest(ARRAY[
    'reject_rate(action)',
    'flow_stats(action, packets, bytes, start_time, end_time)',
    'flow_stats_state(action, packets, bytes, start_time, end_time)',
    'egress_bytes(dstaddr, bytes)',
    'topk(srcaddr, bytes, 10)',
    'topk(dstport, 1, 10, 500)',
    'approx_distinct(dstaddr)',
    'hll(dstport)',
    'hll(srcaddr::text, 12)']) a;
SELECT ok(pg_temp.plan_of('SELECT g, approx_distinct(dstaddr), topk(srcaddr, bytes, 3) FROM tap_agg GROUP BY g')
          ~ 'Partial (Hash|Group)Aggregate', 'Partial aggregation with GROUP BY');

-- 11-12: parallel and serial results are the same
CREATE TEMP TABLE par AS
SELECT reject_rate(action) AS rr, flow_stats(action, packets, bytes, start_time, end_time) AS fs,
       flow_stats_state(action, packets, bytes, start_time, end_time)::text AS fss,
       egress_bytes(dstaddr, bytes) AS eg, approx_distinct(dstaddr) AS ad, hll(dstport)::text AS h,
       topk(srcaddr, bytes, 10, 2000)::text AS t
FROM tap_agg;
SELECT alike(pg_temp.plan_of('SELECT approx_distinct(dstaddr), topk(srcaddr, bytes, 5) FROM tap_agg', true),
            '%Workers Launched: _%', 'parallel workers ran');
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE ser AS
SELECT reject_rate(action) AS rr, flow_stats(action, packets, bytes, start_time, end_time) AS fs,
       flow_stats_state(action, packets, bytes, start_time, end_time)::text AS fss,
       egress_bytes(dstaddr, bytes) AS eg, approx_distinct(dstaddr) AS ad, hll(dstport)::text AS h,
       topk(srcaddr, bytes, 10, 2000)::text AS t
FROM tap_agg;
SELECT ok((SELECT row(par.*)::text FROM par) = (SELECT row(ser.*)::text FROM ser),
          'parallel results equal serial results (top-k exact: keys fit its capacity)');

-- 13-14: exact statistics equal plain SQL on the generated data
SELECT is((SELECT fs FROM ser),
          (SELECT ROW(count(*), sum(packets), sum(bytes),
                      count(*) FILTER (WHERE action = 'ACCEPT'), count(*) FILTER (WHERE action = 'REJECT'),
                      min(start_time), max(end_time),
                      (count(*) FILTER (WHERE action = 'REJECT'))::float8 / count(action))::flow_stats
           FROM tap_agg), 'flow_stats = plain SQL');
SELECT is((SELECT eg FROM ser), (SELECT sum(bytes) FROM tap_agg WHERE NOT is_private_address(dstaddr)),
          'egress_bytes = plain SQL');
SET LOCAL max_parallel_workers_per_gather = 2;

-- 15-19: distinct counts within 2%
SELECT cmp_ok(abs(approx_distinct(i) - n)::float8 / n, '<=', 0.02::float8, format('approx_distinct of %s integers', n))
FROM (VALUES (100), (5000), (60000), (300000)) v(n), LATERAL generate_series(1, n) i GROUP BY n ORDER BY n;
SELECT cmp_ok((SELECT abs(approx_distinct(dstaddr) - count(DISTINCT dstaddr))::float8 / count(DISTINCT dstaddr)
               FROM tap_agg), '<=', 0.02::float8, 'approx_distinct(inet) on 200k rows');

-- 20-21: per group (destinations per source, ports per source)
SELECT cmp_ok((SELECT max(abs(a - e)::float8 / e) FROM (
                 SELECT approx_distinct(dstaddr) a, count(DISTINCT dstaddr) e FROM tap_agg GROUP BY srcaddr) s),
              '<=', 0.02::float8, 'destinations per source within 2%');
SELECT cmp_ok((SELECT max(abs(a - e)::float8 / e) FROM (
                 SELECT approx_distinct(dstport) a, count(DISTINCT dstport) e FROM tap_agg GROUP BY g) s),
              '<=', 0.02::float8, 'ports per group within 2%');

-- 22-25: top-k within its bound, heavy hitters found (600 keys, 200 counters)
CREATE TEMP TABLE exact_top AS
SELECT host(srcaddr) AS key, sum(bytes) AS w FROM tap_agg GROUP BY srcaddr;
CREATE TEMP TABLE sketch AS SELECT topk(srcaddr, bytes, 10) AS t FROM tap_agg;
SELECT is((SELECT count(*) FROM sketch, topk_entries(t) e JOIN exact_top x USING (key)
           WHERE x.w BETWEEN e.weight - e.error AND e.weight), 10::bigint,
          'top-k: true weights within [weight - error, weight]');
SELECT ok((SELECT bool_and(e.error <= topk_total(t) / 200) FROM sketch, topk_entries(t) e),
          'top-k: error <= total / capacity');
SELECT is((SELECT count(*) FROM (SELECT key FROM exact_top ORDER BY w DESC LIMIT 10) x
           WHERE key IN (SELECT key FROM sketch, topk_entries(t))), 10::bigint,
          'top-k: the exact top 10 are the reported top 10');
CREATE TEMP TABLE merged AS SELECT topk_merge(t) AS t FROM (SELECT topk(srcaddr, bytes, 10) t FROM tap_agg GROUP BY g) s;
SELECT ok((SELECT bool_and(x.w BETWEEN e.weight - e.error AND e.weight AND e.error <= topk_total(t) / 200)
           FROM merged, topk_entries(t) e JOIN exact_top x USING (key))
          AND (SELECT topk_total(t) FROM merged) = (SELECT sum(w) FROM exact_top),
          'top-k: merged states of 8 parts keep the bound');

-- 26-27: merging states of parts equals the state of the whole
SELECT is((SELECT hll_merge(h)::text FROM (SELECT hll(dstaddr) h FROM tap_agg GROUP BY g) s),
          (SELECT hll(dstaddr)::text FROM tap_agg), 'hll: merged parts = whole');
SELECT is((SELECT flow_stats_merge(s)::text FROM (SELECT flow_stats_state(action, packets, bytes, start_time, end_time) s
                                                  FROM tap_agg GROUP BY g) x),
          (SELECT fss FROM ser), 'flow_stats_state: merged parts = whole');

-- 28-29: send/recv round trip through COPY BINARY (rollup rows)
CREATE TABLE tap_rollup AS
SELECT g, flow_stats_state(action, packets, bytes, start_time, end_time) AS fs, hll(dstaddr) AS h,
       hll(dstport, 10) AS hs, topk(srcaddr, bytes, 5) AS t
FROM tap_agg GROUP BY g;
CREATE TABLE tap_rollup_copy (LIKE tap_rollup);
DO $$
BEGIN
    EXECUTE format('COPY tap_rollup TO %L (FORMAT binary)', current_setting('data_directory') || '/tap_agg.bin');
    EXECUTE format('COPY tap_rollup_copy FROM %L (FORMAT binary)', current_setting('data_directory') || '/tap_agg.bin');
END
$$;
SELECT is((SELECT string_agg(row(r.*)::text, ',' ORDER BY g) FROM tap_rollup_copy r),
          (SELECT string_agg(row(r.*)::text, ',' ORDER BY g) FROM tap_rollup r), 'COPY BINARY round trip');
SELECT is((SELECT count(*) FROM tap_rollup WHERE fs::text::flow_stats_state::text = fs::text
           AND h::text::hll::text = h::text AND t::text::topk_state::text = t::text), 8::bigint,
          'text round trip');

-- 30-33: crafted binary states are rejected by recv
CREATE TABLE tap_bad (b bytea);
CREATE TABLE tap_bad_hll (h hll);
CREATE TABLE tap_bad_topk (t topk_state);
CREATE FUNCTION pg_temp.recv_error(val bytea, target text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('data_directory') || '/tap_bad.bin';
BEGIN
    TRUNCATE tap_bad;
    INSERT INTO tap_bad VALUES (val);
    EXECUTE format('COPY tap_bad TO %L (FORMAT binary)', f);
    EXECUTE format('COPY %I FROM %L (FORMAT binary)', target, f);
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLERRM;
END
$$;
SELECT alike(pg_temp.recv_error('\x010e0200'::bytea, 'tap_bad_hll'), 'invalid vpcflow.hll value: wrong length%',
            'recv: truncated dense hll');
SELECT alike(pg_temp.recv_error(('\x010e02' || repeat('ff', 16384))::bytea, 'tap_bad_hll'),
            'invalid vpcflow.hll value: register out of range%', 'recv: hll register out of range');
SELECT alike(pg_temp.recv_error(('\x0101000000020000000200000002000000000000000a'
                                || '0000000000000006000000000000000000000008' || '0000000000000001'
                                || '0000000000000004000000000000000000000008' || '0000000000000001')::bytea,
                               'tap_bad_topk'),
            'invalid vpcflow.topk_state value: duplicate key%', 'recv: top-k duplicate key');
SELECT alike(pg_temp.recv_error(('\x0103000000010000000100000001000000000000000a'
                                || '000000000000000a000000000000000000000006' || '04210a000001')::bytea,
                               'tap_bad_topk'),
            'invalid vpcflow.topk_state value: invalid address key%', 'recv: top-k bad address key');


-- 34-35: one-pair hll states (most groups) through a parallel GROUP BY:
-- serialized by workers, combined by the leader, same as serial
CREATE TEMP TABLE par_g AS
SELECT srcaddr, hll(dstaddr)::text AS h, approx_distinct(dstport) AS n FROM tap_agg GROUP BY srcaddr;
SELECT alike(pg_temp.plan_of('SELECT srcaddr, hll(dstaddr) FROM tap_agg GROUP BY srcaddr'),
             '%Partial%Aggregate%', 'grouped hll runs as partial aggregation');
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE ser_g AS
SELECT srcaddr, hll(dstaddr)::text AS h, approx_distinct(dstport) AS n FROM tap_agg GROUP BY srcaddr;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT is((SELECT count(*) FROM par_g FULL JOIN ser_g USING (srcaddr)
           WHERE par_g.h IS DISTINCT FROM ser_g.h OR par_g.n IS DISTINCT FROM ser_g.n), 0::bigint,
          'grouped hll: parallel states equal serial ones');

-- 36-37: top ports through the direct counters (ungrouped, keys < 65536):
-- exact, also when the parallel workers' states merge
SELECT is((SELECT string_agg(key || ':' || weight || ':' || error, ' ')
           FROM topk_entries((SELECT topk(dstport, 1, 10) FROM tap_agg))),
          (SELECT string_agg(dstport || ':' || n || ':0', ' ' ORDER BY n DESC, dstport)
           FROM (SELECT dstport, count(*) n FROM tap_agg GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) x),
          'top ports (direct counters, parallel): the exact top 10, error 0');
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT string_agg(key || ':' || weight || ':' || error, ' ')
           FROM topk_entries((SELECT topk(dstport, bytes, 50, 50) FROM tap_agg))),
          (SELECT string_agg(dstport || ':' || s || ':0', ' ' ORDER BY s DESC, dstport)
           FROM (SELECT dstport, sum(bytes) s FROM tap_agg GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50) x),
          'direct counters (thousands of ports, capacity 50): the whole state is the exact top 50');
SET LOCAL max_parallel_workers_per_gather = 2;

-- 38-40: address pairs: bound, heavy pairs reported, binary round trip
CREATE TEMP TABLE exact_pairs AS
SELECT srcaddr, dstaddr, sum(bytes) AS w FROM tap_agg GROUP BY 1, 2;
CREATE TEMP TABLE pair_sketch AS SELECT topk(srcaddr, dstaddr, bytes, 10) AS t FROM tap_agg;
SELECT ok((SELECT bool_and(x.w BETWEEN p.weight - p.error AND p.weight AND p.error <= topk_total(t) / 200)
                  AND count(*) = 10
           FROM pair_sketch, topk_pairs(t) p JOIN exact_pairs x ON x.srcaddr = p.src AND x.dstaddr = p.dst),
          'top pairs: true weights within [weight - error, weight], error <= total / capacity');
SELECT is((SELECT count(*) FROM exact_pairs x
           WHERE x.w > (SELECT topk_total(t) FROM pair_sketch) / 200
             AND NOT EXISTS (SELECT FROM pair_sketch, topk_pairs(t) p WHERE p.src = x.srcaddr AND p.dst = x.dstaddr)),
          0::bigint, 'top pairs: every pair heavier than total / capacity is reported');
CREATE TABLE tap_pairs AS SELECT g, topk(srcaddr, dstaddr, bytes, 3) AS t FROM tap_agg GROUP BY g;
CREATE TABLE tap_pairs_copy (LIKE tap_pairs);
DO $$
BEGIN
    EXECUTE format('COPY tap_pairs TO %L (FORMAT binary)', current_setting('data_directory') || '/tap_pairs.bin');
    EXECUTE format('COPY tap_pairs_copy FROM %L (FORMAT binary)', current_setting('data_directory') || '/tap_pairs.bin');
END
$$;
SELECT is((SELECT string_agg(t::text, ',' ORDER BY g) FROM tap_pairs_copy),
          (SELECT string_agg(t::text, ',' ORDER BY g) FROM tap_pairs), 'pair states: COPY BINARY round trip');

-- 41: a crafted pair state (second address with a 33-bit IPv4 prefix)
SELECT alike(pg_temp.recv_error(('\x0104000000010000000100000001000000000000000a'
                                || '000000000000000a00000000000000000000000c' || '04200a000001' || '04210a000002')::bytea,
                               'tap_bad_topk'),
            'invalid vpcflow.topk_state value: invalid address pair key%', 'recv: top-k bad address pair key');

SELECT * FROM finish();
ROLLBACK;
