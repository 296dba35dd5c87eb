#!/usr/bin/env bash
# bench/warm.sh: the warm tier against the hot store, in one run (docs/warm.md).
#
#   bench/warm.sh [--rows N] [--seed S] [--runs R] [--block-rows B] [--port P] [--out FILE]
#
# On one day of ../shared/bench/gen_flows.py data (default 10M rows, seed 1)
# in a throwaway cluster: the hot day's bytes/flow, then the eight queries of
# queries.md on it; vpcflow.compress_partition (rows/s); warm bytes/flow;
# full scans (rows/s) hot and warm; the eight queries again on the warm day,
# with their answers compared to the hot ones; the encoder alone on the
# day's blocks (WARM_BENCH_CODEC=other/warmcodec.c compares another);
# vpcflow.fold_partition of a whole day of late rows in a side table
# (rows/s); a markdown report.
# Needs root (it makes a cluster owned by postgres) and VPCFLOW_PGBIN or
# PG_CONFIG naming the PostgreSQL tree the extension is installed into.
set -euo pipefail
{

ROWS=10000000
SEED=1
RUNS=3
PORT=${WARM_BENCH_PORT:-56150}
OUT=""
BLOCK_ROWS=""
while [ $# -gt 0 ]; do
	case "$1" in
		--rows) ROWS=$2; shift 2 ;;
		--seed) SEED=$2; shift 2 ;;
		--runs) RUNS=$2; shift 2 ;;
		--port) PORT=$2; shift 2 ;;
		--block-rows) BLOCK_ROWS=$2; shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${VPCFLOW_BENCH_SHARED:-$(cd "$ROOT/.." && pwd)/shared/bench}
PGBIN=${VPCFLOW_PGBIN:-$(${PG_CONFIG:-pg_config} --bindir)}
export VPCFLOW_PGBIN=$PGBIN
CLUSTER=${WARM_BENCH_CLUSTER:-/tmp/vpcflow-warm-bench}
WORK=$CLUSTER-work
DATA=$ROOT/bench/out/warm-gen-$ROWS-$SEED.log
OUT=${OUT:-$ROOT/bench/results/$(date +%Y-%m-%d)-warm.md}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
	bash "$ROOT/tools/cluster.sh" destroy "$CLUSTER" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
mkdir -p "$WORK/q" "$(dirname "$DATA")" "$(dirname "$OUT")"

if [ ! -s "$DATA" ] || ! python3 "$HERE/benchlib.py" meta-ok "$DATA" "$ROWS" "$SEED"; then
	log "generating $ROWS rows (seed $SEED)"
	python3 "$SHARED/gen_flows.py" --rows "$ROWS" --seed "$SEED" --out "$DATA" --jobs 2 >/dev/null
fi
python3 "$HERE/benchlib.py" queries "$SHARED/queries.md" "$DATA.meta.json" "$WORK/q"

bash "$ROOT/tools/cluster.sh" start "$CLUSTER" "$PORT" >/dev/null
DATADIR=$(bash "$ROOT/tools/cluster.sh" datadir "$CLUSTER")
ln -f "$DATA" "$DATADIR/bench.log" 2>/dev/null || cp "$DATA" "$DATADIR/bench.log"
chown postgres "$DATADIR/bench.log"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At)
sql() { "${PSQL[@]}" -c "$1"; }
sql "ALTER SYSTEM SET shared_buffers = '1GB'" >/dev/null
sql "ALTER SYSTEM SET max_parallel_workers_per_gather = 2" >/dev/null
bash "$ROOT/tools/cluster.sh" stop "$CLUSTER" >/dev/null
bash "$ROOT/tools/cluster.sh" start "$CLUSTER" "$PORT" >/dev/null
sql "CREATE EXTENSION vpcflow"

log "ingesting"
sql "SELECT rows FROM vpcflow.ingest_file('bench.log')" >/dev/null
sql "VACUUM ANALYZE vpcflow.flows"
PART=$(sql "SELECT partition FROM vpcflow.partitions ORDER BY total_bytes DESC LIMIT 1")
NROWS=$(sql "SELECT count(*) FROM $PART")
OTHER=$(sql "SELECT count(*) FROM vpcflow.flows") # the generator may spill past midnight
HOT_TABLE=$(sql "SELECT pg_table_size('$PART')")
HOT_TOTAL=$(sql "SELECT pg_total_relation_size('$PART')")

# run_queries TAG: median of RUNS timings per query, and a digest of each answer
run_queries() {
	local tag=$1 q f
	for f in "$WORK"/q/Q?.sql; do
		q=$(basename "$f" .sql)
		PGOPTIONS='-c search_path=vpcflow,public' "${PSQL[@]}" -f "$f" | LC_ALL=C sort | md5sum | cut -c1-12 \
			>"$WORK/$tag.$q.digest"
		for _ in $(seq 1 "$RUNS"); do
			{ echo '\timing on'; cat "$f"; } | PGOPTIONS='-c search_path=vpcflow,public' \
				"$PGBIN/psql" -X -q -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
		done | python3 "$HERE/benchlib.py" stats | cut -d' ' -f1 >"$WORK/$tag.$q.ms"
	done
}
# scan_rate: rows/s of a full scan of the partition producing every column
scan_ms() {
	"${PSQL[@]}" -c "SET max_parallel_workers_per_gather = 0" \
		-c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT * FROM $PART" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
}

log "queries on the hot day ($NROWS rows in $PART)"
run_queries hot
HOT_SCAN=$(scan_ms)

[ -n "$BLOCK_ROWS" ] && sql "UPDATE vpcflow.settings SET warm_block_rows = $BLOCK_ROWS" >/dev/null
BLOCK_ROWS=$(sql "SELECT warm_block_rows FROM vpcflow.settings")
# A writer commits one row every 50 ms into the next day while the day is
# compressed; its statement latencies show how long ingest waits.
PART_OID=$(sql "SELECT '$PART'::regclass::oid")
sql "SELECT vpcflow.ensure_partitions(upper_bound, upper_bound + interval '1 day') FROM vpcflow.partitions WHERE partition = '$PART'::regclass" >/dev/null
sql "CREATE UNLOGGED TABLE public.writer_latency (ms float8)"
sql "CREATE PROCEDURE public.bench_writer(part oid) LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; day timestamptz; give_up timestamptz := clock_timestamp() + interval '20 minutes';
BEGIN
    SELECT upper_bound INTO day FROM vpcflow.partitions WHERE partition::oid = part;
    WHILE EXISTS (SELECT 1 FROM pg_class WHERE oid = part AND relkind = 'r') AND clock_timestamp() < give_up LOOP
        t0 := clock_timestamp();
        INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
                                   protocol, action, log_status, packets, bytes, start_time, end_time)
            VALUES (2, '123456789012', 'eni-0123456789abcdef0', '10.99.0.1', '10.99.0.2', 1, 2, 6,
                    'ACCEPT', 'OK', 1, 1, day + interval '1 hour', day + interval '1 hour');
        COMMIT;
        INSERT INTO public.writer_latency VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END \$\$"
"${PSQL[@]}" -c "CALL public.bench_writer($PART_OID)" &
WRITER_PID=$!
sleep 1

log "compressing"
T0=$(date +%s.%N)
read -r SWAP_MS WAITED_MS CAUGHT_UP < <("${PSQL[@]}" -F' ' -c "SELECT vpcflow.compress_partition('$PART')" \
	-c "SELECT current_setting('vpcflow_warm.swap_ms'), current_setting('vpcflow_warm.writers_waited_ms'),
	           current_setting('vpcflow_warm.caught_up')" | tail -1)
T1=$(date +%s.%N)
wait "$WRITER_PID"
read -r W_N W_MED W_MAX < <(sql "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
	round(max(ms)::numeric, 1) FROM public.writer_latency" | tr '|' ' ')
COMP_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
WARM_DATA=$(sql "SELECT sum(length(data)) FROM vpcflow.warm_blocks")
WARM_TOTAL=$(sql "SELECT pg_total_relation_size('vpcflow.warm_blocks') + pg_total_relation_size(side_table) FROM vpcflow.warm_partitions")
NBLOCKS=$(sql "SELECT count(*) FROM vpcflow.warm_blocks")
sql "VACUUM ANALYZE vpcflow.warm_blocks"

log "queries on the warm day"
run_queries warm
WARM_SCAN=$(scan_ms)

# The encoder alone, one core, on this day's blocks (bench/warmcodec_bench.c):
# every block decoded, then re-encoded (best of 3); WARM_BENCH_CODEC names
# another warmcodec.c to compare on the same blocks.
log "re-encoding the blocks (encoder alone)"
"${PSQL[@]}" -c "\\copy (SELECT encode(data, 'hex') FROM vpcflow.warm_blocks WHERE partition = '$PART'::regclass::oid ORDER BY block_id) TO '$WORK/blocks.hex'"
cc -O2 -I"$ROOT/src" -o "$WORK/warmcodec_bench" "$ROOT/bench/warmcodec_bench.c" "$ROOT/src/warmcodec.c" -lzstd
CODEC=$("$WORK/warmcodec_bench" "$WORK/blocks.hex" 3 | sed -n 's/^RESULT .*bytes_per_row=\([0-9.]*\).*us_per_row=\([0-9.]*\).*/\1 \2/p')
CODEC_BASE=""
if [ -n "${WARM_BENCH_CODEC:-}" ]; then
	cc -O2 -I"$ROOT/src" -o "$WORK/warmcodec_base" "$ROOT/bench/warmcodec_bench.c" "$WARM_BENCH_CODEC" -lzstd
	CODEC_BASE=$("$WORK/warmcodec_base" "$WORK/blocks.hex" 3 | sed -n 's/^RESULT .*bytes_per_row=\([0-9.]*\).*us_per_row=\([0-9.]*\).*/\1 \2/p')
fi

# Folding a whole day of late rows: the day two days on is made warm while
# empty, its side table (no index) gets every row of the compressed day,
# moved by two days, and vpcflow.fold_partition turns them into blocks.
log "folding a day of late rows"
FOLD_LO=$(sql "SELECT lower_bound + interval '2 days' FROM vpcflow.partitions WHERE partition = '$PART'::regclass")
sql "SELECT vpcflow.ensure_partitions('$FOLD_LO'::timestamptz, '$FOLD_LO'::timestamptz + interval '1 day')" >/dev/null
FOLD_PART=$(sql "SELECT partition FROM vpcflow.partitions WHERE lower_bound = '$FOLD_LO'::timestamptz")
sql "SELECT vpcflow.compress_partition('$FOLD_PART')" >/dev/null
FOLD_SIDE=$(sql "SELECT side_table FROM vpcflow.warm_partitions WHERE partition = '$FOLD_PART'::regclass")
COLS=$(sql "SELECT string_agg(format('%I', attname), ', ' ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = '$FOLD_SIDE'::regclass AND attnum > 0 AND NOT attisdropped")
SHIFTED=$(sql "SELECT string_agg(CASE WHEN attname IN ('start_time', 'end_time')
	THEN format('%I + interval ''2 days''', attname) ELSE format('%I', attname) END, ', ' ORDER BY attnum)
	FROM pg_attribute WHERE attrelid = '$FOLD_SIDE'::regclass AND attnum > 0 AND NOT attisdropped")
sql "INSERT INTO $FOLD_SIDE ($COLS) SELECT $SHIFTED FROM $PART"
sql "VACUUM $FOLD_SIDE"
FOLD_ROWS=$(sql "SELECT count(*) FROM $FOLD_SIDE")
T0=$(date +%s.%N)
sql "SELECT vpcflow.fold_partition('$FOLD_PART')" >/dev/null
T1=$(date +%s.%N)
FOLD_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
FOLD_DATA=$(sql "SELECT sum(length(data)) FROM vpcflow.warm_blocks WHERE partition = '$FOLD_PART'::regclass::oid")
FOLD_SAME=$(sql "SELECT (SELECT count(*) FROM $FOLD_PART) = $FOLD_ROWS AND
	(SELECT sum(bytes) FROM $FOLD_PART) = (SELECT sum(bytes) FROM $PART)")


{
	echo "# Warm tier benchmark ($(date -u +%Y-%m-%d), bench/warm.sh)"
	echo
	echo "gen_flows.py --rows $ROWS --seed $SEED (v2 format, one day): $NROWS rows in $PART"
	echo "($OTHER in the store), $NBLOCKS blocks of up to $BLOCK_ROWS rows; $(nproc) cores shared with other jobs; medians of $RUNS runs."
	echo
	echo "| measure | hot | warm | ratio warm/hot |"
	echo "|---|---|---|---|"
	awk -v n="$NROWS" -v ht="$HOT_TABLE" -v hx="$HOT_TOTAL" -v wd="$WARM_DATA" -v wt="$WARM_TOTAL" 'BEGIN {
		printf "| bytes/flow, table | %.1f | %.2f (block data) | %.3f |\n", ht / n, wd / n, wd / ht
		printf "| bytes/flow, all (indexes, TOAST, side table) | %.1f | %.2f | %.3f |\n", hx / n, wt / n, wt / hx }'
	awk -v n="$NROWS" -v s="$COMP_S" -v w="$SWAP_MS" 'BEGIN { printf "| compression | | %.0f rows/s (%.1f s; the parent is held ACCESS EXCLUSIVE for the swap only: %s ms before commit) | |\n", n / s, s, w }'
	awk -v n="$FOLD_ROWS" -v s="$FOLD_S" -v d="$FOLD_DATA" -v same="$FOLD_SAME" 'BEGIN { printf "| fold of a whole day of late rows (side table, no index) | | %.0f rows/s (%d rows, %.1f s), %.2f bytes/flow of block data; rows and sum(bytes) as the source day: %s | |\n", n / s, n, s, d / n, same }'
	read -r cb cu <<<"$CODEC"
	echo "| encoder alone (wc_encode_block over this day's blocks, 1 core) | | $cu us/row, $cb bytes/row | |"
	if [ -n "$CODEC_BASE" ]; then
		read -r bb bu <<<"$CODEC_BASE"
		awk -v f="$WARM_BENCH_CODEC" -v bb="$bb" -v bu="$bu" -v cb="$cb" -v cu="$cu" 'BEGIN {
			printf "| encoder of %s on the same blocks | | %s us/row, %s bytes/row (this one: %.2fx the time, %.4f the bytes) | |\n", f, bu, bb, cu / bu, cb / bb }'
	fi
	echo "| writers during compression | | waited $WAITED_MS ms (catch-up scan; $CAUGHT_UP rows written to the day during the build moved to its side table); a writer committing a row every 50 ms into the next day: $W_N inserts, median $W_MED ms, max $W_MAX ms | |"
	awk -v n="$NROWS" -v h="$HOT_SCAN" -v w="$WARM_SCAN" 'BEGIN {
		printf "| full scan, all columns, 1 process | %.0f rows/s | %.0f rows/s | %.2f (time) |\n", n / (h / 1000), n / (w / 1000), w / h }'
	for f in "$WORK"/q/Q?.sql; do
		q=$(basename "$f" .sql)
		h=$(cat "$WORK/hot.$q.ms"); w=$(cat "$WORK/warm.$q.ms")
		same=$([ "$(cat "$WORK/hot.$q.digest")" = "$(cat "$WORK/warm.$q.digest")" ] && echo "same answer" || echo "DIFFERENT ANSWER")
		awk -v q="$q" -v h="$h" -v w="$w" -v s="$same" 'BEGIN {
			printf "| %s ms (%s) | %.1f | %.1f | %.2f |\n", q, s, h, w, w / h }'
	done
	echo
	echo "Baselines from the issue: ClickHouse 22.8 and DuckDB 30.5 bytes/flow, a plain heap 150."
} | tee "$OUT"
log "report: $OUT"
}
