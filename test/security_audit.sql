-- pgTAP: the generic security audit.  It enumerates every relation and
-- function the extension owns (pg_depend on the extension) or that lives in
-- schema vpcflow (partitions and other tables made at run time), and checks
-- each against the rules of docs/security.md:
--
--   * a table holding rows (relkind r, p; not a partition) has row-level
--     security enabled and FORCEd, with a SELECT policy for vpcflow_reader
--     and the admin policy, unless it is in the allow-list below with the
--     reason; allow-listed tables have no account column;
--   * a partition has no grants (readers reach it through its parent, whose
--     policies apply);
--   * a view is security_invoker (its base tables' policies then apply to
--     the caller) unless allow-listed;
--   * a materialized view or foreign table (no RLS possible) is granted to
--     nobody but its owner: it must be read through a protecting view;
--   * nothing is granted to PUBLIC on a relation;
--   * every SQL or PL/pgSQL function pins search_path (SET search_path) or
--     has a SQL-standard body (BEGIN ATOMIC / RETURN: names bound at CREATE);
--   * every SECURITY DEFINER function is allow-listed with the reason, owned
--     by a role that is not a superuser, pins search_path and is not
--     executable by PUBLIC;
--   * every LEAKPROOF function (run before the policies) is a reviewed C
--     comparison, hash or conversion.
--
-- A branch adding a relation or function that breaks a rule fails here:
-- protect it (vpcflow.protect_relation) or, if it holds no per-account
-- data, add it to an allow-list with the reason.
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE TEMP TABLE allow_tables (rel text PRIMARY KEY, reason text NOT NULL);
INSERT INTO allow_tables VALUES
    ('vpcflow.settings', 'one row of global configuration (partition interval); no account data'),
    ('vpcflow.prefix_sets', 'names and versions of the enrichment prefix sets; no account data'),
    ('vpcflow.prefixes', 'organisation-wide enrichment reference data (address ranges, owners, AWS '
                         'services); lpm() compiles it into a per-backend cache, which row filtering '
                         'cannot follow across SET ROLE; it holds no flows'),
    ('vpcflow.maintenance_log', 'what maintenance did to which partition (names, counts, timings); no '
                                'account data'),
    ('vpcflow.warm_partitions', 'registry of warm partitions (names, column lists, row counts), like '
                                'vpcflow.partitions; no flow rows'),
    ('vpcflow.warm_blocks', 'compressed rows of every tenant: granted to no reader or writer; the warm '
                            'scan reads it as its owner under the row-level security of vpcflow.flows'),
    ('vpcflow.detections', 'alerts keyed by address, not attributed to accounts: granted to no reader '
                           '(admins only), see docs/security.md'),
    ('vpcflow.detection_baselines', 'per-address baselines of the detectors: admins only'),
    ('vpcflow.detection_progress', 'detector bookkeeping (metric, times): admins only'),
    ('vpcflow.detection_processed', 'detector watermark (ingest ids): admins only'),
    ('vpcflow.detection_config', 'per-kind thresholds and windows; no account data'),
    ('vpcflow.detection_suppressions', 'planned-maintenance windows (kind, entity pattern, reason); no '
                                       'account data'),
    ('vpcflow.rollup_settings', 'rollup retention per resolution; no account data'),
    ('vpcflow.egress_prices', 'price per GB per egress path; no account data'),
    ('vpcflow.rollup_progress', 'which loads are rolled up, with counts, time ranges and a delivery '
                                'latency histogram per load; no account, file name or flow'),
    ('vpcflow.shards', 'scale-out shard servers (name, host, port, database); no account data'),
    ('vpcflow.partition_requests', 'scale-out: time ranges a coordinator asks a shard to partition; '
                                   'rows are not kept');

CREATE TEMP TABLE allow_views (rel text PRIMARY KEY, reason text NOT NULL);
INSERT INTO allow_views VALUES
    ('vpcflow.partitions', 'reads only the catalog (partition names, bounds, sizes), which every '
                           'role can read anyway; no flow rows'),
    ('vpcflow.partition_tiers', 'tier and byte size per partition: sums block sizes over '
                                'vpcflow.warm_blocks, which readers cannot read, and shows no rows');

CREATE TEMP TABLE allow_definer (fn text PRIMARY KEY, reason text NOT NULL);
INSERT INTO allow_definer VALUES
    ('vpcflow.partition_for(timestamp with time zone,boolean,boolean)',
     'runs as vpcflow_admin (the store''s owner) so a writer''s load can create a partition it '
     'could not create itself; takes only a time; the name and bounds are computed, not given; '
     'backfill => true makes a day already past hot_window warm instead (create_warm_partition)'),
    ('vpcflow.create_warm_partition(name,timestamp with time zone,timestamp with time zone)',
     'runs as vpcflow_admin for partition_for(backfill => true): an empty warm day attached to '
     'vpcflow.flows; the name must be a partition name, ATTACH refuses overlapping bounds; '
     'executable by vpcflow_admin only'),
    ('vpcflow.attach_partition(regclass,timestamp with time zone,timestamp with time zone)',
     'runs as vpcflow_admin to attach a table partition_for made unattached; refuses anything but '
     'an unattached vpcflow table carrying the vpcflow_pending_bounds constraint, whose CHECK '
     'keeps rows inside the bounds'),
    ('vpcflow.compress_partition(regclass)',
     'maintenance as vpcflow_admin (the store''s owner): swaps a hot partition for a warm one; '
     'executable by vpcflow_admin only'),
    ('vpcflow.fold_partition(regclass)',
     'maintenance as vpcflow_admin: folds a warm day''s late rows into blocks; vpcflow_admin only'),
    ('vpcflow.sync_side_tables()',
     'maintenance as vpcflow_admin: adds new store columns to the late-row tables; vpcflow_admin only'),
    ('vpcflow.drop_partition(regclass)',
     'retention as vpcflow_admin: drops a partition of vpcflow.flows only; vpcflow_admin only'),
    ('vpcflow.archive_partition(regclass,text)',
     'retention as vpcflow_admin: writes a partition to a gzip file under the given absolute '
     'directory; vpcflow_admin only'),
    ('vpcflow.refresh_rollups(integer)',
     'runs as vpcflow_admin so a writer (or pg_cron) can fold committed loads into the rollups, '
     'which readers may not write; takes only a file count'),
    ('vpcflow.sync_shards()',
     'scale-out: runs as vpcflow_admin (owner of vpcflow.flows) so a loader can make the shards'' new '
     'partitions visible on the coordinator; takes no argument, creates only partitions mirroring '
     'the shards'' own; vpcflow_admin and vpcflow_writer only'),
    ('vpcflow.expire_rollups(timestamp with time zone)',
     'rollup retention as vpcflow_admin: deletes rollup rows older than the configured windows; '
     'vpcflow_admin only');

-- Procedures that COMMIT cannot carry SET search_path (PostgreSQL refuses
-- transaction control there); each is reviewed to qualify every name and
-- operator it uses.
CREATE TEMP TABLE allow_unpinned (fn text PRIMARY KEY, reason text NOT NULL);
INSERT INTO allow_unpinned VALUES
    ('vpcflow.run_maintenance(timestamp with time zone)',
     'commits after each step; every name and operator is schema-qualified'),
    ('vpcflow.move_account(text,text,bigint,bigint,bigint)',
     'scale-out: commits the move log and the decision between its two-phase steps; calls only '
     'schema-qualified vpcflow functions (which pin search_path) and pg_catalog.set_config');

-- Every relation of the extension or in schema vpcflow.
CREATE TEMP VIEW audit_relations AS
SELECT c.oid, c.oid::regclass::text AS rel, c.relkind, c.relispartition,
       c.relrowsecurity, c.relforcerowsecurity, c.reloptions, c.relacl, c.relowner
FROM pg_class c
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND (c.relnamespace = 'vpcflow'::regnamespace
       OR EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
                    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vpcflow')));

-- Every function of the extension or in schema vpcflow.
CREATE TEMP VIEW audit_functions AS
SELECT p.oid, p.oid::regprocedure::text AS fn, l.lanname, p.prosecdef, p.proconfig,
       p.prosqlbody IS NOT NULL AS standard_body, p.proowner, p.proacl, p.prokind
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'vpcflow'::regnamespace
   OR EXISTS (SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vpcflow'));

-- Make sure there is a partition to audit.
DO $$ BEGIN PERFORM vpcflow.ensure_partitions('2020-01-01', '2020-01-02'); END $$;

SELECT * FROM no_plan();

SELECT cmp_ok((SELECT count(*) FROM audit_relations), '>=', 10::bigint,
    'the audit sees the extension''s relations');
SELECT cmp_ok((SELECT count(*) FROM audit_functions), '>=', 50::bigint,
    'the audit sees the extension''s functions');

-- ---------------------------------------------------------------- tables
SELECT ok(r.relrowsecurity AND r.relforcerowsecurity
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = r.oid
                      AND p.polcmd IN ('r', '*') AND 'vpcflow_reader'::regrole::oid = ANY (p.polroles))
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = r.oid
                      AND p.polname = 'vpcflow_admin_all'),
    format('table %s: row-level security enabled and forced, with a reader and an admin policy', r.rel))
FROM audit_relations r
WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition
  AND r.rel NOT IN (SELECT rel FROM allow_tables)
ORDER BY r.rel;

SELECT ok(NOT EXISTS (SELECT 1 FROM pg_attribute a
                      WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                        AND (a.attname ~ 'account' OR a.attname IN ('file_name', 'raw_line'))),
    format('allow-listed table %s has no account or file column (%s)', r.rel, t.reason))
FROM audit_relations r JOIN allow_tables t USING (rel)
ORDER BY r.rel;

SELECT is((SELECT count(*) FROM allow_tables t WHERE NOT EXISTS
              (SELECT 1 FROM audit_relations r WHERE r.rel = t.rel)), 0::bigint,
    'every allow-listed table exists (no stale entries)');

-- ---------------------------------------------------------------- partitions
SELECT ok(NOT EXISTS (SELECT 1 FROM aclexplode(r.relacl) a WHERE a.grantee <> r.relowner),
    format('partition %s is granted to nobody: it is read through its parent''s policies', r.rel))
FROM audit_relations r
WHERE r.relispartition
ORDER BY r.rel;

-- ---------------------------------------------------------------- views
SELECT ok(coalesce('security_invoker=true' = ANY (r.reloptions), false)
          OR r.rel IN (SELECT rel FROM allow_views),
    format('view %s is security_invoker%s', r.rel,
           coalesce(' (allow-listed: ' || (SELECT reason FROM allow_views v WHERE v.rel = r.rel) || ')', '')))
FROM audit_relations r
WHERE r.relkind = 'v'
ORDER BY r.rel;

-- ---------------------------------------------------------------- relations RLS cannot protect
SELECT ok(NOT EXISTS (SELECT 1 FROM aclexplode(r.relacl) a WHERE a.grantee <> r.relowner),
    format('%s %s (no row-level security possible) is granted to nobody; read it through a '
           'protecting view', CASE r.relkind WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END,
           r.rel))
FROM audit_relations r
WHERE r.relkind IN ('m', 'f')
ORDER BY r.rel;

SELECT is(ARRAY(SELECT r.rel FROM audit_relations r
                WHERE EXISTS (SELECT 1 FROM aclexplode(r.relacl) a WHERE a.grantee = 0)
                ORDER BY 1), '{}'::text[],
    'no relation is granted to PUBLIC');

-- ---------------------------------------------------------------- functions
SELECT ok(EXISTS (SELECT 1 FROM unnest(f.proconfig) c WHERE c LIKE 'search\_path=%') OR f.standard_body
          OR (f.prokind = 'p' AND f.fn IN (SELECT fn FROM allow_unpinned)),
    format('%s function %s pins search_path or has a SQL-standard body%s', f.lanname, f.fn,
           coalesce(' (allow-listed: ' || (SELECT reason FROM allow_unpinned u WHERE u.fn = f.fn) || ')', '')))
FROM audit_functions f
WHERE f.lanname IN ('sql', 'plpgsql')
ORDER BY f.fn;

SELECT ok(f.fn IN (SELECT fn FROM allow_definer)
          AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = f.proowner)
          AND EXISTS (SELECT 1 FROM unnest(f.proconfig) c WHERE c LIKE 'search\_path=%')
          AND NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a
                          WHERE a.grantee = 0),
    format('SECURITY DEFINER %s: allow-listed, owned by %s (not a superuser), pins search_path, '
           'not executable by PUBLIC', f.fn, pg_get_userbyid(f.proowner)))
FROM audit_functions f
WHERE f.prosecdef
ORDER BY f.fn;

SELECT is((SELECT count(*) FROM allow_definer a WHERE NOT EXISTS
              (SELECT 1 FROM audit_functions f WHERE f.fn = a.fn AND f.prosecdef)), 0::bigint,
    'every allow-listed SECURITY DEFINER function exists and is one');

-- LEAKPROOF functions may run before the policies (on other tenants' rows),
-- so each must be C code that cannot fail or print depending on its input:
-- comparisons, hashes and conversions of the vpcflow types (reviewed: they
-- compare or copy validated stored bytes and raise no errors).  A new one
-- needs that review and an entry in this pattern.
SELECT ok(f.lanname = 'c'
          AND f.fn ~ ('^vpcflow\.((awsid|flow_action|log_status|flow_direction|cloud_provider|ipprefix|flow_record)'
                      '_(eq|ne|lt|le|gt|ge|cmp|hash|hash_extended)'
                      '|ipprefix_(contains|contains_strict|contained|contained_strict|overlaps'
                      '|contains_inet|contains_strict_inet)'
                      '|inet_contained_(strict_)?by_ipprefix|inet|cidr|masklen|family)\('),
    format('LEAKPROOF %s is a reviewed C comparison, hash or conversion', f.fn))
FROM audit_functions f JOIN pg_proc p ON p.oid = f.oid
WHERE p.proleakproof
ORDER BY f.fn;

-- Functions that change the store or run maintenance are not executable by
-- PUBLIC: ingest, partitions, protection, enrichment loaders.
SELECT ok(NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a
                      WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
    format('%s is not executable by PUBLIC', f.fn))
FROM audit_functions f
WHERE f.fn ~ ('^vpcflow\.(ingest_|partition_for|attach_partition|ensure_partitions|protect_relation|replace_prefix_set|load_|publish_anonymized|anonymized_flows'
               '|run_maintenance|set_policy|compress_partition|fold_partition|sync_side_tables|drop_partition'
               '|create_warm_partition|new_warm_tables'
               '|archive_partition|warm_build|write_gzip_lines|maintenance_log_write'
               '|refresh_rollups|expire_rollups|schedule_rollups|run_detections|refresh_detection_rollups|expire_detection_rollups)')
ORDER BY f.fn;

SELECT * FROM finish();
ROLLBACK;
