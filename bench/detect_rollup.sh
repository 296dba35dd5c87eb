#!/usr/bin/env bash
# bench/detect_rollup.sh: detection baselines folded from the detection
# rollups against folded from raw flows (the previous implementation), on
# the same data in the same run.
#
#   bench/detect_rollup.sh LOG [DB]
#
# LOG: a gen_flows.py v2 file (e.g. bench/out/detect-s24-2000000.log from
# bench/detect_eval.sh).  Loads it into a fresh database DB (default
# vpcflow_detect_rollup, dropped at the end), then
#   1. refresh_rollups() of the day (timed), and the detection rollups'
#      share: refresh_detection_rollups() alone on emptied tables (timed);
#   2. the baselines of both metrics folded for the whole day, hour by hour
#      as run_detections() does (timed), from the rollups; then from raw
#      flows (test/include/raw_baseline_metric.sql installed); the two sets of
#      baselines are compared byte for byte;
#   3. run_detections() (the backfill) with each metric (timed); the
#      detections (scores, evidence) are compared.
# Server: PGHOST/PGPORT/PGUSER (default 127.0.0.1:56301 postgres), psql and
# the loader as for bench/detect_eval.sh.
set -euo pipefail
LOG=$1
DB=${2:-vpcflow_detect_rollup}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-56301} PGUSER=${PGUSER:-postgres}
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
psql -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION vpcflow"
"$ROOT/vpcflow-load" -q -d "dbname=$DB" "$LOG" >&2

psql -d $DB -v raw_metric="$HERE/../test/include/raw_baseline_metric.sql" <<'SQL'
SET client_min_messages = warning;
\pset footer off
CREATE TEMP TABLE timing (step text, seconds numeric);
CREATE TEMP TABLE snap (path text, line text);
-- reset the detectors' state, keep flows and rollups
CREATE FUNCTION pg_temp.reset() RETURNS void LANGUAGE sql AS $$
    DELETE FROM vpcflow.detections; DELETE FROM vpcflow.detection_baselines;
    DELETE FROM vpcflow.detection_progress; DELETE FROM vpcflow.detection_processed
$$;
-- fold both metrics over the data, an hour at a time (as a backfill does)
CREATE FUNCTION pg_temp.fold_day() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    lo timestamptz;
    hi timestamptz;
    a timestamptz;
BEGIN
    SELECT vpcflow._det_minute(min(min_start)), vpcflow._det_minute(max(max_start)) + interval '1 minute'
    INTO lo, hi FROM vpcflow.ingest_log;
    a := lo;
    WHILE a < hi LOOP
        PERFORM vpcflow.detection_fold_baselines('exfiltration', a, least(a + interval '1 hour', hi));
        PERFORM vpcflow.detection_fold_baselines('reject_spike', a, least(a + interval '1 hour', hi));
        a := a + interval '1 hour';
    END LOOP;
    RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
END
$$;
CREATE FUNCTION pg_temp.timed(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN EXECUTE q; RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1); END
$$;
CREATE VIEW pg_temp.state AS
SELECT 'baseline ' || b.metric || ' ' || b.entity || ' ' || b.grp || ' ' || b.first_seen || ' ' || b.state::text AS line
FROM vpcflow.detection_baselines b
UNION ALL
SELECT 'detection ' || d.kind || ' ' || d.entity || ' ' || d.first_seen || ' ' || d.last_seen || ' '
       || d.score || ' ' || d.windows || ' ' || (d.evidence - 'reason')::text
FROM vpcflow.detections d;

INSERT INTO timing SELECT 'refresh_rollups() of the day (all rollups)', pg_temp.timed('SELECT vpcflow.refresh_rollups()');
TRUNCATE vpcflow.rollup_host_egress_1m, vpcflow.rollup_service_attempts_1m;
INSERT INTO timing SELECT '  of which the detection rollups (refresh_detection_rollups alone)',
    pg_temp.timed('SELECT vpcflow.refresh_detection_rollups((SELECT array_agg(ingest_id) FROM vpcflow.rollup_progress))');

INSERT INTO timing SELECT 'fold of the day, both metrics: from the rollups', pg_temp.fold_day();
INSERT INTO snap SELECT 'fold rollup', line FROM pg_temp.state;
SELECT pg_temp.reset() \g /dev/null
INSERT INTO timing SELECT 'run_detections() backfill: baselines from the rollups',
    pg_temp.timed('SELECT vpcflow.run_detections()');
INSERT INTO snap SELECT 'run rollup', line FROM pg_temp.state;
SELECT pg_temp.reset() \g /dev/null

\i :raw_metric
INSERT INTO timing SELECT 'fold of the day, both metrics: from raw flows', pg_temp.fold_day();
INSERT INTO snap SELECT 'fold raw', line FROM pg_temp.state;
SELECT pg_temp.reset() \g /dev/null
INSERT INTO timing SELECT 'run_detections() backfill: baselines from raw flows',
    pg_temp.timed('SELECT vpcflow.run_detections()');
INSERT INTO snap SELECT 'run raw', line FROM pg_temp.state;

SELECT step, seconds FROM timing;
SELECT round((SELECT seconds FROM timing WHERE step LIKE '%fold%raw%')
             / nullif((SELECT seconds FROM timing WHERE step LIKE '%fold%rollups'), 0), 2) AS fold_raw_over_rollup,
       round((SELECT seconds FROM timing WHERE step LIKE 'run_detections%raw%')
             / nullif((SELECT seconds FROM timing WHERE step LIKE 'run_detections%rollups'), 0), 2) AS run_raw_over_rollup;
SELECT x.a || ' vs ' || x.b AS compared,
       (SELECT count(*) FROM snap WHERE path = x.a) AS lines,
       (SELECT count(*) FROM ((SELECT line FROM snap WHERE path = x.a EXCEPT ALL SELECT line FROM snap WHERE path = x.b)
                              UNION ALL
                              (SELECT line FROM snap WHERE path = x.b EXCEPT ALL SELECT line FROM snap WHERE path = x.a)) d)
           AS differing
FROM (VALUES ('fold rollup', 'fold raw'), ('run rollup', 'run raw')) x(a, b);
SELECT (SELECT count(*) FROM vpcflow.flows) AS raw_rows,
       (SELECT count(*) FROM vpcflow.rollup_host_egress_1m) AS host_egress_rows,
       (SELECT count(*) FROM vpcflow.rollup_service_attempts_1m) AS service_attempt_rows,
       pg_size_pretty(pg_total_relation_size('vpcflow.rollup_host_egress_1m')
                      + pg_total_relation_size('vpcflow.rollup_service_attempts_1m')) AS detection_rollups_size,
       pg_size_pretty(pg_total_relation_size('vpcflow.rollup_1m')) AS rollup_1m_size;
SQL
psql -d postgres -c "DROP DATABASE IF EXISTS $DB"
