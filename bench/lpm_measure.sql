-- bench/lpm.sh: lookups (psql variable: slow = probes for the slow methods).
CREATE TABLE bench_probe_slow AS SELECT * FROM bench_probe LIMIT :slow;
CREATE TABLE bench_probe_arr AS SELECT array_agg(a) AS addrs FROM bench_probe;
-- warm the caches
SELECT count(*) FROM bench_probe;
SELECT count(*) FROM pfx_inet_spgist WHERE p >>= '10.0.0.1'::inet;

-- the in-memory lookups take a fraction of a second, so one run is at the
-- mercy of whatever else the machine does: record the best of three
CREATE FUNCTION bench_record_best(name text, ops bigint, q text, runs int DEFAULT 3) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_results (name, ops, secs)
    SELECT name || ' (best of ' || runs || ')', ops, min(bench_time(q)) FROM generate_series(1, runs) $$;

-- vpcflow: the first call builds the compiled table
SELECT bench_record('vpcflow: compile the set (first lookup in a backend)', 1,
    $q$SELECT vpcflow.lpm_id('big', '10.0.0.1', now())$q$);
SELECT bench_record_best('vpcflow.lpm_id per row (1 core)', (SELECT count(*) FROM bench_probe),
    $q$SELECT count(vpcflow.lpm_id('big', a, t)) FROM bench_probe$q$);
SELECT bench_record_best('vpcflow.lpm_ids on an array (1 core)', (SELECT count(*) FROM bench_probe),
    $q$SELECT cardinality(vpcflow.lpm_ids('big', addrs, ARRAY[now()])) FROM bench_probe_arr$q$);
SELECT bench_record('scan of the probe table alone (for reference)', (SELECT count(*) FROM bench_probe),
    $q$SELECT count(a) FROM bench_probe$q$);

-- the built-in way: most specific containing prefix through an index
SELECT bench_record('inet SP-GiST: ORDER BY masklen DESC LIMIT 1', :slow,
    $q$SELECT count(m) FROM bench_probe_slow b, LATERAL (SELECT p AS m FROM pfx_inet_spgist x
       WHERE x.p >>= b.a ORDER BY masklen(x.p) DESC LIMIT 1) l$q$);
SELECT bench_record('inet GiST inet_ops: ORDER BY masklen DESC LIMIT 1', :slow,
    $q$SELECT count(m) FROM bench_probe_slow b, LATERAL (SELECT p AS m FROM pfx_inet_gist x
       WHERE x.p >>= b.a ORDER BY masklen(x.p) DESC LIMIT 1) l$q$);
SELECT bench_record('ip4r iprange GiST: ORDER BY @ r LIMIT 1', :slow,
    $q$SELECT count(m) FROM bench_probe_slow b, LATERAL (SELECT r AS m FROM pfx_ip4r x
       WHERE x.r >>= host(b.a)::ipaddress::iprange ORDER BY @ x.r LIMIT 1) l$q$);
SELECT bench_record('vpcflow.ipprefix SP-GiST: ORDER BY masklen DESC LIMIT 1', :slow,
    $q$SELECT count(m) FROM bench_probe_slow b, LATERAL (SELECT p AS m FROM pfx_ipprefix x
       WHERE x.p OPERATOR(vpcflow.>>=) b.a ORDER BY vpcflow.masklen(x.p) DESC LIMIT 1) l$q$);

-- containment probes: every prefix containing the address
SELECT bench_record('containment probes: vpcflow.ipprefix SP-GiST', :slow,
    $q$SELECT sum(n) FROM bench_probe_slow b, LATERAL (SELECT count(*) AS n FROM pfx_ipprefix x
       WHERE x.p OPERATOR(vpcflow.>>=) b.a) l$q$);
SELECT bench_record('containment probes: inet SP-GiST', :slow,
    $q$SELECT sum(n) FROM bench_probe_slow b, LATERAL (SELECT count(*) AS n FROM pfx_inet_spgist x
       WHERE x.p >>= b.a) l$q$);

-- agreement on the slow probes: lpm_id against GiST inet_ops's answer (and
-- against inet SP-GiST's: on PostgreSQL 15.20 it misses IPv6 containers)
SELECT count(*) FILTER (WHERE v IS DISTINCT FROM g) AS lpm_vs_gist,
       count(*) FILTER (WHERE v IS DISTINCT FROM s) AS lpm_vs_spgist
FROM (SELECT (SELECT p.prefix::inet FROM vpcflow.prefixes p WHERE p.id = vpcflow.lpm_id('big', b.a, b.t)) AS v,
             (SELECT x.p FROM pfx_inet_gist x WHERE x.p >>= b.a ORDER BY masklen(x.p) DESC LIMIT 1) AS g,
             (SELECT x.p FROM pfx_inet_spgist x WHERE x.p >>= b.a ORDER BY masklen(x.p) DESC LIMIT 1) AS s
      FROM bench_probe_slow b) s \gset
INSERT INTO bench_results (name, ops, secs) VALUES
    ('check: lpm_id answers differing from GiST inet_ops (must be 0)', :lpm_vs_gist, 0),
    ('check: lpm_id answers differing from inet SP-GiST (its IPv6 misses)', :lpm_vs_spgist, 0);
SELECT (SELECT sum(n) FROM bench_probe_slow b, LATERAL (SELECT count(*) AS n FROM pfx_ipprefix x
            WHERE x.p OPERATOR(vpcflow.>>=) b.a) l)
     - (SELECT sum(n) FROM bench_probe_slow b, LATERAL (SELECT count(*) AS n FROM pfx_inet_gist x
            WHERE x.p >>= b.a) l) AS contain_diff \gset
INSERT INTO bench_results (name, ops, secs) VALUES
    ('check: ipprefix SP-GiST containment rows minus GiST inet_ops rows (must be 0)', :contain_diff, 0);
