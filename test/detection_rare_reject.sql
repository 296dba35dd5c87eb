-- pgTAP: reject_spike on a quiet service (docs/detections.md).  A service
-- with a handful of attempts per window cannot reach min_rejects; it
-- alerts on rare_min_rejects REJECTs when that many is improbable
-- (binomial tail below rare_alpha) at its own REJECT rate before the
-- window, read from vpcflow.rollup_service_attempts_1m.  A service that
-- REJECTs now and then does not.  A window in which no attempt was
-- accepted (a block, as a broken rule gives) needs only block_alpha, when
-- it is set above rare_alpha (it is not by default).
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SELECT plan(17);

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
-- A service's steady traffic over 197 minutes from Monday 2024-06-10 00:00:
-- per_minute attempts a minute from clients net.1 .. net.10, attempt i
-- REJECTed when i % reject_every = reject_at.
CREATE FUNCTION pg_temp.steady(dst inet, dport int, net text, sport0 int, per_minute int,
                               reject_every int, reject_at int) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO syn
    SELECT (net || '.' || ((m + j) % 10 + 1))::inet, dst, sport0 + per_minute * m + j, dport,
           CASE WHEN (per_minute * m + j) % reject_every = reject_at THEN 'REJECT' ELSE 'ACCEPT' END,
           timestamptz '2024-06-10' + m * interval '1 minute' + j * (interval '60 second' / per_minute)
    FROM generate_series(0, 196) m, generate_series(0, per_minute - 1) j
$$;
-- Quiet database 10.0.4.5:5432: two connections a minute, one REJECTed in
-- 394, then minutes 201-211: 3 attempts from 3 clients, all REJECTed.
SELECT pg_temp.steady('10.0.4.5', 5432, '10.0.5', 40000, 2, 1000, 20);
INSERT INTO syn VALUES
    ('10.0.5.1', '10.0.4.5', 41001, 5432, 'REJECT', '2024-06-10 03:21'),
    ('10.0.5.2', '10.0.4.5', 41002, 5432, 'REJECT', '2024-06-10 03:26'),
    ('10.0.5.3', '10.0.4.5', 41003, 5432, 'REJECT', '2024-06-10 03:31');
-- Flaky cache 10.0.4.6:6379: one attempt a minute, every 4th one
-- REJECTed all along; then 3 of 4 REJECTed.
SELECT pg_temp.steady('10.0.4.6', 6379, '10.0.6', 42000, 1, 4, 0);
INSERT INTO syn VALUES
    ('10.0.6.1', '10.0.4.6', 43001, 6379, 'REJECT', '2024-06-10 03:21'),
    ('10.0.6.2', '10.0.4.6', 43002, 6379, 'REJECT', '2024-06-10 03:24'),
    ('10.0.6.3', '10.0.4.6', 43003, 6379, 'ACCEPT', '2024-06-10 03:27'),
    ('10.0.6.4', '10.0.4.6', 43004, 6379, 'REJECT', '2024-06-10 03:30');
-- Database 10.0.4.7:3306 that REJECTs about 3% of attempts (13 of 394,
-- one every 16 minutes), then 3 attempts, all REJECTed (P = 4.4e-5 at
-- its rate: not below rare_alpha, below block_alpha).
SELECT pg_temp.steady('10.0.4.7', 3306, '10.0.7', 44000, 2, 32, 7);
INSERT INTO syn VALUES
    ('10.0.7.1', '10.0.4.7', 45001, 3306, 'REJECT', '2024-06-10 03:21'),
    ('10.0.7.2', '10.0.4.7', 45002, 3306, 'REJECT', '2024-06-10 03:26'),
    ('10.0.7.3', '10.0.4.7', 45003, 3306, 'REJECT', '2024-06-10 03:31');
-- Database 10.0.4.9:3306 with a clean record (0 of 394), then 3 of 4
-- REJECTed: improbable at its own smoothed rate (P = 6e-8), not at the
-- rate of port 3306's fleet (13 of 788 with 10.0.4.7: P = 2.2e-5).
SELECT pg_temp.steady('10.0.4.9', 3306, '10.0.9', 48000, 2, 1000, 999);
INSERT INTO syn VALUES
    ('10.0.9.1', '10.0.4.9', 49001, 3306, 'REJECT', '2024-06-10 03:21'),
    ('10.0.9.2', '10.0.4.9', 49002, 3306, 'REJECT', '2024-06-10 03:24'),
    ('10.0.9.3', '10.0.4.9', 49003, 3306, 'ACCEPT', '2024-06-10 03:27'),
    ('10.0.9.4', '10.0.4.9', 49004, 3306, 'REJECT', '2024-06-10 03:30');
-- Flaky queue 10.0.4.8:9092: every 4th attempt REJECTed all along, then
-- 3 attempts, all REJECTed: a streak at 25% (P = 0.016), not a block.
SELECT pg_temp.steady('10.0.4.8', 9092, '10.0.8', 46000, 1, 4, 0);
INSERT INTO syn VALUES
    ('10.0.8.1', '10.0.4.8', 47001, 9092, 'REJECT', '2024-06-10 03:21'),
    ('10.0.8.2', '10.0.4.8', 47002, 9092, 'REJECT', '2024-06-10 03:26'),
    ('10.0.8.3', '10.0.4.8', 47003, 9092, 'REJECT', '2024-06-10 03:31');

-- block_alpha is off by default (equal to rare_alpha, docs/detections.md): on
UPDATE vpcflow.detection_config SET params = params || '{"block_alpha": 1e-3}' WHERE kind = 'reject_spike';

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
SELECT is((SELECT evidence ->> 'gate' FROM vpcflow.detections
           WHERE kind = 'reject_spike' AND entity = '10.0.4.5:5432' ORDER BY first_seen LIMIT 1),
          'improbable at its own rate', 'the never-failing database passes the rare_alpha gate');
SELECT results_eq($$SELECT (evidence ->> 'rejects')::int, (evidence ->> 'attempts')::int, evidence ->> 'gate',
                           (evidence ->> 'reject_rate_before')::numeric,
                           (evidence ->> 'port_reject_rate_before')::numeric,
                           (evidence ->> 'tail_probability')::float8 BETWEEN 1e-6 AND 1e-3
                    FROM vpcflow.detections WHERE kind = 'reject_spike' AND entity = '10.0.4.7:3306'
                    ORDER BY first_seen LIMIT 1$$,
                  $$VALUES (3, 3, 'no attempt accepted, improbable at its own rate'::text, 0.0354::numeric,
                            0.0177::numeric, true)$$,
                  'a database failing 3% of attempts: 3 of 3 REJECTed is a block (13+1 of 394+2 before; port 3306: 13+1 of 788+2)');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'reject_spike' AND entity = '10.0.4.9:3306'),
          0::bigint, 'a clean service on a port whose fleet fails 2%: 3 of 4 REJECTed are judged at the fleet''s rate');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'reject_spike' AND entity = '10.0.4.8:9092'),
          0::bigint, 'a service failing 25% of attempts: 3 of 3 REJECTed is a streak, not a block');
SELECT is((SELECT count(*) FROM vpcflow.detections WHERE kind = 'reject_spike'),
          2::bigint, 'no other reject_spike');
UPDATE vpcflow.detection_config SET params = params || '{"block_alpha": 1e-6}' WHERE kind = 'reject_spike';
DELETE FROM vpcflow.detections;
DELETE FROM vpcflow.detection_processed;
DELETE FROM vpcflow.detection_progress;
DELETE FROM vpcflow.detection_baselines;
-- (run first: a query joining run_detections() would read detections
-- with a snapshot taken before the run)
SELECT lives_ok('SELECT * FROM vpcflow.run_detections()', 'detections run again, with block_alpha = rare_alpha');
SELECT is((SELECT string_agg(DISTINCT d.entity, ',') FROM vpcflow.detections d WHERE d.kind = 'reject_spike'),
          '10.0.4.5:5432', 'with block_alpha = rare_alpha the 3% database is missed');
UPDATE vpcflow.detection_config SET params = params || '{"rare_min_rejects": 5}' WHERE kind = 'reject_spike';
DELETE FROM vpcflow.detections;
DELETE FROM vpcflow.detection_processed;
DELETE FROM vpcflow.detection_progress;
DELETE FROM vpcflow.detection_baselines;
SELECT lives_ok('SELECT * FROM vpcflow.run_detections()', 'detections run again, with rare_min_rejects = min_rejects');
SELECT is((SELECT count(*) FROM vpcflow.detections d WHERE d.kind = 'reject_spike'),
          0::bigint, 'with rare_min_rejects = min_rejects the quiet services are missed');
ROLLBACK;
