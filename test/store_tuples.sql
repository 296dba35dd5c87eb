-- pgTAP: the store writer forms each row's tuple itself (src/store_writer.c,
-- form_tuple) instead of calling heap_form_tuple.  Every tuple it stored
-- for files of each provider must be the one PostgreSQL forms from the
-- same values: here PostgreSQL re-forms each stored row (INSERT ... SELECT
-- into a copy of its partition with one more column, so the row is
-- projected and formed anew), and pageinspect compares the two tuples'
-- data bytes (alignment padding and 1-byte varlena headers included) and
-- null bitmaps.  The stored tuples stop at their last non-NULL column, so
-- only that many bitmap bits are compared; the data must be identical.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pageinspect;

SELECT plan(11);

-- Files that fill many different columns: AWS v5 text (every field), a
-- transit gateway log, IPv6, an unknown column (extra), GCP entries (both
-- ends, an array) and Azure NSG and VNet blobs (rule names, MACs, resource
-- ids).
SELECT cmp_ok((SELECT rows FROM vpcflow.ingest_file('vpcflow_testdata/' || f, format)), '>',
    0::bigint, 'loaded ' || f)
FROM (VALUES ('v5-all-fields.log', 'v5'), ('tgw.log', 'tgw'), ('ipv6.log', NULL),
             ('unknown-column.log', NULL), ('gcp-both-ends.ndjson', NULL),
             ('gcp-array.json', NULL), ('azure-nsg.json', NULL),
             ('azure-vnet.json', NULL)) v(f, format);

-- The tuples of a table in storage order: bitmap, data, attribute count.
CREATE FUNCTION pg_temp.items(rel regclass)
RETURNS TABLE (n bigint, bits text, data bytea, natts integer, varwidth boolean)
LANGUAGE sql AS $$
    SELECT row_number() OVER (ORDER BY blk, lp), t_bits, t_data, t_infomask2 & 2047,
           (t_infomask & 2) <> 0
    FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) blk,
         LATERAL heap_page_items(get_raw_page(rel::text, blk::integer))
    WHERE lp_len > 0
$$;

-- Stored tuples of partition part that differ from PostgreSQL's own.
CREATE FUNCTION pg_temp.differing(part regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.reformed;
    EXECUTE format('CREATE TABLE pg_temp.reformed (LIKE %s, one_more integer)', part);
    EXECUTE format('INSERT INTO pg_temp.reformed SELECT p.*, NULL FROM %s p ORDER BY p.ctid', part);
    SELECT count(*) INTO n
    FROM pg_temp.items(part) s FULL JOIN pg_temp.items('pg_temp.reformed') c USING (n)
    WHERE s.data IS DISTINCT FROM c.data
       OR s.varwidth IS DISTINCT FROM c.varwidth
       OR substr(coalesce(s.bits, repeat('1', s.natts)), 1, s.natts)
          IS DISTINCT FROM substr(c.bits, 1, s.natts)
       OR position('1' IN substr(c.bits, s.natts + 1)) > 0;
    RETURN n;
END
$$;

-- heap partitions only (warm ones are foreign tables)
CREATE VIEW pg_temp.heaps AS
    SELECT p.partition FROM vpcflow.partitions p JOIN pg_class c ON c.oid = p.partition
    WHERE c.relkind = 'r';

SELECT is((SELECT sum(pg_temp.differing(partition)) FROM pg_temp.heaps), 0::numeric,
    'every stored tuple is the one PostgreSQL forms from its values, byte for byte');

SELECT ok((SELECT count(*) FROM pg_temp.heaps p, pg_temp.items(p.partition) i
           WHERE i.natts < (SELECT count(*) FROM pg_attribute
                            WHERE attrelid = 'vpcflow.flows'::regclass AND attnum > 0
                              AND NOT attisdropped)) > 0,
    'the comparison covers tuples cut after their last non-NULL column');

SELECT ok((SELECT count(*) FROM pg_temp.heaps p, pg_temp.items(p.partition) i
           WHERE i.bits IS NOT NULL) > 0,
    'the comparison covers tuples with a null bitmap');

SELECT * FROM finish();
ROLLBACK;
