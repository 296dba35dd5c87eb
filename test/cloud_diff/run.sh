#!/bin/bash
#
# test/cloud_diff/run.sh [REF] [SECONDS]: differential check of the GCP and
# Azure readers (src/cloudflow*.c, src/jsonscan.c) against those of commit
# REF (default 9a12d22, the readers before the inline scanner steps).
# A faster reader must hand back exactly what the old one did: the same
# rows, field for field, and the same bad items and errors with their
# lines and messages.  REF's reader sources are taken with git show and
# compiled with their symbols renamed (ref_*); both readers share the
# working tree's flowparse.c.  Compared, under each reader and as GCP
# NDJSON pieces: fuzz/corpus/cloud, test/data, ../shared/fixtures when it
# is there, and mutations of test/data's GCP entries (mutate.py:
# truncation at every byte, escapes, blanks, numbers and strings at their
# limits, raw byte damage).  With clang's libFuzzer, it then fuzzes the
# difference for SECONDS (default 60; 0 skips).  Not part of tools/test.sh
# (the reference is chosen per change); run it after changing a reader.
# Prints "N files, 0 diffs" and exits 0 when the readers agree.
#
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
ref=${1:-9a12d22}
seconds=${2:-60}
here=$root/test/cloud_diff
work=$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-cloud-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ref" "$work/mut"
for f in jsonscan.c jsonscan.h cloudflow.c cloudflow_gcp.c cloudflow_azure.c cloudflow.h \
	cloudflow_int.h flowparse.h; do
	git -C "$root" show "$ref:src/$f" >"$work/ref/$f"
done

build() {
	local cc=$1 flags=$2 out=$3 final=$4
	local b=$work/$out
	mkdir -p "$b"
	for f in jsonscan cloudflow cloudflow_gcp cloudflow_azure; do
		$cc $flags -I"$work/ref" -c "$work/ref/$f.c" -o "$b/ref_$f.o"
	done
	$cc $flags -I"$work/ref" -DPREFIX=ref_run -c "$here/ser.c" -o "$b/ref_ser.o"
	ld -r -o "$b/ref_all.o" "$b"/ref_*.o
	nm --defined-only -g "$b/ref_all.o" | awk '$3 != "ref_run" { print $3 " ref_" $3 }' >"$b/syms"
	objcopy --redefine-syms="$b/syms" "$b/ref_all.o" "$b/ref.o"
	for f in jsonscan cloudflow cloudflow_gcp cloudflow_azure flowparse; do
		$cc $flags -I"$root/src" -c "$root/src/$f.c" -o "$b/new_$f.o"
	done
	$cc $flags -I"$root/src" -DPREFIX=new_run -c "$here/ser.c" -o "$b/new_ser.o"
	$cc $flags $final "$here/harness.c" "$b/ref.o" "$b"/new_*.o -o "$b/run"
}

build "${CC:-cc}" "-O1 -g" std "-DSTANDALONE"
python3 "$here/mutate.py" "$root/test/data/gcp-both-ends.ndjson" "$work/mut"
inputs=("$root"/fuzz/corpus/cloud/* "$root"/test/data/* "$work"/mut/*)
if [ -d "$root/../shared/fixtures" ]; then
	inputs+=("$root"/../shared/fixtures/gcp/* "$root"/../shared/fixtures/azure/*)
fi
"$work/std/run" "${inputs[@]}"

if [ "$seconds" -gt 0 ] && command -v clang >/dev/null 2>&1; then
	build clang "-g -O1 -fsanitize=fuzzer-no-link,address,undefined" fuzz "-fsanitize=fuzzer"
	mkdir -p "$work/corpus"
	cp "$root"/fuzz/corpus/cloud/* "$work/corpus/"
	"$work/fuzz/run" -dict="$root/fuzz/cloud.dict" -max_len=4096 -max_total_time="$seconds" \
		"$work/corpus" 2>"$work/fuzz.log" || { tail -40 "$work/fuzz.log"; exit 1; }
	echo "fuzzed the difference for $seconds s: $(grep -c . <(ls "$work/corpus")) inputs, no difference"
fi
