-- Scale-out over several PostgreSQL servers (docs/scaleout.md).  One
-- database is the coordinator; the shards are ordinary vpcflow databases.
-- Accounts are placed on shards (vpcflow.shard_accounts).  On the
-- coordinator vpcflow.flows keeps its time partitions; each time partition
-- is LIST-partitioned by account_id into one postgres_fdw foreign table per
-- shard, reading that shard's partition of the same range.  The rollup,
-- ingest-log and detection tables get one postgres_fdw child table per
-- shard (inheritance), so the dashboards read the shards' aggregate states.
-- vpcflow.shard_fanout() runs an aggregate query on every shard (pushed
-- down whole) and returns the per-shard results for merging.

-- Shard servers.  The postgres_fdw server is named vpcflow_shard_<name>.
CREATE TABLE vpcflow.shards (
    shard_name  text PRIMARY KEY CHECK (shard_name ~ '^[a-z][a-z0-9_]{0,29}$'),
    server_name name NOT NULL UNIQUE,
    -- where the loader sends files (user and password come from the
    -- loader's own connection settings)
    host        text NOT NULL,
    port        integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    dbname      text NOT NULL,
    -- place_account without a shard picks among these the one with fewest accounts
    accepts_new boolean NOT NULL DEFAULT true,
    added_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.shards', '');

-- The shard map: the shard holding each account's flows.  moving: a move is
-- in progress (the loader refuses the account's files meanwhile).
CREATE TABLE vpcflow.shard_accounts (
    account_id vpcflow.awsid PRIMARY KEY,
    shard_name text NOT NULL REFERENCES vpcflow.shards ON UPDATE CASCADE,
    moving     boolean NOT NULL DEFAULT false,
    placed_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX shard_accounts_shard_idx ON vpcflow.shard_accounts (shard_name);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.shard_accounts', '');

-- True in a coordinator (a database with shards).  Loads, partition
-- creation, rollup refreshes and maintenance run on the shards, not here.
CREATE FUNCTION vpcflow.is_coordinator() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT EXISTS (SELECT 1 FROM vpcflow.shards)
$fn$;

-- Raise the error a coordinator gives for work that belongs on the shards.
CREATE FUNCTION vpcflow.refuse_on_coordinator(what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF vpcflow.is_coordinator() THEN
        RAISE EXCEPTION '% runs on the shards, not on a vpcflow coordinator', what
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run it in each shard database (see docs/scaleout.md); here run '
                         'vpcflow.sync_shards() after shard changes.';
    END IF;
END
$fn$;

-- Column list of a table as "name type, ..." (a foreign table
-- declaration) or "name, ..." (with_types false), without the columns in
-- except_cols and, when writable, without generated columns (the shard
-- computes those).
CREATE FUNCTION vpcflow.shard_column_list(rel regclass, with_types boolean DEFAULT true,
                                          except_cols name[] DEFAULT '{}', writable boolean DEFAULT false)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT string_agg(CASE WHEN with_types THEN format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                           ELSE format('%I', a.attname) END, ', ' ORDER BY a.attnum)
    FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname <> ALL (except_cols) AND NOT (writable AND a.attgenerated <> '')
$fn$;

-- On every vpcflow database: a row inserted here (by a coordinator,
-- through postgres_fdw) makes the partitions covering [from_ts, to_ts)
-- and is not kept.  move_account uses it to prepare the target shard.
CREATE TABLE vpcflow.partition_requests (
    from_ts timestamptz NOT NULL,
    to_ts   timestamptz NOT NULL
);
CREATE FUNCTION vpcflow.partition_request_make() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM vpcflow.ensure_partitions(NEW.from_ts, NEW.to_ts);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER partition_request_make BEFORE INSERT ON vpcflow.partition_requests
    FOR EACH ROW EXECUTE FUNCTION vpcflow.partition_request_make();

-- Tables whose rows the coordinator reads from every shard through
-- inheritance children: aggregate states and bookkeeping the dashboards use.
CREATE FUNCTION vpcflow.shard_state_tables() RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT unnest(ARRAY['vpcflow.rollup_1m', 'vpcflow.rollup_1h', 'vpcflow.rollup_1d',
                        'vpcflow.rollup_vpc_1h', 'vpcflow.rollup_vpc_1d', 'vpcflow.rollup_progress',
                        'vpcflow.ingest_log', 'vpcflow.detections']::regclass[])
$fn$;

-- Declare a shard: a postgres_fdw server with extensions 'vpcflow' (so our
-- types, operators and aggregates are shipped), a user mapping for PUBLIC
-- (remote_user must read every row there: a member of vpcflow_admin), the
-- whole-table foreign table vpcflow.shard_<name>_flows used by fan-out,
-- the shard's partition list, and the inheritance children of the state
-- tables.  Needs postgres_fdw installed and a superuser (servers and
-- mappings).  Accounts are placed afterwards (place_account).
CREATE FUNCTION vpcflow.add_shard(shard_name text, host text, port integer, dbname text,
                                  remote_user text, password text DEFAULT NULL)
RETURNS vpcflow.shards
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    srv name := 'vpcflow_shard_' || shard_name;
    mapping text;
    t text;
    rec vpcflow.shards;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgres_fdw') THEN
        RAISE EXCEPTION 'vpcflow.add_shard needs the postgres_fdw extension in this database'
            USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION postgres_fdw;';
    END IF;
    INSERT INTO vpcflow.shards AS s (shard_name, server_name, host, port, dbname)
    VALUES (add_shard.shard_name, srv, add_shard.host, add_shard.port, add_shard.dbname)
    RETURNING s.* INTO rec;

    -- async_capable: scans of several shards under one Append run concurrently.
    -- cursor_tuple_fraction=1: postgres_fdw reads through a cursor, which the
    -- shard would otherwise plan for the first 10% of rows (an aggregate
    -- over a whole srcaddr index instead of the hour it needs); the
    -- coordinator always fetches every row.
    EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS '
                   '(host %L, port %L, dbname %L, extensions %L, fetch_size %L, batch_size %L, '
                   'async_capable %L, options %L)',
                   srv, host, port::text, dbname, 'vpcflow', '10000', '1000', 'true',
                   '-c cursor_tuple_fraction=1');
    mapping := format('user %L', remote_user);
    IF password IS NOT NULL THEN
        mapping := mapping || format(', password %L', password);
    ELSIF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- trust or certificate authentication: allowed by a superuser only
        mapping := mapping || ', password_required ''false''';
    END IF;
    EXECUTE format('CREATE USER MAPPING FOR PUBLIC SERVER %I OPTIONS (%s)', srv, mapping);
    EXECUTE format('GRANT USAGE ON FOREIGN SERVER %I TO vpcflow_admin', srv);
    -- partial aggregates on the shards for plain SQL (shard_pushdown.sql)
    PERFORM vpcflow.coordinator_settings();

    -- the shard's whole store (fan-out) and its partition list (sync_shards)
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (%s) SERVER %I OPTIONS (schema_name %L, table_name %L)',
                   'shard_' || shard_name || '_flows', vpcflow.shard_column_list('vpcflow.flows'),
                   srv, 'vpcflow', 'flows');
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (partition text, lower_bound timestamptz, '
                   'upper_bound timestamptz) SERVER %I OPTIONS (schema_name %L, table_name %L)',
                   'shard_' || shard_name || '_partitions', srv, 'vpcflow', 'partitions');
    -- what move_account writes: loads without their (shard-assigned) ids,
    -- quarantined lines, partition requests
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (%s) SERVER %I OPTIONS (schema_name %L, table_name %L)',
                   'shard_' || shard_name || '_ingest_log_in',
                   vpcflow.shard_column_list('vpcflow.ingest_log', true, '{ingest_id}', true),
                   srv, 'vpcflow', 'ingest_log');
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (%s) SERVER %I OPTIONS (schema_name %L, table_name %L)',
                   'shard_' || shard_name || '_ingest_errors',
                   vpcflow.shard_column_list('vpcflow.ingest_errors', true, '{error_id}', true),
                   srv, 'vpcflow', 'ingest_errors');
    EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I (from_ts timestamptz, to_ts timestamptz) SERVER %I '
                   'OPTIONS (schema_name %L, table_name %L)',
                   'shard_' || shard_name || '_partition_requests', srv, 'vpcflow', 'partition_requests');
    FOR t IN SELECT unnest(ARRAY['_flows', '_partitions', '_ingest_log_in', '_ingest_errors',
                                 '_partition_requests']) LOOP
        EXECUTE format('ALTER FOREIGN TABLE vpcflow.%I OWNER TO vpcflow_admin', 'shard_' || shard_name || t);
    END LOOP;

    -- the state tables: the parent (empty here) plus one child per shard
    FOR t IN SELECT c.relname FROM vpcflow.shard_state_tables() r JOIN pg_class c ON c.oid = r LOOP
        EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I () INHERITS (vpcflow.%I) SERVER %I '
                       'OPTIONS (schema_name %L, table_name %L)',
                       'shard_' || shard_name || '_' || t, t, srv, 'vpcflow', t);
        EXECUTE format('ALTER FOREIGN TABLE vpcflow.%I OWNER TO vpcflow_admin', 'shard_' || shard_name || '_' || t);
    END LOOP;
    RETURN rec;
END
$fn$;

-- Shards with their account counts and server options.
CREATE VIEW vpcflow.shard_list WITH (security_invoker = true) AS
SELECT s.shard_name, s.server_name, s.host, s.port, s.dbname, s.accepts_new,
       (SELECT count(*) FROM vpcflow.shard_accounts a WHERE a.shard_name = s.shard_name) AS accounts,
       (SELECT count(*) FROM pg_catalog.pg_foreign_table ft
        JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver
        JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
        WHERE fs.srvname = s.server_name AND c.relispartition) AS partitions,
       s.added_at
FROM vpcflow.shards s;

-- Where the loader sends an account's files: one row per placed account.
CREATE VIEW vpcflow.shard_routes WITH (security_invoker = true) AS
SELECT a.account_id::text AS account_id, s.shard_name,
       format('host=%s port=%s dbname=%s', s.host, s.port, s.dbname) AS conninfo, a.moving
FROM vpcflow.shard_accounts a JOIN vpcflow.shards s USING (shard_name);

-- Bring the coordinator's partitions in line with the shards: for every
-- partition a shard has, the time partition of the same range here
-- (LIST-partitioned by account_id) and in it a foreign table for that
-- shard, listing the shard's accounts.  Sub-partitions whose shard lost
-- the partition (retention) or whose account list changed are replaced;
-- time partitions left without sub-partitions are dropped.  Needs every
-- shard up (the error names the one that is not).  Returns the number of
-- foreign partitions created and dropped.
CREATE FUNCTION vpcflow.sync_shards(OUT created integer, OUT dropped integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s vpcflow.shards;
    accounts text[];
    want text;
    p record;
    remote_name text;
    local_part regclass;
    sub text;
    existing record;
    seen text[];
BEGIN
    created := 0; dropped := 0;
    -- one sync at a time
    PERFORM pg_advisory_xact_lock(hashtext('vpcflow.sync_shards'));
    FOR s IN SELECT * FROM vpcflow.shards ORDER BY shard_name LOOP
        accounts := ARRAY(SELECT a.account_id::text FROM vpcflow.shard_accounts a
                          WHERE a.shard_name = s.shard_name ORDER BY 1);
        want := array_to_string(accounts, ',');
        seen := '{}';
        FOR p IN EXECUTE format('SELECT partition, lower_bound, upper_bound FROM vpcflow.%I ORDER BY 2',
                                'shard_' || s.shard_name || '_partitions') LOOP
            remote_name := regexp_replace(p.partition, '^vpcflow\.', '');
            remote_name := btrim(remote_name, '"');
            IF cardinality(accounts) = 0 THEN
                CONTINUE;
            END IF;
            -- the time partition of this range
            IF NOT EXISTS (SELECT 1 FROM vpcflow.partitions x
                           WHERE x.lower_bound = p.lower_bound AND x.upper_bound = p.upper_bound) THEN
                IF EXISTS (SELECT 1 FROM vpcflow.partitions x
                           WHERE x.lower_bound < p.upper_bound AND x.upper_bound > p.lower_bound) THEN
                    RAISE EXCEPTION 'partition % of shard % [%, %) overlaps a different partition here',
                        remote_name, s.shard_name, p.lower_bound, p.upper_bound
                        USING ERRCODE = 'invalid_object_definition',
                              HINT = 'Every shard and the coordinator need the same partition_interval.';
                END IF;
                EXECUTE format('CREATE TABLE vpcflow.%I PARTITION OF vpcflow.flows FOR VALUES FROM (%L) TO (%L) '
                               'PARTITION BY LIST (account_id)', remote_name, p.lower_bound, p.upper_bound);
                EXECUTE format('REVOKE ALL ON vpcflow.%I FROM PUBLIC, vpcflow_reader, vpcflow_writer', remote_name);
            END IF;
            SELECT x.partition INTO local_part FROM vpcflow.partitions x
            WHERE x.lower_bound = p.lower_bound AND x.upper_bound = p.upper_bound;
            sub := left(remote_name, 32) || '_' || s.shard_name;
            seen := seen || sub;
            SELECT c.oid::regclass AS rel, obj_description(c.oid, 'pg_class') AS note INTO existing
            FROM pg_class c WHERE c.relnamespace = 'vpcflow'::regnamespace AND c.relname = sub;
            IF FOUND AND existing.note IS NOT DISTINCT FROM want THEN
                CONTINUE;
            ELSIF FOUND THEN
                EXECUTE format('DROP FOREIGN TABLE %s', existing.rel);
                dropped := dropped + 1;
            END IF;
            -- use_remote_estimate: the shard's own statistics size the scans and
            -- the partial aggregates (shard_pushdown.c), which the coordinator,
            -- holding no rows, cannot estimate
            EXECUTE format('CREATE FOREIGN TABLE vpcflow.%I PARTITION OF %s FOR VALUES IN (%s) SERVER %I '
                           'OPTIONS (schema_name %L, table_name %L, use_remote_estimate %L)',
                           sub, local_part, (SELECT string_agg(format('%L', a), ', ') FROM unnest(accounts) a),
                           s.server_name, 'vpcflow', remote_name, 'true');
            EXECUTE format('REVOKE ALL ON vpcflow.%I FROM PUBLIC, vpcflow_reader, vpcflow_writer', sub);
            EXECUTE format('COMMENT ON FOREIGN TABLE vpcflow.%I IS %L', sub, want);
            created := created + 1;
        END LOOP;
        -- this shard's sub-partitions whose remote partition is gone
        FOR existing IN
            SELECT c.oid::regclass AS rel, c.relname
            FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
            WHERE ft.ftserver = (SELECT oid FROM pg_foreign_server WHERE srvname = s.server_name)
              AND c.relispartition AND NOT (c.relname = ANY (seen))
        LOOP
            EXECUTE format('DROP FOREIGN TABLE %s', existing.rel);
            dropped := dropped + 1;
        END LOOP;
    END LOOP;
    -- time partitions with nothing left in them
    FOR existing IN
        SELECT x.partition AS rel FROM vpcflow.partitions x
        JOIN pg_class c ON c.oid = x.partition
        WHERE c.relkind = 'p'
          AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid)
    LOOP
        EXECUTE format('DROP TABLE %s', existing.rel);
    END LOOP;
END
$fn$;

-- Place an account on a shard (NULL: the accepting shard with the fewest
-- accounts) and sync.  An account already placed stays where it is; use
-- vpcflow.move_account to move it.
CREATE FUNCTION vpcflow.place_account(account text, shard text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    current text;
    target text := shard;
BEGIN
    SELECT a.shard_name INTO current FROM vpcflow.shard_accounts a
    WHERE a.account_id OPERATOR(vpcflow.=) account::vpcflow.awsid;
    IF FOUND THEN
        IF target IS NULL OR target = current THEN
            RETURN current;
        END IF;
        RAISE EXCEPTION 'account % is already placed on shard %', account, current
            USING ERRCODE = 'unique_violation', HINT = 'Move it with vpcflow.move_account().';
    END IF;
    IF target IS NULL THEN
        SELECT s.shard_name INTO target FROM vpcflow.shards s WHERE s.accepts_new
        ORDER BY (SELECT count(*) FROM vpcflow.shard_accounts a WHERE a.shard_name = s.shard_name), s.shard_name
        LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no shard accepts new accounts' USING ERRCODE = 'undefined_object';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM vpcflow.shards s WHERE s.shard_name = target) THEN
        RAISE EXCEPTION 'no shard named %', target USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO vpcflow.shard_accounts (account_id, shard_name) VALUES (account::vpcflow.awsid, target);
    PERFORM vpcflow.sync_shards();
    RETURN target;
END
$fn$;

-- Move an account to another shard, in one transaction of this database
-- (postgres_fdw opens one on each shard and commits them at its commit):
-- on the target, the partitions its flows need, its loads (new ingest ids
-- there, same SHA-256, so exactly-once goes on), their quarantined lines,
-- its flows, its rollup rows and the rollup progress of its loads; then
-- the same deleted on the source, the map updated and sync_shards() run.
-- A load of the account must not run meanwhile (stop its loaders, or set
-- moving = true in vpcflow.shard_accounts first: vpcflow-load then refuses
-- its files).  Refused when a load of the account also holds flows of
-- another account (move those together) or when the source shard cannot
-- delete (warm days: see docs/scaleout.md).
CREATE FUNCTION vpcflow.move_account(account text, to_shard text,
                                     OUT files bigint, OUT flows bigint, OUT rollup_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    acct vpcflow.awsid := account::vpcflow.awsid;
    src text;
    ids integer[];
    shas bytea[];
    lo timestamptz;
    hi timestamptz;
    n bigint;
    t text;
    s text;     -- 'vpcflow.shard_<source>_'
    d text;     -- 'vpcflow.shard_<target>_'
    log_cols text := vpcflow.shard_column_list('vpcflow.ingest_log', false, '{ingest_id}', true);
    err_cols text := vpcflow.shard_column_list('vpcflow.ingest_errors', false, '{error_id,ingest_id}', true);
    flow_cols text := vpcflow.shard_column_list('vpcflow.flows', false, '{ingest_id}');
BEGIN
    files := 0; flows := 0; rollup_rows := 0;
    SELECT a.shard_name INTO src FROM vpcflow.shard_accounts a
    WHERE a.account_id OPERATOR(vpcflow.=) acct FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % is not placed on any shard', account USING ERRCODE = 'undefined_object';
    ELSIF NOT EXISTS (SELECT 1 FROM vpcflow.shards x WHERE x.shard_name = to_shard) THEN
        RAISE EXCEPTION 'no shard named %', to_shard USING ERRCODE = 'undefined_object';
    ELSIF src = to_shard THEN
        RETURN;
    END IF;
    s := 'vpcflow.shard_' || src || '_';
    d := 'vpcflow.shard_' || to_shard || '_';

    -- the account's loads: named for it, or holding its flows
    EXECUTE format('SELECT array_agg(DISTINCT x.id) FROM ('
                   'SELECT l.ingest_id AS id FROM %1$singest_log l WHERE l.account_id OPERATOR(vpcflow.=) $1 '
                   'UNION SELECT f.ingest_id FROM %1$sflows f WHERE f.account_id OPERATOR(vpcflow.=) $1 '
                   'AND f.ingest_id IS NOT NULL GROUP BY f.ingest_id) x', s)
        INTO ids USING acct;
    ids := coalesce(ids, '{}');
    EXECUTE format('SELECT count(*) FROM %1$sflows f WHERE f.ingest_id = ANY ($1) '
                   'AND NOT f.account_id OPERATOR(vpcflow.=) $2', s) INTO n USING ids, acct;
    IF n > 0 THEN
        RAISE EXCEPTION 'loads of account % on shard % also hold % flows of other accounts', account, src, n
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Move the accounts that share those files together.';
    END IF;

    -- partitions on the target for the account's time range
    EXECUTE format('SELECT min(f.start_time), max(f.start_time) FROM %1$sflows f '
                   'WHERE f.account_id OPERATOR(vpcflow.=) $1', s) INTO lo, hi USING acct;
    IF lo IS NOT NULL THEN
        EXECUTE format('INSERT INTO %1$spartition_requests VALUES ($1, $2)', d) USING lo, hi + interval '1 microsecond';
    END IF;

    -- loads, then the map from source ids to the target's new ids
    EXECUTE format('INSERT INTO %1$singest_log_in (%3$s) SELECT %3$s FROM %2$singest_log l WHERE l.ingest_id = ANY ($1)',
                   d, s, log_cols) USING ids;
    GET DIAGNOSTICS files = ROW_COUNT;
    EXECUTE format('SELECT array_agg(l.sha256) FROM %1$singest_log l WHERE l.ingest_id = ANY ($1)', s)
        INTO shas USING ids;
    IF to_regclass('pg_temp.vpcflow_move_ids') IS NOT NULL THEN
        DROP TABLE pg_temp.vpcflow_move_ids;
    END IF;
    CREATE TEMP TABLE vpcflow_move_ids (old_id integer PRIMARY KEY, new_id integer NOT NULL) ON COMMIT DROP;
    EXECUTE format('INSERT INTO pg_temp.vpcflow_move_ids '
                   'SELECT o.ingest_id, n.ingest_id FROM (SELECT l.ingest_id, l.sha256 FROM %1$singest_log l '
                   'WHERE l.ingest_id = ANY ($1)) o JOIN (SELECT l.ingest_id, l.sha256 FROM %2$singest_log l '
                   'WHERE l.sha256 = ANY ($2)) n ON n.sha256 = o.sha256', s, d) USING ids, shas;

    -- quarantined lines, flows, rollups and rollup progress
    EXECUTE format('INSERT INTO %1$singest_errors (ingest_id, %3$s) SELECT m.new_id, %4$s '
                   'FROM %2$singest_errors e JOIN pg_temp.vpcflow_move_ids m ON m.old_id = e.ingest_id '
                   'WHERE e.ingest_id = ANY ($1)', d, s, err_cols,
                   (SELECT string_agg('e.' || c, ', ') FROM unnest(string_to_array(err_cols, ', ')) c)) USING ids;
    EXECUTE format('INSERT INTO %1$sflows (ingest_id, %3$s) SELECT m.new_id, %4$s FROM %2$sflows f '
                   'LEFT JOIN pg_temp.vpcflow_move_ids m ON m.old_id = f.ingest_id '
                   'WHERE f.account_id OPERATOR(vpcflow.=) $1', d, s, flow_cols,
                   (SELECT string_agg('f.' || c, ', ') FROM unnest(string_to_array(flow_cols, ', ')) c)) USING acct;
    GET DIAGNOSTICS flows = ROW_COUNT;
    FOREACH t IN ARRAY ARRAY['rollup_1m', 'rollup_1h', 'rollup_1d', 'rollup_vpc_1h', 'rollup_vpc_1d'] LOOP
        EXECUTE format('INSERT INTO %1$s%3$s SELECT * FROM %2$s%3$s r WHERE r.account_id OPERATOR(vpcflow.=) $1',
                       d, s, t) USING acct;
        GET DIAGNOSTICS n = ROW_COUNT;
        rollup_rows := rollup_rows + n;
        EXECUTE format('DELETE FROM %1$s%2$s r WHERE r.account_id OPERATOR(vpcflow.=) $1', s, t) USING acct;
    END LOOP;
    EXECUTE format('INSERT INTO %1$srollup_progress SELECT m.new_id, %3$s FROM %2$srollup_progress p '
                   'JOIN pg_temp.vpcflow_move_ids m ON m.old_id = p.ingest_id WHERE p.ingest_id = ANY ($1)', d, s,
                   (SELECT string_agg('p.' || c, ', ')
                    FROM unnest(string_to_array(vpcflow.shard_column_list('vpcflow.rollup_progress', false,
                                                                          '{ingest_id}'), ', ')) c)) USING ids;

    -- gone from the source (its quarantined lines go with the loads: ON DELETE CASCADE)
    EXECUTE format('DELETE FROM %1$srollup_progress p WHERE p.ingest_id = ANY ($1)', s) USING ids;
    EXECUTE format('DELETE FROM %1$sflows f WHERE f.account_id OPERATOR(vpcflow.=) $1', s) USING acct;
    EXECUTE format('DELETE FROM %1$singest_log l WHERE l.ingest_id = ANY ($1)', s) USING ids;

    UPDATE vpcflow.shard_accounts a SET shard_name = to_shard, moving = false, placed_at = now()
    WHERE a.account_id OPERATOR(vpcflow.=) acct;
    PERFORM vpcflow.sync_shards();
END
$fn$;

-- The SQL shard_fanout runs: the query once per shard with {flows}
-- replaced by that shard's whole store, joined by UNION ALL.  EXPLAIN
-- (VERBOSE) of it shows what each shard computes (Remote SQL).
CREATE FUNCTION vpcflow.shard_fanout_sql(query text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q text;
BEGIN
    IF position('{flows}' IN query) = 0 THEN
        RAISE EXCEPTION 'shard_fanout: the query must read {flows}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(format('SELECT * FROM (%s) AS %I',
                             replace(query, '{flows}', format('vpcflow.%I', 'shard_' || s.shard_name || '_flows')),
                             'shard_' || s.shard_name), E'\nUNION ALL\n' ORDER BY s.shard_name)
    INTO q FROM vpcflow.shards s;
    IF q IS NULL THEN
        RAISE EXCEPTION 'shard_fanout: no shards (vpcflow.add_shard)' USING ERRCODE = 'undefined_object';
    END IF;
    RETURN q;
END
$fn$;

-- Explicit fan-out: run an aggregate query on every shard and return each
-- shard's result rows (give their types: AS t(col type, ...)); merge them
-- with an outer GROUP BY (sum of sums, topk_merge / hll_merge /
-- flow_stats_merge of states).  A query on a single foreign table whose
-- aggregates and conditions are shippable (built-ins and vpcflow's, the
-- server has extensions 'vpcflow') runs whole on the shard: only its
-- result rows travel.  The query runs as the caller, with search_path
-- pg_catalog: qualify vpcflow's names.  Reads the shards' whole stores
-- (no row-level security there): for vpcflow_admin.
CREATE FUNCTION vpcflow.shard_fanout(query text) RETURNS SETOF record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY EXECUTE vpcflow.shard_fanout_sql(query);
END
$fn$;

ALTER TABLE vpcflow.shards OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.shard_accounts OWNER TO vpcflow_admin;
ALTER FUNCTION vpcflow.sync_shards() OWNER TO vpcflow_admin;
-- the loader (writer) reads the map; tenants need none of it
GRANT SELECT ON vpcflow.shards, vpcflow.shard_list, vpcflow.shard_accounts, vpcflow.shard_routes
      TO vpcflow_writer, vpcflow_admin;
GRANT INSERT, UPDATE, DELETE ON vpcflow.shard_accounts TO vpcflow_admin;
GRANT UPDATE (accepts_new) ON vpcflow.shards TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.add_shard(text, text, integer, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.sync_shards() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.place_account(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.move_account(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.partition_request_make() FROM PUBLIC;
GRANT INSERT ON vpcflow.partition_requests TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.shard_fanout(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.sync_shards() TO vpcflow_admin, vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.place_account(text, text), vpcflow.move_account(text, text),
      vpcflow.shard_fanout(text) TO vpcflow_admin;

-- The shard map names accounts: protected like every per-account table
-- (granted to writers and admins only); the loader reads all of it.
SELECT vpcflow.protect_relation('vpcflow.shard_accounts', writer => 'none');
CREATE POLICY vpcflow_writer_read ON vpcflow.shard_accounts FOR SELECT TO vpcflow_writer USING (true);
