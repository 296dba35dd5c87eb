#!/usr/bin/env bash
# bench/rls.sh: the cost of row-level security on vpcflow.flows, in one run.
#
#   PGHOST=... PGPORT=... PGUSER=<superuser> bench/rls.sh [ROWS]   (default 1000000)
#
# In a scratch database (vpcflow_rls_bench, dropped at the end) it loads ROWS
# flows spread over 10 accounts, then times three queries (a full aggregate,
# a one-hour time range, a top-talkers GROUP BY), best of 5, as
#   baseline: the superuser (row-level security does not apply),
#   all:      a tenant mapped to all 10 accounts (every row passes the policy),
#   one:      a tenant mapped to 1 account (the policy keeps a tenth),
# and prints the times with the ratios to the baseline.
set -euo pipefail
ROWS=${1:-1000000}
DB=vpcflow_rls_bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap '"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS bench_rls_all" -c "DROP ROLE IF EXISTS bench_rls_one" >/dev/null 2>&1 || true' EXIT

"${PSQL[@]}" -d "$DB" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION vpcflow;
SELECT FROM vpcflow.ensure_partitions('2025-03-04', '2025-03-06');
INSERT INTO vpcflow.flows (version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport,
                           protocol, action, log_status, packets, bytes, start_time, end_time)
SELECT 2, (100000000000 + i % 10)::text::vpcflow.awsid, 'eni-0a1b2c3d4e5f6071' || (i % 10),
       '10.0.0.0'::inet + (i % 5000), '10.1.0.0'::inet + (i % 700), 1024 + i % 50000, 443,
       6, CASE WHEN i % 7 = 0 THEN 'REJECT' ELSE 'ACCEPT' END::vpcflow.flow_action, 'OK',
       1 + i % 10, 100 + i % 9000,
       '2025-03-04'::timestamptz + (i % 172800) * interval '1 second',
       '2025-03-04'::timestamptz + (i % 172800 + 60) * interval '1 second'
FROM generate_series(1, $ROWS) i;
ANALYZE vpcflow.flows;
DROP ROLE IF EXISTS bench_rls_all;
DROP ROLE IF EXISTS bench_rls_one;
CREATE ROLE bench_rls_all NOLOGIN IN ROLE vpcflow_reader;
CREATE ROLE bench_rls_one NOLOGIN IN ROLE vpcflow_reader;
INSERT INTO vpcflow.tenant_accounts (role_id, account_id)
SELECT 'bench_rls_all'::regrole, (100000000000 + a)::text::vpcflow.awsid FROM generate_series(0, 9) a
UNION ALL SELECT 'bench_rls_one'::regrole, '100000000003';

CREATE FUNCTION pg_temp.best_ms(who text, q text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; best numeric;
BEGIN
    FOR i IN 1..5 LOOP
        IF who IS NOT NULL THEN EXECUTE format('SET ROLE %I', who); END IF;
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
        RESET ROLE;
    END LOOP;
    RETURN round(best, 1);
END \$\$;

CREATE TEMP TABLE q (name text, sql text);
INSERT INTO q VALUES
  ('full aggregate', 'SELECT count(*), sum(bytes) FROM vpcflow.flows'),
  ('one hour', \$q\$SELECT count(*), sum(bytes) FROM vpcflow.flows WHERE start_time >= '2025-03-04 10:00' AND start_time < '2025-03-04 11:00'\$q\$),
  ('top talkers', 'SELECT srcaddr, sum(bytes) FROM vpcflow.flows GROUP BY 1 ORDER BY 2 DESC LIMIT 10');
GRANT SELECT ON q TO PUBLIC;

\pset format aligned
SELECT name, base_ms, all_ms, round(all_ms / base_ms, 2) AS all_ratio,
       one_ms, round(one_ms / base_ms, 2) AS one_ratio
FROM (SELECT name, pg_temp.best_ms(NULL, sql) AS base_ms,
             pg_temp.best_ms('bench_rls_all', sql) AS all_ms,
             pg_temp.best_ms('bench_rls_one', sql) AS one_ms
      FROM q) s;
\q
SQL
