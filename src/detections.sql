-- Detections (docs/detections.md): vpcflow.run_detections() turns newly
-- ingested flows into rows of vpcflow.detections, for the kinds configured
-- in vpcflow.detection_config, skipping suppression windows and merging
-- repeated alerts.  Incremental: each run handles the ingest_log entries
-- it has not processed yet, and only the time range they cover.
--
-- Inputs: every detector reads its data through one of the
-- vpcflow.detection_input_* functions below, which aggregate raw
-- vpcflow.flows over short time ranges (cheap: BRIN on start_time).  The
-- baselines are folded from the detection rollups instead
-- (src/detection_rollup.sql, kept by refresh_rollups): per minute, the same
-- numbers as those inputs give.

-- ------------------------------------------------------------ tables

CREATE TABLE vpcflow.detection_config (
    kind           text PRIMARY KEY,
    enabled        boolean NOT NULL DEFAULT true,
    -- the minimum score that raises an alert (the score's unit is per kind)
    threshold      double precision NOT NULL,
    -- the sliding window a detector looks at (ends at every minute)
    window_length  interval NOT NULL CHECK (window_length >= interval '1 minute'
                                            AND window_length <= interval '1 day'),
    -- alerts of one kind and entity whose windows are at most this far
    -- apart (0: overlapping or adjacent) merge into one detection
    merge_gap      interval NOT NULL DEFAULT interval '0' CHECK (merge_gap >= interval '0'),
    params         jsonb NOT NULL DEFAULT '{}',
    description    text NOT NULL
);

INSERT INTO vpcflow.detection_config (kind, threshold, window_length, params, description) VALUES
('exfiltration', 8, '5 minutes',
 '{"min_bytes": 50000, "min_flows": 3, "rare_max_sources": 2, "rare_lookback": "24 hours",
   "min_history": 30, "min_spread": 1000, "warmup": "1 hour"}',
 'score: robust deviations of the bytes an internal host sent (as the client) to one rare public '
 'destination in the window, against the host''s baseline of all its client egress bytes per window '
 '(its /16 network''s baseline while it has little history)'),
('port_scan', 25, '1 hour', '{}',
 'score: distinct destination ports one source tried on one destination host within the window '
 '(connection attempts only: the client side of a flow, or a REJECT)'),
('horizontal_sweep', 30, '15 minutes', '{}',
 'score: distinct internal hosts one source tried on one port within the window'),
('reject_spike', 6, '15 minutes',
 '{"min_rejects": 5, "min_share": 0.5, "min_sources": 2, "min_history": 30, "min_spread": 0.05,
   "warmup": "1 hour", "internal_sources_only": true,
   "rare_min_rejects": 3, "rare_alpha": 1e-6, "block_alpha": 1e-6, "rare_history": "24 hours"}',
 'score: robust deviations of the REJECTed share of the connection attempts from internal sources to '
 'one internal service (address, port) in the window, against the service''s baseline (the port''s '
 'fleet baseline while it has little history); at least min_rejects rejected connections from '
 'min_sources sources, and at least min_share of all attempts; a quiet service needs only '
 'rare_min_rejects when so many REJECTs are improbable (below rare_alpha, binomial) at its own '
 'REJECT rate over rare_history (not below its port''s fleet rate), or below block_alpha when no '
 'attempt in the window was accepted'),
('beaconing', 8, '2 hours',
 '{"min_period_s": 10, "max_period_s": 1800, "tolerance": 0.2, "tolerance_s": 2,
   "min_regular_fraction": 0.8, "rare_max_sources": 3, "rare_lookback": "24 hours"}',
 'score: intervals, within tolerance of the median period, between the connections of an internal '
 'host to one rare public destination in the window (at least min_regular_fraction of all intervals)'),
('new_port', 1, '15 minutes',
 '{"lookback": "24 hours", "min_age": "6 hours", "rare_max_sources": 2}',
 'score: accepted connections an internal host made in the window to a destination port it had not '
 'used in the lookback and that few hosts use'),
('new_destination', 3, '15 minutes',
 '{"lookback": "24 hours", "min_age": "6 hours", "rare_max_sources": 2}',
 'score: accepted connections an internal host made in the window to a public destination it had '
 'not contacted in the lookback and that few hosts contact');

CREATE TABLE vpcflow.detections (
    detection_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL,
    entity         text NOT NULL,
    window_length  interval NOT NULL,
    -- flow time: start of the first alerting window, end of the last
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    score          double precision NOT NULL,
    -- the numbers behind the highest-scoring window
    evidence       jsonb NOT NULL,
    windows        integer NOT NULL,          -- alerting windows merged into this row
    detected_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX detections_kind_entity_idx ON vpcflow.detections (kind, entity, last_seen);
CREATE INDEX detections_last_seen_idx ON vpcflow.detections (last_seen);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.detections', '');

-- Planned maintenance: candidates whose window ends inside `during`
-- (optionally of one kind, for entities LIKE entity_pattern) raise nothing.
CREATE TABLE vpcflow.detection_suppressions (
    suppression_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    during          tstzrange NOT NULL CHECK (NOT isempty(during)),
    kind            text,
    entity_pattern  text,
    reason          text NOT NULL,
    created_by      name NOT NULL DEFAULT current_user,
    created_at      timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.detection_suppressions', '');

-- Baselines per (metric, entity): metric is the detection kind whose
-- statistic they hold; grp is the entity's group (whose merged baselines a
-- new entity borrows).  folded_through: window ends up to here are in.
CREATE TABLE vpcflow.detection_baselines (
    metric      text NOT NULL,
    entity      text NOT NULL,
    grp         text NOT NULL,
    state       vpcflow.baseline NOT NULL,
    first_seen  timestamptz NOT NULL,
    PRIMARY KEY (metric, entity)
);
CREATE INDEX detection_baselines_grp_idx ON vpcflow.detection_baselines (metric, grp);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.detection_baselines', '');

CREATE TABLE vpcflow.detection_progress (
    metric          text PRIMARY KEY,
    started_at      timestamptz NOT NULL,     -- first window end folded (warm-up starts)
    folded_through  timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.detection_progress', '');

-- The watermark: ingest_log entries already handed to the detectors.
CREATE TABLE vpcflow.detection_processed (
    ingest_id     integer PRIMARY KEY REFERENCES vpcflow.ingest_log ON DELETE CASCADE,
    processed_at  timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('vpcflow.detection_processed', '');

-- A candidate alert, as every detect_<kind> function returns them.
CREATE TYPE vpcflow.detection_candidate AS (
    kind          text,
    entity        text,
    window_start  timestamptz,
    window_end    timestamptz,
    score         double precision,
    evidence      jsonb
);

-- ------------------------------------------------------------ helpers

-- The group an address belongs to for baselines: its /16 (IPv4) or /48 (IPv6).
CREATE FUNCTION vpcflow.address_group(addr inet) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.network(pg_catalog.set_masklen(addr,
          CASE WHEN pg_catalog.family(addr) = 4 THEN 16 ELSE 48 END))::text $$;

CREATE FUNCTION vpcflow._det_minute(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.date_bin('1 minute', ts, timestamptz '2000-01-01 00:00:00+00') $$;

CREATE FUNCTION vpcflow._det_param(kind text, name text, dflt text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce((SELECT c.params ->> name FROM vpcflow.detection_config c WHERE c.kind = $1), dflt) $$;

-- ------------------------------------------------------------ inputs
-- INPUT FUNCTIONS: the detectors' only readers of raw flows.  Each
-- aggregates vpcflow.flows with start_time in [lo, hi) per minute; a
-- rollup can replace the body as long as the columns stay (the baseline
-- metrics below already read theirs from rollups with the same filters).
--
-- "Client side": a flow to a port below the ephemeral range (32768) from
-- a higher source port, i.e. sent by the side that opened the connection
-- (ephemeral -> service port).  Responses and ICMP (ports 0) are not
-- connection attempts, except when REJECTed (a REJECT is always an
-- attempt that failed).

-- Accepted client-side traffic from private to public addresses.
CREATE FUNCTION vpcflow.detection_input_client_egress(lo timestamptz, hi timestamptz)
RETURNS TABLE (minute timestamptz, src inet, dst inet, interface_id text, flows bigint, bytes numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT vpcflow._det_minute(f.start_time), f.srcaddr, f.dstaddr, min(f.interface_id::text),
           count(*), coalesce(sum(f.bytes), 0)
    FROM vpcflow.flows f
    WHERE f.start_time >= lo AND f.start_time < hi
      AND f.action = 'ACCEPT' AND f.srcport > f.dstport AND f.dstport < 32768
      AND vpcflow.is_private_address(f.srcaddr) AND NOT vpcflow.is_private_address(f.dstaddr)
    GROUP BY 1, 2, 3
$$;

-- Connection attempts (client side, or REJECTed) with their source,
-- destination, port and protocol.  A connection between two logged
-- interfaces is in both their logs: conns and rejects count distinct
-- source ports, i.e. connections, not records.
CREATE FUNCTION vpcflow.detection_input_attempts(lo timestamptz, hi timestamptz)
RETURNS TABLE (minute timestamptz, src inet, dst inet, dstport integer, protocol smallint,
               interface_id text, conns bigint, rejects bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT vpcflow._det_minute(f.start_time), f.srcaddr, f.dstaddr, f.dstport, f.protocol,
           min(f.interface_id::text), count(DISTINCT f.srcport),
           count(DISTINCT f.srcport) FILTER (WHERE f.action = 'REJECT')
    FROM vpcflow.flows f
    WHERE f.start_time >= lo AND f.start_time < hi
      AND f.srcaddr IS NOT NULL AND f.dstaddr IS NOT NULL
      AND ((f.srcport > f.dstport AND f.dstport < 32768) OR f.action = 'REJECT')
    GROUP BY 1, 2, 3, 4, 5
$$;

-- Start times of client-side connections from private to public addresses
-- (beaconing needs the times themselves, not per-minute counts).
CREATE FUNCTION vpcflow.detection_input_connection_starts(lo timestamptz, hi timestamptz)
RETURNS TABLE (src inet, dst inet, dstport integer, start_time timestamptz, interface_id text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT f.srcaddr, f.dstaddr, f.dstport, f.start_time, f.interface_id::text
    FROM vpcflow.flows f
    WHERE f.start_time >= lo AND f.start_time < hi
      AND f.srcport > f.dstport AND f.dstport < 32768
      AND vpcflow.is_private_address(f.srcaddr) AND NOT vpcflow.is_private_address(f.dstaddr)
$$;

-- How many distinct private sources sent to each of dsts in [lo, hi)
-- (rarity of a destination; uses the btree on dstaddr).
CREATE FUNCTION vpcflow.detection_input_destination_sources(dsts inet[], lo timestamptz, hi timestamptz)
RETURNS TABLE (dst inet, sources bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.dst, (SELECT count(DISTINCT f.srcaddr) FROM vpcflow.flows f
                   WHERE f.dstaddr = d.dst AND f.start_time >= lo AND f.start_time < hi
                     AND vpcflow.is_private_address(f.srcaddr))
    FROM unnest(dsts) AS d(dst)
$$;

-- The private sources that sent to each of dsts in [lo, hi) (accepted).
CREATE FUNCTION vpcflow.detection_input_destination_senders(dsts inet[], lo timestamptz, hi timestamptz)
RETURNS TABLE (dst inet, src inet)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT f.dstaddr, f.srcaddr FROM vpcflow.flows f
    WHERE f.dstaddr = ANY (dsts) AND f.start_time >= lo AND f.start_time < hi
      AND f.action = 'ACCEPT' AND vpcflow.is_private_address(f.srcaddr)
$$;

-- ------------------------------------------------------------ baseline metrics

-- The statistic a baseline kind scores, per entity and window end e in
-- (lo, hi] (window [e - window_length, e)); only non-zero values.
CREATE FUNCTION vpcflow.detection_metric_values(metric text, lo timestamptz, hi timestamptz)
RETURNS TABLE (entity text, grp text, window_end timestamptz, value double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    w interval := (SELECT c.window_length FROM vpcflow.detection_config c WHERE c.kind = metric);
    n integer := (extract(epoch FROM w) / 60)::integer;
    internal_only boolean := vpcflow._det_param('reject_spike', 'internal_sources_only', 'true')::boolean;
BEGIN
    -- from the detection rollups (src/detection_rollup.sql), which hold per
    -- minute what detection_input_client_egress / _attempts would give
    IF metric = 'exfiltration' THEN
        -- all client egress bytes of a host per window
        RETURN QUERY
        WITH m AS (
            SELECT r.bucket, r.srcaddr, sum(r.bytes) AS bytes
            FROM vpcflow.rollup_host_egress_1m r
            WHERE r.bucket >= lo - w AND r.bucket < hi
            GROUP BY 1, 2
        )
        SELECT host(m.srcaddr), vpcflow.address_group(m.srcaddr), m.bucket + k * interval '1 minute',
               sum(m.bytes)::double precision
        FROM m, generate_series(1, n) k
        WHERE m.bucket + k * interval '1 minute' > lo AND m.bucket + k * interval '1 minute' <= hi
        GROUP BY m.srcaddr, 3;
    ELSIF metric = 'reject_spike' THEN
        -- the REJECTed share of attempts to an internal service per window
        -- (services without a REJECT in the range have 0 throughout);
        -- attempts are distinct source ports per (source, protocol) and
        -- minute, over the rows of all accounts
        RETURN QUERY
        WITH svc AS (
            SELECT DISTINCT r.dstaddr, r.dstport FROM vpcflow.rollup_service_attempts_1m r
            WHERE r.bucket >= lo - w AND r.bucket < hi AND cardinality(r.reject_ports) > 0
              AND (NOT internal_only OR vpcflow.is_private_address(r.srcaddr))
        ), att AS MATERIALIZED (
            SELECT r.bucket AS minute, r.dstaddr, r.dstport, count(DISTINCT u.p) AS conns,
                   count(DISTINCT u.p) FILTER (WHERE u.p = ANY (r.reject_ports)) AS rejects
            FROM vpcflow.rollup_service_attempts_1m r JOIN svc USING (dstaddr, dstport)
            CROSS JOIN LATERAL unnest(r.conn_ports) AS u(p)
            WHERE r.bucket >= lo - w AND r.bucket < hi
              AND (NOT internal_only OR vpcflow.is_private_address(r.srcaddr))
            GROUP BY r.bucket, r.srcaddr, r.dstaddr, r.dstport, r.protocol
        )
        SELECT host(a.dstaddr) || ':' || a.dstport, 'port ' || a.dstport, a.minute + k * interval '1 minute',
               sum(a.rejects)::double precision / sum(a.conns)
        FROM att a, generate_series(1, n) k
        WHERE a.minute + k * interval '1 minute' > lo AND a.minute + k * interval '1 minute' <= hi
        GROUP BY a.dstaddr, a.dstport, 3
        HAVING sum(a.rejects) > 0;
    ELSE
        RAISE EXCEPTION 'no baseline metric for detection kind "%"', metric
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$fn$;

-- Fold window ends in (lo, hi] into the baselines of metric: each known
-- entity gets one observation per window end (0 when it had no traffic),
-- from its first appearance on.  Folding resumes at the metric's
-- folded_through: window ends before it are skipped (late data does not
-- count twice, and does not count at all), and ones between it and lo are
-- folded too (up to a day back).
CREATE FUNCTION vpcflow.detection_fold_baselines(metric text, lo timestamptz, hi timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    done timestamptz;
    n bigint;
BEGIN
    SELECT p.folded_through INTO done FROM vpcflow.detection_progress p WHERE p.metric = $1 FOR UPDATE;
    -- continue where the last fold stopped (windows that straddle two runs'
    -- data), unless that is over a day back: a gap in the data is not a quiet day
    IF done IS NOT NULL AND done >= lo - interval '1 day' THEN
        lo := done;
    END IF;
    IF lo >= hi THEN
        RETURN 0;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS det_fold_obs
        (entity text, grp text, window_end timestamptz, value double precision) ON COMMIT DROP;
    TRUNCATE det_fold_obs;
    INSERT INTO det_fold_obs SELECT * FROM vpcflow.detection_metric_values(metric, lo, hi);
    -- the key time of window end e is its last minute, e - 1 minute
    WITH ends AS (
        SELECT e FROM generate_series(lo + interval '1 minute', hi, interval '1 minute') e
    ), newcomers AS (
        SELECT o.entity, min(o.grp) AS grp, min(o.window_end) AS first_seen
        FROM det_fold_obs o
        WHERE NOT EXISTS (SELECT 1 FROM vpcflow.detection_baselines b
                          WHERE b.metric = $1 AND b.entity = o.entity)
        GROUP BY o.entity
    ), members AS (
        SELECT b.entity, b.grp, lo AS since FROM vpcflow.detection_baselines b WHERE b.metric = $1
        UNION ALL
        SELECT c.entity, c.grp, c.first_seen - interval '1 minute' FROM newcomers c
    ), slots AS (
        -- window ends per member and hour since it appeared
        SELECT m.entity, m.grp, date_bin('1 hour', e.e - interval '1 minute', timestamptz '2000-01-01 00:00:00+00') AS h,
               count(*) AS ends
        FROM members m JOIN ends e ON e.e > m.since
        GROUP BY 1, 2, 3
    ), busy AS (
        SELECT o.entity, date_bin('1 hour', o.window_end - interval '1 minute', timestamptz '2000-01-01 00:00:00+00') AS h,
               count(*) AS ends
        FROM det_fold_obs o GROUP BY 1, 2
    ), add AS (
        SELECT s.entity, s.grp,
               vpcflow.baseline(0, s.h, s.ends - coalesce(b.ends, 0)) AS zeros
        FROM slots s LEFT JOIN busy b USING (entity, h)
        GROUP BY s.entity, s.grp
    ), vals AS (
        SELECT o.entity, vpcflow.baseline(o.value, o.window_end - interval '1 minute') AS st,
               min(o.window_end) AS first_seen
        FROM det_fold_obs o GROUP BY o.entity
    )
    INSERT INTO vpcflow.detection_baselines AS t (metric, entity, grp, state, first_seen)
    SELECT $1, a.entity, a.grp,
           CASE WHEN v.st IS NULL THEN coalesce(a.zeros, '010000000000')
                WHEN a.zeros IS NULL THEN v.st
                ELSE vpcflow.baseline_union(a.zeros, v.st) END,
           coalesce(v.first_seen, lo)
    FROM add a LEFT JOIN vals v USING (entity)
    ON CONFLICT (metric, entity) DO UPDATE
        SET state = vpcflow.baseline_union(t.state, excluded.state);
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO vpcflow.detection_progress AS p (metric, started_at, folded_through)
    VALUES ($1, lo, hi)
    ON CONFLICT (metric) DO UPDATE SET folded_through = excluded.folded_through;
    RETURN n;
END
$fn$;

-- Baselines of the entities and groups in question, for scoring.
CREATE FUNCTION vpcflow.detection_baseline_of(metric text, entities text[], groups text[])
RETURNS TABLE (key text, is_group boolean, state vpcflow.baseline)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.entity, false, b.state FROM vpcflow.detection_baselines b
    WHERE b.metric = $1 AND b.entity = ANY (entities)
    UNION ALL
    SELECT b.grp, true, vpcflow.baseline_merge(b.state) FROM vpcflow.detection_baselines b
    WHERE b.metric = $1 AND b.grp = ANY (groups)
    GROUP BY b.grp
$$;

-- Baseline kinds score only once their baselines have warmed up: window
-- ends from this time on ('infinity' before any baseline exists).
CREATE FUNCTION vpcflow.detection_warm_from(metric text) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT p.started_at + vpcflow._det_param($1, 'warmup', '1 hour')::interval
                     FROM vpcflow.detection_progress p WHERE p.metric = $1), 'infinity')
$$;

-- ------------------------------------------------------------ detectors
-- detect_<kind>(lo, hi): candidates for windows ending in (lo, hi].

CREATE FUNCTION vpcflow.detect_exfiltration(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
    n integer;
    warm timestamptz;
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config WHERE kind = 'exfiltration';
    n := (extract(epoch FROM c.window_length) / 60)::integer;
    warm := vpcflow.detection_warm_from('exfiltration');
    IF warm > hi THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH win AS (
        SELECT i.src, i.dst, i.minute + k * interval '1 minute' AS e,
               sum(i.flows) AS flows, sum(i.bytes) AS bytes, min(i.interface_id) AS interface_id
        FROM vpcflow.detection_input_client_egress(lo - c.window_length, hi) i, generate_series(1, n) k
        WHERE i.minute + k * interval '1 minute' > lo AND i.minute + k * interval '1 minute' <= hi
        GROUP BY 1, 2, 3
    ), cand AS (
        SELECT * FROM win
        WHERE win.flows >= (c.params ->> 'min_flows')::bigint
          AND win.bytes >= (c.params ->> 'min_bytes')::numeric
          AND win.e >= warm
    ), rare AS (
        SELECT r.dst, r.sources
        FROM vpcflow.detection_input_destination_sources(
                 (SELECT array_agg(DISTINCT cand.dst) FROM cand),
                 lo - (c.params ->> 'rare_lookback')::interval, hi) r
        WHERE r.sources <= (c.params ->> 'rare_max_sources')::bigint
    ), base AS (
        SELECT * FROM vpcflow.detection_baseline_of('exfiltration',
            (SELECT array_agg(DISTINCT host(cand.src)) FROM cand),
            (SELECT array_agg(DISTINCT vpcflow.address_group(cand.src)) FROM cand))
    )
    SELECT 'exfiltration'::text, host(cand.src), cand.e - c.window_length, cand.e, a.score,
           jsonb_build_object('srcaddr', host(cand.src), 'dstaddr', host(cand.dst),
                              'interface_id', cand.interface_id, 'flows', cand.flows,
                              'bytes', cand.bytes, 'destination_sources', rare.sources,
                              'metric', a.metric, 'expected', a.expected, 'spread', a.spread,
                              'deviation', a.deviation, 'baseline_size', a.baseline_size,
                              'basis', a.basis, 'reason', a.reason)
    FROM cand
    JOIN rare ON rare.dst = cand.dst
    LEFT JOIN base be ON NOT be.is_group AND be.key = host(cand.src)
    LEFT JOIN base bg ON bg.is_group AND bg.key = vpcflow.address_group(cand.src)
    CROSS JOIN LATERAL vpcflow.anomaly_score(cand.bytes::double precision, be.state,
        cand.e - interval '1 minute', bg.state, 'bytes to ' || host(cand.dst),
        (c.params ->> 'min_history')::integer, (c.params ->> 'min_spread')::double precision) a
    WHERE a.score >= c.threshold;
END
$fn$;

-- P(X >= k) for X ~ Binomial(n, p), term by term in log space (the
-- reject_spike gate calls it for a handful of attempts only).
CREATE FUNCTION vpcflow.binomial_tail(k bigint, n bigint, p double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN k <= 0 THEN 1.0
        WHEN k > n OR p <= 0 THEN 0.0
        WHEN p >= 1 THEN 1.0
        ELSE least(1.0, (SELECT coalesce(sum(exp(
                 (SELECT coalesce(sum(ln((n - j + i)::double precision / i)), 0)
                  FROM generate_series(1, j) i)
                 + j * ln(p) + (n - j) * ln(1 - p))), 0)
             FROM generate_series(k, n) j))
    END
$$;

CREATE FUNCTION vpcflow.detect_reject_spike(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
    n integer;
    warm timestamptz;
    internal_only boolean;
    rare_min bigint;
    rare_history interval;
    rare_alpha double precision;
    block_alpha double precision;
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config WHERE kind = 'reject_spike';
    n := (extract(epoch FROM c.window_length) / 60)::integer;
    internal_only := coalesce((c.params ->> 'internal_sources_only')::boolean, true);
    rare_min := coalesce((c.params ->> 'rare_min_rejects')::bigint, (c.params ->> 'min_rejects')::bigint);
    rare_history := coalesce((c.params ->> 'rare_history')::interval, interval '0');
    rare_alpha := coalesce((c.params ->> 'rare_alpha')::double precision, 0);
    block_alpha := coalesce((c.params ->> 'block_alpha')::double precision, rare_alpha);
    warm := vpcflow.detection_warm_from('reject_spike');
    IF warm > hi THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH att AS MATERIALIZED (
        SELECT * FROM vpcflow.detection_input_attempts(lo - c.window_length, hi) i
        WHERE vpcflow.is_private_address(i.dst)
          AND (NOT internal_only OR vpcflow.is_private_address(i.src))
    ), svc AS (
        SELECT DISTINCT a.dst, a.dstport FROM att a WHERE a.rejects > 0
    ), win AS (
        SELECT a.dst, a.dstport, a.minute + k * interval '1 minute' AS e,
               sum(a.rejects) AS rejects, sum(a.conns) AS attempts,
               count(DISTINCT a.src) FILTER (WHERE a.rejects > 0) AS sources,
               min(a.interface_id) AS interface_id
        FROM att a JOIN svc USING (dst, dstport), generate_series(1, n) k
        WHERE a.minute + k * interval '1 minute' > lo AND a.minute + k * interval '1 minute' <= hi
        GROUP BY 1, 2, 3
    ), cand0 AS (
        SELECT * FROM win
        WHERE win.rejects >= least((c.params ->> 'min_rejects')::bigint, rare_min)
          AND win.rejects >= (c.params ->> 'min_share')::double precision * win.attempts
          AND win.sources >= (c.params ->> 'min_sources')::bigint
          AND win.e >= warm
    ), history AS (
        -- a service with fewer than min_rejects: its attempts and REJECTs
        -- before the window, from the rollup (the window itself left out)
        SELECT c0.dst, c0.dstport, c0.e,
               coalesce(sum(cardinality(h.conn_ports)), 0) AS attempts,
               coalesce(sum(cardinality(h.reject_ports)), 0) AS rejects
        FROM cand0 c0
        LEFT JOIN vpcflow.rollup_service_attempts_1m h
          ON h.dstaddr = c0.dst AND h.dstport = c0.dstport
         AND h.bucket >= c0.e - c.window_length - rare_history AND h.bucket < c0.e - c.window_length
         AND (NOT internal_only OR vpcflow.is_private_address(h.srcaddr))
        WHERE c0.rejects < (c.params ->> 'min_rejects')::bigint
        GROUP BY 1, 2, 3
    ), fleet_minutes AS (
        -- every service on the port, per minute, read once over the span
        -- the candidates' histories cover: a quiet service's clean record
        -- of a few hundred attempts is weak evidence that it fails less
        -- often than its peers
        SELECT f.dstport, f.bucket,
               sum(cardinality(f.conn_ports)) AS attempts,
               sum(cardinality(f.reject_ports)) AS rejects
        FROM (SELECT h.dstport, min(h.e) AS first_e, max(h.e) AS last_e FROM history h GROUP BY 1) p
        JOIN vpcflow.rollup_service_attempts_1m f
          ON f.dstport = p.dstport
         AND f.bucket >= p.first_e - c.window_length - rare_history AND f.bucket < p.last_e - c.window_length
        WHERE vpcflow.is_private_address(f.dstaddr)
          AND (NOT internal_only OR vpcflow.is_private_address(f.srcaddr))
        GROUP BY 1, 2
    ), fleet AS (
        -- the port's attempts and REJECTs over each candidate's history
        SELECT hp.dstport, hp.e,
               coalesce(sum(m.attempts), 0) AS attempts,
               coalesce(sum(m.rejects), 0) AS rejects
        FROM (SELECT DISTINCT h.dstport, h.e FROM history h) hp
        LEFT JOIN fleet_minutes m
          ON m.dstport = hp.dstport
         AND m.bucket >= hp.e - c.window_length - rare_history AND m.bucket < hp.e - c.window_length
        GROUP BY 1, 2
    ), tail AS (
        -- how improbable so many REJECTs are at the service's own rate
        -- (Laplace-smoothed), never taken below its port's fleet rate; a
        -- window with no accepted attempt is a block (a broken rule), not a
        -- bad streak, and may be given a looser block_alpha
        SELECT c0.*, r.fleet_rate, greatest(r.own_rate, r.fleet_rate) AS rate_before,
               vpcflow.binomial_tail(c0.rejects::bigint, c0.attempts::bigint,
                                     greatest(r.own_rate, r.fleet_rate)::double precision) AS p
        FROM cand0 c0 JOIN history h USING (dst, dstport, e)
        JOIN fleet f USING (dstport, e)
        CROSS JOIN LATERAL (SELECT (h.rejects + 1.0) / (h.attempts + 2.0) AS own_rate,
                                   (f.rejects + 1.0) / (f.attempts + 2.0) AS fleet_rate) r
    ), cand AS (
        SELECT cand0.*, 'min_rejects'::text AS gate, NULL::numeric AS rate_before,
               NULL::numeric AS fleet_rate, NULL::double precision AS p
        FROM cand0 WHERE cand0.rejects >= (c.params ->> 'min_rejects')::bigint
        UNION ALL
        SELECT t.dst, t.dstport, t.e, t.rejects, t.attempts, t.sources, t.interface_id,
               CASE WHEN t.p < rare_alpha THEN 'improbable at its own rate'
                    ELSE 'no attempt accepted, improbable at its own rate' END,
               t.rate_before, t.fleet_rate, t.p
        FROM tail t
        WHERE t.p < rare_alpha OR (t.rejects = t.attempts AND t.p < block_alpha)
    ), base AS (
        SELECT * FROM vpcflow.detection_baseline_of('reject_spike',
            (SELECT array_agg(DISTINCT host(cand.dst) || ':' || cand.dstport) FROM cand),
            (SELECT array_agg(DISTINCT 'port ' || cand.dstport) FROM cand))
    )
    SELECT 'reject_spike'::text, host(cand.dst) || ':' || cand.dstport, cand.e - c.window_length, cand.e,
           a.score,
           jsonb_build_object('dstaddr', host(cand.dst), 'dstport', cand.dstport,
                              'interface_id', cand.interface_id, 'rejects', cand.rejects,
                              'attempts', cand.attempts,
                              'sources', cand.sources, 'internal_sources_only', internal_only,
                              'gate', cand.gate, 'reject_rate_before', round(cand.rate_before, 4),
                              'port_reject_rate_before', round(cand.fleet_rate, 4),
                              'tail_probability', cand.p,
                              'metric', a.metric, 'expected', a.expected, 'spread', a.spread,
                              'deviation', a.deviation, 'baseline_size', a.baseline_size,
                              'basis', a.basis, 'reason', a.reason)
    FROM cand
    LEFT JOIN base be ON NOT be.is_group AND be.key = host(cand.dst) || ':' || cand.dstport
    LEFT JOIN base bg ON bg.is_group AND bg.key = 'port ' || cand.dstport
    CROSS JOIN LATERAL vpcflow.anomaly_score(cand.rejects::double precision / cand.attempts, be.state,
        cand.e - interval '1 minute', bg.state, 'rejected share of attempts',
        (c.params ->> 'min_history')::integer, (c.params ->> 'min_spread')::double precision) a
    WHERE a.score >= c.threshold;
END
$fn$;

-- Distinct keys per group in sliding windows, without expanding every
-- row into every window: each key's minutes become intervals of window
-- ends, and a running sum over their edges counts the keys in each window.
-- Returns per group: the highest count in (lo, hi] and the first window
-- end at or above min_count.
CREATE FUNCTION vpcflow.detection_distinct_in_windows(
    lo timestamptz, hi timestamptz, w interval, min_count bigint, by_port boolean)
RETURNS TABLE (src inet, dst inet, dstport integer, protocol smallint, keys bigint,
               first_alert timestamptz, last_alert timestamptz, rejects bigint, flows bigint,
               sample text[], interface_id text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- by_port: groups (src, dst), keys are ports (vertical scan);
    -- otherwise groups (src, port, protocol), keys are internal hosts (sweep)
    WITH att AS MATERIALIZED (
        SELECT i.minute, i.src,
               CASE WHEN by_port THEN i.dst END AS gdst,
               CASE WHEN by_port THEN NULL ELSE i.dstport END AS gport,
               CASE WHEN by_port THEN NULL ELSE i.protocol END AS gproto,
               CASE WHEN by_port THEN i.dstport::text || '/' || i.protocol ELSE host(i.dst) END AS k,
               i.conns AS flows, i.rejects, i.interface_id
        FROM vpcflow.detection_input_attempts(lo - w, hi) i
        WHERE (by_port OR vpcflow.is_private_address(i.dst))
          AND (i.protocol NOT IN (1, 58) OR i.rejects > 0)
    ), big AS (
        -- only groups with enough keys in the whole range can reach min_count
        SELECT a.src, a.gdst, a.gport, a.gproto FROM att a
        GROUP BY 1, 2, 3, 4 HAVING count(DISTINCT a.k) >= min_count
    ), km AS (
        SELECT a.src, a.gdst, a.gport, a.gproto, a.k, a.minute,
               CASE WHEN a.minute - lag(a.minute) OVER (PARTITION BY a.src, a.gdst, a.gport, a.gproto, a.k
                                                        ORDER BY a.minute) <= w
                    THEN 0 ELSE 1 END AS brk
        FROM (SELECT DISTINCT a.src, a.gdst, a.gport, a.gproto, a.k, a.minute
              FROM att a JOIN big b ON b.src = a.src AND b.gdst IS NOT DISTINCT FROM a.gdst
                   AND b.gport IS NOT DISTINCT FROM a.gport AND b.gproto IS NOT DISTINCT FROM a.gproto) a
    ), isl AS (
        SELECT km.*, sum(km.brk) OVER (PARTITION BY km.src, km.gdst, km.gport, km.gproto, km.k
                                       ORDER BY km.minute) AS island
        FROM km
    ), iv AS (
        -- minute m counts in the windows ending in (m, m + w]
        SELECT isl.src, isl.gdst, isl.gport, isl.gproto,
               min(isl.minute) + interval '1 minute' AS s, max(isl.minute) + w + interval '1 minute' AS e
        FROM isl GROUP BY isl.src, isl.gdst, isl.gport, isl.gproto, isl.k, isl.island
    ), edges AS (
        SELECT x.src, x.gdst, x.gport, x.gproto, x.t, sum(x.d) AS d
        FROM (SELECT iv.src, iv.gdst, iv.gport, iv.gproto, iv.s AS t, 1 AS d FROM iv
              UNION ALL
              SELECT iv.src, iv.gdst, iv.gport, iv.gproto, iv.e, -1 FROM iv) x
        GROUP BY 1, 2, 3, 4, 5
    ), run AS (
        -- n keys count in the windows ending in [t, t_next)
        SELECT edges.src, edges.gdst, edges.gport, edges.gproto, edges.t,
               sum(edges.d) OVER g AS n, lead(edges.t) OVER g AS t_next
        FROM edges
        WINDOW g AS (PARTITION BY edges.src, edges.gdst, edges.gport, edges.gproto ORDER BY edges.t)
    ), hit AS (
        -- window ends are the minutes in (lo, hi]
        SELECT run.src, run.gdst, run.gport, run.gproto, max(run.n) AS keys,
               min(greatest(run.t, lo + interval '1 minute')) AS first_alert,
               max(least(run.t_next - interval '1 minute', hi)) AS last_alert
        FROM run
        WHERE run.n >= min_count AND run.t <= hi AND run.t_next > lo + interval '1 minute'
        GROUP BY 1, 2, 3, 4
    )
    SELECT h.src, h.gdst, h.gport, h.gproto, h.keys, h.first_alert, h.last_alert,
           sum(a.rejects)::bigint, sum(a.flows)::bigint,
           (array_agg(DISTINCT a.k))[1:20], min(a.interface_id)
    FROM hit h
    JOIN att a ON a.src = h.src AND a.gdst IS NOT DISTINCT FROM h.gdst
              AND a.gport IS NOT DISTINCT FROM h.gport AND a.gproto IS NOT DISTINCT FROM h.gproto
              AND a.minute >= h.first_alert - w AND a.minute < h.last_alert
    GROUP BY h.src, h.gdst, h.gport, h.gproto, h.keys, h.first_alert, h.last_alert
$$;

CREATE FUNCTION vpcflow.detect_port_scan(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config WHERE kind = 'port_scan';
    RETURN QUERY
    SELECT 'port_scan'::text, host(d.src), d.first_alert - c.window_length, d.last_alert,
           d.keys::double precision,
           jsonb_build_object('srcaddr', host(d.src), 'dstaddr', host(d.dst),
                              'interface_id', d.interface_id, 'distinct_ports', d.keys,
                              'attempts', d.flows, 'rejects', d.rejects, 'ports_sample', d.sample,
                              'reason', format('%s tried %s distinct ports on %s within %s (%s of %s attempts rejected)',
                                               host(d.src), d.keys, host(d.dst), c.window_length,
                                               d.rejects, d.flows))
    FROM vpcflow.detection_distinct_in_windows(lo, hi, c.window_length,
                                               ceil(c.threshold)::bigint, true) d;
END
$fn$;

CREATE FUNCTION vpcflow.detect_horizontal_sweep(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config WHERE kind = 'horizontal_sweep';
    RETURN QUERY
    SELECT 'horizontal_sweep'::text, host(d.src), d.first_alert - c.window_length, d.last_alert,
           d.keys::double precision,
           jsonb_build_object('srcaddr', host(d.src), 'dstport', d.dstport, 'protocol', d.protocol,
                              'distinct_hosts', d.keys, 'attempts', d.flows, 'rejects', d.rejects,
                              'hosts_sample', d.sample,
                              'reason', format('%s tried port %s/%s on %s internal hosts within %s (%s of %s attempts rejected)',
                                               host(d.src), d.dstport, d.protocol, d.keys, c.window_length,
                                               d.rejects, d.flows))
    FROM vpcflow.detection_distinct_in_windows(lo, hi, c.window_length,
                                               ceil(c.threshold)::bigint, false) d;
END
$fn$;

-- Beaconing: for pairs (internal host, rare public destination) active in
-- (lo, hi], the connections of the window ending at hi: how many
-- intervals between consecutive connections are within tolerance of the
-- median interval.  Jitter-tolerant (tolerance), gap-tolerant
-- (min_regular_fraction).
CREATE FUNCTION vpcflow.detect_beaconing(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
    tol double precision;
    tol_s double precision;
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config WHERE kind = 'beaconing';
    tol := (c.params ->> 'tolerance')::double precision;
    tol_s := (c.params ->> 'tolerance_s')::double precision;
    RETURN QUERY
    WITH s AS MATERIALIZED (
        SELECT * FROM vpcflow.detection_input_connection_starts(hi - c.window_length, hi)
    ), active AS (
        SELECT s.src, s.dst FROM s
        GROUP BY 1, 2
        HAVING max(s.start_time) >= lo AND count(DISTINCT s.start_time) > ceil(c.threshold)
    ), ts AS (
        SELECT DISTINCT s.src, s.dst, s.start_time FROM s JOIN active a ON a.src = s.src AND a.dst = s.dst
    ), iv AS (
        SELECT ts.src, ts.dst, ts.start_time,
               extract(epoch FROM ts.start_time - lag(ts.start_time) OVER (PARTITION BY ts.src, ts.dst ORDER BY ts.start_time))::double precision AS dt
        FROM ts
    ), per AS (
        SELECT iv.src, iv.dst, count(iv.dt) AS intervals,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY iv.dt) AS period,
               min(iv.start_time) AS first_start, max(iv.start_time) AS last_start
        FROM iv GROUP BY 1, 2
    ), reg AS (
        SELECT p.*, count(*) FILTER (WHERE abs(iv.dt - p.period) <= greatest(tol_s, tol * p.period)) AS regular,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(iv.dt - p.period)) AS jitter
        FROM per p JOIN iv ON iv.src = p.src AND iv.dst = p.dst AND iv.dt IS NOT NULL
        WHERE p.period BETWEEN (c.params ->> 'min_period_s')::double precision
                           AND (c.params ->> 'max_period_s')::double precision
        GROUP BY p.src, p.dst, p.intervals, p.period, p.first_start, p.last_start
    ), cand AS (
        SELECT * FROM reg
        WHERE reg.regular >= c.threshold
          AND reg.regular >= (c.params ->> 'min_regular_fraction')::double precision * reg.intervals
    ), rare AS (
        SELECT r.dst, r.sources
        FROM vpcflow.detection_input_destination_sources(
                 (SELECT array_agg(DISTINCT cand.dst) FROM cand),
                 hi - (c.params ->> 'rare_lookback')::interval, hi) r
        WHERE r.sources <= (c.params ->> 'rare_max_sources')::bigint
    )
    SELECT 'beaconing'::text, host(cand.src), cand.first_start, cand.last_start + interval '1 second',
           cand.regular::double precision,
           jsonb_build_object('srcaddr', host(cand.src), 'dstaddr', host(cand.dst),
                              'interface_id', (SELECT min(s.interface_id) FROM s WHERE s.src = cand.src AND s.dst = cand.dst),
                              'dstports', (SELECT array_agg(DISTINCT s.dstport) FROM s WHERE s.src = cand.src AND s.dst = cand.dst),
                              'period_s', cand.period, 'median_jitter_s', cand.jitter,
                              'intervals', cand.intervals, 'regular_intervals', cand.regular,
                              'destination_sources', rare.sources,
                              'reason', format('%s connected to %s every %s s (median jitter %s s): %s of %s intervals regular',
                                               host(cand.src), host(cand.dst), round(cand.period::numeric, 1),
                                               round(cand.jitter::numeric, 1), cand.regular, cand.intervals))
    FROM cand JOIN rare ON rare.dst = cand.dst;
END
$fn$;

-- New remote port / destination: accepted client-side connections in the
-- window from an internal host that has been seen for min_age, to a port
-- (or public destination) it did not use in the lookback and that at most
-- rare_max_sources hosts used.
CREATE FUNCTION vpcflow.detection_new_remote(kind text, lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c vpcflow.detection_config;
    look interval;
    age interval;
    rare_max bigint;
    by_port boolean := kind = 'new_port';
BEGIN
    SELECT * INTO c FROM vpcflow.detection_config d WHERE d.kind = $1;
    look := (c.params ->> 'lookback')::interval;
    age := (c.params ->> 'min_age')::interval;
    rare_max := (c.params ->> 'rare_max_sources')::bigint;
    CREATE TEMP TABLE IF NOT EXISTS det_new_remote
        (src inet, k text, first_minute timestamptz, last_minute timestamptz, flows numeric,
         interface_id text, sample text[]) ON COMMIT DROP;
    TRUNCATE det_new_remote;
    -- this window's accepted attempts by key (port or public destination),
    -- keeping keys few hosts use now (popular ones cannot be rare)
    INSERT INTO det_new_remote
    WITH now_ AS (
        SELECT i.src, CASE WHEN by_port THEN i.dstport::text || '/' || i.protocol ELSE host(i.dst) END AS k,
               i.minute, i.conns - i.rejects AS flows, i.interface_id,
               CASE WHEN by_port THEN host(i.dst) ELSE i.dstport::text END AS other
        FROM vpcflow.detection_input_attempts(lo - c.window_length + interval '1 minute', hi) i
        WHERE i.conns > i.rejects AND i.dstport < 32768 AND vpcflow.is_private_address(i.src)
          AND (by_port OR NOT vpcflow.is_private_address(i.dst))
          AND i.protocol NOT IN (1, 58)
    ), few AS (
        SELECT now_.k FROM now_ GROUP BY 1 HAVING count(DISTINCT now_.src) <= rare_max
    )
    SELECT now_.src, now_.k, min(now_.minute), max(now_.minute), sum(now_.flows), min(now_.interface_id),
           (array_agg(DISTINCT now_.other))[1:10]
    FROM now_ JOIN few USING (k)
    GROUP BY 1, 2
    HAVING sum(now_.flows) >= c.threshold AND max(now_.minute) >= lo;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH hist AS MATERIALIZED (
        -- who used those ports / destinations in the lookback, before the window
        SELECT DISTINCT i.src, i.dstport::text || '/' || i.protocol AS k
        FROM vpcflow.detection_input_attempts(lo - look, lo - c.window_length + interval '1 minute') i
        WHERE by_port AND i.conns > i.rejects AND vpcflow.is_private_address(i.src)
          AND i.dstport::text || '/' || i.protocol IN (SELECT n.k FROM det_new_remote n)
        UNION ALL
        SELECT d.src, host(d.dst)
        FROM vpcflow.detection_input_destination_senders(
                 (SELECT array_agg(DISTINCT n.k::inet) FROM det_new_remote n WHERE NOT by_port),
                 lo - look, lo - c.window_length + interval '1 minute') d
        WHERE NOT by_port
    ), users AS (
        SELECT x.k, count(DISTINCT x.src) AS sources
        FROM (SELECT hist.src, hist.k FROM hist UNION SELECT n.src, n.k FROM det_new_remote n) x
        GROUP BY 1
    )
    SELECT c.kind, host(n.src), n.first_minute, n.last_minute + interval '1 minute',
           n.flows::double precision,
           jsonb_build_object('srcaddr', host(n.src), CASE WHEN by_port THEN 'port' ELSE 'dstaddr' END, n.k,
                              'interface_id', n.interface_id, 'flows', n.flows, 'sources', u.sources,
                              CASE WHEN by_port THEN 'destinations_sample' ELSE 'ports_sample' END, n.sample,
                              'reason', format('%s made %s accepted connections to %s %s, not used by it in the previous %s and used by %s host(s)',
                                               host(n.src), n.flows, CASE WHEN by_port THEN 'new port' ELSE 'new destination' END,
                                               n.k, look, u.sources))
    FROM det_new_remote n
    JOIN users u ON u.k = n.k
    WHERE u.sources <= rare_max
      AND NOT EXISTS (SELECT 1 FROM hist h WHERE h.src = n.src AND h.k = n.k)
      -- the host must have a history: seen before min_age ago
      AND EXISTS (SELECT 1 FROM vpcflow.flows f
                  WHERE f.srcaddr = n.src AND f.start_time >= lo - look AND f.start_time < lo - age);
END
$fn$;

CREATE FUNCTION vpcflow.detect_new_port(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vpcflow.detection_new_remote('new_port', lo, hi) $$;

CREATE FUNCTION vpcflow.detect_new_destination(lo timestamptz, hi timestamptz)
RETURNS SETOF vpcflow.detection_candidate
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vpcflow.detection_new_remote('new_destination', lo, hi) $$;

-- ------------------------------------------------------------ the run

-- Merge candidates (in pg_temp.det_candidates) into vpcflow.detections:
-- suppressed ones are dropped, overlapping ones of a kind and entity
-- become one, and one that overlaps (within merge_gap) an existing
-- detection extends it.  Returns (new, updated, suppressed).
CREATE FUNCTION vpcflow.detection_merge_candidates(OUT inserted bigint, OUT updated bigint,
                                                   OUT suppressed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    existing bigint;
BEGIN
    inserted := 0; updated := 0;
    DELETE FROM pg_temp.det_candidates c
    WHERE EXISTS (SELECT 1 FROM vpcflow.detection_suppressions s
                  WHERE s.during @> c.window_end
                    AND (s.kind IS NULL OR s.kind = c.kind)
                    AND (s.entity_pattern IS NULL OR c.entity LIKE s.entity_pattern));
    GET DIAGNOSTICS suppressed = ROW_COUNT;

    FOR r IN
        WITH c AS (
            SELECT d.*, cfg.merge_gap, cfg.window_length,
                   max(d.window_end) OVER (PARTITION BY d.kind, d.entity ORDER BY d.window_start, d.window_end
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
            FROM pg_temp.det_candidates d JOIN vpcflow.detection_config cfg ON cfg.kind = d.kind
        ), i AS (
            SELECT c.*, sum(CASE WHEN c.prev_end IS NOT NULL AND c.window_start <= c.prev_end + c.merge_gap
                                 THEN 0 ELSE 1 END)
                        OVER (PARTITION BY c.kind, c.entity ORDER BY c.window_start, c.window_end) AS island
            FROM c
        )
        SELECT i.kind, i.entity, min(i.window_length) AS window_length, min(i.merge_gap) AS merge_gap,
               min(i.window_start) AS first_seen, max(i.window_end) AS last_seen,
               max(i.score) AS score, (array_agg(i.evidence ORDER BY i.score DESC, i.window_end DESC))[1] AS evidence,
               count(*) AS windows
        FROM i GROUP BY i.kind, i.entity, i.island
        ORDER BY min(i.window_start)
    LOOP
        UPDATE vpcflow.detections d
        SET first_seen = least(d.first_seen, r.first_seen),
            last_seen = greatest(d.last_seen, r.last_seen),
            evidence = CASE WHEN r.score > d.score THEN r.evidence ELSE d.evidence END,
            score = greatest(d.score, r.score),
            windows = d.windows + r.windows,
            updated_at = clock_timestamp()
        WHERE d.detection_id = (
            SELECT e.detection_id FROM vpcflow.detections e
            WHERE e.kind = r.kind AND e.entity = r.entity
              AND e.last_seen + r.merge_gap >= r.first_seen AND e.first_seen <= r.last_seen + r.merge_gap
            ORDER BY e.last_seen DESC LIMIT 1)
        RETURNING d.detection_id INTO existing;
        IF existing IS NULL THEN
            INSERT INTO vpcflow.detections (kind, entity, window_length, first_seen, last_seen,
                                            score, evidence, windows)
            VALUES (r.kind, r.entity, r.window_length, r.first_seen, r.last_seen,
                    r.score, r.evidence, r.windows);
            inserted := inserted + 1;
        ELSE
            updated := updated + 1;
        END IF;
    END LOOP;
    TRUNCATE pg_temp.det_candidates;
END
$fn$;

-- One maintenance step: the flows of ingest_log entries not handled yet.
-- Their time range is processed in chunks of at most max_chunk, oldest
-- first; in each chunk every enabled kind's detect_<kind>(lo, hi) runs,
-- then the baselines take in the chunk (so a backfill scores each hour
-- against the hours before it).  Baselines lag the newest data by
-- settle (late records of a minute still arrive).  Only one run at a time:
-- a concurrent call returns at once with ingests = 0.
-- Call it from pg_cron every minute, alone or from vpcflow.run_maintenance().
CREATE FUNCTION vpcflow.run_detections(max_chunk interval DEFAULT '1 hour',
                                       settle interval DEFAULT '5 minutes',
                                       OUT ingests integer, OUT range_start timestamptz,
                                       OUT range_end timestamptz, OUT candidates bigint,
                                       OUT inserted bigint, OUT updated bigint, OUT suppressed bigint,
                                       OUT seconds double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
    ids integer[];
    frontier timestamptz;
    a timestamptz;
    b timestamptz;
    k text;
    m record;
    n bigint;
BEGIN
    ingests := 0; candidates := 0; inserted := 0; updated := 0; suppressed := 0;
    PERFORM vpcflow.refuse_on_coordinator('vpcflow.run_detections()');  -- docs/scaleout.md
    IF max_chunk < interval '1 minute' THEN
        RAISE EXCEPTION 'max_chunk must be at least 1 minute' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('vpcflow.run_detections')) THEN
        seconds := extract(epoch FROM clock_timestamp() - t0);
        RETURN;
    END IF;
    -- the baselines are folded from the detection rollups: fold in the
    -- files not rolled up yet (a no-op when run_maintenance just did)
    IF EXISTS (SELECT 1 FROM vpcflow.ingest_log l
               WHERE l.status IN ('loaded', 'loaded_with_errors')
                 AND NOT EXISTS (SELECT 1 FROM vpcflow.rollup_progress p WHERE p.ingest_id = l.ingest_id)) THEN
        PERFORM vpcflow.refresh_rollups();
    END IF;
    SELECT array_agg(l.ingest_id), vpcflow._det_minute(min(l.min_start)),
           vpcflow._det_minute(max(l.max_start)) + interval '1 minute'
    INTO ids, range_start, range_end
    FROM vpcflow.ingest_log l
    WHERE l.status <> 'loading'
      AND NOT EXISTS (SELECT 1 FROM vpcflow.detection_processed p WHERE p.ingest_id = l.ingest_id);
    IF ids IS NULL THEN
        seconds := extract(epoch FROM clock_timestamp() - t0);
        RETURN;
    END IF;
    ingests := cardinality(ids);
    SELECT vpcflow._det_minute(max(l.max_start)) + interval '1 minute' INTO frontier
    FROM vpcflow.ingest_log l WHERE l.status <> 'loading';

    CREATE TEMP TABLE IF NOT EXISTS det_candidates OF vpcflow.detection_candidate ON COMMIT DROP;
    a := range_start;
    WHILE range_start IS NOT NULL AND a < range_end LOOP
        b := least(a + max_chunk, range_end);
        FOR k IN SELECT c.kind FROM vpcflow.detection_config c WHERE c.enabled ORDER BY c.kind LOOP
            EXECUTE format('INSERT INTO pg_temp.det_candidates SELECT * FROM vpcflow.%I($1, $2)',
                           'detect_' || k) USING a, b;
            GET DIAGNOSTICS n = ROW_COUNT;
            candidates := candidates + n;
        END LOOP;
        -- baselines of enabled baseline kinds take in (a, b], up to the settled frontier
        FOR k IN SELECT c.kind FROM vpcflow.detection_config c
                 WHERE c.enabled AND c.kind IN ('exfiltration', 'reject_spike') LOOP
            PERFORM vpcflow.detection_fold_baselines(k, a, least(b, frontier - settle));
        END LOOP;
        SELECT * INTO m FROM vpcflow.detection_merge_candidates();
        inserted := inserted + m.inserted;
        updated := updated + m.updated;
        suppressed := suppressed + m.suppressed;
        a := b;
    END LOOP;
    INSERT INTO vpcflow.detection_processed (ingest_id) SELECT unnest(ids) ON CONFLICT DO NOTHING;
    seconds := extract(epoch FROM clock_timestamp() - t0);
END
$fn$;

-- Detections with their evidence flattened for reading and BI.
CREATE VIEW vpcflow.detections_recent WITH (security_invoker = true) AS
SELECT d.detection_id, d.kind, d.entity, d.first_seen, d.last_seen, d.score,
       d.evidence ->> 'reason' AS reason, d.evidence ->> 'interface_id' AS interface_id,
       d.evidence ->> 'dstaddr' AS dstaddr, d.windows, d.detected_at, d.updated_at
FROM vpcflow.detections d
WHERE d.last_seen > now() - interval '7 days';

-- ------------------------------------------------------------ privileges

-- Detections are keyed by address and not yet attributed to accounts, so
-- tenants (vpcflow_reader) cannot read them: they would show other
-- tenants' hosts (docs/security.md).  Admins (the security team) do.
GRANT SELECT ON vpcflow.detection_config, vpcflow.detection_suppressions TO vpcflow_reader;
GRANT SELECT ON vpcflow.detections_recent TO vpcflow_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON vpcflow.detection_config, vpcflow.detection_suppressions,
    vpcflow.detections, vpcflow.detection_baselines, vpcflow.detection_progress,
    vpcflow.detection_processed TO vpcflow_admin;
-- run_detections reads the ingest log for its watermark
GRANT SELECT ON vpcflow.ingest_log TO vpcflow_admin;
REVOKE EXECUTE ON FUNCTION vpcflow.run_detections(interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vpcflow.run_detections(interval, interval) TO vpcflow_admin;
