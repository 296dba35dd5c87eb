-- Baselines (vpcflow.baseline) and vpcflow.anomaly_score: score
-- properties, NULLs, zero spread, group borrowing, seasonality, state
-- round trips and merges, crafted states.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET extra_float_digits = 0;

-- a week of per-minute values: busy hours (Mon-Fri 09-17 UTC) near 1000,
-- quiet hours near 100, with a deterministic wobble
CREATE TABLE obs AS
SELECT t, CASE WHEN extract(isodow FROM t) <= 5 AND extract(hour FROM t) BETWEEN 9 AND 16
               THEN 1000 + (g * 37 % 200) - 100 ELSE 100 + (g * 37 % 20) - 10 END::float8 AS v,
       g % 4 AS part
FROM generate_series(0, 7 * 1440 - 1) g, LATERAL (SELECT timestamptz '2024-04-29 00:00' + g * interval '1 min' AS t) s;
CREATE TABLE b AS SELECT vpcflow.baseline(v, t) AS b FROM obs;

SELECT vpcflow.baseline_size(b) AS size FROM b;
SELECT n, round(median::numeric) AS median, round(mad::numeric) AS mad
FROM b, vpcflow.baseline_stats(b, '2024-05-06 10:30');          -- a busy Monday hour
SELECT n, round(median::numeric) AS median FROM b, vpcflow.baseline_stats(b, '2024-05-06 03:30');  -- quiet
SELECT n, round(median::numeric) AS median FROM b, vpcflow.baseline_stats(b);                      -- all hours

-- seasonal: 1000 is normal on Monday 10:30, a spike on Monday 03:30
SELECT round(a.score::numeric, 1) AS score, round(a.expected::numeric) AS expected, a.basis, a.baseline_size
FROM b, vpcflow.anomaly_score(1000, b, '2024-05-06 10:30', metric => 'bytes') a;
SELECT a.score > 10 AS spike, round(a.expected::numeric) AS expected, a.basis, a.metric
FROM b, vpcflow.anomaly_score(1000, b, '2024-05-06 03:30', metric => 'bytes') a;
SELECT (vpcflow.anomaly_score(1000, b, '2024-05-06 03:30', metric => 'bytes')).reason FROM b;

-- monotone in the observation (above and below expected), zero at expected
SELECT bool_and(s2 >= s1) AS monotone_high
FROM (SELECT (vpcflow.anomaly_score(x, b, '2024-05-06 03:30')).score AS s1,
             (vpcflow.anomaly_score(x * 1.05 + 1, b, '2024-05-06 03:30')).score AS s2
      FROM b, generate_series(0, 5000, 7) x) s;
SELECT bool_and(s2 >= s1) AS monotone_low
FROM (SELECT (vpcflow.anomaly_score(x, b, '2024-05-06 10:30', direction => 'low')).score AS s1,
             (vpcflow.anomaly_score(x * 0.9, b, '2024-05-06 10:30', direction => 'low')).score AS s2
      FROM b, generate_series(0, 1000, 7) x) s;
SELECT a.score, a.deviation = 0 AS zero_deviation
FROM b, vpcflow.anomaly_score((vpcflow.baseline_stats(b, '2024-05-06 03:30')).median, b, '2024-05-06 03:30') a;
SELECT (vpcflow.anomaly_score(0, b, '2024-05-06 03:30')).score AS high_only,
       (vpcflow.anomaly_score(0, b, '2024-05-06 03:30', direction => 'both')).score > 0 AS both_sides
FROM b;

-- zero spread: a constant history (all zeros) scores with min_spread
WITH z AS (SELECT vpcflow.baseline(0, t) AS b FROM obs)
SELECT a.score, a.expected, a.spread, a.basis FROM z, vpcflow.anomaly_score(3, b, '2024-05-06 03:30') a;
WITH z AS (SELECT vpcflow.baseline(0, t) AS b FROM obs)
SELECT a.score, a.spread FROM z, vpcflow.anomaly_score(3, b, min_spread => 0.5) a;

-- NULLs: observed NULL gives NULL; missing baselines give no score, with the reason
SELECT vpcflow.anomaly_score(NULL, b) IS NULL AS null_observed FROM b;
SELECT a.score, a.basis, a.baseline_size, a.reason FROM vpcflow.anomaly_score(5, NULL, metric => 'flows') a;
SELECT vpcflow.baseline(v, t) IS NULL AS empty_agg FROM obs WHERE false;
SELECT vpcflow.baseline_size(vpcflow.baseline(v, t)) FROM (VALUES (NULL::float8, now()), (1, NULL)) s(v, t);
SELECT vpcflow.baseline_add(NULL, NULL, NULL)::text AS empty_state;

-- a new entity (3 observations) borrows its group's baseline
WITH e AS (SELECT vpcflow.baseline(v, t) AS b FROM obs WHERE t < '2024-04-29 00:03')
SELECT a.basis, round(a.expected::numeric) AS expected, a.baseline_size
FROM e, b, vpcflow.anomaly_score(500, e.b, '2024-05-06 03:30', b.b) a;
WITH e AS (SELECT vpcflow.baseline(v, t) AS b FROM obs WHERE t < '2024-04-29 00:03')
SELECT a.basis, a.baseline_size FROM e, b, vpcflow.anomaly_score(500, e.b, '2024-05-06 03:30', b.b, min_history => 3) a;

-- merges: parts (in any order) give byte for byte the whole
SELECT (SELECT vpcflow.baseline_merge(p ORDER BY part DESC) FROM
          (SELECT part, vpcflow.baseline(v, t) AS p FROM obs GROUP BY part) s)::text = b::text AS merge_equals_whole,
       vpcflow.baseline_union(vpcflow.baseline_union(x.p0, x.p1), vpcflow.baseline_union(x.p2, x.p3))::text = b::text AS union_equals_whole
FROM b, (SELECT vpcflow.baseline(v, t) FILTER (WHERE part = 0) p0, vpcflow.baseline(v, t) FILTER (WHERE part = 1) p1,
                vpcflow.baseline(v, t) FILTER (WHERE part = 2) p2, vpcflow.baseline(v, t) FILTER (WHERE part = 3) p3
         FROM obs) x;
SELECT vpcflow.baseline_add(vpcflow.baseline(v, t), 7, '2024-05-01')::text
     = vpcflow.baseline_union(vpcflow.baseline(v, t), vpcflow.baseline_add(NULL, 7, '2024-05-01'))::text AS add_is_union
FROM obs;

-- text round trip (binary: test/detections.sql)
SELECT b::text::vpcflow.baseline::text = b::text AS text_round_trip FROM b;
SELECT '010000000000'::vpcflow.baseline AS empty, vpcflow.baseline_size('010000000000');
SELECT '0100000000010a05000000000000002a'::vpcflow.baseline AS one_cell,
       vpcflow.baseline_size('0100000000010a05000000000000002a');

-- crafted states are rejected with the reason
SELECT '02000000000000'::vpcflow.baseline;
SELECT '010000000001'::vpcflow.baseline;
SELECT '0100000000010a050000000000000000'::vpcflow.baseline;
SELECT '0100000000020a0500000000000000010a0500000000000000ff'::vpcflow.baseline;
SELECT '010000000001a80500000000000000ff'::vpcflow.baseline;
SELECT '01000000000'::vpcflow.baseline;
SELECT 'zz'::vpcflow.baseline;

-- bad arguments
SELECT vpcflow.baseline(-1, now());
SELECT vpcflow.baseline('NaN', now());
SELECT vpcflow.baseline(1, 'infinity');
SELECT vpcflow.anomaly_score(1, b, min_spread => 0) FROM b;
SELECT vpcflow.anomaly_score(1, b, min_history => 0) FROM b;
SELECT vpcflow.anomaly_score(1, b, direction => 'up') FROM b;
SELECT vpcflow.anomaly_score('Infinity', b) FROM b;

-- parallel plan
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT vpcflow.baseline(v, t) FROM obs;
SELECT vpcflow.baseline(v, t)::text = (SELECT b::text FROM b) AS parallel_equals_serial FROM obs;
RESET max_parallel_workers_per_gather;
DROP TABLE obs, b;
