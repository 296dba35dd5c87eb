-- pgTAP: reject_spike on a quiet service (docs/detections.md).  A service
-- with a handful of attempts per window cannot reach min_rejects; it
-- alerts on rare_min_rejects REJECTs when that many is improbable
-- (binomial tail below rare_alpha) at its own REJECT rate before the
-- window, read from vpcflow.rollup_service_attempts_1m.  A service that
-- REJECTs now and then does not.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(9);

-- the tail itself, against closed forms
SELECT is(round(vpcflow.binomial_tail(3, 3, 0.02)::numeric, 12), round((0.02 ^ 3)::numeric, 12), 'P(3 of 3) = p^3');
SELECT is(round(vpcflow.binomial_tail(3, 4, 0.02)::numeric, 12),
          round((4 * 0.02 ^ 3 * 0.98 + 0.02 ^ 4)::numeric, 12), 'P(>= 3 of 4)');
SELECT is(round(vpcflow.binomial_tail(2, 10, 0.1)::numeric, 12),
          round((1 - 0.9 ^ 10 - 10 * 0.1 * 0.9 ^ 9)::numeric, 12), 'P(>= 2 of 10) = 1 - P(0) - P(1)');
SELECT is(vpcflow.binomial_tail(0, 5, 0.3), 1.0::float8, 'P(>= 0) = 1');
SELECT is(vpcflow.binomial_tail(6, 5, 0.3), 0.0::float8, 'more successes than trials: 0');

SELECT vpcflow.ensure_partitions('2024-06-10', '2024-06-11');
CREATE TEMP TABLE syn (src inet, dst inet, sport int, dport int, action text, t timestamptz);
-- 4 hours from Monday 2024-06-10 00:00.  Quiet database 10.0.4.5:5432: two
-- connections a minute from 10 clients, one REJECTed in 394, then minutes
-- 200-212: 3 attempts from 3 clients, all REJECTed.
INSERT INTO syn
SELECT ('10.0.5.' || ((m + j) % 10 + 1))::inet, '10.0.4.5', 40000 + 2 * m + j, 5432,
       CASE WHEN m = 10 AND j = 0 THEN 'REJECT' ELSE 'ACCEPT' END,
       timestamptz '2024-06-10' + m * interval '1 minute' + j * interval '30 second'
FROM generate_series(0, 196) m, generate_series(0, 1) j;
INSERT INTO syn VALUES
    ('10.0.5.1', '10.0.4.5', 41001, 5432, 'REJECT', '2024-06-10 03:21'),
    ('10.0.5.2', '10.0.4.5', 41002, 5432, 'REJECT', '2024-06-10 03:26'),
    ('10.0.5.3', '10.0.4.5', 41003, 5432, 'REJECT', '2024-06-10 03:31');
-- Flaky cache 10.0.4.6:6379: one attempt a minute, every 4th one
-- REJECTed all along; then minutes 200-212: 3 of 4 REJECTed.
INSERT INTO syn
SELECT ('10.0.6.' || (m % 10 + 1))::inet, '10.0.4.6', 42000 + m, 6379,
       CASE WHEN m % 4 = 0 THEN 'REJECT' ELSE 'ACCEPT' END, timestamptz '2024-06-10' + m * interval '1 minute'
FROM generate_series(0, 196) m;
INSERT INTO syn VALUES
    ('10.0.6.1', '10.0.4.6', 43001, 6379, 'REJECT', '2024-06-10 03:21'),
    ('10.0.6.2', '10.0.4.6', 43002, 6379, 'REJECT', '2024-06-10 03:24'),
    ('10.0.6.3', '10.0.4.6', 43003, 6379, 'ACCEPT', '2024-06-10 03:27'),
    ('10.0.6.4', '10.0.4.6', 43004, 6379, 'REJECT', '2024-06-10 03:30');

WITH l AS (
    INSERT INTO vpcflow.ingest_log (file_name, file_size, sha256, format, status, rows,
                                    min_start, max_start, started_at, finished_at)
    SELECT 'rare-reject', count(*) * 100, sha256('rare reject test'::bytea), 'v2', 'loaded',
           count(*), min(t), max(t), now(), now()
    FROM syn
    RETURNING ingest_id
)
INSERT INTO vpcflow.flows (version, srcaddr, dstaddr, srcport, dstport, protocol, action,
                           log_status, ingest_id, packets, bytes, start_time, end_time)
SELECT 2, s.src, s.dst, s.sport, s.dport, 6, s.action::vpcflow.flow_action, 'OK', l.ingest_id, 1, 60,
       s.t, s.t + interval '5 second'
FROM syn s, l;

SELECT lives_ok('SELECT * FROM vpcflow.run_detections()', 'detections run (the rollups are refreshed first)');
SELECT results_eq($$SELECT entity, (evidence ->> 'rejects')::int, (evidence ->> 'attempts')::int
                    FROM vpcflow.detections WHERE kind = 'reject_spike' AND entity = '10.0.4.5:5432'
                    ORDER BY first_seen LIMIT 1$$,
                  $$VALUES ('10.0.4.5:5432'::text, 3, 3)$$,
                  'a quiet service: 3 REJECTed attempts in a window alert, below min_rejects');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'reject_spike' AND entity = '10.0.4.6:6379'),
          0::bigint, 'a service that REJECTs now and then: 3 of 4 do not');
UPDATE vpcflow.detection_config SET params = params || '{"rare_min_rejects": 5}' WHERE kind = 'reject_spike';
DELETE FROM vpcflow.detections;
DELETE FROM vpcflow.detection_processed;
DELETE FROM vpcflow.detection_progress;
DELETE FROM vpcflow.detection_baselines;
SELECT is((SELECT count(*) FROM vpcflow.run_detections() r, vpcflow.detections d
           WHERE d.kind = 'reject_spike'), 0::bigint, 'with rare_min_rejects = min_rejects the quiet service is missed');
ROLLBACK;
