#!/usr/bin/env bash
# vpcflow demo: a persistent local cluster in .demo/cluster with the sample
# flow logs (data/sample) loaded into database vpcflow, and a few reports.
#
#   tools/demo.sh [--no-setup]   set up, start (or reuse), load, report
#   tools/demo.sh stop           stop the demo cluster (data is kept)
#   tools/demo.sh destroy        stop it and delete .demo/
#
# Safe to re-run: the cluster, database and extension are reused, never
# dropped, and re-ingesting a file is reported as a duplicate and loads
# nothing.  Port: VPCFLOW_DEMO_PORT (default 55433).  VPCFLOW_SKIP_SETUP=1 or
# --no-setup skips the package step (the extension is still built).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tools"
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
CLUSTER="$REPO/.demo/cluster"
PORT=${VPCFLOW_DEMO_PORT:-55433}
SAMPLE="$REPO/data/sample"
# The demo cluster, like the test ones, runs with fsync=off and
# synchronous_commit=off (tools/cluster.sh): it only ever holds the sample,
# which can be reloaded; a machine crash may lose it.
export CRON_DB=vpcflow

do_setup=1
[[ "${VPCFLOW_SKIP_SETUP:-0}" == 1 ]] && do_setup=0
cmd=start
for arg in "$@"; do
    case "$arg" in
        start|stop|destroy) cmd=$arg ;;
        --no-setup) do_setup=0 ;;
        -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

case "$cmd" in
    stop)
        bash "$TOOLS/cluster.sh" stop "$CLUSTER"
        echo "demo cluster stopped; its data stays in .demo/ (tools/demo.sh starts it again," \
             "tools/demo.sh destroy deletes it)"
        exit 0 ;;
    destroy)
        bash "$TOOLS/cluster.sh" destroy "$CLUSTER"
        rmdir "$REPO/.demo" 2>/dev/null || true
        echo "demo cluster deleted"
        exit 0 ;;
esac

if ((do_setup)); then
    bash "$TOOLS/setup.sh"
else
    make -s -C "$REPO" PG_CONFIG="$PGBIN/pg_config"
    make -s -C "$REPO" install PG_CONFIG="$PGBIN/pg_config" >/dev/null
fi

bash "$TOOLS/cluster.sh" start "$CLUSTER" "$PORT"
# A cluster that was already running keeps the port it was started with.
PORT=$(sed -n 's/^port = //p' "$(bash "$TOOLS/cluster.sh" datadir "$CLUSTER")/vpcflow_cluster.conf")
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }

# pg_cron can only be created in cron.database_name; a cluster started by an
# older run with another setting is restarted once to pick up CRON_DB.
if [[ "$(psql -d postgres -Atc 'SHOW cron.database_name')" != "$CRON_DB" ]]; then
    bash "$TOOLS/cluster.sh" stop "$CLUSTER"
    bash "$TOOLS/cluster.sh" start "$CLUSTER" "$PORT"
fi
# During development the extension's script changes under the same
# version; a demo database made from another script is made afresh (it
# holds only the sample, which is loaded again below).
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$REPO/vpcflow.control")
script_md5=$(md5sum < "$("$PGBIN/pg_config" --sharedir)/extension/vpcflow--$version.sql" | cut -d' ' -f1)
stamp="$REPO/.demo/extension.md5"
if [[ -n "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'vpcflow'")" &&
      "$(cat "$stamp" 2>/dev/null)" != "$script_md5" ]]; then
    echo "demo.sh: the installed extension script changed: recreating database vpcflow"
    psql -d postgres -c 'DROP DATABASE vpcflow WITH (FORCE)'
fi
if [[ -z "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'vpcflow'")" ]]; then
    psql -d postgres -c 'CREATE DATABASE vpcflow'
fi
psql -d vpcflow -c 'SET client_min_messages = warning' \
     -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' \
     -c 'CREATE EXTENSION IF NOT EXISTS vpcflow'
echo "$script_md5" > "$stamp"
# Newer extension code installed than the database has: update in place
# (keeps the data); if there is no update path, say so and go on.
if [[ "$(psql -d vpcflow -Atc "SELECT installed_version IS DISTINCT FROM default_version
        FROM pg_available_extensions WHERE name = 'vpcflow'")" == t ]]; then
    psql -d vpcflow -c 'ALTER EXTENSION vpcflow UPDATE' ||
        echo "demo.sh: note: could not update extension vpcflow in database vpcflow;" \
             "'tools/demo.sh destroy' starts afresh" >&2
fi

# The server reads the files itself, by paths relative to its data directory.
bash "$TOOLS/cluster.sh" stage "$CLUSTER" "$SAMPLE" vpcflow_sample

mapfile -t files < <(cd "$SAMPLE" && find . -type f ! -name '*.md' | sed 's|^\./||' | LC_ALL=C sort)
((${#files[@]})) || { echo "demo.sh: no files under data/sample (run tools/make_sample.py)" >&2; exit 1; }

# One statement (and transaction) per file, results collected for one table.
{
    # The table below says the same as the duplicate-file notices.
    echo "SET client_min_messages = warning;"
    echo "CREATE TEMP TABLE demo_ingest AS"
    echo "  SELECT 0 AS n, * FROM vpcflow.ingest_file(NULL::text) WITH NO DATA;"
    n=0
    for f in "${files[@]}"; do
        n=$((n + 1))
        echo "INSERT INTO demo_ingest SELECT $n, * FROM vpcflow.ingest_file('vpcflow_sample/${f//\'/\'\'}');"
    done
    cat <<'EOF'
\pset footer off
\pset null '-'
\pset title 'Ingest of data/sample (a re-run reports duplicates and loads nothing)'
UPDATE demo_ingest SET file_name = regexp_replace(file_name, '^.*/', '');
SELECT * FROM demo_ingest ORDER BY n;
\pset title 'Store'
SELECT count(*) AS flows, min(start_time) AS first_start, max(end_time) AS last_end
FROM vpcflow.flows;
\pset title 'Top 10 talkers by bytes sent'
SELECT srcaddr, sum(bytes) AS bytes, pg_size_pretty(sum(bytes)::numeric) AS size,
       count(*) AS flows
FROM vpcflow.flows
WHERE srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY sum(bytes) DESC NULLS LAST, srcaddr
LIMIT 10;
\pset title 'REJECT rate, all flows with an action'
SELECT count(*) AS flows,
       count(*) FILTER (WHERE action = 'REJECT') AS rejected,
       round(100.0 * count(*) FILTER (WHERE action = 'REJECT') / nullif(count(*), 0), 2)
           AS reject_pct
FROM vpcflow.flows
WHERE action IS NOT NULL;
\pset title 'REJECT rate per interface (top 10 by rejected flows)'
SELECT interface_id,
       count(*) AS flows,
       count(*) FILTER (WHERE action = 'REJECT') AS rejected,
       round(100.0 * count(*) FILTER (WHERE action = 'REJECT') / nullif(count(*), 0), 2)
           AS reject_pct
FROM vpcflow.flows
WHERE action IS NOT NULL
GROUP BY interface_id
ORDER BY rejected DESC, reject_pct DESC, interface_id
LIMIT 10;
\pset title 'Bytes per account'
SELECT account_id, sum(bytes) AS bytes, pg_size_pretty(sum(bytes)::numeric) AS size,
       count(*) AS flows
FROM vpcflow.flows
GROUP BY account_id
ORDER BY account_id;
\pset title 'Flows per log_status'
SELECT log_status, count(*) AS flows
FROM vpcflow.flows
GROUP BY log_status
ORDER BY flows DESC, log_status;
-- Dashboards (docs/dashboards.md): roll up what was loaded, then read the
-- rollups as of the sample's last minute.
\pset title 'Rollups: files folded in by this run'
SELECT files, flows, minute_rows, hour_rows, day_rows FROM vpcflow.refresh_rollups();
SELECT set_config('vpcflow_dashboard.now',
                  (SELECT max(end_time) + interval '1 minute' FROM vpcflow.flows)::text, false) AS dashboard_now;
\pset title 'Executive: egress cost by VPC and path, 30 days (top 10)'
SELECT account_id, vpc_id, path, flows, pg_size_pretty(bytes) AS bytes, usd_per_gb,
       round(cost_usd, 4) AS cost_usd
FROM vpcflow.exec_egress_cost_30d LIMIT 10;
\pset title 'Executive: logging coverage by account (24 hours)'
SELECT * FROM vpcflow.exec_logging_coverage ORDER BY account_id;
\pset title 'On-call: top REJECT sources, last 30 minutes'
SELECT * FROM vpcflow.oncall_top_rejects LIMIT 10;
\pset title 'Debug: top talkers of the whole sample (rollups)'
SELECT * FROM vpcflow.top_talkers(NULL, (SELECT min(start_time) FROM vpcflow.flows),
                                  vpcflow.dashboard_now(), 5);
\pset title 'SLIs'
SELECT sli, scope, round(value::numeric, 4) AS value, unit, time_window, detail
FROM vpcflow.slis WHERE sli <> 'volume_per_vpc';
EOF
} | psql -d vpcflow -P pager=off -f -

cat <<EOF

Connect: psql -h 127.0.0.1 -p $PORT -U postgres vpcflow
Stop:    tools/demo.sh stop      (data is kept; tools/demo.sh destroy deletes it)
EOF
