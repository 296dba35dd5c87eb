#!/usr/bin/env bash
# bench/loader.sh: vpcflow-load end to end, beside plain PostgreSQL COPY, in
# one run and one throwaway cluster (port VPCFLOW_BENCH_PORT, default 55841).
#
#   bench/loader.sh [--rows N]
#
# Loads the same gen_flows.py --seed 1 rows as: one plain file and one gzip
# file with -j 1; a tree of 40 gzip files (the same rows) with -j 1 and -j 2,
# in bulk-load transactions (the default) and one file per transaction
# (--batch-seconds 0); the same rows as a tree over two days with -j 1 and
# -j 2; and, as baselines, psql \copy and server-side COPY
# into a typed table: without indexes (the floor), with the store's index set
# in place, and with it built after the COPY.  Writes
# bench/results/<date>-loader<VPCFLOW_BENCH_SUFFIX>.md.
#
# VPCFLOW_PGBIN: the PostgreSQL bin directory to build, install and run with
# (default: pg_config's); VPCFLOW_BENCH_PORT: the port (default 55841).
set -euo pipefail

ROWS=2000000
[ "${1:-}" = "--rows" ] && ROWS=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GEN=${VPCFLOW_BENCH_SHARED:-$ROOT/../shared/bench}/gen_flows.py
BASE=/tmp/benchload-$$
PORT=${VPCFLOW_BENCH_PORT:-55841}
PGBIN=${VPCFLOW_PGBIN:-$(pg_config --bindir)}
PGCONFIG=$PGBIN/pg_config
[ -x "$PGCONFIG" ] || PGCONFIG=pg_config
OUT=$ROOT/bench/results/$(date +%Y-%m-%d)-loader${VPCFLOW_BENCH_SUFFIX:-}.md
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
export PATH=$PGBIN:$PATH

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BASE/data" stop -m immediate >/dev/null 2>&1 || true
	rm -rf "$BASE"
}
trap cleanup EXIT

make -s -C "$ROOT" PG_CONFIG="$PGCONFIG" >/dev/null && make -s -C "$ROOT" PG_CONFIG="$PGCONFIG" install >/dev/null
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
# the same rows as a tree over two days (the second half one day later),
# where -j 2 loads the days side by side
mkdir -p "$F/tree2"
python3 - "$SRC" "$F/tree2" <<'PY'
import gzip, os, sys
src, out = sys.argv[1], sys.argv[2]
lines = open(src).read().splitlines(keepends=True)
header, body = lines[0], lines[1:]
cols = header.split()
si, ei = cols.index("start"), cols.index("end")
half = len(body) // 2
def shift(line):
    f = line.rstrip("\n").split(" ")
    for i in (si, ei):
        if f[i] != "-":
            f[i] = str(int(f[i]) + 86400)
    return " ".join(f) + "\n"
body = body[:half] + [shift(l) for l in body[half:]]
n = 40
for i in range(n):
    chunk = body[i * len(body) // n:(i + 1) * len(body) // n]
    d = os.path.join(out, "2024", "05", "%02d" % (1 + (i >= n // 2)))
    os.makedirs(d, exist_ok=True)
    with gzip.open("%s/part-%02d.log.gz" % (d, i), "wt", compresslevel=1) as f:
        f.write(header + "".join(chunk))
PY
chown -R postgres "$F"
records=$(($(wc -l <"$SRC") - 1))

fresh() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
	psql -X -q -d "$1" -c "CREATE EXTENSION vpcflow" >/dev/null
	psql -X -q -d postgres -c "CHECKPOINT" >/dev/null
}
# wall seconds of a command; its CPU: the cluster's (backends and parallel
# workers, reaped by the postmaster) and the client's
PM_PID=$(head -1 "$BASE/data/postmaster.pid")
cluster_ticks() { awk '{ print $16 + $17 }' "/proc/$PM_PID/stat"; }
declare -A SEC CCPU LCPU
timed() {
	local key=$1; shift
	local t0 t1 c0 c1 tf
	tf=$BASE/time.$key
	sleep 0.5; c0=$(cluster_ticks); t0=$(date +%s.%N)
	/usr/bin/env time -f '%U %S' -o "$tf" "$@" >/dev/null 2>&1
	t1=$(date +%s.%N); sleep 1; c1=$(cluster_ticks)
	SEC[$key]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	CCPU[$key]=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
	LCPU[$key]=$(awk '{ printf "%.2f", $1 + $2 }' "$tf")
}
rate() { awk -v n="$records" -v s="$1" 'BEGIN { printf "%d", n / s }'; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

log "vpcflow-load, plain file, -j 1";  fresh l1; timed plain_j1 "$ROOT/vpcflow-load" -q -d l1 -j 1 "$F/flows.log"
log "vpcflow-load, gzip file, -j 1";   fresh l2; timed gz_j1 "$ROOT/vpcflow-load" -q -d l2 -j 1 "$F/flows.log.gz"
log "vpcflow-load, 40-file tree, -j 1"; fresh l3; timed tree_j1 "$ROOT/vpcflow-load" -q -d l3 -j 1 "$F/tree"
log "vpcflow-load, 40-file tree, -j 2"; fresh l4; timed tree_j2 "$ROOT/vpcflow-load" -q -d l4 -j 2 "$F/tree"
log "vpcflow-load, 40-file tree, -j 1, a transaction per file"; fresh l5; timed tree_j1_file "$ROOT/vpcflow-load" -q -d l5 -j 1 --batch-seconds 0 "$F/tree"
log "vpcflow-load, 40-file tree, -j 2, a transaction per file"; fresh l6; timed tree_j2_file "$ROOT/vpcflow-load" -q -d l6 -j 2 --batch-seconds 0 "$F/tree"
log "vpcflow-load, 40-file tree over two days, -j 1"; fresh l7; timed tree2_j1 "$ROOT/vpcflow-load" -q -d l7 -j 1 "$F/tree2"
log "vpcflow-load, 40-file tree over two days, -j 2"; fresh l8; timed tree2_j2 "$ROOT/vpcflow-load" -q -d l8 -j 2 "$F/tree2"
log "vpcflow-load --backfill, gzip file, -j 1"; fresh b1; timed gz_j1_bf "$ROOT/vpcflow-load" -q -d b1 -j 1 --backfill "$F/flows.log.gz"
log "vpcflow-load --backfill, 40-file tree, -j 1"; fresh b2; timed tree_j1_bf "$ROOT/vpcflow-load" -q -d b2 -j 1 --backfill "$F/tree"
log "vpcflow-load --backfill, 40-file tree, -j 2"; fresh b3; timed tree_j2_bf "$ROOT/vpcflow-load" -q -d b3 -j 2 --backfill "$F/tree"
for db in b1 b2 b3; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM vpcflow.flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM vpcflow.partition_tiers WHERE tier = 'warm'")
	[ "$n" = 1 ] || { log "$db: $n warm days, expected 1"; exit 1; }
done
for db in l7 l8; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM vpcflow.flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM pg_index x JOIN vpcflow.partitions p ON x.indrelid = p.partition")
	[ "$n" = 6 ] || { log "$db: $n partition indexes, expected 6"; exit 1; }
done
for db in l1 l2 l3 l4 l5 l6; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM vpcflow.flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM pg_index x JOIN vpcflow.partitions p ON x.indrelid = p.partition")
	[ "$n" = 3 ] || { log "$db: $n partition indexes, expected 3"; exit 1; }
done

# what maintenance does next with each: compress the hot day (-j 2 load),
# fold the backfilled day's side table into blocks (-j 2 --backfill load)
log "maintenance after the -j 2 load (compress)"; timed maint_compress psql -X -q -d l4 -c "CALL vpcflow.run_maintenance()"
log "maintenance after the -j 2 --backfill load (fold)"; timed maint_fold psql -X -q -d b3 -c "CALL vpcflow.run_maintenance()"
for db in l4 b3; do
	n=$(psql -X -At -d $db -c "SELECT sum(warm_rows) FROM vpcflow.partition_tiers WHERE tier = 'warm'")
	[ "$n" = "$records" ] || { log "$db: $n rows in blocks after maintenance, expected $records"; exit 1; }
done

TYPED="CREATE TABLE flows (version int, account_id text, interface_id text, srcaddr inet, dstaddr inet,
  srcport int, dstport int, protocol smallint, packets bigint, bytes bigint, start_epoch bigint, end_epoch bigint,
  action text, log_status text)"
# the store's index set (src/store.sql), on the typed table's columns
INDEXES="CREATE INDEX ON flows USING brin (start_epoch); CREATE INDEX ON flows (srcaddr); CREATE INDEX ON flows (dstaddr)"
COPY_SQL="COPY flows FROM PROGRAM 'tail -n +2 $F/flows.log' (FORMAT text, DELIMITER ' ', NULL '-')"
log "psql \\copy into a typed table"
fresh c1; psql -X -q -d c1 -c "$TYPED"
timed psql_copy psql -X -q -d c1 -c "\\copy flows FROM PROGRAM 'tail -n +2 $F/flows.log' (FORMAT text, DELIMITER ' ', NULL '-')"
log "server-side COPY into a typed table"
fresh c2; psql -X -q -d c2 -c "$TYPED"
timed server_copy psql -X -q -d c2 -c "$COPY_SQL"
log "server-side COPY into a typed table with the store's indexes"
fresh c3; psql -X -q -d c3 -c "$TYPED" -c "$INDEXES"
timed server_copy_idx psql -X -q -d c3 -c "$COPY_SQL"
log "server-side COPY into a typed table, the store's indexes built after, one transaction"
fresh c4; psql -X -q -d c4 -c "$TYPED"
timed server_copy_late psql -X -q -d c4 -c "BEGIN" -c "SET LOCAL maintenance_work_mem = '256MB'" -c "$COPY_SQL" -c "$INDEXES" -c "COMMIT"
for db in c1 c2 c3 c4; do
	n=$(psql -X -At -d $db -c "SELECT count(*) FROM flows")
	[ "$n" = "$records" ] || { log "$db holds $n rows, expected $records"; exit 1; }
done

base=${SEC[server_copy]}
base_psql=${SEC[psql_copy]}
base_idx=${SEC[server_copy_idx]}
{
	echo "# vpcflow-load benchmark, $(date +%Y-%m-%d)"
	echo
	echo "- commit \`$(git -C "$ROOT" rev-parse --short HEAD)\`; $records rows of \`gen_flows.py --seed 1\` (v2); $(nproc) cores; one throwaway cluster, default durability (fsync, full_page_writes, wal_level replica), shared_buffers 1GB"
	echo "- load average at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- vpcflow loads go into the partitioned, indexed store (BRIN start_time, btree srcaddr, btree dstaddr), exactly once per file; by default in bulk-load transactions (\`--batch-seconds 60\`: the new day's indexes built once at commit), or one transaction per file (\`--batch-seconds 0\`: the first file creates the day, the others insert into its indexes row by row). The COPY baselines load an unpartitioned typed table (times as epoch integers)."
	echo "- CPU: cluster = the server's processes (backends, parallel workers, \`tail\`), from the postmaster's reaped children; client = the loader or psql process"
	echo
	echo "- \`--backfill\` loads: the generator's day (2024-05-01) is past \`hot_window\`, so it is made warm at once and its rows go to the day's side table, unindexed; the maintenance rows are the next \`run_maintenance()\` pass after the \`-j 2\` loads: compressing the hot day, or folding the backfilled day's side table into blocks (the same blocks either way)"
	echo
	echo "| load | seconds | rows/s | ÷ psql \\copy | ÷ server COPY, no indexes | ÷ server COPY, indexes in place | cluster CPU s | client CPU s |"
	echo "|---|---|---|---|---|---|---|---|"
	for k in plain_j1 gz_j1 tree_j1 tree_j2 tree_j1_file tree_j2_file tree2_j1 tree2_j2 gz_j1_bf tree_j1_bf tree_j2_bf maint_compress maint_fold psql_copy server_copy server_copy_idx server_copy_late; do
		case $k in
			plain_j1) name="vpcflow-load -j 1, one plain file" ;;
			gz_j1) name="vpcflow-load -j 1, one gzip file" ;;
			tree_j1) name="vpcflow-load -j 1, tree of 40 gzip files" ;;
			tree_j2) name="vpcflow-load -j 2, tree of 40 gzip files" ;;
			tree_j1_file) name="vpcflow-load -j 1, tree of 40 gzip files, a transaction per file" ;;
			tree_j2_file) name="vpcflow-load -j 2, tree of 40 gzip files, a transaction per file" ;;
			tree2_j1) name="vpcflow-load -j 1, the same rows as 40 gzip files over two days" ;;
			tree2_j2) name="vpcflow-load -j 2, the same rows as 40 gzip files over two days" ;;
			gz_j1_bf) name="vpcflow-load --backfill -j 1, one gzip file" ;;
			tree_j1_bf) name="vpcflow-load --backfill -j 1, tree of 40 gzip files" ;;
			tree_j2_bf) name="vpcflow-load --backfill -j 2, tree of 40 gzip files" ;;
			maint_compress) name="then maintenance after the -j 2 load: compress the day" ;;
			maint_fold) name="then maintenance after the -j 2 --backfill load: fold the day" ;;
			psql_copy) name="psql \\copy, typed table, no indexes" ;;
			server_copy) name="server-side COPY, typed table, no indexes" ;;
			server_copy_idx) name="server-side COPY, typed table, the store's indexes in place" ;;
			server_copy_late) name="server-side COPY, typed table, the store's indexes built after (same transaction)" ;;
		esac
		printf '| %s | %.2f | %s | %.2f | %.2f | %.2f | %s | %s |\n' "$name" "${SEC[$k]}" "$(rate "${SEC[$k]}")" \
			"$(awk -v a="$base_psql" -v b="${SEC[$k]}" 'BEGIN { print a / b }')" \
			"$(awk -v a="$base" -v b="${SEC[$k]}" 'BEGIN { print a / b }')" \
			"$(awk -v a="$base_idx" -v b="${SEC[$k]}" 'BEGIN { print a / b }')" "${CCPU[$k]}" "${LCPU[$k]}"
	done
} | tee "$OUT"
log "report: $OUT"
