-- pgTAP: bulk loads (vpcflow.begin_bulk_load / end_bulk_load, store_writer.c).
-- Between the two, a partition that a load creates stays unattached and the
-- next loads of the transaction fill it; end_bulk_load attaches it with its
-- indexes.  A file rolled back to its savepoint takes the partition it made
-- with it.  Days far from any other test's data; everything is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(14);

-- one v2 file of n records on day d (1990-01-0d), srcport from p
CREATE FUNCTION pg_temp.day_file(d integer, n integer, p integer) RETURNS bytea
LANGUAGE sql AS $$
    SELECT convert_to('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status' || E'\n' ||
        string_agg(format('2 123456789012 eni-0a1b2c3d4e5f60718 10.0.%s.%s 10.9.0.%s %s 443 6 1 40 %s %s ACCEPT OK',
                          i % 7, i % 200, i % 50, p + i,
                          extract(epoch FROM make_date(1990, 1, d))::bigint + i * 10,
                          extract(epoch FROM make_date(1990, 1, d))::bigint + i * 10 + 5), E'\n') || E'\n', 'UTF8')
    FROM generate_series(1, n) i
$$;

CREATE TEMP TABLE before AS SELECT count(*) AS n FROM vpcflow.partitions;

SELECT lives_ok($$SELECT vpcflow.begin_bulk_load()$$, 'begin_bulk_load in a transaction block');
SELECT is((SELECT rows FROM vpcflow.ingest_data('bulk-a.log', pg_temp.day_file(1, 300, 1000))), 300::bigint,
          'first file of a new day loads');
SELECT is((SELECT rows FROM vpcflow.ingest_data('bulk-b.log', pg_temp.day_file(1, 200, 5000))), 200::bigint,
          'second file of the same day loads');
SELECT is((SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = 'vpcflow'::regnamespace
           AND relname = 'flows_p19900101' AND relkind = 'r' AND NOT relispartition), 1::bigint,
          'during the bulk load the new day is one unattached table');
SELECT is((SELECT count(*) FROM vpcflow.flows_p19900101), 500::bigint,
          'both files filled that table');
SELECT is((SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = 'vpcflow.flows_p19900101'::regclass), 0::bigint,
          'and it has no indexes yet');

-- a file that fails rolls back to its savepoint, with the day it created
SAVEPOINT f;
SELECT lives_ok($$SELECT vpcflow.ingest_data('bulk-c.log', pg_temp.day_file(2, 10, 100))$$, 'a file of another day');
ROLLBACK TO SAVEPOINT f;
RELEASE SAVEPOINT f;

-- (throws_ok runs its statement in a subtransaction)
SELECT throws_ok($$SELECT vpcflow.end_bulk_load()$$, '25001', NULL,
                 'end_bulk_load refuses to run under a savepoint');
SELECT is(vpcflow.end_bulk_load(), 1, 'end_bulk_load attaches the one partition left');
SELECT is((SELECT count(*) FROM vpcflow.partitions) - (SELECT n FROM before), 1::bigint,
          'the day is attached, the rolled-back one is gone');
SELECT is((SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = 'vpcflow.flows_p19900101'::regclass), 3::bigint,
          'attaching built its three indexes');
SELECT is((SELECT count(*) || '/' || count(DISTINCT ingest_id) FROM vpcflow.flows
           WHERE start_time >= '1990-01-01' AND start_time < '1990-01-02'), '500/2',
          'the rows of both files, each with its file''s ingest_id');
-- after the bulk load, loads attach what they create themselves again
SELECT is((SELECT rows FROM vpcflow.ingest_data('bulk-d.log', pg_temp.day_file(3, 5, 100))), 5::bigint,
          'a later load in the transaction');
SELECT is((SELECT count(*) FROM vpcflow.partitions) - (SELECT n FROM before), 2::bigint,
          'attaches the day it created at its end');
SELECT * FROM finish();
ROLLBACK;
