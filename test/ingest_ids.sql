-- pgTAP: every resource id of a row is stored as written, also when two ids
-- of the same row share a slot of the per-backend id-encoding cache
-- (awsid.c, direct-mapped on hash_bytes(id) % 1024, the hash hashtext()
-- uses).  Hand-picked ids, one input for ingest and one for parse, each:
--   row 1: the account and the interface share a slot
--   row 2: the interface and the subnet share a slot
-- and the ids after each pair (vpc-, i-) are used nowhere else, so
-- encoding them allocates.  Once, the second id of a pair evicted the first
-- one's cache entry and freed the encoding the row still pointed to; the
-- next allocation reused it, and the account (interface) was stored as the
-- vpc (instance) id.  vpcflow.parse shares the conversion and had the same
-- bug.  Everything is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(7);

CREATE FUNCTION pg_temp.slot(id text) RETURNS integer
LANGUAGE sql AS $$ SELECT ((hashtext(id)::bigint & 4294967295) % 1024)::integer $$;

-- ids per row: account interface vpc subnet instance
CREATE TEMP TABLE ids (input text, srcport integer, account_id text, interface_id text,
                       vpc_id text, subnet_id text, instance_id text);
INSERT INTO ids VALUES
    ('ingest', 40001, '100000003203', 'eni-0a1b2c3d4e5f60718', 'vpc-0c0000000000000a1', 'subnet-0e0000000000000c1', 'i-0d0000000000000b1'),
    ('ingest', 40002, '200000000001', 'eni-0b1b2c3d4e5f60718', 'vpc-0c0000000000000a2', 'subnet-00000000000000334', 'i-0d0000000000000b2'),
    ('parse',  40003, '300000000564', 'eni-0f1b2c3d4e5f60718', 'vpc-0c0000000000000a3', 'subnet-0e0000000000000c3', 'i-0d0000000000000b3'),
    ('parse',  40004, '400000000001', 'eni-0e1b2c3d4e5f60718', 'vpc-0c0000000000000a4', 'subnet-10000000000000595', 'i-0d0000000000000b4');

-- A v3 flow log of one input's rows.
CREATE FUNCTION pg_temp.flowlog(which text) RETURNS text
LANGUAGE sql AS $$
    SELECT 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id' || E'\n' ||
        string_agg(format('3 %s %s 10.0.0.1 10.0.0.2 %s 443 6 1 40 1714521600 1714521660 ACCEPT OK %s %s %s',
                          account_id, interface_id, srcport, vpc_id, subnet_id, instance_id), E'\n' ORDER BY srcport) || E'\n'
    FROM ids WHERE input = which
$$;

-- the premise: the pairs do collide (if the cache's hash or size change,
-- pick new ids)
SELECT is(pg_temp.slot('100000003203'), pg_temp.slot('eni-0a1b2c3d4e5f60718'),
    'premise: ingest row 1, account and interface share a cache slot');
SELECT is(pg_temp.slot('eni-0b1b2c3d4e5f60718'), pg_temp.slot('subnet-00000000000000334'),
    'premise: ingest row 2, interface and subnet share a cache slot');
SELECT is(pg_temp.slot('300000000564'), pg_temp.slot('eni-0f1b2c3d4e5f60718'),
    'premise: parse row 1, account and interface share a cache slot');
SELECT is(pg_temp.slot('eni-0e1b2c3d4e5f60718'), pg_temp.slot('subnet-10000000000000595'),
    'premise: parse row 2, interface and subnet share a cache slot');

SELECT is((SELECT rows FROM vpcflow.ingest_data('ingest_ids.log', convert_to(pg_temp.flowlog('ingest'), 'UTF8'))),
    2::bigint, 'ingest_data: both rows stored');

SELECT results_eq(
    $$SELECT srcport, account_id::text, interface_id::text, vpc_id::text, subnet_id::text, instance_id::text
      FROM vpcflow.flows WHERE start_time = to_timestamp(1714521600) AND srcport IN (40001, 40002)
      ORDER BY srcport$$,
    $$SELECT srcport, account_id, interface_id, vpc_id, subnet_id, instance_id
      FROM ids WHERE input = 'ingest' ORDER BY srcport$$,
    'ingest_data: ids sharing a cache slot within a row are stored as written');

SELECT results_eq(
    $$SELECT srcport, account_id::text, interface_id::text, vpc_id::text, subnet_id::text, instance_id::text
      FROM vpcflow.parse(pg_temp.flowlog('parse')) ORDER BY srcport$$,
    $$SELECT srcport, account_id, interface_id, vpc_id, subnet_id, instance_id
      FROM ids WHERE input = 'parse' ORDER BY srcport$$,
    'parse: ids sharing a cache slot within a row come back as written');

SELECT * FROM finish();
ROLLBACK;
