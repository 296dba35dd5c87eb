-- Partial aggregation on the shards (src/shard_pushdown.c, docs/scaleout.md).
-- With enable_partitionwise_aggregate on, a GROUP BY over the coordinator's
-- foreign partitions runs on each shard and returns, per group, each
-- aggregate's partial state: what the local Partial Aggregate would emit.
-- An aggregate whose result is its state (count, sum(int4), min, max) is
-- sent as itself.  The others need a "shadow" aggregate, named
-- vpcflow.partial_<name>, with the same arguments, transition function,
-- state type and initial value, and as final function the serialization
-- function (internal states) or none: it returns the partial state.  The
-- planner checks that equality in the catalog before using one, so a
-- shadow that stopped matching PostgreSQL's aggregate is simply not used.

-- The shadows are generated from the catalog, for the aggregates where the
-- result is not the state: PostgreSQL's sum/avg/stddev/variance family and
-- every vpcflow aggregate (topk, hll, approx_distinct, reject_rate,
-- flow_stats, ...).  Polymorphic and variadic ones are left out (no path;
-- the plan stays local).  E.g. sum(bigint) gives
--   vpcflow.partial_sum(bigint): SFUNC int8_avg_accum, STYPE internal,
--   FINALFUNC int8_avg_serialize (the bytea its Finalize Aggregate reads).
DO $shadows$
DECLARE
    a record;
BEGIN
    FOR a IN
        SELECT p.proname, pg_catalog.oidvectortypes(p.proargtypes) AS args,
               g.aggtranstype = 'pg_catalog.internal'::pg_catalog.regtype AS internal,
               pg_catalog.format_type(g.aggtranstype, NULL) AS stype, g.aggtransspace, g.agginitval,
               (SELECT pg_catalog.format('%I.%I', n.nspname, f.proname) FROM pg_catalog.pg_proc f
                JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = g.aggtransfn) AS sfunc,
               (SELECT pg_catalog.format('%I.%I', n.nspname, f.proname) FROM pg_catalog.pg_proc f
                JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = g.aggcombinefn) AS combinefn,
               (SELECT pg_catalog.format('%I.%I', n.nspname, f.proname) FROM pg_catalog.pg_proc f
                JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = g.aggserialfn) AS serialfn,
               (SELECT pg_catalog.format('%I.%I', n.nspname, f.proname) FROM pg_catalog.pg_proc f
                JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE f.oid = g.aggdeserialfn) AS deserialfn
        FROM pg_catalog.pg_aggregate g
        JOIN pg_catalog.pg_proc p ON p.oid = g.aggfnoid
        WHERE g.aggkind = 'n' AND g.aggcombinefn <> 0 AND p.provariadic = 0
          AND (p.pronamespace = 'vpcflow'::pg_catalog.regnamespace
               OR (p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
                   AND p.proname IN ('sum', 'avg', 'stddev', 'stddev_pop', 'stddev_samp',
                                     'variance', 'var_pop', 'var_samp')))
          AND p.proname NOT LIKE 'partial\_%'
          AND CASE WHEN g.aggtranstype = 'pg_catalog.internal'::pg_catalog.regtype
                   THEN g.aggserialfn <> 0 AND g.aggdeserialfn <> 0
                   ELSE g.aggfinalfn <> 0 END
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                          WHERE t.oid = ANY (p.proargtypes::pg_catalog.oid[] || g.aggtranstype)
                            AND t.typtype = 'p' AND t.oid <> 'pg_catalog.internal'::pg_catalog.regtype)
        ORDER BY 1, 2
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE AGGREGATE vpcflow.%I(%s) (SFUNC = %s, STYPE = %s%s%s, COMBINEFUNC = %s%s, PARALLEL = SAFE)',
            'partial_' || a.proname, a.args, a.sfunc, a.stype,
            CASE WHEN a.aggtransspace > 0 THEN ', SSPACE = ' || a.aggtransspace ELSE '' END,
            CASE WHEN a.internal THEN ', FINALFUNC = ' || a.serialfn
                 WHEN a.agginitval IS NOT NULL THEN pg_catalog.format(', INITCOND = %L', a.agginitval)
                 ELSE '' END,
            a.combinefn,
            CASE WHEN a.internal THEN pg_catalog.format(', SERIALFUNC = %s, DESERIALFUNC = %s',
                                                        a.serialfn, a.deserialfn)
                 ELSE '' END);
    END LOOP;
END
$shadows$;

-- The coordinator's database settings for the pushdown: partitionwise
-- aggregation on (the planner then asks for partial aggregates per foreign
-- partition) and vpcflow loaded in every session (its planner hook must be
-- in place before the first query, which may use none of vpcflow's
-- functions).  Called by add_shard; needs a superuser (session_preload_libraries).
CREATE FUNCTION vpcflow.coordinator_settings() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    libs text := current_setting('session_preload_libraries');
BEGIN
    EXECUTE format('ALTER DATABASE %I SET enable_partitionwise_aggregate = on', current_database());
    IF NOT 'vpcflow' = ANY (string_to_array(replace(libs, ' ', ''), ','))
       AND NOT 'vpcflow' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) THEN
        EXECUTE format('ALTER DATABASE %I SET session_preload_libraries = %L', current_database(),
                       concat_ws(', ', nullif(libs, ''), 'vpcflow'));
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION vpcflow.coordinator_settings() FROM PUBLIC;
