-- One-byte label types: vpcflow.flow_action, vpcflow.log_status,
-- vpcflow.flow_direction and vpcflow.cloud_provider (docs/providers.md).
-- They differ only in their labels (kept in C), so one template creates
-- each type, its comparison functions and its implicit cast to text
-- (operators: operators.sql).
DO $labels$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['flow_action', 'log_status', 'flow_direction', 'cloud_provider'] LOOP
        EXECUTE format($sql$
            CREATE TYPE vpcflow.%1$I;
            CREATE FUNCTION vpcflow.%2$I(cstring) RETURNS vpcflow.%1$I
                AS 'MODULE_PATHNAME', %2$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
            CREATE FUNCTION vpcflow.%3$I(vpcflow.%1$I) RETURNS cstring
                AS 'MODULE_PATHNAME', %3$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
            CREATE FUNCTION vpcflow.%4$I(internal) RETURNS vpcflow.%1$I
                AS 'MODULE_PATHNAME', %4$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
            CREATE FUNCTION vpcflow.%5$I(vpcflow.%1$I) RETURNS bytea
                AS 'MODULE_PATHNAME', %5$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
            CREATE TYPE vpcflow.%1$I (
                INPUT = vpcflow.%2$I, OUTPUT = vpcflow.%3$I,
                RECEIVE = vpcflow.%4$I, SEND = vpcflow.%5$I,
                INTERNALLENGTH = 1, PASSEDBYVALUE, ALIGNMENT = char,
                STORAGE = plain, CATEGORY = 'E');
            CREATE FUNCTION vpcflow.%6$I(vpcflow.%1$I) RETURNS text
                AS 'MODULE_PATHNAME', %6$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
            CREATE CAST (vpcflow.%1$I AS text) WITH FUNCTION vpcflow.%6$I(vpcflow.%1$I) AS IMPLICIT;
        $sql$, t, t || '_in', t || '_out', t || '_recv', t || '_send', t || '_to_text');

        EXECUTE format($sql$
            CREATE FUNCTION vpcflow.%1$I_eq(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_ne(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_lt(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_le(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_gt(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_ge(vpcflow.%1$I, vpcflow.%1$I) RETURNS bool
                AS 'MODULE_PATHNAME', 'label_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_cmp(vpcflow.%1$I, vpcflow.%1$I) RETURNS int4
                AS 'MODULE_PATHNAME', 'label_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_hash(vpcflow.%1$I) RETURNS int4
                AS 'MODULE_PATHNAME', 'label_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
            CREATE FUNCTION vpcflow.%1$I_hash_extended(vpcflow.%1$I, int8) RETURNS int8
                AS 'MODULE_PATHNAME', 'label_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
        $sql$, t);
    END LOOP;
END
$labels$;
