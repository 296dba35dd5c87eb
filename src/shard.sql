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
    -- moves left in doubt first (the shard map may change).  This runs as
    -- vpcflow_admin, for which dblink needs password authentication to the
    -- shards: without it, or with a shard down, the partitions are still
    -- synced and the warning says what is left (docs/scaleout.md).
    BEGIN
        PERFORM vpcflow.resolve_shard_moves();
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING '%', SQLERRM USING HINT = 'Run SELECT vpcflow.resolve_shard_moves() as a superuser, '
                                                'or give the shards'' user mappings a password.';
    END;
    -- sub-partitions whose shard's account list changed go first: a moved
    -- account must leave its old shard's list before it joins the new one's
    FOR existing IN
        SELECT c.oid::regclass AS rel
        FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
        JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
        JOIN vpcflow.shards x ON x.server_name = fs.srvname
        WHERE c.relispartition
          AND obj_description(c.oid, 'pg_class') IS DISTINCT FROM
              array_to_string(ARRAY(SELECT a.account_id::text FROM vpcflow.shard_accounts a
                                    WHERE a.shard_name = x.shard_name ORDER BY 1), ',')
    LOOP
        EXECUTE format('DROP FOREIGN TABLE %s', existing.rel);
        dropped := dropped + 1;
    END LOOP;
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

-- Moving an account (docs/scaleout.md#moving-an-account) with two-phase
-- commit on the shards and a durable decision here.  The copy on the
-- target and the delete on the source each run in one remote transaction
-- over a dblink connection (contrib; it connects by the shard's foreign
-- server and user mapping); both are PREPAREd, then the decision (state
-- 'committing' and the new shard map) is committed here, then both are
-- COMMIT PREPARED.  vpcflow.shard_moves records every move; a move left
-- in doubt by a crash or a lost shard is finished (decision made) or
-- rolled back (not made) by vpcflow.resolve_shard_moves(), which every
-- move and every sync_shards() run first.
CREATE TABLE vpcflow.shard_moves (
    move_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  vpcflow.awsid NOT NULL,
    from_shard  text NOT NULL,
    to_shard    text NOT NULL,
    -- preparing: copying / prepared, no decision (a crash rolls it back);
    -- committing: decided, the prepared transactions are being committed;
    -- done / aborted: final
    state       text NOT NULL DEFAULT 'preparing'
                CHECK (state IN ('preparing', 'committing', 'done', 'aborted')),
    -- the shards' prepared transactions (pg_prepared_xacts.gid); the remote
    -- sessions carry the common prefix as application_name
    gid_from    text NOT NULL,
    gid_to      text NOT NULL,
    files       bigint,
    flows       bigint,
    rollup_rows bigint,
    started_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    prepared_at timestamptz,
    decided_at  timestamptz,
    finished_at timestamptz,
    error       text
);
CREATE INDEX shard_moves_open_idx ON vpcflow.shard_moves (move_id) WHERE state IN ('preparing', 'committing');
SELECT pg_catalog.pg_extension_config_dump('vpcflow.shard_moves', '');

-- The schema of the dblink extension (never found through search_path).
CREATE FUNCTION vpcflow.shard_dblink() RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s name;
BEGIN
    SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'dblink';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'moving an account needs the dblink extension in this database'
            USING ERRCODE = 'undefined_object',
                  HINT = 'CREATE EXTENSION dblink; (contrib, like postgres_fdw; see docs/scaleout.md)';
    END IF;
    RETURN s;
END
$fn$;

-- Run a command on a dblink connection; returns its status ("INSERT 0 5").
CREATE FUNCTION vpcflow.shard_exec(conn text, command text) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT %I.dblink_exec($1, $2, true)', vpcflow.shard_dblink()) INTO r USING conn, command;
    RETURN r;
END
$fn$;

-- The single text value a query returns on a dblink connection.
CREATE FUNCTION vpcflow.shard_value(conn text, query text) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT v FROM %I.dblink($1, $2, true) AS t(v text)', vpcflow.shard_dblink())
        INTO r USING conn, query;
    RETURN r;
END
$fn$;

CREATE FUNCTION vpcflow.shard_disconnect(conn text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    dbl name := vpcflow.shard_dblink();
    open boolean;
BEGIN
    EXECUTE format('SELECT $1 = ANY (coalesce(%I.dblink_get_connections(), ''{}''))', dbl) INTO open USING conn;
    IF open THEN
        EXECUTE format('SELECT %I.dblink_disconnect($1)', dbl) USING conn;
    END IF;
END
$fn$;

-- Open dblink connection conn to a shard, through its foreign server and
-- user mapping, as application_name tag.  The session gets a fixed
-- search_path and output settings that round-trip as text.  need_2pc:
-- check that the shard can prepare transactions.
CREATE FUNCTION vpcflow.shard_connect(conn text, shard text, tag text, need_2pc boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    srv name;
    err text;
    detail text;
BEGIN
    SELECT s.server_name INTO srv FROM vpcflow.shards s WHERE s.shard_name = shard;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no shard named %', shard USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM vpcflow.shard_disconnect(conn);
    BEGIN
        EXECUTE format('SELECT %I.dblink_connect($1, $2)', vpcflow.shard_dblink()) USING conn, srv;
    EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection OR insufficient_privilege
                   OR prohibited_sql_statement_attempted THEN   -- dblink: "password is required"
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
        RAISE EXCEPTION 'could not connect to shard % (server %): %', shard, srv, err
            USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection', DETAIL = detail;
    END;
    PERFORM vpcflow.shard_exec(conn, format('SET application_name = %L', tag));
    PERFORM vpcflow.shard_exec(conn, 'SET search_path = pg_catalog, pg_temp');
    PERFORM vpcflow.shard_exec(conn, 'SET extra_float_digits = 1');
    PERFORM vpcflow.shard_exec(conn, 'SET bytea_output = hex');
    PERFORM vpcflow.shard_exec(conn, 'SET datestyle = ISO');
    IF need_2pc AND vpcflow.shard_value(conn, 'SELECT current_setting(''max_prepared_transactions'')')::integer = 0 THEN
        PERFORM vpcflow.shard_disconnect(conn);
        RAISE EXCEPTION 'shard % has max_prepared_transactions = 0: moving an account needs two-phase commit there', shard
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set max_prepared_transactions > 0 (e.g. 10) in that server''s postgresql.conf and restart it.';
    END IF;
END
$fn$;

-- Test hook (docs/scaleout.md): when the setting vpcflow_test.move_fail_at
-- names this point of a move, fail there; 'wait:<point>' first waits (for
-- 300 s), so a test can crash the coordinator at that exact point.
CREATE FUNCTION vpcflow.move_test_hook(point text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    hook text := coalesce(current_setting('vpcflow_test.move_fail_at', true), '');
BEGIN
    IF hook = 'wait:' || point THEN
        RAISE LOG 'vpcflow_test.move_fail_at = %: waiting to be killed', hook;
        PERFORM pg_sleep(300);
    ELSIF hook <> point THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'vpcflow_test.move_fail_at = %: the move fails here (test hook)', hook
        USING ERRCODE = 'raise_exception';
END
$fn$;

-- Step 1 of a move: check it, mark the account moving, log the move
-- (state preparing, with the gids its prepared transactions will have) and
-- lock it for this session.  NULL when there is nothing to move.
CREATE FUNCTION vpcflow.move_begin(account text, to_shard text) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    acct vpcflow.awsid := account::vpcflow.awsid;
    src text;
    tag text := 'vpcflow_move_' || gen_random_uuid();
    m bigint;
BEGIN
    PERFORM vpcflow.shard_dblink();
    SELECT a.shard_name INTO src FROM vpcflow.shard_accounts a
    WHERE a.account_id OPERATOR(vpcflow.=) acct FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % is not placed on any shard', account USING ERRCODE = 'undefined_object';
    ELSIF NOT EXISTS (SELECT 1 FROM vpcflow.shards x WHERE x.shard_name = to_shard) THEN
        RAISE EXCEPTION 'no shard named %', to_shard USING ERRCODE = 'undefined_object';
    ELSIF src = to_shard THEN
        RETURN NULL;
    END IF;
    SELECT x.move_id INTO m FROM vpcflow.shard_moves x
    WHERE x.account_id OPERATOR(vpcflow.=) acct AND x.state IN ('preparing', 'committing');
    IF FOUND THEN
        RAISE EXCEPTION 'account % has a move in progress (vpcflow.shard_moves %)', account, m
            USING ERRCODE = 'object_in_use', HINT = 'SELECT vpcflow.resolve_shard_moves();';
    END IF;
    UPDATE vpcflow.shard_accounts a SET moving = true WHERE a.account_id OPERATOR(vpcflow.=) acct;
    INSERT INTO vpcflow.shard_moves (account_id, from_shard, to_shard, gid_from, gid_to)
    VALUES (acct, src, to_shard, tag || '_from', tag || '_to') RETURNING move_id INTO m;
    PERFORM pg_advisory_lock(hashtext('vpcflow.shard_moves'), m::integer);
    RETURN m;
END
$fn$;

-- Copy the rows of rel matching cond (on alias) from the source
-- connection to the target, in batches of 5,000 as record text (ingest_id
-- mapped through idmap, a jsonb object of old -> new ids, when given);
-- the target inserts every column but generated and GENERATED ALWAYS
-- ones.  rel must have the same columns, in the same order, on both shards
-- as here (the same extension version), or the move is refused.  Returns
-- the number of rows.
CREATE FUNCTION vpcflow.move_copy(rel regclass, alias text, cond text, idmap text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    dbl name := vpcflow.shard_dblink();
    want text := vpcflow.shard_column_list(rel);
    conn text;
    exprs text;
    cols text;
    batch text;
    n bigint;
    total bigint := 0;
BEGIN
    FOREACH conn IN ARRAY ARRAY['vpcflow_move_from', 'vpcflow_move_to'] LOOP
        IF vpcflow.shard_value(conn, format('SELECT vpcflow.shard_column_list(%L::regclass)', rel::text))
               IS DISTINCT FROM want THEN
            RAISE EXCEPTION '% has other columns on the % shard than on the coordinator', rel,
                CASE conn WHEN 'vpcflow_move_from' THEN 'source' ELSE 'target' END
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Every shard and the coordinator need the same vpcflow version.';
        END IF;
    END LOOP;
    SELECT string_agg(CASE WHEN a.attname = 'ingest_id' AND idmap IS NOT NULL
                           THEN format('(%L::jsonb ->> %I.ingest_id::text)::integer', idmap, alias)
                           ELSE format('%I.%I', alias, a.attname) END, ', ' ORDER BY a.attnum),
           string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
               FILTER (WHERE a.attgenerated = '' AND a.attidentity <> 'a')
    INTO exprs, cols
    FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('SELECT %I.dblink_open(''vpcflow_move_from'', ''vpcflow_move'', $1, true)', dbl)
        USING format('SELECT ROW(%s)::text FROM %s %I WHERE %s', exprs, rel, alias, cond);
    LOOP
        EXECUTE format('SELECT array_agg(j)::text, count(*) '
                       'FROM %I.dblink_fetch(''vpcflow_move_from'', ''vpcflow_move'', 5000, true) AS t(j text)', dbl)
            INTO batch, n;
        EXIT WHEN n = 0;
        PERFORM vpcflow.shard_exec('vpcflow_move_to',
            format('INSERT INTO %1$s (%2$s) SELECT %2$s FROM unnest(%3$L::%1$s[])', rel, cols, batch));
        total := total + n;
    END LOOP;
    EXECUTE format('SELECT %I.dblink_close(''vpcflow_move_from'', ''vpcflow_move'', true)', dbl);
    RETURN total;
END
$fn$;

-- Step 2: on the target, the partitions the account's flows need
-- (committed at once: empty partitions are harmless and DDL locks must not
-- wait in a prepared transaction); then, in one transaction on each shard,
-- the account's loads (new ingest ids on the target, same SHA-256, so
-- exactly-once goes on), their quarantined lines, its flows (ingest_id
-- mapped), rollup rows and rollup progress copied to the target and
-- deleted on the source (repeatable read there: exactly the rows copied);
-- then PREPARE TRANSACTION on the target, then on the source.
CREATE FUNCTION vpcflow.move_prepare(m bigint)
RETURNS TABLE (files bigint, flows bigint, rollup_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    mv vpcflow.shard_moves;
    tag text;
    acct text;
    ids text;
    idmap text;
    lo text;
    hi text;
    n bigint;
    t text;
    cols text;
    deleted bigint;
BEGIN
    SELECT * INTO mv FROM vpcflow.shard_moves x WHERE x.move_id = m;
    tag := regexp_replace(mv.gid_to, '_to$', '');
    acct := quote_literal(mv.account_id::text) || '::vpcflow.awsid';
    files := 0; flows := 0; rollup_rows := 0;
    PERFORM vpcflow.shard_connect('vpcflow_move_from', mv.from_shard, tag);
    PERFORM vpcflow.shard_connect('vpcflow_move_to', mv.to_shard, tag);
    PERFORM vpcflow.shard_exec('vpcflow_move_from', 'BEGIN ISOLATION LEVEL REPEATABLE READ');

    -- the account's loads: named for it, or holding its flows
    ids := vpcflow.shard_value('vpcflow_move_from', format(
        'SELECT coalesce(array_agg(DISTINCT x.id), ''{}'')::text FROM ('
        'SELECT l.ingest_id AS id FROM vpcflow.ingest_log l WHERE l.account_id OPERATOR(vpcflow.=) %1$s '
        'UNION SELECT f.ingest_id FROM vpcflow.flows f WHERE f.account_id OPERATOR(vpcflow.=) %1$s '
        'AND f.ingest_id IS NOT NULL GROUP BY f.ingest_id) x', acct));
    n := vpcflow.shard_value('vpcflow_move_from', format(
        'SELECT count(*) FROM vpcflow.flows f WHERE f.ingest_id = ANY (%L::integer[]) '
        'AND NOT f.account_id OPERATOR(vpcflow.=) %s', ids, acct));
    IF n > 0 THEN
        RAISE EXCEPTION 'loads of account % on shard % also hold % flows of other accounts', mv.account_id, mv.from_shard, n
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Move the accounts that share those files together.';
    END IF;

    -- partitions on the target for the account's time range
    SELECT v[1], v[2] INTO lo, hi FROM (SELECT string_to_array(vpcflow.shard_value('vpcflow_move_from', format(
        'SELECT min(f.start_time) || ''|'' || (max(f.start_time) + interval ''1 microsecond'') '
        'FROM vpcflow.flows f WHERE f.account_id OPERATOR(vpcflow.=) %s', acct)), '|') AS v) x;
    IF lo IS NOT NULL THEN
        PERFORM vpcflow.shard_exec('vpcflow_move_to',
            format('INSERT INTO vpcflow.partition_requests VALUES (%L, %L)', lo, hi));
    END IF;
    PERFORM vpcflow.shard_exec('vpcflow_move_to', 'BEGIN');

    -- loads, and the map from source ids to the target's new ids
    cols := vpcflow.shard_column_list('vpcflow.ingest_log', false, '{ingest_id}', true);
    idmap := vpcflow.shard_value('vpcflow_move_to', format(
        'WITH s AS (SELECT * FROM pg_catalog.jsonb_populate_recordset(NULL::vpcflow.ingest_log, %1$L::jsonb)), '
        'i AS (INSERT INTO vpcflow.ingest_log (%2$s) SELECT %2$s FROM s RETURNING ingest_id, sha256) '
        'SELECT coalesce(jsonb_object_agg(s.ingest_id, i.ingest_id), ''{}'')::text FROM s JOIN i ON i.sha256 = s.sha256',
        vpcflow.shard_value('vpcflow_move_from', format(
            'SELECT coalesce(jsonb_agg(l), ''[]'')::text FROM vpcflow.ingest_log l WHERE l.ingest_id = ANY (%L::integer[])',
            ids)),
        cols));
    SELECT count(*) INTO files FROM jsonb_object_keys(idmap::jsonb);

    -- quarantined lines, flows, rollup rows, rollup progress
    PERFORM vpcflow.move_copy('vpcflow.ingest_errors', 'e', format('%L::jsonb ? e.ingest_id::text', idmap), idmap);
    flows := vpcflow.move_copy('vpcflow.flows', 'f', format('f.account_id OPERATOR(vpcflow.=) %s', acct), idmap);
    FOREACH t IN ARRAY ARRAY['rollup_1m', 'rollup_1h', 'rollup_1d', 'rollup_vpc_1h', 'rollup_vpc_1d'] LOOP
        n := vpcflow.move_copy(('vpcflow.' || t)::regclass, 'r', format('r.account_id OPERATOR(vpcflow.=) %s', acct));
        rollup_rows := rollup_rows + n;
        deleted := split_part(vpcflow.shard_exec('vpcflow_move_from', format(
            'DELETE FROM vpcflow.%I r WHERE r.account_id OPERATOR(vpcflow.=) %s', t, acct)), ' ', 2)::bigint;
        IF deleted <> n THEN
            RAISE EXCEPTION 'move of account %: % rows of % copied but % deleted on shard %', mv.account_id, n, t,
                deleted, mv.from_shard USING ERRCODE = 'serialization_failure';
        END IF;
    END LOOP;
    PERFORM vpcflow.move_copy('vpcflow.rollup_progress', 'p', format('%L::jsonb ? p.ingest_id::text', idmap), idmap);

    -- gone from the source (its quarantined lines go with the loads: ON
    -- DELETE CASCADE); the same snapshot, so exactly what was copied
    PERFORM vpcflow.shard_exec('vpcflow_move_from', format(
        'DELETE FROM vpcflow.rollup_progress p WHERE p.ingest_id = ANY (%L::integer[])', ids));
    deleted := split_part(vpcflow.shard_exec('vpcflow_move_from', format(
        'DELETE FROM vpcflow.flows f WHERE f.account_id OPERATOR(vpcflow.=) %s', acct)), ' ', 2)::bigint;
    IF deleted <> flows THEN
        RAISE EXCEPTION 'move of account %: % flows copied but % deleted on shard %', mv.account_id, flows, deleted,
            mv.from_shard USING ERRCODE = 'serialization_failure';
    END IF;
    deleted := split_part(vpcflow.shard_exec('vpcflow_move_from', format(
        'DELETE FROM vpcflow.ingest_log l WHERE l.ingest_id = ANY (%L::integer[])', ids)), ' ', 2)::bigint;
    IF deleted <> files THEN
        RAISE EXCEPTION 'move of account %: % loads copied but % deleted on shard %', mv.account_id, files, deleted,
            mv.from_shard USING ERRCODE = 'serialization_failure';
    END IF;

    PERFORM vpcflow.move_test_hook('before_prepare');
    PERFORM vpcflow.shard_exec('vpcflow_move_to', format('PREPARE TRANSACTION %L', mv.gid_to));
    PERFORM vpcflow.move_test_hook('after_target_prepare');
    PERFORM vpcflow.shard_exec('vpcflow_move_from', format('PREPARE TRANSACTION %L', mv.gid_from));
    UPDATE vpcflow.shard_moves x SET files = move_prepare.files, flows = move_prepare.flows,
           rollup_rows = move_prepare.rollup_rows, prepared_at = clock_timestamp()
    WHERE x.move_id = m;
    RETURN NEXT;
END
$fn$;

-- Undo a move that failed before its decision: end both remote
-- transactions (ROLLBACK PREPARED what was prepared), record why, clear
-- moving.  The account stays where it was.  A shard that cannot be reached
-- keeps its prepared transaction until resolve_shard_moves() (the move is
-- then left 'preparing').
CREATE FUNCTION vpcflow.move_abort(m bigint, why text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    mv vpcflow.shard_moves;
BEGIN
    SELECT * INTO mv FROM vpcflow.shard_moves x WHERE x.move_id = m;
    -- closing the connections aborts an open remote transaction
    PERFORM vpcflow.shard_disconnect('vpcflow_move_from');
    PERFORM vpcflow.shard_disconnect('vpcflow_move_to');
    UPDATE vpcflow.shard_moves x SET error = why WHERE x.move_id = m;
    PERFORM pg_advisory_unlock(hashtext('vpcflow.shard_moves'), m::integer);
    -- prepared transactions (and the log's final state) are the resolver's
    BEGIN
        PERFORM vpcflow.resolve_shard_moves(m);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'move % not rolled back yet: %', m, SQLERRM
            USING HINT = 'vpcflow.resolve_shard_moves() (run by sync_shards) rolls it back once the shards answer.';
    END;
END
$fn$;

-- Step 3, the decision: state committing and the account on its new shard,
-- committed by the caller before any COMMIT PREPARED.
CREATE FUNCTION vpcflow.move_decide(m bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    mv vpcflow.shard_moves;
BEGIN
    UPDATE vpcflow.shard_moves x SET state = 'committing', decided_at = clock_timestamp()
    WHERE x.move_id = m AND x.state = 'preparing' RETURNING * INTO mv;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'move % is not being prepared', m USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE vpcflow.shard_accounts a SET shard_name = mv.to_shard, placed_at = now()
    WHERE a.account_id OPERATOR(vpcflow.=) mv.account_id;
END
$fn$;

-- Step 4: COMMIT PREPARED on the target, then the source; the move done,
-- moving cleared, sync_shards().  On failure the move stays 'committing':
-- resolve_shard_moves() finishes it.
CREATE FUNCTION vpcflow.move_finish(m bigint)
RETURNS TABLE (files bigint, flows bigint, rollup_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    mv vpcflow.shard_moves;
    err text;
BEGIN
    SELECT * INTO mv FROM vpcflow.shard_moves x WHERE x.move_id = m;
    BEGIN
        PERFORM vpcflow.shard_exec('vpcflow_move_to', format('COMMIT PREPARED %L', mv.gid_to));
        PERFORM vpcflow.move_test_hook('after_target_commit');
        PERFORM vpcflow.shard_exec('vpcflow_move_from', format('COMMIT PREPARED %L', mv.gid_from));
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        err := SQLERRM;
        PERFORM vpcflow.shard_disconnect('vpcflow_move_from');
        PERFORM vpcflow.shard_disconnect('vpcflow_move_to');
        PERFORM pg_advisory_unlock(hashtext('vpcflow.shard_moves'), m::integer);
        RAISE EXCEPTION 'move % of account % to shard % is decided but not finished: %', m, mv.account_id,
            mv.to_shard, err
            USING ERRCODE = 'connection_failure',
                  HINT = 'vpcflow.resolve_shard_moves() (run by every sync_shards()) finishes it once both shards answer.';
    END;
    PERFORM vpcflow.shard_disconnect('vpcflow_move_from');
    PERFORM vpcflow.shard_disconnect('vpcflow_move_to');
    UPDATE vpcflow.shard_moves x SET state = 'done', finished_at = clock_timestamp()
    WHERE x.move_id = m RETURNING x.files, x.flows, x.rollup_rows INTO files, flows, rollup_rows;
    UPDATE vpcflow.shard_accounts a SET moving = false WHERE a.account_id OPERATOR(vpcflow.=) mv.account_id;
    PERFORM pg_advisory_unlock(hashtext('vpcflow.shard_moves'), m::integer);
    PERFORM vpcflow.sync_shards();
    RETURN NEXT;
END
$fn$;

-- Finish or roll back the moves left in doubt (all open ones, or move
-- only_move): a move whose decision is committed ('committing') gets COMMIT
-- PREPARED on both shards, wherever its transaction is still prepared, and
-- is done; a move without a decision ('preparing') gets ROLLBACK PREPARED
-- and is aborted, its account staying on the source.  Moves still run by a
-- live session (advisory lock), or whose remote sessions are still active
-- on a shard (a PREPARE may yet complete), are left for a later run.
-- Idempotent; run by every move and every sync_shards(), and runs
-- sync_shards() after committing a move.  Needs both shards of an open
-- move up (the error names the move; the cause names the shard).
-- Returns the number of moves resolved.
CREATE FUNCTION vpcflow.resolve_shard_moves(only_move bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    mv vpcflow.shard_moves;
    tag text;
    s text;
    g text;
    busy boolean;
    i integer;
    resolved integer := 0;
    committed integer := 0;
BEGIN
    FOR mv IN SELECT * FROM vpcflow.shard_moves x
              WHERE x.state IN ('preparing', 'committing') AND (only_move IS NULL OR x.move_id = only_move)
              ORDER BY x.move_id LOOP
        IF NOT pg_try_advisory_lock(hashtext('vpcflow.shard_moves'), mv.move_id::integer) THEN
            CONTINUE;   -- its session is still moving it
        END IF;
        BEGIN
            tag := regexp_replace(mv.gid_to, '_to$', '');
            busy := false;
            IF mv.state = 'preparing' THEN
                -- a remote session of the move still running (its coordinator
                -- session is gone) could yet PREPARE: give it 5 s to end
                FOREACH s IN ARRAY ARRAY[mv.to_shard, mv.from_shard] LOOP
                    PERFORM vpcflow.shard_connect('vpcflow_resolve', s, 'vpcflow_resolve', false);
                    FOR i IN 1..50 LOOP
                        busy := vpcflow.shard_value('vpcflow_resolve', format(
                            'SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = %L', tag))::boolean;
                        EXIT WHEN NOT busy;
                        PERFORM pg_sleep(0.1);
                    END LOOP;
                    EXIT WHEN busy;
                END LOOP;
            END IF;
            IF busy THEN
                RAISE WARNING 'move % of account %: a session of it is still active on a shard; left for a later run',
                    mv.move_id, mv.account_id;
            ELSE
                FOREACH s IN ARRAY ARRAY[mv.to_shard, mv.from_shard] LOOP
                    g := CASE WHEN s = mv.to_shard THEN mv.gid_to ELSE mv.gid_from END;
                    PERFORM vpcflow.shard_connect('vpcflow_resolve', s, 'vpcflow_resolve', false);
                    IF vpcflow.shard_value('vpcflow_resolve', format(
                           'SELECT count(*) > 0 FROM pg_prepared_xacts WHERE gid = %L', g))::boolean THEN
                        PERFORM vpcflow.shard_exec('vpcflow_resolve', format('%s PREPARED %L',
                            CASE mv.state WHEN 'committing' THEN 'COMMIT' ELSE 'ROLLBACK' END, g));
                    END IF;
                END LOOP;
                IF mv.state = 'committing' THEN
                    UPDATE vpcflow.shard_moves x SET state = 'done', finished_at = clock_timestamp()
                    WHERE x.move_id = mv.move_id;
                    committed := committed + 1;
                ELSE
                    UPDATE vpcflow.shard_moves x SET state = 'aborted', finished_at = clock_timestamp(),
                           error = coalesce(x.error, 'interrupted before its decision; rolled back by resolve_shard_moves')
                    WHERE x.move_id = mv.move_id;
                END IF;
                UPDATE vpcflow.shard_accounts a SET moving = false
                WHERE a.account_id OPERATOR(vpcflow.=) mv.account_id;
                resolved := resolved + 1;
            END IF;
            PERFORM vpcflow.shard_disconnect('vpcflow_resolve');
        EXCEPTION WHEN OTHERS THEN
            PERFORM vpcflow.shard_disconnect('vpcflow_resolve');
            PERFORM pg_advisory_unlock(hashtext('vpcflow.shard_moves'), mv.move_id::integer);
            RAISE EXCEPTION 'cannot resolve move % of account % (% -> %, %): %', mv.move_id, mv.account_id,
                mv.from_shard, mv.to_shard, mv.state, SQLERRM
                USING ERRCODE = 'connection_failure', HINT = 'Run vpcflow.resolve_shard_moves() once both shards answer.';
        END;
        PERFORM pg_advisory_unlock(hashtext('vpcflow.shard_moves'), mv.move_id::integer);
    END LOOP;
    -- the coordinator's partitions follow the map (sync_shards runs this
    -- first: the nested call finds nothing left to resolve)
    IF committed > 0 THEN
        PERFORM vpcflow.sync_shards();
    END IF;
    RETURN resolved;
END
$fn$;

-- Move an account to another shard: CALL vpcflow.move_account('1234...', 's3')
-- (outside a transaction block: it commits between its steps).  See the
-- functions above for the steps.  A load of the account must not run
-- meanwhile (the moving flag makes vpcflow-load refuse its files).
-- Refused when a load of the account also holds flows of another account
-- (move those together), when the source cannot delete (warm days), or
-- when a shard has max_prepared_transactions = 0.
CREATE PROCEDURE vpcflow.move_account(account text, to_shard text, INOUT files bigint DEFAULT NULL,
                                      INOUT flows bigint DEFAULT NULL, INOUT rollup_rows bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $fn$
DECLARE
    m bigint;
    err text;
    code text;
    detail text;
BEGIN
    PERFORM vpcflow.resolve_shard_moves();
    m := vpcflow.move_begin(account, to_shard);
    -- the log row (with the gids) and the decision must survive a crash,
    -- whatever the server's synchronous_commit
    PERFORM pg_catalog.set_config('synchronous_commit', 'on', true);
    COMMIT;
    IF m IS NULL THEN
        files := 0; flows := 0; rollup_rows := 0;
        RETURN;
    END IF;
    BEGIN
        PERFORM vpcflow.move_prepare(m);
        PERFORM vpcflow.move_test_hook('after_prepare');
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, code = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    END;
    IF err IS NOT NULL THEN
        PERFORM vpcflow.move_abort(m, err);
        COMMIT;
        RAISE EXCEPTION 'move % of account % to shard % failed and was rolled back: %', m, account, to_shard, err
            USING ERRCODE = code, DETAIL = detail;
    END IF;
    COMMIT;
    PERFORM vpcflow.move_decide(m);
    PERFORM pg_catalog.set_config('synchronous_commit', 'on', true);
    COMMIT;                                     -- the decision is durable
    PERFORM vpcflow.move_test_hook('after_decision');
    SELECT f.files, f.flows, f.rollup_rows INTO files, flows, rollup_rows FROM vpcflow.move_finish(m) f;
    COMMIT;
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
REVOKE EXECUTE ON PROCEDURE vpcflow.move_account(text, text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.shard_dblink(), vpcflow.shard_exec(text, text), vpcflow.shard_value(text, text),
      vpcflow.shard_disconnect(text), vpcflow.shard_connect(text, text, text, boolean),
      vpcflow.move_test_hook(text), vpcflow.move_begin(text, text), vpcflow.move_copy(regclass, text, text, text),
      vpcflow.move_prepare(bigint), vpcflow.move_abort(bigint, text), vpcflow.move_decide(bigint),
      vpcflow.move_finish(bigint), vpcflow.resolve_shard_moves(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.partition_request_make() FROM PUBLIC;
GRANT INSERT ON vpcflow.partition_requests TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.shard_fanout(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.sync_shards() TO vpcflow_admin, vpcflow_writer;
GRANT EXECUTE ON FUNCTION vpcflow.place_account(text, text), vpcflow.shard_fanout(text) TO vpcflow_admin;
-- moves: run by admins; the resolver also by sync_shards (as vpcflow_admin)
GRANT EXECUTE ON PROCEDURE vpcflow.move_account(text, text, bigint, bigint, bigint) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.shard_dblink(), vpcflow.shard_exec(text, text), vpcflow.shard_value(text, text),
      vpcflow.shard_disconnect(text), vpcflow.shard_connect(text, text, text, boolean),
      vpcflow.move_test_hook(text), vpcflow.move_begin(text, text), vpcflow.move_copy(regclass, text, text, text),
      vpcflow.move_prepare(bigint), vpcflow.move_abort(bigint, text), vpcflow.move_decide(bigint),
      vpcflow.move_finish(bigint), vpcflow.resolve_shard_moves(bigint) TO vpcflow_admin;
ALTER TABLE vpcflow.shard_moves OWNER TO vpcflow_admin;
GRANT SELECT, INSERT, UPDATE ON vpcflow.shard_moves TO vpcflow_admin;

-- The shard map names accounts: protected like every per-account table
-- (granted to writers and admins only); the loader reads all of it.
SELECT vpcflow.protect_relation('vpcflow.shard_accounts', writer => 'none');
CREATE POLICY vpcflow_writer_read ON vpcflow.shard_accounts FOR SELECT TO vpcflow_writer USING (true);
-- the move log names accounts too: admins only
SELECT vpcflow.protect_relation('vpcflow.shard_moves', writer => 'none');
