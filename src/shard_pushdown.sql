-- Partial aggregation on the shards (src/shard_pushdown.c, docs/scaleout.md).
-- With enable_partitionwise_aggregate on, a GROUP BY over the coordinator's
-- foreign partitions runs on each shard and returns, per group, each
-- aggregate's partial state: what the local Partial Aggregate would emit.
-- An aggregate whose result is its state (count, sum(int4), min, max) is
-- sent as itself.  The others need a "shadow" aggregate here, named
-- vpcflow.partial_<name>, with the same arguments, transition function,
-- state type and initial value, and as final function the serialization
-- function (internal states) or none: it returns the partial state.  The
-- planner checks that equality in the catalog before using one, so a
-- shadow that stopped matching PostgreSQL's aggregate is simply not used.

-- sum(bigint) and avg(bigint): int8_avg_accum over an int128 state, serialized
CREATE AGGREGATE vpcflow.partial_sum(bigint) (
    SFUNC = pg_catalog.int8_avg_accum, STYPE = internal, SSPACE = 48,
    FINALFUNC = pg_catalog.int8_avg_serialize,
    COMBINEFUNC = pg_catalog.int8_avg_combine,
    SERIALFUNC = pg_catalog.int8_avg_serialize, DESERIALFUNC = pg_catalog.int8_avg_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE vpcflow.partial_avg(bigint) (
    SFUNC = pg_catalog.int8_avg_accum, STYPE = internal, SSPACE = 48,
    FINALFUNC = pg_catalog.int8_avg_serialize,
    COMBINEFUNC = pg_catalog.int8_avg_combine,
    SERIALFUNC = pg_catalog.int8_avg_serialize, DESERIALFUNC = pg_catalog.int8_avg_deserialize,
    PARALLEL = SAFE);
-- avg(integer) / avg(smallint): a {count, sum} bigint[] state, no final function
CREATE AGGREGATE vpcflow.partial_avg(integer) (
    SFUNC = pg_catalog.int4_avg_accum, STYPE = bigint[], INITCOND = '{0,0}',
    COMBINEFUNC = pg_catalog.int4_avg_combine, PARALLEL = SAFE);
CREATE AGGREGATE vpcflow.partial_avg(smallint) (
    SFUNC = pg_catalog.int2_avg_accum, STYPE = bigint[], INITCOND = '{0,0}',
    COMBINEFUNC = pg_catalog.int4_avg_combine, PARALLEL = SAFE);

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
