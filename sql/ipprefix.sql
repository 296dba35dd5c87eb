--
-- vpcflow.ipprefix: input and output, casts, operators, hash, SP-GiST index
--
SET search_path = vpcflow, public;
SET client_min_messages = warning;

-- input and output
SELECT p::ipprefix AS prefix, masklen(p::ipprefix), family(p::ipprefix)
FROM (VALUES ('10.0.0.0/8'), ('10.1.2.3'), (' 192.168.0.0/16 '), ('0.0.0.0/0'),
             ('255.255.255.255/32'), ('2001:DB8::/32'), ('::/0'), ('::1'),
             ('::ffff:10.0.0.1/128'), ('fe80::/10')) v(p);

-- invalid text gets a clear error
SELECT '10.0.0.1/8'::ipprefix;
SELECT '2001:db8::1/32'::ipprefix;
SELECT '10.0.0.0/33'::ipprefix;
SELECT '10.0.0.0/'::ipprefix;
SELECT '10.0.0/24'::ipprefix;
SELECT 'not-an-address'::ipprefix;
SELECT ''::ipprefix;

-- casts to and from inet, cidr and text
SELECT inet '10.1.2.3'::ipprefix, cidr '10.0.0.0/8'::ipprefix, network(inet '10.1.2.3/24')::ipprefix;
SELECT inet '10.1.2.3/24'::ipprefix;
SELECT ipprefix '10.0.0.0/8'::inet, ipprefix '10.0.0.0/8'::cidr, ipprefix '2001:db8::/32'::text,
       text '10.0.0.0/8'::ipprefix;
-- inet's functions through the implicit cast
SELECT host(ipprefix '10.0.0.0/8'), broadcast(ipprefix '10.0.0.0/8'), pg_typeof(ipprefix '10.0.0.0/8'::inet);

-- containment, overlap, equality, order
SELECT a, b, a >> b AS sup, a >>= b AS supeq, a << b AS sub, a <<= b AS subeq, a && b AS overlap,
       a = b AS eq, a < b AS lt, ipprefix_cmp(a, b) AS cmp
FROM (VALUES ('10.0.0.0/8'::ipprefix, '10.1.0.0/16'::ipprefix),
             ('10.1.0.0/16', '10.0.0.0/8'),
             ('10.0.0.0/8', '10.0.0.0/8'),
             ('10.0.0.0/8', '11.0.0.0/8'),
             ('0.0.0.0/0', '255.255.255.255/32'),
             ('0.0.0.0/0', '::/0'),
             ('2001:db8::/32', '2001:db8:1::/48')) v(a, b);

-- against inet, no cast needed
SELECT ipprefix '10.0.0.0/8' >>= inet '10.1.2.3' AS a, inet '10.1.2.3' <<= ipprefix '10.0.0.0/8' AS b,
       ipprefix '10.0.0.0/8' >> inet '10.0.0.0/8' AS c, inet '11.1.2.3' << ipprefix '10.0.0.0/8' AS d,
       ipprefix '10.0.0.0/8' >>= '10.200.0.1' AS e;

-- sort order: a prefix just before what it contains, IPv4 before IPv6
SELECT p FROM unnest('{10.1.0.0/16,::/0,10.0.0.0/8,9.0.0.0/8,10.0.0.0/16,2001:db8::/32,0.0.0.0/0}'::ipprefix[]) p
ORDER BY p;

-- hashing: stable values (part of the on-disk contract: hash partitions)
SELECT ipprefix_hash('10.0.0.0/8'), ipprefix_hash_extended('10.0.0.0/8', 0),
       ipprefix_hash_extended('10.0.0.0/8', 1), ipprefix_hash('2001:db8::/32');
SELECT (ipprefix_hash(p)::int8 & 4294967295) = (ipprefix_hash_extended(p, 0) & 4294967295) AS low_bits_agree
FROM (VALUES ('10.0.0.0/8'::ipprefix), ('::/0')) v(p);
CREATE TEMP TABLE hp (p ipprefix) PARTITION BY HASH (p);
CREATE TEMP TABLE hp0 PARTITION OF hp FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TEMP TABLE hp1 PARTITION OF hp FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO hp VALUES ('10.0.0.0/8'), ('10.1.0.0/16'), ('2001:db8::/32'), ('0.0.0.0/0');
SELECT tableoid::regclass, p FROM hp ORDER BY p;
SELECT count(DISTINCT p) FROM (VALUES ('10.0.0.0/8'::ipprefix), ('10.0.0.0/8'), ('10.0.0.0/9')) v(p);

-- the SP-GiST index serves containment searches
CREATE TEMP TABLE pfx AS
SELECT i AS id, network(set_masklen(('10.' || (i % 256) || '.' || (i / 256 % 256) || '.0')::inet,
                                     8 + i % 17))::ipprefix AS p
FROM generate_series(1, 5000) i
UNION ALL SELECT 0, '0.0.0.0/0' UNION ALL SELECT -1, '2001:db8::/32';
CREATE INDEX pfx_p ON pfx USING spgist (p);
ANALYZE pfx;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM pfx WHERE p >>= inet '10.1.2.3';
EXPLAIN (COSTS OFF) SELECT * FROM pfx WHERE inet '10.1.2.3' <<= p;
EXPLAIN (COSTS OFF) SELECT * FROM pfx WHERE p << ipprefix '10.1.0.0/16';
EXPLAIN (COSTS OFF) SELECT * FROM pfx WHERE p && ipprefix '10.1.0.0/16';
CREATE TEMP TABLE with_index AS
SELECT (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p >>= inet '10.1.2.3') AS a,
       (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p << ipprefix '10.1.0.0/16') AS b,
       (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p && ipprefix '10.1.0.0/16') AS c,
       (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p = ipprefix '10.1.0.0/16') AS d,
       (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p >>= inet '2001:db8::1') AS e;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT w.a = s.a AND w.b = s.b AND w.c = s.c AND w.d = s.d AND w.e = s.e AS index_agrees,
       cardinality(s.a) AS n_a, cardinality(s.b) AS n_b, cardinality(s.c) AS n_c
FROM with_index w,
     (SELECT (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p >>= inet '10.1.2.3') AS a,
             (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p << ipprefix '10.1.0.0/16') AS b,
             (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p && ipprefix '10.1.0.0/16') AS c,
             (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p = ipprefix '10.1.0.0/16') AS d,
             (SELECT array_agg(id ORDER BY id) FROM pfx WHERE p >>= inet '2001:db8::1') AS e) s;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- the store's address columns: prefix search through their btree (Q5)
BEGIN;
SELECT ensure_partitions('2024-01-01', '2024-01-02');
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM vpcflow.flows
WHERE dstaddr << inet '10.3.0.0/16' AND start_time >= '2024-01-01 10:00+00' AND start_time < '2024-01-01 11:00+00';
ROLLBACK;
