-- pgTAP: vpcflow.ipprefix, the type and its index support.
BEGIN;
SET LOCAL search_path = vpcflow, public;
SET LOCAL client_min_messages = warning;

SELECT plan(16);

SELECT has_type('vpcflow', 'ipprefix', 'type vpcflow.ipprefix exists');
SELECT is((SELECT typlen FROM pg_type WHERE oid = 'vpcflow.ipprefix'::regtype), 18::int2,
    'ipprefix is fixed width, 18 bytes');
SELECT ok(EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'inet'::regtype AND casttarget = 'vpcflow.ipprefix'::regtype), 'cast inet -> ipprefix');
SELECT ok(EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'cidr'::regtype AND casttarget = 'vpcflow.ipprefix'::regtype), 'cast cidr -> ipprefix');
SELECT ok(EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'vpcflow.ipprefix'::regtype AND casttarget = 'inet'::regtype), 'cast ipprefix -> inet');
SELECT ok(EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'vpcflow.ipprefix'::regtype AND casttarget = 'cidr'::regtype), 'cast ipprefix -> cidr');
SELECT is('10.1.2.3'::inet::ipprefix::text, '10.1.2.3/32', 'a host address becomes a /32');
SELECT is('2001:db8::1'::inet::ipprefix::text, '2001:db8::1/128', 'an IPv6 host address becomes a /128');

SELECT throws_ok($$SELECT '10.0.0.1/8'::vpcflow.ipprefix$$, '22P02',
    'invalid input syntax for type vpcflow.ipprefix: "10.0.0.1/8"',
    'host bits set: a clear error');
SELECT throws_ok($$SELECT 'banana'::vpcflow.ipprefix$$, '22P02',
    'invalid input syntax for type vpcflow.ipprefix: "banana"',
    'not an address: a clear error');

SELECT ok('10.0.0.0/8'::ipprefix >>= '10.9.9.9'::inet AND '10.9.9.9'::inet <<= '10.0.0.0/8'::ipprefix,
    'containment against inet needs no cast');
SELECT is(ipprefix_hash('10.0.0.0/8'), 596901361, 'the hash is a fixed function of the value');

CREATE TEMP TABLE tap_pfx AS
SELECT network(set_masklen(('10.' || (i % 256) || '.' || (i / 256 % 256) || '.0')::inet, 8 + i % 17))::ipprefix AS p
FROM generate_series(1, 3000) i;
CREATE INDEX ON tap_pfx USING spgist (p);
ANALYZE tap_pfx;
SET LOCAL enable_seqscan = off;

CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; plan text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP plan := plan || r || E'\n'; END LOOP;
    RETURN plan;
END $$;

SELECT matches(pg_temp.plan_of($$SELECT * FROM tap_pfx WHERE p >>= inet '10.1.2.3'$$),
    'Index.*Scan', 'prefix >>= address uses the SP-GiST index');
SELECT matches(pg_temp.plan_of($$SELECT * FROM tap_pfx WHERE inet '10.1.2.3' <<= p$$),
    'Index.*Scan', 'address <<= prefix uses the SP-GiST index');
SELECT matches(pg_temp.plan_of($$SELECT * FROM tap_pfx WHERE p && ipprefix '10.1.0.0/16'$$),
    'Index.*Scan', 'overlap uses the SP-GiST index');
SELECT is((SELECT count(*) FROM tap_pfx WHERE p >>= inet '10.1.2.3'),
          (SELECT count(*) FROM tap_pfx WHERE p::inet >>= inet '10.1.2.3'),
    'the index finds what inet containment finds');

SELECT * FROM finish();
ROLLBACK;
