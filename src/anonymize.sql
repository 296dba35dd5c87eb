-- Pseudonymisation (docs/security.md): Crypto-PAn for addresses, a keyed
-- hash for resource ids, and an anonymised copy of a time range.

CREATE FUNCTION vpcflow.anonymize(addr inet, key bytea) RETURNS inet
    AS 'MODULE_PATHNAME', 'vpcflow_anonymize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vpcflow.anonymize(inet, bytea) IS
    'Crypto-PAn (prefix-preserving, AES-128) pseudonym of an IPv4 or IPv6 address under a 32-byte key; the mask length is kept';

CREATE FUNCTION vpcflow.anonymize_id(id text, key bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'vpcflow_anonymize_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vpcflow.anonymize_id(text, bytea) IS
    'Keyed (HMAC-SHA256) pseudonym of a resource id that keeps its known prefix (eni-, vpc-, ...) and digit count; other text (tags, ARNs) becomes 16 hex digits';

CREATE FUNCTION vpcflow.anonymize_id(id vpcflow.awsid, key bytea) RETURNS vpcflow.awsid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $fn$ SELECT vpcflow.anonymize_id(id::text, key)::vpcflow.awsid $fn$;

-- The rows of vpcflow.flows in [from_ts, to_ts) that the caller may read
-- (it runs as the caller, so row-level security applies), pseudonymised
-- column by column by type, so columns added later are covered:
--   inet                -> vpcflow.anonymize
--   vpcflow.awsid       -> vpcflow.anonymize_id
--   text                -> vpcflow.anonymize_id, except the columns listed
--                          in keep_text (AWS vocabulary, no identities)
--   jsonb (extra)       -> NULL: unknown content
--   ingest_id           -> NULL: it leads to file names
--   anything else       -> kept (numbers, times, labels)
CREATE FUNCTION vpcflow.anonymized_flows(from_ts timestamptz, to_ts timestamptz, key bytea)
RETURNS SETOF vpcflow.flows
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    keep_text constant text[] := ARRAY['type', 'region', 'az_id', 'sublocation_type',
        'pkt_src_aws_service', 'pkt_dst_aws_service', 'reject_reason',
        'interface_type', 'next_hop_az_id', 'next_hop_interface_type',
        'resource_type', 'tgw_src_az_id', 'tgw_dst_az_id', 'provider'];
    cols text;
BEGIN
    IF key IS NULL OR octet_length(key) <> 32 THEN
        RAISE EXCEPTION 'anonymized_flows needs a 32-byte key'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(
             CASE
               WHEN a.attname = 'ingest_id' OR a.atttypid = 'jsonb'::regtype
                 THEN format('NULL::%s', format_type(a.atttypid, a.atttypmod))
               WHEN a.atttypid = 'inet'::regtype
                 THEN format('vpcflow.anonymize(f.%I, $3)', a.attname)
               WHEN a.atttypid = 'vpcflow.awsid'::regtype
                 THEN format('vpcflow.anonymize_id(f.%I, $3)', a.attname)
               WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype)
                    AND NOT a.attname = ANY (keep_text)
                 THEN format('vpcflow.anonymize_id(f.%I::text, $3)', a.attname)
               ELSE format('f.%I', a.attname)
             END, ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = 'vpcflow.flows'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    RETURN QUERY EXECUTE format(
        'SELECT %s FROM vpcflow.flows f WHERE f.start_time >= $1 AND f.start_time < $2', cols)
        USING from_ts, to_ts, key;
END
$fn$;

-- Publish an anonymised copy of [from_ts, to_ts) as a new table target
-- (schema.table; it must not exist).  Runs as the
-- caller: the copy holds what the caller may read, in a table it owns.
-- Returns the number of rows copied.  For a file instead:
--   \copy (SELECT * FROM vpcflow.anonymized_flows(from, to, key)) TO 'x.csv' CSV HEADER
CREATE FUNCTION vpcflow.publish_anonymized(target text, from_ts timestamptz,
                                           to_ts timestamptz, key bytea)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    parts text[] := parse_ident(target);
    qualified text;
    n bigint;
BEGIN
    -- schema-qualified only: search_path is pinned here, so an unqualified
    -- name could not mean what the caller's search_path says
    IF cardinality(parts) <> 2 THEN
        RAISE EXCEPTION 'publish_anonymized: "%" is not a schema-qualified table name', target
            USING ERRCODE = 'invalid_name',
                  HINT = 'Write schema.table, e.g. public.flows_anon.';
    END IF;
    qualified := format('%I.%I', parts[1], parts[2]);
    EXECUTE format('CREATE TABLE %s AS SELECT * FROM vpcflow.anonymized_flows($1, $2, $3)', qualified)
        USING from_ts, to_ts, key;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('COMMENT ON TABLE %s IS %L', qualified,
                   format('vpcflow flows %s .. %s, pseudonymised (Crypto-PAn addresses, keyed ids)',
                          from_ts, to_ts));
    RETURN n;
END
$fn$;

REVOKE EXECUTE ON FUNCTION vpcflow.publish_anonymized(text, timestamptz, timestamptz, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.anonymized_flows(timestamptz, timestamptz, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.publish_anonymized(text, timestamptz, timestamptz, bytea) TO vpcflow_reader;
GRANT EXECUTE ON FUNCTION vpcflow.anonymized_flows(timestamptz, timestamptz, bytea) TO vpcflow_reader;

-- Networks: the first masklen bits pseudonymised, host bits kept zero, so a
-- network's pseudonym is the network of its addresses' pseudonyms.
CREATE FUNCTION vpcflow.anonymize(net cidr, key bytea) RETURNS cidr
    AS 'MODULE_PATHNAME', 'vpcflow_anonymize_cidr'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.anonymize(prefix vpcflow.ipprefix, key bytea) RETURNS vpcflow.ipprefix
    AS 'MODULE_PATHNAME', 'vpcflow_anonymize_ipprefix'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
