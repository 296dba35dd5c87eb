#!/usr/bin/env bash
# Throwaway PostgreSQL 15 clusters for tests and the demo.  Never touches the
# Debian system cluster.  Run as root; the server runs as OS user postgres.
#
#   tools/cluster.sh start   DIR PORT   initdb if needed, start, wait for ready
#   tools/cluster.sh stop    DIR        fast shutdown (no-op if not running)
#   tools/cluster.sh status  DIR        exit 0 running, 3 stopped, 4 no cluster
#   tools/cluster.sh stage   DIR SRC NAME
#                                       copy file/folder SRC to $PGDATA/NAME so
#                                       SQL can read it as 'NAME/...'
#   tools/cluster.sh destroy DIR        stop and delete (data, socket dir, link)
#   tools/cluster.sh datadir DIR        print the real data directory
#
# Env: CRON_DB (default postgres) -> cron.database_name, applied at each start.
# Can also be sourced (under set -euo pipefail): it then only defines the
# cluster_* functions.
#
# Connect over TCP: psql -h 127.0.0.1 -p PORT -U postgres (trust, loopback
# only).  The unix socket sits in a private 0700 directory under /tmp, for OS
# user postgres only (peer auth).
set -euo pipefail

PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}

_cluster_die() { echo "cluster.sh: $*" >&2; exit 1; }

# as_postgres CMD...: run as OS user postgres from a directory it can read
# (postgres tools call getcwd(), and the caller's cwd may be /root/...).
_as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# Real data directory behind DIR (DIR may be a symlink into /tmp).
cluster_datadir() { readlink -f -- "$1"; }

# Socket directory: short, derived from the real path so it can be recreated
# after /tmp cleaning, and private to postgres.
_cluster_sockdir() {
    local h
    h=$(printf '%s' "$(cluster_datadir "$1")" | md5sum | cut -c1-12)
    echo "/tmp/vpcflow-s-$h"
}

_cluster_make_sockdir() {
    local s=$1
    if [[ -L "$s" || ( -e "$s" && "$(stat -c %U "$s")" != postgres ) ]]; then
        rm -rf -- "$s"   # not ours: never let the server follow it
    fi
    mkdir -p -- "$s"
    chown postgres:postgres "$s"
    chmod 700 "$s"
}

_cluster_is_initialized() { [[ -f "$(cluster_datadir "$1")/PG_VERSION" ]]; }

cluster_is_running() {
    local d
    d=$(cluster_datadir "$1")
    [[ -f "$d/PG_VERSION" ]] && _as_postgres "$PGBIN/pg_ctl" -D "$d" status >/dev/null 2>&1
}

# Create DIR as an empty data directory owned by postgres.  If postgres
# cannot reach DIR's parent (e.g. a checkout under /root, mode 700), the data
# lives in a fresh /tmp directory and DIR becomes a symlink to it.
_cluster_create_dir() {
    local dir=$1 parent real
    parent=$(dirname -- "$dir")
    mkdir -p -- "$parent"
    if [[ -L "$dir" && ! -e "$dir" ]]; then
        rm -f -- "$dir"   # dangling link left by a cleaned /tmp
    fi
    if _as_postgres test -x "$parent" 2>/dev/null; then
        mkdir -p -- "$dir"
    else
        real=$(mktemp -d /tmp/vpcflow-pgdata.XXXXXX)
        ln -s -- "$real" "$dir"
    fi
    real=$(cluster_datadir "$dir")
    [[ -z "$(ls -A -- "$real")" ]] || _cluster_die "$dir exists, is not empty and holds no cluster"
    chown postgres:postgres "$real"
    chmod 700 "$real"
}

_cluster_initdb() {
    local dir=$1 d out
    _cluster_create_dir "$dir"
    d=$(cluster_datadir "$dir")
    out=$(_as_postgres "$PGBIN/initdb" -D "$d" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=reject 2>&1) ||
        { echo "$out" >&2; _cluster_die "initdb failed in $d"; }
    # Loopback only, trusted: these clusters hold throwaway data and listen on
    # 127.0.0.1 alone.  The socket is in a 0700 postgres-only directory.
    cat >"$d/pg_hba.conf" <<'EOF'
# vpcflow throwaway cluster (tools/cluster.sh)
local   all   all                  peer
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
EOF
    cat >>"$d/postgresql.conf" <<'EOF'

# ---- vpcflow throwaway cluster (tools/cluster.sh) ----
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'pg_cron'
shared_buffers = 512MB
max_wal_size = 4GB
# Durability off: these clusters (tests and the demo) hold only data that can
# be regenerated; a crash may lose or corrupt them.  Never copy to production.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_line_prefix = '%m [%p] %q%u@%d '
# Port, socket directory and cron database: rewritten at every start.
include = 'vpcflow_cluster.conf'
EOF
    mkdir -p "$d/log"
    chown postgres:postgres "$d/pg_hba.conf" "$d/log"
}

cluster_start() {
    local dir=$1 port=$2 d sock
    [[ "$port" =~ ^[0-9]+$ ]] || _cluster_die "bad port '$port'"
    if _cluster_is_initialized "$dir" && cluster_is_running "$dir"; then
        return 0
    fi
    _cluster_is_initialized "$dir" || _cluster_initdb "$dir"
    d=$(cluster_datadir "$dir")
    sock=$(_cluster_sockdir "$dir")
    _cluster_make_sockdir "$sock"
    cat >"$d/vpcflow_cluster.conf" <<EOF
# written by tools/cluster.sh start; edits are lost at the next start
port = $port
unix_socket_directories = '$sock'
cron.database_name = '${CRON_DB:-postgres}'
EOF
    chown postgres:postgres "$d/vpcflow_cluster.conf"
    if ! _as_postgres "$PGBIN/pg_ctl" -D "$d" -l "$d/log/startup.log" -w -t 120 \
            start >/dev/null 2>&1; then
        echo "cluster.sh: server in $dir failed to start; log tail:" >&2
        tail -n 30 "$d/log/startup.log" "$d/log/postgresql.log" >&2 2>/dev/null || true
        return 1
    fi
    local i
    for ((i = 0; i < 120; i++)); do
        "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && return 0
        sleep 0.5
    done
    _cluster_die "server in $dir did not accept connections on port $port"
}

cluster_stop() {
    local dir=$1 d
    _cluster_is_initialized "$dir" || return 0
    cluster_is_running "$dir" || return 0
    d=$(cluster_datadir "$dir")
    _as_postgres "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        _as_postgres "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 ||
        _cluster_die "could not stop the server in $dir"
    rmdir -- "$(_cluster_sockdir "$dir")" 2>/dev/null || true   # start recreates it
}

cluster_status() {
    local dir=$1
    if ! _cluster_is_initialized "$dir"; then
        echo "no cluster at $dir"; return 4
    fi
    local d port
    d=$(cluster_datadir "$dir")
    port=$(sed -n 's/^port = //p' "$d/vpcflow_cluster.conf" 2>/dev/null || true)
    if cluster_is_running "$dir"; then
        echo "running: $dir (data $d), psql -h 127.0.0.1 -p ${port:-?} -U postgres"
        return 0
    fi
    echo "stopped: $dir (data $d)"
    return 3
}

# Names that would clobber the server's own files are refused.
cluster_stage() {
    local dir=$1 src=$2 name=$3 d
    _cluster_is_initialized "$dir" || _cluster_die "no cluster at $dir"
    [[ -e "$src" ]] || _cluster_die "stage: $src does not exist"
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ && "$name" != pg_* ]] ||
        _cluster_die "stage: bad name '$name'"
    case "$name" in
        base|global|log|PG_VERSION|postgresql.conf|postgresql.auto.conf|\
        pg_hba.conf|pg_ident.conf|postmaster.pid|postmaster.opts|vpcflow_cluster.conf)
            _cluster_die "stage: '$name' is a server file" ;;
    esac
    d=$(cluster_datadir "$dir")
    rm -rf -- "${d:?}/$name"
    cp -R -- "$src" "$d/$name"
    # shared/ may be read-only: give postgres ownership and usable modes.
    chown -R postgres:postgres "$d/$name"
    chmod -R u+rwX,go-rwx "$d/$name"
}

cluster_destroy() {
    local dir=$1 d
    [[ -e "$dir" || -L "$dir" ]] || return 0
    cluster_stop "$dir" || true
    d=$(cluster_datadir "$dir")
    rm -rf -- "$(_cluster_sockdir "$dir")"
    if [[ -L "$dir" ]]; then
        rm -rf -- "$d"
        rm -f -- "$dir"
    else
        rm -rf -- "$dir"
    fi
}

_cluster_main() {
    local cmd=${1:-}
    [[ $(id -u) -eq 0 ]] || _cluster_die "run as root (the server runs as postgres)"
    id postgres >/dev/null 2>&1 || _cluster_die "no OS user postgres: run tools/setup.sh"
    case "$cmd" in
        start)   [[ $# -eq 3 ]] || _cluster_usage; cluster_start "$(_abs "$2")" "$3" ;;
        stop)    [[ $# -eq 2 ]] || _cluster_usage; cluster_stop "$(_abs "$2")" ;;
        status)  [[ $# -eq 2 ]] || _cluster_usage; cluster_status "$(_abs "$2")" ;;
        stage)   [[ $# -eq 4 ]] || _cluster_usage; cluster_stage "$(_abs "$2")" "$3" "$4" ;;
        destroy) [[ $# -eq 2 ]] || _cluster_usage; cluster_destroy "$(_abs "$2")" ;;
        datadir) [[ $# -eq 2 ]] || _cluster_usage; cluster_datadir "$(_abs "$2")" ;;
        *) _cluster_usage ;;
    esac
}

# Absolute path without resolving a final symlink.
_abs() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

_cluster_usage() {
    sed -n '5,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _cluster_main "$@"
fi
