#!/usr/bin/env bash
# Install what vpcflow needs on Debian bookworm, then build and install the
# extension.  Run as root; idempotent; silent when there is nothing to do.
#
#   tools/setup.sh            packages + build + install
#   tools/setup.sh --no-build packages only
#
# Never creates, starts or stops the Debian system cluster (15/main): tests
# and the demo run their own throwaway clusters (tools/cluster.sh).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}/pg_config

# postgresql-contrib is not listed: since PostgreSQL 10 Debian ships contrib
# inside postgresql-15 itself (it Provides postgresql-contrib-15).
PACKAGES=(
    build-essential
    postgresql-15
    postgresql-server-dev-15
    postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl   # pg_prove
    postgresql-15-cron
    postgresql-15-plproxy                    # scale-out: PL/Proxy, installed, not used yet (docs/scaleout.md)
    zlib1g-dev
    libzstd-dev                              # warm tier block compression
    clang
    libclang-rt-14-dev                       # libFuzzer runtime for fuzz/
    python3
    libssl-dev                               # bench/cryptopan.sh baseline (OpenSSL EVP)
    libjson-c-dev                            # bench/multicloud.sh: json-c comparison
    libpostgresql-jdbc-java                  # BI test over JDBC (test/jdbc)
    default-jdk-headless
)

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
    esac
done

if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: must run as root (installs Debian packages)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$st" == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "setup.sh: installing ${missing[*]}"
    # Must exist before postgresql-15's postinst runs, or it would create
    # (and on systemd machines start) the 15/main system cluster.
    # createcluster.conf includes this directory; harmless if the cluster
    # already exists.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' \
        > /etc/postgresql-common/createcluster.d/vpcflow-no-main-cluster.conf
    export DEBIAN_FRONTEND=noninteractive
    # apt's chatter is shown only if it fails.
    aptlog=$(mktemp)
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
               "${missing[@]}"; } >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        echo "setup.sh: apt-get failed" >&2
        exit 1
    fi
    rm -f "$aptlog"
fi

if ((build)); then
    # A build failure should show the compiler's errors, nothing else.
    make -s -C "$REPO" PG_CONFIG="$PG_CONFIG"
    make -s -C "$REPO" install PG_CONFIG="$PG_CONFIG" >/dev/null
fi
