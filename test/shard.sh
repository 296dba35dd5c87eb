#!/usr/bin/env bash
# Scale-out test (docs/scaleout.md): a coordinator and two shard clusters on
# loopback, plus a single server as the reference, all throwaway (initdb in
# a temporary directory, run as OS user postgres, like tools/cluster.sh).
# Generated flows (split one account per file, as AWS delivers them) and the
# bundled sample go through vpcflow-load --shards to the shards and through
# plain vpcflow-load to the single server; then every dashboard view and
# function, Q1-Q8 (../shared/bench/queries.md) and the fan-out forms of Q1,
# Q3 and a top-k must give the same answers on the coordinator as on the
# single server; EXPLAIN must show the aggregation on the shards; a shard
# that is down must make queries fail with an error naming it; a third
# shard is added and an account moved to it; maintenance runs under pg_cron
# on every shard.
#
# Prints PASS / FAIL lines (counted by tools/test.sh).  Run as root.
#   SHARD_ROWS (default 30000) rows generated; VPCFLOW_SHARD_PORT first port
#   tried (default 56150); SHARD_KEEP=1 leaves the clusters running.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VPCFLOW_PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
PGBIN=$VPCFLOW_PGBIN
# shellcheck source=../tools/cluster.sh
source "$REPO/tools/cluster.sh"
GEN="$REPO/../shared/bench/gen_flows.py"
[[ -f "$GEN" ]] || GEN=/work/shared/bench/gen_flows.py
LOADER="$REPO/vpcflow-load"
ROWS=${SHARD_ROWS:-30000}
export PGOPTIONS="-c client_min_messages=warning"

WORK=$(mktemp -d /tmp/vpcflow-shard.XXXXXX)
chmod 755 "$WORK"
NAMES=(coord s1 s2 s3 single)
declare -A PORT
npass=0 nfail=0

cleanup() {
    local n
    if [[ "${SHARD_KEEP:-0}" != 1 ]]; then
        for n in "${NAMES[@]}"; do cluster_destroy "$WORK/$n" >/dev/null 2>&1 || true; done
        rm -rf -- "$WORK"
    else
        echo "clusters kept in $WORK: ${NAMES[*]} on ports ${PORT[*]}"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
# qdb NODE DB SQL...: psql on a node's database DB, unaligned, stop on error;
# q NODE SQL...: the same on database vpcflow
qdb() {
    local n=$1 db=$2; shift 2
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$n]}" -U postgres -d "$db" "$@"
}
q() { qdb "$1" vpcflow "${@:2}"; }
# refused DESC WANT CMD...: CMD must fail, with WANT in its output
refused() {
    local desc=$1 want=$2 out; shift 2
    if out=$("$@" 2>&1); then
        fail "$desc: it succeeded: $out"
    elif [[ "$out" == *"$want"* ]]; then
        pass "$desc"
    else
        fail "$desc: $out"
    fi
}
# load_routed SOURCE...: vpcflow-load --shards through the coordinator
load_routed() {
    "$LOADER" --shards -d "host=127.0.0.1 port=${PORT[coord]} dbname=vpcflow user=postgres" "$@"
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- clusters
port=${VPCFLOW_SHARD_PORT:-56150}
for n in "${NAMES[@]}"; do
    started=0
    for ((tries = 0; tries < 20; port++)); do
        port_in_use "$port" && continue
        tries=$((tries + 1))
        if cluster_start "$WORK/$n" "$port" >/dev/null 2>&1; then started=1; break; fi
    done
    ((started)) || { fail "could not start cluster $n"; exit 1; }
    PORT[$n]=$port
    port=$((port + 1))
    "$PGBIN/psql" -X -q -h 127.0.0.1 -p "${PORT[$n]}" -U postgres -d postgres -c 'CREATE DATABASE vpcflow'
done
for n in s1 s2 s3 single; do q "$n" -c 'CREATE EXTENSION vpcflow'; done
q coord -c 'CREATE EXTENSION postgres_fdw' -c 'CREATE EXTENSION vpcflow' -c 'CREATE EXTENSION dblink'
# moves need two-phase commit on the shards (s3 gets it later, in the move test)
enable_2pc() {
    q "$1" -c 'ALTER SYSTEM SET max_prepared_transactions = 10' &&
        cluster_stop "$WORK/$1" >/dev/null && cluster_start "$WORK/$1" "${PORT[$1]}" >/dev/null
}
for n in s1 s2; do enable_2pc "$n"; done
echo "# coordinator ${PORT[coord]}, shards ${PORT[s1]} ${PORT[s2]} (${PORT[s3]} added later), single ${PORT[single]}"

# ---------------------------------------------------------------- data
# the day before the sample's (2025-03-04): maintenance's detections then
# scan two days, not the months between the generator's default and it
python3 "$GEN" --rows "$ROWS" --seed 7 --start 2025-03-03T00:00:00Z --out "$WORK/gen.log" >/dev/null
python3 "$REPO/test/shard_split.py" "$WORK/gen.log" "$WORK/tree" >/dev/null
cp -R "$REPO/data/sample/AWSLogs/." "$WORK/tree/AWSLogs/"
read -r DAY_START DAY_END HOUR_START HOUR_END POINT_IP PREFIX < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["params"]
print(p["DAY_START"].replace(" ", "T"), p["DAY_END"].replace(" ", "T"), p["HOUR_START"].replace(" ", "T"),
      p["HOUR_END"].replace(" ", "T"), p["POINT_IP"], p["PREFIX"])' "$WORK/gen.log.meta.json")
ACCOUNTS=$(ls "$WORK/tree/AWSLogs")
nfiles=$(find "$WORK/tree" -type f | wc -l)

# ---------------------------------------------------------------- layout
if q coord -c "SELECT vpcflow.add_shard('s1', '127.0.0.1', ${PORT[s1]}, 'vpcflow', 'postgres')" \
           -c "SELECT vpcflow.add_shard('s2', '127.0.0.1', ${PORT[s2]}, 'vpcflow', 'postgres')" >/dev/null; then
    pass "add_shard declares two shards"
else
    fail "add_shard"
fi
for a in $ACCOUNTS; do q coord -c "SELECT vpcflow.place_account('$a')" >/dev/null; done
placed=$(q coord -c "SELECT string_agg(shard_name || ':' || accounts, ' ' ORDER BY shard_name) FROM vpcflow.shard_list")
[[ "$placed" == "s1:3 s2:2" ]] && pass "place_account spreads 5 accounts over the shards ($placed)" ||
    fail "place_account: $placed"
srvopt=$(q coord -c "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'vpcflow_shard_s1'")
[[ "$srvopt" == *"extensions=vpcflow"* ]] && pass "shard servers are declared with extensions 'vpcflow'" ||
    fail "server options: $srvopt"

# ---------------------------------------------------------------- loads
if out=$(load_routed -q -j 2 "$WORK/tree" 2>&1); then
    pass "vpcflow-load --shards loads $nfiles files through the shard map"
else
    fail "vpcflow-load --shards: $out"
fi
"$LOADER" -q -j 2 -d "host=127.0.0.1 port=${PORT[single]} dbname=vpcflow user=postgres" "$WORK/tree" >/dev/null 2>&1 ||
    fail "plain vpcflow-load into the single server"
per_shard=$(for n in s1 s2; do q "$n" -c 'SELECT count(*) FROM vpcflow.ingest_log'; done | paste -sd+ | bc)
[[ "$per_shard" == "$nfiles" ]] && pass "every file loaded on exactly one shard ($per_shard files)" ||
    fail "files on the shards: $per_shard of $nfiles"
misplaced=$(for n in s1 s2; do
    q "$n" -c "SELECT count(*) FROM vpcflow.flows f WHERE f.account_id::text <> ALL (ARRAY[$(
        q coord -c "SELECT string_agg(quote_literal(account_id::text), ',') FROM vpcflow.shard_accounts WHERE shard_name = '$n'")])"
done | paste -sd+ | bc)
[[ "$misplaced" == 0 ]] && pass "each shard holds only the flows of its own accounts" ||
    fail "$misplaced flows on a shard that does not own their account"
if out=$(load_routed "$WORK/tree" 2>&1) &&
   [[ "$out" == *"0 loaded, $nfiles already loaded"* ]]; then
    pass "a second routed load is a no-op: exactly once per shard"
else
    fail "second routed load: $out"
fi
mkdir -p "$WORK/unplaced"
head -n 20 "$WORK/gen.log" | sed 's/^\(2 \)[0-9]\{12\}/\1999999999999/' >"$WORK/unplaced/x.log"
refused "a file of an unplaced account is refused, naming the account" \
    "account 999999999999 is not placed on any shard" load_routed "$WORK/unplaced"

for n in s1 s2 single; do q "$n" -c 'SELECT vpcflow.refresh_rollups()' >/dev/null; done
# the shards' statistics (autovacuum's job on a live shard, done here at
# once): the coordinator's estimates for the flows partitions come from the
# shards (use_remote_estimate), and the partial-aggregate pushdown is chosen
# on them
for n in s1 s2; do q "$n" -c 'ANALYZE' >/dev/null; done
if [[ "${SHARD_STOP_AFTER_LOAD:-0}" == 1 ]]; then SHARD_KEEP=1; exit 0; fi
refused "the coordinator refuses refresh_rollups (it runs on the shards)" \
    "runs on the shards" q coord -c 'SELECT vpcflow.refresh_rollups()'

# ---------------------------------------------------------------- same answers
# compare NAME SQL: the rows (sorted) on the coordinator equal the single server's
compare() {
    local name=$1 sql=$2 a b
    a=$(q coord -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "$sql" 2>&1 | sort) || true
    b=$(q single -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "$sql" 2>&1 | sort) || true
    if [[ -z "$b" && "$name" != *"(may be empty)"* ]]; then
        fail "$name: no rows on the single server (the comparison would prove nothing)"
    elif [[ "$a" == "$b" ]]; then
        pass "$name: same $(grep -c . <<<"$b") rows sharded and single"
    else
        fail "$name differs"
        diff <(echo "$b") <(echo "$a") | head -n 10 | sed 's/^/#   /'
    fi
}

# Q1-Q8 as queries.md has them, with the generator's parameters.  Q5 and Q8
# return whole rows: ingest_id numbers each server's own log, so it is left out.
Q1="SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST LIMIT 10"
Q2="SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.flows WHERE start_time >= '$HOUR_START' AND start_time < '$HOUR_END' GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST LIMIT 10"
Q3="SELECT interface_id, count(*) AS flows, count(*) FILTER (WHERE action = 'REJECT') AS rejects, round(count(*) FILTER (WHERE action = 'REJECT')::numeric / count(*), 4) AS reject_rate FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY interface_id HAVING count(*) >= 100 ORDER BY rejects DESC, interface_id LIMIT 20"
Q4="SELECT account_id, date_trunc('hour', start_time) AS hour, sum(bytes) AS egress_bytes FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' AND NOT (dstaddr << inet '10.0.0.0/8' OR dstaddr << inet '172.16.0.0/12' OR dstaddr << inet '192.168.0.0/16') GROUP BY 1, 2 ORDER BY 1, 2"
Q5="SELECT to_jsonb(f) - 'ingest_id' FROM (SELECT * FROM vpcflow.flows WHERE dstaddr << inet '$PREFIX' AND start_time >= '$HOUR_START' AND start_time < '$HOUR_END') f"
Q6="SELECT srcaddr, date_bin('5 minutes', start_time, timestamptz '2000-01-01 00:00:00+00') AS bucket, count(DISTINCT dstport) AS ports FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' AND srcaddr IS NOT NULL GROUP BY 1, 2 HAVING count(DISTINCT dstport) > 100 ORDER BY ports DESC, 1, 2"
Q7="SELECT date_bin('5 minutes', start_time, timestamptz '2000-01-01 00:00:00+00') AS bucket, count(*) AS flows, sum(bytes) AS bytes FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY 1 ORDER BY 1"
Q8="SELECT to_jsonb(f) - 'ingest_id' FROM (SELECT * FROM vpcflow.flows WHERE srcaddr = inet '$POINT_IP' AND start_time >= '$DAY_START' AND start_time < '$DAY_END') f"
compare Q1 "$Q1"; compare Q2 "$Q2"; compare Q3 "$Q3"; compare Q4 "$Q4"
compare Q5 "$Q5"; compare "Q6 (may be empty)" "$Q6"; compare Q7 "$Q7"; compare Q8 "$Q8"
compare "whole store (count, bytes, packets, accounts)" \
    "SELECT count(*), sum(bytes), sum(packets), count(DISTINCT account_id) FROM vpcflow.flows"

# Every dashboard view (the sizes of exec_ingest_trend are per server and
# left out; delivery latency is summed over its 5-minute ingest buckets,
# which the two loads may straddle).
for v in exec_egress_cost_30d exec_logging_coverage oncall_ingest_health oncall_silent_interfaces \
         oncall_log_gaps oncall_top_rejects oncall_volume_spikes debug_unattributed_24h slis; do
    compare "view $v" "SELECT * FROM vpcflow.$v"
done
compare "view exec_anomalies_week (may be empty)" "SELECT * FROM vpcflow.exec_anomalies_week"
compare "view exec_ingest_trend" "SELECT day, files, records, bytes_read, errors FROM vpcflow.exec_ingest_trend"
compare "view oncall_delivery_latency" "SELECT sum(files), sum(flows) FROM vpcflow.oncall_delivery_latency"
compare "view unattributed" "SELECT count(*), sum(bytes) FROM vpcflow.unattributed"
compare "view flows_enriched" "SELECT count(*), sum(bytes), count(DISTINCT src_owner) FROM vpcflow.flows_enriched"
compare "view flows_dedup" "SELECT count(*), sum(bytes) FROM vpcflow.flows_dedup"
compare "view rollup_backlog" "SELECT files, rows FROM vpcflow.rollup_backlog"
# top_talkers' remote side merges top-k sketches, whose result depends on the
# order the states are merged in (space-saving is approximate): the local
# interfaces must be equal; each remote talker's interval [bytes - error,
# bytes] must overlap the single server's, exact counts (error 0 on both)
# must be equal, and at least 8 of the 10 talkers must be the same.
compare_topk() {
    local name=$1 sql=$2 a b verdict
    a=$(q coord -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "$sql" 2>&1) || true
    b=$(q single -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "$sql" 2>&1) || true
    verdict=$(python3 - "$a" "$b" <<'PY'
import sys
def parse(t):
    rows = [l.split('|') for l in t.splitlines() if l]
    return ({r[1]: (int(r[2]), int(r[3])) for r in rows if r[0] == 'remote'},
            sorted(l for l in t.splitlines() if l.startswith('interface|')))
(ra, ia), (rb, ib) = parse(sys.argv[1]), parse(sys.argv[2])
bad = []
if ia != ib or not ib: bad.append('interface rows differ or are missing')
shared = set(ra) & set(rb)
if len(rb) < 3 or len(shared) < len(rb) - 2: bad.append(f'only {len(shared)} of {len(rb)} remote talkers shared')
for k in shared:
    (wa, ea), (wb, eb) = ra[k], rb[k]
    if wa - ea > wb or wb - eb > wa: bad.append(f'{k}: [{wa-ea},{wa}] and [{wb-eb},{wb}] do not overlap')
    if ea == 0 and eb == 0 and wa != wb: bad.append(f'{k}: exact {wa} <> {wb}')
print('ok %d shared remote talkers, %d interfaces' % (len(shared), len(ib)) if not bad else '; '.join(bad))
PY
)
    if [[ "$verdict" == ok* ]]; then pass "$name: $verdict, intervals consistent with the single server"
    else fail "$name: $verdict"; fi
}
compare_topk "top_talkers" "SELECT * FROM vpcflow.top_talkers(NULL, '$DAY_START', '$DAY_END', 10)"
compare "top_ports" "SELECT * FROM vpcflow.top_ports(NULL, '$DAY_START', '$DAY_END', 10)"
compare_topk "top_talkers (hours)" "SELECT * FROM vpcflow.top_talkers(NULL, '$HOUR_START', '$DAY_END', 10)"
compare "flow_durations" "SELECT * FROM vpcflow.flow_durations(NULL, '$DAY_START', '$DAY_END')"
compare "unattributed_flows" "SELECT * FROM vpcflow.unattributed_flows('$DAY_START', '$DAY_END', 20)"
compare "address_timeline" "SELECT * FROM vpcflow.address_timeline('$POINT_IP', '$DAY_START', '$DAY_END')"
compare "egress_cost (30 days)" "SELECT * FROM vpcflow.egress_cost('$DAY_START'::timestamptz - interval '29 days', '$DAY_END')"

# Explicit fan-out: Q1 and Q3 computed on the shards and merged here.
F1="SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.shard_fanout(\$q\$SELECT srcaddr, sum(bytes) FROM {flows} WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY srcaddr\$q\$) AS t(srcaddr inet, bytes numeric) GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST LIMIT 10"
# (vpcflow's own operators, not casts to text: postgres_fdw ships operators
# and functions of the extension, not I/O casts)
F3_INNER="SELECT interface_id, count(*), count(*) FILTER (WHERE action OPERATOR(vpcflow.=) 'REJECT'::vpcflow.flow_action) FROM {flows} WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY interface_id"
F3="SELECT interface_id, sum(flows) AS flows, sum(rejects) AS rejects, round(sum(rejects)::numeric / sum(flows), 4) AS reject_rate FROM vpcflow.shard_fanout(\$q\$$F3_INNER\$q\$) AS t(interface_id vpcflow.awsid, flows bigint, rejects bigint) GROUP BY interface_id HAVING sum(flows) >= 100 ORDER BY rejects DESC, interface_id::text LIMIT 20"
same_as() {   # NAME SQL_COORD SQL_SINGLE
    local a b
    a=$(q coord -c "$2" 2>&1 | sort) || true
    b=$(q single -c "$3" 2>&1 | sort) || true
    if [[ -n "$b" && "$a" == "$b" ]]; then pass "$1: same answer as the single server"
    else fail "$1 differs"; diff <(echo "$b") <(echo "$a") | head -n 6 | sed 's/^/#   /'; fi
}
same_as "Q1 by fan-out" "$F1" "$Q1"
same_as "Q3 by fan-out" "$F3" "$Q3"
same_as "distinct destinations by fan-out of hll states" \
    "SELECT vpcflow.hll_cardinality(vpcflow.hll_merge(h)) FROM vpcflow.shard_fanout(\$q\$SELECT vpcflow.hll(dstaddr, 12) FROM {flows}\$q\$) AS t(h vpcflow.hll)" \
    "SELECT vpcflow.hll_cardinality(vpcflow.hll(dstaddr, 12)) FROM vpcflow.flows"

# EXPLAIN: the fan-out ships aggregates, never flow rows.
explain_remote() {   # NAME INNER_QUERY PATTERN
    local sql plan
    sql=$(q coord -c "SELECT vpcflow.shard_fanout_sql(\$q\$$2\$q\$)")
    plan=$(q coord -c "EXPLAIN (VERBOSE, COSTS OFF) $sql")
    local remote aggs
    remote=$(grep -c 'Remote SQL:' <<<"$plan" || true)
    aggs=$(grep -E 'Remote SQL:' <<<"$plan" | grep -cE "$3" || true)
    if [[ "$remote" == 2 && "$aggs" == 2 ]] && grep -q 'Relations: Aggregate on (vpcflow.shard_s1_flows)' <<<"$plan"; then
        pass "EXPLAIN $1: each shard runs the aggregate (Remote SQL: $(grep -m1 'Remote SQL:' <<<"$plan" | sed 's/.*Remote SQL: //' | cut -c1-90)...)"
    else
        fail "EXPLAIN $1: aggregation not pushed to both shards"; sed 's/^/#   /' <<<"$plan" | head -n 20
    fi
}
explain_remote "Q1 fan-out" "SELECT srcaddr, sum(bytes) FROM {flows} WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY srcaddr" 'SELECT srcaddr, sum\(bytes\) .* GROUP BY 1'
explain_remote "Q3 fan-out" "$F3_INNER" 'count\(\*\) FILTER .* GROUP BY 1'
explain_remote "top-k fan-out" "SELECT vpcflow.topk(srcaddr, bytes, 10, 100) FROM {flows} WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END'" 'SELECT vpcflow\.topk\(srcaddr, bytes, 10, 100\) FROM vpcflow\.flows'
plan=$(q coord -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM vpcflow.rollup_range(NULL, '$DAY_START', '$DAY_END')" \
       -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT vpcflow.topk_merge(top_remotes) FROM vpcflow.rollup_1h WHERE bucket >= '$DAY_START' AND bucket < '$DAY_END'")
if grep -q 'Remote SQL: SELECT top_remotes FROM vpcflow.rollup_1h' <<<"$plan" && ! grep -q 'vpcflow.flows' <<<"$plan"; then
    pass "EXPLAIN top-k dashboard: the shards' rollup states are read, no flow rows"
else
    fail "EXPLAIN top-k dashboard"; sed 's/^/#   /' <<<"$plan" | head -n 20
fi

# EXPLAIN of plain Q1 and Q3 as queries.md writes them: the partial
# aggregate runs on each shard (src/shard_pushdown.c), which returns one row
# per group, not flow rows.  With the pushdown off the same query ships the
# rows (Foreign Scan), so the check can fail.
explain_pushdown() {   # NAME SQL [REMOTE_PATTERN (default: a GROUP BY)]
    local plan off
    plan=$(q coord -c "EXPLAIN (VERBOSE, COSTS OFF) $2")
    off=$(q coord -c "SET vpcflow.partial_agg_pushdown = off" -c "EXPLAIN (VERBOSE, COSTS OFF) $2")
    if [[ $(grep -c 'Custom Scan (ShardPartialAgg)' <<<"$plan") == 2 &&
          $(grep 'Remote SQL:' <<<"$plan" | grep -cE "${3:-GROUP BY 1\$}") == 2 ]] &&
       grep -q 'Server: vpcflow_shard_s1' <<<"$plan" && grep -q 'Server: vpcflow_shard_s2' <<<"$plan" &&
       ! grep -q 'Foreign Scan' <<<"$plan" && grep -q 'Foreign Scan' <<<"$off"; then
        pass "EXPLAIN plain $1: partial aggregate on both shards, no flow rows shipped (Remote SQL: $(grep -m1 'Remote SQL:' <<<"$plan" | sed 's/.*Remote SQL: //' | cut -c1-100)...)"
    else
        fail "EXPLAIN plain $1: partial aggregation not pushed to both shards"; sed 's/^/#   /' <<<"$plan" | head -n 30
    fi
}
explain_pushdown Q1 "$Q1"
explain_pushdown Q3 "$Q3"
explain_pushdown Q7 "$Q7"
explain_pushdown "top-k (plain vpcflow.topk over flows)" \
    "SELECT vpcflow.topk(srcaddr, bytes, 10, 100) FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END'" \
    'SELECT vpcflow\.partial_topk\(srcaddr, bytes, .*\) FROM vpcflow\.flows_p'
same_as "distinct destinations, plain hll over flows (partial hll states from the shards)" \
    "SELECT vpcflow.hll_cardinality(vpcflow.hll(dstaddr, 12)) FROM vpcflow.flows" \
    "SELECT vpcflow.hll_cardinality(vpcflow.hll(dstaddr, 12)) FROM vpcflow.flows"
# the answers through the pushdown equal the plain plan's on the coordinator
# (and the single server's, compared above through the same plan)
for qq in "$Q1" "$Q3" "$Q7" "SELECT count(*), sum(bytes), sum(packets), min(bytes), max(srcport), avg(bytes), avg(dstport) FROM vpcflow.flows"; do
    a=$(q coord -c "$qq" | sort); b=$(q coord -c "SET vpcflow.partial_agg_pushdown = off" -c "$qq" | sort)
    [[ -n "$a" && "$a" == "$b" ]] && pass "pushdown on and off give the same $(grep -c . <<<"$a") rows (${qq:0:60}...)" ||
        fail "pushdown on/off differ for ${qq:0:60}"
done

# ---------------------------------------------------------------- tenants on the coordinator
tenant_acct=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's2'")
q coord -c "CREATE ROLE shard_tenant LOGIN IN ROLE vpcflow_reader" \
        -c "INSERT INTO vpcflow.tenant_accounts (role_id, account_id) VALUES ('shard_tenant', '$tenant_acct')" >/dev/null
tq() { "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "${PORT[coord]}" -U shard_tenant -d vpcflow -c "$1" 2>&1 || true; }
seen=$(tq "SELECT string_agg(DISTINCT account_id::text, ',') FROM vpcflow.flows")
rseen=$(tq "SELECT string_agg(DISTINCT account_id::text, ',') FROM vpcflow.rollup_1h")
[[ "$seen" == "$tenant_acct" && "$rseen" == "$tenant_acct" ]] &&
    pass "a tenant on the coordinator sees only its account's flows and rollups ($seen)" ||
    fail "tenant on the coordinator sees flows of '$seen', rollups of '$rseen'"
# a tenant's aggregates: the policy's condition is not sent with a partial
# aggregate (it is a query parameter), so they are computed here, over its rows only
tsum=$(tq "SELECT count(*) || ' ' || sum(bytes) FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END'")
asum=$(q coord -c "SELECT count(*) || ' ' || sum(bytes) FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' AND account_id OPERATOR(vpcflow.=) '$tenant_acct'::vpcflow.awsid")
tplan=$(tq "EXPLAIN (COSTS OFF) SELECT srcaddr, sum(bytes) FROM vpcflow.flows WHERE start_time >= '$DAY_START' AND start_time < '$DAY_END' GROUP BY srcaddr")
[[ -n "$asum" && "$tsum" == "$asum" && "$tplan" != *ShardPartialAgg* && "$tplan" == *"Foreign Scan"* ]] &&
    pass "a tenant's aggregates cover its account only ($tsum) and are not pushed past its policy" ||
    fail "tenant aggregates: tenant '$tsum', its account '$asum'; plan: $tplan"
direct=$(tq "SELECT count(*) FROM vpcflow.shard_s1_flows")
[[ "$direct" == *"permission denied"* ]] && pass "a tenant cannot read a shard's foreign tables directly" ||
    fail "tenant reading vpcflow.shard_s1_flows: $direct"
granted=$(q coord -c "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'vpcflow'::regnamespace AND c.relkind = 'f' AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)")
[[ "$granted" == 0 ]] && pass "no foreign table of the coordinator is granted to anyone but its owner" ||
    fail "$granted foreign tables granted to others"

# ---------------------------------------------------------------- shard down
cluster_stop "$WORK/s2" >/dev/null 2>&1
for what in "Q1:$Q1" "dashboard oncall_ingest_health:SELECT * FROM vpcflow.oncall_ingest_health" \
            "fan-out:SELECT * FROM vpcflow.shard_fanout('SELECT count(*) FROM {flows}') AS t(n bigint)"; do
    name=${what%%:*} sql=${what#*:}
    if out=$(q coord -c "SET vpcflow_dashboard.now = '$DAY_END'" -c "$sql" 2>&1); then
        fail "$name with shard s2 down returned rows instead of an error"
    elif [[ "$out" == *'vpcflow_shard_s2'* ]]; then
        pass "$name with shard s2 down fails naming it: $(head -n 1 <<<"$out" | cut -c1-80)"
    else
        fail "$name with s2 down: $out"
    fi
done
# a query pruned to the shards that are up still answers
acct_s1=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's1'")
out=$(q coord -c "SELECT count(*) FROM vpcflow.flows WHERE account_id OPERATOR(vpcflow.=) '$acct_s1'::vpcflow.awsid" 2>&1) || true
if [[ "$out" =~ ^[0-9]+$ && "$out" -gt 0 ]]; then
    pass "with s2 down, a query pruned to an account of s1 still answers ($out flows)"
else
    fail "pruned query with s2 down: $out"
fi
# a load for a shard that is down fails those files, naming the shard; the rest loads
acct_s2=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's2'")
head -n 40 "$WORK/gen.log" | sed "s/^\(2 \)[0-9]\{12\}/\1$acct_s2/" >"$WORK/down.log"
refused "vpcflow-load names the shard that is down" "could not connect to shard s2" load_routed "$WORK/down.log"
cluster_start "$WORK/s2" "${PORT[s2]}" >/dev/null 2>&1 || fail "restart s2"

# ---------------------------------------------------------------- add a shard, move an account
# Moves use two-phase commit on the shards (docs/scaleout.md#moving-an-account):
# s3 starts without max_prepared_transactions, so the first move is refused.
moved=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's1'")
before=$(q coord -c "SELECT count(*), sum(bytes) FROM vpcflow.flows WHERE account_id = '$moved'")
# where MOVED's flows are: "coordinator|s1|s2|s3 flows, prepared transactions on the shards, map, moving"
whereis() {
    local a=$1 n out
    out=$(q coord -c "SELECT count(*) || ',' || coalesce(sum(bytes), 0) FROM vpcflow.flows WHERE account_id = '$a'")
    for n in s1 s2 s3; do out+="|$(q "$n" -c "SELECT count(*) FROM vpcflow.flows WHERE account_id = '$a'")"; done
    out+=" prepared $(for n in s1 s2 s3; do q "$n" -c 'SELECT count(*) FROM pg_prepared_xacts'; done | paste -sd+ | bc)"
    out+=" $(q coord -c "SELECT shard_name || ' moving=' || moving FROM vpcflow.shard_accounts WHERE account_id = '$a'")"
    echo "$out"
}
# prepared transactions on s2 and s3: "n,m"
prepared_s2_s3() { local n; for n in s2 s3; do q "$n" -c 'SELECT count(*) FROM pg_prepared_xacts'; done | paste -sd,; }
# CALL move_account(account, 's3') in the background, held by the test hook at point
# (its pid in $mover, its output in file out)
start_held_move() {
    q coord -c "SET vpcflow_test.move_fail_at = 'wait:$2'" -c "CALL vpcflow.move_account('$1', 's3')" >"$3" 2>&1 &
    mover=$!
}
# the coordinator killed (immediate stop) under the held move, then restarted
crash_coordinator() {
    _as_postgres "$PGBIN/pg_ctl" -D "$(cluster_datadir "$WORK/coord")" -m immediate -w stop >/dev/null 2>&1 ||
        fail "immediate stop of the coordinator"
    wait "$mover" 2>/dev/null || true
    cluster_start "$WORK/coord" "${PORT[coord]}" >/dev/null 2>&1 || fail "restart the coordinator"
}
if q coord -c "SELECT vpcflow.add_shard('s3', '127.0.0.1', ${PORT[s3]}, 'vpcflow', 'postgres')" >/dev/null; then
    pass "add_shard s3"
else
    fail "add_shard s3"
fi
home=$(whereis "$moved")
refused "a move to a shard without max_prepared_transactions is refused, naming the shard and the setting" \
    "shard s3 has max_prepared_transactions = 0" q coord -c "CALL vpcflow.move_account('$moved', 's3')"
enable_2pc s3
# a move failing once the target has prepared: rolled back, the account whole on s1
refused "a move failing after the target prepared reports the failure" "move_fail_at = after_target_prepare" \
    q coord -c "SET vpcflow_test.move_fail_at = 'after_target_prepare'" -c "CALL vpcflow.move_account('$moved', 's3')"
now=$(whereis "$moved")
log=$(q coord -c "SELECT string_agg(state, ',' ORDER BY move_id) FROM vpcflow.shard_moves")
[[ "$now" == "$home" && "$home" == *"|0|0 prepared 0 s1 moving=false" && "$log" == aborted,aborted ]] &&
    pass "after the failed moves the account is whole on s1 only, nothing prepared, the log says aborted ($now)" ||
    fail "after the failed moves: $now (before $home), move log $log"
# the same once both shards have prepared, before the decision
refused "a move failing after both shards prepared reports the failure" "move_fail_at = after_prepare" \
    q coord -c "SET vpcflow_test.move_fail_at = 'after_prepare'" -c "CALL vpcflow.move_account('$moved', 's3')"
now=$(whereis "$moved")
[[ "$now" == "$home" ]] && pass "a move failing after both prepared is rolled back on both ($now)" ||
    fail "after a move failing after both prepared: $now (before $home)"
if out=$(q coord -c "CALL vpcflow.move_account('$moved', 's3')" 2>&1); then
    pass "move_account $moved to s3 (files|flows|rollup rows: $out)"
else
    fail "move_account: $out"
fi
after=$(q coord -c "SELECT count(*), sum(bytes) FROM vpcflow.flows WHERE account_id = '$moved'")
on_s3=$(q s3 -c "SELECT count(*), sum(bytes) FROM vpcflow.flows WHERE account_id = '$moved'")
left=$(q s1 -c "SELECT count(*) FROM vpcflow.flows WHERE account_id = '$moved'")
[[ "$after" == "$before" && "$on_s3" == "$before" && "$left" == 0 ]] &&
    pass "the moved account's flows are on s3 only and the coordinator still sees them all ($after)" ||
    fail "after the move: coordinator $after (before $before), s3 $on_s3, left on s1 $left"
now=$(whereis "$moved")
[[ "$now" == *" prepared 0 s3 moving=false" ]] && pass "nothing left prepared, the map says s3 ($now)" ||
    fail "after the move: $now"

# A coordinator crash with both shards prepared, before the decision: after
# the restart resolve_shard_moves rolls both back.
moved2=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's2'")
before2=$(whereis "$moved2")
start_held_move "$moved2" after_prepare "$WORK/crash0.out"
for ((i = 0; i < 300; i++)); do
    [[ $(prepared_s2_s3) == 1,1 ]] && break
    sleep 0.1
done
held=$(prepared_s2_s3)
crash_coordinator
resolved=$(q coord -c 'SELECT vpcflow.resolve_shard_moves()' 2>&1) || true
now=$(whereis "$moved2")
state=$(q coord -c "SELECT state FROM vpcflow.shard_moves ORDER BY move_id DESC LIMIT 1")
[[ "$held" == 1,1 && "$resolved" == 1 && "$now" == "$before2" && "$state" == aborted ]] &&
    pass "a coordinator crash before the decision: resolve rolled both shards back, the account whole on s2 ($now)" ||
    fail "crash before the decision (prepared $held, resolved $resolved): $now (before $before2), state $state"

# A coordinator crash after the decision, before COMMIT PREPARED: the test
# hook holds the move there; the coordinator is killed (immediate stop) and
# restarted, and resolve_shard_moves() finishes the move.
moved2=$(q coord -c "SELECT min(account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's2'")
before2=$(whereis "$moved2")
start_held_move "$moved2" after_decision "$WORK/crash.out"
for ((i = 0; i < 300; i++)); do
    [[ $(q coord -c "SELECT count(*) FROM vpcflow.shard_moves WHERE state = 'committing'") == 1 ]] && break
    sleep 0.1
done
held=$(prepared_s2_s3)
# another session's resolver leaves a move whose session is alive alone
skipped=$(q coord -c 'SELECT vpcflow.resolve_shard_moves()' 2>&1)
held+=" $skipped $(prepared_s2_s3)"
crash_coordinator
[[ "$held" == "1,1 0 1,1" ]] &&
    pass "the coordinator crashed after the decision with the move prepared on s2 and s3 (a resolver run meanwhile left the live move alone)" ||
    fail "at the crash, prepared transactions on s2,s3: $held ($(cat "$WORK/crash.out"))"
resolved=$(q coord -c 'SELECT vpcflow.resolve_shard_moves()' 2>&1) || true
now=$(whereis "$moved2")
state=$(q coord -c "SELECT state FROM vpcflow.shard_moves WHERE account_id = '$moved2' ORDER BY move_id DESC LIMIT 1")
IFS='|' read -r c2 _ <<<"$before2"
[[ "$resolved" == 1 && "$now" == "$c2|0|0|${c2%%,*} prepared 0 s3 moving=false" && "$state" == done ]] &&
    pass "after the restart resolve_shard_moves committed the move: on s3 only, nothing twice, nothing lost ($now)" ||
    fail "after the coordinator crash and resolve ($resolved): $now, state $state (before $before2)"
files2=$(q s3 -c "SELECT count(*) FROM vpcflow.ingest_log WHERE account_id = '$moved2'")
[[ "$files2" -gt 0 && $(q s2 -c "SELECT count(*) FROM vpcflow.ingest_log WHERE account_id = '$moved2'") == 0 ]] &&
    pass "its loads moved with it ($files2 files on s3, none on s2)" || fail "loads of $moved2 after the crash: $files2 on s3"
compare "whole store after the crashed move" \
    "SELECT count(*), sum(bytes), sum(packets), count(DISTINCT account_id) FROM vpcflow.flows"
# The target lost after the decision: the mover (held there by the hook) is
# terminated and the target stopped.  resolve_shard_moves fails naming it,
# and finishes the move once it is back.  (sync_shards runs it too, but as
# vpcflow_admin, for which dblink needs password authentication: these
# clusters trust loopback, so there it only warns.)
cnt2=${c2%%,*}
PGAPPNAME=vpcflow_test_mover q coord -c "SET vpcflow_test.move_fail_at = 'wait:after_decision'" \
    -c "CALL vpcflow.move_account('$moved2', 's2')" >"$WORK/lost.out" 2>&1 &
mover=$!
for ((i = 0; i < 300; i++)); do
    [[ $(q coord -c "SELECT count(*) FROM vpcflow.shard_moves WHERE state = 'committing'") == 1 ]] && break
    sleep 0.1
done
cluster_stop "$WORK/s2" >/dev/null 2>&1
q coord -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vpcflow_test_mover'" >/dev/null
wait "$mover" 2>/dev/null || true
refused "with the target down after the decision, resolve_shard_moves fails naming it" \
    "could not connect to shard s2" q coord -c 'SELECT vpcflow.resolve_shard_moves()'
cluster_start "$WORK/s2" "${PORT[s2]}" >/dev/null 2>&1 || fail "restart s2"
out=$(q coord -c 'SELECT vpcflow.sync_shards()' 2>&1) && [[ "$out" == *"WARNING:  cannot resolve move"* ]] &&
    [[ $(whereis "$moved2") == *" prepared 2 s2 moving=true" ]] &&
    pass "sync_shards as vpcflow_admin without a password to the shards warns and leaves the move in doubt" ||
    fail "sync_shards with a move in doubt: $out"
q coord -c 'SELECT vpcflow.resolve_shard_moves()' >/dev/null 2>&1 || fail "resolve_shard_moves after s2 is back"
now=$(whereis "$moved2")
[[ "$now" == "$c2|0|$cnt2|0 prepared 0 s2 moving=false" &&
   $(q coord -c "SELECT state FROM vpcflow.shard_moves ORDER BY move_id DESC LIMIT 1") == done ]] &&
    pass "once s2 was back, resolve_shard_moves committed the move: on s2 only, counts equal ($now)" ||
    fail "after the target came back and sync_shards: $now ($(cat "$WORK/lost.out"))"
# Between the two COMMIT PREPARED: the target has committed, the source not
# yet; the rows are then on both shards until the move is resolved.
refused "a move failing between the two COMMIT PREPARED says it is decided, not finished" \
    "is decided but not finished" \
    q coord -c "SET vpcflow_test.move_fail_at = 'after_target_commit'" -c "CALL vpcflow.move_account('$moved2', 's3')"
window=$(whereis "$moved2")
q coord -c 'SELECT vpcflow.resolve_shard_moves()' >/dev/null 2>&1 || fail "resolve after the half-committed move"
now=$(whereis "$moved2")
[[ "$window" == *"|0|$cnt2|$cnt2 prepared 1 s3 moving=true" && "$now" == "$c2|0|0|$cnt2 prepared 0 s3 moving=false" ]] &&
    pass "resolve_shard_moves committed the source's half of a half-committed move ($window -> $now)" ||
    fail "half-committed move: $window -> $now"
compare "Q1 after the move" "$Q1"
compare "Q7 after the move" "$Q7"
compare "view oncall_ingest_health after the move" "SELECT * FROM vpcflow.oncall_ingest_health"
compare_topk "top_talkers after the move" "SELECT * FROM vpcflow.top_talkers(NULL, '$DAY_START', '$DAY_END', 10)"
if out=$(load_routed "$WORK/tree/AWSLogs/$moved" 2>&1) &&
   [[ "$out" == *" 0 loaded,"* ]]; then
    pass "re-sending the moved account's files loads nothing (its ingest log moved with it)"
else
    fail "re-sending the moved account's files: $out"
fi
# A load holding flows of two accounts (of the same shard) is loaded on
# both sides; moving one of the accounts alone is refused, naming the count.
read -r twoA twoB < <(q coord -c "SELECT string_agg(account_id::text, ' ' ORDER BY account_id::text) FROM vpcflow.shard_accounts WHERE shard_name = 's1'")
mkdir -p "$WORK/two"
head -n 21 "$WORK/gen.log" | sed -e "2,11s/^\(2 \)[0-9]\{12\}/\1$twoA/" -e "12,21s/^\(2 \)[0-9]\{12\}/\1$twoB/" >"$WORK/two/two.log"
load_routed -q "$WORK/two" >/dev/null 2>&1 || fail "routed load of a two-account file"
"$LOADER" -q -d "host=127.0.0.1 port=${PORT[single]} dbname=vpcflow user=postgres" "$WORK/two" >/dev/null 2>&1 ||
    fail "load of a two-account file into the single server"
home=$(whereis "$twoA")
refused "moving one account of a load holding two is refused, naming the count" \
    "also hold 10 flows of other accounts" q coord -c "CALL vpcflow.move_account('$twoA', 's3')"
[[ $(whereis "$twoA") == "$home" && "$home" == *" prepared 0 s1 moving=false" ]] &&
    pass "after the refused move the account is whole on s1 ($home)" || fail "after the refused move: $(whereis "$twoA") (before $home)"

# ---------------------------------------------------------------- maintenance on the shards
# run_maintenance runs on each shard (under pg_cron there); the coordinator
# refuses it.  Warm days on a shard are read through postgres_fdw like hot
# ones; a day dropped by a shard's retention leaves the coordinator after
# sync_shards.
refused "the coordinator refuses run_maintenance (it runs on the shards)" \
    "runs on the shards" q coord -c 'CALL vpcflow.run_maintenance()'
for n in s1 s3; do q "$n" -c 'CALL vpcflow.run_maintenance()' >/dev/null; done
warm=$(for n in s1 s3; do q "$n" -c 'SELECT count(*) FROM vpcflow.warm_partitions'; done | paste -sd+ | bc)
q coord -c 'SELECT vpcflow.sync_shards()' >/dev/null
if ((warm > 0)); then
    pass "maintenance on shards s1 and s3 made $warm warm partitions"
else
    fail "maintenance on s1 and s3 made no warm partition"
fi
# warm days cannot be deleted row by row: the move fails on the source and is rolled back
home=$(whereis "$moved")
if out=$(q coord -c "CALL vpcflow.move_account('$moved', 's1')" 2>&1); then
    fail "a move of an account with warm days succeeded: $out"
elif [[ $(whereis "$moved") == "$home" && "$home" == *" prepared 0 s3 moving=false" && "$out" == *"rolled back"* ]]; then
    pass "a move of an account with warm days fails and is rolled back, the account whole on s3 ($(head -n 1 <<<"$out" | cut -c1-140))"
else
    fail "move of an account with warm days: $(whereis "$moved") (before $home): $out"
fi
compare "Q1 with warm days on the shards" "$Q1"
compare "Q7 with warm days on the shards" "$Q7"
compare "whole store with warm days on the shards" "SELECT count(*), sum(bytes), sum(packets) FROM vpcflow.flows"
q s2 -c "SELECT vpcflow.set_policy(retention => '1 day')" -c 'CALL vpcflow.run_maintenance()' >/dev/null
q coord -c 'SELECT vpcflow.sync_shards()' >/dev/null
want=$(for n in s1 s2 s3; do q "$n" -c 'SELECT count(*) FROM vpcflow.flows'; done | paste -sd+ | bc)
s2left=$(q s2 -c 'SELECT count(*) FROM vpcflow.flows')
got=$(q coord -c 'SELECT count(*) FROM vpcflow.flows' 2>&1)
[[ "$s2left" == 0 && "$got" == "$want" ]] &&
    pass "after s2's retention dropped its days and sync_shards, the coordinator has the other shards' $got flows" ||
    fail "after retention on s2: coordinator $got, shards $want, left on s2 $s2left"

# ---------------------------------------------------------------- pg_cron on the shards
# As docs/scaleout.md schedules it: run_maintenance on every shard and
# sync_shards on the coordinator, each by pg_cron (preloaded by
# tools/cluster.sh, living in database postgres) in database vpcflow.  The
# schedule has one-minute resolution: wait at most 100 s for a finished
# pass on each shard and a succeeded sync, then remove the jobs.
cronq() { qdb "$1" postgres "${@:2}"; }
declare -A MARK JOB
for n in s1 s2 s3; do
    MARK[$n]=$(q "$n" -c 'SELECT coalesce(max(log_id), 0) FROM vpcflow.maintenance_log')
    JOB[$n]=$(cronq "$n" -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' \
        -c "SELECT cron.schedule_in_database('vpcflow-maintenance', '* * * * *', 'CALL vpcflow.run_maintenance()', 'vpcflow')")
done
JOB[coord]=$(cronq coord -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' \
    -c "SELECT cron.schedule_in_database('vpcflow-sync-shards', '* * * * *', 'SELECT vpcflow.sync_shards()', 'vpcflow')")
cron_done() {
    local n
    for n in s1 s2 s3; do
        [[ $(q "$n" -c "SELECT count(*) FROM vpcflow.maintenance_log WHERE log_id > ${MARK[$n]} AND action = 'run' AND message = 'finished'") -ge 1 ]] || return 1
    done
    [[ $(cronq coord -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = ${JOB[coord]} AND status = 'succeeded'") -ge 1 ]]
}
for ((i = 0; i < 200; i++)); do cron_done && break; sleep 0.5; done
for n in s1 s2 s3; do
    runs=$(q "$n" -c "SELECT count(*) FILTER (WHERE action = 'run' AND message = 'finished') || ' ' || count(*) FILTER (WHERE status = 'error') FROM vpcflow.maintenance_log WHERE log_id > ${MARK[$n]}")
    [[ "$runs" =~ ^[1-9][0-9]*\ 0$ ]] &&
        pass "pg_cron ran run_maintenance on shard $n (finished passes, errors: $runs)" ||
        fail "pg_cron on shard $n: finished passes, errors: $runs"
done
st=$(cronq coord -c "SELECT coalesce(string_agg(DISTINCT status, ','), 'none') FROM cron.job_run_details WHERE jobid = ${JOB[coord]} AND status <> 'running'")
[[ "$st" == succeeded ]] && pass "pg_cron ran sync_shards on the coordinator" || fail "pg_cron sync_shards on the coordinator: $st"
for n in s1 s2 s3 coord; do cronq "$n" -c "SELECT cron.unschedule(${JOB[$n]})" >/dev/null; done

# ---------------------------------------------------------------- Citus readiness (catalog only)
# docs/scaleout.md#citus-readiness: Citus itself is not installable here.
# (Default expressions are scanned for the functions they call: pg_depend
# records no dependency on built-ins such as clock_timestamp().)
nosendrecv=$(q single -c "SELECT coalesce(string_agg(t.typname, ', '), '') FROM pg_type t WHERE t.typnamespace = 'vpcflow'::regnamespace AND t.typtype = 'b' AND (t.typsend = 0 OR t.typreceive = 0)")
nbase=$(q single -c "SELECT count(*) FROM pg_type t WHERE t.typnamespace = 'vpcflow'::regnamespace AND t.typtype = 'b' AND t.typelem = 0")
[[ -z "$nosendrecv" && "$nbase" -ge 8 ]] && pass "Citus readiness: all $nbase base types of vpcflow have binary send/recv" ||
    fail "types without send/recv: $nosendrecv ($nbase base types)"
hashop=$(q single -c "SELECT count(*) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE a.amname = 'hash' AND c.opcdefault AND c.opcintype = 'vpcflow.awsid'::regtype")
[[ "$hashop" == 1 ]] && pass "Citus readiness: the distribution column's type (awsid) has a default hash opclass" ||
    fail "awsid hash opclass: $hashop"
nocombine=$(q single -c "SELECT coalesce(string_agg(a.aggfnoid::regprocedure::text, ', '), '') FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace = 'vpcflow'::regnamespace AND (a.aggcombinefn = 0 OR (a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0)))")
naggs=$(q single -c "SELECT count(*) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace = 'vpcflow'::regnamespace")
[[ -z "$nocombine" && "$naggs" -ge 5 ]] && pass "Citus readiness: all $naggs aggregates have combine (and serial/deserial) functions" ||
    fail "aggregates without combine functions: $nocombine"
volatile=$(q single -c "SELECT coalesce(string_agg(format('%s.%s', a.attrelid::regclass, a.attname), ', '), '') FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid IN ('vpcflow.flows'::regclass, 'vpcflow.rollup_1m'::regclass, 'vpcflow.rollup_1h'::regclass, 'vpcflow.rollup_1d'::regclass, 'vpcflow.rollup_vpc_1h'::regclass, 'vpcflow.rollup_vpc_1d'::regclass) AND a.attnum > 0 AND (a.attidentity <> '' OR EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':(?:funcid|opfuncid) ([0-9]+)', 'g') m JOIN pg_proc f ON f.oid = m[1]::oid WHERE f.provolatile = 'v'))")
[[ -z "$volatile" ]] && pass "Citus readiness: no volatile default or identity on the store or the rollups" ||
    fail "volatile defaults on distributed tables: $volatile"

echo "# shard test: $npass passed, $nfail failed"
((nfail == 0))
