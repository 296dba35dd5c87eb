#!/usr/bin/env bash
# bench/lpm.sh: longest-prefix-match and enrichment benchmark (issue 3).
#
#   bench/lpm.sh [--prefixes N] [--probes N] [--slow-probes N] [--flows N] [--keep]
#
# In one throwaway cluster (port 55831), on a set of N prefixes (80% IPv4,
# 20% IPv6, nested, random lengths) it measures, on one core (no parallel
# query):
#   * vpcflow.lpm_id per row over a probe table, and vpcflow.lpm_ids on an
#     array (lookups/s, cached table; the first build timed separately);
#   * the built-in way: ORDER BY masklen(prefix) DESC LIMIT 1 over SP-GiST
#     and over GiST inet_ops, and ip4r (Debian's postgresql-15-ip4r,
#     installed when missing) with iprange and its GiST index;
#   * containment probes: vpcflow.ipprefix SP-GiST vs SP-GiST on inet;
#   * enrichment of the generator's flows, source and destination.
# Results: stdout and bench/out/lpm-last.md.  Run as root.
set -euo pipefail
{

PREFIXES=500000
PROBES=1000000
SLOW=20000
FLOWS=2000000
KEEP=0
PORT=55831
while [ $# -gt 0 ]; do
	case "$1" in
		--prefixes) PREFIXES=$2; shift 2 ;;
		--probes) PROBES=$2; shift 2 ;;
		--slow-probes) SLOW=$2; shift 2 ;;
		--flows) FLOWS=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "bench/lpm.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
for v in "$PREFIXES" "$PROBES" "$SLOW" "$FLOWS"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || { echo "bench/lpm.sh: counts must be positive integers" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench/lpm.sh: run as root" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GEN=${VPCFLOW_BENCH_SHARED:-$(cd "$ROOT/.." && pwd)/shared/bench}/gen_flows.py
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
BASE=/tmp/vpcflow-lpm-bench
OUT=$ROOT/bench/out/lpm-last.md
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

exec 9>"$BASE.lock"
flock -n 9 || { echo "bench/lpm.sh: another run holds $BASE.lock" >&2; exit 1; }

cleanup() {
	local rc=$?
	if [ "$KEEP" = 1 ]; then
		log "--keep: cluster left in $BASE (port $PORT): $ROOT/tools/cluster.sh destroy $BASE/cluster"
		exit $rc
	fi
	bash "$ROOT/tools/cluster.sh" destroy "$BASE/cluster" >/dev/null 2>&1 || true
	rm -rf "$BASE"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ip4r for the comparison (bench only: not a dependency of the extension)
if [ ! -f /usr/share/postgresql/15/extension/ip4r.control ]; then
	log "installing postgresql-15-ip4r"
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-ip4r >/dev/null ||
		{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-ip4r >/dev/null; }
fi

log "build and install"
make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" >/dev/null
make -s -C "$ROOT" PG_CONFIG="$PGBIN/pg_config" install >/dev/null

rm -rf "$BASE"
mkdir -p "$BASE" "$(dirname "$OUT")"
bash "$ROOT/tools/cluster.sh" start "$BASE/cluster" "$PORT" >/dev/null
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
"${PSQL[@]}" -c "ALTER SYSTEM SET shared_buffers = '1GB'" -c "ALTER SYSTEM SET max_parallel_workers_per_gather = 0" \
	-c "ALTER SYSTEM SET work_mem = '256MB'" -c "ALTER SYSTEM SET maintenance_work_mem = '1GB'" \
	-c "ALTER SYSTEM SET max_wal_size = '8GB'" -c "ALTER SYSTEM SET jit = off"
bash "$ROOT/tools/cluster.sh" stop "$BASE/cluster" >/dev/null
bash "$ROOT/tools/cluster.sh" start "$BASE/cluster" "$PORT" >/dev/null
"${PSQL[@]}" -c "CREATE EXTENSION vpcflow" -c "CREATE EXTENSION ip4r"

log "generating $PREFIXES prefixes and $PROBES probes"
"${PSQL[@]}" -v prefixes="$PREFIXES" -v probes="$PROBES" -f "$HERE/lpm_setup.sql"

log "measuring lookups"
"${PSQL[@]}" -v slow="$SLOW" -f "$HERE/lpm_measure.sql"

log "generating and loading $FLOWS flows"
datadir=$(bash "$ROOT/tools/cluster.sh" datadir "$BASE/cluster")
python3 "$GEN" --rows "$FLOWS" --out "$datadir/lpm-flows.log" --seed 1 >/dev/null
chown postgres "$datadir/lpm-flows.log"
"${PSQL[@]}" -c "SELECT rows, seconds FROM vpcflow.ingest_file('lpm-flows.log')" >/dev/null
"${PSQL[@]}" -c "VACUUM ANALYZE vpcflow.flows"
log "measuring enrichment"
"${PSQL[@]}" -f "$HERE/lpm_enrich.sql"

{
	echo "# LPM benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, one core per query)"
	echo
	echo "$PREFIXES prefixes (80% IPv4, 20% IPv6), $PROBES probes (slow methods: $SLOW), $FLOWS flows."
	echo
	echo "| measurement | operations | seconds | per second |"
	echo "|---|---|---|---|"
	"${PSQL[@]}" -At -F '|' -c "SELECT '| ' || name, ops, round(secs::numeric, 3),
	        to_char(round(ops / nullif(secs, 0)), 'FM999,999,999,999') || ' |'
	        FROM bench_results ORDER BY seq"
	echo
	echo "Set-based form bar: >= 5,000,000 lookups/s per core on 500k prefixes; enrichment bar: 2M flows (both ends) <= 2 s."
} | tee "$OUT"

}
