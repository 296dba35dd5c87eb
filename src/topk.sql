-- Heavy hitters (topk.c): vpcflow.topk(key, weight, k [, capacity]) builds
-- a space-saving sketch of type vpcflow.topk_state; vpcflow.topk_entries
-- unnests one into its top k (key, weight, error) rows; vpcflow.topk_merge
-- merges stored states.  Reported weights overestimate by at most error,
-- and error <= total weight / capacity (docs/aggregates.md).

CREATE TYPE vpcflow.topk_state;
CREATE FUNCTION vpcflow.topk_state_in(cstring) RETURNS vpcflow.topk_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_state_out(vpcflow.topk_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_state_recv(internal) RETURNS vpcflow.topk_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_state_send(vpcflow.topk_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vpcflow.topk_state (
    INPUT = vpcflow.topk_state_in, OUTPUT = vpcflow.topk_state_out,
    RECEIVE = vpcflow.topk_state_recv, SEND = vpcflow.topk_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE vpcflow.topk_state IS
    'Space-saving top-k sketch (version 1; see docs/aggregates.md)';

CREATE FUNCTION vpcflow.topk_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_final(internal) RETURNS vpcflow.topk_state
    AS 'MODULE_PATHNAME', 'topk_serialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- One aggregate per key type, with and without an explicit capacity.
DO $topk$
DECLARE
    kt text[];
BEGIN
    FOREACH kt SLICE 1 IN ARRAY ARRAY[['smallint', 'int2'], ['integer', 'int4'],
                                      ['bigint', 'int8'], ['text', 'text'], ['inet', 'inet']] LOOP
        EXECUTE format($sql$
            CREATE FUNCTION vpcflow.topk_%2$s_transfn(internal, %1$s, bigint, integer) RETURNS internal
                AS 'MODULE_PATHNAME', 'topk_%3$s_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
            CREATE FUNCTION vpcflow.topk_%2$s_transfn(internal, %1$s, bigint, integer, integer) RETURNS internal
                AS 'MODULE_PATHNAME', 'topk_%3$s_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
            CREATE AGGREGATE vpcflow.topk(key %1$s, weight bigint, k integer) (
                SFUNC = vpcflow.topk_%2$s_transfn, STYPE = internal,
                FINALFUNC = vpcflow.topk_final, COMBINEFUNC = vpcflow.topk_combine,
                SERIALFUNC = vpcflow.topk_serialize, DESERIALFUNC = vpcflow.topk_deserialize,
                PARALLEL = SAFE);
            CREATE AGGREGATE vpcflow.topk(key %1$s, weight bigint, k integer, capacity integer) (
                SFUNC = vpcflow.topk_%2$s_transfn, STYPE = internal,
                FINALFUNC = vpcflow.topk_final, COMBINEFUNC = vpcflow.topk_combine,
                SERIALFUNC = vpcflow.topk_serialize, DESERIALFUNC = vpcflow.topk_deserialize,
                PARALLEL = SAFE);
        $sql$, kt[1], kt[2], kt[2]);
    END LOOP;
END
$topk$;

-- Address pairs: topk(src, dst, weight, k [, capacity]), unnested by
-- topk_pairs (topk_entries prints a pair as 'src dst').
CREATE FUNCTION vpcflow.topk_inet_pair_transfn(internal, inet, inet, bigint, integer) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_inet_pair_transfn(internal, inet, inet, bigint, integer, integer) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE vpcflow.topk(src inet, dst inet, weight bigint, k integer) (
    SFUNC = vpcflow.topk_inet_pair_transfn, STYPE = internal,
    FINALFUNC = vpcflow.topk_final, COMBINEFUNC = vpcflow.topk_combine,
    SERIALFUNC = vpcflow.topk_serialize, DESERIALFUNC = vpcflow.topk_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE vpcflow.topk(src inet, dst inet, weight bigint, k integer, capacity integer) (
    SFUNC = vpcflow.topk_inet_pair_transfn, STYPE = internal,
    FINALFUNC = vpcflow.topk_final, COMBINEFUNC = vpcflow.topk_combine,
    SERIALFUNC = vpcflow.topk_serialize, DESERIALFUNC = vpcflow.topk_deserialize,
    PARALLEL = SAFE);

CREATE FUNCTION vpcflow.topk_merge_transfn(internal, vpcflow.topk_state) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE vpcflow.topk_merge(vpcflow.topk_state) (
    SFUNC = vpcflow.topk_merge_transfn, STYPE = internal,
    FINALFUNC = vpcflow.topk_final, COMBINEFUNC = vpcflow.topk_combine,
    SERIALFUNC = vpcflow.topk_serialize, DESERIALFUNC = vpcflow.topk_deserialize,
    PARALLEL = SAFE);

-- The top k entries, heaviest first (ties by key): the true weight of key
-- lies in [weight - error, weight].  Keys print as their type prints.
CREATE FUNCTION vpcflow.topk_entries(state vpcflow.topk_state,
                                     OUT key text, OUT weight bigint, OUT error bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
CREATE FUNCTION vpcflow.topk_pairs(state vpcflow.topk_state,
                                   OUT src inet, OUT dst inet, OUT weight bigint, OUT error bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
CREATE FUNCTION vpcflow.topk_total(vpcflow.topk_state) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.topk_union(vpcflow.topk_state, vpcflow.topk_state) RETURNS vpcflow.topk_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
