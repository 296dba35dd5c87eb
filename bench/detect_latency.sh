#!/usr/bin/env bash
# bench/detect_latency.sh: time from ingest to detection, with
# vpcflow.run_detections() scheduled by pg_cron every minute.
#
#   bench/detect_latency.sh LOG TRUTH [KIND] [DB]
#
# LOG/TRUTH: a gen_flows.py v2 file and its --anomalies truth (e.g. from
# bench/detect_eval.sh, in bench/out/); KIND: the labelled anomaly to time
# (default exfiltration).  Loads everything up to 5 minutes before the
# anomaly and backfills detections, then schedules run_detections() every
# minute with pg_cron and delivers the following minutes as one file per
# minute (one every 60 s, as flow logs arrive), the anomaly's first minute
# among them.  Reports the time from the end of the load of the file with
# the first anomalous flows to the detection row's detected_at, and the
# durations of the scheduled runs.  DB (default dev) must be the cluster's
# cron.database_name; it is emptied.  Server: PGHOST/PGPORT/PGUSER
# (default 127.0.0.1:56301 postgres), psql from VPCFLOW_PGBIN.
set -euo pipefail
LOG=$1
TRUTH=$2
KIND=${3:-exfiltration}
DB=${4:-dev}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-56301} PGUSER=${PGUSER:-postgres}
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
WORK=$(mktemp -d /tmp/detect-latency.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

read -r T0 SRC DST < <(python3 -c "
import json, sys
for l in open('$TRUTH'):
    t = json.loads(l)
    if t['kind'] == '$KIND':
        print(t['start'], t.get('srcaddr', '-'), t.get('dstaddr', '-')); break
")
[ -n "$T0" ] || { echo "no $KIND in $TRUTH" >&2; exit 1; }
PRE=$((T0 - 300))
NMIN=9
head -1 "$LOG" >"$WORK/pre.log"
awk -v pre=$PRE 'NR > 1 && $11 < pre' "$LOG" >>"$WORK/pre.log"
for ((i = 0; i < NMIN; i++)); do
    lo=$((PRE + i * 60)); hi=$((lo + 60))
    head -1 "$LOG" >"$WORK/m$i.log"
    awk -v lo=$lo -v hi=$hi 'NR > 1 && $11 >= lo && $11 < hi' "$LOG" >>"$WORK/m$i.log"
done
# index of the minute file with the anomaly's first flows
FIRST=$(( (T0 - PRE) / 60 ))
FIRST_LOADED=$((FIRST < NMIN ? FIRST : NMIN - 1))

psql -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS vpcflow CASCADE" \
     -c "CREATE EXTENSION vpcflow" -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
psql -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'vpcflow-detections'" >/dev/null
log "loading the $(($(wc -l <"$WORK/pre.log") - 1)) records before $(date -u -d @$PRE +%H:%M) and backfilling"
"$ROOT/vpcflow-load" -q -d "dbname=$DB" "$WORK/pre.log"
psql -At -c "SET client_min_messages = warning" -c "SELECT 'backfill: ' || round(seconds::numeric, 1) || ' s' FROM vpcflow.run_detections()"
psql -At -c "SELECT cron.schedule('vpcflow-detections', '* * * * *', 'SELECT vpcflow.run_detections()')" >/dev/null
# skip the minutes the anomaly does not need to be preceded by: start 3 files before it
START=$((FIRST_LOADED >= 3 ? FIRST_LOADED - 3 : 0))
for ((i = 0; i < START; i++)); do "$ROOT/vpcflow-load" -q -d "dbname=$DB" "$WORK/m$i.log"; done
psql -At -c "SET client_min_messages = warning" -c "SELECT 'catch-up: ' || round(seconds::numeric, 1) || ' s' FROM vpcflow.run_detections()"
for ((i = START; i < NMIN; i++)); do
    "$ROOT/vpcflow-load" -q -d "dbname=$DB" "$WORK/m$i.log"
    log "delivered minute $i ($(date -u -d @$((PRE + i * 60)) +%H:%M) data)"
    [ $i -lt $((NMIN - 1)) ] && sleep 60
done
log "waiting for the last scheduled runs"
sleep 75
psql -P pager=off <<SQL
\echo file with the first anomalous flows, and the detection
SELECT l.ingest_id, l.file_name, l.min_start, l.finished_at AS ingested_at,
       d.kind, d.entity, d.detected_at,
       round(extract(epoch FROM d.detected_at - l.finished_at)::numeric, 1) AS latency_s
FROM vpcflow.ingest_log l
JOIN vpcflow.detections d ON d.kind = '$KIND'
 AND (d.evidence ->> 'srcaddr' = '$SRC' OR d.evidence ->> 'dstaddr' = '$DST')
WHERE l.min_start >= to_timestamp($T0) AND l.min_start < to_timestamp($T0 + 60)
ORDER BY l.ingest_id LIMIT 1;
\echo scheduled runs (pg_cron)
SELECT count(*) AS runs, round(avg(extract(epoch FROM end_time - start_time))::numeric, 2) AS avg_s,
       round(max(extract(epoch FROM end_time - start_time))::numeric, 2) AS max_s,
       count(*) FILTER (WHERE status <> 'succeeded') AS failed
FROM cron.job_run_details WHERE command LIKE '%run_detections%';
SQL
psql -At -c "SELECT cron.unschedule('vpcflow-detections')" >/dev/null
