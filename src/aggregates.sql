-- Exact flow statistics as mergeable aggregates (aggregates.c): every
-- aggregate keeps a C state and has combine, serialize and deserialize
-- functions, so it runs in parallel workers.  vpcflow.flow_stats_state is
-- the storable form of a flow_stats state, for rollup tables.  Stored
-- forms: docs/aggregates.md.

-- reject_rate(action): rejects / flows with an action (NULL without any)
CREATE FUNCTION vpcflow.reject_rate_transfn(internal, vpcflow.flow_action) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.reject_rate_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.reject_rate_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.reject_rate_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.reject_rate_final(internal) RETURNS float8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE vpcflow.reject_rate(vpcflow.flow_action) (
    SFUNC = vpcflow.reject_rate_transfn, STYPE = internal, SSPACE = 16,
    FINALFUNC = vpcflow.reject_rate_final,
    COMBINEFUNC = vpcflow.reject_rate_combine,
    SERIALFUNC = vpcflow.reject_rate_serialize,
    DESERIALFUNC = vpcflow.reject_rate_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE vpcflow.reject_rate(vpcflow.flow_action) IS
    'REJECT flows / flows with an action (NULL when none has one)';

-- flow_stats: the state type first
CREATE TYPE vpcflow.flow_stats_state;
CREATE FUNCTION vpcflow.flow_stats_state_in(cstring) RETURNS vpcflow.flow_stats_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_state_out(vpcflow.flow_stats_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_state_recv(internal) RETURNS vpcflow.flow_stats_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_state_send(vpcflow.flow_stats_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vpcflow.flow_stats_state (
    INPUT = vpcflow.flow_stats_state_in, OUTPUT = vpcflow.flow_stats_state_out,
    RECEIVE = vpcflow.flow_stats_state_recv, SEND = vpcflow.flow_stats_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = main);
COMMENT ON TYPE vpcflow.flow_stats_state IS
    'Mergeable state of vpcflow.flow_stats (version 1, 90 bytes; see docs/aggregates.md)';

CREATE TYPE vpcflow.flow_stats AS (
    flows        bigint,
    packets      numeric,
    bytes        numeric,
    accepts      bigint,
    rejects      bigint,
    first_start  timestamptz,
    last_end     timestamptz,
    reject_rate  float8
);

CREATE FUNCTION vpcflow.flow_stats_transfn(internal, vpcflow.flow_action, bigint, bigint,
                                           timestamptz, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_merge_transfn(internal, vpcflow.flow_stats_state) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_final(internal) RETURNS vpcflow.flow_stats
    AS 'MODULE_PATHNAME', 'flow_stats_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_state_final(internal) RETURNS vpcflow.flow_stats_state
    AS 'MODULE_PATHNAME', 'flow_stats_serialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- One pass: flows (rows), packets, bytes (sums, as sum() gives them),
-- accepts, rejects, first start, last end and the reject rate.
CREATE AGGREGATE vpcflow.flow_stats(action vpcflow.flow_action, packets bigint, bytes bigint,
                                    start_time timestamptz, end_time timestamptz) (
    SFUNC = vpcflow.flow_stats_transfn, STYPE = internal, SSPACE = 96,
    FINALFUNC = vpcflow.flow_stats_final,
    COMBINEFUNC = vpcflow.flow_stats_combine,
    SERIALFUNC = vpcflow.flow_stats_serialize,
    DESERIALFUNC = vpcflow.flow_stats_deserialize,
    PARALLEL = SAFE);

-- The same, as a storable state (an empty state for no rows).
CREATE AGGREGATE vpcflow.flow_stats_state(action vpcflow.flow_action, packets bigint, bytes bigint,
                                          start_time timestamptz, end_time timestamptz) (
    SFUNC = vpcflow.flow_stats_transfn, STYPE = internal, SSPACE = 96,
    FINALFUNC = vpcflow.flow_stats_state_final,
    COMBINEFUNC = vpcflow.flow_stats_combine,
    SERIALFUNC = vpcflow.flow_stats_serialize,
    DESERIALFUNC = vpcflow.flow_stats_deserialize,
    PARALLEL = SAFE);

-- Stored states merged into one (rollups of rollups).
CREATE AGGREGATE vpcflow.flow_stats_merge(vpcflow.flow_stats_state) (
    SFUNC = vpcflow.flow_stats_merge_transfn, STYPE = internal, SSPACE = 96,
    FINALFUNC = vpcflow.flow_stats_state_final,
    COMBINEFUNC = vpcflow.flow_stats_combine,
    SERIALFUNC = vpcflow.flow_stats_serialize,
    DESERIALFUNC = vpcflow.flow_stats_deserialize,
    PARALLEL = SAFE);

-- The statistics of a stored state, and two states added.
CREATE FUNCTION vpcflow.flow_stats_final(vpcflow.flow_stats_state) RETURNS vpcflow.flow_stats
    AS 'MODULE_PATHNAME', 'flow_stats_state_result' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_stats_union(vpcflow.flow_stats_state, vpcflow.flow_stats_state)
    RETURNS vpcflow.flow_stats_state
    AS 'MODULE_PATHNAME', 'flow_stats_state_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Egress: traffic to addresses outside private and local ranges
-- (10/8, 172.16/12, 192.168/16, 100.64/10, 127/8, 169.254/16, fc00::/7,
-- fe80::/10, ::1, and IPv4-mapped forms of these).
CREATE FUNCTION vpcflow.is_private_address(inet) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.egress_bytes_transfn(internal, inet, bigint) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.sum128_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.sum128_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.sum128_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.sum128_final(internal) RETURNS numeric
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- sum(bytes) of the rows whose destination is not private
CREATE AGGREGATE vpcflow.egress_bytes(dstaddr inet, bytes bigint) (
    SFUNC = vpcflow.egress_bytes_transfn, STYPE = internal, SSPACE = 32,
    FINALFUNC = vpcflow.sum128_final,
    COMBINEFUNC = vpcflow.sum128_combine,
    SERIALFUNC = vpcflow.sum128_serialize,
    DESERIALFUNC = vpcflow.sum128_deserialize,
    PARALLEL = SAFE);
