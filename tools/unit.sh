#!/bin/bash
#
# unit.sh: build and run the C unit tests (test/unit/test_*.c) under ASan
# and UBSan, one binary per test file.  Prints "PASS name" or "FAIL name"
# per test, with the details of a failure; exits 0 iff all pass.
#
# Each test file names the sources it links with in a comment line
#   " * unit.sh sources: src/a.c src/b.c"
# Usage: tools/unit.sh [test_name ...]   (default: all)
#
set -u

root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2

CC=${CC:-cc}
CFLAGS="-O1 -g -fsanitize=address,undefined -Wall -Wextra -Werror -Isrc"

build=$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-unit.XXXXXX") || exit 2
trap 'rm -rf "$build"' EXIT

if [ $# -gt 0 ]; then
	tests=()
	for n in "$@"; do
		tests+=("test/unit/${n%.c}.c")
	done
else
	tests=(test/unit/test_*.c)
fi

status=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .c)
	if [ ! -f "$t" ]; then
		echo "FAIL $name (no such test)"
		status=1
		continue
	fi
	srcs=$(sed -n 's/^ \* unit\.sh sources: *//p' "$t")
	# shellcheck disable=SC2086  # word splitting of the flag and source lists is wanted
	if ! $CC $CFLAGS -Itest/unit -o "$build/$name" "$t" $srcs >"$build/$name.build" 2>&1; then
		echo "FAIL $name (does not build)"
		sed 's/^/    /' "$build/$name.build" | head -40
		status=1
		continue
	fi
	# halt on the first UBSan report too, so it cannot pass unnoticed
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$build/$name" >"$build/$name.out" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$build/$name.out" | head -60
		status=1
	fi
done
exit $status
