-- The baseline metric as it was before the detection rollups: folded from
-- raw flows through the detection_input_* functions.  The reference that
-- test/detection_rollup.sql and bench/detect_rollup.sh install (CREATE OR
-- REPLACE) to compare both paths on the same data.
CREATE OR REPLACE FUNCTION vpcflow.detection_metric_values(metric text, lo timestamptz, hi timestamptz)
RETURNS TABLE (entity text, grp text, window_end timestamptz, value double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    w interval := (SELECT c.window_length FROM vpcflow.detection_config c WHERE c.kind = metric);
    n integer := (extract(epoch FROM w) / 60)::integer;
    internal_only boolean := vpcflow._det_param('reject_spike', 'internal_sources_only', 'true')::boolean;
BEGIN
    IF metric = 'exfiltration' THEN
        RETURN QUERY
        SELECT host(i.src), vpcflow.address_group(i.src), i.minute + k * interval '1 minute',
               sum(i.bytes)::double precision
        FROM vpcflow.detection_input_client_egress(lo - w, hi) i, generate_series(1, n) k
        WHERE i.minute + k * interval '1 minute' > lo AND i.minute + k * interval '1 minute' <= hi
        GROUP BY i.src, 3;
    ELSE
        RETURN QUERY
        WITH att AS MATERIALIZED (
            SELECT * FROM vpcflow.detection_input_attempts(lo - w, hi) i
            WHERE vpcflow.is_private_address(i.dst)
              AND (NOT internal_only OR vpcflow.is_private_address(i.src))
        ), svc AS (
            SELECT DISTINCT a.dst, a.dstport FROM att a WHERE a.rejects > 0
        )
        SELECT host(a.dst) || ':' || a.dstport, 'port ' || a.dstport, a.minute + k * interval '1 minute',
               sum(a.rejects)::double precision / sum(a.conns)
        FROM att a JOIN svc USING (dst, dstport), generate_series(1, n) k
        WHERE a.minute + k * interval '1 minute' > lo AND a.minute + k * interval '1 minute' <= hi
        GROUP BY a.dst, a.dstport, 3
        HAVING sum(a.rejects) > 0;
    END IF;
END
$fn$;
