-- pgTAP: tenant isolation.  Two tenant roles with different accounts (and a
-- team role that inherits one of them by membership) see only their rows
-- through every relation with an account_id column, every other relation
-- readers can read, and every function that returns stored account data;
-- readers cannot ingest, run maintenance, widen their own mapping or read
-- partitions directly.  The relation and function lists are taken from the
-- catalog, so an object another branch adds is checked too, or the test
-- says which list it must be added to.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL client_min_messages = warning;

CREATE ROLE tap_tenant_a NOLOGIN IN ROLE vpcflow_reader;
CREATE ROLE tap_tenant_b NOLOGIN IN ROLE vpcflow_reader;
CREATE ROLE tap_team NOLOGIN IN ROLE tap_tenant_a;        -- inherits a's accounts
CREATE ROLE tap_nomap NOLOGIN IN ROLE vpcflow_reader;      -- a reader with no accounts
CREATE ROLE tap_writer NOLOGIN IN ROLE vpcflow_writer;
CREATE ROLE tap_admin NOLOGIN IN ROLE vpcflow_admin;
CREATE ROLE tap_sneaky NOLOGIN;                             -- granted the table, not the role
GRANT USAGE ON SCHEMA vpcflow TO tap_sneaky;
GRANT SELECT, INSERT ON vpcflow.flows TO tap_sneaky;
GRANT EXECUTE ON FUNCTION vpcflow.ingest_data(text, bytea, text, text) TO tap_sneaky;

INSERT INTO vpcflow.tenant_accounts (role_id, account_id, note) VALUES
    ('tap_tenant_a', '111111111111', 'team a'),
    ('tap_tenant_b', '222222222222', 'team b'),
    ('tap_tenant_b', '333333333333', 'team b, second account');

-- expected accounts per role
CREATE TEMP TABLE role_accounts (role_name name, account text);
INSERT INTO role_accounts VALUES
    ('tap_tenant_a', '111111111111'), ('tap_team', '111111111111'),
    ('tap_tenant_b', '222222222222'), ('tap_tenant_b', '333333333333');
GRANT SELECT ON role_accounts TO PUBLIC;
CREATE TEMP TABLE tenants (role_name name);
INSERT INTO tenants VALUES ('tap_tenant_a'), ('tap_tenant_b'), ('tap_team'), ('tap_nomap');

-- Data, loaded as the superuser: three files (two in the S3 layout, one
-- whose name names no account), each with a bad line; NODATA and SKIPDATA
-- records of two accounts for the log-gap dashboard.
CREATE TEMP TABLE load_a AS SELECT * FROM vpcflow.ingest_data('AWSLogs/111111111111/vpcflowlogs/us-east-1/2025/03/04/a.log', convert_to(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 111111111111 eni-0aaaaaaaaaaaaaaa1 10.1.0.1 10.1.0.2 443 50000 6 10 1000 1741046400 1741046460 ACCEPT OK
2 111111111111 eni-0aaaaaaaaaaaaaaa1 10.1.0.3 10.1.0.2 443 50001 6 10 1000 1741046400 1741046460 REJECT OK
2 111111111111 eni-0aaaaaaaaaaaaaaa1 10.1.0.1 203.0.113.9 443 50002 6 10 1000 1741046400 1741046460 ACCEPT OK
2 111111111111 eni-0aaaaaaaaaaaaaaa1 10.1.0.1 10.1.0.2 443 50000 6 10 1000 1741046400 1741046460 MAYBE OK
2 111111111111 eni-0aaaaaaaaaaaaaaa5 - - - - - - - 1741046400 1741046460 - NODATA
', 'UTF8'));
CREATE TEMP TABLE load_b AS SELECT * FROM vpcflow.ingest_data('AWSLogs/222222222222/vpcflowlogs/eu-west-1/2025/03/04/b.log', convert_to(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 222222222222 eni-0bbbbbbbbbbbbbbb2 10.2.0.1 10.2.0.2 22 50000 6 10 2000 1741046400 1741046460 ACCEPT OK
2 222222222222 eni-0bbbbbbbbbbbbbbb2 10.2.0.1 10.2.0.3 22 50001 6 10 2000 1741046400 1741046460 ACCEPT OK
2 333333333333 eni-0ccccccccccccccc3 10.3.0.1 10.3.0.2 80 50000 6 10 3000 1741046400 1741046460 ACCEPT OK
2 333333333333 eni-0ccccccccccccccc3 10.3.0.1 10.3.0.2 80 50000 6 10 3000 1741046400 1741046460 BAD OK
2 222222222222 eni-0bbbbbbbbbbbbbbb6 - - - - - - - 1741046400 1741046460 - SKIPDATA
', 'UTF8'));
CREATE TEMP TABLE load_c AS SELECT * FROM vpcflow.ingest_data('firehose/2025/03/04/c.log', convert_to(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 444444444444 eni-0ddddddddddddddd4 10.4.0.1 10.4.0.2 53 50000 17 1 100 1741046400 1741046460 ACCEPT OK
2 444444444444 eni-0ddddddddddddddd4 10.4.0.1 10.4.0.2 53 50000 17 1 100 1741046400 1741046460 WHAT OK
', 'UTF8'));
-- client egress and service attempts of two accounts no tenant reads (the
-- detection rollups), a day before the others (outside the dashboards' windows)
CREATE TEMP TABLE load_d AS SELECT * FROM vpcflow.ingest_data('AWSLogs/555555555555/vpcflowlogs/eu-west-1/2025/03/04/d.log', convert_to(
'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 555555555555 eni-0eeeeeeeeeeeeeee5 10.5.0.1 203.0.113.7 50010 443 6 10 3000 1740960000 1740960060 ACCEPT OK
2 444444444444 eni-0ddddddddddddddd4 10.4.0.1 198.51.100.4 50011 443 6 10 3000 1740960000 1740960060 ACCEPT OK
2 555555555555 eni-0eeeeeeeeeeeeeee5 10.5.0.1 10.5.0.2 50012 5432 6 10 300 1740960000 1740960060 ACCEPT OK
2 444444444444 eni-0ddddddddddddddd4 10.4.0.1 10.4.0.2 50013 5432 6 10 300 1740960000 1740960060 REJECT OK
', 'UTF8'));
INSERT INTO vpcflow.interfaces (interface_id, account_id, owner) VALUES
    ('eni-0aaaaaaaaaaaaaaa1', '111111111111', 'team-a'),
    ('eni-0bbbbbbbbbbbbbbb2', '222222222222', 'team-b'),
    ('eni-0ddddddddddddddd4', '444444444444', 'other');

-- The rollups of the three loads, and the dashboards' clock set just after
-- their flows (docs/dashboards.md), so every view over them has rows.
SELECT count(*) >= 0 FROM vpcflow.refresh_rollups();
SET LOCAL vpcflow_dashboard.now = '2025-03-04 00:20:00+00';

-- distinct values of column col in rel as role (NULL role: as the superuser)
CREATE FUNCTION pg_temp.seen_as(role name, rel regclass, col name) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    r text[];
BEGIN
    IF role IS NOT NULL THEN
        EXECUTE format('SET LOCAL ROLE %I', role);
    END IF;
    EXECUTE format('SELECT coalesce(array_agg(DISTINCT %1$I::text ORDER BY %1$I::text), ''{}'') FROM %2$s',
                   col, rel) INTO r;
    RESET ROLE;
    RETURN r;
END $$;

-- 'SQLSTATE: message' of the error sql raises as role, or 'no error'
CREATE FUNCTION pg_temp.error_as(role name, sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text;
    msg text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        RESET ROLE;
        RETURN 'no error';
    EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RESET ROLE;
        RETURN st || ': ' || msg;
    END;
END $$;

-- The relations readers can read (not partitions), from the catalog.
CREATE TEMP VIEW reader_relations AS
SELECT c.oid::regclass AS rel, c.oid::regclass::text AS name,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id'
               AND NOT a.attisdropped) AS has_account
FROM pg_class c
WHERE c.relnamespace = 'vpcflow'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND has_table_privilege('vpcflow_reader', c.oid, 'SELECT');

SELECT * FROM no_plan();

SELECT is(ARRAY[(SELECT status FROM load_a), (SELECT status FROM load_b), (SELECT status FROM load_c)],
    ARRAY['loaded_with_errors', 'loaded_with_errors', 'loaded_with_errors'],
    'setup: the three files load, each with its bad line quarantined');
SELECT is(ARRAY(SELECT coalesce(account_id::text, '-') FROM vpcflow.ingest_log
                WHERE ingest_id IN (SELECT ingest_id FROM load_a UNION ALL SELECT ingest_id FROM load_b
                                    UNION ALL SELECT ingest_id FROM load_c) ORDER BY ingest_id),
    ARRAY['111111111111', '222222222222', '-'],
    'ingest_log.account_id comes from the S3 path (none for a name without AWSLogs/<account>/)');

-- ---------------------------------------------------------------- every relation with account_id
-- The superuser sees several accounts in each (else the check proves
-- nothing: a new relation needs data in the setup above).
SELECT cmp_ok(cardinality(pg_temp.seen_as(NULL, r.rel, 'account_id')), '>=', 2,
    format('%s: the setup puts rows of several accounts in it', r.name))
FROM reader_relations r WHERE r.has_account ORDER BY r.name;

SELECT is(pg_temp.seen_as(t.role_name, r.rel, 'account_id'),
          ARRAY(SELECT a FROM unnest(pg_temp.seen_as(NULL, r.rel, 'account_id')) a
                WHERE a IN (SELECT account FROM role_accounts ra WHERE ra.role_name = t.role_name)
                ORDER BY a),
    format('%s: %s sees exactly the rows of its accounts', r.name, t.role_name))
FROM reader_relations r CROSS JOIN tenants t
WHERE r.has_account ORDER BY r.name, t.role_name;

SELECT ok((SELECT count(*) FROM reader_relations WHERE has_account) >= 4,
    'flows, flows_enriched, interfaces and ingest_log are among the relations checked');

-- ---------------------------------------------------------------- relations without account_id
-- Each one readers can read is listed here with its check; a new one fails
-- this assertion until it is added.
SELECT is(ARRAY(SELECT name FROM reader_relations WHERE NOT has_account ORDER BY name),
    ARRAY['vpcflow.debug_unattributed_24h', 'vpcflow.detection_config', 'vpcflow.detection_suppressions',
          'vpcflow.egress_prices', 'vpcflow.exec_anomalies_week', 'vpcflow.exec_ingest_trend',
          'vpcflow.ingest_errors', 'vpcflow.maintenance_log', 'vpcflow.oncall_delivery_latency',
          'vpcflow.oncall_top_rejects', 'vpcflow.oncall_volume_spikes', 'vpcflow.partition_tiers',
          'vpcflow.partitions', 'vpcflow.prefix_sets', 'vpcflow.prefixes', 'vpcflow.rollup_backlog',
          'vpcflow.rollup_progress', 'vpcflow.rollup_settings', 'vpcflow.rollup_subnets',
          'vpcflow.settings', 'vpcflow.slis', 'vpcflow.unattributed', 'vpcflow.warm_partitions'],
    'the reader-readable relations without account_id are the ones checked below');

SELECT is(pg_temp.seen_as('tap_tenant_a', 'vpcflow.ingest_errors', 'source'),
    ARRAY['AWSLogs/111111111111/vpcflowlogs/us-east-1/2025/03/04/a.log'],
    'ingest_errors: tenant a sees the errors of its own file only');
SELECT is(pg_temp.seen_as('tap_tenant_b', 'vpcflow.ingest_errors', 'source'),
    ARRAY['AWSLogs/222222222222/vpcflowlogs/eu-west-1/2025/03/04/b.log'],
    'ingest_errors: tenant b sees the errors of its own file only');
SELECT is(pg_temp.seen_as('tap_nomap', 'vpcflow.ingest_errors', 'source'), '{}'::text[],
    'ingest_errors: a reader without accounts sees none');
SELECT is((SELECT count(DISTINCT source)::int FROM vpcflow.ingest_errors e
           WHERE e.source IN (SELECT file_name FROM load_a UNION ALL SELECT file_name FROM load_b
                              UNION ALL SELECT file_name FROM load_c)), 3,
    'ingest_errors: the superuser sees the errors of all three files');
SELECT is(pg_temp.seen_as('tap_writer', 'vpcflow.ingest_log', 'file_name'),
    pg_temp.seen_as(NULL, 'vpcflow.ingest_log', 'file_name'),
    'ingest_log: a writer sees every load (exactly-once needs them)');

SELECT is(pg_temp.seen_as('tap_tenant_a', 'vpcflow.tenant_accounts', 'account_id'), ARRAY['111111111111'],
    'tenant_accounts: tenant a sees only its own mapping');
SELECT is(pg_temp.seen_as('tap_team', 'vpcflow.tenant_accounts', 'account_id'), ARRAY['111111111111'],
    'tenant_accounts: a member of tenant a sees a''s mapping');
SELECT is(pg_temp.seen_as('tap_tenant_b', 'vpcflow.tenant_accounts', 'account_id'),
    ARRAY['222222222222', '333333333333'], 'tenant_accounts: tenant b sees its two accounts');

SELECT is(pg_temp.seen_as('tap_tenant_a', 'vpcflow.unattributed', 'flows'), ARRAY['4'],
    'unattributed: tenant a''s daily totals count its 4 records only');
SELECT is(pg_temp.seen_as('tap_tenant_b', 'vpcflow.unattributed', 'flows'), ARRAY['4'],
    'unattributed: tenant b''s daily totals count its 4 records only');
SELECT is(pg_temp.seen_as('tap_nomap', 'vpcflow.unattributed', 'flows'), '{}'::text[],
    'unattributed: nothing for a reader without accounts');

-- Dashboards without an account column read protected tables as the
-- caller (security_invoker, checked by the audit): a tenant's answers come
-- from its own rows.
SELECT is(pg_temp.seen_as('tap_tenant_a', 'vpcflow.oncall_top_rejects', 'srcaddr'), ARRAY['10.1.0.3'],
    'oncall_top_rejects: tenant a sees its own REJECT source');
SELECT is(pg_temp.seen_as('tap_tenant_b', 'vpcflow.oncall_top_rejects', 'srcaddr'), '{}'::text[],
    'oncall_top_rejects: tenant b, without rejects, sees none of a''s');
CREATE FUNCTION pg_temp.sli_as(role name, name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v text;
BEGIN
    IF role IS NOT NULL THEN
        EXECUTE format('SET LOCAL ROLE %I', role);
    END IF;
    SELECT round(s.value::numeric, 4)::text INTO v FROM vpcflow.slis s WHERE s.sli = name;
    RESET ROLE;
    RETURN v;
END $$;
SELECT is(ARRAY[pg_temp.sli_as('tap_tenant_a', 'reject_rate'), pg_temp.sli_as('tap_tenant_b', 'reject_rate'),
                pg_temp.sli_as(NULL, 'reject_rate')],
          ARRAY['0.3333', '0.0000', '0.1429'],
    'slis: the REJECT rate covers the caller''s accounts (a: 1 of 3, b: 0 of 3, all: 1 of 7)');
SELECT is(pg_temp.seen_as('tap_nomap', 'vpcflow.rollup_backlog', 'files'), ARRAY['0'],
    'rollup_backlog: a reader without accounts sees no loads');
SELECT is(pg_temp.seen_as('tap_nomap', 'vpcflow.debug_unattributed_24h', 'flows'), '{}'::text[],
    'debug_unattributed_24h: nothing for a reader without accounts');
SELECT is(pg_temp.seen_as('tap_nomap', 'vpcflow.exec_anomalies_week', 'kind'), '{}'::text[],
    'exec_anomalies_week: tenants see no detections (admins only, docs/security.md)');

-- partitions, settings, prefix_sets, prefixes and the other configuration
-- and bookkeeping tables: no per-account rows (see the allow-lists in
-- test/security_audit.sql); readable, and that is all.
SELECT is(pg_temp.error_as('tap_tenant_a', 'SELECT * FROM vpcflow.partitions, vpcflow.settings, '
                                           'vpcflow.prefix_sets, vpcflow.prefixes'), 'no error',
    'shared relations: readable by a tenant');

-- ---------------------------------------------------------------- functions returning stored account data
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.pronamespace = 'vpcflow'::regnamespace
                  AND ('account_id' = ANY (p.proargnames)
                       OR EXISTS (SELECT 1 FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
                                  WHERE t.oid = p.prorettype AND a.attname = 'account_id'))
                ORDER BY 1),
    ARRAY['vpcflow.anonymized_flows(timestamp with time zone,timestamp with time zone,bytea)',
          'vpcflow.dashboard_detections(timestamp with time zone)',
          'vpcflow.egress_cost(timestamp with time zone,timestamp with time zone)',
          'vpcflow.parse(text,text)',
          'vpcflow.rollup_range(text,timestamp with time zone,timestamp with time zone)',
          'vpcflow.silent_interfaces(interval,interval)'],
    'the functions returning account_id are the ones checked below');
-- The dashboard functions run as the caller over protected tables.
CREATE FUNCTION pg_temp.fn_seen_as(role name, sql text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    r text[];
BEGIN
    IF role IS NOT NULL THEN
        EXECUTE format('SET LOCAL ROLE %I', role);
    END IF;
    EXECUTE format('SELECT coalesce(array_agg(DISTINCT account_id::text ORDER BY account_id::text), ''{}'') '
                   'FROM (%s) x', sql) INTO r;
    RESET ROLE;
    RETURN r;
END $$;
SELECT cmp_ok(cardinality(pg_temp.fn_seen_as(NULL, f.sql)), '>=', 2,
    format('%s: the setup gives rows of several accounts', f.fn))
FROM (VALUES ('rollup_range', 'SELECT * FROM vpcflow.rollup_range(NULL, ''2025-03-04'', ''2025-03-04 01:00'')'),
             ('silent_interfaces', 'SELECT * FROM vpcflow.silent_interfaces()')) f(fn, sql);
SELECT is(pg_temp.fn_seen_as(t.role_name, f.sql),
          ARRAY(SELECT a FROM unnest(pg_temp.fn_seen_as(NULL, f.sql)) a
                WHERE a IN (SELECT account FROM role_accounts ra WHERE ra.role_name = t.role_name)
                ORDER BY a),
    format('%s: %s sees exactly the rows of its accounts', f.fn, t.role_name))
FROM (VALUES ('rollup_range', 'SELECT * FROM vpcflow.rollup_range(NULL, ''2025-03-04'', ''2025-03-04 01:00'')'),
             ('silent_interfaces', 'SELECT * FROM vpcflow.silent_interfaces()'),
             ('egress_cost', 'SELECT * FROM vpcflow.egress_cost(''2025-03-01'', ''2025-03-05'')'),
             ('dashboard_detections', 'SELECT * FROM vpcflow.dashboard_detections(''-infinity'')')) f(fn, sql)
CROSS JOIN tenants t ORDER BY f.fn, t.role_name;
-- parse(text) reads its argument, no stored rows.
SELECT is((SELECT count(*)::int FROM (SELECT 1) s
           WHERE pg_temp.error_as('tap_tenant_a', 'CREATE TEMP TABLE anon_a AS SELECT * FROM '
                 'vpcflow.anonymized_flows(''-infinity'', ''infinity'', decode(repeat(''ab'', 32), ''hex''))') = 'no error'),
    1, 'anonymized_flows: tenant a can make its anonymised copy');
SELECT is(ARRAY(SELECT DISTINCT account_id::text FROM anon_a),
    ARRAY[vpcflow.anonymize_id('111111111111', decode(repeat('ab', 32), 'hex'))],
    'anonymized_flows: tenant a''s copy holds only its account (pseudonymised)');
SELECT is((SELECT count(*) FROM anon_a), 4::bigint, 'anonymized_flows: tenant a''s copy has its 4 rows');
SELECT is(pg_temp.seen_as('tap_tenant_b', 'vpcflow.flows', 'account_id'), ARRAY['222222222222', '333333333333'],
    'readable_accounts: tenant b reads both its accounts');

-- ---------------------------------------------------------------- leaky functions see only visible rows
-- A tenant's own function in WHERE runs after the policy, so it never
-- sees another account's row (RLS quals come first unless leakproof).
CREATE FUNCTION pg_temp.trap(a text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    IF a <> '111111111111' THEN
        RAISE EXCEPTION 'leaked account %', a;
    END IF;
    RETURN true;
END $$;
SELECT is(pg_temp.error_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.flows WHERE pg_temp.trap(account_id::text)'),
    'no error', 'a cheap leaky function in WHERE on flows sees only tenant a''s rows');
SELECT is(pg_temp.error_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.flows_enriched WHERE pg_temp.trap(account_id::text)'),
    'no error', 'the same through the flows_enriched view');
SELECT is(pg_temp.error_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.interfaces WHERE pg_temp.trap(account_id::text)'),
    'no error', 'the same on interfaces');
SELECT alike(pg_temp.error_as('tap_tenant_b', 'SELECT count(*) FROM vpcflow.flows WHERE pg_temp.trap(account_id::text)'),
    'P0001: leaked account 2%', 'the trap does fire on rows a tenant may see (the check can fail)');

-- ---------------------------------------------------------------- plans
-- The policy's account list is an InitPlan, not a per-row SubPlan (which
-- would keep scans from going parallel).
CREATE FUNCTION pg_temp.plan_as(role name, sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RESET ROLE;
    RETURN plan;
END $$;
SELECT unalike(pg_temp.plan_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.flows'), '%SubPlan%',
    'the tenant filter on flows is no per-row SubPlan');
SELECT alike(pg_temp.plan_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.flows'), '%InitPlan%',
    'the tenant filter on flows is an InitPlan');

-- ---------------------------------------------------------------- statistics
-- pg_stats hides the statistics (most common values: accounts, addresses)
-- of tables under row-level security, and of partitions nobody is granted.
ANALYZE vpcflow.flows;
CREATE FUNCTION pg_temp.count_as(role name, sql text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE sql INTO n;
    RESET ROLE;
    RETURN n;
END $$;
SELECT is(pg_temp.count_as('tap_tenant_a',
    'SELECT count(*) FROM pg_stats WHERE schemaname = ''vpcflow'' AND tablename ~ ''^(flows|ingest_|interfaces|tenant_)'''),
    0::bigint,
    'a tenant reads no column statistics of the store, its partitions or the ingest log');
SELECT cmp_ok(pg_temp.count_as('tap_admin',
    'SELECT count(*) FROM pg_stats WHERE schemaname = ''vpcflow'' AND tablename ~ ''^flows'''), '>', 0::bigint,
    'an admin does read them (the check can fail)');

-- ---------------------------------------------------------------- roles outside the model
SELECT is(pg_temp.seen_as('tap_sneaky', 'vpcflow.flows', 'account_id'), '{}'::text[],
    'a role granted SELECT on flows but not vpcflow_reader sees no rows (default deny)');
SELECT alike(pg_temp.error_as('tap_sneaky', $$SELECT vpcflow.ingest_data('x.log', convert_to('2 999999999999 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1741046400 1741046460 ACCEPT OK', 'UTF8'))$$),
    '42501: permission denied to ingest into vpcflow.flows under row-level security',
    'ingest by a role with INSERT but not vpcflow_writer is refused (the bulk path cannot apply RLS checks)');
SELECT is(pg_temp.seen_as('tap_writer', 'vpcflow.flows', 'account_id'), '{}'::text[],
    'a writer (not mapped to accounts) reads no flows');
SELECT is(pg_temp.seen_as('tap_admin', 'vpcflow.flows', 'account_id'),
    pg_temp.seen_as(NULL, 'vpcflow.flows', 'account_id'), 'an admin member sees every account');

-- ---------------------------------------------------------------- partitions stay ungranted
-- even when default privileges would grant new tables to readers
ALTER DEFAULT PRIVILEGES FOR ROLE vpcflow_admin IN SCHEMA vpcflow GRANT SELECT ON TABLES TO vpcflow_reader;
DO $$ BEGIN PERFORM vpcflow.ensure_partitions('2031-01-01', '2031-01-02'); END $$;
SELECT is((SELECT count(*) FROM vpcflow.partitions p JOIN pg_class c ON c.oid = p.partition
           CROSS JOIN LATERAL aclexplode(c.relacl) a
           WHERE p.lower_bound = '2031-01-01' AND a.grantee <> c.relowner), 0::bigint,
    'a partition made under default privileges that grant readers is granted to nobody');
ALTER DEFAULT PRIVILEGES FOR ROLE vpcflow_admin IN SCHEMA vpcflow REVOKE SELECT ON TABLES FROM vpcflow_reader;

-- ---------------------------------------------------------------- the warm tier
-- A compressed day is read through its foreign partition, which nobody is
-- granted; the blocks are readable by their owner only; the policies of
-- vpcflow.flows still decide which rows a tenant sees.
SELECT count(*) > 0 FROM (SELECT vpcflow.compress_partition(p.partition)
                          FROM vpcflow.partitions p
                          WHERE p.lower_bound <= '2025-03-04' AND p.upper_bound > '2025-03-04') c;
SELECT is((SELECT tier FROM vpcflow.partition_tiers
           WHERE lower_bound <= '2025-03-04' AND upper_bound > '2025-03-04'), 'warm',
    'setup: the tenants'' day is now warm');
SELECT is(pg_temp.seen_as(t.role_name, 'vpcflow.flows', 'account_id'),
          ARRAY(SELECT account FROM role_accounts ra WHERE ra.role_name = t.role_name ORDER BY 1),
    format('warm flows: %s sees exactly the rows of its accounts', t.role_name))
FROM tenants t ORDER BY t.role_name;
SELECT is(pg_temp.seen_as('tap_admin', 'vpcflow.flows', 'account_id'),
          ARRAY['111111111111', '222222222222', '333333333333', '444444444444', '555555555555'],
    'warm flows: an admin sees every account');
SELECT alike(pg_temp.error_as('tap_tenant_a', 'SELECT count(*) FROM vpcflow.warm_blocks'), '42501: %',
    'a tenant cannot read the compressed blocks');
SELECT alike(pg_temp.error_as('tap_tenant_a', format('SELECT count(*) FROM %s', w.partition)), '42501: %',
    'a tenant cannot read a warm partition directly')
FROM vpcflow.warm_partitions w LIMIT 1;

-- ---------------------------------------------------------------- what a tenant cannot do
SELECT alike(pg_temp.error_as('tap_tenant_a', e.sql), '42501: %', 'tenant a cannot ' || e.what)
FROM (VALUES
    ('ingest bytes', $$SELECT vpcflow.ingest_data('x.log', '\x00')$$),
    ('ingest a file', $$SELECT vpcflow.ingest_file('x.log')$$),
    ('create partitions', $$SELECT vpcflow.ensure_partitions('2030-01-01', '2030-01-02')$$),
    ('call partition_for', $$SELECT vpcflow.partition_for('2030-01-01')$$),
    ('attach partitions', $$SELECT vpcflow.attach_partition('vpcflow.flows', '2030-01-01', '2030-01-02')$$),
    ('change protections', $$SELECT vpcflow.protect_relation('vpcflow.flows')$$),
    ('load prefix sets', $$SELECT vpcflow.replace_prefix_set('x', '{}', now())$$),
    ('load interfaces', $$SELECT vpcflow.load_network_interfaces('{"NetworkInterfaces": []}')$$),
    ('insert flows', $$INSERT INTO vpcflow.flows (account_id, start_time) VALUES ('111111111111', '2025-03-04')$$),
    ('update flows', $$UPDATE vpcflow.flows SET bytes = 0$$),
    ('delete flows', $$DELETE FROM vpcflow.flows$$),
    ('map itself to another account', $$INSERT INTO vpcflow.tenant_accounts (role_id, account_id) VALUES ('tap_tenant_a', '222222222222')$$),
    ('change its mapping', $$UPDATE vpcflow.tenant_accounts SET account_id = '222222222222'$$),
    ('write ingest errors', $$DELETE FROM vpcflow.ingest_errors$$),
    ('change settings', $$UPDATE vpcflow.settings SET partition_interval = '1 hour'$$),
    ('read a partition directly', format('SELECT count(*) FROM %s', (SELECT partition FROM vpcflow.partitions LIMIT 1))),
    ('publish into the extension schema', $$SELECT vpcflow.publish_anonymized('vpcflow.leak', '-infinity', 'infinity', decode(repeat('ab', 32), 'hex'))$$)
) AS e(what, sql);

SELECT * FROM finish();
ROLLBACK;
