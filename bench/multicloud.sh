#!/usr/bin/env bash
# bench/multicloud.sh: GCP and Azure ingest beside AWS text and plain COPY.
#
#   bench/multicloud.sh [--flows N] [--seed S] [--port P] [--out FILE]
#
# One run, one throwaway cluster: bench/gen_multicloud.py writes the same N
# flows (default 200000, one day) as AWS v2 text, GCP LogEntry NDJSON, an
# Azure NSG v2 blob and an Azure VNet v4 blob, plus a CSV of the shared
# columns.  Measured, each on one core (one backend or one process):
#   parse only   bench/cloudbench.c over each file (no server)
#   ingest       vpcflow.ingest_file into a fresh database (SHA-256, read,
#                parse, bulk insert into a new day partition, index build),
#                seconds as ingest_log records them
#   plain COPY   COPY ... (FORMAT csv) of the shared columns into a typed
#                table, then the same index set (btree srcaddr, dstaddr,
#                BRIN start), seconds from clock_timestamp()
# and bytes per flow of each store.  Ratios are against AWS text ingest and
# plain COPY in the same run.  Needs root (the cluster belongs to
# postgres); the PostgreSQL tree is VPCFLOW_PGBIN's, else pg_config's.
set -euo pipefail
# One block, read whole before it runs: editing the file mid-run is safe.
{

FLOWS=200000
SEED=1
PORT=${VPCFLOW_BENCH_PORT:-56590}
OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
		--flows) FLOWS=$2; shift 2 ;;
		--seed) SEED=$2; shift 2 ;;
		--port) PORT=$2; shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "multicloud.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $FLOWS =~ ^[0-9]+$ && $FLOWS -gt 0 ]] || { echo "--flows needs a positive integer" >&2; exit 2; }
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
chown -R postgres "$DATA/gen"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -o \
	"-p $PORT -k $BASE -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=8GB -c checkpoint_timeout=30min" \
	start >/dev/null
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }

declare -A PARSE INGEST BYTES SIZE
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

for entry in "${FILES[@]}"; do
	fmt=${entry%%:*} file=${entry#*:}
	db="b_${fmt//-/_}"
	psql_ -d postgres -c "CREATE DATABASE $db"
	psql_ -d "$db" -c "CREATE EXTENSION vpcflow"
	psql_ -d "$db" -c "CHECKPOINT"
	IFS='|' read -r rows errors secs < <(psql_ -d "$db" -c \
		"SELECT rows, errors, seconds FROM vpcflow.ingest_file('gen/$file')")
	[ "$rows" = "$FLOWS" ] && [ "$errors" = 0 ] || { echo "ingest $file: $rows rows, $errors errors" >&2; exit 1; }
	INGEST[$fmt]=$(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", r / s }')
	BYTES[$fmt]=$(psql_ -d "$db" -c "SELECT round(sum(pg_total_relation_size(partition))::numeric / $FLOWS, 1) FROM vpcflow.partitions")
	log "ingest $fmt: ${INGEST[$fmt]} flows/s, ${BYTES[$fmt]} B/flow"
done

psql_ -d postgres -c "CREATE DATABASE b_plain"
psql_ -d b_plain -c "CREATE TABLE plain (srcaddr inet, dstaddr inet, srcport integer, dstport integer,
    protocol smallint, packets bigint, bytes bigint, start_s bigint, end_s bigint)"
psql_ -d b_plain -c "CHECKPOINT"
plain_secs=$(psql_ -d b_plain -c "CREATE FUNCTION pg_temp.t() RETURNS float8 LANGUAGE plpgsql AS \$\$
    DECLARE t0 timestamptz := clock_timestamp();
    BEGIN
        COPY plain FROM '$DATA/gen/plain.csv' (FORMAT csv);
        CREATE INDEX ON plain (srcaddr);
        CREATE INDEX ON plain (dstaddr);
        CREATE INDEX ON plain USING brin (start_s);
        RETURN extract(epoch FROM clock_timestamp() - t0);
    END \$\$" -c "SELECT pg_temp.t()")
PLAIN=$(awk -v r="$FLOWS" -v s="$plain_secs" 'BEGIN { printf "%.0f", r / s }')
PLAIN_BYTES=$(psql_ -d b_plain -c "SELECT round(pg_total_relation_size('plain')::numeric / $FLOWS, 1)")
log "plain COPY + indexes: $PLAIN flows/s, $PLAIN_BYTES B/flow"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "# Multi-cloud ingest benchmark ($(date -u +%Y-%m-%d), $FLOWS flows, seed $SEED)"
	echo
	echo "One run; each figure is one core (one process or backend). Machine load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)."
	echo
	echo "| input | file MB | parse only flows/s | ingest_file flows/s | vs AWS text ingest | vs plain COPY | store B/flow |"
	echo "|---|---|---|---|---|---|---|"
	for entry in "${FILES[@]}"; do
		fmt=${entry%%:*}
		echo "| $fmt | $(awk -v s="${SIZE[$fmt]}" 'BEGIN { printf "%.1f", s / 1048576 }') | ${PARSE[$fmt]} | ${INGEST[$fmt]} | $(ratio "${INGEST[$fmt]}" "${INGEST[aws]}")x | $(ratio "${INGEST[$fmt]}" "$PLAIN")x | ${BYTES[$fmt]} |"
	done
	if [ -n "$JSONC_RATE" ]; then
		echo "| gcp, json-c instead (tree per entry, typed fields looked up) | $(awk -v s="${SIZE[gcp]}" 'BEGIN { printf "%.1f", s / 1048576 }') | $JSONC_RATE | | | | |"
	fi
	echo "| plain COPY (CSV of the shared columns) + btree/BRIN | $(awk -v s="$(stat -c %s "$DATA/gen/plain.csv")" 'BEGIN { printf "%.1f", s / 1048576 }') | | $PLAIN | | 1.00x | $PLAIN_BYTES |"
} >"$BASE/report.md"
cat "$BASE/report.md"
if [ -n "$OUT" ]; then cp "$BASE/report.md" "$OUT"; fi
exit 0
}
