#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the vfio-mig selftests (inside the test VM) and print the totals.
#
# usage: run_tests.sh DIR [TEST...]
#   DIR   directory with the built test programs (build/selftests)
#   TEST  test program names (default: every test_* in DIR)
#
# Each program prints TAP; a program that exits non-zero without reporting
# a failed case, or crashes, counts as one failure.  The last line is
# "N passed, N failed" (", N skipped" when any were skipped).

dir=${1:?usage: run_tests.sh DIR [TEST...]}
shift
[ $# -gt 0 ] || set -- $(cd "$dir" && ls test_* 2>/dev/null)
[ $# -gt 0 ] || { echo "run_tests: no tests in $dir"; exit 2; }

passed=0 failed=0 skipped=0
out=${TMPDIR:-/tmp}/vfio-mig-test.$$
for t in "$@"; do
	echo "# ---- $t"
	"$dir/$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	s=$(grep -c '^ok .* # SKIP' "$out")
	f=$(grep -c '^not ok ' "$out")
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
rm -f "$out"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
