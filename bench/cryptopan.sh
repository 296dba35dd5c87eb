#!/usr/bin/env bash
# bench/cryptopan.sh: Crypto-PAn throughput, in one run.
#
#   bench/cryptopan.sh [ADDRESSES]            (default 500000)
#
# (1) The C core (bench/cryptopan_bench.c): vpcflow's AES-NI and portable
#     paths against OpenSSL EVP AES-128-ECB as the baseline (needs libssl-dev).
# (2) With PGHOST/PGPORT set (a server with vpcflow installed, as a
#     superuser): vpcflow.anonymize over ADDRESSES IPv4 and ADDRESSES/4 IPv6
#     addresses against a trivial inet -> inet function (set_masklen) over the
#     same rows as the baseline, three runs each, best taken.
set -euo pipefail
N=${1:-500000}
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=$(mktemp /tmp/vpcflow-cpbench.XXXXXX)
trap 'rm -f "$BIN"' EXIT

cc -O2 -Wall -Wextra -Werror -I"$REPO/src" -o "$BIN" "$REPO/bench/cryptopan_bench.c" \
    "$REPO/src/cryptopan.c" -lcrypto
echo "== C core, $N addresses"
"$BIN" "$N"

[[ -n "${PGPORT:-}" ]] || { echo "(PGPORT not set: SQL part skipped)"; exit 0; }
echo "== SQL, best of 3"
psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" <<SQL
CREATE EXTENSION IF NOT EXISTS vpcflow;
CREATE TEMP TABLE a4 AS SELECT ('0.0.0.0'::inet + (i::bigint * 7919) % 4294967295) AS a FROM generate_series(1, $N) i;
CREATE TEMP TABLE a6 AS SELECT ('2001:db8::'::inet + (i::bigint * 104729)) AS a FROM generate_series(1, $N / 4) i;
CREATE FUNCTION pg_temp.best_ms(q text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; best numeric;
BEGIN
    FOR i IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best, 1);
END \$\$;
\set k '\\\\x1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202'
SELECT fam, n, base_ms, anon_ms, round(n / anon_ms * 1000) AS anon_per_s,
       round(anon_ms / base_ms, 1) AS ratio_to_baseline
FROM (SELECT 'IPv4' AS fam, $N AS n,
             pg_temp.best_ms('SELECT count(set_masklen(a, masklen(a))) FROM a4') AS base_ms,
             pg_temp.best_ms(format('SELECT count(vpcflow.anonymize(a, %L)) FROM a4', :'k')) AS anon_ms
      UNION ALL
      SELECT 'IPv6', $N / 4,
             pg_temp.best_ms('SELECT count(set_masklen(a, masklen(a))) FROM a6'),
             pg_temp.best_ms(format('SELECT count(vpcflow.anonymize(a, %L)) FROM a6', :'k'))) s;
SQL
