#!/usr/bin/env bash
# bench/run.sh: the vpcflow core benchmark, in one run (see bench/README.md).
#
#   bench/run.sh [--rows N] [--seed S] [--runs R] [--no-profile] [--keep] [--out FILE]
#
# Builds and installs the extension, then on one flow-log file measures the
# parser alone, vpcflow.ingest_file, a plain-PostgreSQL baseline in the same
# throwaway cluster, bytes per flow and the eight queries of
# ../shared/bench/queries.md, and writes a markdown report with ratios.
set -euo pipefail
# The whole script is one block, read before it runs: editing this file while
# a benchmark runs does not derail the running copy.
{

ROWS=2000000
SEED=1
RUNS=5
PROFILE=1
KEEP=0
OUT=""
PORT=55811
BASE=/tmp/benchpg
SETTINGS=(-c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
		--rows) ROWS=$2; shift 2 ;;
		--rows=*) ROWS=${1#*=}; shift ;;
		--seed) SEED=$2; shift 2 ;;
		--seed=*) SEED=${1#*=}; shift ;;
		--runs) RUNS=$2; shift 2 ;;
		--runs=*) RUNS=${1#*=}; shift ;;
		--no-profile) PROFILE=0; shift ;;
		--keep) KEEP=1; shift ;;
		--out) OUT=$2; shift 2 ;;
		--out=*) OUT=${1#*=}; shift ;;
		-h|--help) usage 0 ;;
		*) echo "unknown argument: $1" >&2; usage 2 ;;
	esac
done
[[ $ROWS =~ ^[0-9]+$ && $ROWS -gt 0 ]] || die "--rows needs a positive integer"
[[ $SEED =~ ^[0-9]+$ ]] || die "--seed needs an integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || die "--runs needs a positive integer"
[ "$(id -u)" = 0 ] || die "run as root (it makes a cluster owned by postgres, and installs the extension)"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${VPCFLOW_BENCH_SHARED:-$(cd "$ROOT/.." && pwd)/shared/bench}
GEN=$SHARED/gen_flows.py
QUERIES_MD=$SHARED/queries.md
LIB="python3 $HERE/benchlib.py"
OUTDIR=$ROOT/bench/out
LAST=$OUTDIR/last-run
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
PGDATA=$BASE/data
WORK=$BASE/work
KV=$WORK/results.kv
[ -f "$GEN" ] && [ -f "$QUERIES_MD" ] || die "no $GEN or $QUERIES_MD (set VPCFLOW_BENCH_SHARED)"

# One run at a time: the cluster directory and port are fixed.
exec 9>"$BASE.lock"
flock -n 9 || die "another bench/run.sh holds $BASE.lock"

PERF_PID=""
cleanup() {
	local rc=$?
	if [ -n "$PERF_PID" ] && kill -0 "$PERF_PID" 2>/dev/null; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then
		log "--keep: cluster left running in $PGDATA (port $PORT); stop it with:"
		log "  runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA stop && rm -rf $BASE"
		exit $rc
	fi
	if [ -f "$PGDATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m fast -w >/dev/null 2>&1 ||
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m immediate -w >/dev/null 2>&1 || true
	fi
	rm -rf "$BASE"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A cluster left over by an interrupted run of this script.
if [ -f "$PGDATA/postmaster.pid" ]; then
	log "stopping the cluster a previous run left in $PGDATA"
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" stop -m immediate -w >/dev/null 2>&1 || true
fi
rm -rf "$BASE"
mkdir -p "$WORK/q" "$WORK/results" "$OUTDIR"

kv() { printf '%s=%s\n' "$1" "$2" >>"$KV"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# whole-machine CPU counters: "busy total" jiffies
cpu_now() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
busy_cores() {	# busy_cores "<before>" "<after>": non-idle cores over the interval
	awk -v a="$1" -v b="$2" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		t = y[2] - x[2]; printf "%.2f", (t > 0 ? (y[1] - x[1]) / t * n : 0) }'
}
cluster_cpu() {	# jiffies used by our postmaster and its children, reaped ones included
	local pm
	pm=$(head -1 "$PGDATA/postmaster.pid")
	{ cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t }'
}
others_cores() {	# others_cores "<cpu before>" "<cpu after>" CLUSTER_BEFORE CLUSTER_AFTER
	awk -v a="$1" -v b="$2" -v c0="$3" -v c1="$4" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		t = y[2] - x[2]; o = (y[1] - x[1]) - (c1 - c0); if (o < 0) o = 0; printf "%.2f", (t > 0 ? o / t * n : 0) }'
}
settle() {	# wait until no client backend of ours is alive or unreaped, so CPU counters are final
	local pm c st
	pm=$(head -1 "$PGDATA/postmaster.pid")
	for _ in $(seq 1 60); do
		local busy=0
		for c in $(pgrep -P "$pm"); do
			st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$c/stat" 2>/dev/null || true)
			if [ "$st" = Z ] || { tr '\0' ' ' <"/proc/$c/cmdline"; } 2>/dev/null | grep -q '^postgres: postgres '; then
				busy=1
			fi
		done
		[ "$busy" = 0 ] && return 0
		sleep 0.05
	done
}
sched_kv() {	# sched_kv KEY OUTPUT: backend on-CPU and run-queue wait from two /proc/self/schedstat reads
	local a b
	a=$(grep '^sched ' <<<"$2" | head -1)
	b=$(grep '^sched ' <<<"$2" | tail -1)
	kv "${1}_backend_cpu_s" "$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[2] - x[2]) / 1e9 }')"
	kv "${1}_runq_wait_s" "$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[3] - x[3]) / 1e9 }')"
}
busy_procs() {	# processes using > 20% CPU right now, except ours
	top -b -n 2 -d 1 -w 200 2>/dev/null | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 20 { printf "%s(%s%%) ", $12, $9 }' || true
}

PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE" -p "$PORT" -U postgres)
export PGTZ=UTC PGAPPNAME=vpcflow-bench
sql() { local db=$1; shift; "${PSQL[@]}" -d "$db" -At "$@"; }

: >"$KV"
kv date "$(date -u +%Y-%m-%d)"
kv rows "$ROWS"
kv seed "$SEED"
kv runs "$RUNS"
kv commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
kv dirty "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (+ uncommitted changes)' || true)"
kv host "$(hostname)"
kv ncpu "$(nproc)"
kv mem_gb "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
kv cpu_model "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
kv loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
kv busy_at_start "$(busy_procs)"

# ---------- build ----------
log "building and installing the extension"
make -s -C "$ROOT" >&2
make -s -C "$ROOT" install >&2
make -s -C "$ROOT" src/vpcflow-parsebench >&2

# ---------- data ----------
DATA=""
for cand in ${VPCFLOW_BENCH_DATA:-} /tmp/bench/flows.log "$OUTDIR/flows-${ROWS}r-s${SEED}.log"; do
	if [ -f "$cand" ] && $LIB meta-ok "$cand" "$ROWS" "$SEED" &&
		[ "$(wc -l <"$cand")" -eq $((ROWS + 1)) ]; then
		DATA=$cand
		break
	fi
done
if [ -z "$DATA" ]; then
	DATA=$OUTDIR/flows-${ROWS}r-s${SEED}.log
	log "generating $DATA ($ROWS rows, seed $SEED)"
	rm -f "$DATA" "$DATA.meta.json"
	python3 "$GEN" --rows "$ROWS" --seed "$SEED" --jobs 2 --out "$DATA" >&2
	$LIB meta-ok "$DATA" "$ROWS" "$SEED" || die "generated $DATA does not match its meta.json"
else
	log "reusing $DATA"
fi
kv data "$DATA"
kv data_bytes "$(stat -c %s "$DATA")"
QNAMES=$($LIB queries "$QUERIES_MD" "$DATA.meta.json" "$WORK/q")
kv queries "$QNAMES"
for q in $QNAMES; do kv "${q}_title" "$(cat "$WORK/q/$q.title")"; done

# ---------- 1. parse only ----------
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
log "parse-only benchmark (1 core, best of 3)"
c0=$(cpu_now)
"$ROOT/src/vpcflow-parsebench" "$DATA" 3 | tee "$WORK/parsebench.out" >&2
c1=$(cpu_now)
cr=$(grep '^RESULT cpu ' "$WORK/parsebench.out")
# others' CPU while it ran: machine busy minus its own CPU time
kv parse_others "$(awk -v a="$c0" -v b="$c1" -v own="$(field cpu_s "$cr")" -v w="$(field wall_s "$cr")" \
	-v n="$(nproc)" -v hz="$(getconf CLK_TCK)" 'BEGIN { split(a, x, " "); split(b, y, " ");
	t = y[2] - x[2]; o = (y[1] - x[1]) / hz - own; if (o < 0) o = 0; printf "%.2f", (t > 0 ? o / (t / hz) * n : 0) }')"
pr=$(grep '^RESULT parse ' "$WORK/parsebench.out")
sr=$(grep '^RESULT split ' "$WORK/parsebench.out")
kv parse_lines_per_s "$(field lines_per_s "$pr")"
kv parse_records "$(field records "$pr")"
kv parse_checksum "$(field checksum "$pr")"
kv split_lines_per_s "$(field lines_per_s "$sr")"

# ---------- the cluster ----------
log "creating the cluster in $PGDATA (port $PORT)"
mkdir -p "$PGDATA"
chown -R postgres: "$BASE"
chmod 700 "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 \
	--locale=C.UTF-8 --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
SERVER_OPTS="-p $PORT -k $BASE -c listen_addresses='' ${SETTINGS[*]}"
kv server_opts "postgres $SERVER_OPTS (fsync, synchronous_commit, wal_level and the rest at their defaults)"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$BASE/server.log" -w -t 120 \
	-o "$SERVER_OPTS" start >/dev/null 9>&- || { cat "$BASE/server.log" >&2; die "the server did not start"; }
kv pg_version "$(sql postgres -c 'SELECT version()' | sed 's/ on .*//')"
sql postgres -c "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') || '  (' || source || ')'
	FROM pg_settings WHERE source NOT IN ('default', 'override') OR name IN
	('fsync', 'synchronous_commit', 'wal_level', 'full_page_writes', 'wal_compression', 'work_mem',
	 'maintenance_work_mem', 'effective_cache_size', 'jit', 'max_parallel_workers_per_gather',
	 'random_page_cost', 'checkpoint_completion_target', 'huge_pages', 'data_checksums')
	ORDER BY name" >"$WORK/settings.txt"
kv settings_file "$WORK/settings.txt"

# the server reads the data from its own directory
mkdir -p "$PGDATA/bench"
cp "$DATA" "$PGDATA/bench/flows_a.log"
cp "$DATA" "$PGDATA/bench/flows_b.log"
printf '\n' >>"$PGDATA/bench/flows_b.log"	# one blank line: same rows, another checksum
chown -R postgres: "$PGDATA/bench"
FILE_A=$PGDATA/bench/flows_a.log
FILE_B=$PGDATA/bench/flows_b.log

for db in vpc plain1 plain2 plain2l; do sql postgres -c "CREATE DATABASE $db"; done
sql vpc -c "CREATE EXTENSION vpcflow"

# day partitions of the data for the baseline
START=$($LIB meta-get "$DATA" start)
END=$($LIB meta-get "$DATA" end)
P2_INDEXES=$($LIB index-ddl "$ROOT/src/store.sql")
[ -n "$P2_INDEXES" ] || die "found no CREATE INDEX ... ON vpcflow.flows in src/store.sql"
kv p2_index_set "$(sed -e 's/CREATE INDEX ON flows //' -e 's/;$//' <<<"$P2_INDEXES" | paste -sd, - | sed 's/,/, /g')"
P1_INDEXES="CREATE INDEX ON flows USING brin (start_time);
CREATE INDEX ON flows (srcaddr);
CREATE INDEX ON flows USING gist (dstaddr inet_ops);"
plain_schema() {	# plain_schema DB INDEX_DDL
	sql "$1" <<-EOF
	CREATE TABLE staging (version text, account_id text, interface_id text, srcaddr text,
	    dstaddr text, srcport text, dstport text, protocol text, packets text, bytes text,
	    start text, "end" text, action text, log_status text);
	CREATE TABLE flows (version int, account_id text, interface_id text, srcaddr inet,
	    dstaddr inet, srcport int, dstport int, protocol smallint, packets bigint, bytes bigint,
	    start_time timestamptz, end_time timestamptz, action text, log_status text)
	    PARTITION BY RANGE (start_time);
	DO \$\$
	DECLARE d timestamptz := date_bin('1 day', to_timestamp($START), timestamptz '2000-01-01 00:00:00+00');
	BEGIN
	    WHILE d < to_timestamp($END) LOOP
	        EXECUTE format('CREATE TABLE %I PARTITION OF flows FOR VALUES FROM (%L) TO (%L)',
	                       'flows_p' || to_char(d AT TIME ZONE 'UTC', 'YYYYMMDD'), d, d + interval '1 day');
	        d := d + interval '1 day';
	    END LOOP;
	END
	\$\$;
	$2
	EOF
}
plain_schema plain1 "$P1_INDEXES"
plain_schema plain2 "$P2_INDEXES"
plain_schema plain2l ""

# ---------- 2. and 3. loads ----------
vpc_ingest() {	# vpc_ingest KEY FILE
	local key=$1 file=$2 t0 t1 c0 c1 p0 p1 out
	sql vpc -c CHECKPOINT
	log "vpcflow ingest_file, run ${key^^}"
	settle; c0=$(cpu_now); p0=$(cluster_cpu); t0=$(now)
	out=$(sql vpc -F ' ' <<-EOF
	SELECT 'sched', pg_read_file('/proc/self/schedstat');
	SELECT 'load', rows, status, seconds FROM vpcflow.ingest_file('$file');
	SELECT 'sched', pg_read_file('/proc/self/schedstat');
	EOF
	)
	t1=$(now); settle; c1=$(cpu_now); p1=$(cluster_cpu)
	sched_kv "vpc${key}" "$out"
	read -r _ n status fn_s < <(grep '^load ' <<<"$out")
	[ "$status" = loaded ] || die "ingest_file $file: status $status"
	kv "vpc${key}_rows" "$n"
	kv "vpc${key}_s" "$(elapsed "$t0" "$t1")"
	kv "vpc${key}_fn_s" "$fn_s"
	kv "vpc${key}_rows_per_s" "$(per_s "$n" "$(elapsed "$t0" "$t1")")"
	kv "vpc${key}_busy" "$(busy_cores "$c0" "$c1")"
	kv "vpc${key}_others" "$(others_cores "$c0" "$c1" "$p0" "$p1")"
	kv "vpc${key}_cluster_cpu_s" "$(awk -v a="$p0" -v b="$p1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	log "  $n rows in $(elapsed "$t0" "$t1") s"
}
plain_load() {	# plain_load KEY DB [INDEX_DDL run after the INSERT, in the same transaction]
	local key=$1 db=$2 late=${3:-} t0 t1 c0 c1 p0 p1 n n0
	n0=$(sql "$db" -c "SELECT count(*) FROM flows")
	sql "$db" -c CHECKPOINT
	log "plain PostgreSQL load, ${key^^}"
	settle; c0=$(cpu_now); p0=$(cluster_cpu); t0=$(now)
	"${PSQL[@]}" -d "$db" -At -F ' ' >"$WORK/$key.load.out" <<-EOF
	SELECT 'sched', pg_read_file('/proc/self/schedstat');
	\timing on
	BEGIN;
	COPY staging FROM PROGRAM 'tail -n +2 $FILE_A' WITH (FORMAT text, DELIMITER ' ', NULL '-');
	INSERT INTO flows SELECT version::int, account_id, interface_id, srcaddr::inet, dstaddr::inet,
	    srcport::int, dstport::int, protocol::smallint, packets::bigint, bytes::bigint,
	    to_timestamp(start::bigint), to_timestamp("end"::bigint), action, log_status
	FROM staging;
	${late:+SET LOCAL maintenance_work_mem = '256MB';}
	$late
	COMMIT;
	\timing off
	SELECT 'sched', pg_read_file('/proc/self/schedstat');
	EOF
	t1=$(now); settle; c1=$(cpu_now); p1=$(cluster_cpu)
	sched_kv "$key" "$(cat "$WORK/$key.load.out")"
	mapfile -t tm < <($LIB timings "$WORK/$key.load.out")
	[ "${#tm[@]}" -ge 4 ] || die "plain load $key: no timings"
	if [ -n "$late" ]; then
		kv "${key}_index_s" "$(printf '%s\n' "${tm[@]:3:${#tm[@]}-4}" | awk '{ s += $1 } END { printf "%.3f", s / 1000 }')"
	fi
	n=$(( $(sql "$db" -c "SELECT count(*) FROM flows") - n0 ))
	kv "${key}_rows" "$n"
	kv "${key}_s" "$(elapsed "$t0" "$t1")"
	kv "${key}_copy_s" "$(awk -v m="${tm[1]}" 'BEGIN { printf "%.3f", m / 1000 }')"
	kv "${key}_insert_s" "$(awk -v m="${tm[2]}" 'BEGIN { printf "%.3f", m / 1000 }')"
	kv "${key}_rows_per_s" "$(per_s "$n" "$(elapsed "$t0" "$t1")")"
	kv "${key}_busy" "$(busy_cores "$c0" "$c1")"
	kv "${key}_others" "$(others_cores "$c0" "$c1" "$p0" "$p1")"
	kv "${key}_cluster_cpu_s" "$(awk -v a="$p0" -v b="$p1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	sql "$db" -c "DROP TABLE staging"
	log "  $n rows in $(elapsed "$t0" "$t1") s"
}
sizes() {	# sizes KEY DB PARENT
	local key=$1 db=$2 parent=$3 out
	out=$(sql "$db" -F ' ' -c "
		SELECT (SELECT count(*) FROM $parent),
		       sum(pg_total_relation_size(i.inhrelid)), sum(pg_table_size(i.inhrelid)),
		       sum(pg_indexes_size(i.inhrelid)), count(*)
		FROM pg_inherits i WHERE i.inhparent = '$parent'::regclass")
	read -r n total table idx nparts <<<"$out"
	kv "${key}_nrows" "$n"
	kv "${key}_bytes_per_flow" "$(awk -v a="$total" -v n="$n" 'BEGIN { printf "%.2f", a / n }')"
	kv "${key}_table_per_flow" "$(awk -v a="$table" -v n="$n" 'BEGIN { printf "%.2f", a / n }')"
	kv "${key}_index_per_flow" "$(awk -v a="$idx" -v n="$n" 'BEGIN { printf "%.2f", a / n }')"
	kv "${key}_partitions" "$nparts"
	log "  $key: $n rows in $nparts partitions, $total bytes ($table table, $idx indexes)"
}

vpc_ingest a "$FILE_A"
plain_load p1 plain1
plain_load p2 plain2
plain_load p2l plain2l "$P2_INDEXES"

log "VACUUM ANALYZE"
for db in vpc plain1 plain2 plain2l; do sql "$db" -c "VACUUM ANALYZE"; done
sizes vpca vpc vpcflow.flows
sizes p1 plain1 flows
sizes p2 plain2 flows
sizes p2l plain2l flows
sql postgres -c "DROP DATABASE plain2l"
sql vpc -c "SELECT indexrelid::regclass || ': ' || pg_get_indexdef(indexrelid)
	FROM pg_index WHERE indrelid = 'vpcflow.flows'::regclass" >"$WORK/vpc_indexes.txt"
log "vpcflow index set: $(paste -sd';' "$WORK/vpc_indexes.txt")"

# ---------- 4. queries ----------
run_query() {	# run_query KEY DB Q
	local key=$1 db=$2 q=$3 pre="" f=$WORK/results/$1.$3
	[ "$key" = vpc ] && pre="SET search_path = vpcflow, public;"
	{
		echo "$pre"
		echo '\o /dev/null'
		echo '\timing on'
		for _ in $(seq 0 "$RUNS"); do cat "$WORK/q/$q.sql"; done
	} >"$f.time.sql"
	"${PSQL[@]}" -d "$db" -f "$f.time.sql" >"$f.time.out"
	read -r med mn mx < <($LIB timings "$f.time.out" | tail -n +2 | $LIB stats)
	kv "${key}_${q}_ms" "$med"
	kv "${key}_${q}_min" "$mn"
	kv "${key}_${q}_max" "$mx"
	{ echo "$pre"; cat "$WORK/q/$q.check.sql"; } >"$f.check.sql"
	"${PSQL[@]}" -d "$db" -At -F '|' -f "$f.check.sql" | LC_ALL=C sort >"$f.txt"
	kv "${key}_${q}_md5" "$(md5sum <"$f.txt" | cut -d' ' -f1)"
	kv "${key}_${q}_nrows" "$(wc -l <"$f.txt")"
	printf '%s=%s ' "$key" "$med" >&2
}
for q in $QNAMES; do
	printf '[%s] %s: ' "$(date +%H:%M:%S)" "$q" >&2
	run_query vpc vpc "$q"
	run_query p1 plain1 "$q"
	run_query p2 plain2 "$q"
	if cmp -s "$WORK/results/vpc.$q.txt" "$WORK/results/p1.$q.txt"; then echo "(same result)" >&2
	else echo "(RESULT MISMATCH vpcflow vs P1)" >&2; fi
done

# ---------- run B: into populated partitions ----------
vpc_ingest b "$FILE_B"
sql vpc -c "VACUUM ANALYZE"
sizes vpcb vpc vpcflow.flows
# its like-for-like: the same rows again into the populated, indexed P2 partition
sql plain2 -c "CREATE TABLE staging (version text, account_id text, interface_id text, srcaddr text,
	dstaddr text, srcport text, dstport text, protocol text, packets text, bytes text,
	start text, \"end\" text, action text, log_status text)"
plain_load p2b plain2
sql plain2 -c "VACUUM ANALYZE"
sizes p2b plain2 flows

# ---------- profile ----------
profile_ingest() {	# profile_ingest KEY DB FILE: perf record the backend of one ingest_file
	local key=$1 db=$2 file=$3 psql_pid bpid=""
	sql "$db" -c CHECKPOINT
	PGAPPNAME=vpcflow-prof "${PSQL[@]}" -d "$db" -At \
		-c "SELECT rows, seconds FROM vpcflow.ingest_file('$file')" >"$WORK/prof.$key.out" &
	psql_pid=$!
	for _ in $(seq 1 250); do
		bpid=$(sql postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'vpcflow-prof'
			AND query LIKE '%ingest_file%'" 2>/dev/null || true)
		[ -n "$bpid" ] && break
		sleep 0.02
	done
	if [ -z "$bpid" ]; then
		wait "$psql_pid"
		log "could not find the ingest backend to profile"
		return
	fi
	perf record -F 499 --call-graph dwarf,32768 -p "$bpid" -o "$WORK/perf.$key.data" \
		>"$WORK/perf.$key.record.log" 2>&1 &
	PERF_PID=$!
	wait "$psql_pid"
	# the backend exits when psql disconnects, and perf record with it
	for _ in $(seq 1 100); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
	kill -INT "$PERF_PID" 2>/dev/null || true
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=""
	log "  perf report ($key)"
	perf script -i "$WORK/perf.$key.data" --no-inline -F ip,sym,dso >"$WORK/perf.$key.script.txt" 2>/dev/null || true
	perf report -i "$WORK/perf.$key.data" --no-inline --no-children --stdio -g none --percent-limit 0.2 \
		--sort dso,symbol >"$WORK/perf.$key.self.txt" 2>/dev/null || true
	perf report -i "$WORK/perf.$key.data" --no-inline --children --stdio -g none --percent-limit 0.5 \
		--sort dso,symbol >"$WORK/perf.$key.children.txt" 2>/dev/null || true
	{
		echo "### ${4:-$key}"
		echo
		echo "\`ingest_file\` of $(cut -d'|' -f1 "$WORK/prof.$key.out") rows took $(cut -d'|' -f2 "$WORK/prof.$key.out") s under perf" \
			"($(grep -o '[0-9]* samples' "$WORK/perf.$key.record.log" | head -1) recorded)."
		echo
		PG_BINARY=$PGBIN/postgres $LIB perf-summary "$WORK/perf.$key.script.txt" "$WORK/perf.$key.self.txt"
		echo
	} >>"$WORK/perf.md"
	rm -f "$WORK/perf.$key.script.txt" "$WORK/perf.$key.data"
}
if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
	log "profiling ingest_file with perf (runs A and B again, in a scratch database)"
	: >"$WORK/perf.md"
	sql postgres -c "CREATE DATABASE vpcprof"
	sql vpcprof -c "CREATE EXTENSION vpcflow"
	profile_ingest a vpcprof "$FILE_A" "Run A: empty store (partition created, loaded, then attached)"
	profile_ingest b vpcprof "$FILE_B" "Run B: the same rows into the populated, indexed partition"
	kv perf_file "$WORK/perf.md"
	kv perf_note "perf record -F 499 --call-graph dwarf -p <backend> during \`ingest_file\`, repeated in a scratch database after the timed runs (perf slows it down). Percentages are of the backend's on-CPU samples (cpu-clock): time blocked on I/O or fsync is not sampled, nor the walwriter's and checkpointer's work."
	sql postgres -c "DROP DATABASE vpcprof"
fi

kv loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------- 5. report ----------
REPORT=$WORK/report.md
$LIB report "$KV" >"$REPORT"
if [ -z "$OUT" ]; then
	if [ "$ROWS" = 2000000 ] && [ "$SEED" = 1 ]; then
		OUT=$ROOT/bench/results/$(date -u +%Y-%m-%d)-core.md
	else
		OUT=$OUTDIR/$(date -u +%Y-%m-%d)-core-${ROWS}rows.md
	fi
fi
mkdir -p "$(dirname "$OUT")"
cp "$REPORT" "$OUT"
rm -rf "$LAST"
mkdir -p "$LAST"
cp -r "$WORK/results" "$WORK/q" "$KV" "$WORK"/*.txt "$WORK"/*.out "$LAST"/ 2>/dev/null || true
[ -f "$WORK/perf.md" ] && cp "$WORK/perf.md" "$LAST"/
echo
cat "$REPORT"
echo
log "report written to $OUT; raw outputs in $LAST"
exit 0
}
