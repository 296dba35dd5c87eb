#!/usr/bin/env bash
# Run every vpcflow test against a throwaway PostgreSQL 15 cluster.
#
#   tools/test.sh [--no-setup] [--keep]
#
#   --no-setup   skip the package step of tools/setup.sh (also
#                VPCFLOW_SKIP_SETUP=1); the extension is still rebuilt and
#                installed, so the tests always see the working tree
#   --keep       leave the cluster running afterwards, for debugging
#   FUZZ_SECONDS seconds per fuzz harness (default 20)
#
# Stages: (a) make installcheck (pg_regress, sql/*.sql), (b) pgTAP via
# pg_prove (test/*.sql, database vpcflow_tap), (c) fuzz/run.sh, (d)
# tools/unit.sh, (e) test/loader.sh (vpcflow-load against the cluster), (f) test/jdbc/run.sh (dashboards over JDBC).
# (g) test/shard.sh: its own coordinator, shards and reference server.  The last line printed is "N passed, N failed", totals over
# all stages; exit 0 only if nothing failed and every stage ran to its end.
# Test data is staged into the data directory: test/data as
# 'vpcflow_testdata/...', ../shared/fixtures (if present) as
# 'vpcflow_fixtures/...'.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tools"
PGBIN=${VPCFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
export PG_CONFIG="$PGBIN/pg_config"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
[[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]] || { echo "test.sh: FUZZ_SECONDS must be a number" >&2; exit 2; }

do_setup=1
[[ "${VPCFLOW_SKIP_SETUP:-0}" == 1 ]] && do_setup=0
keep=0
for arg in "$@"; do
    case "$arg" in
        --no-setup) do_setup=0 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

# Everything below runs from the repo root (Makefile, relative test names).
cd "$REPO"

PASSED=0
FAILED=0
COMPLETE=0      # set when every stage has run to its end
WORK=""         # mktemp dir holding the cluster and stage outputs
CLUSTER=""
PORT=""
STAGE_PID=""    # process group of the running stage (see run_logged)
TAIL_PID=""
KEEP_DB=postgres  # database named in the --keep hint

say()  { printf '%s\n' "$*"; }
note_fail() { FAILED=$((FAILED + $1)); say "!! $2"; }

# Runs at every exit: stop and delete the cluster, then print the totals as
# the very last line.  Cleanup comes before any printing, and SIGPIPE is
# ignored, so a dead reader (e.g. "| tee" hit by Ctrl-C) cannot stop it.
finish() {
    local rc=$? datadir="" log="" saved=""
    trap - EXIT
    trap '' INT TERM HUP PIPE   # let the cleanup finish (it is time-bounded)
    set +e
    if [[ -n "$STAGE_PID" ]]; then
        kill -TERM -- "-$STAGE_PID" 2>/dev/null
        sleep 1
        kill -KILL -- "-$STAGE_PID" 2>/dev/null
    fi
    [[ -n "$TAIL_PID" ]] && kill "$TAIL_PID" 2>/dev/null
    if ((!COMPLETE)); then
        # Aborted (error, build failure, Ctrl-C): never report a clean run.
        ((FAILED > 0)) || FAILED=1
    fi
    if [[ -n "$CLUSTER" ]]; then
        datadir=$(bash "$TOOLS/cluster.sh" datadir "$CLUSTER" 2>/dev/null)
        log="$datadir/log/postgresql.log"
        if ((FAILED > 0)) && [[ -f "$log" ]]; then
            mkdir -p "$REPO/log" && cp "$log" "$REPO/log/test-server.log" &&
                saved="$REPO/log/test-server.log"
        fi
        ((keep)) || bash "$TOOLS/cluster.sh" destroy "$CLUSTER" >/dev/null 2>&1
    fi
    if [[ -n "$WORK" ]] && ((!keep)); then rm -rf -- "$WORK"; fi

    ((COMPLETE)) || say "!! test run did not complete (exit status $rc)"
    if [[ -n "$saved" ]]; then
        say "---- last 50 lines of the server log (kept in log/test-server.log) ----"
        tail -n 50 "$saved"
        say "----"
    fi
    if [[ -n "$CLUSTER" ]] && ((keep)); then
        say "cluster kept running: psql -h 127.0.0.1 -p $PORT -U postgres $KEEP_DB"
        say "stop and delete it:   $TOOLS/cluster.sh destroy $CLUSTER && rm -rf $WORK"
    fi
    say "$PASSED passed, $FAILED failed"
    if ((FAILED == 0 && COMPLETE)); then exit 0; fi
    exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

# run_logged OUT SECONDS CMD... : run CMD with a time limit in its own process
# group (so a hang or Ctrl-C kills all of it), output to OUT, shown live.
run_logged() {
    local out=$1 secs=$2 rc=0
    shift 2
    : >"$out"
    timeout -k 15 "$secs" "$@" >"$out" 2>&1 </dev/null &
    STAGE_PID=$!
    tail -n +1 -f --pid="$STAGE_PID" "$out" &
    TAIL_PID=$!
    wait "$STAGE_PID" || rc=$?
    STAGE_PID=""
    wait "$TAIL_PID" 2>/dev/null || true
    TAIL_PID=""
    if ((rc == 124 || rc == 137)); then say "!! timed out after ${secs}s: $*"; fi
    return "$rc"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- build
if ((do_setup)); then
    say "== setup (tools/setup.sh)"
    bash "$TOOLS/setup.sh" || { note_fail 1 "setup/build failed"; exit 1; }
else
    say "== build (make, make install)"
    { make -s -C "$REPO" && make -s -C "$REPO" install >/dev/null; } ||
        { note_fail 1 "build failed"; exit 1; }
fi

# ---------------------------------------------------------------- cluster
WORK=$(mktemp -d /tmp/vpcflow-test.XXXXXX)
CLUSTER="$WORK/cluster"
started=0
port=55432
for ((tries = 0; tries < 5 && port < 55632; port++)); do
    port_in_use "$port" && continue
    tries=$((tries + 1))
    # A start can still lose a race for the port with another run: try on.
    if bash "$TOOLS/cluster.sh" start "$CLUSTER" "$port"; then started=1; break; fi
done
((started)) || { note_fail 1 "could not start a test cluster"; exit 1; }
PORT=$port
say "== cluster on 127.0.0.1:$PORT ($CLUSTER)"
export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres
unset PGDATABASE PGSERVICE PGOPTIONS PGPASSWORD

if [[ -d "$REPO/test/data" ]]; then
    bash "$TOOLS/cluster.sh" stage "$CLUSTER" "$REPO/test/data" vpcflow_testdata
fi
if [[ -d "$REPO/../shared/fixtures" ]]; then
    bash "$TOOLS/cluster.sh" stage "$CLUSTER" "$REPO/../shared/fixtures" vpcflow_fixtures
else
    say "(no ../shared/fixtures: tests needing vpcflow_fixtures/ must skip)"
fi

# ---------------------------------------------------------------- (a) pg_regress
shopt -s nullglob
regress_sql=("$REPO"/sql/*.sql)
if ((${#regress_sql[@]})); then
    say "== (a) make installcheck (${#regress_sql[@]} files)"
    rc=0
    # Results and diffs go to the temp dir, so concurrent runs in one
    # checkout cannot mix them up; a failure's diffs are copied back.
    mkdir -p "$WORK/regress"
    run_logged "$WORK/regress.out" 600 make -C "$REPO" installcheck PG_CONFIG="$PG_CONFIG" \
        EXTRA_REGRESS_OPTS="--outputdir=$WORK/regress" || rc=$?
    # pg_regress 15:  "test name   ... ok   12 ms" / "... FAILED" / "... failed (ignored)"
    # (16+ prints TAP: "ok 1 - name", "not ok 2 - name"; accepted too.)
    ok=$(grep -cE '^(test +| +)?[^ ]+ +\.\.\. +(ok|failed \(ignored\))( |$)|^ok [0-9]+ +[-+] ' \
         "$WORK/regress.out" || true)
    bad=$(grep -cE '^(test +| +)?[^ ]+ +\.\.\. +FAILED|^not ok [0-9]+ +[-+] ' \
          "$WORK/regress.out" || true)
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    say "-- regress: $ok ok, $bad failed"
    if ((rc != 0 && bad == 0)); then
        note_fail 1 "make installcheck exited with status $rc before reporting a failing test"
    fi
    if ((rc != 0)) && [[ -s "$WORK/regress/regression.diffs" ]]; then
        cp "$WORK/regress/regression.diffs" "$REPO/regression.diffs"
        say "---- regression.diffs (first 200 lines; all of it in ./regression.diffs) ----"
        head -n 200 "$WORK/regress/regression.diffs"
        say "----"
    fi
else
    say "== (a) no sql/*.sql: pg_regress skipped"
fi

# ---------------------------------------------------------------- (b) pgTAP
tap_sql=("$REPO"/test/*.sql)
if ((${#tap_sql[@]})); then
    say "== (b) pgTAP (${#tap_sql[@]} files, database vpcflow_tap)"
    if ! PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
            -c 'DROP DATABASE IF EXISTS vpcflow_tap' -c 'CREATE DATABASE vpcflow_tap' ||
       ! "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d vpcflow_tap \
            -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION vpcflow'; then
        note_fail 1 "could not prepare database vpcflow_tap"
    else
        KEEP_DB=vpcflow_tap
        tap_ok=0 tap_bad=0
        for f in "${tap_sql[@]}"; do
            rel=${f#"$REPO/"}
            rc=0
            run_logged "$WORK/tap.out" 300 pg_prove --verbose \
                -h 127.0.0.1 -p "$PORT" -U postgres -d vpcflow_tap "$rel" || rc=$?
            # Top-level assertion lines only (indented ones are subtests of
            # a runtests() assertion).  "not ok ... # TODO" is a pass.
            ok=$(grep -cE '^ok [0-9]+' "$WORK/tap.out" || true)
            todo=$(grep -cE '^not ok [0-9]+.*# *TODO' "$WORK/tap.out" || true)
            bad=$(grep -cE '^not ok [0-9]+' "$WORK/tap.out" || true)
            bad=$((bad - todo)); ok=$((ok + todo))
            # A file that died (no plan, bad plan, SQL error) fails once.
            if ((rc != 0 && bad == 0)); then
                bad=1
                say "!! $rel: pg_prove status $rc without a failing assertion (died, no plan or bad plan)"
            fi
            tap_ok=$((tap_ok + ok)); tap_bad=$((tap_bad + bad))
        done
        PASSED=$((PASSED + tap_ok))
        FAILED=$((FAILED + tap_bad))
        say "-- pgTAP: $tap_ok ok, $tap_bad failed"
    fi
else
    say "== (b) no test/*.sql: pgTAP skipped"
fi

# count_pass_fail OUT RC NAME: add the PASS/FAIL lines of a harness runner.
count_pass_fail() {
    local out=$1 rc=$2 name=$3 ok bad
    ok=$(grep -cE '^PASS ' "$out" || true)
    bad=$(grep -cE '^FAIL ' "$out" || true)
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    say "-- $name: $ok PASS, $bad FAIL (exit status $rc)"
    if ((rc != 0 && bad == 0)); then
        note_fail 1 "$name exited with status $rc without a FAIL line"
    elif ((ok + bad == 0)); then
        say "!! $name printed no PASS/FAIL line"
    fi
}

# ---------------------------------------------------------------- (c) fuzz
if [[ -x "$REPO/fuzz/run.sh" ]]; then
    say "== (c) fuzz/run.sh (FUZZ_SECONDS=$FUZZ_SECONDS)"
    rc=0
    # Time cap: room for the build and for several harnesses of FUZZ_SECONDS each.
    run_logged "$WORK/fuzz.out" $((FUZZ_SECONDS * 15 + 300)) \
        env FUZZ_SECONDS="$FUZZ_SECONDS" ./fuzz/run.sh || rc=$?
    count_pass_fail "$WORK/fuzz.out" "$rc" fuzz
elif [[ -e "$REPO/fuzz/run.sh" ]]; then
    say "== (c) fuzz/run.sh is not executable: skipped"
else
    say "== (c) no fuzz/run.sh: skipped"
fi

# ---------------------------------------------------------------- (d) unit
if [[ -f "$REPO/tools/unit.sh" ]]; then
    say "== (d) tools/unit.sh"
    rc=0
    run_logged "$WORK/unit.out" 300 bash ./tools/unit.sh || rc=$?
    count_pass_fail "$WORK/unit.out" "$rc" unit
else
    say "== (d) no tools/unit.sh: skipped"
fi

# ---------------------------------------------------------------- (e) loader
if [[ -f "$REPO/test/loader.sh" && -x "$REPO/vpcflow-load" ]]; then
    say "== (e) test/loader.sh (vpcflow-load)"
    rc=0
    run_logged "$WORK/loader.out" 600 env VPCFLOW_CLUSTER="$CLUSTER" bash ./test/loader.sh || rc=$?
    count_pass_fail "$WORK/loader.out" "$rc" loader
elif [[ -f "$REPO/test/loader.sh" ]]; then
    note_fail 1 "vpcflow-load was not built"
fi

# ---------------------------------------------------------------- (f) JDBC
if [[ -f "$REPO/test/jdbc/run.sh" ]]; then
    say "== (f) test/jdbc/run.sh (dashboards over JDBC)"
    rc=0
    run_logged "$WORK/jdbc.out" 300 env PGBIN="$PGBIN" bash ./test/jdbc/run.sh "$PORT" || rc=$?
    count_pass_fail "$WORK/jdbc.out" "$rc" jdbc
fi

# ---------------------------------------------------------------- (g) scale-out
if [[ -f "$REPO/test/shard.sh" && -x "$REPO/vpcflow-load" ]]; then
    say "== (g) test/shard.sh (coordinator and two shards, docs/scaleout.md)"
    rc=0
    run_logged "$WORK/shard.out" 600 env VPCFLOW_PGBIN="$PGBIN" bash ./test/shard.sh || rc=$?
    count_pass_fail "$WORK/shard.out" "$rc" shard
fi

COMPLETE=1
