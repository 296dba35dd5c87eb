--
-- Longest-prefix match: a hand-made set with time windows, then random
-- sets (v4 and v6, nested prefixes, /0, /32, /128, overlapping windows)
-- against the brute-force reference in SQL.
--
SET search_path = vpcflow, public;
SET client_min_messages = warning;
SET TimeZone = 'UTC';

INSERT INTO prefixes (set_name, prefix, owner, valid_from, valid_to) VALUES
    ('corp', '0.0.0.0/0', 'world', '-infinity', 'infinity'),
    ('corp', '10.0.0.0/8', 'corp', '-infinity', 'infinity'),
    ('corp', '10.1.0.0/16', 'team-a', '2024-01-01', '2024-06-01'),
    ('corp', '10.1.0.0/16', 'team-b', '2024-06-01', 'infinity'),
    ('corp', '10.1.2.3/32', 'db-1', '2024-03-01', '2024-04-01'),
    ('corp', '2001:db8::/32', 'v6-corp', '-infinity', 'infinity'),
    ('corp', '2001:db8::1/128', 'v6-host', '-infinity', 'infinity');

SELECT a AS addr, t AS at, lpm_attr('corp', a, t, 'owner') AS owner
FROM (VALUES ('10.1.2.3'::inet), ('10.1.9.9'), ('10.2.0.1'), ('192.0.2.1'), ('2001:db8::1'),
             ('2001:db8::2'), ('2001:db9::1')) v(a),
     (VALUES ('2023-12-01'::timestamptz), ('2024-03-15'), ('2024-07-01')) w(t)
ORDER BY a, t;

SELECT (lpm('corp', '10.1.2.3', '2024-03-15')).owner;
SELECT lpm_id('corp', '10.1.2.3', NULL) IS NULL AS null_time_null_answer;
SELECT lpm_id('nosuchset', '10.1.2.3') IS NULL AS unknown_set_is_empty;
SELECT lpm_ids('corp', '{10.1.2.3,192.0.2.1,NULL,2001:db9::1}', '{2024-03-15}') =
       ARRAY[(SELECT id FROM prefixes WHERE owner = 'db-1'), (SELECT id FROM prefixes WHERE owner = 'world'),
             NULL, NULL] AS batch_ok;
SELECT lpm_attr('corp', '10.1.2.3', now(), 'colour');

-- updates are seen at once, in this backend
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');
UPDATE prefixes SET owner = 'corp-renamed' WHERE set_name = 'corp' AND owner = 'corp';
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');
DELETE FROM prefixes WHERE set_name = 'corp' AND owner = 'corp-renamed';
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');
BEGIN;
INSERT INTO prefixes (set_name, prefix, owner) VALUES ('corp', '10.2.0.0/16', 'in-tx');
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');
ROLLBACK;
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');
TRUNCATE prefixes;
SELECT lpm_attr('corp', '10.2.0.1', now(), 'owner');

-- random sets against the brute-force reference
SELECT setseed(0.3);
CREATE TEMP TABLE base_addr AS
SELECT CASE WHEN random() < 0.35
            THEN ('2001:db8:' || to_hex((random() * 3)::int) || ':' || to_hex((random() * 3)::int) ||
                  '::' || to_hex((random() * 65535)::int))::inet
            ELSE ('10.' || (random() * 3)::int || '.' || (random() * 3)::int || '.' ||
                  (random() * 255)::int)::inet END AS a
FROM generate_series(1, 400);

-- prefixes of random lengths over those addresses (so they nest), with
-- /0, /32 and /128 among them, and random, overlapping validity windows
INSERT INTO prefixes (set_name, prefix, valid_from, valid_to)
SELECT 'rnd' || (g % 4), network(set_masklen(a, len))::ipprefix,
       CASE WHEN w THEN '-infinity' ELSE f END,
       CASE WHEN w THEN 'infinity' ELSE f + d END
FROM (SELECT g, a,
             CASE (random() * 5)::int WHEN 0 THEN 0 WHEN 1 THEN (CASE WHEN family(a) = 4 THEN 32 ELSE 128 END)
                  ELSE (random() * (CASE WHEN family(a) = 4 THEN 32 ELSE 128 END))::int END AS len,
             random() < 0.3 AS w,
             timestamptz '2024-01-01' + (random() * 20)::int * interval '1 day' AS f,
             (1 + (random() * 10)::int) * interval '1 day' AS d
      FROM generate_series(1, 2000) g,
           LATERAL (SELECT a FROM base_addr ORDER BY random() + g * 0 LIMIT 1) b) x;

CREATE TEMP TABLE probes AS
SELECT 'rnd' || (g % 4) AS set_name,
       CASE WHEN random() < 0.5 THEN a
            WHEN family(a) = 4 THEN a + (random() * 300)::int ELSE a + (random() * 65536)::int END AS addr,
       timestamptz '2023-12-25' + (random() * 40)::int * interval '1 day'
           + (random() * 3)::int * interval '8 hours' AS at
FROM generate_series(1, 3000) g,
     LATERAL (SELECT a FROM base_addr ORDER BY random() + g * 0 LIMIT 1) b;

-- the reference: longest prefix, then latest valid_from, then smallest id
SELECT count(*) AS probes,
       count(*) FILTER (WHERE got IS NOT NULL) AS matched,
       count(*) FILTER (WHERE got IS DISTINCT FROM want) AS mismatches
FROM (SELECT vpcflow.lpm_id(p.set_name, p.addr, p.at) AS got,
             (SELECT x.id FROM prefixes x
              WHERE x.set_name = p.set_name AND x.prefix >>= p.addr
                AND x.valid_from <= p.at AND p.at < x.valid_to
              ORDER BY masklen(x.prefix) DESC, x.valid_from DESC, x.id LIMIT 1) AS want
      FROM probes p) r;

-- the batch form agrees
SELECT bool_and(b.ids = r.ids) AS batch_agrees
FROM (SELECT set_name, lpm_ids(set_name, array_agg(addr ORDER BY addr, at), array_agg(at ORDER BY addr, at)) AS ids,
             array_agg(lpm_id(set_name, addr, at) ORDER BY addr, at) AS ids2
      FROM probes GROUP BY set_name) b,
     LATERAL (SELECT b.ids2 AS ids) r;

-- after random updates and deletes, still no mismatch
UPDATE prefixes SET valid_to = valid_from + interval '1 day'
WHERE id % 7 = 0 AND valid_from > '-infinity';
DELETE FROM prefixes WHERE id % 11 = 0;
SELECT count(*) FILTER (WHERE got IS DISTINCT FROM want) AS mismatches_after_update
FROM (SELECT vpcflow.lpm_id(p.set_name, p.addr, p.at) AS got,
             (SELECT x.id FROM prefixes x
              WHERE x.set_name = p.set_name AND x.prefix >>= p.addr
                AND x.valid_from <= p.at AND p.at < x.valid_to
              ORDER BY masklen(x.prefix) DESC, x.valid_from DESC, x.id LIMIT 1) AS want
      FROM probes p) r;

SELECT set_name, entries > 0 AS built, builds >= 1 AS has_builds FROM lpm_cache() WHERE set_name LIKE 'rnd%' ORDER BY 1;
TRUNCATE prefixes;
