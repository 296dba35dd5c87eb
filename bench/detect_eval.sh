#!/usr/bin/env bash
# bench/detect_eval.sh: precision and recall of vpcflow.run_detections() per
# kind, at the default thresholds, on data with labelled anomalies.
#
#   bench/detect_eval.sh [--seeds "21 22 23"] [--rows N] [--hard]
#
# Per seed: ../shared/bench/gen_flows.py --anomalies (24 h, N rows, default
# 2,000,000; cached in bench/out/), loaded with vpcflow-load into a fresh
# database, then one vpcflow.run_detections() call (the backfill path:
# hour by hour, baselines growing as it goes).  --hard also evaluates the
# same data plus bench/detect_inject.py's harder cases.  Scores with
# bench/detect_score.py, and bench/spike_attempts.py says how many attempts
# each REJECT spike holds; writes bench/results/<date>-detections-<rows,seeds>.md.
# Needs a running server with the extension installed: PGHOST/PGPORT/PGUSER
# (default 127.0.0.1:56301, postgres), psql from VPCFLOW_PGBIN.
# Thresholds were tuned on seed 11 only: evaluate on other seeds.
set -euo pipefail

SEEDS="21 22 23"
ROWS=2000000
HARD=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) SEEDS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --hard) HARD=1; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GEN=${VPCFLOW_BENCH_SHARED:-$(cd "$ROOT/.." && pwd)/shared/bench}/gen_flows.py
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-56301} PGUSER=${PGUSER:-postgres}
OUT=$ROOT/bench/out
RESULTS=$ROOT/bench/results
TAG=${ROWS}rows-s$(echo $SEEDS | tr ' ' -)$(if [ $HARD = 1 ]; then echo -hard; fi)
REPORT=$RESULTS/$(date +%Y-%m-%d)-detections-$TAG.md
LOADER=$ROOT/vpcflow-load
[ -f "$GEN" ] || { echo "no $GEN" >&2; exit 1; }
[ -x "$LOADER" ] || { echo "build vpcflow-load first (make)" >&2; exit 1; }
mkdir -p "$OUT" "$RESULTS"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

RES=$OUT/detect-results-$TAG.jsonl
: >"$RES"
TIMES=$OUT/detect-times-$TAG.txt
: >"$TIMES"

# evaluate FILE TRUTH SEED SET
evaluate() {
    local file=$1 truth=$2 seed=$3 set=$4 db=vpcflow_detect_eval t
    psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    psql -d $db -c "SET client_min_messages = warning" -c "CREATE EXTENSION vpcflow"
    "$LOADER" -q -d "dbname=$db" "$file" >&2
    t=$(psql -d $db -At -c "SET client_min_messages = warning" \
            -c "SELECT round(seconds::numeric, 1) || ' s, ' || candidates || ' candidates, ' || inserted || ' detections' FROM vpcflow.run_detections()")
    log "seed $seed $set: run_detections: $t"
    echo "seed $seed $set ($ROWS rows): run_detections() backfill of 24 h: $t" >>"$TIMES"
    python3 - "$truth" "$seed" "$set" >>"$RES" 3<<<"$(psql -d $db -At -c \
        "SELECT coalesce(json_agg(json_build_object('kind', kind, 'entity', entity,
                 'first_seen', extract(epoch FROM first_seen), 'last_seen', extract(epoch FROM last_seen),
                 'score', score, 'evidence', evidence)), '[]') FROM vpcflow.detections")" <<'EOF'
import json, sys
truth = [json.loads(l) for f in sys.argv[1].split(",") for l in open(f) if l.strip()]
dets = json.loads(open(3).read())
print(json.dumps({"seed": int(sys.argv[2]), "set": sys.argv[3], "truth": truth, "detections": dets}))
EOF
}

for seed in $SEEDS; do
    base=$OUT/detect-s$seed-$ROWS
    if [ ! -f "$base.log" ]; then
        log "generating seed $seed ($ROWS rows)"
        nice python3 "$GEN" --rows "$ROWS" --seed "$seed" --out "$base.log" --anomalies "$base.truth.jsonl" --jobs 2
    fi
    evaluate "$base.log" "$base.truth.jsonl" "$seed" base
    # what the labelled REJECT spike gave a detector, and its look-alikes
    python3 "$HERE/spike_attempts.py" "$base.log" "$base.truth.jsonl" | sed "s/^/seed $seed: /" >>"$TIMES"
    if [ "$HARD" = 1 ]; then
        if [ ! -f "$base.hard.log" ]; then
            nice python3 "$HERE/detect_inject.py" "$base.log" "$base.log.meta.json" \
                "$base.hard.log" "$base.hard.truth.jsonl" --seed "$seed"
        fi
        evaluate "$base.hard.log" "$base.truth.jsonl,$base.hard.truth.jsonl" "$seed" hard
    fi
done
psql -d postgres -c "DROP DATABASE IF EXISTS vpcflow_detect_eval"

{
    echo "# Detections: precision and recall ($(date -u +%Y-%m-%d), $ROWS rows per seed)"
    echo
    echo "bench/detect_eval.sh --seeds \"$SEEDS\" --rows $ROWS$([ $HARD = 1 ] && echo ' --hard');"
    echo "default thresholds (tuned on seed 11 only)."
    python3 "$HERE/detect_score.py" "$RES"
    echo
    echo '```'
    cat "$TIMES"
    echo '```'
} | tee "$REPORT"
