-- pgTAP: backfill (vpcflow.begin_bulk_load(backfill => true), partition_for
-- (backfill => true), create_warm_partition; docs/bulk_load.md, Backfill).
-- A day the load creates that is already past hot_window is made warm at
-- once: its rows go to the day's side table (no index) and fold_partition
-- turns them into blocks later.  The same rows must come back as from the
-- parser, before and after the fold.  Days far from any other test's data;
-- everything is rolled back.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(28);

-- one v2 file of n records on day d of February 1991, srcport from p;
-- a NODATA record too, whose addresses and counters are NULL
CREATE FUNCTION pg_temp.day_text(y integer, d integer, n integer, p integer) RETURNS text
LANGUAGE sql AS $$
    SELECT 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status' || E'\n' ||
        string_agg(format('2 123456789012 eni-0a1b2c3d4e5f60718 10.0.%s.%s 2001:db8::%s %s 443 6 %s %s %s %s %s OK',
                          i % 7, i % 200, i % 50, p + i, i % 9 + 1, (i % 9 + 1) * 40,
                          extract(epoch FROM make_date(y, 2, d))::bigint + i * 10,
                          extract(epoch FROM make_date(y, 2, d))::bigint + i * 10 + 5,
                          CASE WHEN i % 5 = 0 THEN 'REJECT' ELSE 'ACCEPT' END), E'\n') || E'\n' ||
        format('2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - %s %s - NODATA',
               extract(epoch FROM make_date(y, 2, d))::bigint + 7,
               extract(epoch FROM make_date(y, 2, d))::bigint + 67) || E'\n'
    FROM generate_series(1, n) i
$$;
CREATE FUNCTION pg_temp.day_file(y integer, d integer, n integer, p integer) RETURNS bytea
LANGUAGE sql AS $$ SELECT convert_to(pg_temp.day_text(y, d, n, p), 'UTF8') $$;
-- the rows of a day as the store gives them, without ingest_id, in a fixed order
CREATE FUNCTION pg_temp.stored(d date) RETURNS text
LANGUAGE sql AS $$
    SELECT md5(string_agg((to_jsonb(f) - 'ingest_id')::text, E'\n' ORDER BY (to_jsonb(f) - 'ingest_id')::text))
    FROM vpcflow.flows f WHERE f.start_time >= d AND f.start_time < d + 1
$$;
CREATE FUNCTION pg_temp.parsed(VARIADIC files text[]) RETURNS text
LANGUAGE sql AS $$
    SELECT md5(string_agg((to_jsonb(r) - 'ingest_id')::text, E'\n' ORDER BY (to_jsonb(r) - 'ingest_id')::text))
    FROM unnest(files) t, vpcflow.parse(t) r
$$;
CREATE FUNCTION pg_temp.tier(d date) RETURNS text
LANGUAGE sql AS $$
    SELECT t.tier FROM vpcflow.partition_tiers t WHERE t.lower_bound <= d AND t.upper_bound > d
$$;

CREATE TEMP TABLE before AS SELECT count(*) AS n FROM vpcflow.partitions;

SELECT lives_ok($$SELECT vpcflow.begin_bulk_load(backfill => true)$$, 'begin_bulk_load(backfill => true)');
SELECT is((SELECT rows FROM vpcflow.ingest_data('backfill-a.log', pg_temp.day_file(1991, 1, 300, 1000))), 301::bigint,
          'a file of a day long past hot_window loads (a NODATA record too)');
SELECT is(pg_temp.tier('1991-02-01'), 'warm', 'the day it created is warm from the start');
SELECT is((SELECT w.rows FROM vpcflow.warm_partitions w WHERE w.lower_bound = '1991-02-01'), 0::bigint,
          'with no rows in blocks yet');
SELECT is((SELECT count(*) FROM vpcflow.flows_p19910201_late), 301::bigint,
          'its rows, the NODATA one too, are in the day''s side table');
SELECT is((SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = 'vpcflow.flows_p19910201_late'::regclass),
          0::bigint, 'which has no index to maintain');
SELECT is((SELECT rows FROM vpcflow.ingest_data('backfill-b.log', pg_temp.day_file(1991, 1, 200, 5000))), 201::bigint,
          'a second file of the same day');
SELECT is((SELECT count(*) FROM vpcflow.partitions) - (SELECT n FROM before), 1::bigint,
          'fills the same warm day');
SELECT is((SELECT status FROM vpcflow.ingest_data('backfill-a.log', pg_temp.day_file(1991, 1, 300, 1000))),
          'duplicate', 'the same bytes again are recognised as loaded');
SELECT is((SELECT count(*) FROM vpcflow.flows WHERE start_time >= '1991-02-01' AND start_time < '1991-02-02'),
          502::bigint, 'and store nothing twice');
SELECT is(pg_temp.stored('1991-02-01'),
          pg_temp.parsed(pg_temp.day_text(1991, 1, 300, 1000), pg_temp.day_text(1991, 1, 200, 5000)),
          'vpcflow.flows gives the rows the parser reads from both files');
SELECT is((SELECT count(*) || '/' || count(DISTINCT ingest_id) FROM vpcflow.flows
           WHERE start_time >= '1991-02-01' AND start_time < '1991-02-02'), '502/2',
          'each with its file''s ingest_id');

-- a file rolled back to its savepoint takes the warm day it made with it
SAVEPOINT f;
SELECT lives_ok($$SELECT vpcflow.ingest_data('backfill-c.log', pg_temp.day_file(1991, 2, 10, 100))$$,
                'a file of another old day');
ROLLBACK TO SAVEPOINT f;
RELEASE SAVEPOINT f;
SELECT is((SELECT count(*) FROM vpcflow.warm_partitions w WHERE w.lower_bound = '1991-02-02'), 0::bigint,
          'rolled back: no warm day is left of it');
SELECT is(to_regclass('vpcflow.flows_p19910202_late'), NULL, 'nor its side table');

-- a day not past hot_window is made hot, as without backfill
SELECT is((SELECT rows FROM vpcflow.ingest_data('backfill-d.log', pg_temp.day_file(2091, 1, 20, 100))), 21::bigint,
          'a file of a day in the future');
SELECT is(vpcflow.end_bulk_load(), 1, 'end_bulk_load attaches that day only');
SELECT is(pg_temp.tier('2091-02-01'), 'hot', 'which is hot');

-- after the bulk load, a load makes an old day hot again
SELECT is((SELECT rows FROM vpcflow.ingest_data('backfill-e.log', pg_temp.day_file(1991, 3, 5, 100))), 6::bigint,
          'a later load in the transaction, without backfill');
SELECT is(pg_temp.tier('1991-02-03'), 'hot', 'makes its old day hot');

-- warm => false in the policy: backfill makes hot days
SELECT is((vpcflow.set_policy(warm => false)).warm, false, 'the policy turns the warm tier off');
SELECT lives_ok($$SELECT vpcflow.begin_bulk_load(backfill => true)$$, 'another backfill');
SELECT is((SELECT rows FROM vpcflow.ingest_data('backfill-f.log', pg_temp.day_file(1991, 4, 5, 100))), 6::bigint,
          'with warm off in the policy');
SELECT is(vpcflow.end_bulk_load(), 1, 'end_bulk_load attaches it');
SELECT is(pg_temp.tier('1991-02-04'), 'hot', 'backfill makes the old day hot');

-- folding moves the side rows into blocks; the answers do not change
SELECT is(vpcflow.fold_partition('vpcflow.flows_p19910201'), 502::bigint, 'fold_partition folds the 502 rows');
SELECT is((SELECT count(*) FROM vpcflow.flows_p19910201_late), 0::bigint, 'the side table is empty');
SELECT is(pg_temp.stored('1991-02-01'),
          pg_temp.parsed(pg_temp.day_text(1991, 1, 300, 1000), pg_temp.day_text(1991, 1, 200, 5000)),
          'and vpcflow.flows gives the same rows from the blocks');

SELECT * FROM finish();
ROLLBACK;
