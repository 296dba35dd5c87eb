#!/usr/bin/env bash
# Tests of vpcflow-load against the running test cluster (tools/test.sh sets
# PGHOST, PGPORT, PGUSER and VPCFLOW_CLUSTER).  Prints one PASS/FAIL line
# per check.  Each check compares with an oracle computed another way: the
# server-side ingest_file, or the line counts of the generated files.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD="$REPO/vpcflow-load"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

pass() { echo "PASS loader: $*"; }
fail() { echo "FAIL loader: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

fresh_db() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
    q "$1" "CREATE EXTENSION vpcflow" >/dev/null
}

# A deterministic tree of v2 files in the S3 layout: $1 files of $2 records.
make_tree() {   # make_tree NFILES NRECORDS [DIR (default $WORK/tree)]
    python3 - "${3:-$WORK/tree}" "$1" "$2" <<'PY'
import gzip, os, sys
root, nfiles, nrec = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hdr = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
for f in range(nfiles):
    d = os.path.join(root, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/03/%02d" % (1 + f % 3))
    os.makedirs(d, exist_ok=True)
    lines = [hdr]
    for i in range(nrec):
        g = f * nrec + i
        t = 1740787200 + (f % 3) * 86400 + g % 80000
        lines.append("2 123456789012 eni-%017x 10.%d.%d.%d 10.9.%d.%d %d 443 6 %d %d %d %d %s OK\n" % (
            g % 40, g % 7, g % 11, g % 13, g % 5, g % 17, 1024 + g % 6000, 1 + g % 9, 60 * (1 + g % 9), t, t + 30,
            "REJECT" if g % 10 == 0 else "ACCEPT"))
    name = os.path.join(d, "123456789012_vpcflowlogs_us-east-1_fl-0a_202503%02dT0000Z_%04d.log.gz" % (1 + f % 3, f))
    with open(name, "wb") as out:
        out.write(gzip.compress("".join(lines).encode(), mtime=0))
PY
}

# ---------------------------------------------------------------- the sample tree, two ways
fresh_db vpcflow_load_a
fresh_db vpcflow_load_b
"$LOAD" -q -d vpcflow_load_a -j 2 "$REPO/data/sample" 2>"$WORK/a.err"
rc=$?
check "sample tree loads (exit 0)" test "$rc" -eq 0
bash "$REPO/tools/cluster.sh" stage "$VPCFLOW_CLUSTER" "$REPO/data/sample" vpcflow_load_sample >/dev/null
# ingest every sample file server-side, the same files in the same order
find "$REPO/data/sample" -type f -name '*.gz' | sort | while read -r f; do
    rel=${f#"$REPO/data/sample/"}
    q vpcflow_load_b "SELECT status FROM vpcflow.ingest_file('vpcflow_load_sample/$rel')" >/dev/null
done
digest="SELECT count(*), sum(bytes), md5(string_agg(f::text, '|' ORDER BY f::text))
        FROM (SELECT version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol,
                     packets, bytes, start_time, end_time, action, log_status, vpc_id, subnet_id,
                     instance_id, tcp_flags, type, pkt_srcaddr, pkt_dstaddr, region, az_id,
                     flow_direction, traffic_path FROM vpcflow.flows) f"
check "loader and ingest_file store the same rows" test "$(q vpcflow_load_a "$digest")" = "$(q vpcflow_load_b "$digest")"
check "one ingest_log entry per file" test "$(q vpcflow_load_a "SELECT count(*) FROM vpcflow.ingest_log")" = \
    "$(find "$REPO/data/sample" -type f -name '*.gz' | wc -l)"

# a re-run loads nothing and says so
before=$(q vpcflow_load_a "SELECT count(*) FROM vpcflow.flows")
"$LOAD" -q -d vpcflow_load_a -j 2 "$REPO/data/sample" 2>"$WORK/rerun.err"
rc=$?
check "re-run: exit 0" test "$rc" -eq 0
check "re-run: every file already loaded" grep -q "0 loaded, 6 already loaded, 0 failed" "$WORK/rerun.err"
check "re-run: no new rows" test "$(q vpcflow_load_a "SELECT count(*) FROM vpcflow.flows")" = "$before"

# ---------------------------------------------------------------- dry run
"$LOAD" -n "$REPO/data/sample" 2>"$WORK/dry.err"
check "dry run counts the records ingest stores" grep -q "; $before rows, 0 quarantined;.*\[dry run\]" "$WORK/dry.err"

# ---------------------------------------------------------------- kill -9 mid-load, then re-run
# load_then_kill DB MIN_FILES POLL LOADER-ARGS...: load $WORK/tree-kill with
# -j 2, kill -9 the loader once MIN_FILES files have committed (polling every
# POLL seconds, 100 times at most), and print how many files are stored.
# The tree is big enough (240 files, 720,000 rows) that a loaded machine
# cannot finish it between the poll that sees MIN_FILES and the kill.
load_then_kill() {
    local db=$1 min=$2 poll=$3 pid n
    shift 3
    "$LOAD" -q -d "$db" -j 2 "$@" "$WORK/tree-kill" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        n=$(q "$db" "SELECT count(*) FROM vpcflow.ingest_log" 2>/dev/null || echo 0)
        [[ "$n" -ge "$min" ]] && break
        sleep "$poll"
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    q "$db" "SELECT count(*) FROM vpcflow.ingest_log"
}
make_tree 60 3000
expected=$((60 * 3000))
make_tree 240 3000 "$WORK/tree-kill"
killed=$((240 * 3000))
fresh_db vpcflow_load_c
# --batch-seconds 0: one file per transaction, so files commit one by one
partial=$(load_then_kill vpcflow_load_c 5 0.1 --batch-seconds 0)
check "kill -9 stopped the load part-way ($partial of 240 files)" test "$partial" -lt 240
check "after kill -9: only whole files are stored" test \
    "$(q vpcflow_load_c "SELECT count(*) FROM vpcflow.flows")" = "$(q vpcflow_load_c "SELECT coalesce(sum(rows), 0) FROM vpcflow.ingest_log")"
"$LOAD" -q -d vpcflow_load_c -j 2 "$WORK/tree-kill" 2>"$WORK/resume.err"
rc=$?
check "re-run after kill -9: exit 0" test "$rc" -eq 0
check "re-run after kill -9: exactly the rows of a clean load" test \
    "$(q vpcflow_load_c "SELECT count(*) FROM vpcflow.flows")" = "$killed"
check "re-run after kill -9: every file once" test \
    "$(q vpcflow_load_c "SELECT count(*) || '/' || count(DISTINCT sha256) FROM vpcflow.ingest_log")" = "240/240"

# ---------------------------------------------------------------- kill -9 mid-batch, then re-run
# Files in transactions of several (0.3 s each here): the kill comes while
# a transaction is open, after some have committed.
fresh_db vpcflow_load_h
partial=$(load_then_kill vpcflow_load_h 1 0.05 --batch-seconds 0.3)
check "kill -9 mid-batch stopped the load part-way ($partial of 240 files)" test "$partial" -lt 240
check "after kill -9 mid-batch: only whole files are stored" test \
    "$(q vpcflow_load_h "SELECT count(*) FROM vpcflow.flows")" = "$(q vpcflow_load_h "SELECT coalesce(sum(rows), 0) FROM vpcflow.ingest_log")"
check "after kill -9 mid-batch: no partition left unattached" test \
    "$(q vpcflow_load_h "SELECT count(*) FROM pg_class WHERE relnamespace = 'vpcflow'::regnamespace AND relname LIKE 'flows_p%' AND relkind = 'r' AND NOT relispartition")" = "0"
"$LOAD" -q -d vpcflow_load_h -j 2 "$WORK/tree-kill" 2>"$WORK/resume-h.err"
rc=$?
check "re-run after kill -9 mid-batch: exit 0" test "$rc" -eq 0
check "re-run after kill -9 mid-batch: exactly the rows of a clean load, every file once" test \
    "$(q vpcflow_load_h "SELECT (SELECT count(*) FROM vpcflow.flows) || ' ' || count(*) || '/' || count(DISTINCT sha256) FROM vpcflow.ingest_log")" = "$killed 240/240"
check "bulk-loaded days carry their three indexes" test \
    "$(q vpcflow_load_h "SELECT count(*) FILTER (WHERE n = 3) || '/' || count(*) FROM (SELECT (SELECT count(*) FROM pg_index x WHERE x.indrelid = p.partition) AS n FROM vpcflow.partitions p) s")" = "3/3"

# ---------------------------------------------------------------- --backfill, killed, then re-run
# The tree's days (March 2025) are past hot_window: --backfill makes them
# warm at once and connections share their files.  Killed mid-batch and
# re-run, the rows must be those of the ordinary bulk load above, every
# file once; maintenance then folds the side tables into blocks.
fresh_db vpcflow_load_bf
partial=$(load_then_kill vpcflow_load_bf 1 0.05 --batch-seconds 0.3 --backfill)
check "--backfill: kill -9 stopped the load part-way ($partial of 240 files)" test "$partial" -lt 240
check "--backfill: after kill -9, only whole files are stored" test \
    "$(q vpcflow_load_bf "SELECT count(*) FROM vpcflow.flows")" = "$(q vpcflow_load_bf "SELECT coalesce(sum(rows), 0) FROM vpcflow.ingest_log")"
"$LOAD" -q -d vpcflow_load_bf -j 2 --backfill "$WORK/tree-kill" 2>"$WORK/resume-bf.err"
rc=$?
check "--backfill: re-run after kill -9 exits 0" test "$rc" -eq 0
check "--backfill: exactly the rows of the ordinary bulk load, every file once" test \
    "$(q vpcflow_load_bf "$digest") $(q vpcflow_load_bf "SELECT count(*) || '/' || count(DISTINCT sha256) FROM vpcflow.ingest_log")" = \
    "$(q vpcflow_load_h "$digest") 240/240"
check "--backfill: the three days are warm, their rows in side tables" test \
    "$(q vpcflow_load_bf "SELECT string_agg(tier, ',' ORDER BY lower_bound) || ' ' || sum(warm_rows) FROM vpcflow.partition_tiers WHERE lower_bound < '2025-04-01'")" = "warm,warm,warm 0"
q vpcflow_load_bf "CALL vpcflow.run_maintenance()" >/dev/null 2>&1
check "--backfill: maintenance folds them into blocks, the rows unchanged" test \
    "$(q vpcflow_load_bf "SELECT sum(warm_rows) FROM vpcflow.partition_tiers WHERE lower_bound < '2025-04-01'") $(q vpcflow_load_bf "$digest")" = \
    "$killed $(q vpcflow_load_h "$digest")"
"$LOAD" -q -d vpcflow_load_bf -j 1 --backfill --shards "$WORK/tree-kill" 2>"$WORK/bf-shards.err"
rc=$?
check "--backfill with --shards: refused (exit 2)" bash -c "test $rc -eq 2 && grep -q 'cannot be combined' '$WORK/bf-shards.err'"

# a bulk load that never calls end_bulk_load cannot commit, and leaves nothing
fresh_db vpcflow_load_i
f1=$(find "$WORK/tree" -name '*.gz' | sort | head -1)
psql -X -q -d vpcflow_load_i -v b64="$(base64 -w0 "$f1")" >"$WORK/noend.out" 2>&1 <<'SQL'
BEGIN;
SELECT vpcflow.begin_bulk_load();
SELECT rows FROM vpcflow.ingest_data('f', decode(:'b64', 'base64'));
COMMIT;
SQL
check "bulk load without end_bulk_load: COMMIT fails with a hint" grep -q "end_bulk_load" "$WORK/noend.out"
check "bulk load without end_bulk_load: nothing stored" test \
    "$(q vpcflow_load_i "SELECT (SELECT count(*) FROM vpcflow.ingest_log) + (SELECT count(*) FROM pg_class WHERE relnamespace = 'vpcflow'::regnamespace AND relname LIKE 'flows_p%' AND relkind = 'r' AND NOT relispartition)")" = "0"

# ---------------------------------------------------------------- server restart mid-load
fresh_db vpcflow_load_d
"$LOAD" -q -d vpcflow_load_d -j 2 --retry 6 --batch-seconds 0.3 "$WORK/tree" 2>"$WORK/restart.err" &
pid=$!
for _ in $(seq 1 100); do
    n=$(q vpcflow_load_d "SELECT count(*) FROM vpcflow.ingest_log" 2>/dev/null || echo 0)
    [[ "$n" -ge 5 ]] && break
    sleep 0.1
done
bash "$REPO/tools/cluster.sh" stop "$VPCFLOW_CLUSTER" >/dev/null 2>&1
bash "$REPO/tools/cluster.sh" start "$VPCFLOW_CLUSTER" "$PGPORT" >/dev/null 2>&1
wait "$pid"
rc=$?
check "server restart mid-load: the loader reconnects and finishes (exit 0)" test "$rc" -eq 0
check "server restart mid-load: exactly the rows of a clean load" test \
    "$(q vpcflow_load_d "SELECT count(*) FROM vpcflow.flows")" = "$expected"

# ---------------------------------------------------------------- two loaders at once
# Both race for every file and for the new partitions: each file must load
# once (the second waits on the first's claim, then sees a duplicate).
fresh_db vpcflow_load_f
"$LOAD" -q -d vpcflow_load_f -j 2 "$WORK/tree" 2>"$WORK/race1.err" &
p1=$!
"$LOAD" -q -d vpcflow_load_f -j 2 "$WORK/tree" 2>"$WORK/race2.err" &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
check "two concurrent loaders: both exit 0" test "$r1$r2" = "00"
check "two concurrent loaders: exactly the rows of a clean load" test \
    "$(q vpcflow_load_f "SELECT count(*) FROM vpcflow.flows")" = "$expected"
check "two concurrent loaders: every file once" test \
    "$(q vpcflow_load_f "SELECT count(*) FROM vpcflow.ingest_log")" = "60"

# ---------------------------------------------------------------- bad files
mkdir -p "$WORK/bad"
head -c 100 "$(find "$WORK/tree" -name '*.gz' | sort | head -1)" >"$WORK/bad/truncated.log.gz"
printf 'version srcport start\n2 99999 1700000000\n2 80 1700000000\nnot a record at all\n' >"$WORK/bad/bad-lines.log"
fresh_db vpcflow_load_e
"$LOAD" -q -d vpcflow_load_e "$WORK/bad" 2>"$WORK/bad.err"
rc=$?
check "bad files: exit status 1" test "$rc" -eq 1
check "bad files: the truncated gzip is named with the reason" grep -q "truncated.log.gz.*could not decompress" "$WORK/bad.err"
check "bad files: bad lines quarantined, the good one stored" test \
    "$(q vpcflow_load_e "SELECT rows || '/' || errors FROM vpcflow.ingest_log WHERE file_name LIKE '%bad-lines.log'")" = "1/2"
"$LOAD" -q -d vpcflow_load_e "$WORK/missing-dir" 2>"$WORK/missing.err"
rc=$?
check "missing path: exit status 1 and a message" bash -c "test $rc -eq 1 && grep -q 'missing-dir: No such file' '$WORK/missing.err'"

# ---------------------------------------------------------------- permissions and connection errors
psql -X -q -d postgres -c "DROP ROLE IF EXISTS vpcflow_load_nobody" -c "CREATE ROLE vpcflow_load_nobody LOGIN" >/dev/null
"$LOAD" -q -d "dbname=vpcflow_load_e user=vpcflow_load_nobody" "$REPO/data/sample" 2>"$WORK/perm.err"
rc=$?
check "no vpcflow_writer: exit 1 with permission denied" bash -c "test $rc -eq 1 && grep -q 'permission denied' '$WORK/perm.err'"
"$LOAD" -q -d "port=1" "$REPO/data/sample" 2>"$WORK/down.err"
rc=$?
check "server down: exit 2 with a clear message" bash -c "test $rc -eq 2 && grep -q 'could not connect' '$WORK/down.err'"
psql -X -q -d postgres -c "DROP ROLE vpcflow_load_nobody" >/dev/null 2>&1

# ---------------------------------------------------------------- Azure blob layout, GCP
# Azure's storage layout (resourceId=/SUBSCRIPTIONS/.../y=/m=/d=/h=/m=00/
# macAddress=.../PT1H.json, flowLogResourceID=/... for VNet logs) and a GCP
# export, generated here; the oracle is the tuple and entry count Python's
# json module finds.
python3 - "$WORK/azure" >"$WORK/azure.counts" <<'PY'
import gzip, json, os, sys
root = sys.argv[1]
nsg = vnet = gcp = 0
for h in range(3):
    for kind in ("nsg", "vnet"):
        if kind == "nsg":
            d = os.path.join(root, "insights-logs-networksecuritygroupflowevent", "resourceId=", "SUBSCRIPTIONS",
                             "11111111-2222-3333-4444-555555555555", "RESOURCEGROUPS", "RG1", "PROVIDERS",
                             "MICROSOFT.NETWORK", "NETWORKSECURITYGROUPS", "NSG1",
                             "y=2024", "m=03", "d=01", "h=%02d" % h, "m=00", "macAddress=00AABBCCDDEE")
            tuples = ["%d,10.1.0.4,203.0.113.%d,%d,443,T,O,A,%s" % (1709251200 + h * 3600 + i, i % 250, 40000 + i,
                      "B,,,," if i % 3 == 0 else "E,%d,%d,%d,%d" % (i, 60 * i, i, 40 * i)) for i in range(50 + h)]
            rec = {"time": "2024-03-01T%02d:59:00Z" % h, "category": "NetworkSecurityGroupFlowEvent",
                   "resourceId": "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1",
                   "properties": {"Version": 2, "flows": [{"rule": "UserRule_out", "flows": [{"mac": "00AABBCCDDEE", "flowTuples": tuples}]}]}}
        else:
            d = os.path.join(root, "insights-logs-flowlogflowevent", "flowLogResourceID=", "SUBSCRIPTIONS",
                             "11111111-2222-3333-4444-555555555555", "RESOURCEGROUPS", "NETWORKWATCHERRG", "PROVIDERS",
                             "MICROSOFT.NETWORK", "NETWORKWATCHERS", "NW", "FLOWLOGS", "FL1",
                             "y=2024", "m=03", "d=01", "h=%02d" % h, "m=00", "macAddress=00AABBCCDD01")
            tuples = ["%d,10.1.0.5,198.51.100.%d,%d,443,6,O,%s,NX,%d,%d,%d,%d" % (1709251200000 + h * 3600000 + i * 997,
                      i % 250, 50000 + i, "BCED"[i % 4], i, 80 * i, i, 30 * i) for i in range(70 + h)]
            rec = {"time": "2024-03-01T%02d:59:00Z" % h, "flowLogVersion": 4, "macAddress": "00AABBCCDD01",
                   "targetResourceID": "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG1/providers/Microsoft.Network/virtualNetworks/v1",
                   "flowRecords": {"flows": [{"aclID": "abcd", "flowGroups": [{"rule": "r1", "flowTuples": tuples}]}]}}
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "PT1H.json"), "w") as out:
            json.dump({"records": [rec]}, out)
        doc = json.load(open(os.path.join(d, "PT1H.json")))
        for r in doc["records"]:
            if kind == "nsg":
                nsg += sum(len(m["flowTuples"]) for f in r["properties"]["flows"] for m in f["flows"])
            else:
                vnet += sum(len(g["flowTuples"]) for f in r["flowRecords"]["flows"] for g in f["flowGroups"])
g = os.path.join(root, "gcp", "2024", "03", "01")
os.makedirs(g, exist_ok=True)
entries = [{"logName": "projects/p/logs/compute.googleapis.com%2Fvpc_flows",
            "jsonPayload": {"reporter": "SRC" if i % 2 else "DEST",
                            "connection": {"src_ip": "10.2.0.%d" % (i % 200), "dest_ip": "10.3.0.1", "src_port": 1000 + i,
                                           "dest_port": 443, "protocol": 6},
                            "bytes_sent": str(100 * i), "packets_sent": str(i + 1),
                            "start_time": "2024-03-01T10:%02d:00.5Z" % (i % 60), "end_time": "2024-03-01T10:%02d:05Z" % (i % 60)}}
           for i in range(120)]
with open(os.path.join(g, "vpc_flows.ndjson.gz"), "wb") as out:
    out.write(gzip.compress("".join(json.dumps(e) + "\n" for e in entries).encode(), mtime=0))
gcp = sum(1 for l in gzip.open(os.path.join(g, "vpc_flows.ndjson.gz")) if json.loads(l))
print(nsg, vnet, gcp)
PY
read -r az_nsg az_vnet gcp_n <"$WORK/azure.counts"
fresh_db vpcflow_load_g
"$LOAD" -q -d vpcflow_load_g -j 2 "$WORK/azure" 2>"$WORK/azure.err"
rc=$?
check "Azure blob layout and GCP export: exit 0" test "$rc" -eq 0
check "Azure blob layout: every PT1H.json and the GCP file loaded once" test \
    "$(q vpcflow_load_g "SELECT count(*) FROM vpcflow.ingest_log WHERE status = 'loaded'")" = "7"
check "Azure NSG: one row per tuple ($az_nsg)" test \
    "$(q vpcflow_load_g "SELECT count(*) FROM vpcflow.flows WHERE provider = 'azure-nsg'")" = "$az_nsg"
check "Azure VNet: one row per tuple ($az_vnet)" test \
    "$(q vpcflow_load_g "SELECT count(*) FROM vpcflow.flows WHERE provider = 'azure-vnet'")" = "$az_vnet"
check "GCP gzip NDJSON: one row per entry ($gcp_n)" test \
    "$(q vpcflow_load_g "SELECT count(*) FROM vpcflow.flows WHERE provider = 'gcp'")" = "$gcp_n"
check "Azure: MAC and subscription from the content" test \
    "$(q vpcflow_load_g "SELECT string_agg(DISTINCT interface_id::text || ' ' || account_id::text, ',') FROM vpcflow.flows WHERE provider = 'azure-nsg'")" = \
    "00-AA-BB-CC-DD-EE 11111111-2222-3333-4444-555555555555"
"$LOAD" -q -d vpcflow_load_g "$WORK/azure" 2>"$WORK/azure2.err"
check "Azure blob layout: a re-run loads nothing" grep -q "0 loaded, 7 already loaded, 0 failed" "$WORK/azure2.err"
"$LOAD" -n "$WORK/azure" 2>"$WORK/azure-dry.err"
check "Azure / GCP dry run counts the rows ingest stores" grep -q "; $((az_nsg + az_vnet + gcp_n)) rows, 0 quarantined;.*\[dry run\]" "$WORK/azure-dry.err"

# ---------------------------------------------------------------- a crash right after the loads
# Killed right after bulk loads commit (immediate stop: no shutdown
# checkpoint), the server must give every row back from the WAL, with the
# days' heaps and their btrees (built at attach) sound (amcheck).
# (the test cluster runs with synchronous_commit off: the loads turn it on,
# so their commits are in the WAL before they return)
fresh_db vpcflow_load_j
PGOPTIONS="-c synchronous_commit=on" "$LOAD" -q -d vpcflow_load_j -j 2 "$WORK/tree" 2>"$WORK/crash.err"
before=$(q vpcflow_load_j "SELECT count(*) || ' ' || sum(bytes) FROM vpcflow.flows")
runuser -u postgres -- "${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}/pg_ctl" \
    -D "$(bash "$REPO/tools/cluster.sh" datadir "$VPCFLOW_CLUSTER")" -m immediate -w stop >/dev/null 2>&1
bash "$REPO/tools/cluster.sh" start "$VPCFLOW_CLUSTER" "$PGPORT" >/dev/null 2>&1
check "a crash right after the loads: every row back after recovery ($before)" test \
    "$(q vpcflow_load_j "SELECT count(*) || ' ' || sum(bytes) FROM vpcflow.flows")" = "$before" -a "${before%% *}" = "$expected"
q vpcflow_load_j "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null
check "a crash right after the loads: amcheck finds every day's heap sound" test \
    "$(q vpcflow_load_j "SELECT count(*) FROM vpcflow.partitions p, verify_heapam(p.partition::regclass)")" = "0"
check "a crash right after the loads: every btree indexes every row (heapallindexed)" test \
    "$(q vpcflow_load_j "WITH b AS MATERIALIZED (SELECT i.indexrelid FROM vpcflow.partitions p
                           JOIN pg_index i ON i.indrelid = p.partition::regclass JOIN pg_class c ON c.oid = i.indexrelid
                           JOIN pg_am m ON m.oid = c.relam WHERE m.amname = 'btree')
                         SELECT count(*) || ' of ' || (SELECT count(*) FROM b) FROM b
                         WHERE bt_index_check(indexrelid, true)::text = ''")" = "6 of 6"

for db in a b c d e f g h i j; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS vpcflow_load_$db" >/dev/null 2>&1; done
exit 0
