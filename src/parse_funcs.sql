-- Parsing flow-log text in SQL.

-- The fields the parser knows, with their store columns.
CREATE FUNCTION vpcflow.fields(
    OUT ordinal integer, OUT field text, OUT column_name text,
    OUT column_type text, OUT version integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vpcflow_fields'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Rows of the store's shape from flow-log text: a header line (or
-- format, for headerless text) says which field each column holds.
-- INSERT INTO vpcflow.flows SELECT * FROM vpcflow.parse(...) loads them.
CREATE FUNCTION vpcflow.parse(data text, format text DEFAULT NULL)
RETURNS SETOF vpcflow.flows
AS 'MODULE_PATHNAME', 'vpcflow_parse'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
