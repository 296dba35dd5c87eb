#!/usr/bin/env bash
# bench/multicloud.sh: GCP and Azure ingest beside AWS text and plain COPY.
#
#   bench/multicloud.sh [--flows N] [--seed S] [--reps R] [--port P] [--out FILE]
#
# One run, one throwaway cluster: bench/gen_multicloud.py writes the same N
# flows (default 200000, one day) as AWS v2 text, GCP LogEntry NDJSON, an
# Azure NSG v2 blob and an Azure VNet v4 blob, plus a CSV of the shared
# columns.  Measured, each on one core (one backend or one process):
#   parse only   bench/cloudbench.c over each file (no server), flows per
#                CPU-second of the process (best of 3 runs)
#   ingest       vpcflow.ingest_file into a fresh database (SHA-256, read,
#                parse, bulk insert into a new day partition, index build):
#                flows per CPU-second of the ingesting backend (its on-CPU
#                time from /proc/self/schedstat, user and system, read by
#                the backend itself before and after), and per wall-clock
#                second as ingest_log records it; best of --reps loads
#                (default 2), each into a fresh database
#   plain COPY   COPY ... (FORMAT csv) of the shared columns into a typed
#                table, then the same index set (btree srcaddr, dstaddr,
#                BRIN start), measured the same way
#   second file  a file of other flows of the same day (seed + 1) loaded
#                after the first, into the day as it left it (attached,
#                indexes in place, so each row is inserted into them); the
#                plain COPY of its CSV into the indexed table beside it
# The cluster runs with max_parallel_maintenance_workers = 0, so index
# builds happen in the backend and its CPU time is the whole cost.  The
# ingest's CPU is split, approximately, into the file (read into memory
# and its SHA-256: pg_read_binary_file + sha256 in the same kind of
# backend), index builds (REINDEX of the loaded partition) and the rest
# (parse, convert, insert).  Also: bytes per
# flow of each store.  Ratios are against AWS text ingest and plain COPY
# in the same run, per CPU-second.  Needs root (the cluster belongs to
# postgres); the PostgreSQL tree is VPCFLOW_PGBIN's, else pg_config's.
set -euo pipefail
# One block, read whole before it runs: editing the file mid-run is safe.
{

FLOWS=200000
SEED=1
REPS=2
PORT=${VPCFLOW_BENCH_PORT:-56590}
OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
		--flows) FLOWS=$2; shift 2 ;;
		--seed) SEED=$2; shift 2 ;;
		--reps) REPS=$2; shift 2 ;;
		--port) PORT=$2; shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		-h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "multicloud.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $FLOWS =~ ^[0-9]+$ && $FLOWS -gt 0 ]] || { echo "--flows needs a positive integer" >&2; exit 2; }
[[ $REPS =~ ^[0-9]+$ && $REPS -gt 0 ]] || { echo "--reps needs a positive integer" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "multicloud.sh: run as root" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${VPCFLOW_PGBIN:-$(pg_config --bindir)}
BASE=$(mktemp -d /tmp/vpcflow-multicloud.XXXXXX)
DATA=$BASE/data
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$BASE"
}
trap cleanup EXIT

log "build and install ($PGBIN)"
make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" >/dev/null
make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" install >/dev/null
cc -O2 -Wall -Wextra -Werror -I"$ROOT/src" -o "$BASE/cloudbench" "$ROOT/bench/cloudbench.c" \
	"$ROOT/src/cloudflow.c" "$ROOT/src/cloudflow_gcp.c" "$ROOT/src/cloudflow_azure.c" \
	"$ROOT/src/jsonscan.c" "$ROOT/src/flowparse.c"

# the json-c baseline for the GCP reader, when json-c is installed
JSONC=0
if cc -O2 -I"$ROOT/src" -o "$BASE/jsoncbench" "$ROOT/bench/jsoncbench.c" "$ROOT/src/flowparse.c" \
	-ljson-c 2>/dev/null; then
	JSONC=1
fi

chown postgres "$BASE"
runuser -u postgres -- "$PGBIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
log "generate $FLOWS flows (seed $SEED)"
mkdir -p "$DATA/gen"
python3 "$ROOT/bench/gen_multicloud.py" --flows "$FLOWS" --seed "$SEED" --out "$DATA/gen"
# the same day again, other flows: a second file into a day that is attached and indexed
python3 "$ROOT/bench/gen_multicloud.py" --flows "$FLOWS" --seed "$((SEED + 1))" --out "$DATA/gen2"
chown -R postgres "$DATA/gen" "$DATA/gen2"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -o \
	"-p $PORT -k $BASE -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=8GB -c checkpoint_timeout=30min -c max_parallel_maintenance_workers=0" \
	start >/dev/null
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }

declare -A PARSE BYTES SIZE BEST_DB
FILES=(aws:aws.log gcp:gcp.ndjson azure-nsg:azure-nsg.json azure-vnet:azure-vnet.json)
for entry in "${FILES[@]}"; do
	fmt=${entry%%:*} file=${entry#*:}
	SIZE[$fmt]=$(stat -c %s "$DATA/gen/$file")
	read -r rows secs rate < <("$BASE/cloudbench" "$DATA/gen/$file" 3)
	[ "$rows" = "$FLOWS" ] || { echo "parse-only $file: $rows rows, expected $FLOWS" >&2; exit 1; }
	PARSE[$fmt]=$rate
	log "parse only $fmt: $rate flows/s"
done

JSONC_RATE=""
if [ "$JSONC" = 1 ]; then
	read -r rows secs JSONC_RATE < <("$BASE/jsoncbench" "$DATA/gen/gcp.ndjson" 3)
	log "parse only gcp with json-c: $JSONC_RATE flows/s"
fi

# CPU seconds of the backend running this session, read by itself: its
# on-CPU time in nanoseconds (/proc/self/schedstat), user and system alike;
# utime + stime of /proc/self/stat count the same in 10 ms ticks
CPU_FN="CREATE FUNCTION pg_temp.cpu() RETURNS float8 LANGUAGE sql AS \$\$
    SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::float8 / 1e9 \$\$"
declare -A CPU WALL SHA IDX INTO
for entry in "${FILES[@]}"; do
	fmt=${entry%%:*} file=${entry#*:}
	for rep in $(seq 1 "$REPS"); do
		db="b_${fmt//-/_}_$rep"
		psql_ -d postgres -c "CREATE DATABASE $db"
		psql_ -d "$db" -c "CREATE EXTENSION vpcflow"
		psql_ -d "$db" -c "CHECKPOINT"
		IFS='|' read -r rows errors secs cpu < <(psql_ -d "$db" <<-SQL
			$CPU_FN;
			SELECT pg_temp.cpu() AS c0 \\gset
			SELECT rows, errors, seconds, pg_temp.cpu() - :c0 FROM vpcflow.ingest_file('gen/$file');
		SQL
		)
		[ "$rows" = "$FLOWS" ] && [ "$errors" = 0 ] || { echo "ingest $file: $rows rows, $errors errors" >&2; exit 1; }
		log "ingest $fmt (load $rep): $secs s wall, $cpu s CPU"
		if [ -z "${CPU[$fmt]:-}" ] || awk -v a="$cpu" -v b="${CPU[$fmt]}" 'BEGIN { exit !(a < b) }'; then
			CPU[$fmt]=$cpu
			WALL[$fmt]=$secs
			BEST_DB[$fmt]=$db
		fi
	done
	db=${BEST_DB[$fmt]}
	BYTES[$fmt]=$(psql_ -d "$db" -c "SELECT round(sum(pg_total_relation_size(partition))::numeric / $FLOWS, 1) FROM vpcflow.partitions")
	# the shared steps, measured apart in the same kind of backend
	SHA[$fmt]=$(psql_ -d "$db" <<-SQL
		$CPU_FN;
		SELECT pg_temp.cpu() AS c0 \\gset
		SELECT pg_temp.cpu() - :c0 FROM (SELECT sha256(pg_read_binary_file('gen/$file'))) s;
	SQL
	)
	IDX[$fmt]=$(psql_ -d "$db" <<-SQL
		$CPU_FN;
		SELECT partition AS part FROM vpcflow.partitions \\gset
		SELECT pg_temp.cpu() AS c0 \\gset
		REINDEX TABLE :part;
		SELECT pg_temp.cpu() - :c0;
	SQL
	)
	# a second file of the same day, into its partition as the first left it
	INTO[$fmt]=$(psql_ -d "$db" <<-SQL
		$CPU_FN;
		SELECT pg_temp.cpu() AS c0 \\gset
		SELECT pg_temp.cpu() - :c0 FROM vpcflow.ingest_file('gen2/$file') WHERE rows = $FLOWS;
	SQL
	)
	[ -n "${INTO[$fmt]}" ] || { echo "second ingest of $file did not load $FLOWS rows" >&2; exit 1; }
	log "ingest $fmt: ${CPU[$fmt]} s CPU (best), ${BYTES[$fmt]} B/flow; SHA-256 ${SHA[$fmt]} s, index builds ${IDX[$fmt]} s; into the indexed day ${INTO[$fmt]} s"
done

psql_ -d postgres -c "CREATE DATABASE b_plain"
psql_ -d b_plain -c "CREATE TABLE plain (srcaddr inet, dstaddr inet, srcport integer, dstport integer,
    protocol smallint, packets bigint, bytes bigint, start_s bigint, end_s bigint)"
psql_ -d b_plain -c "CHECKPOINT"
IFS='|' read -r plain_secs plain_cpu < <(psql_ -d b_plain <<-SQL
	$CPU_FN;
	CREATE FUNCTION pg_temp.t() RETURNS float8 LANGUAGE plpgsql AS \$\$
	    DECLARE t0 timestamptz := clock_timestamp();
	    BEGIN
	        COPY plain FROM '$DATA/gen/plain.csv' (FORMAT csv);
	        CREATE INDEX ON plain (srcaddr);
	        CREATE INDEX ON plain (dstaddr);
	        CREATE INDEX ON plain USING brin (start_s);
	        RETURN extract(epoch FROM clock_timestamp() - t0);
	    END \$\$;
	SELECT pg_temp.cpu() AS c0 \\gset
	SELECT pg_temp.t(), pg_temp.cpu() - :c0;
SQL
)
plain_into_cpu=$(psql_ -d b_plain <<-SQL
	$CPU_FN;
	SELECT pg_temp.cpu() AS c0 \\gset
	COPY plain FROM '$DATA/gen2/plain.csv' (FORMAT csv);
	SELECT pg_temp.cpu() - :c0;
SQL
)
PLAIN_INTO=$(awk -v r="$FLOWS" -v s="$plain_into_cpu" 'BEGIN { printf "%.0f", r / s }')
PLAIN=$(awk -v r="$FLOWS" -v s="$plain_cpu" 'BEGIN { printf "%.0f", r / s }')
PLAIN_WALL=$(awk -v r="$FLOWS" -v s="$plain_secs" 'BEGIN { printf "%.0f", r / s }')
PLAIN_BYTES=$(psql_ -d b_plain -c "SELECT round(pg_total_relation_size('plain')::numeric / $FLOWS, 1)")
log "plain COPY + indexes: $PLAIN flows per CPU-s, $PLAIN_WALL flows/s wall, $PLAIN_BYTES B/flow"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v r="$FLOWS" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
usf() { awk -v r="$FLOWS" -v s="$1" 'BEGIN { printf "%.2f", s * 1e6 / r }'; }
mb() { awk -v s="$1" 'BEGIN { printf "%.1f", s / 1048576 }'; }
{
	echo "# Multi-cloud ingest benchmark ($(date -u +%Y-%m-%d), $FLOWS flows, seed $SEED, best of $REPS loads)"
	echo
	echo "One run. Each figure is one core: one process (parse only) or one backend (ingest, COPY;"
	echo "max_parallel_maintenance_workers = 0, so the index builds run in it too). Rates are flows per"
	echo "CPU-second of that process or backend; wall-clock rates are shown beside them. Machine load"
	echo "at the end: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)."
	echo
	echo "| input | file MB | parse only flows per CPU-s | ingest_file flows per CPU-s | vs AWS text ingest | vs plain COPY | ingest_file flows/s wall | store B/flow | a second file into the indexed day, flows per CPU-s |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for entry in "${FILES[@]}"; do
		fmt=${entry%%:*}
		r=$(rate "${CPU[$fmt]}")
		echo "| $fmt | $(mb "${SIZE[$fmt]}") | ${PARSE[$fmt]} | $r | $(ratio "$r" "$(rate "${CPU[aws]}")")x | $(ratio "$r" "$PLAIN")x | $(rate "${WALL[$fmt]}") | ${BYTES[$fmt]} | $(rate "${INTO[$fmt]}") |"
	done
	if [ -n "$JSONC_RATE" ]; then
		echo "| gcp, json-c instead (tree per entry, typed fields looked up) | $(mb "${SIZE[gcp]}") | $JSONC_RATE | | | | | | |"
	fi
	echo "| plain COPY (CSV of the shared columns) + btree/BRIN | $(mb "$(stat -c %s "$DATA/gen/plain.csv")") | | $PLAIN | $(ratio "$PLAIN" "$(rate "${CPU[aws]}")")x | 1.00x | $PLAIN_WALL | $PLAIN_BYTES | $PLAIN_INTO |"
	echo
	echo "Where the ingesting backend's CPU goes, microseconds per flow. File: reading it into memory"
	echo "and its SHA-256 (pg_read_binary_file + sha256; ingest_file hashes a file of lines as it reads"
	echo "it, then parses it in chunks from a second read). Index builds: REINDEX of the loaded partition. The rest: parsing,"
	echo "converting, inserting."
	echo "Each part is measured apart, so the split is approximate:"
	echo
	echo "| input | ingest_file | file: read + SHA-256 | index builds | the rest |"
	echo "|---|---|---|---|---|"
	for entry in "${FILES[@]}"; do
		fmt=${entry%%:*}
		echo "| $fmt | $(usf "${CPU[$fmt]}") | $(usf "${SHA[$fmt]}") | $(usf "${IDX[$fmt]}") | $(usf "$(awk -v a="${CPU[$fmt]}" -v b="${SHA[$fmt]}" -v c="${IDX[$fmt]}" 'BEGIN { print a - b - c }')") |"
	done
} >"$BASE/report.md"
cat "$BASE/report.md"
if [ -n "$OUT" ]; then cp "$BASE/report.md" "$OUT"; fi
exit 0
}
