#!/usr/bin/env bash
# Scale-out benchmark (docs/scaleout.md): ROWS rows of gen_flows.py (one
# day, split one account per hourly file as AWS delivers them) loaded with
# vpcflow-load into one server and with vpcflow-load --shards into a
# coordinator with two shards, on this one machine; rollups refreshed; then
# Q1-Q8 and the dashboards timed on both (best of 3), with the fan-out forms,
# the rows the shards sent and the share of the coordinator's time spent
# outside the shards' execution (moving rows or states, merging).  On a
# 2-core machine the point is the overhead and the pushdown, not speed-up.
# Report: bench/out/scaleout-last.md.  Run as root, with nice.
#   VPCFLOW_PGBIN=... nice bench/scaleout.sh    (env: ROWS=2000000 PORT=56170)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VPCFLOW_PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
PGBIN=$VPCFLOW_PGBIN
# shellcheck source=../tools/cluster.sh
source "$REPO/tools/cluster.sh"
ROWS=${ROWS:-2000000}
PORT=${PORT:-56170}
GEN=${GEN:-$REPO/../shared/bench/gen_flows.py}
[[ -f "$GEN" ]] || GEN=/work/shared/bench/gen_flows.py
QMD=$(dirname "$GEN")/queries.md
LOADER="$REPO/vpcflow-load"
W=$(mktemp -d /tmp/vpcflow-scaleout.XXXXXX)
chmod 755 "$W"
OUT="$REPO/bench/out/scaleout-last.md"
mkdir -p "$REPO/bench/out"
NAMES=(single coord s1 s2)
declare -A P
cleanup() { for n in "${NAMES[@]}"; do cluster_destroy "$W/$n" >/dev/null 2>&1 || true; done; rm -rf "$W"; }
trap cleanup EXIT
q() { local n=$1; shift; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${P[$n]}" -U postgres -d vpcflow "$@"; }

i=0
for n in "${NAMES[@]}"; do
    P[$n]=$((PORT + i)); i=$((i + 1))
    cluster_start "$W/$n" "${P[$n]}" >/dev/null
    "$PGBIN/psql" -X -q -h 127.0.0.1 -p "${P[$n]}" -U postgres -d postgres -c 'CREATE DATABASE vpcflow'
done
for n in single s1 s2; do q "$n" -c 'CREATE EXTENSION vpcflow'; done
q coord -c 'CREATE EXTENSION postgres_fdw' -c 'CREATE EXTENSION vpcflow' -c 'CREATE EXTENSION dblink'
# account moves prepare transactions on the shards (docs/scaleout.md#moving-an-account)
for n in s1 s2; do
    q "$n" -c 'ALTER SYSTEM SET max_prepared_transactions = 10'
    cluster_stop "$W/$n" >/dev/null && cluster_start "$W/$n" "${P[$n]}" >/dev/null
done

nice python3 "$GEN" --rows "$ROWS" --seed 1 --jobs 2 --out "$W/gen.log" >/dev/null
nice python3 "$REPO/test/shard_split.py" "$W/gen.log" "$W/tree" >/dev/null
q coord -c "SELECT vpcflow.add_shard('s1', '127.0.0.1', ${P[s1]}, 'vpcflow', 'postgres')" \
        -c "SELECT vpcflow.add_shard('s2', '127.0.0.1', ${P[s2]}, 'vpcflow', 'postgres')" >/dev/null
# balance by rows: the largest account on s1, the others on s2
mapfile -t accts < <(awk 'NR > 1 { n[$2]++ } END { for (a in n) print n[a], a }' "$W/gen.log" | sort -rn | awk '{print $2}')
q coord -c "SELECT vpcflow.place_account('${accts[0]}', 's1')" >/dev/null
for a in "${accts[@]:1}"; do q coord -c "SELECT vpcflow.place_account('$a', 's2')" >/dev/null; done
placement=$(q coord -c "SELECT string_agg(account_id || '->' || shard_name, ', ' ORDER BY shard_name) FROM vpcflow.shard_routes")

secs() { local t0=$1; printf '%.1f' "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"; }
t0=$(date +%s%N)
nice "$LOADER" -q -j 2 -d "host=127.0.0.1 port=${P[single]} dbname=vpcflow user=postgres" "$W/tree"
load_single=$(secs "$t0")
t0=$(date +%s%N)
nice "$LOADER" -q -j 2 --shards -d "host=127.0.0.1 port=${P[coord]} dbname=vpcflow user=postgres" "$W/tree"
load_sharded=$(secs "$t0")
t0=$(date +%s%N)
q single -c 'SELECT vpcflow.refresh_rollups()' >/dev/null
refresh_single=$(secs "$t0")
t0=$(date +%s%N)
q s1 -c 'SELECT vpcflow.refresh_rollups()' >/dev/null & q s2 -c 'SELECT vpcflow.refresh_rollups()' >/dev/null; wait
refresh_sharded=$(secs "$t0")
for n in single s1 s2; do q "$n" -c 'VACUUM ANALYZE' >/dev/null; done
per_shard=$(for n in s1 s2; do q "$n" -c 'SELECT count(*) FROM vpcflow.flows'; done | paste -sd/)

cat >"$W/loads.kv" <<EOF
load one server (vpcflow-load -j 2)=$load_single
load coordinator + 2 shards (--shards -j 2)=$load_sharded
refresh_rollups one server=$refresh_single
refresh_rollups both shards (concurrently)=$refresh_sharded
EOF

{
    echo "# Scale-out benchmark: $ROWS rows, one server vs coordinator + 2 shards"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores; gen_flows.py --rows $ROWS --seed 1, split into $(find "$W/tree" -type f | wc -l) per-account hourly files;"
    echo "placement: $placement; flows per shard: $per_shard.  All servers on this machine (loopback)."
    echo
    nice python3 "$REPO/bench/scaleout.py" "$PGBIN" "${P[single]}" "${P[coord]}" "${P[s1]},${P[s2]}" \
        "$W/gen.log.meta.json" "$QMD" "$W/loads.kv" "$W/tables.md" >/dev/null
    cat "$W/tables.md"
} >"$OUT"
cat "$OUT"
