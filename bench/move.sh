#!/usr/bin/env bash
# Account move benchmark (docs/scaleout.md#moving-an-account): the
# two-phase move (CALL vpcflow.move_account: dblink, record-text batches, PREPARE /
# COMMIT PREPARED) against the former one-transaction move through
# postgres_fdw (bench/move_fdw_baseline.sql), same account, same run.  A
# coordinator and two shards on this machine; ROWS rows of gen_flows.py
# (one day), the largest account placed on s1, the others on s2, rollups
# refreshed.  Each method moves the account ROUNDS times, directions
# alternating so both methods go s1->s2 and s2->s1; the totals are checked
# after every move.  Report: bench/out/move-last.md.  Run as root, with nice.
#   VPCFLOW_PGBIN=... nice bench/move.sh    (env: ROWS=500000 ROUNDS=2 PORT=57270)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VPCFLOW_PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
PGBIN=$VPCFLOW_PGBIN
# shellcheck source=../tools/cluster.sh
source "$REPO/tools/cluster.sh"
ROWS=${ROWS:-500000}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-57270}
GEN=${GEN:-$REPO/../shared/bench/gen_flows.py}
[[ -f "$GEN" ]] || GEN=/work/shared/bench/gen_flows.py
W=$(mktemp -d /tmp/vpcflow-move.XXXXXX)
chmod 755 "$W"
OUT="$REPO/bench/out/move-last.md"
mkdir -p "$REPO/bench/out"
NAMES=(coord s1 s2)
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
for n in s1 s2; do
    q "$n" -c 'CREATE EXTENSION vpcflow' -c 'ALTER SYSTEM SET max_prepared_transactions = 10'
    cluster_stop "$W/$n" >/dev/null && cluster_start "$W/$n" "${P[$n]}" >/dev/null
done
q coord -c 'CREATE EXTENSION postgres_fdw' -c 'CREATE EXTENSION dblink' -c 'CREATE EXTENSION vpcflow'
q coord -f "$REPO/bench/move_fdw_baseline.sql" >/dev/null
q coord -c "SELECT vpcflow.add_shard('s1', '127.0.0.1', ${P[s1]}, 'vpcflow', 'postgres')" \
        -c "SELECT vpcflow.add_shard('s2', '127.0.0.1', ${P[s2]}, 'vpcflow', 'postgres')" >/dev/null

nice python3 "$GEN" --rows "$ROWS" --seed 1 --jobs 2 --out "$W/gen.log" >/dev/null
nice python3 "$REPO/test/shard_split.py" "$W/gen.log" "$W/tree" >/dev/null
mapfile -t accts < <(awk 'NR > 1 { n[$2]++ } END { for (a in n) print n[a], a }' "$W/gen.log" | sort -rn | awk '{print $2}')
A=${accts[0]}
q coord -c "SELECT vpcflow.place_account('$A', 's1')" >/dev/null
for a in "${accts[@]:1}"; do q coord -c "SELECT vpcflow.place_account('$a', 's2')" >/dev/null; done
nice "$REPO/vpcflow-load" -q -j 2 --shards -d "host=127.0.0.1 port=${P[coord]} dbname=vpcflow user=postgres" "$W/tree"
for n in s1 s2; do q "$n" -c 'SELECT vpcflow.refresh_rollups()' -c 'VACUUM ANALYZE' >/dev/null; done
total() { q coord -c "SELECT count(*) || ' flows, ' || sum(bytes) || ' bytes' FROM vpcflow.flows WHERE account_id = '$A'"; }
want=$(total)

ms() { echo "($(date +%s%N) - $1) / 1000000" | bc; }
declare -a T_FDW T_2PC
where=s1
move() {   # METHOD: move A to the other shard, time it, check the totals
    local to t0 got
    to=$([[ $where == s1 ]] && echo s2 || echo s1)
    t0=$(date +%s%N)
    if [[ $1 == fdw ]]; then
        q coord -c "SELECT * FROM vpcflow_bench.move_account_fdw('$A', '$to')" >/dev/null
        T_FDW+=("$(ms "$t0")")
    else
        q coord -c "CALL vpcflow.move_account('$A', '$to')" >/dev/null
        T_2PC+=("$(ms "$t0")")
    fi
    got=$(total)
    [[ "$got" == "$want" && $(q "$where" -c "SELECT count(*) FROM vpcflow.flows WHERE account_id = '$A'") == 0 ]] ||
        { echo "move.sh: after a $1 move to $to: $got (want $want)" >&2; exit 1; }
    where=$to
}
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then move fdw; move 2pc; else move 2pc; move fdw; fi
done
best() { printf '%s\n' "$@" | sort -n | head -n 1; }
bf=$(best "${T_FDW[@]}"); b2=$(best "${T_2PC[@]}")
files=$(q coord -c "SELECT files || ' files, ' || rollup_rows || ' rollup rows' FROM vpcflow.shard_moves WHERE state = 'done' ORDER BY move_id DESC LIMIT 1")
{
    echo "# Account move benchmark: $ROWS rows, coordinator + 2 shards"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, all servers on this machine (loopback).  Account $A: $want, $files."
    echo "Each method moved it $ROUNDS times, directions alternating; best time."
    echo
    echo "| method | times (ms) | best (ms) | ratio to baseline |"
    echo "|---|---|---|---|"
    echo "| one transaction through postgres_fdw (former move, baseline) | ${T_FDW[*]} | $bf | 1.00 |"
    echo "| two-phase: dblink, record-text batches, PREPARE / COMMIT PREPARED | ${T_2PC[*]} | $b2 | $(echo "scale=2; $b2 / $bf" | bc) |"
} >"$OUT"
cat "$OUT"
