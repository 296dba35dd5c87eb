#!/usr/bin/env bash
# bench/aggregates.sh: the mergeable aggregates (issue 5) beside their
# plain-SQL equivalents, in one run on one throwaway cluster.
#
#   bench/aggregates.sh [--rows N] [--runs R] [--port P] [--report FILE] [--keep]
#
# Loads N generated flows (default 10,000,000; ../shared/bench/gen_flows.py
# --seed 1, cached in bench/out/) with vpcflow.ingest_file, then times each
# aggregate and its plain-SQL equivalent R times each, interleaved, with
# the server's default parallelism, and checks the sketches' errors against
# the exact answers.  The cluster listens on --port (or $AGGBENCH_PORT,
# default 55821) and lives in $AGGBENCH_BASE (default /tmp/aggbench); set
# PG_CONFIG to build against another PostgreSQL tree.  Writes --report
# (default bench/results/<date>-aggregates.md).
set -euo pipefail
{

ROWS=10000000
RUNS=3
KEEP=0
REPORT_ARG=
SEED=1
PORT=${AGGBENCH_PORT:-55821}
BASE=${AGGBENCH_BASE:-/tmp/aggbench}
SETTINGS=(-c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min)

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench/aggregates.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
		--rows) ROWS=$2; shift 2 ;;
		--runs) RUNS=$2; shift 2 ;;
		--port) PORT=$2; shift 2 ;;
		--report) REPORT_ARG=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		-h|--help) usage 0 ;;
		*) echo "unknown argument: $1" >&2; usage 2 ;;
	esac
done
[[ $ROWS =~ ^[0-9]+$ && $ROWS -gt 0 ]] || die "--rows needs a positive integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || die "--runs needs a positive integer"
[[ $PORT =~ ^[0-9]+$ && $PORT -gt 0 && $PORT -lt 65536 ]] || die "--port needs a port number"
[ "$(id -u)" = 0 ] || die "run as root (it makes a cluster owned by postgres, and installs the extension)"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${VPCFLOW_BENCH_SHARED:-$(cd "$ROOT/.." && pwd)/shared/bench}
GEN=$SHARED/gen_flows.py
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$($PG_CONFIG --bindir)
PGDATA=$BASE/data
OUTDIR=$ROOT/bench/out
RESULTS=$ROOT/bench/results
REPORT=${REPORT_ARG:-$RESULTS/$(date +%Y-%m-%d)-aggregates.md}
[ -f "$GEN" ] || die "no $GEN (set VPCFLOW_BENCH_SHARED)"

exec 9>"$BASE.lock"
flock -n 9 || die "another bench/aggregates.sh holds $BASE.lock"

cleanup() {
	local rc=$?
	if [ "$KEEP" = 1 ]; then
		log "--keep: cluster left running in $PGDATA (port $PORT)"
		exit $rc
	fi
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m fast >/dev/null 2>&1 9>&- || true
	rm -rf "$BASE"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE" -p "$PORT" -U postgres)
sql() { "${PSQL[@]}" -d bench -At "$@"; }

log "building and installing the extension"
make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" >&2
make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null

DATA=$OUTDIR/flows-${ROWS}r-s${SEED}.log
if [ -f "$DATA" ] && [ "$(wc -l <"$DATA")" -eq $((ROWS + 1)) ]; then
	log "reusing $DATA"
else
	mkdir -p "$OUTDIR"
	log "generating $DATA"
	python3 "$GEN" --rows "$ROWS" --seed "$SEED" --jobs 2 --out "$DATA" >&2
fi

log "creating the cluster in $PGDATA (port $PORT)"
rm -rf "$BASE" && mkdir -p "$PGDATA"
chown -R postgres: "$BASE" && chmod 700 "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 \
	--locale=C.UTF-8 --no-sync >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$BASE/server.log" -w -t 120 \
	-o "-p $PORT -k $BASE -c listen_addresses='' ${SETTINGS[*]}" start >/dev/null 9>&- ||
	{ cat "$BASE/server.log" >&2; die "the server did not start"; }
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
sql -c "CREATE EXTENSION vpcflow"

log "loading $ROWS rows"
cp "$DATA" "$PGDATA/flows.log" && chown postgres: "$PGDATA/flows.log"
LOAD=$(sql -c "SELECT rows || ' rows in ' || round(seconds::numeric, 1) || ' s' FROM vpcflow.ingest_file('flows.log')")
log "loaded: $LOAD"
rm -f "$PGDATA/flows.log"
sql -c "VACUUM ANALYZE vpcflow.flows"

# time_ms QUERY: elapsed ms of one run (result rows discarded)
time_ms() {
	"${PSQL[@]}" -d bench -o /dev/null -c "SET search_path = vpcflow, public" -c '\timing on' -c "$1" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# name; bar (x faster needed; 0.833 = within 1.2x); vpcflow query; plain query
PRIVATE="(dstaddr << '10.0.0.0/8' OR dstaddr << '172.16.0.0/12' OR dstaddr << '192.168.0.0/16' OR dstaddr << '100.64.0.0/10' OR dstaddr << '127.0.0.0/8' OR dstaddr << '169.254.0.0/16' OR dstaddr << 'fc00::/7' OR dstaddr << 'fe80::/10' OR dstaddr = '::1')"
PAIRS=(
"reject rate;0.833;SELECT reject_rate(action) FROM flows;SELECT (count(*) FILTER (WHERE action = 'REJECT'))::float8 / count(action) FROM flows"
"flow_stats (7 statistics);0.833;SELECT flow_stats(action, packets, bytes, start_time, end_time) FROM flows;SELECT count(*), sum(packets), sum(bytes), count(*) FILTER (WHERE action = 'ACCEPT'), count(*) FILTER (WHERE action = 'REJECT'), min(start_time), max(end_time), (count(*) FILTER (WHERE action = 'REJECT'))::float8 / count(action) FROM flows"
"flow_stats per interface;0.833;SELECT count(*) FROM (SELECT interface_id, flow_stats(action, packets, bytes, start_time, end_time) FROM flows GROUP BY 1) s;SELECT count(*) FROM (SELECT interface_id, count(*), sum(packets), sum(bytes), count(*) FILTER (WHERE action = 'ACCEPT'), count(*) FILTER (WHERE action = 'REJECT'), min(start_time), max(end_time), (count(*) FILTER (WHERE action = 'REJECT'))::float8 / count(action) FROM flows GROUP BY 1) s"
"egress bytes;0.833;SELECT egress_bytes(dstaddr, bytes) FROM flows;SELECT sum(bytes) FILTER (WHERE NOT $PRIVATE) FROM flows"
"top 10 talkers (srcaddr by bytes);3;SELECT * FROM topk_entries((SELECT topk(srcaddr, bytes, 10) FROM flows));SELECT srcaddr, sum(bytes) FROM flows WHERE srcaddr IS NOT NULL AND bytes IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
"top 10 pairs (src, dst by bytes);3;SELECT * FROM topk_pairs((SELECT topk(srcaddr, dstaddr, bytes, 10) FROM flows));SELECT srcaddr, dstaddr, sum(bytes) FROM flows WHERE srcaddr IS NOT NULL AND bytes IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10"
"top 10 pairs, as one text key;3;SELECT * FROM topk_entries((SELECT topk(host(srcaddr) || ' ' || host(dstaddr), bytes, 10) FROM flows));SELECT srcaddr, dstaddr, sum(bytes) FROM flows WHERE srcaddr IS NOT NULL AND bytes IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10"
"top 10 ports (dstport by flows);3;SELECT * FROM topk_entries((SELECT topk(dstport, 1, 10) FROM flows));SELECT dstport, count(*) FROM flows WHERE dstport IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
"distinct destinations;5;SELECT approx_distinct(dstaddr) FROM flows;SELECT count(DISTINCT dstaddr) FROM flows"
"destinations per source;5;SELECT count(*), sum(n) FROM (SELECT srcaddr, approx_distinct(dstaddr) n FROM flows GROUP BY 1) s;SELECT count(*), sum(n) FROM (SELECT srcaddr, count(DISTINCT dstaddr) n FROM flows GROUP BY 1) s"
"ports per source (scans);5;SELECT count(*), sum(n) FROM (SELECT srcaddr, approx_distinct(dstport) n FROM flows GROUP BY 1) s;SELECT count(*), sum(n) FROM (SELECT srcaddr, count(DISTINCT dstport) n FROM flows GROUP BY 1) s"
"sources per destination (sweeps);5;SELECT count(*), sum(n) FROM (SELECT dstaddr, approx_distinct(srcaddr) n FROM flows GROUP BY 1) s;SELECT count(*), sum(n) FROM (SELECT dstaddr, count(DISTINCT srcaddr) n FROM flows GROUP BY 1) s"
)

TABLE=$BASE/table.md
: >"$TABLE"
for pair in "${PAIRS[@]}"; do
	IFS=';' read -r name bar qv qp <<<"$pair"
	log "timing: $name"
	: >"$BASE/v" && : >"$BASE/p"
	time_ms "$qv" >/dev/null	# warm the cache once
	for ((r = 0; r < RUNS; r++)); do
		time_ms "$qp" >>"$BASE/p"
		time_ms "$qv" >>"$BASE/v"
	done
	mv_=$(median <"$BASE/v")
	mp_=$(median <"$BASE/p")
	awk -v n="$name" -v v="$mv_" -v p="$mp_" -v b="$bar" 'BEGIN {
		s = p / v
		need = (b < 1) ? sprintf("within 1.2x (>= %.2fx)", b) : sprintf(">= %gx", b)
		printf "| %s | %.0f | %.0f | %.2fx | %s | %s |\n", n, p, v, s, need, (s >= b) ? "yes" : "**no**"
	}' >>"$TABLE"
	tail -n 1 "$TABLE" >&2
done

# The ceiling of a top-k speed-up: the plain query against a trivial
# built-in aggregate reading the same columns in the same scan (no sketch
# can cost less than that).
CEIL=$BASE/ceiling.md
: >"$CEIL"
CEILINGS=(
"top 10 talkers;SELECT count(srcaddr), sum(bytes) FROM flows;SELECT srcaddr, sum(bytes) FROM flows WHERE srcaddr IS NOT NULL AND bytes IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
"top 10 ports;SELECT count(dstport) FROM flows;SELECT dstport, count(*) FROM flows WHERE dstport IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
)
for c in "${CEILINGS[@]}"; do
	IFS=';' read -r name qt qp <<<"$c"
	log "timing the ceiling: $name"
	: >"$BASE/t" && : >"$BASE/p"
	time_ms "$qt" >/dev/null
	for ((r = 0; r < RUNS; r++)); do
		time_ms "$qp" >>"$BASE/p"
		time_ms "$qt" >>"$BASE/t"
	done
	awk -v n="$name" -v q="$qt" -v t="$(median <"$BASE/t")" -v p="$(median <"$BASE/p")" 'BEGIN {
		printf "| %s | `%s` | %.0f | %.0f | %.2fx |\n", n, q, p, t, p / t
	}' >>"$CEIL"
	tail -n 1 "$CEIL" >&2
done

log "checking the sketches' errors against the exact answers"
ACC=$BASE/accuracy.md
sql >"$ACC" <<-'EOF'
	SET search_path = vpcflow, public;
	SET work_mem = '256MB';
	WITH t AS (SELECT topk(srcaddr, bytes, 10) t FROM flows),
	     e AS (SELECT host(srcaddr) AS key, sum(bytes) AS w FROM flows WHERE bytes IS NOT NULL AND srcaddr IS NOT NULL
	           GROUP BY srcaddr ORDER BY 2 DESC LIMIT 10),
	     s AS (SELECT x.* FROM t, topk_entries(t) x)
	SELECT format('| top 10 talkers | %s of the exact top 10 reported; true weight within [weight - error, weight] for %s of 10; max error %s%% of the total (bound: %s%%) |',
	       (SELECT count(*) FROM e WHERE key IN (SELECT key FROM s)),
	       (SELECT count(*) FROM s JOIN (SELECT host(srcaddr) AS key, sum(bytes) AS w FROM flows GROUP BY srcaddr) x USING (key)
	        WHERE x.w BETWEEN s.weight - s.error AND s.weight),
	       (SELECT round(max(100.0 * error / topk_total(t.t)), 4) FROM s, t),
	       round(100.0 / 200, 4));
	WITH t AS (SELECT topk(dstport, 1, 10) t FROM flows),
	     e AS (SELECT dstport::text AS key, count(*) AS w FROM flows WHERE dstport IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10),
	     s AS (SELECT x.* FROM t, topk_entries(t) x)
	SELECT format('| top 10 ports | %s of the exact top 10 reported; max error %s%% of the total |',
	       (SELECT count(*) FROM e WHERE key IN (SELECT key FROM s)),
	       (SELECT round(max(100.0 * error / topk_total(t.t)), 4) FROM s, t));
	WITH t AS (SELECT topk(srcaddr, dstaddr, bytes, 10) t FROM flows),
	     x AS (SELECT srcaddr, dstaddr, sum(bytes) AS w FROM flows WHERE bytes IS NOT NULL AND srcaddr IS NOT NULL
	           AND dstaddr IS NOT NULL GROUP BY 1, 2),
	     e AS (SELECT * FROM x ORDER BY w DESC LIMIT 10),
	     s AS (SELECT p.* FROM t, topk_pairs(t) p)
	SELECT format('| top 10 pairs | %s of the exact top 10 reported; true weight within [weight - error, weight] for %s of 10; max error %s%% of the total (bound: %s%%) |',
	       (SELECT count(*) FROM e JOIN s ON s.src = e.srcaddr AND s.dst = e.dstaddr),
	       (SELECT count(*) FROM s JOIN x ON s.src = x.srcaddr AND s.dst = x.dstaddr
	        WHERE x.w BETWEEN s.weight - s.error AND s.weight),
	       (SELECT round(max(100.0 * error / topk_total(t.t)), 4) FROM s, t),
	       round(100.0 / 200, 4));
	SELECT format('| distinct destinations | %s estimated, %s exact: %s%% error |', a, e, round(100.0 * abs(a - e) / e, 3))
	FROM (SELECT approx_distinct(dstaddr) a, count(DISTINCT dstaddr) e FROM flows) s;
	SELECT format('| destinations per source | %s sources; relative error max %s%%, mean %s%%; exact for %s%% of sources |',
	       count(*), round(100 * max(abs(a - e)::numeric / e), 3), round(100 * avg(abs(a - e)::numeric / e), 4),
	       round(100.0 * count(*) FILTER (WHERE a = e) / count(*), 1))
	FROM (SELECT approx_distinct(dstaddr) a, count(DISTINCT dstaddr) e FROM flows WHERE dstaddr IS NOT NULL GROUP BY srcaddr) s;
	SELECT format('| ports per source | %s sources; relative error max %s%%, mean %s%% |',
	       count(*), round(100 * max(abs(a - e)::numeric / e), 3), round(100 * avg(abs(a - e)::numeric / e), 4))
	FROM (SELECT approx_distinct(dstport) a, count(DISTINCT dstport) e FROM flows WHERE dstport IS NOT NULL GROUP BY srcaddr) s;
	SELECT format('| sources per destination | %s destinations; relative error max %s%%, mean %s%% |',
	       count(*), round(100 * max(abs(a - e)::numeric / e), 3), round(100 * avg(abs(a - e)::numeric / e), 4))
	FROM (SELECT approx_distinct(srcaddr) a, count(DISTINCT srcaddr) e FROM flows WHERE srcaddr IS NOT NULL GROUP BY dstaddr) s;
EOF
cat "$ACC" >&2

PLAN=$(sql -c "SET search_path = vpcflow, public" -c "EXPLAIN (COSTS OFF) SELECT topk(srcaddr, bytes, 10), approx_distinct(dstaddr), flow_stats(action, packets, bytes, start_time, end_time) FROM flows")
mkdir -p "$RESULTS"
{
	echo "# Aggregates benchmark, $(date -u +%Y-%m-%d)"
	echo
	echo "bench/aggregates.sh: $ROWS generated flows (gen_flows.py --seed $SEED), loaded with"
	echo "vpcflow.ingest_file ($LOAD). $(nproc) CPUs; PostgreSQL $($PGBIN/postgres --version | awk '{print $3}'),"
	echo "${SETTINGS[*]}, everything else default (max_parallel_workers_per_gather = 2, work_mem = 4MB, jit on)."
	echo "Each query ran $RUNS times, interleaved with its plain-SQL equivalent after one warm-up run; medians in ms."
	echo
	echo "| aggregate | plain SQL (ms) | vpcflow (ms) | speed-up | bar | met |"
	echo "|---|---:|---:|---:|---|---|"
	cat "$TABLE"
	echo
	echo "## Ceiling of a top-k speed-up (same run)"
	echo
	echo "A trivial built-in aggregate over the same scan and columns: no sketch can"
	echo "cost less, so plain / trivial is the largest speed-up any aggregate can show."
	echo
	echo "| query | trivial aggregate | plain SQL (ms) | trivial (ms) | ceiling |"
	echo "|---|---|---:|---:|---:|"
	cat "$CEIL"
	echo
	echo "## Errors of the sketches (same data)"
	echo
	echo "| sketch | result |"
	echo "|---|---|"
	cat "$ACC"
	echo
	echo "## Plan"
	echo
	echo '```'
	echo "$PLAN"
	echo '```'
	echo
	echo "## Queries"
	echo
	for pair in "${PAIRS[@]}"; do
		IFS=';' read -r name bar qv qp <<<"$pair"
		echo "- $name"
		echo "  - vpcflow: \`$qv\`"
		echo "  - plain: \`$qp\`"
	done
} >"$REPORT"
log "wrote $REPORT"
exit 0
}
