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
SELECT (
    '01' || '00' || repeat('00', 32) || repeat('00', 16) || repeat('00', 8) || repeat('00', 16) || repeat('00', 16)
)::flow_stats_state IS NOT NULL AS empty_state_ok;
SELECT (
    '01' || '00' || '0000000000000001' || '0000000000000002' || repeat('00', 16) || repeat('00', 16)
    || repeat('00', 8) || repeat('00', 16) || repeat('00', 16)
)::flow_stats_state;

DROP TABLE agg_flows, agg_rollup;
