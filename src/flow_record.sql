-- vpcflow.flow_record: one record (v2..v5 fields) in a fixed 320-byte value.
-- Text form: the v2 default line, or the 29-field v5 line when v3+ fields
-- are present.

CREATE TYPE vpcflow.flow_record;

CREATE FUNCTION vpcflow.flow_record_in(cstring) RETURNS vpcflow.flow_record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_out(vpcflow.flow_record) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_recv(internal) RETURNS vpcflow.flow_record
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_send(vpcflow.flow_record) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vpcflow.flow_record (
    INPUT = vpcflow.flow_record_in,
    OUTPUT = vpcflow.flow_record_out,
    RECEIVE = vpcflow.flow_record_recv,
    SEND = vpcflow.flow_record_send,
    INTERNALLENGTH = 320,
    ALIGNMENT = double,
    STORAGE = plain
);

CREATE CAST (vpcflow.flow_record AS text) WITH INOUT;
CREATE CAST (text AS vpcflow.flow_record) WITH INOUT;

CREATE FUNCTION vpcflow.parse_record(line text, format text DEFAULT NULL)
RETURNS vpcflow.flow_record
AS 'MODULE_PATHNAME', 'vpcflow_parse_record'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vpcflow.flow_record_get_int8(vpcflow.flow_record, integer) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_get_time(vpcflow.flow_record, integer) RETURNS timestamptz
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_get_inet(vpcflow.flow_record, integer) RETURNS inet
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_get_text(vpcflow.flow_record, integer) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- One accessor per field, named and typed as the store's column:
-- vpcflow.srcaddr(r) inet, vpcflow.bytes(r) bigint, vpcflow.action(r) ...
-- They are SQL functions so the planner inlines them.
DO $accessors$
DECLARE
    f record;
    getter text;
BEGIN
    FOR f IN SELECT * FROM vpcflow.fields() WHERE version <= 5 ORDER BY ordinal LOOP
        getter := CASE
            WHEN f.column_type IN ('smallint', 'integer', 'bigint') THEN 'flow_record_get_int8'
            WHEN f.column_type = 'timestamptz' THEN 'flow_record_get_time'
            WHEN f.column_type = 'inet' THEN 'flow_record_get_inet'
            ELSE 'flow_record_get_text' END;
        EXECUTE format(
            'CREATE FUNCTION vpcflow.%I(r vpcflow.flow_record) RETURNS %s '
            'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
            'RETURN vpcflow.%I(r, %s)::%s',
            f.column_name, f.column_type, getter, f.ordinal, f.column_type);
    END LOOP;
END
$accessors$;

CREATE FUNCTION vpcflow.flow_record_eq(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.flow_record_ne(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.flow_record_lt(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_le(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_gt(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_ge(vpcflow.flow_record, vpcflow.flow_record) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_cmp(vpcflow.flow_record, vpcflow.flow_record) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_hash(vpcflow.flow_record) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.flow_record_hash_extended(vpcflow.flow_record, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
