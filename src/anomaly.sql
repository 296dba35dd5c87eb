-- Baselines and the anomaly score (anomaly.c, baseline.c).
-- vpcflow.baseline: per hour-of-week slot, a log-bucket histogram of a
-- metric's values (version 1; docs/detections.md).  It merges exactly, so
-- baselines of parts (minutes, partitions, workers) add up.
-- vpcflow.anomaly_score scores an observation against the median and MAD
-- of the entity's baseline (or its group's, when the entity is new).

CREATE TYPE vpcflow.baseline;
CREATE FUNCTION vpcflow.baseline_in(cstring) RETURNS vpcflow.baseline
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_out(vpcflow.baseline) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_recv(internal) RETURNS vpcflow.baseline
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_send(vpcflow.baseline) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE vpcflow.baseline (
    INPUT = vpcflow.baseline_in, OUTPUT = vpcflow.baseline_out,
    RECEIVE = vpcflow.baseline_recv, SEND = vpcflow.baseline_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE vpcflow.baseline IS
    'Seasonal robust baseline: log-bucket histogram per hour-of-week (version 1; see docs/detections.md)';

CREATE FUNCTION vpcflow.baseline_transfn(internal, double precision, timestamptz) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_transfn(internal, double precision, timestamptz, bigint) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_merge_transfn(internal, vpcflow.baseline) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_final(internal) RETURNS vpcflow.baseline
    AS 'MODULE_PATHNAME', 'baseline_serialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- baseline(value, at): values >= 0; rows with a NULL value or time are skipped.
CREATE AGGREGATE vpcflow.baseline(value double precision, at timestamptz) (
    SFUNC = vpcflow.baseline_transfn, STYPE = internal,
    FINALFUNC = vpcflow.baseline_final, COMBINEFUNC = vpcflow.baseline_combine,
    SERIALFUNC = vpcflow.baseline_serialize, DESERIALFUNC = vpcflow.baseline_deserialize,
    PARALLEL = SAFE);
-- baseline(value, at, count): count observations of value (zero-filling quiet minutes)
CREATE AGGREGATE vpcflow.baseline(value double precision, at timestamptz, count bigint) (
    SFUNC = vpcflow.baseline_transfn, STYPE = internal,
    FINALFUNC = vpcflow.baseline_final, COMBINEFUNC = vpcflow.baseline_combine,
    SERIALFUNC = vpcflow.baseline_serialize, DESERIALFUNC = vpcflow.baseline_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE vpcflow.baseline_merge(vpcflow.baseline) (
    SFUNC = vpcflow.baseline_merge_transfn, STYPE = internal,
    FINALFUNC = vpcflow.baseline_final, COMBINEFUNC = vpcflow.baseline_combine,
    SERIALFUNC = vpcflow.baseline_serialize, DESERIALFUNC = vpcflow.baseline_deserialize,
    PARALLEL = SAFE);

CREATE FUNCTION vpcflow.baseline_union(vpcflow.baseline, vpcflow.baseline) RETURNS vpcflow.baseline
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- one observation added; a NULL baseline is empty, a NULL value or time adds nothing
CREATE FUNCTION vpcflow.baseline_add(vpcflow.baseline, value double precision, at timestamptz)
    RETURNS vpcflow.baseline
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION vpcflow.baseline_size(vpcflow.baseline) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- statistics of the hour-of-week slot of at (all hours when at is NULL)
CREATE FUNCTION vpcflow.baseline_stats(baseline vpcflow.baseline, at timestamptz DEFAULT NULL,
                                       OUT n bigint, OUT median double precision,
                                       OUT mad double precision, OUT meanad double precision)
    RETURNS record
    AS 'MODULE_PATHNAME', 'baseline_stats_fn' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE TYPE vpcflow.anomaly AS (
    score          double precision,  -- deviation in the scored direction, >= 0; NULL without history
    metric         text,
    observed       double precision,
    expected       double precision,  -- the baseline median
    spread         double precision,  -- robust standard deviation (1.4826 MAD, ...)
    deviation      double precision,  -- (observed - expected) / spread, signed
    baseline_size  bigint,            -- observations behind expected and spread
    basis          text,              -- hour_of_week, all_hours, group_hour_of_week, group_all_hours, insufficient_history
    reason         text               -- the above as a sentence
);

CREATE FUNCTION vpcflow.anomaly_score(
    observed double precision, baseline vpcflow.baseline, at timestamptz DEFAULT NULL,
    group_baseline vpcflow.baseline DEFAULT NULL, metric text DEFAULT NULL,
    min_history integer DEFAULT 30, min_spread double precision DEFAULT 1,
    direction text DEFAULT 'high')
RETURNS vpcflow.anomaly
AS 'MODULE_PATHNAME', 'vpcflow_anomaly_score' LANGUAGE C IMMUTABLE PARALLEL SAFE;
