-- Mergeable aggregates (issue 5): exact statistics, top-k, distinct counts
-- and their state types.  Parallel plans and binary round trips are in
-- test/aggregates.sql (pgTAP).
SET search_path = vpcflow, public;
SET TimeZone = 'UTC';

-- 3,000 deterministic rows in 4 groups, with NULLs in every column, and
-- an empty group (g = 4) that only has a row with everything NULL.
CREATE TABLE agg_flows AS
SELECT i % 4 AS g,
       (CASE WHEN i % 11 = 0 THEN NULL WHEN i % 7 = 0 THEN 'REJECT' ELSE 'ACCEPT' END)::flow_action AS action,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 17 + 1)::bigint END AS packets,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 37 % 1500 + 40)::bigint END AS bytes,
       CASE WHEN i % 19 = 0 THEN NULL ELSE timestamptz '2024-05-01' + i * interval '7 s' END AS start_time,
       CASE WHEN i % 23 = 0 THEN NULL ELSE timestamptz '2024-05-01' + i * interval '7 s' + interval '60 s' END AS end_time,
       ('10.0.' || (i % 5) || '.' || (i % 50))::inet AS srcaddr,
       (CASE WHEN i % 3 = 0 THEN '198.51.100.' || (i % 200) ELSE '10.1.' || (i % 7) || '.' || (i % 250) END)::inet AS dstaddr,
       CASE WHEN i % 29 = 0 THEN NULL ELSE i % 150 END AS dstport,
       'eni-' || lpad(to_hex(i % 40), 17, '0') AS interface_id
FROM generate_series(1, 3000) i
UNION ALL
SELECT 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;

-- Exact statistics equal plain SQL, per group and overall.
SELECT g, (flow_stats(action, packets, bytes, start_time, end_time)).*
FROM agg_flows GROUP BY g ORDER BY g;

SELECT count(*) AS groups,
       count(*) FILTER (WHERE s IS NOT DISTINCT FROM p) AS flow_stats_equal,
       count(*) FILTER (WHERE r IS NOT DISTINCT FROM pr) AS reject_rate_equal,
       count(*) FILTER (WHERE e IS NOT DISTINCT FROM pe) AS egress_equal
FROM (
    SELECT g, flow_stats(action, packets, bytes, start_time, end_time) AS s,
           ROW(count(*), sum(packets), sum(bytes),
               count(*) FILTER (WHERE action = 'ACCEPT'), count(*) FILTER (WHERE action = 'REJECT'),
               min(start_time), max(end_time),
               (count(*) FILTER (WHERE action = 'REJECT'))::float8 / nullif(count(action), 0))::flow_stats AS p,
           reject_rate(action) AS r,
           (count(*) FILTER (WHERE action = 'REJECT'))::float8 / nullif(count(action), 0) AS pr,
           egress_bytes(dstaddr, bytes) AS e,
           sum(bytes) FILTER (WHERE NOT is_private_address(dstaddr)) AS pe
    FROM agg_flows GROUP BY ROLLUP (g)) x;

-- No rows: counts are 0, the rest NULL, as for the built-ins.
SELECT (flow_stats(action, packets, bytes, start_time, end_time)).*, reject_rate(action),
       egress_bytes(dstaddr, bytes), approx_distinct(dstaddr), topk(srcaddr, bytes, 3) IS NULL AS topk_null
FROM agg_flows WHERE false;

-- Sums beyond bigint stay exact (int128 inside, numeric out).
SELECT (flow_stats(NULL, v, v, NULL, NULL)).bytes = sum(v::numeric) AS big_sum_exact
FROM (SELECT 9223372036854775807::bigint AS v FROM generate_series(1, 3)) s;

-- Stored states: text round trip, merge of parts = state of the whole.
CREATE TABLE agg_rollup AS
SELECT g, flow_stats_state(action, packets, bytes, start_time, end_time) AS fs,
       hll(dstaddr) AS h, topk(dstport, bytes, 5) AS t
FROM agg_flows GROUP BY g;
SELECT (SELECT flow_stats_merge(fs)::text FROM agg_rollup)
     = (SELECT flow_stats_state(action, packets, bytes, start_time, end_time)::text FROM agg_flows)
       AS flow_stats_merge_equal,
       (SELECT hll_merge(h)::text FROM agg_rollup) = (SELECT hll(dstaddr)::text FROM agg_flows)
       AS hll_merge_equal,
       (SELECT flow_stats_final(flow_stats_merge(fs)) FROM agg_rollup)
     = (SELECT flow_stats(action, packets, bytes, start_time, end_time) FROM agg_flows)
       AS final_equal;
SELECT count(*) FILTER (WHERE fs::text::flow_stats_state::text = fs::text
                          AND h::text::hll::text = h::text
                          AND t::text::topk_state::text = t::text) AS text_round_trips
FROM agg_rollup;
SELECT flow_stats_union((SELECT fs FROM agg_rollup WHERE g = 0), (SELECT fs FROM agg_rollup WHERE g = 1))::text
     = (SELECT flow_stats_merge(fs)::text FROM agg_rollup WHERE g IN (0, 1)) AS union_equal;
SELECT flow_stats_state(action, packets, bytes, start_time, end_time) FROM agg_flows WHERE g = 4;

-- Distinct counts: small sets are exact (sparse sketch).
SELECT g, approx_distinct(dstaddr) AS hll_dst, count(DISTINCT dstaddr) AS exact_dst,
       approx_distinct(dstport) AS hll_port, count(DISTINCT dstport) AS exact_port,
       approx_distinct(interface_id) AS hll_eni, count(DISTINCT interface_id) AS exact_eni,
       hll_cardinality(hll(dstport::bigint, 10)) AS p10
FROM agg_flows GROUP BY g ORDER BY g;
SELECT approx_distinct(i::smallint) AS s, approx_distinct(i) AS i4, approx_distinct(i::bigint) AS i8,
       hll(i)::text = hll(i::bigint)::text AS int_types_agree
FROM generate_series(1, 1000) i;
SELECT hll_precision(hll(1, 12)), hll_cardinality(hll_union(hll(1), hll(2))),
       hll_cardinality(hll(x)) FROM (VALUES (NULL::int)) v(x);
SELECT hll(x, 3) FROM (VALUES (1)) v(x);
SELECT hll_union(hll(1, 10), hll(1, 11));
-- in-memory forms of a sparse sketch (inline pairs, hash set, dense): the
-- sketches of parts merge byte for byte into the sketch of the whole
SELECT n, (SELECT hll_merge(h)::text FROM (SELECT hll(i) h FROM generate_series(1, n) i GROUP BY i % 3) s)
          = (SELECT hll(i)::text FROM generate_series(1, n) i) AS merge_equal,
       (SELECT hll_cardinality(hll_merge(h)) FROM (SELECT hll(i) h FROM generate_series(1, n) i GROUP BY i % 3) s)
          AS merged
FROM (VALUES (1), (2), (3), (5), (100), (2048), (2049), (5000)) v(n);
SELECT bool_and(a = e) AS small_groups_exact
FROM (SELECT i % 1000 AS g, approx_distinct(i) a, count(DISTINCT i) e FROM generate_series(1, 3000) i GROUP BY 1) s;

-- Top-k: exact when the keys fit in the capacity (ties by key), NULL keys
-- and weights skipped.
SELECT * FROM topk_entries((SELECT topk(dstport, bytes, 5) FROM agg_flows));
SELECT dstport, sum(bytes) FROM agg_flows WHERE dstport IS NOT NULL AND bytes IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
SELECT * FROM topk_entries((SELECT topk(k, w, 4) FROM (VALUES ('b', 5), ('a', 5), ('c', 5), (NULL, 9),
    ('d', NULL), ('e', 0), ('f', 1), ('a', 1)) v(k, w)));
SELECT * FROM topk_entries((SELECT topk(srcaddr, 1, 3) FROM agg_flows WHERE srcaddr IS NOT NULL));
SELECT * FROM topk_entries((SELECT topk(interface_id, packets, 2) FROM agg_flows));
SELECT * FROM topk_entries((SELECT topk(i::bigint, 1, 2) FROM generate_series(-2, 1) i));
-- Bounded: 1000 keys through 10 counters; the heavy key is found.
SELECT key, weight >= 100000 AS covers_true, weight - error <= 100000 AS lower_ok,
       error <= topk_total(t) / 10 AS error_bound
FROM (SELECT topk(k, w, 1, 10) t FROM (SELECT i AS k, 1::bigint AS w FROM generate_series(1, 1000) i
      UNION ALL SELECT 0, 100000) s) x, topk_entries(t);
SELECT topk_total(topk_merge(t)) = (SELECT sum(bytes) FROM agg_flows WHERE dstport IS NOT NULL)
       AS merged_total, topk_merge(t)::text = (SELECT topk(dstport, bytes, 5)::text FROM agg_flows)
       AS merge_equal
FROM agg_rollup;

-- Top-k fast paths.  An ungrouped aggregate over integer keys moves to
-- exact direct counters when its table first fills up with keys all in
-- 0..65535; a grouped one, or any other key, stays in the batched
-- space-saving table.  3,000 ports (7 heavy ones, each over total / 40),
-- NULL keys, NULL and zero weights.
CREATE TABLE agg_ports AS
SELECT i, CASE WHEN i % 17 = 0 THEN NULL WHEN i % 4 = 0 THEN i % 7 * 11 ELSE (i * 7919) % 3000 END AS port,
       (CASE WHEN i % 23 = 0 THEN NULL WHEN i % 5 = 0 THEN 0 ELSE i % 9 + 1 END)::bigint AS w
FROM generate_series(1, 20000) i;
CREATE FUNCTION pg_temp.exact_ports(lim int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(port || ':' || s, ' ' ORDER BY s DESC, port)
    FROM (SELECT port, sum(w) s FROM agg_ports WHERE port IS NOT NULL AND w > 0
          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT lim) x $$;
CREATE FUNCTION pg_temp.entries(t topk_state) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(key || ':' || weight || CASE WHEN error > 0 THEN '~' || error ELSE '' END, ' ')
    FROM topk_entries(t) $$;
-- the bound against the exact weights: entries within [weight - error,
-- weight], error <= total / capacity, keys heavier than that reported
CREATE FUNCTION pg_temp.ports_bound(t topk_state, capacity int) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s of %s within bound, %s heavy keys missing',
                  count(*) FILTER (WHERE x.s BETWEEN e.weight - e.error AND e.weight
                                     AND e.error <= topk_total(t) / capacity), count(*),
                  (SELECT count(*) FROM (SELECT port, sum(w) s FROM agg_ports WHERE w > 0 GROUP BY port) y
                   WHERE y.s > topk_total(t) / capacity
                     AND y.port NOT IN (SELECT key::int FROM topk_entries(t) WHERE key ~ '^-?[0-9]+$')))
    FROM topk_entries(t) e JOIN (SELECT port::text AS key, sum(w) s FROM agg_ports WHERE w > 0 GROUP BY port) x
         USING (key) $$;
-- keys fit the table (capacity 4000): both paths exact, the same state
SELECT topk(port, w, 12, 4000)::text
     = (SELECT t::text FROM (SELECT topk(port, w, 12, 4000) t FROM agg_ports GROUP BY i < 0) s) AS table_eq_grouped,
       pg_temp.entries(topk(port, w, 12, 4000)) = pg_temp.exact_ports(12) AS table_exact,
       topk_total(topk(port, w, 12, 4000)) = sum(w) FILTER (WHERE port IS NOT NULL) AS total_ok
FROM agg_ports;
SELECT pg_temp.entries(topk(port, w, 8)) FROM agg_ports;
-- capacity 40 (table of 592): the ungrouped aggregate moves to direct
-- counters, so its whole stored state (k = capacity) is the exact top 40;
-- the grouped one stays within its bound (7 heavy keys reported)
SELECT pg_temp.entries(topk(port, w, 40, 40)) = pg_temp.exact_ports(40) AS direct_state_exact,
       topk_total(topk(port, w, 40, 40)) = sum(w) FILTER (WHERE port IS NOT NULL) AS direct_total_ok
FROM agg_ports;
SELECT pg_temp.ports_bound(t, 40) AS grouped_bound
FROM (SELECT topk(port, w, 40, 40) t FROM agg_ports GROUP BY i < 0) s;
-- Far more keys than the table holds (54,000 light keys, 30 counters:
-- compactions run while rows arrive): the bound holds and the keys heavier
-- than total / capacity are reported.
WITH r AS (SELECT CASE WHEN i % 10 = 0 THEN 'h' || i % 70 / 10 ELSE 'k' || i END AS key,
                  (CASE WHEN i % 10 = 0 THEN 10 ELSE 1 END)::bigint AS w
           FROM generate_series(1, 60000) i),
     t AS (SELECT topk(key, w, 7, 30) AS t FROM r),
     x AS (SELECT key, sum(w) s FROM r GROUP BY key)
SELECT (SELECT count(*) FROM t, topk_entries(t.t) e JOIN x USING (key)
        WHERE x.s BETWEEN e.weight - e.error AND e.weight AND e.error <= topk_total(t.t) / 30) AS within_bound,
       (SELECT count(*) FROM x WHERE s > (SELECT topk_total(t.t) FROM t) / 30
          AND key NOT IN (SELECT key FROM t, topk_entries(t.t))) AS heavy_missing,
       (SELECT string_agg(key, ' ' ORDER BY key) FROM t, topk_entries(t.t)) AS reported;
-- A key outside 0..65535 (-1 and 70000, heavy, at rows 15000 and 15100)
-- turns the direct counters back into entries: the bound holds, the heavy
-- keys are found.
WITH p AS (SELECT i, CASE WHEN i = 15000 THEN -1 WHEN i = 15100 THEN 70000 ELSE port END AS port,
                  CASE WHEN i IN (15000, 15100) THEN 5000 ELSE w END AS w FROM agg_ports)
SELECT pg_temp.entries(topk(port, w, 5, 40)) AS switched FROM p;
-- States of the two paths merge within the bound.
SELECT pg_temp.ports_bound(topk_union(
           (SELECT topk(port, w, 40, 40) FROM agg_ports WHERE i <= 10000),
           (SELECT t FROM (SELECT topk(port, w, 40, 40) t FROM agg_ports WHERE i > 10000 GROUP BY i < 0) s)),
       40) AS direct_table_merge_bound;
-- As a window aggregate (the final function only reads the state).
SELECT i, (SELECT string_agg(key || ':' || weight || ':' || error, ' ') FROM topk_entries(t)) AS running_top2
FROM (SELECT i, topk(i % 5, i, 2, 3) OVER (ORDER BY i) t FROM generate_series(1, 8) i) s;

-- Address pairs: topk(src, dst, weight, k); topk_pairs unnests them as
-- addresses, topk_entries as 'src dst'.
SELECT * FROM topk_pairs((SELECT topk(srcaddr, dstaddr, bytes, 4) FROM agg_flows));
SELECT * FROM topk_entries((SELECT topk(srcaddr, dstaddr, bytes, 4) FROM agg_flows));
SELECT (SELECT string_agg(src || ' ' || dst || ':' || weight, ' ') FROM topk_pairs(
            (SELECT topk(srcaddr, dstaddr, bytes, 10, 5000) FROM agg_flows)))
     = (SELECT string_agg(srcaddr || ' ' || dstaddr || ':' || s, ' ' ORDER BY s DESC, srcaddr, dstaddr)
        FROM (SELECT srcaddr, dstaddr, sum(bytes) s FROM agg_flows
              WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND bytes > 0
              GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10) x) AS pairs_exact,
       (SELECT topk_merge(t)::text FROM (SELECT topk(srcaddr, dstaddr, bytes, 10, 5000) t FROM agg_flows GROUP BY g) s)
     = (SELECT topk(srcaddr, dstaddr, bytes, 10, 5000)::text FROM agg_flows) AS pairs_merge_equal;
-- NULL source, destination or weight skipped; IPv6 and prefix lengths kept.
SELECT * FROM topk_pairs((SELECT topk(s::inet, d::inet, w, 5) FROM (VALUES
    ('2001:db8::1', '10.0.0.1/8', 5), ('2001:db8::1', '10.0.0.1/8', 1), (NULL, '10.0.0.1', 9),
    ('10.0.0.2', NULL, 9), ('10.0.0.2', '10.0.0.3', NULL), ('10.0.0.2', '2001:db8::2', 3),
    ('10.0.0.2', '2001:db8::2/64', 3)) v(s, d, w)));
SELECT t::text::topk_state::text = t::text AS pair_text_round_trip
FROM (SELECT topk(srcaddr, dstaddr, bytes, 3) t FROM agg_flows) s;
SELECT * FROM topk_pairs((SELECT topk(1, 1, 2)));
SELECT * FROM topk_pairs((SELECT topk(srcaddr, dstaddr, bytes, 2) FROM agg_flows WHERE false));
SELECT topk_union(topk('10.0.0.1'::inet, '10.0.0.2'::inet, 1, 2), topk('10.0.0.1'::inet, 1, 2));

-- hll states of one pair live in the Datum: NULL-only, one-key and
-- two-key groups give the stored forms of the general sketch, and merge.
SELECT hll(x)::text AS null_only, hll(x, 10)::text AS null_only_p10 FROM (VALUES (NULL::int)) v(x);
SELECT hll(x)::text = hll_union(hll(x), hll(x))::text AS one_key_union,
       hll_cardinality(hll_union(hll(x), hll(x + 1))) AS two_keys
FROM (VALUES (7)) v(x);
WITH v(g, k) AS (VALUES (1, NULL::int), (2, 5), (2, 5), (3, 5), (3, 6), (3, 5))
SELECT g, hll_cardinality(m) AS n, m::text = w::text AS merge_equal
FROM (SELECT g, hll_merge(h) m FROM (SELECT g, k, hll(k) h FROM v GROUP BY g, k) s GROUP BY g) a
JOIN (SELECT g, hll(k) w FROM v GROUP BY g) b USING (g) ORDER BY g;
SELECT hll_merge(h) FROM (SELECT hll(1, 10) UNION ALL SELECT hll(1, 11)) v(h);
-- A key repeating the previous row's is skipped (adding it again changes
-- nothing): runs of repeats, short and long text keys, addresses, integers.
SELECT approx_distinct(i / 3) = count(DISTINCT i / 3) AS ints,
       hll(i / 3)::text = (SELECT hll(j)::text FROM generate_series(0, 999) j) AS same_sketch,
       approx_distinct('k' || i / 3) = count(DISTINCT 'k' || i / 3) AS short_text,
       approx_distinct(repeat('x', 30) || i / 3) = count(DISTINCT repeat('x', 30) || i / 3) AS long_text,
       approx_distinct(('10.0.' || i / 768 || '.' || i / 3 % 256)::inet) AS addrs
FROM generate_series(0, 2999) i;

-- Errors.
SELECT topk(i, -1, 3) FROM generate_series(1, 2) i;
SELECT topk(i, 1, 0) FROM generate_series(1, 2) i;
SELECT topk(i, 1, 5, 4) FROM generate_series(1, 2) i;
SELECT topk_union(topk(1, 1, 2), topk('x'::text, 1, 2));
SELECT topk_union(topk(1, 1, 2), topk(1, 1, 3));

-- Invalid stored forms are rejected, never read.
SELECT 'zz'::flow_stats_state;
SELECT '01'::flow_stats_state;
SELECT '02'::hll;
SELECT '010e01'::hll;
SELECT '010e0100000001ffffffff'::hll;
SELECT '010e0200'::hll;
SELECT '01'::topk_state;
SELECT * FROM topk_entries('0101000000020000000200000001000000000000000500000000000000050000000000000000000000087fffffffffffffff');
SELECT '0101000000020000000200000002000000000000000500000000000000050000000000000000000000087fffffffffffffff'::topk_state;
SELECT ('0102000000010000000100000001000000000000000500000000000000050000000000000000000000026100')::topk_state;
-- an address pair whose second address has a 33-bit IPv4 prefix
SELECT '0104000000010000000100000001000000000000000a000000000000000a00000000000000000000000c04200a00000104210a000002'::topk_state;
-- another format version than 1
SELECT '020e0100000000'::hll;
SELECT '01000000000a000000c8000000000000000000000000'::topk_state IS NOT NULL AS empty_topk_ok;
SELECT '02000000000a000000c8000000000000000000000000'::topk_state;
SELECT (
    '01' || '00' || repeat('00', 32) || repeat('00', 16) || repeat('00', 8) || repeat('00', 16) || repeat('00', 16)
)::flow_stats_state IS NOT NULL AS empty_state_ok;
SELECT (
    '01' || '00' || '0000000000000001' || '0000000000000002' || repeat('00', 16) || repeat('00', 16)
    || repeat('00', 8) || repeat('00', 16) || repeat('00', 16)
)::flow_stats_state;

DROP TABLE agg_flows, agg_rollup, agg_ports;
