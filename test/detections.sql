-- pgTAP: detections (issue 8) on hand-built flows.
--   * three hours of background traffic with one anomaly of each kind:
--     exfiltration, vertical port scan, horizontal sweep, REJECT spike,
--     beaconing (with jitter), new remote port; each is found, with its
--     entity and evidence, and the background raises nothing;
--   * incremental runs: only new ingest_log entries are processed, a run
--     without new data does nothing;
--   * alert dedupe: a continuing anomaly extends its detection;
--   * suppression windows: a planned-maintenance window silences a kind;
--   * baselines: stored states round-trip through COPY BINARY, and the
--     merged group baseline equals the merge of its members.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(32);

SELECT vpcflow.ensure_partitions('2024-06-03', '2024-06-04');
-- a young host may raise new_port here (the default min_age is 6 hours)
UPDATE vpcflow.detection_config SET params = params || '{"min_age": "1 hour"}' WHERE kind = 'new_port';

-- All synthetic flows, tagged with the "file" that delivers them.
CREATE TEMP TABLE syn (file int, src inet, dst inet, sport int, dport int, proto smallint,
                       action text, bytes bigint, t timestamptz);
-- background, minutes 0..179 (t0 = Monday 2024-06-03 00:00 UTC):
--   20 hosts 10.0.1.1-20 -> 3 popular public sites, 2 connections a minute each
INSERT INTO syn
SELECT CASE WHEN m < 165 THEN 1 ELSE 2 END, ('10.0.1.' || h)::inet, ('93.184.216.' || (34 + (h + m) % 3))::inet,
       40000 + (h * 131 + m * 7 + j) % 20000, 443, 6, 'ACCEPT', 1500 + (h * 37 + m * 11) % 900,
       timestamptz '2024-06-03' + m * interval '1 minute' + (h + 20 * j) * interval '1 second'
FROM generate_series(0, 179) m, generate_series(1, 20) h, generate_series(0, 1) j;
--   clients 10.0.1.1-10 -> database 10.0.2.5:5432, one in 40 connections REJECTed
INSERT INTO syn
SELECT CASE WHEN m < 165 THEN 1 ELSE 2 END, ('10.0.1.' || h)::inet, '10.0.2.5', 33000 + (h * 977 + m * 13) % 20000, 5432, 6,
       CASE WHEN (h * 7 + m) % 40 = 0 THEN 'REJECT' ELSE 'ACCEPT' END, 800,
       timestamptz '2024-06-03' + m * interval '1 minute' + h * interval '3 second'
FROM generate_series(0, 179) m, generate_series(1, 10) h
WHERE (h + m) % 2 = 0 AND NOT (m >= 170);
-- anomalies
--   exfiltration: 10.0.1.7 -> 203.0.113.77:443, 6 x 2 MB a minute, minutes 150-169
INSERT INTO syn
SELECT CASE WHEN m < 165 THEN 1 ELSE 2 END, '10.0.1.7', '203.0.113.77', 50000 + m * 6 + j, 443, 6, 'ACCEPT', 2000000,
       timestamptz '2024-06-03' + m * interval '1 minute' + j * interval '9 second'
FROM generate_series(150, 169) m, generate_series(0, 5) j;
--   vertical scan: 198.51.100.9 -> 10.0.1.3, ports 1000-1099 in minutes 100-102, REJECTed
INSERT INTO syn
SELECT 1, '198.51.100.9', '10.0.1.3', 45000, p, 6, 'REJECT', 44,
       timestamptz '2024-06-03 01:40' + (p - 1000) * interval '1.8 second'
FROM generate_series(1000, 1099) p;
--   horizontal sweep: 198.51.100.10 -> 10.0.3.1-80 port 22, minutes 110-111
INSERT INTO syn
SELECT 1, '198.51.100.10', ('10.0.3.' || h)::inet, 46000, 22, 6, 'REJECT', 44,
       timestamptz '2024-06-03 01:50' + h * interval '1.5 second'
FROM generate_series(1, 80) h;
--   beaconing: 10.0.1.12 -> 203.0.113.200:443 every 60 s, jitter up to +-3 s, minutes 60-119
INSERT INTO syn
SELECT 1, '10.0.1.12', '203.0.113.200', 50000 + m, 443, 6, 'ACCEPT', 300,
       timestamptz '2024-06-03' + m * interval '1 minute' + (30 + (m * 7919) % 7 - 3) * interval '1 second'
FROM generate_series(60, 119) m;
--   REJECT spike: minutes 170-179 every connection to 10.0.2.5:5432 REJECTed
INSERT INTO syn
SELECT 2, ('10.0.1.' || h)::inet, '10.0.2.5', 33000 + (h * 977 + m * 13) % 20000, 5432, 6, 'REJECT', 120,
       timestamptz '2024-06-03' + m * interval '1 minute' + h * interval '3 second'
FROM generate_series(170, 179) m, generate_series(1, 10) h
WHERE (h + m) % 2 = 0;
--   new remote port: 10.0.1.15 -> 198.51.100.50:4444, minute 175
INSERT INTO syn VALUES
    (2, '10.0.1.15', '198.51.100.50', 51000, 4444, 6, 'ACCEPT', 5000, '2024-06-03 02:55:05'),
    (2, '10.0.1.15', '198.51.100.50', 51001, 4444, 6, 'ACCEPT', 5000, '2024-06-03 02:55:35');
--   file 3: a second scan, inside a maintenance window
INSERT INTO syn
SELECT 3, '198.51.100.99', '10.0.1.4', 45001, p, 6, 'REJECT', 44,
       timestamptz '2024-06-03 03:05' + (p - 2000) * interval '1 second'
FROM generate_series(2000, 2059) p;

-- "Ingest" a file: an ingest_log entry and its flows, as ingest_file leaves them.
CREATE FUNCTION pg_temp.ingest(n int) RETURNS integer LANGUAGE sql AS $$
    WITH l AS (
        INSERT INTO vpcflow.ingest_log (file_name, file_size, sha256, format, status, rows,
                                        min_start, max_start, started_at, finished_at)
        SELECT 'syn-' || n, count(*) * 100, sha256(('detections test file ' || n)::bytea), 'v2', 'loaded',
               count(*), min(t), max(t), now(), now()
        FROM syn WHERE file = n
        RETURNING ingest_id
    ), f AS (
        INSERT INTO vpcflow.flows (version, srcaddr, dstaddr, srcport, dstport, protocol, action,
                                   log_status, ingest_id, packets, bytes, start_time, end_time)
        SELECT 2, s.src, s.dst, s.sport, s.dport, s.proto, s.action::vpcflow.flow_action, 'OK',
               l.ingest_id, greatest(1, s.bytes / 1000), s.bytes, s.t, s.t + interval '5 second'
        FROM syn s, l WHERE s.file = n
        RETURNING 1
    )
    SELECT (SELECT ingest_id FROM l) + 0 * (SELECT count(*) FROM f)::int
$$;

-- 1-3: first file, first run
SELECT pg_temp.ingest(1);
CREATE TEMP TABLE run1 AS SELECT * FROM vpcflow.run_detections();
SELECT is((SELECT ingests FROM run1), 1, 'run 1 processes the new ingest_log entry');
SELECT is((SELECT range_start FROM run1), timestamptz '2024-06-03 00:00', 'run 1 starts at the first minute of the file');
SELECT ok((SELECT inserted FROM run1) >= 4, 'run 1 raises detections');

-- 4-11: each anomaly of file 1 is found, with its entity and evidence
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'port_scan'), 1::bigint, 'one port scan');
SELECT results_eq($$SELECT entity, evidence ->> 'dstaddr', (evidence ->> 'distinct_ports')::int
                    FROM vpcflow.detections WHERE kind = 'port_scan'$$,
                  $$VALUES ('198.51.100.9'::text, '10.0.1.3'::text, 100)$$, 'port scan: source, target, ports');
SELECT results_eq($$SELECT entity, (evidence ->> 'dstport')::int, (evidence ->> 'distinct_hosts')::int
                    FROM vpcflow.detections WHERE kind = 'horizontal_sweep'$$,
                  $$VALUES ('198.51.100.10'::text, 22, 80)$$, 'horizontal sweep: source, port, hosts');
SELECT results_eq($$SELECT entity, evidence ->> 'dstaddr' FROM vpcflow.detections WHERE kind = 'beaconing'$$,
                  $$VALUES ('10.0.1.12'::text, '203.0.113.200'::text)$$, 'beaconing with jitter: host and destination');
SELECT ok((SELECT (evidence ->> 'period_s')::float8 BETWEEN 55 AND 65 AND (evidence ->> 'regular_intervals')::int >= 50
           FROM vpcflow.detections WHERE kind = 'beaconing'), 'beaconing: period about 60 s, regular');
SELECT results_eq($$SELECT entity, evidence ->> 'dstaddr' FROM vpcflow.detections WHERE kind = 'exfiltration'$$,
                  $$VALUES ('10.0.1.7'::text, '203.0.113.77'::text)$$, 'exfiltration: host and rare destination');
SELECT ok((SELECT score >= 8 AND evidence ->> 'basis' IN ('hour_of_week', 'all_hours')
                  AND (evidence ->> 'expected')::float8 < 100000 AND (evidence ->> 'baseline_size')::int >= 30
           FROM vpcflow.detections WHERE kind = 'exfiltration'), 'exfiltration: scored against the host''s own baseline');
SELECT is((SELECT count(*) FROM vpcflow.detections
           WHERE kind NOT IN ('port_scan', 'horizontal_sweep', 'beaconing', 'exfiltration')), 0::bigint,
          'nothing else in file 1 (background raises nothing)');

-- 12-13: a run without new data does nothing
CREATE TEMP TABLE run2 AS SELECT * FROM vpcflow.run_detections();
SELECT is((SELECT ingests FROM run2), 0, 'a run without new ingests processes nothing');
SELECT is((SELECT count(*) FROM vpcflow.detection_processed), 1::bigint, 'the watermark holds the processed entry');

-- 14-20: file 2: REJECT spike, new port, and the exfiltration goes on
CREATE TEMP TABLE exfil_before AS SELECT detection_id, last_seen, windows FROM vpcflow.detections WHERE kind = 'exfiltration';
SELECT pg_temp.ingest(2);
CREATE TEMP TABLE run3 AS SELECT * FROM vpcflow.run_detections();
SELECT is((SELECT range_start FROM run3), timestamptz '2024-06-03 02:45', 'run 3 starts at the new file''s first minute');
SELECT results_eq($$SELECT entity, (evidence ->> 'rejects')::int >= 5, evidence ->> 'basis' IN ('hour_of_week', 'all_hours')
                    FROM vpcflow.detections WHERE kind = 'reject_spike'$$,
                  $$VALUES ('10.0.2.5:5432'::text, true, true)$$, 'REJECT spike on the database service, against its own baseline');
SELECT results_eq($$SELECT entity, evidence ->> 'port' FROM vpcflow.detections WHERE kind = 'new_port'$$,
                  $$VALUES ('10.0.1.15'::text, '4444/6'::text)$$, 'new remote port');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'exfiltration'), 1::bigint,
          'dedupe: the continuing exfiltration is still one detection');
SELECT ok((SELECT d.detection_id = b.detection_id AND d.last_seen > b.last_seen AND d.windows > b.windows
           FROM vpcflow.detections d, exfil_before b WHERE d.kind = 'exfiltration'),
          'dedupe: it was extended (last_seen, windows)');
SELECT ok((SELECT last_seen >= timestamptz '2024-06-03 02:50' FROM vpcflow.detections WHERE kind = 'exfiltration'),
          'dedupe: last_seen reaches the new data');
SELECT ok((SELECT updated FROM run3) >= 1, 'run 3 reports the update');

-- 21-23: a suppression window silences the scan of file 3
INSERT INTO vpcflow.detection_suppressions (during, kind, reason)
VALUES (tstzrange('2024-06-03 03:00', '2024-06-03 04:00'), 'port_scan', 'planned penetration test');
SELECT pg_temp.ingest(3);
CREATE TEMP TABLE run4 AS SELECT * FROM vpcflow.run_detections();
SELECT ok((SELECT suppressed FROM run4) >= 1, 'the suppressed candidates are counted');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE entity = '198.51.100.99'), 0::bigint,
          'no detection inside the suppression window');
DELETE FROM vpcflow.detection_processed WHERE ingest_id = (SELECT max(ingest_id) FROM vpcflow.ingest_log);
DELETE FROM vpcflow.detection_suppressions;
CREATE TEMP TABLE run5 AS SELECT * FROM vpcflow.run_detections();
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE entity = '198.51.100.99' AND kind = 'port_scan'), 1::bigint,
          'without the suppression (reprocessed) the scan is raised');

-- 24-26: baselines: per-entity states, group fallback
SELECT ok((SELECT count(*) FROM vpcflow.detection_baselines WHERE metric = 'exfiltration') >= 20,
          'an egress baseline per internal host');
SELECT is((SELECT vpcflow.baseline_size(state) FROM vpcflow.detection_baselines
           WHERE metric = 'exfiltration' AND entity = '10.0.1.1'),
          (SELECT (extract(epoch FROM folded_through - started_at) / 60)::bigint
           FROM vpcflow.detection_progress WHERE metric = 'exfiltration'),
          'a host''s baseline has one observation per window end since it appeared (quiet windows count as 0)');
SELECT is((SELECT (vpcflow.anomaly_score(1e6, NULL, '2024-06-03 02:00', g.state, 'bytes')).basis
           FROM vpcflow.detection_baseline_of('exfiltration', '{}', '{10.0.0.0/16}') g),
          'group_hour_of_week', 'a host without history borrows its /16 group''s baseline');

-- 27-28: state round trips (COPY BINARY uses send/recv; the file goes to the
-- data directory) and merges
CREATE TEMP TABLE bl AS SELECT entity, state FROM vpcflow.detection_baselines WHERE metric = 'exfiltration';
CREATE TEMP TABLE bl2 (LIKE bl);
DO $$
DECLARE
    f text := current_setting('data_directory') || '/vpcflow_detections_test.bin';
BEGIN
    EXECUTE format('COPY bl TO %L (FORMAT binary)', f);
    EXECUTE format('COPY bl2 FROM %L (FORMAT binary)', f);
END
$$;
SELECT is((SELECT count(*) FROM bl JOIN bl2 USING (entity) WHERE bl.state::text = bl2.state::text),
          (SELECT count(*) FROM bl), 'baselines round-trip through COPY BINARY');
SELECT is((SELECT vpcflow.baseline_merge(state ORDER BY entity DESC)::text FROM bl),
          (SELECT state::text FROM vpcflow.detection_baseline_of('exfiltration', '{}', '{10.0.0.0/16}')),
          'the group baseline is the merge of its members, in any order');

-- 29-30: config: a disabled kind raises nothing; thresholds are per kind
UPDATE vpcflow.detection_config SET enabled = false WHERE kind = 'port_scan';
DELETE FROM vpcflow.detections WHERE kind = 'port_scan';
DELETE FROM vpcflow.detection_processed;
SELECT lives_ok('SELECT * FROM vpcflow.run_detections()', 'a full reprocessing runs');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'port_scan'), 0::bigint, 'a disabled kind raises nothing');

-- 31-32: privileges: vpcflow_admin runs detections; tenants (vpcflow_reader)
-- cannot read them, as they are not attributed to accounts
DELETE FROM vpcflow.detection_processed;
-- (the run's temp tables are per role: drop the ones made as superuser above)
DROP TABLE IF EXISTS pg_temp.det_candidates, pg_temp.det_fold_obs, pg_temp.det_new_remote;
SET LOCAL ROLE vpcflow_admin;
SELECT lives_ok('SELECT * FROM vpcflow.run_detections()', 'vpcflow_admin can run detections');
RESET ROLE;
SET LOCAL ROLE vpcflow_reader;
SELECT throws_ok('SELECT count(*) FROM vpcflow.detections', '42501', NULL,
                 'vpcflow_reader cannot read the detections');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
