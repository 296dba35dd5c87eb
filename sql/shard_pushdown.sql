-- Partial aggregates pushed to postgres_fdw foreign partitions
-- (src/shard_pushdown.c): the remote partial states must merge into exactly
-- what local aggregation gives.  A loopback server (this database, over
-- TCP) stands in for the shards; pd.p is partitioned like the coordinator's
-- flows, its partitions being foreign tables over pd.r1 / pd.r2.
LOAD 'vpcflow';
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
DO $$
BEGIN
    EXECUTE format('CREATE SERVER pd_loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS '
                   '(host %L, port %L, dbname %L, extensions %L, fetch_size %L)',
                   '127.0.0.1', current_setting('port'), current_database(), 'vpcflow', '7');
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER pd_loop OPTIONS (password_required 'false');
-- a second server to the same database: its own connection, so p1 and p2 are
-- queried at the same time (p3 shares p1's connection and waits its turn)
DO $$
BEGIN
    EXECUTE format('CREATE SERVER pd_loop2 FOREIGN DATA WRAPPER postgres_fdw OPTIONS '
                   '(host %L, port %L, dbname %L, extensions %L, fetch_size %L)',
                   '127.0.0.1', current_setting('port'), current_database(), 'vpcflow', '5');
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER pd_loop2 OPTIONS (password_required 'false');
CREATE SCHEMA pd;
CREATE TABLE pd.r1 (k int NOT NULL, g int, v bigint, i int, s smallint, t text, a vpcflow.flow_action);
CREATE TABLE pd.r2 (LIKE pd.r1);
CREATE TABLE pd.r3 (LIKE pd.r1);   -- stays empty
-- near the int64 limits: sums that overflow bigint (sum(bigint) is numeric);
-- NULLs in every column; groups present on one side only
INSERT INTO pd.r1
SELECT 1, g % 5, CASE WHEN g % 7 = 0 THEN NULL ELSE 9223372036854775807 - g END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE 2147483647 - g END, (g % 300)::smallint,
       CASE WHEN g % 13 = 0 THEN NULL ELSE 'x' || (g % 4) END,
       CASE WHEN g % 3 = 0 THEN 'REJECT' WHEN g % 3 = 1 THEN 'ACCEPT' END::vpcflow.flow_action
FROM generate_series(1, 2000) g;
INSERT INTO pd.r2
SELECT 2, g % 8, CASE WHEN g % 5 = 0 THEN NULL ELSE -9223372036854775807 + g END,
       -2147483647 + g, NULL, 'x' || (g % 6), 'ACCEPT'
FROM generate_series(1, 1500) g;
INSERT INTO pd.r2 VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL);   -- a NULL group key
ANALYZE pd.r1, pd.r2, pd.r3;
CREATE TABLE pd.p (k int NOT NULL, g int, v bigint, i int, s smallint, t text, a vpcflow.flow_action)
    PARTITION BY LIST (k);
CREATE FOREIGN TABLE pd.p1 PARTITION OF pd.p FOR VALUES IN (1) SERVER pd_loop
    OPTIONS (schema_name 'pd', table_name 'r1', use_remote_estimate 'true');
CREATE FOREIGN TABLE pd.p2 PARTITION OF pd.p FOR VALUES IN (2) SERVER pd_loop2
    OPTIONS (schema_name 'pd', table_name 'r2', use_remote_estimate 'true');
CREATE FOREIGN TABLE pd.p3 PARTITION OF pd.p FOR VALUES IN (3) SERVER pd_loop
    OPTIONS (schema_name 'pd', table_name 'r3', use_remote_estimate 'true');
-- the same rows, local: the reference
CREATE TABLE pd.l AS SELECT * FROM pd.r1 UNION ALL SELECT * FROM pd.r2;

SET enable_partitionwise_aggregate = on;
SET search_path = pg_catalog;

-- the plan: one remote query per partition, returning partial states
EXPLAIN (VERBOSE, COSTS OFF)
SELECT g, count(*), count(v), sum(v), sum(i), sum(s), min(v), max(i), avg(v), avg(i),
       count(*) FILTER (WHERE a = 'REJECT')
FROM pd.p WHERE i > -2147483000 OR i IS NULL GROUP BY g;

-- exactness: every aggregate, pushed and local, compared row for row
CREATE TEMP TABLE pushed AS
SELECT g, count(*) AS n, count(v) AS nv, sum(v) AS sv, sum(i) AS si, sum(s) AS ss,
       min(v) AS minv, max(v) AS maxv, min(i) AS mini, max(s) AS maxs,
       avg(v) AS av, avg(i) AS ai, avg(s) AS as_,
       count(*) FILTER (WHERE a = 'REJECT') AS rej, sum(v) FILTER (WHERE t = 'x1') AS sx1,
       count(t) AS nt, sum(v::numeric / 7) AS snum, stddev(i) AS sdi, var_pop(v) AS vpv,
       vpcflow.approx_distinct(i) AS hi, vpcflow.reject_rate(a) AS rr
FROM pd.p GROUP BY g;
CREATE TEMP TABLE reference AS
SELECT g, count(*) AS n, count(v) AS nv, sum(v) AS sv, sum(i) AS si, sum(s) AS ss,
       min(v) AS minv, max(v) AS maxv, min(i) AS mini, max(s) AS maxs,
       avg(v) AS av, avg(i) AS ai, avg(s) AS as_,
       count(*) FILTER (WHERE a = 'REJECT') AS rej, sum(v) FILTER (WHERE t = 'x1') AS sx1,
       count(t) AS nt, sum(v::numeric / 7) AS snum, stddev(i) AS sdi, var_pop(v) AS vpv,
       vpcflow.approx_distinct(i) AS hi, vpcflow.reject_rate(a) AS rr
FROM pd.l GROUP BY g;
SELECT count(*) AS groups FROM pushed;
(SELECT * FROM pushed EXCEPT SELECT * FROM reference)
UNION ALL
(SELECT * FROM reference EXCEPT SELECT * FROM pushed);
SELECT g, n, sv, si, av, hi, rr FROM pushed ORDER BY g NULLS FIRST;
-- the plan of that query: every aggregate above has a remote partial form
EXPLAIN (COSTS OFF)
SELECT g, count(*), count(v), sum(v), sum(i), sum(s), min(v), max(v), min(i), max(s),
       avg(v), avg(i), avg(s), count(*) FILTER (WHERE a = 'REJECT'), sum(v) FILTER (WHERE t = 'x1'),
       count(t), sum(v::numeric / 7), stddev(i), var_pop(v),
       vpcflow.approx_distinct(i), vpcflow.reject_rate(a)
FROM pd.p WHERE k IN (1, 2) GROUP BY g;

-- GROUP BY without aggregates, and min/max of text: the same keys and values
(SELECT g, min(t), max(t) FROM pd.p GROUP BY g EXCEPT SELECT g, min(t), max(t) FROM pd.l GROUP BY g)
UNION ALL
(SELECT g, min(t), max(t) FROM pd.l GROUP BY g EXCEPT SELECT g, min(t), max(t) FROM pd.p GROUP BY g);
SELECT count(*) FROM (SELECT t FROM pd.p GROUP BY t) x;
EXPLAIN (VERBOSE, COSTS OFF) SELECT t FROM pd.p WHERE k IN (1, 2) GROUP BY t;
-- a collation other than the default stays local
EXPLAIN (COSTS OFF) SELECT g, min(t COLLATE "C") FROM pd.p WHERE k IN (1, 2) GROUP BY g;

-- vpcflow's mergeable states: a top-k sketch per partition, merged here
EXPLAIN (VERBOSE, COSTS OFF) SELECT vpcflow.topk(t, v, 3) FROM pd.p WHERE k IN (1, 2);

-- two aggregates over the same partitions in one query, and one next to a
-- postgres_fdw scan of the same server (its requests then wait their turn):
-- the connections are shared correctly
SELECT a.g, a.n, b.n AS n2, a.n = b.n AS same
FROM (SELECT g, count(*) AS n FROM pd.p GROUP BY g) a
JOIN (SELECT g, count(*) AS n FROM pd.p WHERE k IN (1, 2) GROUP BY g) b USING (g)
ORDER BY 1;
EXPLAIN (COSTS OFF)
SELECT a.g, a.n, b.n AS n2, a.n = b.n AS same
FROM (SELECT g, count(*) AS n FROM pd.p GROUP BY g) a
JOIN (SELECT g, count(*) AS n FROM pd.p WHERE k IN (1, 2) GROUP BY g) b USING (g)
ORDER BY 1;
SELECT g, count(*), (SELECT count(*) FROM pd.p1) AS p1_rows
FROM pd.p GROUP BY g ORDER BY g NULLS FIRST;
EXPLAIN (COSTS OFF)
SELECT g, count(*), (SELECT count(*) FROM pd.p1) AS p1_rows
FROM pd.p GROUP BY g ORDER BY g NULLS FIRST;

-- no GROUP BY: one partial row per partition, the empty one included
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*), sum(v), max(v) FROM pd.p;
SELECT count(*), sum(v), max(v), avg(i) FROM pd.p;
SELECT count(*), sum(v), max(v), avg(i) FROM pd.l;
-- only the empty partition: count 0, NULL sums, as locally
SELECT count(*), count(v), sum(v), max(i), avg(v) FROM pd.p WHERE k = 3;

-- what must stay local (no Custom Scan): a volatile condition, a stable
-- function, an aggregate without a remote partial form
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM pd.p WHERE random() < 2 GROUP BY g;
EXPLAIN (COSTS OFF) SELECT to_char(g, '999'), count(*) FROM pd.p WHERE k IN (1, 2) GROUP BY 1;
EXPLAIN (COSTS OFF) SELECT g, string_agg(t, ',') FROM pd.p WHERE k IN (1, 2) GROUP BY g;
-- and the switch
SET vpcflow.partial_agg_pushdown = off;
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM pd.p GROUP BY g;
RESET vpcflow.partial_agg_pushdown;

-- a remote error surfaces with the remote query (here: the remote table is
-- gone), also from a request sent ahead (p2, while p1 runs); afterwards the
-- connections work again
ALTER FOREIGN TABLE pd.p2 OPTIONS (SET table_name 'no_such_table', SET use_remote_estimate 'false');
SELECT g, count(*) FROM pd.p WHERE k IN (1, 2) GROUP BY g;
ALTER FOREIGN TABLE pd.p2 OPTIONS (SET table_name 'r2', SET use_remote_estimate 'true');
SELECT count(*), sum(v) FROM pd.p;

RESET search_path;
RESET enable_partitionwise_aggregate;
DROP SCHEMA pd CASCADE;
DROP SERVER pd_loop CASCADE;
DROP SERVER pd_loop2 CASCADE;
DROP EXTENSION postgres_fdw;
