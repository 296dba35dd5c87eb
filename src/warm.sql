-- The hot/warm lifecycle (docs/warm.md): policy, the warm tier (compressed
-- blocks served by the vpcflow_warm foreign data wrapper), late rows,
-- retention with archiving, and vpcflow.run_maintenance().

-- ---------------------------------------------------------------- policy
-- The lifecycle settings live beside partition_interval in vpcflow.settings.
ALTER TABLE vpcflow.settings
    -- partitions whose end is older than this are compressed to warm
    ADD COLUMN hot_window interval NOT NULL DEFAULT '2 days'
        CHECK (hot_window >= interval '0'),
    ADD COLUMN warm boolean NOT NULL DEFAULT true,
    -- partitions whose end is older than this are archived (if a directory
    -- is set) and dropped; NULL keeps data forever
    ADD COLUMN retention interval CHECK (retention > interval '0'),
    ADD COLUMN archive_directory text CHECK (archive_directory LIKE '/%'),
    -- partitions are created this far ahead of now
    ADD COLUMN partitions_ahead interval NOT NULL DEFAULT '1 day'
        CHECK (partitions_ahead >= interval '0'),
    ADD COLUMN warm_block_rows integer NOT NULL DEFAULT 8192
        CHECK (warm_block_rows BETWEEN 1024 AND 65536),
    -- how long maintenance waits for the brief exclusive lock on
    -- vpcflow.flows that swapping or dropping a partition needs
    ADD COLUMN maintenance_lock_timeout interval NOT NULL DEFAULT '5 seconds';

-- Change the policy; arguments left NULL keep their value.
CREATE FUNCTION vpcflow.set_policy(
    hot_window interval DEFAULT NULL,
    warm boolean DEFAULT NULL,
    retention interval DEFAULT NULL,
    archive_directory text DEFAULT NULL,
    partitions_ahead interval DEFAULT NULL,
    partition_interval interval DEFAULT NULL,
    keep_forever boolean DEFAULT false,
    no_archive boolean DEFAULT false)
RETURNS vpcflow.settings
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    UPDATE vpcflow.settings s SET
        hot_window = coalesce(set_policy.hot_window, s.hot_window),
        warm = coalesce(set_policy.warm, s.warm),
        retention = CASE WHEN keep_forever THEN NULL
                         ELSE coalesce(set_policy.retention, s.retention) END,
        archive_directory = CASE WHEN no_archive THEN NULL
                                 ELSE coalesce(set_policy.archive_directory, s.archive_directory) END,
        partitions_ahead = coalesce(set_policy.partitions_ahead, s.partitions_ahead),
        partition_interval = coalesce(set_policy.partition_interval, s.partition_interval)
    RETURNING s.*;
$fn$;

CREATE TABLE vpcflow.maintenance_log (
    log_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     bigint NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    action     text NOT NULL,       -- run, premake, compress, fold, archive, drop, sync,
                                    -- rollups, rollup_expiry, detections
    partition  text,
    rows       bigint,
    bytes_before bigint,
    bytes_after  bigint,
    seconds    double precision,
    status     text NOT NULL CHECK (status IN ('ok', 'skipped', 'error')),
    message    text
);
CREATE INDEX maintenance_log_at_idx ON vpcflow.maintenance_log (at);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.maintenance_log', '');

-- ---------------------------------------------------------------- warm tier
CREATE FUNCTION vpcflow.warm_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'vpcflow_warm_handler'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER vpcflow_warm HANDLER vpcflow.warm_handler;
CREATE SERVER vpcflow_warm FOREIGN DATA WRAPPER vpcflow_warm;

-- One row per warm partition (a foreign table attached to vpcflow.flows).
CREATE TABLE vpcflow.warm_partitions (
    partition     regclass PRIMARY KEY,
    -- heap table receiving late rows, read by every scan, folded by maintenance
    side_table    regclass NOT NULL,
    lower_bound   timestamptz NOT NULL,
    upper_bound   timestamptz NOT NULL,
    -- block layout: column names in block column order
    columns       name[] NOT NULL,
    rows          bigint NOT NULL DEFAULT 0,   -- rows in blocks
    block_bytes   bigint NOT NULL DEFAULT 0,   -- encoded size of the blocks
    heap_bytes    bigint,                      -- the hot partition it replaced
    compressed_at timestamptz NOT NULL DEFAULT now(),
    folded_at     timestamptz
);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.warm_partitions', '');

-- The blocks: min/max per block let scans skip; data is stored EXTERNAL
-- (already compressed: PostgreSQL must not try again, and column streams
-- are read as slices).
CREATE TABLE vpcflow.warm_blocks (
    partition  oid NOT NULL,
    block_id   integer NOT NULL,
    min_time   timestamptz NOT NULL,
    max_time   timestamptz NOT NULL,
    src_lo     inet,
    src_hi     inet,
    dst_lo     inet,
    dst_hi     inet,
    nrows      integer NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (partition, block_id)
);
ALTER TABLE vpcflow.warm_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
SELECT pg_catalog.pg_extension_config_dump('vpcflow.warm_blocks', '');

CREATE FUNCTION vpcflow.warm_build(source regclass, target regclass, lower_bound timestamptz,
                                   upper_bound timestamptz, block_rows integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'vpcflow_warm_build'
LANGUAGE C STRICT;

-- Copy the rows of source committed after this transaction's warm_build of
-- it into side; errors if rows the build read are gone.  Writers must be
-- stopped by the caller (see compress_partition).
CREATE FUNCTION vpcflow.warm_catch_up(source regclass, side regclass, built bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'vpcflow_warm_catch_up'
LANGUAGE C STRICT;

-- Write the rows of each query (one text column) as lines of one gzip file.
CREATE FUNCTION vpcflow.write_gzip_lines(path text, queries text[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'vpcflow_write_gzip_lines'
LANGUAGE C STRICT;

-- The tables of a warm partition for [lo, hi): its side table for late
-- rows, the foreign table with vpcflow.flows's columns (the block layout),
-- and its vpcflow.warm_partitions entry.  Callers attach the foreign table:
-- compress_partition in place of a hot day, create_warm_partition for a
-- day that a backfill makes warm from the start.  No grants: readers reach
-- partitions only through vpcflow.flows.
CREATE FUNCTION vpcflow.new_warm_tables(ft_name name, side_name name, lo timestamptz,
                                        hi timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    coldefs text;
    cols name[];
BEGIN
    SELECT string_agg(format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                             CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END), ', '
                      ORDER BY a.attnum),
           array_agg(a.attname ORDER BY a.attnum)
        INTO coldefs, cols
        FROM pg_attribute a
        WHERE a.attrelid = 'vpcflow.flows'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('CREATE TABLE vpcflow.%I (LIKE vpcflow.flows INCLUDING DEFAULTS INCLUDING STORAGE)',
                   side_name);
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (%s) SERVER vpcflow_warm', ft_name, coldefs);
    EXECUTE format('REVOKE ALL ON vpcflow.%I, vpcflow.%I FROM PUBLIC, vpcflow_reader, vpcflow_writer',
                   side_name, ft_name);
    INSERT INTO vpcflow.warm_partitions (partition, side_table, lower_bound, upper_bound, columns)
        VALUES (format('vpcflow.%I', ft_name)::regclass, format('vpcflow.%I', side_name)::regclass,
                lo, hi, cols);
END
$fn$;

-- A new, empty warm partition part_name for [lo, hi), attached to
-- vpcflow.flows: partition_for(ts, backfill => true) makes a day that is
-- already past hot_window this way (docs/bulk_load.md, Backfill).  Its rows
-- go to its side table and the next maintenance pass folds them into
-- blocks, as for late rows of a compressed day.  Runs as vpcflow_admin,
-- which owns the store and may use the warm foreign server.
CREATE FUNCTION vpcflow.create_warm_partition(part_name name, lo timestamptz, hi timestamptz)
RETURNS regclass
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF part_name !~ '^flows_p[0-9]{8}(_[0-9]{6})?$' OR lo IS NULL OR hi IS NULL OR lo >= hi
       OR NOT isfinite(lo) OR NOT isfinite(hi) THEN
        RAISE EXCEPTION 'invalid warm partition % [%, %)', part_name, lo, hi
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM vpcflow.new_warm_tables(part_name, left(part_name, 50) || '_late', lo, hi);
    -- a foreign table has no index to build and no rows to check
    EXECUTE format('ALTER TABLE vpcflow.flows ATTACH PARTITION vpcflow.%I FOR VALUES FROM (%L) TO (%L)',
                   part_name, lo, hi);
    RETURN format('vpcflow.%I', part_name)::regclass;
END
$fn$;

-- Size and state of every partition.
CREATE VIEW vpcflow.partition_tiers AS
SELECT p.partition, p.lower_bound, p.upper_bound,
       CASE WHEN w.partition IS NULL THEN 'hot' ELSE 'warm' END AS tier,
       CASE WHEN w.partition IS NULL THEN pg_catalog.pg_total_relation_size(p.partition)
            ELSE coalesce((SELECT sum(pg_catalog.pg_column_size(b.data)
                                      + 80)::bigint   -- row, index and TOAST overhead
                           FROM vpcflow.warm_blocks b WHERE b.partition = w.partition::oid), 0)
                 + pg_catalog.pg_total_relation_size(w.side_table) END AS bytes,
       w.rows AS warm_rows,
       CASE WHEN w.partition IS NOT NULL
            THEN (SELECT c.reltuples::bigint FROM pg_catalog.pg_class c
                  WHERE c.oid = w.side_table) END AS late_rows_estimate
FROM vpcflow.partitions p
LEFT JOIN vpcflow.warm_partitions w ON w.partition = p.partition;

-- Compress the hot partition part into a warm one.  The blocks are built
-- from a snapshot while ingest goes on, with no lock that stops anyone.
-- Then writers are stopped (EXCLUSIVE on the parent only, SHARE on the
-- partition; readers go on) while warm_catch_up rescans the partition and
-- moves the rows committed during the build into the side table, where
-- late rows live until the next fold; that is one scan of the day.
-- Detaching the heap and attaching the foreign table needs ACCESS
-- EXCLUSIVE on the parent for a few milliseconds.  Both waits are bounded
-- by maintenance_lock_timeout.  The new partition keeps the old one's name.
CREATE FUNCTION vpcflow.compress_partition(part regclass)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    lo timestamptz;
    hi timestamptz;
    relname name;
    tmpname name;
    side name;
    n bigint;
    hbytes bigint;
    block_rows integer;
    lock_wait interval;
    old_lock_timeout text := current_setting('lock_timeout');
    swap_start timestamptz;
    catch_up_start timestamptz;
    late bigint;
BEGIN
    SELECT p.lower_bound, p.upper_bound INTO lo, hi
        FROM vpcflow.partitions p WHERE p.partition = part;
    IF NOT FOUND OR (SELECT c.relkind FROM pg_class c WHERE c.oid = part) <> 'r' THEN
        RAISE EXCEPTION '% is not a hot partition of vpcflow.flows', part
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.warm_block_rows, s.maintenance_lock_timeout INTO block_rows, lock_wait
        FROM vpcflow.settings s;
    -- A probe before the build: could writers be stopped now?  A writer
    -- transaction that outlasts lock_wait (a bulk load, docs/bulk_load.md)
    -- would make the catch-up below time out after the whole build; then
    -- skip now, having built nothing.  The lock is released at once
    -- (the subtransaction is left by an error).
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    BEGIN
        LOCK TABLE ONLY vpcflow.flows IN EXCLUSIVE MODE;
        RAISE SQLSTATE 'VFPRB';
    EXCEPTION
        WHEN SQLSTATE 'VFPRB' THEN
            NULL;
        WHEN lock_not_available THEN
            RAISE EXCEPTION 'compression of % deferred: a writer of vpcflow.flows kept it longer than maintenance_lock_timeout (%)',
                part, lock_wait
                USING ERRCODE = 'lock_not_available',
                      HINT = 'Nothing was built; the next maintenance pass tries again.';
    END;
    PERFORM set_config('lock_timeout', old_lock_timeout, true);
    SELECT c.relname INTO relname FROM pg_class c WHERE c.oid = part;
    tmpname := left(relname, 50) || '_warm';
    side := left(relname, 50) || '_late';
    PERFORM vpcflow.new_warm_tables(tmpname, side, lo, hi);
    n := vpcflow.warm_build(part, format('vpcflow.%I', tmpname)::regclass, lo, hi, block_rows);

    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    -- stop writers: the parent first, in the order ingest locks, then the
    -- partition itself (it could be written by name)
    LOCK TABLE ONLY vpcflow.flows IN EXCLUSIVE MODE;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', part);
    catch_up_start := clock_timestamp();
    late := vpcflow.warm_catch_up(part, format('vpcflow.%I', side)::regclass, n);
    hbytes := pg_total_relation_size(part);
    LOCK TABLE ONLY vpcflow.flows IN ACCESS EXCLUSIVE MODE;
    swap_start := clock_timestamp();    -- held from here to commit
    EXECUTE format('ALTER TABLE vpcflow.flows DETACH PARTITION %s', part);
    EXECUTE format('ALTER TABLE vpcflow.flows ATTACH PARTITION vpcflow.%I FOR VALUES FROM (%L) TO (%L)',
                   tmpname, lo, hi);
    PERFORM set_config('lock_timeout', old_lock_timeout, true);
    EXECUTE format('DROP TABLE %s', part);
    EXECUTE format('ALTER FOREIGN TABLE vpcflow.%I RENAME TO %I', tmpname, relname);
    UPDATE vpcflow.warm_partitions w
        SET rows = n, heap_bytes = hbytes,
            block_bytes = (SELECT coalesce(sum(length(b.data)), 0) FROM vpcflow.warm_blocks b
                           WHERE b.partition = w.partition::oid)
        WHERE w.partition = format('vpcflow.%I', relname)::regclass;
    -- for the maintenance log: how long writers waited, how many rows they
    -- wrote during the build, how long the swap held the parent exclusively
    PERFORM set_config('vpcflow_warm.writers_waited_ms',
                       round((extract(epoch FROM clock_timestamp() - catch_up_start) * 1000)::numeric, 1)::text,
                       false);
    PERFORM set_config('vpcflow_warm.caught_up', late::text, false);
    PERFORM set_config('vpcflow_warm.swap_ms',
                       round((extract(epoch FROM clock_timestamp() - swap_start) * 1000)::numeric, 1)::text,
                       false);
    RETURN n;
END
$fn$;

-- Fold the late rows of a warm partition into new blocks.  Writers of
-- that partition wait meanwhile (SHARE lock on its side table); readers
-- see the rows either in the side table or in blocks, never both.
CREATE FUNCTION vpcflow.fold_partition(part regclass)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    w vpcflow.warm_partitions;
    n bigint;
    lo timestamptz;
    hi timestamptz;
    moved bigint;
BEGIN
    SELECT * INTO w FROM vpcflow.warm_partitions x WHERE x.partition = part;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a warm partition', part USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', w.side_table);
    EXECUTE format('SELECT min(start_time), max(start_time) FROM %s', w.side_table) INTO lo, hi;
    IF lo IS NULL THEN
        RETURN 0;
    END IF;
    n := vpcflow.warm_build(w.side_table, part, lo, hi + interval '1 microsecond',
                            (SELECT s.warm_block_rows FROM vpcflow.settings s));
    EXECUTE format('DELETE FROM %s', w.side_table);
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved <> n THEN
        RAISE EXCEPTION 'fold of %: % late rows but % written to blocks', part, moved, n;
    END IF;
    UPDATE vpcflow.warm_partitions x
        SET rows = x.rows + n, folded_at = now(),
            block_bytes = (SELECT coalesce(sum(length(b.data)), 0) FROM vpcflow.warm_blocks b
                           WHERE b.partition = x.partition::oid)
        WHERE x.partition = part;
    RETURN n;
END
$fn$;

-- Give side tables the columns vpcflow.flows gained since they were made.
CREATE FUNCTION vpcflow.sync_side_tables()
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT w.side_table, a.attname, format_type(a.atttypid, a.atttypmod) AS typ
        FROM vpcflow.warm_partitions w
        CROSS JOIN pg_attribute a
        WHERE a.attrelid = 'vpcflow.flows'::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND NOT EXISTS (SELECT 1 FROM pg_attribute b
                          WHERE b.attrelid = w.side_table AND b.attname = a.attname
                            AND NOT b.attisdropped)
    LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', r.side_table, r.attname, r.typ);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$fn$;

-- Write a partition's rows as a gzip AWS flow-log file (a header line of
-- field names, '-' for NULL, times in Unix seconds, or milliseconds where
-- they have a fraction) that vpcflow.ingest_file loads back to the same
-- rows (ingest_id aside: the re-ingest is a new file).  Unknown fields kept
-- in extra become extra header columns again, one header per set of them.
-- Values the text format cannot carry (blanks, empty strings, '-') make it
-- fail rather than write a file that would load differently.
CREATE FUNCTION vpcflow.archive_partition(part regclass, directory text)
RETURNS TABLE (path text, rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    f record;
    header text := '';
    line text := '';
    checks text := '';
    bad bigint;
    keyset record;
    queries text[] := '{}';
    n bigint;
    xline text;
    xheader text;
BEGIN
    IF directory IS NULL OR directory NOT LIKE '/%' THEN
        RAISE EXCEPTION 'archive directory must be an absolute path' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    path := rtrim(directory, '/') || '/' ||
            (SELECT c.relname FROM pg_class c WHERE c.oid = part) || '.log.gz';
    FOR f IN
        SELECT x.field, x.column_name, a.atttypid
        FROM vpcflow.fields() x
        JOIN pg_attribute a ON a.attrelid = 'vpcflow.flows'::regclass AND a.attname = x.column_name
                           AND NOT a.attisdropped
        WHERE x.version > 0             -- AWS fields; the others have no flow-log text form
        ORDER BY x.ordinal
    LOOP
        header := header || CASE WHEN header = '' THEN '' ELSE ' ' END || f.field;
        line := line || CASE WHEN line = '' THEN '' ELSE ' || '' '' || ' END ||
            CASE WHEN f.atttypid = 'timestamptz'::regtype THEN
                format('coalesce(CASE WHEN date_trunc(''second'', %1$I) = %1$I '
                       'THEN extract(epoch FROM %1$I)::bigint::text '
                       'ELSE (extract(epoch FROM %1$I) * 1000)::bigint::text END, ''-'')', f.column_name)
            ELSE format('CASE WHEN %1$I IS NULL THEN ''-'' ELSE format(''%%s'', %1$I) END',
                        f.column_name) END;
        IF f.atttypid IN ('text'::regtype) THEN
            checks := checks || CASE WHEN checks = '' THEN '' ELSE ' OR ' END ||
                format('%1$I ~ ''[[:space:]]'' OR %1$I = '''' OR %1$I = ''-''', f.column_name);
        END IF;
        IF f.atttypid = 'timestamptz'::regtype THEN
            checks := checks || CASE WHEN checks = '' THEN '' ELSE ' OR ' END ||
                format('date_trunc(''milliseconds'', %1$I) <> %1$I', f.column_name);
        END IF;
    END LOOP;
    -- GCP and Azure rows (docs/providers.md) have no AWS flow-log text form
    SELECT string_agg(CASE WHEN x.column_name = 'provider'
                           THEN format('%I <> ''aws''', x.column_name)
                           ELSE format('%I IS NOT NULL', x.column_name) END, ' OR ')
        INTO xline FROM vpcflow.fields() x WHERE x.version = 0;
    IF xline IS NOT NULL THEN
        checks := checks || CASE WHEN checks = '' THEN '' ELSE ' OR ' END || xline;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %s OR EXISTS (SELECT 1 FROM jsonb_each(extra) e '
                   'WHERE jsonb_typeof(e.value) NOT IN (''string'', ''null'') '
                   'OR e.value #>> ''{}'' ~ ''[[:space:]]'' OR e.value #>> ''{}'' IN ('''', ''-'') '
                   'OR e.key ~ ''[[:space:]]'' OR e.key = '''')', part, checks) INTO bad;
    IF bad > 0 THEN
        RAISE EXCEPTION '% has % rows the flow-log text format cannot carry exactly', part, bad
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'GCP or Azure rows, text values with blanks, empty strings or ''-'', or times below a millisecond.';
    END IF;
    -- one header per set of extra keys
    FOR keyset IN EXECUTE format(
        'SELECT DISTINCT coalesce((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(extra) k), '
        '''{}''::text[]) AS keys, extra IS NULL AS no_extra FROM %s', part)
    LOOP
        xheader := header;
        xline := line;
        FOR i IN 1 .. coalesce(array_length(keyset.keys, 1), 0) LOOP
            xheader := xheader || ' ' || keyset.keys[i];
            xline := xline || format(' || '' '' || coalesce(extra ->> %L, ''-'')', keyset.keys[i]);
        END LOOP;
        queries := queries || format('SELECT %L', xheader) ||
            format('SELECT %s FROM %s WHERE %s', xline, part,
                   CASE WHEN keyset.no_extra THEN 'extra IS NULL'
                        ELSE format('extra IS NOT NULL AND coalesce((SELECT array_agg(k ORDER BY k) '
                                    'FROM jsonb_object_keys(extra) k), ''{}''::text[]) = %L::text[]',
                                    keyset.keys) END);
    END LOOP;
    n := vpcflow.write_gzip_lines(path, queries) - coalesce(array_length(queries, 1), 0) / 2;
    rows := n;
    RETURN NEXT;
END
$fn$;

-- Drop a partition (hot or warm) and everything that belongs to it.
CREATE FUNCTION vpcflow.drop_partition(part regclass)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    w vpcflow.warm_partitions;
    lock_wait interval;
    old_lock_timeout text := current_setting('lock_timeout');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM vpcflow.partitions p WHERE p.partition = part) THEN
        RAISE EXCEPTION '% is not a partition of vpcflow.flows', part
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.maintenance_lock_timeout INTO lock_wait FROM vpcflow.settings s;
    SELECT * INTO w FROM vpcflow.warm_partitions x WHERE x.partition = part;
    PERFORM set_config('lock_timeout', (extract(epoch FROM lock_wait) * 1000)::bigint::text, true);
    EXECUTE format('ALTER TABLE vpcflow.flows DETACH PARTITION %s', part);
    PERFORM set_config('lock_timeout', old_lock_timeout, true);
    IF w.partition IS NOT NULL THEN
        DELETE FROM vpcflow.warm_blocks b WHERE b.partition = part::oid;
        DELETE FROM vpcflow.warm_partitions x WHERE x.partition = part;
        EXECUTE format('DROP FOREIGN TABLE %s', part);
        EXECUTE format('DROP TABLE %s', w.side_table);
    ELSE
        EXECUTE format('DROP TABLE %s', part);
    END IF;
END
$fn$;

-- ---------------------------------------------------------------- maintenance
CREATE SEQUENCE vpcflow.maintenance_run_seq;

CREATE FUNCTION vpcflow.maintenance_log_write(run_id bigint, action text, part text, rows bigint,
                                              bytes_before bigint, bytes_after bigint,
                                              seconds double precision, status text, message text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    INSERT INTO vpcflow.maintenance_log (run_id, action, partition, rows, bytes_before,
                                         bytes_after, seconds, status, message)
    VALUES (run_id, action, part, rows, bytes_before, bytes_after, seconds, status, message);
$fn$;

-- One maintenance pass; pg_cron runs it every minute (README).  Each step
-- commits on its own, so a failure (logged, then the next step) undoes only
-- that step, and a long pass holds no lock between steps.  Two passes never
-- overlap (session advisory lock).  Idempotent: a pass finds what is due
-- from the catalog and the policy, so a rerun does only what is left.
-- at: the time the policy is applied for (tests pass a time; default now).
CREATE PROCEDURE vpcflow.run_maintenance(at timestamptz DEFAULT NULL)
LANGUAGE plpgsql
AS $fn$
DECLARE
    run bigint := pg_catalog.nextval('vpcflow.maintenance_run_seq');
    s vpcflow.settings;
    t0 timestamptz;
    p record;
    n bigint;
    before_bytes bigint;
    after_bytes bigint;
    archived text;
BEGIN
    PERFORM vpcflow.refuse_on_coordinator('vpcflow.run_maintenance()');  -- docs/scaleout.md
    IF NOT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('vpcflow.run_maintenance')) THEN
        PERFORM vpcflow.maintenance_log_write(run, 'run', NULL, NULL, NULL, NULL, NULL, 'skipped',
                                              'another run_maintenance is in progress');
        COMMIT;
        RETURN;
    END IF;
    at := coalesce(at, pg_catalog.now());
    SELECT * INTO s FROM vpcflow.settings;
    PERFORM vpcflow.maintenance_log_write(run, 'run', NULL, NULL, NULL, NULL, NULL, 'ok',
                                          pg_catalog.format('started for %s', at));
    COMMIT;

    -- 1. partitions ahead
    BEGIN
        t0 := pg_catalog.clock_timestamp();
        n := vpcflow.ensure_partitions(at, at OPERATOR(pg_catalog.+) s.partitions_ahead);
        IF n > 0 THEN
            PERFORM vpcflow.maintenance_log_write(run, 'premake', NULL, n, NULL, NULL,
                pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                'ok', pg_catalog.format('%s partitions created', n));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM vpcflow.maintenance_log_write(run, 'premake', NULL, NULL, NULL, NULL, NULL,
                                              'error', SQLERRM);
    END;
    COMMIT;

    -- 2. fold late rows of warm partitions into blocks, before the rollups
    -- and detections read the new files' rows: a backfilled day
    -- (docs/bulk_load.md) holds all of them in its unindexed side table,
    -- which every one of their queries would scan whole, where blocks are
    -- skipped by time
    FOR p IN SELECT w.partition::text AS name, w.partition::oid AS oid, w.side_table
             FROM vpcflow.warm_partitions w
    LOOP
        BEGIN
            EXECUTE pg_catalog.format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) x', p.side_table)
                INTO n;
            IF n > 0 THEN
                t0 := pg_catalog.clock_timestamp();
                n := vpcflow.fold_partition(p.oid::regclass);
                PERFORM vpcflow.maintenance_log_write(run, 'fold', p.name, n, NULL, NULL,
                    pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                    'ok', 'late rows folded into blocks');
            END IF;
        EXCEPTION WHEN OTHERS THEN
            PERFORM vpcflow.maintenance_log_write(run, 'fold', p.name, NULL, NULL, NULL, NULL,
                'error', SQLERRM);
        END;
        COMMIT;
    END LOOP;

    -- 3. rollups (docs/dashboards.md): fold in the files loaded since the
    -- last pass (before retention can drop their rows), then drop rollup
    -- rows past their own retention
    DECLARE
        r record;
    BEGIN
        t0 := pg_catalog.clock_timestamp();
        SELECT * INTO r FROM vpcflow.refresh_rollups();
        IF r.files OPERATOR(pg_catalog.>) 0 THEN
            PERFORM vpcflow.maintenance_log_write(run, 'rollups', NULL, r.flows, NULL, NULL,
                pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                'ok', pg_catalog.format('%s files rolled up', r.files));
        END IF;
        SELECT * INTO r FROM vpcflow.expire_rollups(at);
        IF r.minute_rows OPERATOR(pg_catalog.+) r.hour_rows OPERATOR(pg_catalog.+) r.day_rows
           OPERATOR(pg_catalog.>) 0 THEN
            PERFORM vpcflow.maintenance_log_write(run, 'rollup_expiry', NULL,
                r.minute_rows OPERATOR(pg_catalog.+) r.hour_rows OPERATOR(pg_catalog.+) r.day_rows,
                NULL, NULL, NULL, 'ok', 'rollup rows past retention dropped');
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM vpcflow.maintenance_log_write(run, 'rollups', NULL, NULL, NULL, NULL, NULL,
                                              'error', SQLERRM);
    END;
    COMMIT;

    -- 4. detections (docs/detections.md) over the files not yet examined
    DECLARE
        r record;
    BEGIN
        t0 := pg_catalog.clock_timestamp();
        SELECT * INTO r FROM vpcflow.run_detections();
        IF r.ingests OPERATOR(pg_catalog.>) 0 THEN
            PERFORM vpcflow.maintenance_log_write(run, 'detections', NULL, r.candidates, NULL, NULL,
                pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                'ok', pg_catalog.format('%s files examined, %s new and %s updated detections',
                                        r.ingests, r.inserted, r.updated));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM vpcflow.maintenance_log_write(run, 'detections', NULL, NULL, NULL, NULL, NULL,
                                              'error', SQLERRM);
    END;
    COMMIT;

    -- 5. side tables follow new columns of the store
    BEGIN
        n := vpcflow.sync_side_tables();
        IF n > 0 THEN
            PERFORM vpcflow.maintenance_log_write(run, 'sync', NULL, n, NULL, NULL, NULL, 'ok',
                                                  pg_catalog.format('%s columns added to side tables', n));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM vpcflow.maintenance_log_write(run, 'sync', NULL, NULL, NULL, NULL, NULL,
                                              'error', SQLERRM);
    END;
    COMMIT;

    -- 6. retention: archive (if a directory is set) and drop
    IF s.retention IS NOT NULL THEN
        FOR p IN SELECT x.partition::text AS name, x.partition::oid AS oid
                 FROM vpcflow.partitions x
                 WHERE x.upper_bound OPERATOR(pg_catalog.<=) (at OPERATOR(pg_catalog.-) s.retention)
                 ORDER BY x.lower_bound
        LOOP
            BEGIN
                t0 := pg_catalog.clock_timestamp();
                archived := NULL;
                n := NULL;
                IF s.archive_directory IS NOT NULL THEN
                    SELECT a.path, a.rows INTO archived, n
                        FROM vpcflow.archive_partition(p.oid::regclass, s.archive_directory) a;
                    PERFORM vpcflow.maintenance_log_write(run, 'archive', p.name, n, NULL, NULL,
                        pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                        'ok', archived);
                END IF;
                PERFORM vpcflow.drop_partition(p.oid::regclass);
                PERFORM vpcflow.maintenance_log_write(run, 'drop', p.name, n, NULL, NULL,
                    pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                    'ok', CASE WHEN archived IS NULL THEN 'past retention, not archived'
                               ELSE 'past retention, archived' END);
            EXCEPTION WHEN OTHERS THEN
                PERFORM vpcflow.maintenance_log_write(run, 'drop', p.name, NULL, NULL, NULL, NULL,
                    CASE WHEN SQLSTATE = '55P03' THEN 'skipped' ELSE 'error' END, SQLERRM);
            END;
            COMMIT;
        END LOOP;
    END IF;

    -- 7. compress hot partitions past the hot window
    IF s.warm THEN
        FOR p IN SELECT x.partition::text AS name, x.partition::oid AS oid
                 FROM vpcflow.partitions x
                 JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) x.partition::oid
                 WHERE c.relkind OPERATOR(pg_catalog.=) 'r'
                   AND x.upper_bound OPERATOR(pg_catalog.<=) (at OPERATOR(pg_catalog.-) s.hot_window)
                 ORDER BY x.lower_bound
        LOOP
            BEGIN
                t0 := pg_catalog.clock_timestamp();
                before_bytes := pg_catalog.pg_total_relation_size(p.oid);
                n := vpcflow.compress_partition(p.oid::regclass);
                SELECT w.block_bytes INTO after_bytes FROM vpcflow.warm_partitions w
                    WHERE w.partition::text OPERATOR(pg_catalog.=) p.name;
                PERFORM vpcflow.maintenance_log_write(run, 'compress', p.name, n, before_bytes,
                    after_bytes,
                    pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
                    'ok', pg_catalog.format('now warm; writers waited %s ms (catch-up: %s rows '
                        'written during the build moved to the side table), ACCESS EXCLUSIVE on '
                        'vpcflow.flows for the swap: %s ms before commit',
                        pg_catalog.current_setting('vpcflow_warm.writers_waited_ms', true),
                        pg_catalog.current_setting('vpcflow_warm.caught_up', true),
                        pg_catalog.current_setting('vpcflow_warm.swap_ms', true)));
            EXCEPTION WHEN OTHERS THEN
                PERFORM vpcflow.maintenance_log_write(run, 'compress', p.name, NULL, NULL, NULL, NULL,
                    CASE WHEN SQLSTATE = '55P03' THEN 'skipped' ELSE 'error' END, SQLERRM);
            END;
            COMMIT;
        END LOOP;
    END IF;

    PERFORM vpcflow.maintenance_log_write(run, 'run', NULL, NULL, NULL, NULL,
        NULL, 'ok', 'finished');
    PERFORM pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('vpcflow.run_maintenance'));
    COMMIT;
END
$fn$;

-- ---------------------------------------------------------------- privileges
ALTER FUNCTION vpcflow.compress_partition(regclass) OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.fold_partition(regclass) OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.create_warm_partition(name, timestamptz, timestamptz) OWNER TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.new_warm_tables(name, name, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.create_warm_partition(name, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.new_warm_tables(name, name, timestamptz, timestamptz),
    vpcflow.create_warm_partition(name, timestamptz, timestamptz) TO vpcflow_admin;
ALTER FUNCTION vpcflow.sync_side_tables() OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.drop_partition(regclass) OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.archive_partition(regclass, text) OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.warm_partitions OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.warm_blocks OWNER TO vpcflow_admin;
GRANT USAGE ON FOREIGN SERVER vpcflow_warm TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.warm_build(regclass, regclass, timestamptz, timestamptz, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.warm_catch_up(regclass, regclass, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.write_gzip_lines(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.warm_build(regclass, regclass, timestamptz, timestamptz, integer) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.warm_catch_up(regclass, regclass, bigint) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.write_gzip_lines(text, text[]) TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.compress_partition(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.fold_partition(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.sync_side_tables() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.drop_partition(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.archive_partition(regclass, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.set_policy(interval, boolean, interval, text, interval, interval, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.maintenance_log_write(bigint, text, text, bigint, bigint, bigint, double precision, text, text) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE vpcflow.run_maintenance(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.compress_partition(regclass), vpcflow.fold_partition(regclass),
    vpcflow.sync_side_tables(), vpcflow.drop_partition(regclass),
    vpcflow.archive_partition(regclass, text),
    vpcflow.set_policy(interval, boolean, interval, text, interval, interval, boolean, boolean),
    vpcflow.maintenance_log_write(bigint, text, text, bigint, bigint, bigint, double precision, text, text)
    TO vpcflow_admin;
GRANT EXECUTE ON PROCEDURE vpcflow.run_maintenance(timestamptz) TO vpcflow_admin;
GRANT INSERT ON vpcflow.maintenance_log TO vpcflow_admin;
GRANT USAGE ON SEQUENCE vpcflow.maintenance_run_seq TO vpcflow_admin;
GRANT SELECT ON vpcflow.maintenance_log, vpcflow.partition_tiers TO vpcflow_admin, vpcflow_reader;
-- scans read the block registry as the querying role
-- Blocks hold every tenant's rows: only their owner reads them (the scan
-- does so as the owner, under the row-level security of vpcflow.flows).
GRANT SELECT ON vpcflow.warm_partitions TO vpcflow_reader, vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.ensure_partitions(timestamptz, timestamptz) TO vpcflow_admin;
