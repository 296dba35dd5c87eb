-- pgTAP: the detection baselines are folded from the detection rollups
-- (src/detection_rollup.sql), and that gives exactly what folding them
-- from raw flows gave.  Five hours of generated flows in two accounts,
-- delivered as five files: in time order, then a late file (the other
-- interface's log of connections already loaded, in another account, plus
-- more traffic for minutes already rolled up), a re-delivered copy of part
-- of a file, and more data.  The same sequence of files and runs is played
-- twice: first with the raw-flow metric (the previous implementation,
-- installed for the duration of a savepoint), then with the rollups;
-- baselines, progress and detections must be identical.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(16);

SELECT vpcflow.ensure_partitions('2024-06-03', '2024-06-04');

CREATE TEMP TABLE syn (file int, acct text, src inet, dst inet, sport int, dport int, proto smallint,
                       action text, bytes bigint, t timestamptz);
-- client egress: 12 hosts -> public sites; host h is quiet in some minutes,
-- hosts 11 and 12 appear at minute 100 (newcomers)
INSERT INTO syn
SELECT 1 + (m >= 120)::int + (m >= 180)::int * 3 + (m >= 240)::int, '111111111111',
       ('10.0.1.' || h)::inet, ('93.184.216.' || (34 + (h + m) % 3))::inet,
       40000 + (h * 131 + m * 7 + j) % 20000, 443, 6, 'ACCEPT', 500 + (h * 37 + m * 11 + j * 101) % 5000,
       timestamptz '2024-06-03' + m * interval '1 minute' + (h + 17 * j) * interval '1 second'
FROM generate_series(0, 299) m, generate_series(1, 12) h, generate_series(0, 2) j
WHERE (h * m) % 7 <> 3 AND (h <= 10 OR m >= 100) AND j <= (h + m) % 3;
-- not client egress: responses (service port as source), REJECTed, private
-- to private, NULL bytes
INSERT INTO syn
SELECT 1 + (m >= 120)::int + (m >= 180)::int * 3 + (m >= 240)::int, '111111111111',
       x.src, x.dst, x.sport, x.dport, 6, x.action, x.bytes,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '7 second'
FROM generate_series(0, 299, 3) m,
     (VALUES ('93.184.216.34'::inet, '10.0.1.1'::inet, 443, 41000, 'ACCEPT', 90000::bigint),
             ('10.0.1.2', '93.184.216.35', 42000, 443, 'REJECT', 700),
             ('10.0.1.3', '10.0.9.9', 43000, 443, 'ACCEPT', 800),
             ('10.0.1.4', '93.184.216.36', 44000, 80, 'ACCEPT', NULL)) AS x(src, dst, sport, dport, action, bytes);
-- service attempts: clients 10.0.1.1-10 -> 10.0.2.5:5432 and 10.0.2.6:3306,
-- some REJECTed; a connection may be logged twice in a minute (records of
-- one connection), ICMP REJECTs, and a public source REJECTed on 10.0.2.5
INSERT INTO syn
SELECT 1 + (m >= 120)::int + (m >= 180)::int * 3 + (m >= 240)::int, '111111111111',
       ('10.0.1.' || h)::inet, ('10.0.2.' || (5 + h % 2))::inet, 33000 + (h * 977 + m * 13) % 20000,
       CASE WHEN h % 2 = 0 THEN 5432 ELSE 3306 END, 6,
       CASE WHEN (h * 7 + m) % 11 = 0 OR (m BETWEEN 200 AND 215 AND h % 2 = 0) THEN 'REJECT' ELSE 'ACCEPT' END,
       800, timestamptz '2024-06-03' + m * interval '1 minute' + (h * 3 + r * 20) * interval '1 second'
FROM generate_series(0, 299) m, generate_series(1, 10) h, generate_series(0, 1) r
WHERE (h + m) % 2 = 0 AND (r = 0 OR (h + m) % 4 = 0);
INSERT INTO syn
SELECT 1 + (m >= 120)::int + (m >= 180)::int * 3 + (m >= 240)::int, '111111111111',
       x.src, '10.0.2.5', x.sport, x.dport, x.proto, 'REJECT', 60,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '41 second'
FROM generate_series(0, 299, 5) m,
     (VALUES ('10.0.1.3'::inet, 0, 0, 1::smallint), ('198.51.100.7', 45000, 5432, 6)) AS x(src, sport, dport, proto);
-- file 3, late (after the first run): the server side's log of file 2's
-- connections to 10.0.2.5/6 in minutes 160-179 (same 5-tuples, another
-- account), more egress of host 10.0.1.5 and new REJECTs in those minutes
INSERT INTO syn
SELECT 3, '222222222222', s.src, s.dst, s.sport, s.dport, s.proto, s.action, s.bytes, s.t + interval '2 second'
FROM syn s
WHERE s.file = 2 AND s.dst << inet '10.0.2.0/24' AND s.t >= timestamptz '2024-06-03 02:40';
INSERT INTO syn
SELECT 3, '222222222222', '10.0.1.5', '203.0.113.9', 50000 + m, 443, 6, 'ACCEPT', 30000,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '50 second'
FROM generate_series(160, 179) m;
INSERT INTO syn
SELECT 3, '222222222222', ('10.0.1.' || h)::inet, '10.0.2.6', 60000 + m * 10 + h, 3306, 6, 'REJECT', 60,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '55 second'
FROM generate_series(170, 179) m, generate_series(1, 3) h;
--   and in the first account: more connections (new source ports) on keys
--   (minute, source, service) and egress of hosts already rolled up
INSERT INTO syn
SELECT 3, '111111111111', '10.0.1.2', '10.0.2.5', 61000 + m, 5432, 6, 'REJECT', 60,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '57 second'
FROM generate_series(160, 178, 2) m;
INSERT INTO syn
SELECT 3, '111111111111', '10.0.1.6', '93.184.216.34', 52000 + m, 443, 6, 'ACCEPT', 4000,
       timestamptz '2024-06-03' + m * interval '1 minute' + interval '58 second'
FROM generate_series(160, 179) m;
-- file 4: a re-delivery of file 2's records of minutes 170-179 (the same
-- rows again, under another name); then file 5 (minutes 180-239) and
-- file 6 (240-299), numbered so above
INSERT INTO syn
SELECT 4, s.acct, s.src, s.dst, s.sport, s.dport, s.proto, s.action, s.bytes, s.t
FROM syn s WHERE s.file = 2 AND s.t >= timestamptz '2024-06-03 02:50';

-- "Ingest" a file: an ingest_log entry and its flows, as ingest_file leaves them.
CREATE FUNCTION pg_temp.ingest(n int) RETURNS integer LANGUAGE sql AS $$
    WITH l AS (
        INSERT INTO vpcflow.ingest_log (file_name, file_size, sha256, format, status, rows,
                                        min_start, max_start, started_at, finished_at)
        SELECT 'detroll-' || n, count(*) * 100, sha256(('detection rollup test file ' || n)::bytea), 'v2',
               'loaded', count(*), min(t), max(t), now(), now()
        FROM syn WHERE file = n
        RETURNING ingest_id
    ), f AS (
        INSERT INTO vpcflow.flows (version, account_id, srcaddr, dstaddr, srcport, dstport, protocol, action,
                                   log_status, ingest_id, packets, bytes, start_time, end_time)
        SELECT 2, s.acct::vpcflow.awsid, s.src, s.dst, s.sport, s.dport, s.proto,
               s.action::vpcflow.flow_action, 'OK', l.ingest_id, 1, s.bytes, s.t, s.t + interval '5 second'
        FROM syn s, l WHERE s.file = n
        RETURNING 1
    )
    SELECT (SELECT ingest_id FROM l) + 0 * (SELECT count(*) FROM f)::int
$$;

-- The sequence of deliveries and maintenance runs, played by both paths.
CREATE FUNCTION pg_temp.play(stage int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF stage = 1 THEN
        PERFORM pg_temp.ingest(1); PERFORM pg_temp.ingest(2);
        PERFORM vpcflow.run_detections();
    ELSIF stage = 2 THEN
        PERFORM pg_temp.ingest(3); PERFORM pg_temp.ingest(4); PERFORM pg_temp.ingest(5);
        PERFORM vpcflow.run_detections();
    ELSE
        PERFORM pg_temp.ingest(6);
        PERFORM vpcflow.run_detections();
    END IF;
END
$$;

CREATE TEMP VIEW state AS
SELECT 'baseline ' || b.metric || ' ' || b.entity || ' ' || b.grp || ' ' || b.first_seen || ' ' || b.state::text AS line
FROM vpcflow.detection_baselines b
UNION ALL
SELECT 'progress ' || p.metric || ' ' || p.started_at || ' ' || p.folded_through FROM vpcflow.detection_progress p
UNION ALL
SELECT 'detection ' || d.kind || ' ' || d.entity || ' ' || d.first_seen || ' ' || d.last_seen || ' '
       || d.score || ' ' || d.windows || ' ' || (d.evidence - 'reason')::text
FROM vpcflow.detections d;

-- ---------------------------------------------------------- the raw path
SAVEPOINT raw_path;
\ir include/raw_baseline_metric.sql
SELECT pg_temp.play(1);
SELECT string_agg(line, E'\n' ORDER BY line) AS raw_state_1 FROM state \gset
SELECT pg_temp.play(2);
SELECT string_agg(line, E'\n' ORDER BY line) AS raw_state_2 FROM state \gset
SELECT pg_temp.play(3);
SELECT string_agg(line, E'\n' ORDER BY line) AS raw_state_3 FROM state \gset
-- the raw metric itself over the whole day, for comparison below
SELECT string_agg(x.metric || ' ' || v.entity || ' ' || v.grp || ' ' || v.window_end || ' ' || v.value, E'\n'
                  ORDER BY x.metric, v.entity, v.window_end) AS raw_values
FROM (VALUES ('exfiltration'), ('reject_spike')) x(metric),
     vpcflow.detection_metric_values(x.metric, '2024-06-03 00:00', '2024-06-03 05:30') v \gset
ROLLBACK TO SAVEPOINT raw_path;

-- ---------------------------------------------------------- the rollup path
-- 1-2: the metric reads the rollups, which refresh_rollups fills
SELECT ok(pg_get_functiondef('vpcflow.detection_metric_values(text, timestamptz, timestamptz)'::regprocedure)
              ~ 'rollup_host_egress_1m' , 'the baseline metric reads the detection rollups');
SELECT pg_temp.play(1);
SELECT ok((SELECT count(*) FROM vpcflow.rollup_host_egress_1m) > 0
          AND (SELECT count(*) FROM vpcflow.rollup_service_attempts_1m) > 0,
          'run_detections brought the detection rollups up to date');

-- the rollups against the raw rows they summarise (empty when exact)
CREATE FUNCTION pg_temp.egress_diff() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT i.minute, i.src, sum(i.flows), sum(i.bytes)
         FROM vpcflow.detection_input_client_egress('2024-06-03', '2024-06-04') i GROUP BY 1, 2
         EXCEPT
         SELECT r.bucket, r.srcaddr, sum(r.flows), sum(r.bytes) FROM vpcflow.rollup_host_egress_1m r GROUP BY 1, 2)
        UNION ALL
        (SELECT r.bucket, r.srcaddr, sum(r.flows), sum(r.bytes) FROM vpcflow.rollup_host_egress_1m r GROUP BY 1, 2
         EXCEPT
         SELECT i.minute, i.src, sum(i.flows), sum(i.bytes)
         FROM vpcflow.detection_input_client_egress('2024-06-03', '2024-06-04') i GROUP BY 1, 2)) d
$$;
CREATE FUNCTION pg_temp.attempts_diff() RETURNS bigint LANGUAGE sql AS $$
    WITH raw AS (
        SELECT i.minute, i.src, i.dst, i.dstport, i.protocol, i.conns, i.rejects
        FROM vpcflow.detection_input_attempts('2024-06-03', '2024-06-04') i
        WHERE vpcflow.is_private_address(i.dst) AND i.dstport IS NOT NULL
    ), rolled AS (
        SELECT r.bucket, r.srcaddr, r.dstaddr, r.dstport, r.protocol, count(DISTINCT u.p),
               count(DISTINCT u.p) FILTER (WHERE u.p = ANY (r.reject_ports))
        FROM vpcflow.rollup_service_attempts_1m r CROSS JOIN LATERAL unnest(r.conn_ports) u(p)
        GROUP BY 1, 2, 3, 4, 5
    )
    SELECT count(*) FROM ((TABLE raw EXCEPT TABLE rolled) UNION ALL (TABLE rolled EXCEPT TABLE raw)) d
$$;

-- 3-5: after the first run
SELECT is(pg_temp.egress_diff(), 0::bigint, 'run 1: client egress per host and minute equals the raw rows''');
SELECT is(pg_temp.attempts_diff(), 0::bigint, 'run 1: attempts and REJECTs per service, source and minute equal the raw rows''');
SELECT is((SELECT string_agg(line, E'\n' ORDER BY line) FROM state), :'raw_state_1',
          'run 1: baselines, progress and detections equal those folded from raw flows');

-- 6-9: the late file (another account's log of the same connections),
-- the re-delivered copy and more data
SELECT pg_temp.play(2);
SELECT ok((SELECT count(*) FROM vpcflow.rollup_service_attempts_1m r
           WHERE r.account_id = '111111111111' AND r.srcaddr = '10.0.1.2' AND 61000 + extract(hour FROM r.bucket) * 60
                 + extract(minute FROM r.bucket) = ANY (r.reject_ports) AND cardinality(r.conn_ports) >= 2) = 10,
          'the late file''s connections merged into rows of minutes already rolled up');
SELECT is(pg_temp.egress_diff(), 0::bigint, 'run 2: client egress equals the raw rows'' (late and re-delivered files)');
SELECT is(pg_temp.attempts_diff(), 0::bigint,
          'run 2: attempts count each connection once across files and accounts');
SELECT is((SELECT string_agg(line, E'\n' ORDER BY line) FROM state), :'raw_state_2',
          'run 2: baselines, progress and detections equal those folded from raw flows');

-- 10-12
SELECT pg_temp.play(3);
SELECT is((SELECT string_agg(line, E'\n' ORDER BY line) FROM state), :'raw_state_3',
          'run 3: baselines, progress and detections equal those folded from raw flows');
SELECT is((SELECT string_agg(x.metric || ' ' || v.entity || ' ' || v.grp || ' ' || v.window_end || ' ' || v.value, E'\n'
                             ORDER BY x.metric, v.entity, v.window_end)
           FROM (VALUES ('exfiltration'), ('reject_spike')) x(metric),
                vpcflow.detection_metric_values(x.metric, '2024-06-03 00:00', '2024-06-03 05:30') v),
          :'raw_values', 'both metrics over the whole range equal the raw-flow metric');
SELECT ok((SELECT count(*) FROM vpcflow.detection_baselines WHERE metric = 'reject_spike') >= 2
          AND (SELECT count(*) FROM vpcflow.detection_baselines WHERE metric = 'exfiltration') = 12,
          'the comparison covers both metrics (services, 12 hosts)');

-- 13-14: expiry: rows past minute_retention go, unless the baselines have
-- not taken them in yet
SELECT vpcflow.expire_rollups('2024-06-20');
SELECT ok((SELECT count(*) FROM vpcflow.rollup_host_egress_1m WHERE bucket >= '2024-06-03 04:00') > 0,
          'expiry keeps minutes within a day of the baselines'' fold');
UPDATE vpcflow.detection_progress SET folded_through = '2024-06-19';
SELECT vpcflow.expire_rollups('2024-06-20');
SELECT is((SELECT count(*) FROM vpcflow.rollup_host_egress_1m) + (SELECT count(*) FROM vpcflow.rollup_service_attempts_1m),
          0::bigint, 'once folded, rows past minute_retention are expired');

-- 15-16: tenants read their accounts' rows only
INSERT INTO vpcflow.tenant_accounts (role_id, account_id) VALUES ('vpcflow_reader', '222222222222');
UPDATE vpcflow.detection_progress SET folded_through = '2024-06-03 05:00';
DELETE FROM vpcflow.rollup_progress;
SELECT vpcflow.refresh_rollups();
SET LOCAL ROLE vpcflow_reader;
SELECT is((SELECT count(DISTINCT account_id::text) FROM vpcflow.rollup_service_attempts_1m), 1::bigint,
          'a tenant sees only its account''s attempt rows');
SELECT is((SELECT min(account_id::text) FROM vpcflow.rollup_host_egress_1m), '222222222222',
          'a tenant sees only its account''s egress rows');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
