#!/usr/bin/env bash
# Dashboards benchmark: DAYS days of gen_flows.py data (ROWS_PER_DAY rows a
# day, v5 format), loaded with ingest_file, rolled up once; then every
# dashboard view and cookbook-style query timed (best of 3, warm) beside the
# same question answered from raw rows, in the same run.  Report:
# bench/out/dashboards-last.md.
#   VPCFLOW_PGBIN=... bench/dashboards.sh     (env: DAYS=30 ROWS_PER_DAY=1000000 PORT=56250)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
DAYS=${DAYS:-30}
ROWS_PER_DAY=${ROWS_PER_DAY:-1000000}
PORT=${PORT:-56250}
GEN=${GEN:-$REPO/../shared/bench/gen_flows.py}
W=$(mktemp -d /tmp/vpcflow-dash.XXXXXX)
chown postgres "$W"
OUT="$REPO/bench/out/dashboards-last.md"
mkdir -p "$REPO/bench/out"
cleanup() { su postgres -c "$PGBIN/pg_ctl -D $W/data stop -m fast" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
su postgres -c "$PGBIN/initdb -D $W/data -A trust -U postgres" >/dev/null
su postgres -c "$PGBIN/pg_ctl -D $W/data -l $W/log -w -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=512MB -c max_parallel_workers_per_gather=0' start" >/dev/null
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
psql -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION vpcflow'
mkdir -p "$W/gen" && chmod 755 "$W/gen"
t0=$(date +%s)
# One world (one seed) over the whole span, cut into daily files as AWS
# would deliver them, each ingested and then folded into the rollups.
nice python3 "$GEN" --rows $((DAYS * ROWS_PER_DAY)) --format v5 --seed 1 --start 2024-05-01T00:00:00Z \
    --span-hours $((DAYS * 24)) --jobs 2 --out "$W/gen/all.log" >/dev/null
awk -v dir="$W/gen" -v t0="$(date -u -d 2024-05-01 +%s)" '
    NR == 1 { hdr = $0; next }
    { d = int(($11 - t0) / 86400); f = dir "/day" d ".log"
      if (!(f in seen)) { print hdr > f; seen[f] = 1 }
      print > f }' "$W/gen/all.log"
rm -f "$W/gen/all.log"*
chmod 644 "$W"/gen/day*.log
for ((d = 0; d < DAYS; d++)); do
    [[ -f "$W/gen/day$d.log" ]] || continue
    psql -c "SELECT rows FROM vpcflow.ingest_file('$W/gen/day$d.log')" >/dev/null
    rm -f "$W/gen/day$d.log"
    # fold each day's file in as it arrives (as the per-minute job would)
    psql -Atc "SELECT seconds FROM vpcflow.refresh_rollups()" >>"$W/refresh.txt"
done
t1=$(date +%s)
refresh=$(awk -v rows=$((DAYS * ROWS_PER_DAY)) '{ s += $1 } END { printf "%d calls, %.1f s in all, %.0f flows/s", NR, s, rows / s }' "$W/refresh.txt")
exact=$(psql -Atc "SELECT CASE WHEN r = m AND r = h AND r = d AND r = vh AND r = vd THEN 'equal' ELSE 'DIFFERENT' END || ' (' || r || ')'
    FROM (SELECT (SELECT row(count(*), sum(packets), sum(bytes), count(*) FILTER (WHERE action::text = 'REJECT'))::text FROM vpcflow.flows) r,
                 (SELECT row(sum(flows), sum(packets), sum(bytes), sum(rejects))::text FROM vpcflow.rollup_1m) m,
                 (SELECT row(sum(flows), sum(packets), sum(bytes), sum(rejects))::text FROM vpcflow.rollup_1h) h,
                 (SELECT row(sum(flows), sum(packets), sum(bytes), sum(rejects))::text FROM vpcflow.rollup_1d) d,
                 (SELECT row(sum(flows), sum(packets), sum(bytes), sum(rejects))::text FROM vpcflow.rollup_vpc_1h) vh,
                 (SELECT row(sum(flows), sum(packets), sum(bytes), sum(rejects))::text FROM vpcflow.rollup_vpc_1d) vd) x")
psql -c 'VACUUM ANALYZE'
sizes=$(psql -Atc "SELECT string_agg(format('%s %s rows %s', c.relname, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))), '; ' ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'vpcflow'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'rollup%'")
raw=$(psql -Atc "SELECT (SELECT count(*) FROM vpcflow.flows) || ' rows, ' || pg_size_pretty(sum(total_bytes)::bigint) FROM vpcflow.partitions")
NOW=$(date -u -d "2024-05-01 + $DAYS days - 30 minutes" '+%Y-%m-%d %H:%M:%S+00')
DAY0=$(date -u -d "2024-05-01 + $((DAYS - 1)) days" '+%Y-%m-%d 00:00:00+00')
H0=$(date -u -d "2024-05-01 + $((DAYS - 1)) days + 12 hours" '+%Y-%m-%d %H:%M:%S+00')
H1=$(date -u -d "2024-05-01 + $((DAYS - 1)) days + 13 hours" '+%Y-%m-%d %H:%M:%S+00')
VPC=$(psql -Atc "SELECT vpc_id::text FROM vpcflow.rollup_vpc_1d WHERE vpc_id IS NOT NULL GROUP BY 1 ORDER BY sum(bytes) DESC LIMIT 1")

# name | dashboard query | the same from raw rows
cat > "$W/q.txt" <<Q
exec_egress_cost_30d|SELECT * FROM vpcflow.exec_egress_cost_30d|SELECT f.account_id::text, f.vpc_id::text, sum(f.bytes) FROM vpcflow.flows f WHERE f.start_time >= '$NOW'::timestamptz - interval '31 days' AND f.flow_direction::text = 'egress' AND NOT vpcflow.is_private_address(f.dstaddr) GROUP BY 1, 2
exec_ingest_trend|SELECT * FROM vpcflow.exec_ingest_trend|SELECT date_trunc('day', start_time), count(*) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '30 days' GROUP BY 1
exec_logging_coverage|SELECT * FROM vpcflow.exec_logging_coverage|SELECT account_id::text, count(DISTINCT interface_id::text) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '24 hours' AND start_time < '$NOW' GROUP BY 1
exec_anomalies_week|SELECT * FROM vpcflow.exec_anomalies_week|SELECT 1
oncall_ingest_health|SELECT * FROM vpcflow.oncall_ingest_health|SELECT date_bin('5 minutes', start_time, '2000-01-01'), interface_id::text, count(*), sum(bytes) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '1 hour' AND start_time < '$NOW' GROUP BY 1, 2
oncall_delivery_latency|SELECT * FROM vpcflow.oncall_delivery_latency|SELECT 1
oncall_silent_interfaces|SELECT * FROM vpcflow.oncall_silent_interfaces|SELECT interface_id::text, max(start_time) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '2 hours' AND start_time < '$NOW' GROUP BY 1 HAVING max(start_time) < '$NOW'::timestamptz - interval '15 minutes'
oncall_log_gaps|SELECT * FROM vpcflow.oncall_log_gaps|SELECT date_trunc('hour', start_time), interface_id::text, log_status::text, count(*) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '24 hours' AND start_time < '$NOW' AND log_status::text <> 'OK' GROUP BY 1, 2, 3
oncall_top_rejects|SELECT * FROM vpcflow.oncall_top_rejects|SELECT srcaddr, count(*) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '30 minutes' AND start_time < '$NOW' AND action::text = 'REJECT' GROUP BY 1 ORDER BY 2 DESC LIMIT 20
oncall_volume_spikes|SELECT * FROM vpcflow.oncall_volume_spikes|SELECT date_trunc('hour', start_time), subnet_id::text, sum(bytes) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '25 hours' AND start_time < '$NOW' GROUP BY 1, 2
debug_unattributed_24h|SELECT * FROM vpcflow.debug_unattributed_24h|SELECT date_trunc('hour', start_time), count(*) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '24 hours' AND start_time < '$NOW' AND vpcflow.lpm_id('interfaces', srcaddr, start_time) IS NULL GROUP BY 1
slis|SELECT * FROM vpcflow.slis|SELECT count(*) FILTER (WHERE action::text = 'REJECT')::float8 / count(*), sum(bytes) FROM vpcflow.flows WHERE start_time >= '$NOW'::timestamptz - interval '24 hours' AND start_time < '$NOW'
top_talkers(vpc, day)|SELECT * FROM vpcflow.top_talkers('$VPC', '$DAY0', '$DAY0'::timestamptz + interval '1 day')|SELECT dstaddr, sum(bytes) FROM vpcflow.flows WHERE vpc_id::text = '$VPC' AND start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' GROUP BY 1 ORDER BY 2 DESC NULLS LAST LIMIT 10
top_ports(vpc, day)|SELECT * FROM vpcflow.top_ports('$VPC', '$DAY0', '$DAY0'::timestamptz + interval '1 day')|SELECT dstport, count(*), sum(bytes) FROM vpcflow.flows WHERE vpc_id::text = '$VPC' AND start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' GROUP BY 1 ORDER BY 3 DESC NULLS LAST LIMIT 10
flow_durations(vpc, hour)|SELECT * FROM vpcflow.flow_durations('$VPC', '$H0', '$H1')|SELECT 1
cookbook: REJECT rate per hour (a VPC, a day)|SELECT bucket, round(sum(rejects)::numeric / nullif(sum(accepts) + sum(rejects), 0), 4) FROM vpcflow.rollup_vpc_1h WHERE bucket >= '$DAY0' AND bucket < '$DAY0'::timestamptz + interval '1 day' AND vpc_id::text = '$VPC' GROUP BY 1|SELECT date_trunc('hour', start_time), round(count(*) FILTER (WHERE action::text = 'REJECT')::numeric / nullif(count(action), 0), 4) FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND vpc_id::text = '$VPC' GROUP BY 1
cookbook: REJECT rate per day, 30 days|SELECT bucket, round(sum(rejects)::numeric / nullif(sum(accepts) + sum(rejects), 0), 4) FROM vpcflow.rollup_vpc_1d GROUP BY 1|SELECT date_trunc('day', start_time), round(count(*) FILTER (WHERE action::text = 'REJECT')::numeric / nullif(count(action), 0), 4) FROM vpcflow.flows GROUP BY 1
cookbook: egress by class and AWS service, 30 days|SELECT remote_class, aws_service, sum(bytes) FROM vpcflow.rollup_vpc_1d WHERE direction::text = 'egress' GROUP BY 1, 2|SELECT vpcflow.is_private_address(dstaddr), sum(bytes) FROM vpcflow.flows WHERE flow_direction::text = 'egress' GROUP BY 1
cookbook: internet vs internal vs peering, 30 days|SELECT CASE WHEN path = 'peering' THEN 'peering' ELSE remote_class END, sum(bytes) FROM vpcflow.rollup_vpc_1d GROUP BY 1|SELECT CASE WHEN traffic_path = 4 THEN 'peering' WHEN vpcflow.is_private_address(dstaddr) AND vpcflow.is_private_address(srcaddr) THEN 'internal' ELSE 'internet' END, sum(bytes) FROM vpcflow.flows GROUP BY 1
cookbook: IPv4 vs IPv6, 30 days|SELECT ip_family, sum(flows), sum(bytes) FROM vpcflow.rollup_vpc_1d GROUP BY 1|SELECT family(srcaddr), count(*), sum(bytes) FROM vpcflow.flows GROUP BY 1
cookbook: protocol mix, 30 days|SELECT protocol, sum(flows), sum(bytes) FROM vpcflow.rollup_vpc_1d GROUP BY 1|SELECT protocol, count(*), sum(bytes) FROM vpcflow.flows GROUP BY 1
cookbook: cross-AZ bytes, 30 days|SELECT vpc_id::text, sum(bytes) FROM vpcflow.rollup_vpc_1d WHERE path = 'cross_az' GROUP BY 1|SELECT vpc_id::text, sum(bytes) FROM vpcflow.flows WHERE traffic_path = 1 GROUP BY 1
cookbook: NAT to AWS services, 30 days|SELECT vpc_id::text, aws_service, sum(bytes) FROM vpcflow.rollup_vpc_1d WHERE path = 'nat_gateway' AND aws_service IN ('S3', 'DYNAMODB') GROUP BY 1, 2|SELECT vpc_id::text, sum(bytes) FROM vpcflow.flows WHERE interface_type = 'nat_gateway' GROUP BY 1
cookbook: new remote ports (a VPC, day vs 7 days)|SELECT service_port FROM vpcflow.rollup_1d WHERE bucket = '$DAY0' AND vpc_id::text = '$VPC' AND direction::text = 'egress' AND service_port >= 0 EXCEPT SELECT service_port FROM vpcflow.rollup_1d WHERE bucket >= '$DAY0'::timestamptz - interval '7 days' AND bucket < '$DAY0' AND vpc_id::text = '$VPC' AND direction::text = 'egress'|SELECT dstport FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND vpc_id::text = '$VPC' AND flow_direction::text = 'egress' EXCEPT SELECT dstport FROM vpcflow.flows WHERE start_time >= '$DAY0'::timestamptz - interval '7 days' AND start_time < '$DAY0' AND vpc_id::text = '$VPC' AND flow_direction::text = 'egress'
cookbook: vertical scans (rollup HLL vs exact, a day)|SELECT interface_id::text, vpcflow.hll_cardinality(vpcflow.hll_merge(dst_ports)) FROM vpcflow.rollup_1h WHERE bucket >= '$DAY0' AND bucket < '$DAY0'::timestamptz + interval '1 day' AND direction::text = 'ingress' AND remote_class = 'internet' GROUP BY 1 HAVING vpcflow.hll_cardinality(vpcflow.hll_merge(dst_ports)) >= 100|SELECT interface_id::text, count(DISTINCT dstport) FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND flow_direction::text = 'ingress' AND NOT vpcflow.is_private_address(srcaddr) GROUP BY 1 HAVING count(DISTINCT dstport) >= 100
cookbook: top talkers, 1 hour (raw)|SELECT srcaddr, sum(bytes) FROM vpcflow.flows WHERE start_time >= '$H0' AND start_time < '$H1' GROUP BY 1 ORDER BY 2 DESC NULLS LAST LIMIT 10|SELECT srcaddr, sum(bytes) FROM vpcflow.flows WHERE start_time >= '$H0' AND start_time < '$H1' GROUP BY 1 ORDER BY 2 DESC NULLS LAST LIMIT 10
cookbook: top pairs, 1 hour (raw)|SELECT srcaddr, dstaddr, sum(bytes) FROM vpcflow.flows WHERE start_time >= '$H0' AND start_time < '$H1' GROUP BY 1, 2 ORDER BY 3 DESC NULLS LAST LIMIT 10|SELECT 1
cookbook: rejects by source, 1 hour (raw)|SELECT srcaddr, count(*) FROM vpcflow.flows WHERE start_time >= '$H0' AND start_time < '$H1' AND action::text = 'REJECT' GROUP BY 1 ORDER BY 2 DESC LIMIT 10|SELECT 1
cookbook: admin ports from the internet, a day (raw)|SELECT DISTINCT dstaddr, dstport FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND dstport IN (22, 3389) AND action::text = 'ACCEPT' AND NOT vpcflow.is_private_address(srcaddr)|SELECT 1
cookbook: traffic of a CIDR, 1 hour (raw)|SELECT count(*) FROM vpcflow.flows WHERE start_time >= '$H0' AND start_time < '$H1' AND (srcaddr << inet '10.3.0.0/16' OR dstaddr << inet '10.3.0.0/16')|SELECT 1
cookbook: horizontal sweeps, a day (raw)|SELECT srcaddr, dstport, count(DISTINCT dstaddr) FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND NOT vpcflow.is_private_address(srcaddr) GROUP BY 1, 2 HAVING count(DISTINCT dstaddr) >= 20|SELECT 1
cookbook: who initiated (a pair, a day, raw)|SELECT DISTINCT srcaddr FROM vpcflow.flows WHERE start_time >= '$DAY0' AND start_time < '$DAY0'::timestamptz + interval '1 day' AND srcaddr << inet '10.3.0.0/16' AND tcp_flags & 2 <> 0 AND tcp_flags & 16 = 0 LIMIT 100|SELECT 1
Q

ms() {  # best of $2 warm execution times of $1 (ms, after one warm-up run), dashboard clock set
    { echo "SET vpcflow_dashboard.now = '$NOW';"; echo '\timing on'
      for ((i = 0; i <= $2; i++)); do echo "$1;"; done; } |
        "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -o /dev/null 2>&1 |
        sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n "$2" | sort -g | head -n 1
}
{
    echo "# Dashboards benchmark ($(date -u +%Y-%m-%d))"
    echo
    echo "$DAYS days x $ROWS_PER_DAY rows (gen_flows.py v5, one world: --seed 1 over $((DAYS * 24)) hours, cut into daily files); raw: $raw; generate + load + refresh $((t1 - t0)) s."
    echo "Refresh (one call per daily file, after its ingest): $refresh."
    echo "Totals (flows, packets, bytes, rejects) raw vs every rollup grain: $exact."
    echo "Rollups: $sizes."
    echo "Dashboard clock: $NOW. Dashboard queries: best of 3 warm runs; raw: one warm run after a warm-up. One core per query (no parallel query); shared machine (load average ~6 on 2 cores). Rows marked (raw) answer from raw rows of a window by design; \"-\" has no separate raw form."
    echo
    echo "| query | dashboard ms | from raw rows ms | raw / dashboard |"
    echo "|---|---:|---:|---:|"
    while IFS='|' read -r name q r; do
        a=$(ms "$q" 3)
        if [[ "$r" == "SELECT 1" ]]; then b='-'; ratio='-'
        else b=$(ms "$r" 1); ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1fx", b / a }'); fi
        echo "| $name | $a | $b | $ratio |"
    done < "$W/q.txt"
} > "$OUT"
cat "$OUT"
