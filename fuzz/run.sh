#!/bin/bash
#
# run.sh: build the libFuzzer harnesses (fuzz/fuzz_*.c) with ASan and
# UBSan into fuzz/build/, run each for FUZZ_SECONDS (default 20) over a
# scratch copy of its seed corpus fuzz/corpus/<name>/, and print
# "PASS fuzz_<name>" or "FAIL fuzz_<name>" per harness.  A crash leaves
# its reproducer in fuzz/crashes/ and prints the start of the report.
# Exits non-zero if any harness fails.
#
# Each harness names the sources it links with in a comment line
#   " * fuzz sources: src/a.c src/b.c"
# and may have a libFuzzer dictionary fuzz/<name>.dict.
# Usage: fuzz/run.sh [name ...]
#   (parse, envelope, cloud, idcodec, ipprefix, lpm, aggstate; default: all)
# FUZZ_SECONDS=0 only replays the seed corpus.
# FUZZ_JOBS (default: the number of CPUs) harnesses are built and run at
# once, each for the full FUZZ_SECONDS; results print in the usual order.
# Wall time is about ceil(harnesses / FUZZ_JOBS) * FUZZ_SECONDS plus builds.
#
set -u

root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
CLANG=${CLANG:-clang}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
if ! [ "$FUZZ_JOBS" -ge 1 ] 2>/dev/null; then
	FUZZ_JOBS=1
fi
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc"
build=fuzz/build
crashes=fuzz/crashes

mkdir -p "$build" "$crashes" || exit 2

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		names+=("${n#fuzz_}")
	done
fi

# clang and its libFuzzer runtime (libclang-rt-*-dev) must both be there
have_clang=0
if command -v "$CLANG" >/dev/null 2>&1 &&
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' |
	"$CLANG" -fsanitize=fuzzer,address,undefined -x c - -o "$build/.probe" >/dev/null 2>&1; then
	have_clang=1
fi
rm -f "$build/.probe"

# build and run one harness; prints its PASS/FAIL lines, returns non-zero on FAIL
run_one() {
	local short=$1 name src srcs work limit dict log rc runs artifact first
	short=${short#fuzz_}
	name=fuzz_$short
	src=fuzz/$name.c
	if [ "$have_clang" -eq 0 ]; then
		echo "FAIL $name (no clang)"
		return 1
	fi
	if [ ! -f "$src" ]; then
		echo "FAIL $name (no $src)"
		return 1
	fi
	srcs=$(sed -n 's/^ \* fuzz sources: *//p' "$src")
	# build beside and rename, so a concurrent run's binary is not clobbered
	# shellcheck disable=SC2086  # word splitting of the flag and source lists is wanted
	if ! "$CLANG" $CFLAGS -o "$build/$name.$$" "$src" $srcs >"$build/$name.build.$$" 2>&1; then
		echo "FAIL $name (does not build)"
		sed 's/^/    /' "$build/$name.build.$$" | head -40
		rm -f "$build/$name.$$" "$build/$name.build.$$"
		return 1
	fi
	rm -f "$build/$name.build.$$"
	mv -f "$build/$name.$$" "$build/$name"

	# the run adds to its corpus: never let that be the committed one
	work=$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-$name.XXXXXX") || exit 2
	mkdir -p "$work/corpus"
	if [ -d "fuzz/corpus/$short" ]; then
		cp -R "fuzz/corpus/$short/." "$work/corpus/"
	fi
	if [ "$FUZZ_SECONDS" -gt 0 ] 2>/dev/null; then
		limit=(-max_total_time="$FUZZ_SECONDS")
	else
		limit=(-runs=0)
	fi
	dict=()
	if [ -f "fuzz/$short.dict" ]; then
		dict=(-dict="fuzz/$short.dict")
	fi
	log=$work/$name.log
	"$build/$name" -max_len=4096 "${limit[@]}" ${dict[@]+"${dict[@]}"} -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/$name-" \
		"$work/corpus" >"$log" 2>&1
	rc=$?
	# keep the log where the README says; renamed in, as runs may overlap
	cp "$log" "$build/$name.log.$$" && mv -f "$build/$name.log.$$" "$build/$name.log"

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${runs:-?} execs in ${FUZZ_SECONDS}s)"
	else
		artifact=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -1)
		echo "FAIL $name (exit $rc, reproducer: ${artifact:-none}; full log: $build/$name.log)"
		# the report starts at the sanitizer's or libFuzzer's first error line
		first=$(grep -n -m1 -E '^==[0-9]+==ERROR|runtime error:|^invariant failed|ERROR: libFuzzer|deadly signal' "$log" | cut -d: -f1)
		sed -n "${first:-1},\$p" "$log" | head -40 | sed 's/^/    /'
	fi
	rm -rf "$work"
	return $rc
}

# run up to FUZZ_JOBS harnesses at once, each into its own output file
results=$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-fuzz-results.XXXXXX") || exit 2
i=0
for short in "${names[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do
		wait -n
	done
	(
		run_one "$short" >"$results/$i.out" 2>&1
		echo $? >"$results/$i.rc"
	) &
	i=$((i + 1))
done
wait

status=0
for ((j = 0; j < i; j++)); do
	cat "$results/$j.out"
	if [ "$(cat "$results/$j.rc" 2>/dev/null)" != 0 ]; then
		status=1
	fi
done
rm -rf "$results"
exit $status
