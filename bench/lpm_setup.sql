-- bench/lpm.sh: the prefix set and the probes (psql variables: prefixes, probes).
SELECT setseed(0.17);
-- 80% IPv4 (lengths 8..32, mostly 16..28), 20% IPv6 (32..64, some /128);
-- a few short covering prefixes so that probes nest several levels deep
CREATE TABLE bench_pfx AS
SELECT DISTINCT p FROM (
    SELECT CASE WHEN random() < 0.8
        THEN network(set_masklen('0.0.0.0'::inet + (random() * 4294967295)::bigint,
                                 CASE WHEN random() < 0.05 THEN 8 + (random() * 8)::int
                                      ELSE 16 + (random() * 12)::int + (random() < 0.1)::int * 4 END))
        ELSE network(set_masklen(format('2600:%s:%s:%s::%s', to_hex((random() * 4095)::int),
                                        to_hex((random() * 65535)::int), to_hex((random() * 65535)::int),
                                        to_hex((random() * 65535)::int))::inet,
                                 CASE WHEN random() < 0.1 THEN 128 ELSE 32 + (random() * 32)::int END))
        END AS p
    FROM generate_series(1, :prefixes)) s;
INSERT INTO bench_pfx VALUES ('0.0.0.0/0'), ('::/0');

-- vpcflow: set 'big' (ALTER TABLE ... DISABLE TRIGGER is not needed: the
-- statement trigger runs once)
INSERT INTO vpcflow.prefixes (set_name, prefix, owner)
SELECT 'big', p::vpcflow.ipprefix, 'owner-' || (row_number() OVER ()) % 1000 FROM bench_pfx;
CREATE TABLE pfx_ipprefix AS SELECT p::vpcflow.ipprefix AS p FROM bench_pfx;
CREATE TABLE pfx_inet_spgist AS SELECT p::inet AS p FROM bench_pfx;
CREATE TABLE pfx_inet_gist AS SELECT p::inet AS p FROM bench_pfx;
CREATE TABLE pfx_ip4r AS SELECT p::text::iprange AS r FROM bench_pfx;

-- probes: addresses inside random prefixes (host part random), 80% / 20%
CREATE TABLE bench_probe AS
SELECT CASE WHEN family(p) = 4
            THEN p + (random() * (2 ^ (32 - masklen(p)) - 1))::bigint
            ELSE p + (random() * least(2 ^ (128 - masklen(p)) - 1, 2 ^ 48))::bigint END AS a,
       now() AS t
FROM (SELECT p FROM bench_pfx,
             generate_series(1, ceil(:probes::numeric / (SELECT count(*) FROM bench_pfx))::int)
      ORDER BY random() LIMIT :probes) s;
UPDATE bench_probe SET a = set_masklen(a, CASE WHEN family(a) = 4 THEN 32 ELSE 128 END);

CREATE TABLE bench_results (seq serial, name text, ops bigint, secs float8);
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
CREATE FUNCTION bench_record(name text, ops bigint, q text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bench_results (name, ops, secs) VALUES (name, ops, bench_time(q)) $$;

-- index builds (timed: part of the comparison)
SELECT bench_record('index build: vpcflow.ipprefix SP-GiST', (SELECT count(*) FROM bench_pfx),
    'CREATE INDEX ON pfx_ipprefix USING spgist (p)');
SELECT bench_record('index build: inet SP-GiST', (SELECT count(*) FROM bench_pfx),
    'CREATE INDEX ON pfx_inet_spgist USING spgist (p)');
SELECT bench_record('index build: inet GiST inet_ops', (SELECT count(*) FROM bench_pfx),
    'CREATE INDEX ON pfx_inet_gist USING gist (p inet_ops)');
SELECT bench_record('index build: ip4r iprange GiST', (SELECT count(*) FROM bench_pfx),
    'CREATE INDEX ON pfx_ip4r USING gist (r)');
VACUUM ANALYZE;
