-- Baseline for bench/move.sh: the account move as it was before two-phase
-- commit (one coordinator transaction; postgres_fdw commits the two shard
-- transactions one after the other, so a crash between them could lose or
-- double the account).  Kept only to measure the two-phase move against it;
-- created in schema vpcflow_bench of the benchmark's throwaway coordinator.
CREATE SCHEMA IF NOT EXISTS vpcflow_bench;
CREATE OR REPLACE FUNCTION vpcflow_bench.move_account_fdw(account text, to_shard text,
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
