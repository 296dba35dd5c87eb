#!/usr/bin/env bash
# BI test over JDBC (tools/test.sh stage): a scratch database with a small
# generated flow log rolled up, then every dashboard view and function
# through Debian's PostgreSQL JDBC driver (libpostgresql-jdbc-java).
#   test/jdbc/run.sh PORT     (PGBIN: the PostgreSQL bin directory)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT=$1
PGBIN=${PGBIN:-${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}}
JAR=/usr/share/java/postgresql.jar
[[ -f "$JAR" ]] || { echo "FAIL jdbc: $JAR missing (apt-get install libpostgresql-jdbc-java)"; exit 1; }
command -v javac >/dev/null || { echo "FAIL jdbc: javac missing (apt-get install default-jdk-headless)"; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS vpcflow_jdbc" >/dev/null 2>&1 || true' EXIT
javac -d "$OUT" "$HERE/BiTypes.java"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql -d postgres -c 'DROP DATABASE IF EXISTS vpcflow_jdbc' -c 'CREATE DATABASE vpcflow_jdbc'
psql -d vpcflow_jdbc >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION vpcflow;
SELECT 1 FROM vpcflow.ingest_data('jdbc.log', convert_to(
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id az-id flow-direction traffic-path' || E'\n' ||
    (SELECT string_agg(format('5 111122223333 eni-0%s 10.0.%s.%s %s %s %s 6 %s %s %s %s %s OK vpc-0a0 subnet-0b%s use1-az1 %s %s',
                              i % 4, i % 3, 1 + i % 5, CASE WHEN i % 3 = 0 THEN '198.51.100.' || (i % 7) ELSE '10.0.2.' || (i % 5) END,
                              40000 + i, (ARRAY[443, 22, 5432, 61000])[1 + i % 4], 1 + i % 9, 100 * (1 + i % 13),
                              1714521600 + i * 11, 1714521600 + i * 11 + i % 40,
                              CASE WHEN i % 7 = 0 THEN 'REJECT' ELSE 'ACCEPT' END, i % 3,
                              CASE WHEN i % 2 = 0 THEN 'egress' ELSE 'ingress' END, 1 + i % 8), E'\n')
     FROM generate_series(1, 600) i) || E'\n', 'UTF8'));
SELECT 1 FROM vpcflow.refresh_rollups();
SQL
java -cp "$JAR:$OUT" BiTypes "jdbc:postgresql://127.0.0.1:$PORT/vpcflow_jdbc?user=postgres" "$HERE/functions.sql"
