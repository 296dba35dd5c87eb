-- Distinct counts (hll.c): a HyperLogLog sketch, type vpcflow.hll.
-- vpcflow.approx_distinct(key) is count(DISTINCT key) within ~1% (p = 14);
-- vpcflow.hll(key [, precision]) builds a storable sketch, hll_merge
-- merges stored sketches, hll_cardinality estimates (docs/aggregates.md).

CREATE TYPE vpcflow.hll;
CREATE FUNCTION vpcflow.hll_in(cstring) RETURNS vpcflow.hll
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_out(vpcflow.hll) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_recv(internal) RETURNS vpcflow.hll
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_send(vpcflow.hll) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vpcflow.hll (
    INPUT = vpcflow.hll_in, OUTPUT = vpcflow.hll_out,
    RECEIVE = vpcflow.hll_recv, SEND = vpcflow.hll_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE vpcflow.hll IS
    'HyperLogLog distinct-count sketch (version 1; see docs/aggregates.md)';

CREATE FUNCTION vpcflow.hll_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_final(internal) RETURNS vpcflow.hll
    AS 'MODULE_PATHNAME', 'hll_serialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_count_final(internal) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Per key type: approx_distinct(key), hll(key), hll(key, precision).
DO $hll$
DECLARE
    kt text[];
BEGIN
    FOREACH kt SLICE 1 IN ARRAY ARRAY[['smallint', 'int2'], ['integer', 'int4'],
                                      ['bigint', 'int8'], ['text', 'text'], ['inet', 'inet']] LOOP
        EXECUTE format($sql$
            CREATE FUNCTION vpcflow.hll_%2$s_transfn(internal, %1$s) RETURNS internal
                AS 'MODULE_PATHNAME', 'hll_%2$s_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
            CREATE FUNCTION vpcflow.hll_%2$s_transfn(internal, %1$s, integer) RETURNS internal
                AS 'MODULE_PATHNAME', 'hll_%2$s_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
            CREATE AGGREGATE vpcflow.approx_distinct(key %1$s) (
                SFUNC = vpcflow.hll_%2$s_transfn, STYPE = internal,
                FINALFUNC = vpcflow.hll_count_final, COMBINEFUNC = vpcflow.hll_combine,
                SERIALFUNC = vpcflow.hll_serialize, DESERIALFUNC = vpcflow.hll_deserialize,
                PARALLEL = SAFE);
            CREATE AGGREGATE vpcflow.hll(key %1$s) (
                SFUNC = vpcflow.hll_%2$s_transfn, STYPE = internal,
                FINALFUNC = vpcflow.hll_final, COMBINEFUNC = vpcflow.hll_combine,
                SERIALFUNC = vpcflow.hll_serialize, DESERIALFUNC = vpcflow.hll_deserialize,
                PARALLEL = SAFE);
            CREATE AGGREGATE vpcflow.hll(key %1$s, "precision" integer) (
                SFUNC = vpcflow.hll_%2$s_transfn, STYPE = internal,
                FINALFUNC = vpcflow.hll_final, COMBINEFUNC = vpcflow.hll_combine,
                SERIALFUNC = vpcflow.hll_serialize, DESERIALFUNC = vpcflow.hll_deserialize,
                PARALLEL = SAFE);
        $sql$, kt[1], kt[2]);
    END LOOP;
END
$hll$;

CREATE FUNCTION vpcflow.hll_merge_transfn(internal, vpcflow.hll) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE vpcflow.hll_merge(vpcflow.hll) (
    SFUNC = vpcflow.hll_merge_transfn, STYPE = internal,
    FINALFUNC = vpcflow.hll_final, COMBINEFUNC = vpcflow.hll_combine,
    SERIALFUNC = vpcflow.hll_serialize, DESERIALFUNC = vpcflow.hll_deserialize,
    PARALLEL = SAFE);

CREATE FUNCTION vpcflow.hll_cardinality(vpcflow.hll) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_union(vpcflow.hll, vpcflow.hll) RETURNS vpcflow.hll
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.hll_precision(vpcflow.hll) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
