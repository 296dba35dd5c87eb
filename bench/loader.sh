#!/usr/bin/env bash
# bench/loader.sh: vpcflow-load end to end, beside plain PostgreSQL COPY, in
# one run and one throwaway cluster (port 55841).
#
#   bench/loader.sh [--rows N]
#
# Loads the same gen_flows.py --seed 1 rows as: one plain file and one gzip
# file with -j 1; a tree of 40 gzip files (the same rows) with -j 1 and -j 2;
# and, as baselines, psql \copy and server-side COPY into a typed table
# (no partitions, no indexes: the floor).  Writes bench/results/<date>-loader.md.
set -euo pipefail

ROWS=2000000
[ "${1:-}" = "--rows" ] && ROWS=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GEN=${VPCFLOW_BENCH_SHARED:-$ROOT/../shared/bench}/gen_flows.py
BASE=/tmp/benchload
PORT=55841
PGBIN=$(pg_config --bindir)
OUT=$ROOT/bench/results/$(date +%Y-%m-%d)-loader.md
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BASE/data" stop -m immediate >/dev/null 2>&1 || true
	rm -rf "$BASE"
}
trap cleanup EXIT

make -s -C "$ROOT" >/dev/null && make -s -C "$ROOT" install >/dev/null
rm -rf "$BASE" && mkdir -p "$BASE/files" && chown -R postgres "$BASE"
runuser -u postgres -- "$PGBIN/initdb" -D "$BASE/data" -U postgres -A trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BASE/data" -l "$BASE/log" -w start \
	-o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min" >/dev/null

# the data: one file, its gzip, and a tree of 40 gzip files with the same rows
SRC=/tmp/bench/flows.log
if [ "$ROWS" != 2000000 ] || [ ! -f "$SRC" ]; then
	SRC=$BASE/files/src.log
	python3 "$GEN" --rows "$ROWS" --seed 1 --out "$SRC" --jobs 2 --no-meta
fi
F=$BASE/files
cp "$SRC" "$F/flows.log"
gzip -1 -c "$SRC" >"$F/flows.log.gz"
mkdir -p "$F/tree"
python3 - "$SRC" "$F/tree" <<'PY'
import gzip, sys
src, out = sys.argv[1], sys.argv[2]
lines = open(src).read().splitlines(keepends=True)
header, body = lines[0], lines[1:]
n = 40
for i in range(n):
    chunk = body[i * len(body) // n:(i + 1) * len(body) // n]
    with gzip.open("%s/part-%02d.log.gz" % (out, i), "wt", compresslevel=1) as f:
        f.write(header + "".join(chunk))
PY
chown -R postgres "$F"
records=$(($(wc -l <"$SRC") - 1))

fresh() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
	psql -X -q -d "$1" -c "CREATE EXTENSION vpcflow" >/dev/null
	psql -X -q -d postgres -c "CHECKPOINT" >/dev/null
}
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$records" -v s="$1" 'BEGIN { printf "%d", n / s }'; }

declare -A SEC
log "vpcflow-load, plain file, -j 1";  fresh l1; SEC[plain_j1]=$(timed "$ROOT/vpcflow-load" -q -d l1 -j 1 "$F/flows.log")
log "vpcflow-load, gzip file, -j 1";   fresh l2; SEC[gz_j1]=$(timed "$ROOT/vpcflow-load" -q -d l2 -j 1 "$F/flows.log.gz")
log "vpcflow-load, 40-file tree, -j 1"; fresh l3; SEC[tree_j1]=$(timed "$ROOT/vpcflow-load" -q -d l3 -j 1 "$F/tree")
log "vpcflow-load, 40-file tree, -j 2"; fresh l4; SEC[tree_j2]=$(timed "$ROOT/vpcflow-load" -q -d l4 -j 2 "$F/tree")
for db in l1 l2 l3 l4; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM vpcflow.flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
done

TYPED="CREATE TABLE flows (version int, account_id text, interface_id text, srcaddr inet, dstaddr inet,
  srcport int, dstport int, protocol smallint, packets bigint, bytes bigint, start_epoch bigint, end_epoch bigint,
  action text, log_status text)"
log "psql \\copy into a typed table"
fresh c1; psql -X -q -d c1 -c "$TYPED"
SEC[psql_copy]=$(timed psql -X -q -d c1 -c "\\copy flows FROM PROGRAM 'tail -n +2 $F/flows.log' (FORMAT text, DELIMITER ' ', NULL '-')")
log "server-side COPY into a typed table"
fresh c2; psql -X -q -d c2 -c "$TYPED"
SEC[server_copy]=$(timed psql -X -q -d c2 -c "COPY flows FROM PROGRAM 'tail -n +2 $F/flows.log' (FORMAT text, DELIMITER ' ', NULL '-')")
for db in c1 c2; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
done

base=${SEC[server_copy]}
{
	echo "# vpcflow-load benchmark, $(date +%Y-%m-%d)"
	echo
	echo "- commit \`$(git -C "$ROOT" rev-parse --short HEAD)\`; $records rows of \`gen_flows.py --seed 1\` (v2); 2 cores; one throwaway cluster, default durability, shared_buffers 1GB"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- vpcflow loads go into the partitioned, indexed store (a new day partition: heap filled, indexes built at attach), exactly once per file; the COPY baselines into an unpartitioned typed table with no indexes, times as epoch integers"
	echo
	echo "| load | seconds | rows/s | ÷ server COPY |"
	echo "|---|---|---|---|"
	for k in plain_j1 gz_j1 tree_j1 tree_j2 psql_copy server_copy; do
		case $k in
			plain_j1) name="vpcflow-load -j 1, one plain file" ;;
			gz_j1) name="vpcflow-load -j 1, one gzip file" ;;
			tree_j1) name="vpcflow-load -j 1, tree of 40 gzip files" ;;
			tree_j2) name="vpcflow-load -j 2, tree of 40 gzip files" ;;
			psql_copy) name="psql \\copy, typed table, no indexes" ;;
			server_copy) name="server-side COPY, typed table, no indexes" ;;
		esac
		printf '| %s | %.2f | %s | %.2f |\n' "$name" "${SEC[$k]}" "$(rate "${SEC[$k]}")" "$(awk -v a="$base" -v b="${SEC[$k]}" 'BEGIN { print a / b }')"
	done
} | tee "$OUT"
log "report: $OUT"
