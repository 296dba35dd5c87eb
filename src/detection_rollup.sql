-- Detection rollups (docs/detections.md, "Baselines"): per minute, exactly
-- what the two baseline metrics need, maintained by refresh_rollups() with
-- the other rollups (each file folded in once, in the transaction that
-- claims it) and expired by expire_rollups().  The baselines are folded
-- from these tables instead of raw flows.
--
-- Both keep the account (row-level security like the other rollups) and
-- the definitions of the raw inputs in src/detections.sql:
--   * client egress: accepted flows from a private to a public address, to
--     a port below 32768 from a higher port (the side that opened the
--     connection); flows and bytes per source host;
--   * service attempts: to a private destination, the client side of a
--     flow or a REJECT.  Attempts count connections, i.e. distinct source
--     ports per (source, destination, port, protocol) and minute: a
--     connection between two logged interfaces is in both their logs,
--     possibly in different files or accounts.  So a row keeps the sorted
--     distinct source ports (all attempts, and the REJECTed ones), which
--     merge exactly by union; counts are taken when reading.

CREATE TABLE vpcflow.rollup_host_egress_1m (
    bucket      timestamptz NOT NULL,
    account_id  vpcflow.awsid,
    srcaddr     inet NOT NULL,
    flows       bigint NOT NULL,
    bytes       bigint NOT NULL,
    CONSTRAINT rollup_host_egress_1m_key UNIQUE NULLS NOT DISTINCT (bucket, srcaddr, account_id)
);
COMMENT ON TABLE vpcflow.rollup_host_egress_1m IS
    'Client egress (private to public) flows and bytes per minute and source host: the exfiltration baseline';
SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_host_egress_1m', '');

CREATE TABLE vpcflow.rollup_service_attempts_1m (
    bucket        timestamptz NOT NULL,
    account_id    vpcflow.awsid,
    dstaddr       inet NOT NULL,
    dstport       integer NOT NULL,
    srcaddr       inet NOT NULL,
    protocol      smallint,
    -- distinct source ports, ascending: of all attempts, of the REJECTed ones
    conn_ports    integer[] NOT NULL,
    reject_ports  integer[] NOT NULL,
    CONSTRAINT rollup_service_attempts_1m_key UNIQUE NULLS NOT DISTINCT
        (bucket, dstaddr, dstport, srcaddr, protocol, account_id)
);
COMMENT ON TABLE vpcflow.rollup_service_attempts_1m IS
    'Connection attempts per minute to internal services (address, port) by source: the reject_spike baseline';
SELECT pg_catalog.pg_extension_config_dump('vpcflow.rollup_service_attempts_1m', '');

-- The sorted union of two sorted sets of ports.
CREATE FUNCTION vpcflow.port_set_union(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(array_agg(DISTINCT p ORDER BY p), '{}') FROM unnest(a || b) AS u(p) $$;

-- Merge the rows of files ids (claimed by refresh_rollups, in
-- rollup_progress) into the detection rollups.  Called by
-- refresh_rollups() for each of its chunks, in its transaction.
CREATE FUNCTION vpcflow.refresh_detection_rollups(ids integer[], OUT egress_rows bigint,
                                                  OUT attempt_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    filter text;
BEGIN
    egress_rows := 0; attempt_rows := 0;
    filter := vpcflow.rollup_time_filter(ids);
    IF filter IS NULL THEN
        RETURN;
    END IF;
    filter := format('%s AND f.ingest_id = ANY (%L::integer[])', filter, ids);

    EXECUTE format($q$
        INSERT INTO vpcflow.rollup_host_egress_1m AS r (bucket, account_id, srcaddr, flows, bytes)
        SELECT vpcflow._det_minute(f.start_time), f.account_id, f.srcaddr, count(*),
               coalesce(sum(f.bytes), 0)::bigint
        FROM vpcflow.flows f
        WHERE %s
          AND f.action = 'ACCEPT' AND f.srcport > f.dstport AND f.dstport < 32768
          AND vpcflow.is_private_address(f.srcaddr) AND NOT vpcflow.is_private_address(f.dstaddr)
        GROUP BY 1, 2, 3
        ON CONFLICT ON CONSTRAINT rollup_host_egress_1m_key DO UPDATE
            SET flows = r.flows + excluded.flows, bytes = r.bytes + excluded.bytes
    $q$, filter);
    GET DIAGNOSTICS egress_rows = ROW_COUNT;

    EXECUTE format($q$
        INSERT INTO vpcflow.rollup_service_attempts_1m AS r
            (bucket, account_id, dstaddr, dstport, srcaddr, protocol, conn_ports, reject_ports)
        SELECT vpcflow._det_minute(f.start_time), f.account_id, f.dstaddr, f.dstport, f.srcaddr, f.protocol,
               coalesce(array_agg(DISTINCT f.srcport) FILTER (WHERE f.srcport IS NOT NULL), '{}'),
               coalesce(array_agg(DISTINCT f.srcport) FILTER (WHERE f.srcport IS NOT NULL
                                                                AND f.action = 'REJECT'), '{}')
        FROM vpcflow.flows f
        WHERE %s
          AND f.srcaddr IS NOT NULL AND f.dstaddr IS NOT NULL AND f.dstport IS NOT NULL
          AND ((f.srcport > f.dstport AND f.dstport < 32768) OR f.action = 'REJECT')
          AND vpcflow.is_private_address(f.dstaddr)
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT ON CONSTRAINT rollup_service_attempts_1m_key DO UPDATE
            SET conn_ports = vpcflow.port_set_union(r.conn_ports, excluded.conn_ports),
                reject_ports = vpcflow.port_set_union(r.reject_ports, excluded.reject_ports)
    $q$, filter);
    GET DIAGNOSTICS attempt_rows = ROW_COUNT;
END
$fn$;

-- Expire the detection rollups with the minute grain (minute_retention as
-- of "at"), but not rows the baselines may still take in: of files
-- run_detections has not examined yet, or of window ends not yet folded
-- (the fold resumes up to a day back).  Never kept past hour_retention.
-- Called by expire_rollups().
CREATE FUNCTION vpcflow.expire_detection_rollups(at timestamptz, OUT rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s vpcflow.rollup_settings;
    keep_from timestamptz;
    n bigint;
BEGIN
    SELECT * INTO s FROM vpcflow.rollup_settings;
    keep_from := greatest(at - s.hour_retention,
        least(at - s.minute_retention,
              (SELECT min(p.folded_through) FROM vpcflow.detection_progress p
               WHERE p.metric IN ('exfiltration', 'reject_spike')) - interval '1 day',
              (SELECT min(l.min_start) FROM vpcflow.ingest_log l
               WHERE l.status IN ('loaded', 'loaded_with_errors')
                 AND NOT EXISTS (SELECT 1 FROM vpcflow.detection_processed d
                                 WHERE d.ingest_id = l.ingest_id)) - interval '1 day'));
    DELETE FROM vpcflow.rollup_host_egress_1m WHERE bucket < keep_from;
    GET DIAGNOSTICS rows = ROW_COUNT;
    DELETE FROM vpcflow.rollup_service_attempts_1m WHERE bucket < keep_from;
    GET DIAGNOSTICS n = ROW_COUNT;
    rows := rows + n;
END
$fn$;

ALTER TABLE vpcflow.rollup_host_egress_1m OWNER TO vpcflow_admin;
ALTER TABLE vpcflow.rollup_service_attempts_1m OWNER TO vpcflow_admin;
GRANT SELECT ON vpcflow.rollup_host_egress_1m, vpcflow.rollup_service_attempts_1m
      TO vpcflow_reader, vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.refresh_detection_rollups(integer[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vpcflow.expire_detection_rollups(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.refresh_detection_rollups(integer[]) TO vpcflow_admin;
GRANT EXECUTE ON FUNCTION vpcflow.expire_detection_rollups(timestamptz) TO vpcflow_admin;

-- Tenant isolation like the other rollups: rows belong to accounts;
-- refresh and expiry run as vpcflow_admin.
SELECT vpcflow.protect_relation(r, writer => 'none')
FROM unnest(ARRAY['vpcflow.rollup_host_egress_1m', 'vpcflow.rollup_service_attempts_1m']::regclass[]) r;
