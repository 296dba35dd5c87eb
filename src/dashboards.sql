-- Dashboards over the rollups (docs/dashboards.md): executive, on-call,
-- debug and SLI views and functions.  Every column is a plain SQL type
-- (text, bigint, numeric, double precision, timestamptz) for BI tools.
-- Relative windows end at vpcflow.dashboard_now().

-- "Now" for the dashboards: the setting vpcflow_dashboard.now when set
-- (to look at historical data as if it were live: demo, benchmark, tests),
-- else now().  A SQL-standard body (names bound at creation, so no
-- search_path is needed) that the planner still inlines: views compare it
-- per row in index rechecks.
CREATE FUNCTION vpcflow.dashboard_now() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(pg_catalog.timestamptz(NULLIF(pg_catalog.current_setting('vpcflow_dashboard.now', true), '')),
                pg_catalog.now());

-- Detections (docs/detections.md) whose flows reach "since" or later.
-- Tenants cannot read detections (they are not attributed to accounts,
-- docs/security.md): for them this returns no rows.  severity: "high"
-- from twice the kind's threshold.
CREATE FUNCTION vpcflow.dashboard_detections(since timestamptz)
RETURNS TABLE (detected_at timestamptz, kind text, entity text, severity text,
               account_id text, vpc_id text, bytes numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT has_table_privilege('vpcflow.detections', 'SELECT') THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT d.last_seen, d.kind, d.entity,
               CASE WHEN d.score >= 2 * c.threshold THEN 'high' ELSE 'medium' END,
               d.evidence ->> 'account_id', d.evidence ->> 'vpc_id',
               CASE WHEN d.evidence ->> 'bytes' ~ '^[0-9]+$' THEN (d.evidence ->> 'bytes')::numeric END
        FROM vpcflow.detections d
        LEFT JOIN vpcflow.detection_config c ON c.kind = d.kind
        WHERE d.last_seen >= since;
END
$fn$;

-- ---------------------------------------------------------------- executive

-- Egress cost by account, VPC and path over [from_ts, to_ts), at the
-- prices of vpcflow.egress_prices.  Whole hours (rollup_vpc_1h) for up to
-- three days, whole UTC days (rollup_vpc_1d) beyond.
CREATE FUNCTION vpcflow.egress_cost(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (account_id text, vpc_id text, path text, flows bigint, bytes numeric,
               gb numeric, usd_per_gb numeric, cost_usd numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH r AS (
        SELECT h.account_id, h.vpc_id, h.path, h.direction, h.flows, h.bytes
        FROM vpcflow.rollup_vpc_1h h
        WHERE to_ts - from_ts <= interval '3 days' AND h.bucket >= from_ts AND h.bucket < to_ts
        UNION ALL
        SELECT d.account_id, d.vpc_id, d.path, d.direction, d.flows, d.bytes
        FROM vpcflow.rollup_vpc_1d d
        WHERE to_ts - from_ts > interval '3 days' AND d.bucket >= from_ts AND d.bucket < to_ts)
    SELECT r.account_id::text, r.vpc_id::text, r.path, sum(r.flows)::bigint, sum(r.bytes),
           sum(r.bytes) / 1e9, p.usd_per_gb,
           sum(r.bytes) / 1e9 * coalesce(p.usd_per_gb, 0)
    FROM r
    LEFT JOIN vpcflow.egress_prices p ON p.path = r.path
    WHERE r.path IS NOT NULL
      AND (r.direction IS NULL OR r.direction::text = 'egress' OR p.charge_ingress)
    GROUP BY r.account_id::text, r.vpc_id::text, r.path, p.usd_per_gb
$fn$;

CREATE VIEW vpcflow.exec_egress_cost_30d WITH (security_invoker = true) AS
SELECT * FROM vpcflow.egress_cost(date_trunc('day', (SELECT vpcflow.dashboard_now()), 'UTC') - interval '30 days',
                                  date_trunc('day', (SELECT vpcflow.dashboard_now()), 'UTC') + interval '1 day')
ORDER BY cost_usd DESC, bytes DESC;

CREATE VIEW vpcflow.exec_anomalies_week WITH (security_invoker = true) AS
SELECT date_trunc('day', d.detected_at, 'UTC') AS day, d.kind, count(*)::bigint AS detections,
       count(DISTINCT d.entity)::bigint AS entities, sum(d.bytes) AS bytes
FROM vpcflow.dashboard_detections((SELECT vpcflow.dashboard_now()) - interval '7 days') d
GROUP BY 1, 2;

-- Files, records and bytes ingested per day (30 days of wall-clock ingest
-- time: now(), not dashboard_now()), the size of that day's raw partition
-- and of the rollups now.
CREATE VIEW vpcflow.exec_ingest_trend WITH (security_invoker = true) AS
WITH days AS (
    SELECT generate_series(date_trunc('day', pg_catalog.now(), 'UTC') - interval '29 days',
                           date_trunc('day', pg_catalog.now(), 'UTC'), interval '1 day') AS day),
ing AS (
    SELECT date_trunc('day', l.finished_at, 'UTC') AS day, count(*) AS files,
           sum(l.rows) AS records, sum(l.bytes_read) AS bytes_read, sum(l.errors) AS errors
    FROM vpcflow.ingest_log l
    WHERE l.finished_at >= pg_catalog.now() - interval '31 days'
    GROUP BY 1),
part AS (
    SELECT date_trunc('day', p.lower_bound, 'UTC') AS day, sum(p.total_bytes) AS raw_bytes
    FROM vpcflow.partitions p GROUP BY 1)
SELECT d.day, coalesce(i.files, 0)::bigint AS files, coalesce(i.records, 0)::bigint AS records,
       coalesce(i.bytes_read, 0)::bigint AS bytes_read, coalesce(i.errors, 0)::bigint AS errors,
       p.raw_bytes::bigint AS raw_partition_bytes,
       (SELECT sum(pg_catalog.pg_total_relation_size(c.oid))::bigint FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'vpcflow'::regnamespace AND c.relkind = 'r'
          AND c.relname LIKE 'rollup\_%') AS rollup_bytes_now
FROM days d
LEFT JOIN ing i ON i.day = d.day
LEFT JOIN part p ON p.day = d.day;

-- Per account: interfaces that sent flow logs in the last 24 hours (HLL
-- estimate, exact for small counts) against the interfaces known from
-- vpcflow.interfaces; coverage is NULL without that inventory.
CREATE VIEW vpcflow.exec_logging_coverage WITH (security_invoker = true) AS
WITH seen AS (
    SELECT h.account_id::text AS account_id, vpcflow.hll_cardinality(vpcflow.hll_merge(h.interfaces)) AS logging,
           sum(h.flows)::bigint AS flows,
           sum(h.flows) FILTER (WHERE h.log_status::text IN ('NODATA', 'SKIPDATA'))::bigint AS gap_records
    FROM vpcflow.rollup_vpc_1h h
    WHERE h.bucket >= (SELECT vpcflow.dashboard_now() - interval '24 hours') AND h.bucket < (SELECT vpcflow.dashboard_now())
    GROUP BY 1),
known AS (
    SELECT i.account_id::text AS account_id, count(DISTINCT i.interface_id::text) AS known
    FROM vpcflow.interfaces i
    WHERE i.valid_from <= (SELECT vpcflow.dashboard_now()) AND i.valid_to > (SELECT vpcflow.dashboard_now())
    GROUP BY 1)
SELECT coalesce(s.account_id, k.account_id) AS account_id,
       coalesce(s.logging, 0)::bigint AS interfaces_logging,
       k.known::bigint AS interfaces_known,
       CASE WHEN k.known > 0 THEN round(least(coalesce(s.logging, 0)::numeric / k.known, 1), 4) END AS coverage,
       coalesce(s.flows, 0) AS flows_24h, coalesce(s.gap_records, 0) AS nodata_skipdata_24h
FROM seen s FULL JOIN known k ON k.account_id = s.account_id;

-- ---------------------------------------------------------------- on-call

-- Flows per interface per 5 minutes, last hour.
CREATE VIEW vpcflow.oncall_ingest_health WITH (security_invoker = true) AS
SELECT date_bin('5 minutes', m.bucket, timestamptz '2000-01-01 00:00:00+00') AS bucket_start,
       m.account_id::text AS account_id, m.interface_id::text AS interface_id,
       sum(m.flows)::bigint AS flows, sum(m.bytes)::numeric AS bytes, sum(m.rejects)::bigint AS rejects,
       sum(m.flows) FILTER (WHERE m.log_status::text = 'NODATA')::bigint AS nodata,
       sum(m.flows) FILTER (WHERE m.log_status::text = 'SKIPDATA')::bigint AS skipdata
FROM vpcflow.rollup_1m m
WHERE m.bucket >= (SELECT vpcflow.dashboard_now() - interval '1 hour') AND m.bucket < (SELECT vpcflow.dashboard_now())
GROUP BY 1, 2, 3;

-- Delivery latency (ingest end - flow end_time) per 5 minutes of ingest,
-- last 6 hours of wall-clock ingest time (now()): p50 and p95 as latency
-- bucket bounds (vpcflow.latency_bounds()).
CREATE VIEW vpcflow.oncall_delivery_latency WITH (security_invoker = true) AS
WITH f AS (
    SELECT date_bin('5 minutes', p.ingested_at, timestamptz '2000-01-01 00:00:00+00') AS bucket_start,
           p.rows, p.latency_counts
    FROM vpcflow.rollup_progress p
    WHERE p.ingested_at >= pg_catalog.now() - interval '6 hours'
      AND p.ingested_at <= pg_catalog.now() AND p.latency_counts IS NOT NULL),
h AS (
    SELECT f.bucket_start, u.i, sum(u.n) AS n
    FROM f CROSS JOIN LATERAL unnest(f.latency_counts) WITH ORDINALITY AS u(n, i)
    GROUP BY 1, 2)
SELECT h.bucket_start,
       (SELECT count(*) FROM f WHERE f.bucket_start = h.bucket_start)::bigint AS files,
       sum(h.n)::bigint AS flows,
       vpcflow.latency_quantile(array_agg(h.n ORDER BY h.i), 0.5) AS p50_seconds,
       vpcflow.latency_quantile(array_agg(h.n ORDER BY h.i), 0.95) AS p95_seconds
FROM h GROUP BY h.bucket_start;

-- Interfaces seen within seen_within that sent nothing for silent_for.
CREATE FUNCTION vpcflow.silent_interfaces(silent_for interval DEFAULT '15 minutes',
                                          seen_within interval DEFAULT '2 hours')
RETURNS TABLE (account_id text, vpc_id text, interface_id text, last_seen timestamptz,
               silent_seconds double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT m.account_id::text, max(m.vpc_id::text), m.interface_id::text, max(m.bucket) + interval '1 minute',
           extract(epoch FROM (SELECT vpcflow.dashboard_now()) - (max(m.bucket) + interval '1 minute'))::float8
    FROM vpcflow.rollup_1m m
    WHERE m.bucket >= (SELECT vpcflow.dashboard_now() - seen_within) AND m.bucket < (SELECT vpcflow.dashboard_now())
      AND m.interface_id IS NOT NULL
    GROUP BY m.account_id::text, m.interface_id::text
    HAVING max(m.bucket) < (SELECT vpcflow.dashboard_now()) - silent_for
$fn$;
CREATE VIEW vpcflow.oncall_silent_interfaces WITH (security_invoker = true) AS
SELECT * FROM vpcflow.silent_interfaces();

-- NODATA / SKIPDATA records per interface and hour, last 24 hours.
CREATE INDEX rollup_1h_gaps_idx ON vpcflow.rollup_1h (bucket) WHERE log_status <> 'OK';
CREATE VIEW vpcflow.oncall_log_gaps WITH (security_invoker = true) AS
SELECT h.bucket AS hour, h.account_id::text AS account_id, h.interface_id::text AS interface_id,
       h.log_status::text AS log_status, sum(h.flows)::bigint AS records,
       min(h.first_start) AS first_start, max(h.last_end) AS last_end
FROM vpcflow.rollup_1h h
WHERE h.log_status <> 'OK'
  AND h.bucket >= (SELECT vpcflow.dashboard_now() - interval '24 hours') AND h.bucket < (SELECT vpcflow.dashboard_now())
GROUP BY 1, 2, 3, 4;

-- Top REJECT sources of a recent window (raw rows of that window: exact
-- per source address).  The query is built with the window's bounds as
-- constants, so the planner prunes to the partitions involved and reads
-- them by the time index (with parameters it chose sequential scans).
CREATE FUNCTION vpcflow.top_reject_sources(recent interval DEFAULT '30 minutes', k integer DEFAULT 20)
RETURNS TABLE (srcaddr text, rejects bigint, destinations bigint, ports bigint,
               first_seen timestamptz, last_seen timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t timestamptz := vpcflow.dashboard_now();
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT host(f.srcaddr), count(*)::bigint, count(DISTINCT f.dstaddr)::bigint,
               count(DISTINCT f.dstport)::bigint, min(f.start_time), max(f.start_time)
        FROM vpcflow.flows f
        WHERE f.start_time >= %L AND f.start_time < %L
          AND f.action::text = 'REJECT' AND f.srcaddr IS NOT NULL
        GROUP BY f.srcaddr
        ORDER BY 2 DESC, 1
        LIMIT %s$q$, t - recent, t, k);
END
$fn$;
CREATE VIEW vpcflow.oncall_top_rejects WITH (security_invoker = true) AS
SELECT * FROM vpcflow.top_reject_sources();

-- Bytes per subnet in the last full hour against the previous 24 hours
-- (mean and standard deviation of hourly bytes); z >= 3 is a spike.
CREATE VIEW vpcflow.oncall_volume_spikes WITH (security_invoker = true) AS
WITH hours AS (
    SELECT h.bucket, h.vpc_id::text AS vpc_id, h.subnet_id::text AS subnet_id, sum(h.bytes) AS bytes
    FROM vpcflow.rollup_vpc_1h h
    WHERE h.bucket >= (SELECT date_trunc('hour', vpcflow.dashboard_now(), 'UTC') - interval '25 hours')
      AND h.bucket < (SELECT date_trunc('hour', vpcflow.dashboard_now(), 'UTC'))
    GROUP BY 1, 2, 3),
cur AS (
    SELECT * FROM hours WHERE bucket = date_trunc('hour', (SELECT vpcflow.dashboard_now()), 'UTC') - interval '1 hour'),
base AS (
    SELECT vpc_id, subnet_id, avg(bytes) AS mean, stddev_pop(bytes) AS sd, count(*) AS hours
    FROM hours WHERE bucket < date_trunc('hour', (SELECT vpcflow.dashboard_now()), 'UTC') - interval '1 hour'
    GROUP BY 1, 2)
SELECT c.bucket AS hour, c.vpc_id, c.subnet_id, c.bytes::numeric AS bytes,
       round(b.mean, 0) AS baseline_bytes, round(b.sd, 0) AS baseline_stddev,
       round(c.bytes / nullif(b.mean, 0), 2) AS ratio,
       ((c.bytes - b.mean) / nullif(b.sd, 0))::float8 AS z_score,
       coalesce((c.bytes - b.mean) / nullif(b.sd, 0) >= 3, false) AS spike
FROM cur c LEFT JOIN base b ON b.vpc_id IS NOT DISTINCT FROM c.vpc_id
                          AND b.subnet_id IS NOT DISTINCT FROM c.subnet_id;

-- ---------------------------------------------------------------- debug

-- Rollup rows of one VPC (NULL: all) over a range, from the finest grain
-- that is still cheap: minutes up to 3 hours, hours up to 3 days, days beyond.
CREATE FUNCTION vpcflow.rollup_range(vpc text, from_ts timestamptz, to_ts timestamptz)
RETURNS SETOF vpcflow.rollup_1h
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tbl text := CASE WHEN to_ts - from_ts <= interval '3 hours' THEN 'rollup_1m'
                     WHEN to_ts - from_ts <= interval '3 days' THEN 'rollup_1h'
                     ELSE 'rollup_1d' END;
BEGIN
    -- planned with the actual values, so the (vpc_id, bucket) index serves
    IF vpc IS NULL THEN
        RETURN QUERY EXECUTE format('SELECT * FROM vpcflow.%I r WHERE r.bucket >= $1 AND r.bucket < $2', tbl)
            USING from_ts, to_ts;
    ELSE
        RETURN QUERY EXECUTE format('SELECT * FROM vpcflow.%I r WHERE r.vpc_id OPERATOR(vpcflow.=) $3::vpcflow.awsid '
                                    'AND r.bucket >= $1 AND r.bucket < $2', tbl)
            USING from_ts, to_ts, vpc;
    END IF;
END
$fn$;

-- Top talkers of a VPC: remote addresses by bytes (merged top-k states;
-- the true bytes lie in [bytes - error, bytes]) and local interfaces by
-- bytes (exact).
CREATE FUNCTION vpcflow.top_talkers(vpc text, from_ts timestamptz, to_ts timestamptz, k integer DEFAULT 10)
RETURNS TABLE (side text, talker text, bytes bigint, error bigint, flows bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH r AS MATERIALIZED (
        SELECT x.interface_id, x.bytes, x.flows, x.top_remotes
        FROM vpcflow.rollup_range(vpc, from_ts, to_ts) x)
    (SELECT 'remote', e.key, e.weight, e.error, NULL::bigint
     FROM vpcflow.topk_entries((SELECT vpcflow.topk_merge(r.top_remotes) FROM r)) e
     ORDER BY e.weight DESC, e.key LIMIT k)
    UNION ALL
    (SELECT 'interface', r.interface_id::text, sum(r.bytes)::bigint, 0::bigint, sum(r.flows)::bigint
     FROM r GROUP BY r.interface_id::text ORDER BY 3 DESC, 2 LIMIT k)
$fn$;

-- Top service ports of a VPC ('ephemeral' for the rest).
CREATE FUNCTION vpcflow.top_ports(vpc text, from_ts timestamptz, to_ts timestamptz, k integer DEFAULT 10)
RETURNS TABLE (protocol bigint, service_port text, flows bigint, bytes bigint, rejects bigint,
               remote_addresses bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.protocol::bigint,
           CASE WHEN r.service_port = -1 THEN 'ephemeral' ELSE r.service_port::text END,
           sum(r.flows)::bigint, sum(r.bytes)::bigint, sum(r.rejects)::bigint,
           vpcflow.hll_cardinality(vpcflow.hll_merge(r.remote_addrs))
    FROM vpcflow.rollup_range(vpc, from_ts, to_ts) r
    WHERE r.service_port IS NOT NULL
    GROUP BY 1, 2 ORDER BY 4 DESC, 3 DESC LIMIT k
$fn$;

-- Every flow of one address (either end) in a window, oldest first (raw
-- rows through the address indexes).
CREATE FUNCTION vpcflow.address_timeline(addr inet, from_ts timestamptz, to_ts timestamptz,
                                         max_rows integer DEFAULT 1000)
RETURNS TABLE (start_time timestamptz, end_time timestamptz, interface_id text, direction text,
               role text, peer text, srcport bigint, dstport bigint, protocol bigint,
               action text, packets bigint, bytes bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM (
        SELECT f.start_time, f.end_time, f.interface_id::text, f.flow_direction::text,
               'source', host(f.dstaddr), f.srcport::bigint, f.dstport::bigint, f.protocol::bigint,
               f.action::text, f.packets, f.bytes
        FROM vpcflow.flows f
        WHERE f.srcaddr = addr AND f.start_time >= from_ts AND f.start_time < to_ts
        UNION ALL
        SELECT f.start_time, f.end_time, f.interface_id::text, f.flow_direction::text,
               'destination', host(f.srcaddr), f.srcport::bigint, f.dstport::bigint, f.protocol::bigint,
               f.action::text, f.packets, f.bytes
        FROM vpcflow.flows f
        WHERE f.dstaddr = addr AND f.start_time >= from_ts AND f.start_time < to_ts) t
    ORDER BY 1, 3, 6 LIMIT max_rows
$fn$;

-- Flow durations (end_time - start_time) of a VPC (NULL: all) in a window:
-- p50, p95, p99 in seconds (raw rows of the window).
CREATE FUNCTION vpcflow.flow_durations(vpc text, from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (flows bigint, p50_seconds double precision, p95_seconds double precision,
               p99_seconds double precision, max_seconds double precision)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT y.n, y.p[1], y.p[2], y.p[3], y.m
    FROM (SELECT count(*)::bigint AS n, max(x.d) AS m,
                 percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY x.d) AS p
          FROM (SELECT extract(epoch FROM f.end_time - f.start_time)::float8 AS d
                FROM vpcflow.flows f
                WHERE f.start_time >= from_ts AND f.start_time < to_ts AND f.end_time IS NOT NULL
                  AND f.srcaddr IS NOT NULL AND (vpc IS NULL OR f.vpc_id::text = vpc)) x) y
$fn$;

-- Unattributed traffic in a window: per hour the flows neither end of which
-- has an owner (rollups), and the top such address pairs (raw rows).
CREATE FUNCTION vpcflow.unattributed_flows(from_ts timestamptz, to_ts timestamptz, k integer DEFAULT 20)
RETURNS TABLE (srcaddr text, dstaddr text, flows bigint, bytes numeric, first_seen timestamptz,
               last_seen timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT host(f.srcaddr), host(f.dstaddr), count(*)::bigint, sum(f.bytes), min(f.start_time), max(f.start_time)
    FROM vpcflow.flows f
    WHERE f.start_time >= from_ts AND f.start_time < to_ts AND f.srcaddr IS NOT NULL
      AND coalesce(vpcflow.lpm_attr('interfaces', f.srcaddr, f.start_time, 'owner'),
                   vpcflow.lpm_attr('inventory', f.srcaddr, f.start_time, 'owner')) IS NULL
      AND coalesce(vpcflow.lpm_attr('interfaces', f.dstaddr, f.start_time, 'owner'),
                   vpcflow.lpm_attr('inventory', f.dstaddr, f.start_time, 'owner')) IS NULL
    GROUP BY f.srcaddr, f.dstaddr
    ORDER BY 3 DESC, 4 DESC NULLS LAST, 1, 2 LIMIT k
$fn$;

-- Hourly unattributed ratio over the last 24 hours (rollups).
CREATE VIEW vpcflow.debug_unattributed_24h WITH (security_invoker = true) AS
SELECT h.bucket AS hour, sum(h.flows)::bigint AS flows, sum(h.unattributed)::bigint AS unattributed,
       round(sum(h.unattributed) / nullif(sum(h.flows), 0), 4) AS ratio
FROM vpcflow.rollup_vpc_1h h
WHERE h.bucket >= (SELECT vpcflow.dashboard_now() - interval '24 hours') AND h.bucket < (SELECT vpcflow.dashboard_now())
GROUP BY 1;

-- ---------------------------------------------------------------- SLIs

-- One row per SLI (and per VPC for volume): value, unit, window.
-- Runs as the caller, so a tenant's SLIs cover its own accounts only
-- (the policies of the store, the rollups and the ingest log apply).
CREATE FUNCTION vpcflow.sli_values()
RETURNS TABLE (sli text, scope text, value double precision, unit text, time_window text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t timestamptz := vpcflow.dashboard_now();
    wall timestamptz := pg_catalog.now();   -- ingest events happen in wall-clock time
    -- window starts as variables (query parameters), not "t - interval" in
    -- the queries: a coordinator's postgres_fdw ships parameters but not
    -- stable expressions (docs/scaleout.md)
    t24 timestamptz := t - interval '24 hours';
    t10m timestamptz := t - interval '10 minutes';
    wall24 timestamptz := wall - interval '24 hours';
    wall1h timestamptz := wall - interval '1 hour';
    v double precision;
    d text;
BEGIN
    -- records loaded / records read (quarantined lines are the failures)
    RETURN QUERY SELECT 'ingestion_success_rate', 'all',
        (sum(l.rows)::float8 / nullif(sum(l.rows) + sum(l.errors), 0)), 'ratio', '24 hours'::text,
        format('%s files, %s records, %s quarantined', count(*), coalesce(sum(l.rows), 0), coalesce(sum(l.errors), 0))
        FROM vpcflow.ingest_log l WHERE l.finished_at >= wall24 AND l.finished_at <= wall;
    RETURN QUERY SELECT 'processing_latency_p95', 'delivery',
        vpcflow.latency_quantile(ARRAY(SELECT sum(u.n) FROM vpcflow.rollup_progress p
                 CROSS JOIN LATERAL unnest(p.latency_counts) WITH ORDINALITY AS u(n, i)
                 WHERE p.ingested_at >= wall1h AND p.ingested_at <= wall
                 GROUP BY u.i ORDER BY u.i), 0.95), 'seconds', '1 hour'::text,
        'flow end_time to ingest, bucket upper bound';
    RETURN QUERY SELECT 'processing_latency_rollup_lag', 'rollups', b.lag_seconds, 'seconds', NULL::text,
        format('%s files, %s records waiting', b.files, b.rows) FROM vpcflow.rollup_backlog b;
    RETURN QUERY SELECT 'volume_per_vpc', coalesce(h.vpc_id::text, '(none)'), sum(h.bytes)::float8, 'bytes', '24 hours'::text,
        format('%s flows', sum(h.flows))
        FROM vpcflow.rollup_vpc_1h h WHERE h.bucket >= t24 AND h.bucket < t
        GROUP BY h.vpc_id::text;
    RETURN QUERY SELECT 'unattributed_ratio', 'all', sum(h.unattributed)::float8 / nullif(sum(h.flows), 0),
        'ratio', '24 hours'::text, NULL::text
        FROM vpcflow.rollup_vpc_1h h WHERE h.bucket >= t24 AND h.bucket < t;
    RETURN QUERY SELECT 'reject_rate', 'all', sum(h.rejects)::float8 / nullif(sum(h.accepts) + sum(h.rejects), 0),
        'ratio', '24 hours'::text, NULL::text
        FROM vpcflow.rollup_vpc_1h h WHERE h.bucket >= t24 AND h.bucket < t;
    RETURN QUERY SELECT 'anomalous_egress_events', 'all', count(*)::float8, 'events', '7 days'::text,
        CASE WHEN to_regclass('vpcflow.detections') IS NULL THEN 'no vpcflow.detections table' END
        FROM vpcflow.dashboard_detections(t - interval '7 days') x
        WHERE x.kind ~* '(exfil|egress|beacon)';
    -- the same record (interface, addresses, ports, protocol, times,
    -- counters) stored more than once, last 10 minutes (raw rows)
    RETURN QUERY SELECT 'duplicate_record_rate', 'all',
        (sum(n - 1)::float8 / nullif(sum(n), 0)), 'ratio', '10 minutes'::text, NULL::text
        FROM (SELECT count(*) AS n FROM vpcflow.flows f
              WHERE f.start_time >= t10m AND f.start_time < t
              GROUP BY f.interface_id, f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol,
                       f.start_time, f.end_time, f.packets, f.bytes, f.action, f.log_status) g;
    IF to_regclass('pg_stat_statements') IS NOT NULL THEN
        BEGIN
            EXECUTE $q$SELECT sum(s.total_exec_time) / nullif(sum(s.calls), 0), format('%s statements', count(*))
                       FROM pg_stat_statements s WHERE s.query ~ 'vpcflow\.'$q$ INTO v, d;
        EXCEPTION WHEN OTHERS THEN
            v := NULL; d := 'pg_stat_statements not readable: ' || SQLERRM;
        END;
    ELSE
        v := NULL; d := 'pg_stat_statements is not installed';
    END IF;
    RETURN QUERY SELECT 'query_latency_mean', 'vpcflow queries', v, 'ms', NULL::text, d;
    RETURN QUERY SELECT 'cost_per_gb', 'egress', sum(c.cost_usd)::float8 / nullif(sum(c.gb), 0)::float8,
        'usd/GB', '30 days'::text, format('%s USD for %s GB', round(coalesce(sum(c.cost_usd), 0), 4), round(coalesce(sum(c.gb), 0), 3))
        FROM vpcflow.egress_cost(date_trunc('day', t, 'UTC') - interval '29 days',
                                 date_trunc('day', t, 'UTC') + interval '1 day') c;
    -- VPCs with flows in the last 24 hours that the detector reported on
    -- (any detection in 7 days); NULL without vpcflow.detections.
    RETURN QUERY SELECT 'detection_coverage', 'vpcs',
        CASE WHEN to_regclass('vpcflow.detections') IS NOT NULL THEN
            (SELECT count(DISTINCT x.vpc_id)::float8 FROM vpcflow.dashboard_detections(t - interval '7 days') x
             WHERE x.vpc_id IN (SELECT h.vpc_id::text FROM vpcflow.rollup_vpc_1h h
                                WHERE h.bucket >= t24 AND h.bucket < t))
            / nullif((SELECT count(DISTINCT h.vpc_id::text) FROM vpcflow.rollup_vpc_1h h
                      WHERE h.bucket >= t24 AND h.bucket < t), 0) END,
        'ratio', '7 days'::text,
        CASE WHEN to_regclass('vpcflow.detections') IS NULL THEN 'no vpcflow.detections table' END;
END
$fn$;

CREATE VIEW vpcflow.slis WITH (security_invoker = true) AS SELECT * FROM vpcflow.sli_values();

-- ---------------------------------------------------------------- privileges


GRANT SELECT ON vpcflow.exec_egress_cost_30d, vpcflow.exec_anomalies_week, vpcflow.exec_ingest_trend,
      vpcflow.exec_logging_coverage, vpcflow.oncall_ingest_health, vpcflow.oncall_delivery_latency,
      vpcflow.oncall_silent_interfaces, vpcflow.oncall_log_gaps, vpcflow.oncall_top_rejects,
      vpcflow.oncall_volume_spikes, vpcflow.debug_unattributed_24h, vpcflow.slis
      TO vpcflow_reader;
